//! The verification seam: after a campaign, a provider's `Verifier` asks the provider's own
//! report APIs whether each `done` correction took effect (docs/verification.md). The
//! executor's verification pass (`exec::verify`) chooses what to check within the quota, paces
//! and journals the requests (`Probes`), and records each finding; the verifier knows the
//! provider's report requests and what their answers prove.

use std::time::Duration;

use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::{Map, Value};

use super::call::CallEnd;
use super::request::RequestSpec;
use super::spec::FamilySpec;
use crate::domain::Action;
use crate::event::VerifyVerdict;
use crate::target::PlanTarget;

/// One correction to verify: a target whose last outcome was `done`.
#[derive(Debug, Clone, Copy)]
pub struct Check<'a> {
    pub step: &'a str,
    pub action: Action,
    pub target: &'a PlanTarget,
    /// The correction's own message (an override's new msg_id / push_id), from its final record.
    pub new_id: Option<&'a str>,
    /// When the correction was answered (its final record).
    pub corrected_at: Timestamp,
    /// The channels the original went out on, with its receivers there when the ledger says
    /// (`plan.json` `messages`); None: not known (the message is not in the ledger).
    pub channels: Option<&'a crate::domain::ChannelMap<Option<u64>>>,
    /// The original's ledger record as written (the fields a verifier reads beyond the plan,
    /// such as JPush `sample_registration_ids`), when the ledger could be read again.
    pub ledger: Option<&'a Map<String, Value>>,
}

impl Check<'_> {
    /// Whether the original may have reached devices on `channel`.
    pub fn may_have_reached(&self, channel: &str) -> bool {
        match self.channels {
            None => true,
            Some(m) => match m.get(channel) {
                None => false,
                Some(None) => true,
                Some(Some(n)) => *n > 0,
            },
        }
    }

    /// The original's receivers on `channel`, when the ledger counts them.
    pub fn receivers(&self, channel: &str) -> Option<u64> {
        self.channels?.get(channel).copied().flatten()
    }

    /// Whether the correction reaches `channel` (the plan's matrix verdict for the target).
    pub fn reaches(&self, channel: &str) -> bool {
        self.target.reached.iter().any(|c| &**c == channel)
    }
}

/// What the provider's records say about one correction.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub verdict: VerifyVerdict,
    /// In words, for reports.
    pub reason: String,
    /// The provider's figures the verdict rests on (statuses, counts before and after).
    pub evidence: Map<String, Value>,
}

impl Finding {
    pub fn new(verdict: VerifyVerdict, reason: impl Into<String>) -> Finding {
        Finding {
            verdict,
            reason: reason.into(),
            evidence: Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: Value) -> Finding {
        self.evidence.insert(key.to_string(), value);
        self
    }
}

/// The verification pass's requests and records, as a verifier sees them.
pub trait Probes: Send + Sync {
    /// One read-only request in the verifier's family: paced (across passes, from the
    /// journal), journaled, retried while transient, paused while throttled. `targets`: how
    /// many corrections it serves.
    fn call<'a>(&'a self, spec: &'a RequestSpec, targets: u64) -> BoxFuture<'a, CallEnd>;
    /// Wait (an observation window); false when the pass is being stopped.
    fn wait(&self, d: Duration) -> BoxFuture<'_, bool>;
    /// A verdict, journaled at once (a pass interrupted later keeps it).
    fn found(&self, check: &Check<'_>, finding: Finding);
    /// The provider could not be asked (errors, an interruption): the correction stays
    /// without a verdict, for a later pass.
    fn missed(&self, check: &Check<'_>, why: String);
}

/// A provider's verification procedures.
pub trait Verifier: Send + Sync {
    /// The rate family its requests count against, and its documented quota.
    fn family(&self) -> FamilySpec;
    /// Where its requests go, for a run sent to `run_base_url` (a report host of its own).
    fn base_url(&self, run_base_url: &str) -> String {
        run_base_url.to_string()
    }
    /// The requests these checks take: a pass chooses the corrections it checks by this.
    fn cost(&self, checks: &[Check<'_>]) -> u64;
    /// Check them; each finding goes to `probes.found` as soon as it is known, each
    /// correction that could not be checked to `probes.missed`. `observe`: how long to watch
    /// for deliveries that should have stopped.
    fn verify<'a>(
        &'a self,
        probes: &'a dyn Probes,
        checks: &'a [Check<'a>],
        observe: Duration,
    ) -> BoxFuture<'a, ()>;
    /// Whether it reads the originals' ledger records (`Check::ledger`): the ledger is then
    /// read again (streaming) for the corrections a pass checks.
    fn reads_ledger(&self) -> bool {
        false
    }
    /// A problem with the ledger fields it reads in one record (field, message): reported,
    /// located, before the first request.
    fn ledger_problem(&self, _record: &Map<String, Value>) -> Option<(&'static str, String)> {
        None
    }
}
