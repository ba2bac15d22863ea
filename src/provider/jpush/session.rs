//! The JPush procedures: a recall is one request; an override takes a `cid` from the pool
//! (`GET /v3/push/cid`, up to 1,000 per request) before its first attempt and reuses it on
//! every retry, so a retry after a lost answer is not a second push (reference/jpush.md §1).
//! A `cancel_scheduled` deletes the schedule (`DELETE /v3/schedules/{schedule_id}`); a 404
//! without an error code counts as gone only once the schedule list answers on the same path
//! (a wrong path answers 404 too, and "gone" is a success), and a success for a schedule the
//! ledger says fired before the answer is a failure (`schedule.rs`).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::FutureExt as _;
use futures::future::BoxFuture;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use tokio::sync::Mutex as AsyncMutex;
use tokio::time::Instant;

use super::requests::{self, OverrideInput};
use super::schedule;
use crate::domain::Action;
use crate::event::Outcome;
use crate::provider::{CallEnd, CallOptions, Calls, Class, Final, Job, RequestSpec, Session};
use crate::target::{Original, PlanTarget, RenderedMessage};

/// The override push of one target: the run sends it with the cid it took, the plan's preview
/// shows it with a placeholder.
pub fn override_request(
    msg_id: u64,
    o: &Original,
    m: &RenderedMessage,
    apns_production: bool,
    cid: &str,
) -> RequestSpec {
    let audience = o.audience.as_deref().cloned().unwrap_or(Value::Null);
    requests::override_push(
        &OverrideInput {
            msg_id,
            platforms: o.push_targets(),
            audience: &audience,
            message: m,
            apns_production,
            classification: o.fact_u64(super::CLASSIFICATION),
            third_party_channel: o.facts.get(super::THIRD_PARTY_CHANNEL),
        },
        Value::String(cid.to_string()),
    )
}

pub struct JpushSession {
    apns_production: bool,
    pool: CidPool,
    /// The Schedule API's path on this endpoint (`/v3/schedules`, or the Beijing one).
    schedules: String,
    /// Whether the schedule list answered on that path: asked once, on the first delete
    /// answered 404 without an error code.
    schedules_path_ok: AsyncMutex<Option<Result<(), String>>>,
    /// The run's clock as dispatch began, and when that was (`Session::run_clock`): a delete
    /// answered after a schedule's last firing is weighed against it.
    clock: Mutex<Option<(Timestamp, Instant)>>,
}

impl JpushSession {
    pub fn new(apns_production: bool, schedules: &str) -> JpushSession {
        JpushSession {
            apns_production,
            pool: CidPool::default(),
            schedules: schedules.to_string(),
            schedules_path_ok: AsyncMutex::new(None),
            clock: Mutex::new(None),
        }
    }

    /// Now by the run's clock (the wall clock when the executor gave none).
    fn now(&self) -> Timestamp {
        let clock = self.clock.lock().ok().and_then(|c| *c);
        match clock {
            Some((at, since)) => at
                .saturating_add(SignedDuration::try_from(since.elapsed()).unwrap_or_default())
                .unwrap_or(at),
            None => Timestamp::now(),
        }
    }

    /// Delete one schedule, then weigh a success against the ledger's last firing: a
    /// schedule that fired before the answer is `failed`, whatever JPush answered
    /// (`schedule::weigh`).
    async fn cancel(&self, calls: &dyn Calls, job: Job<'_>) -> Final {
        let t = job.target;
        let mut fin = self.delete(calls, t).await;
        // Resumed with its delete in flight at the interruption: JPush not knowing it is most
        // likely that delete's doing.
        if fin.outcome == Outcome::Gone && job.resumed.is_some_and(|r| r.in_flight) {
            fin.reason = Some(format!(
                "{} (the interrupted run's delete of it was in flight: that delete may have done it)",
                fin.reason.as_deref().unwrap_or("not there")
            ));
        }
        schedule::weigh(fin, t.original.as_deref(), self.now())
    }

    /// Delete one schedule. 8104/8404 (and 8100 "not exist") are gone; a bare 404 is gone
    /// only if the path serves the Schedule API, else the target fails.
    async fn delete(&self, calls: &dyn Calls, t: &PlanTarget) -> Final {
        let spec = requests::delete_schedule(&self.schedules, &t.id);
        let end = calls.call(&spec, CallOptions::idempotent(&t.id)).await;
        let bare = matches!(&end, CallEnd::Answered(Class::Gone { code: None, .. }));
        let fin = Final::from_end(end);
        if !bare {
            return fin;
        }
        match self.schedules_path(calls, &t.id).await {
            Ok(Ok(())) => fin.context(&format!(
                "the schedule list answers at {} on this endpoint, so this schedule is not there",
                self.schedules
            )),
            Ok(Err(why)) => Final {
                outcome: Outcome::Failed,
                reason: Some(format!(
                    "{}, and the schedule list at GET {} failed too ({why}): the Schedule API is not at that path on this endpoint \
                     (the Beijing data centre's is {}), so whether the schedule exists is unknown",
                    fin.reason.as_deref().unwrap_or(super::answer::BARE_404),
                    self.schedules,
                    requests::BEIJING_SCHEDULES_PATH
                )),
                code: None,
                new_id: None,
            },
            Err(f) => {
                let mut f = f.context("telling an unknown schedule from a wrong path");
                if f.outcome == Outcome::Gone || f.outcome == Outcome::Done {
                    f.outcome = Outcome::Failed;
                }
                f
            }
        }
    }

