//! The GeTui procedures. Every call carries the run's token: the first target's first call
//! asks for one (`POST /auth`, one at a time however many targets run at once), it is kept for
//! its lifetime (refreshed an hour before `expire_time`, as GeTui's SDK does), and a call
//! answered 10001 (token wrong or expired) gets a fresh token and is sent once more — the
//! same target's request, journaled as its second call. Pushes carry a `request_id` made for
//! the target and reused by its retries and by a resumed run (GeTui drops a repeated one, so
//! a retry after a lost answer is not a second push). A scheduled task that fired before its
//! delete (22001) is stopped instead. Once GeTui says a daily quota is spent, no more pushes of
//! that kind are sent: they are given up, for `pushfix resume` the next day.

use std::sync::Mutex;
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio::sync::Mutex as AsyncMutex;
use tokio::time::Instant;

use super::answer::{GETUI_DAILY_QUOTA_CODES, GETUI_SCHEDULE_EXECUTED, GETUI_TOKEN_EXPIRED};
use super::requests::{self, Audience, OverrideInput};
use super::{APNS_COLLAPSE_ID, AUDIENCE_TYPE, NOTIFY_ID};
use crate::domain::{Action, Platform};
use crate::event::Outcome;
use crate::provider::{CallEnd, CallOptions, Calls, Class, Final, Job, RequestSpec, Session};
use crate::target::PlanTarget;

/// GeTui's SDK treats a token as expired this long before its `expire_time`.
const REFRESH_BEFORE: Duration = Duration::from_secs(3600);
/// "Currently call time + 1 day" (reference §2.1), when an answer names no expiry.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The override of one target, as the plan has it.
pub fn override_input(t: &PlanTarget) -> Result<OverrideInput<'_>, String> {
    let (Some(o), Some(m)) = (&t.original, &t.message) else {
        return Err("the plan has no ledger facts or message for this override".into());
    };
    let audience = Audience::of(o.fact_str(AUDIENCE_TYPE), o.audience.as_deref())?;
    let platforms: &[Platform] = match o.push_targets() {
        // Platforms unknown: every channel whose id the original carried.
        [] => &[Platform::Android, Platform::Ios, Platform::Hmos],
        p => p,
    };
    Ok(OverrideInput {
        audience,
        message: m,
        notify_id: o.fact_u64(NOTIFY_ID),
        apns_collapse_id: o.fact_str(APNS_COLLAPSE_ID),
        platforms,
    })
}

/// The requests one target sends (the plan's preview, with placeholders for the values the
/// run makes or learns).
pub fn requests_for(
    app_id: &str,
    action: Action,
    t: &PlanTarget,
    request_id: &str,
    list_taskid: &str,
) -> Result<Vec<RequestSpec>, String> {
    Ok(match action {
        Action::Stop => vec![requests::stop(app_id, &t.id)],
        Action::CancelScheduled => vec![requests::cancel_scheduled(app_id, &t.id)],
        Action::Recall => vec![requests::recall(app_id, &t.id, request_id)],
        Action::Override => {
            requests::override_push(app_id, &override_input(t)?, request_id, list_taskid)
        }
    })
}

/// The run's token, as far as the session knows it (the token itself is the auth's).
#[derive(Default)]
struct TokenState {
    /// Tokens obtained so far: a call made under generation `g` that is refused asks for a new
    /// one only if no other target already did.
    generation: u64,
    /// When to stop using it; None: until GeTui refuses it.
    refresh_at: Option<Instant>,
    /// GeTui refused to issue one (bad sign, blacklisted, wrong data centre): every target
    /// fails with that answer, without asking again.
    refused: Option<Final>,
}

/// What kind of push a daily quota stopped (reference §5).
#[derive(Default)]
struct Spent {
    group: Option<String>,
    list: Option<String>,
    all: Option<String>,
}

pub struct GetuiSession {
    app_id: String,
    token: AsyncMutex<TokenState>,
    spent: Mutex<Spent>,
}

