//! The seam between the executor and a provider's procedures. A provider corrects one target
//! by making calls through `Calls` — the executor's paced, retried, journaled request — and
//! returns the target's `Final` record; everything it needs across targets (a JPush cid pool)
//! lives in its `Session`.

use futures::future::BoxFuture;
use jiff::Timestamp;

use super::answer::Class;
use super::request::RequestSpec;
use crate::domain::{Action, UnsupportedPolicy};
use crate::event::Outcome;
use crate::target::PlanTarget;

/// How the executor may treat one call.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallOptions<'a> {
    /// The target this request is for; empty for a request serving several (a cid pool).
    pub target: &'a str,
    /// The idempotency key journaled with the intent (JPush `cid`), reused by every retry.
    pub cid: Option<&'a str>,
    /// Whether a request whose answer was lost may be sent again (it must be idempotent).
    pub retry_lost: bool,
    /// Something for this target already left before this call (a lookup), so an interruption
    /// before the first attempt is not "nothing was sent".
    pub already_sent: bool,
    /// A lookup for the target (not its correction): its `done` answer settles nothing, so a
    /// resumed run does not read it as the target's outcome.
    pub lookup: bool,
}

impl<'a> CallOptions<'a> {
    /// An idempotent request for `target`: safe to send again after a lost answer.
    pub fn idempotent(target: &'a str) -> CallOptions<'a> {
        CallOptions {
            target,
            retry_lost: true,
            ..CallOptions::default()
        }
    }

    /// A read-only lookup for `target` (safe to repeat; settles nothing).
    pub fn lookup(target: &'a str) -> CallOptions<'a> {
        CallOptions {
            lookup: true,
            ..CallOptions::idempotent(target)
        }
    }
}

/// Said in the reason of a target given up because its answer was lost and a second request
/// could show twice: `resume` re-checks such a target with the provider before anything else.
pub const NOT_RETRIED: &str = "not retried: the push may have gone out, and with force_collapse a second one would show twice";

/// What one call (a request and its retries) came to.
#[derive(Debug)]
pub enum CallEnd {
    Answered(Class),
    GaveUp(String),
    /// Stopped before a retry (or before the first request when `sent` is false).
    Interrupted {
        sent: bool,
    },
}

/// The executor's request, as procedures see it.
pub trait Calls: Send + Sync {
    fn call<'a>(&'a self, spec: &'a RequestSpec, opts: CallOptions<'a>) -> BoxFuture<'a, CallEnd>;
}

/// A target's final record.
#[derive(Debug, Clone, PartialEq)]
pub struct Final {
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub code: Option<i64>,
    pub new_id: Option<String>,
}

impl Final {
    pub fn new(outcome: Outcome, reason: impl Into<Option<String>>) -> Final {
        Final {
            outcome,
            reason: reason.into(),
            code: None,
            new_id: None,
        }
    }

    /// The plain reading of a call's end: done, gone, failed, given up or interrupted.
    pub fn from_end(end: CallEnd) -> Final {
        match end {
            CallEnd::Answered(Class::Done(d)) => Final {
                outcome: Outcome::Done,
                reason: None,
                code: None,
                new_id: d.new_id,
            },
            CallEnd::Answered(Class::Gone { code, message }) => Final {
                outcome: Outcome::Gone,
                reason: Some(message),
                code,
                new_id: None,
            },
            CallEnd::Answered(
                Class::Failed { code, message } | Class::Repeat { code, message },
            ) => Final {
                outcome: Outcome::Failed,
                reason: Some(message),
                code,
                new_id: None,
            },
            // Throttled and transient answers never end a call; keep the compiler honest anyway.
            CallEnd::Answered(other) => Final::new(
                Outcome::GaveUp,
                Some(format!("unexpected {} answer", other.name())),
            ),
            CallEnd::GaveUp(why) => Final::new(Outcome::GaveUp, Some(why)),
            CallEnd::Interrupted { sent: false } => Final::new(
                Outcome::NotAttempted,
                Some("stopped before the first request".to_string()),
            ),
            CallEnd::Interrupted { sent: true } => Final::new(
                Outcome::GaveUp,
                Some("stopped before a retry (interrupted)".to_string()),
            ),
        }
    }

    /// Prefix the reason with what was being done (`looking up the collapse id: …`).
    pub fn context(mut self, what: &str) -> Final {
        self.reason = self.reason.map(|r| format!("{what}: {r}"));
        self
    }
}

/// What a resumed run knows about a target from the interrupted run's journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resumed {
    /// The idempotency key journaled with its last intent (a JPush cid): reused, so the
    /// provider de-duplicates a push that did go out.
    pub cid: Option<String>,
    /// A request for it was in flight when the run stopped (no outcome recorded).
    pub in_flight: bool,
    /// Its last outcome was a failure (given up), which the run's failure budget counts.
    pub failed: bool,
}

/// One target to correct.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    pub step: &'a str,
    pub action: Action,
    pub policy: UnsupportedPolicy,
    pub target: &'a PlanTarget,
    pub resumed: Option<&'a Resumed>,
}

/// A provider's state for one run.
pub trait Session: Send + Sync {
    /// The run's clock as dispatch begins: the wall clock, or the time a sandbox rehearses
    /// (`--as-of`). A session whose procedures judge time (a JPush schedule that fired before
    /// its delete was answered) counts on from it; the others ignore it.
    fn run_clock(&self, _now: Timestamp) {}

    /// A step begins with this many targets to send.
    fn step_started(&self, _to_send: u64) {}

    /// Correct one target: its request(s), and its final record.
    fn correct<'a>(&'a self, calls: &'a dyn Calls, job: Job<'a>) -> BoxFuture<'a, Final>;
}