    /// Whether `GET {schedules}?page=1` answers (Ok(Ok)) or fails (Ok(Err(why))); Err: the
    /// question could not be asked (gave up, interrupted). Asked once a run.
    async fn schedules_path(
        &self,
        calls: &dyn Calls,
        target: &str,
    ) -> Result<Result<(), String>, Final> {
        let mut known = self.schedules_path_ok.lock().await;
        if let Some(k) = known.as_ref() {
            return Ok(k.clone());
        }
        let spec = requests::schedule_list(&self.schedules);
        let opts = CallOptions {
            already_sent: true,
            ..CallOptions::lookup(target)
        };
        let k = match calls.call(&spec, opts).await {
            CallEnd::Answered(Class::Done(_)) => Ok(()),
            CallEnd::Answered(
                c @ (Class::Failed { .. } | Class::Gone { .. } | Class::Repeat { .. }),
            ) => {
                let code = c.code().map(|c| format!("{c} ")).unwrap_or_default();
                Err(format!("{code}{}", c.message().unwrap_or(c.name())))
            }
            other => return Err(Final::from_end(other)),
        };
        *known = Some(k.clone());
        Ok(k)
    }

    async fn correct_one(&self, calls: &dyn Calls, job: Job<'_>) -> Final {
        let t = job.target;
        if job.action == Action::CancelScheduled {
            return self.cancel(calls, job).await;
        }
        let Ok(id) = t.id.parse::<u64>() else {
            return Final::new(
                Outcome::Failed,
                Some(format!("`{}` is not a JPush msg_id", t.id)),
            );
        };
        if job.action != Action::Override {
            let spec = requests::recall(id);
            return Final::from_end(calls.call(&spec, CallOptions::idempotent(&t.id)).await);
        }
        let (Some(o), Some(m)) = (&t.original, &t.message) else {
            return Final::new(
                Outcome::Failed,
                Some("the plan has no ledger facts or message for this override".to_string()),
            );
        };
        // The cid is taken before the first attempt and reused by every retry (and by a resumed
        // run): a repeated cid returns the first result and pushes nothing.
        let cid = match job.resumed.and_then(|r| r.cid.clone()) {
            Some(c) => c,
            None => match self.pool.take(calls).await {
                Ok(c) => c,
                Err(fin) => return fin,
            },
        };
        let spec = override_request(id, o, m, self.apns_production, &cid);
        let opts = CallOptions {
            cid: Some(&cid),
            ..CallOptions::idempotent(&t.id)
        };
        Final::from_end(calls.call(&spec, opts).await)
    }
}

impl Session for JpushSession {
    fn run_clock(&self, now: Timestamp) {
        if let Ok(mut c) = self.clock.lock() {
            *c = Some((now, Instant::now()));
        }
    }

    fn step_started(&self, to_send: u64) {
        self.pool.reset(to_send);
    }

    fn correct<'a>(&'a self, calls: &'a dyn Calls, job: Job<'a>) -> BoxFuture<'a, Final> {
        self.correct_one(calls, job).boxed()
    }
}

/// JPush idempotency keys, fetched in batches of up to 1000 from `GET /v3/push/cid`.
#[derive(Default)]
struct CidPool {
    cids: Mutex<VecDeque<String>>,
    fetching: AsyncMutex<()>,
    /// Override targets of the current step not yet given a cid.
    remaining: AtomicU64,
}

impl CidPool {
    fn reset(&self, targets: u64) {
        self.remaining.store(targets, Ordering::SeqCst);
    }

    fn pop(&self) -> Option<String> {
        let c = self.cids.lock().ok()?.pop_front();
        if c.is_some() {
            let _ = self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |r| {
                    Some(r.saturating_sub(1))
                });
        }
        c
    }

    async fn take(&self, calls: &dyn Calls) -> Result<String, Final> {
        loop {
            if let Some(c) = self.pop() {
                return Ok(c);
            }
            let _guard = self.fetching.lock().await;
            if let Some(c) = self.pop() {
                return Ok(c);
            }
            let count = self.remaining.load(Ordering::SeqCst).clamp(1, 1000) as usize;
            let spec = requests::cid_pool(count);
            match calls.call(&spec, CallOptions::idempotent("")).await {
                CallEnd::Answered(Class::Done(d)) => {
                    let got = d
                        .data
                        .as_ref()
                        .and_then(Value::as_array)
                        .map(|l| l.iter().filter_map(Value::as_str).map(String::from));
                    if let (Ok(mut q), Some(got)) = (self.cids.lock(), got) {
                        q.extend(got);
                    }
                }
                other => {
                    let mut f = Final::from_end(other);
                    if f.outcome == Outcome::Gone {
                        f.outcome = Outcome::Failed;
                    }
                    // A stop before the pool's request is not a cid problem: keep its text.
                    if f.outcome != Outcome::NotAttempted {
                        f = f.context("could not take a cid");
                    }
                    return Err(f);
                }
            }
        }
    }
}
