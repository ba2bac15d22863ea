//! The TIMPush procedures. `stop` and `override` are one `revoke` each (a record of a
//! scheduled task first asks `get_sched_task` which push TaskId it became); `cancel_scheduled`
//! asks `get_sched_task` for the task's state and `Type`, then `delete_sched_task`. A task is
//! revoked once: `90050` is recorded as such and never retried, and no run revokes one
//! TaskId twice.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::Value;

use super::answer::{ALREADY_REVOKED, WINDOW_EXPIRED};
use super::requests;
use super::{AUDIENCE_TYPE, SCHED_TASK_ID};
use crate::domain::Action;
use crate::event::Outcome;
use crate::provider::{CallEnd, CallOptions, Calls, Class, Done, Final, Job, Session};

/// `Type` of the scheduled-task calls for a ledger `audience_type`.
pub fn sched_type(audience_type: &str) -> Option<&'static str> {
    match audience_type {
        "all" => Some("All"),
        "tag" => Some("Tag"),
        "user" => Some("User"),
        _ => None,
    }
}

#[derive(Default)]
pub struct TimpushSession {
    /// TaskIds this run sent a revoke for, and the step that did: the one correction each.
    revoked: Mutex<HashMap<String, String>>,
}

impl TimpushSession {
    pub fn new() -> TimpushSession {
        TimpushSession::default()
    }

    async fn correct_one(&self, calls: &dyn Calls, job: Job<'_>) -> Final {
        match job.action {
            Action::CancelScheduled => cancel(calls, job).await,
            Action::Stop | Action::Override => self.revoke(calls, job).await,
            Action::Recall => Final::new(
                Outcome::Failed,
                Some("TIMPush has no recall; revoke is stop or override".to_string()),
            ),
        }
    }

    async fn revoke(&self, calls: &dyn Calls, job: Job<'_>) -> Final {
        let t = job.target;
        let info = if job.action == Action::Override {
            let Some(m) = &t.message else {
                return Final::new(
                    Outcome::Failed,
                    Some("the plan has no message for this override".to_string()),
                );
            };
            requests::override_info(m)
        } else {
            requests::stop_info()
        };
        let sched = t.original.as_ref().and_then(|o| o.fact_u64(SCHED_TASK_ID));
        // A scheduled task's push TaskId is known once it is dispatched (`PushTaskID`).
        let task_id = match sched {
            None => t.id.clone(),
            Some(n) => {
                let spec = requests::get_sched_task(n, Value::Null);
                match calls.call(&spec, CallOptions::lookup(&t.id)).await {
                    CallEnd::Answered(Class::Done(d)) => match data(&d, "PushTaskID") {
                        Some(p) => p.to_string(),
                        None => {
                            return Final::new(
                                Outcome::Failed,
                                Some(format!(
                                    "scheduled task {n} has not been dispatched (status {}): there is nothing to revoke yet; cancel it with `cancel_scheduled`",
                                    data(&d, "Status").unwrap_or("unknown")
                                )),
                            );
                        }
                    },
                    other => {
                        return Final::from_end(other)
                            .context(&format!("looking up scheduled task {n}"));
                    }
                }
            }
        };
        {
            let mut revoked = self.revoked.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(step) = revoked.get(&task_id) {
                return Final::new(
                    Outcome::Failed,
                    Some(format!(
                        "TaskId {task_id} was already revoked by step `{step}` of this run: TIMPush revokes a task once; not sent"
                    )),
                );
            }
            revoked.insert(task_id.clone(), job.step.to_string());
        }
        let spec = requests::revoke(&task_id, info);
        // A revoke repeated after a lost answer is refused with 90050 and changes nothing, so
        // it is safe to send again; the executor reads that 90050 as the lost attempt's success.
        let opts = CallOptions {
            already_sent: sched.is_some(),
            ..CallOptions::idempotent(&t.id)
        };
        let end = calls.call(&spec, opts).await;
        let via = (task_id != t.id).then(|| format!("revoked TaskId {task_id} (get_sched_task)"));
        match end {
            CallEnd::Answered(Class::Done(d)) => {
                let mut f = Final::from_end(CallEnd::Answered(Class::Done(d)));
                f.reason = via;
                f
            }
            CallEnd::Answered(Class::Repeat { code, message }) => {
                if job.resumed.is_some_and(|r| r.in_flight) {
                    return Final {
                        outcome: Outcome::Done,
                        reason: Some(format!(
                            "{message}: the interrupted run's revoke of this task went through"
                        )),
                        code,
                        new_id: None,
                    };
                }
                let what = if job.action == Action::Override {
                    "this override was not sent: whatever the earlier revoke put in place of the notification stays"
                } else {
                    "the earlier revoke already terminated the task"
                };
                Final {
                    outcome: Outcome::Gone,
                    reason: Some(format!(
                        "{message}; an earlier revoke of TaskId {task_id} (another run, the console, another tool) used it up; {what}"
                    )),
                    code: code.or(Some(ALREADY_REVOKED)),
                    new_id: None,
                }
            }
            CallEnd::Answered(Class::Failed { code, message })
                if code == Some(WINDOW_EXPIRED) && job.action == Action::Override =>
            {
                Final {
                    outcome: Outcome::NotCorrected,
                    reason: Some(message),
                    code,
                    new_id: None,
                }
            }
            other => Final::from_end(other),
        }
    }
}