/// A `request_id` GeTui accepts (10 to 32 characters): 32 random hex digits.
fn new_request_id() -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    format!(
        "{:016x}{:016x}",
        rng.random_range(0..=u64::MAX),
        rng.random_range(0..=u64::MAX)
    )
}

fn refused_token(end: &CallEnd) -> bool {
    matches!(
        end,
        CallEnd::Answered(Class::Failed {
            code: Some(GETUI_TOKEN_EXPIRED),
            ..
        })
    )
}

fn daily_code(end: &CallEnd) -> Option<i64> {
    match end {
        CallEnd::Answered(Class::Failed { code: Some(c), .. })
            if GETUI_DAILY_QUOTA_CODES.contains(c) =>
        {
            Some(*c)
        }
        _ => None,
    }
}

/// A push whose request was made once already (the 10001 one), so an interruption now is not
/// "nothing was sent".
fn again(opts: CallOptions<'_>) -> CallOptions<'_> {
    CallOptions {
        already_sent: true,
        ..opts
    }
}

impl GetuiSession {
    pub fn new(app_id: &str) -> GetuiSession {
        GetuiSession {
            app_id: app_id.to_string(),
            token: AsyncMutex::new(TokenState::default()),
            spent: Mutex::new(Spent::default()),
        }
    }

    /// A usable token: the current one, or a new one. `stale` is the generation a call was
    /// refused under: a new token is asked for only if it is still the current one.
    async fn ensure_token(
        &self,
        calls: &dyn Calls,
        stale: Option<u64>,
        sent: bool,
    ) -> Result<u64, Final> {
        let mut st = self.token.lock().await;
        if let Some(f) = &st.refused {
            return Err(f.clone());
        }
        let fresh = st.generation > 0 && st.refresh_at.is_none_or(|t| Instant::now() < t);
        match stale {
            None if fresh => return Ok(st.generation),
            Some(g) if g != st.generation && fresh => return Ok(st.generation),
            _ => {}
        }
        let spec = requests::auth(&self.app_id);
        // A second token is harmless, so a lost answer may be asked again.
        match calls.call(&spec, CallOptions::idempotent("")).await {
            CallEnd::Answered(Class::Done(d)) => {
                st.generation += 1;
                st.refresh_at = refresh_at(d.data.as_ref());
                Ok(st.generation)
            }
            CallEnd::Answered(c) => {
                let mut f = Final::from_end(CallEnd::Answered(c)).context("getting a GeTui token");
                f.outcome = Outcome::Failed;
                st.refused = Some(f.clone());
                Err(f)
            }
            other => {
                let mut f = Final::from_end(other).context("getting a GeTui token");
                if sent && f.outcome == Outcome::NotAttempted {
                    f.outcome = Outcome::GaveUp;
                }
                Err(f)
            }
        }
    }

    /// One call with the token; refused with 10001, once more with a fresh token.
    async fn call(
        &self,
        calls: &dyn Calls,
        spec: &RequestSpec,
        opts: CallOptions<'_>,
    ) -> Result<CallEnd, Final> {
        if spec
            .body
            .as_ref()
            .is_some_and(requests::forces_a_full_recall)
        {
            // Unreachable by construction (requests::revoke); refuse rather than risk it.
            return Err(Final::new(
                Outcome::Failed,
                Some("refused to send a revoke with force: true (it would recall every notification of the app)".into()),
            ));
        }
        let generation = self.ensure_token(calls, None, opts.already_sent).await?;
        let end = calls.call(spec, opts).await;
        if !refused_token(&end) {
            return Ok(end);
        }
        self.ensure_token(calls, Some(generation), true).await?;
        let end = calls.call(spec, again(opts)).await;
        Ok(match end {
            CallEnd::Answered(Class::Failed {
                code: Some(GETUI_TOKEN_EXPIRED),
                message,
            }) => CallEnd::Answered(Class::Failed {
                code: Some(GETUI_TOKEN_EXPIRED),
                message: format!("{message}, again with a fresh token"),
            }),
            other => other,
        })
    }

    /// Why pushes of this kind are not sent today, if GeTui said so.
    fn spent(&self, group: bool, list: bool) -> Option<String> {
        let s = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        s.all
            .clone()
            .or_else(|| group.then(|| s.group.clone()).flatten())
            .or_else(|| list.then(|| s.list.clone()).flatten())
    }

    /// The final record of a push, noting a spent daily quota.
    fn pushed(&self, end: CallEnd) -> Final {
        let Some(code) = daily_code(&end) else {
            return Final::from_end(end);
        };
        let mut f = Final::from_end(end);
        let why = format!(
            "{}; not retried today: `pushfix resume` sends it once GeTui's daily quota renews",
            f.reason.clone().unwrap_or_default()
        );
        {
            let mut s = self.spent.lock().unwrap_or_else(|e| e.into_inner());
            let slot = match code {
                30007 | 30010 => &mut s.group,
                30008 => &mut s.list,
                _ => &mut s.all,
            };
            slot.get_or_insert_with(|| format!("GeTui answered {code} earlier in this run"));
        }
        f.outcome = Outcome::GaveUp;
        f.reason = Some(why);
        f
    }

    async fn correct_one(&self, calls: &dyn Calls, job: Job<'_>) -> Final {
        let t = job.target;
        let app = self.app_id.as_str();
        let fin = match job.action {
            Action::Stop => {
                let spec = requests::stop(app, &t.id);
                self.call(calls, &spec, CallOptions::idempotent(&t.id))
                    .await
                    .map(Final::from_end)
            }
            Action::CancelScheduled => self.cancel(calls, t).await,
            Action::Recall => self.recall(calls, job).await,
            Action::Override => self.override_one(calls, job).await,
        };
        fin.unwrap_or_else(|f| f)
    }

    /// Delete the schedule; one that already fired is stopped instead (reference §4.4: "call
    /// stop afterwards"), and the target still fails: it went out.
    async fn cancel(&self, calls: &dyn Calls, t: &PlanTarget) -> Result<Final, Final> {
        let app = self.app_id.as_str();
        let spec = requests::cancel_scheduled(app, &t.id);
        let end = self
            .call(calls, &spec, CallOptions::idempotent(&t.id))
            .await?;
        let fired = matches!(
            &end,
            CallEnd::Answered(Class::Failed {
                code: Some(GETUI_SCHEDULE_EXECUTED),
                ..
            })
        );
        if !fired {
            return Ok(Final::from_end(end));
        }
        let stop = requests::stop(app, &t.id);
        // Its `done` settles nothing on resume: the cancel failed whatever the stop does.
        let opts = CallOptions {
            already_sent: true,
            lookup: true,
            ..CallOptions::idempotent(&t.id)
        };
        let stopped = Final::from_end(self.call(calls, &stop, opts).await?);
        let fired = "the scheduled task fired before it could be deleted (22001)";
        Ok(match stopped.outcome {
            Outcome::Done => Final {
                outcome: Outcome::Failed,
                reason: Some(format!(
                    "{fired}: stopped instead, which ends its GeTui-channel offline delivery only"
                )),
                code: Some(GETUI_SCHEDULE_EXECUTED),
                new_id: None,
            },
            _ => {
                let mut f = stopped.context(&format!("{fired}; stopping it"));
                if f.outcome == Outcome::Gone {
                    f.outcome = Outcome::Failed;
                }
                f
            }
        })
    }

    async fn recall(&self, calls: &dyn Calls, job: Job<'_>) -> Result<Final, Final> {
        let t = job.target;
        if let Some(why) = self.spent(true, false) {
            return Ok(not_today(&why));
        }
        let rid = job
            .resumed
            .and_then(|r| r.cid.clone())
            .unwrap_or_else(new_request_id);
        let spec = requests::recall(&self.app_id, &t.id, &rid);
        let opts = CallOptions {
            cid: Some(&rid),
            ..CallOptions::idempotent(&t.id)
        };
        Ok(self.pushed(self.call(calls, &spec, opts).await?))
    }

    async fn override_one(&self, calls: &dyn Calls, job: Job<'_>) -> Result<Final, Final> {
        let t = job.target;
        let input = override_input(t).map_err(|e| Final::new(Outcome::Failed, Some(e)))?;
        if input.message.title.as_deref().is_none_or(str::is_empty) {
            return Err(Final::new(
                Outcome::Failed,
                Some("a GeTui notification needs a title: set the step's message.title".into()),
            ));
        }
        let list = matches!(input.audience, Audience::List { .. });
        if let Some(why) = self.spent(input.audience.is_group(), list) {
            return Ok(not_today(&why));
        }
        let rid = job
            .resumed
            .and_then(|r| r.cid.clone())
            .unwrap_or_else(new_request_id);
        let opts = CallOptions {
            cid: Some(&rid),
            ..CallOptions::idempotent(&t.id)
        };
        let app = self.app_id.as_str();
        if !list {
            let specs = requests::override_push(app, &input, &rid, "");
            return Ok(self.pushed(self.call(calls, &specs[0], opts).await?));
        }
        // A list task: the message first (nothing is sent yet; its `done` settles nothing on
        // resume), then its push to the list.
        let specs = requests::override_push(app, &input, &rid, requests::LIST_TASKID_PLACEHOLDER);
        let made = self
            .call(
                calls,
                &specs[0],
                CallOptions {
                    lookup: true,
                    ..opts
                },
            )
            .await?;
        let taskid = match made {
            CallEnd::Answered(Class::Done(d)) => d
                .data
                .as_ref()
                .and_then(|d| d.get("taskid"))
                .and_then(Value::as_str)
                .map(str::to_string),
            other => return Ok(self.pushed(other).context("creating the list message")),
        };
        let Some(taskid) = taskid else {
            return Ok(Final::new(
                Outcome::Failed,
                Some("push/list/message answered no taskid".into()),
            ));
        };
        let specs = requests::override_push(app, &input, &rid, &taskid);
        let end = self.call(calls, &specs[1], again(opts)).await?;
        let mut f = self.pushed(end);
        if f.outcome == Outcome::Done {
            f.new_id = Some(taskid);
        }
        Ok(f)
    }
}

/// A push not sent because GeTui said today's quota is spent.
fn not_today(why: &str) -> Final {
    Final::new(
        Outcome::GaveUp,
        Some(format!(
            "not sent: GeTui's daily quota for this kind of push is spent ({why}); `pushfix resume` sends it once it renews"
        )),
    )
}

/// When to stop using a token whose answer said `expire_time` (epoch ms), on this process's
/// monotonic clock. A lifetime the local clock cannot make sense of (the answer's expiry in
/// the past: a skewed clock, a sandbox rehearsing another day) is trusted until GeTui
/// refuses the token.
fn refresh_at(data: Option<&Value>) -> Option<Instant> {
    let expire = data
        .and_then(|d| d.get("expire_time"))
        .and_then(Value::as_i64);
    let left = match expire {
        None => DEFAULT_LIFETIME,
        Some(ms) => {
            let left = ms - jiff::Timestamp::now().as_millisecond();
            if left <= 0 {
                return None;
            }
            Duration::from_millis(left as u64)
        }
    };
    let usable = left.checked_sub(REFRESH_BEFORE)?;
    Instant::now().checked_add(usable)
}

impl Session for GetuiSession {
    fn correct<'a>(&'a self, calls: &'a dyn Calls, job: Job<'a>) -> BoxFuture<'a, Final> {
        self.correct_one(calls, job).boxed()
    }
}
