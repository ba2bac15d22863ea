//! The TPNS procedures: stop, revoke and cancel are one request each; an override needs the
//! original's `collapse_id` (from the ledger, else `get_push_record` in the statistics quota),
//! and a `force_collapse` override interrupted mid-push is re-checked before it is sent again.

use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::Value;

use super::COLLAPSE_ID;
use super::requests::{self, OverrideInput};
use crate::domain::{Action, UnsupportedPolicy};
use crate::event::Outcome;
use crate::provider::{CallEnd, CallOptions, Calls, Class, Final, Job, RequestSpec, Session};
use crate::target::{Original, RenderedMessage};

/// The override push of one target: the run sends it with the collapse id it has, the plan's
/// preview with a placeholder when it must be looked up first.
pub fn override_request(
    o: &Original,
    m: &RenderedMessage,
    environment: &str,
    force_collapse: bool,
    collapse_id: Value,
) -> RequestSpec {
    requests::override_push(
        &OverrideInput {
            audience_type: o.fact_str(super::AUDIENCE_TYPE).unwrap_or("all"),
            audience: o.audience.as_deref(),
            message: m,
            environment,
            force_collapse,
            account_push_type: o.fact_u64(super::ACCOUNT_PUSH_TYPE),
            account_type: o.fact_u64(super::ACCOUNT_TYPE),
        },
        collapse_id,
    )
}

pub struct TpnsSession {
    environment: &'static str,
}

impl TpnsSession {
    pub fn new(environment: &'static str) -> TpnsSession {
        TpnsSession { environment }
    }

    async fn correct_one(&self, calls: &dyn Calls, job: Job<'_>) -> Final {
        let t = job.target;
        if job.action != Action::Override {
            let spec = requests::task_op(job.action, &t.id);
            return Final::from_end(calls.call(&spec, CallOptions::idempotent(&t.id)).await);
        }
        let (Some(o), Some(m)) = (&t.original, &t.message) else {
            return Final::new(
                Outcome::Failed,
                Some("the plan has no ledger facts or message for this override".to_string()),
            );
        };
        let mut sent = false;
        let mut looked_up = None;
        let force = job.policy == UnsupportedPolicy::Force;
        if force && job.resumed.is_some_and(|r| r.in_flight) {
            // Interrupted mid-push: if the original is already collapsed, that push went out.
            let spec = requests::get_push_record(&t.id);
            match calls.call(&spec, CallOptions::lookup(&t.id)).await {
                CallEnd::Answered(Class::Done(d)) if status(&d) == Some("PUSH_COLLAPSED") => {
                    return Final::new(
                        Outcome::Done,
                        Some(
                            "re-checked after the interruption: the original is already collapsed (by this run's \
                             interrupted push, or an earlier override); not pushed again, which would show twice"
                                .to_string(),
                        ),
                    );
                }
                CallEnd::Answered(Class::Done(d)) => {
                    sent = true;
                    looked_up = d.facts.get(COLLAPSE_ID).and_then(Value::as_u64);
                }
                other => {
                    return Final::from_end(other).context("re-checking the interrupted override");
                }
            }
        }
        let collapse = match o.fact_u64(COLLAPSE_ID).or(looked_up) {
            Some(c) => c,
            None => {
                let spec = requests::get_push_record(&t.id);
                match calls.call(&spec, CallOptions::lookup(&t.id)).await {
                    CallEnd::Answered(Class::Done(d)) => {
                        match d.facts.get(COLLAPSE_ID).and_then(Value::as_u64) {
                            Some(c) => {
                                sent = true;
                                c
                            }
                            None => {
                                return Final::new(
                                    Outcome::Failed,
                                    Some("get_push_record returned no collapseID".into()),
                                )
                                .context("looking up the collapse id");
                            }
                        }
                    }
                    other => {
                        return Final::from_end(other).context("looking up the collapse id");
                    }
                }
            }
        };
        let spec = override_request(o, m, self.environment, force, Value::from(collapse));
        // With the same collapse_id a repeated push replaces the first one; with
        // force_collapse it would show twice on OPPO/vivo, so a lost answer is not retried.
        let opts = CallOptions {
            target: &t.id,
            cid: None,
            retry_lost: !force,
            already_sent: sent,
            lookup: false,
        };
        Final::from_end(calls.call(&spec, opts).await)
    }
}

fn status(d: &crate::provider::Done) -> Option<&str> {
    d.data.as_ref()?.get("status")?.as_str()
}

impl Session for TpnsSession {
    fn correct<'a>(&'a self, calls: &'a dyn Calls, job: Job<'a>) -> BoxFuture<'a, Final> {
        self.correct_one(calls, job).boxed()
    }
}