/// `cancel_scheduled`: the scheduled task's state first (dispatched tasks are reported with
/// the push TaskId they became), then `delete_sched_task` with the `Type` TIMPush gave.
async fn cancel(calls: &dyn Calls, job: Job<'_>) -> Final {
    let t = job.target;
    let o = t.original.as_ref();
    let Some(n) = o.and_then(|o| o.fact_u64(SCHED_TASK_ID)) else {
        return Final::new(
            Outcome::Failed,
            Some("the ledger record has no sched_task_id (add_sched_task's TaskID)".to_string()),
        );
    };
    let resumed = job.resumed.is_some_and(|r| r.in_flight);
    let spec = requests::get_sched_task(n, Value::Null);
    let d = match calls.call(&spec, CallOptions::lookup(&t.id)).await {
        CallEnd::Answered(Class::Done(d)) => d,
        CallEnd::Answered(Class::Gone { code, message }) if resumed => {
            return Final {
                outcome: Outcome::Done,
                reason: Some(format!(
                    "{message}: the interrupted run's delete of scheduled task {n} went through"
                )),
                code,
                new_id: None,
            };
        }
        other => return Final::from_end(other).context(&format!("looking up scheduled task {n}")),
    };
    if let Some(p) = data(&d, "PushTaskID") {
        return Final::new(
            Outcome::Failed,
            Some(format!(
                "scheduled task {n} was already dispatched as TaskId {p} (status {}): nothing to cancel; stop or override TaskId {p} within 24 h of its start",
                data(&d, "Status").unwrap_or("unknown")
            )),
        );
    }
    let ty = data(&d, "Type").map(str::to_string).or_else(|| {
        o.and_then(|o| o.fact_str(AUDIENCE_TYPE))
            .and_then(sched_type)
            .map(str::to_string)
    });
    let Some(ty) = ty else {
        return Final::new(
            Outcome::Failed,
            Some(format!(
                "get_sched_task gave no Type for scheduled task {n}, and the ledger has no audience_type"
            )),
        );
    };
    let spec = requests::delete_sched_task(n, Value::String(ty), Value::Null);
    let opts = CallOptions {
        already_sent: true,
        ..CallOptions::idempotent(&t.id)
    };
    match calls.call(&spec, opts).await {
        // Found pending a moment ago, refused now: deleted in between (by someone else; after
        // a lost answer the executor has already read it as our own delete).
        CallEnd::Answered(Class::Repeat { code, message }) => Final {
            outcome: Outcome::Gone,
            reason: Some(format!(
                "{message}: scheduled task {n} was deleted between get_sched_task and delete_sched_task"
            )),
            code,
            new_id: None,
        },
        other => Final::from_end(other),
    }
}

/// A string of a `get_sched_task` answer's data (`Type`, `Status`, `PushTaskID`).
fn data<'a>(d: &'a Done, key: &str) -> Option<&'a str> {
    d.data.as_ref()?.get(key)?.as_str()
}

impl Session for TimpushSession {
    fn correct<'a>(&'a self, calls: &'a dyn Calls, job: Job<'a>) -> BoxFuture<'a, Final> {
        self.correct_one(calls, job).boxed()
    }
}
