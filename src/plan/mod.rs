//! The plan: per step and target, what will happen and why (DESIGN §5). `build` makes it, a
//! pure function from playbook + ledger + matrix + templates (+ "now"); no network, no clock.

mod build;
pub mod exposure;
mod markdown;
mod prepare;
mod preview;
mod render;
mod summary;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use build::{PlanContext, build, disposition, ledger_queries, provider_quota};
pub use markdown::render_markdown;
pub use prepare::{Loaded, PrepareError, Prepared, load, prepare};
pub use preview::{PlanJson, redacted_headers, target_requests, to_json};
pub use summary::{render_text, thousands};

use crate::domain::{
    Action, Disposition, NotCorrectedPolicy, ProviderKind, UnsupportedPolicy, Verdict,
};
use crate::provider::{self, Family, PlanRate, Provider, Settings};
use crate::target::PlanTarget;

pub use exposure::{Exposure, MessageChannels};

pub const PLAN_SCHEMA: &str = "pushfix.plan/v1";

/// (step, target) -> the earlier run (its id) that brought it to `done` or `gone`: what the
/// planner skips with reason `already_done_in <run id>` (run history, DESIGN §5).
pub type AlreadyDone = std::collections::HashMap<(String, String), String>;

/// Everything a run needs, and everything a reviewer needs to see before it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub schema: String,
    pub pushfix_version: String,
    /// The instant time windows were evaluated at.
    pub as_of: Timestamp,
    pub playbook: PlanPlaybook,
    /// sha256 over every input (playbook, ledger, ids files, templates, --var values).
    pub content_sha256: String,
    pub inputs: Vec<PlanInput>,
    pub provider: PlanProvider,
    pub limits: PlanLimits,
    pub retry: PlanRetry,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<PlanLedger>,
    pub steps: Vec<PlanStep>,
    pub totals: Totals,
    pub warnings: Vec<String>,
    /// The channels each selected message (in the ledger) was delivered on, with its receivers
    /// there: what the residual exposure is computed from.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub messages: BTreeMap<String, MessageChannels>,
    /// Residual exposure if every request the plan sends ends `done`.
    #[serde(default)]
    pub exposure: Exposure,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanPlaybook {
    pub path: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanInput {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanProvider {
    pub kind: ProviderKind,
    pub base_url: String,
    pub base_url_source: String,
    /// Environment variable names (never values).
    pub id_env: String,
    pub secret_env: String,
    /// The provider's own settings (JPush `apns_production`, TPNS `auth` and `environment`).
    #[serde(flatten)]
    pub settings: Settings,
}

impl PlanProvider {
    pub fn provider(&self) -> &'static dyn Provider {
        provider::get(self.kind)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanLimits {
    pub concurrency: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_targets: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<String>,
    /// How long to wait for an answer.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The pacing rate of each API family this plan uses.
    pub rates: BTreeMap<Family, PlanRate>,
    /// Verify the corrections after the campaign (`limits.verify`, `run --verify`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verify: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanRetry {
    pub attempts: u32,
    pub initial_ms: u64,
    pub max_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanLedger {
    pub path: String,
    pub sha256: String,
    pub records: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanStep {
    pub name: String,
    pub action: Action,
    pub unsupported: UnsupportedPolicy,
    #[serde(default, skip_serializing_if = "NotCorrectedPolicy::is_fail")]
    pub on_not_corrected: NotCorrectedPolicy,
    pub api: String,
    pub counts: VerdictCounts,
    pub dispositions: DispositionCounts,
    /// Channel -> number of targets with receivers there that the action cannot reach.
    pub channels_not_reached: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receivers: Option<ReceiverEstimate>,
    pub estimated_requests: u64,
    pub estimated_seconds: f64,
    pub warnings: Vec<String>,
    pub targets: Vec<PlanTarget>,
    /// The step's own `verify:` (None: as `limits.verify` says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerdictCounts {
    pub will_run: u64,
    pub partial: u64,
    pub unsupported: u64,
    pub expired: u64,
}

impl VerdictCounts {
    pub fn add(&mut self, v: Verdict) {
        *match v {
            Verdict::WillRun => &mut self.will_run,
            Verdict::Partial => &mut self.partial,
            Verdict::Unsupported => &mut self.unsupported,
            Verdict::Expired => &mut self.expired,
        } += 1;
    }

    pub fn get(&self, v: Verdict) -> u64 {
        match v {
            Verdict::WillRun => self.will_run,
            Verdict::Partial => self.partial,
            Verdict::Unsupported => self.unsupported,
            Verdict::Expired => self.expired,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DispositionCounts {
    pub send: u64,
    pub skip: u64,
    pub fail: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReceiverEstimate {
    pub reached: u64,
    pub total: u64,
    /// Targets whose ledger record has no receivers_by_channel (not in the estimate).
    pub unknown_targets: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Totals {
    pub targets: u64,
    pub send: u64,
    pub skip: u64,
    pub fail: u64,
}

impl Plan {
    /// The plan without its targets and messages (steps keep everything else): what a
    /// resumed run fills with the targets it still has to send, without copying the rest.
    pub fn without_targets(&self) -> Plan {
        Plan {
            schema: self.schema.clone(),
            pushfix_version: self.pushfix_version.clone(),
            as_of: self.as_of,
            playbook: self.playbook.clone(),
            content_sha256: self.content_sha256.clone(),
            inputs: self.inputs.clone(),
            provider: self.provider.clone(),
            limits: self.limits.clone(),
            retry: self.retry.clone(),
            ledger: self.ledger.clone(),
            steps: self
                .steps
                .iter()
                .map(|s| PlanStep {
                    name: s.name.clone(),
                    action: s.action,
                    unsupported: s.unsupported,
                    on_not_corrected: s.on_not_corrected,
                    api: s.api.clone(),
                    counts: s.counts,
                    dispositions: s.dispositions,
                    channels_not_reached: s.channels_not_reached.clone(),
                    receivers: s.receivers,
                    estimated_requests: s.estimated_requests,
                    estimated_seconds: s.estimated_seconds,
                    warnings: s.warnings.clone(),
                    verify: s.verify,
                    targets: Vec::new(),
                })
                .collect(),
            totals: self.totals,
            warnings: self.warnings.clone(),
            messages: BTreeMap::new(),
            exposure: self.exposure.clone(),
        }
    }

    /// Count dispositions and totals again after targets were taken out (a resumed run's).
    pub fn recount(&mut self) {
        let mut totals = Totals::default();
        for step in &mut self.steps {
            let mut d = DispositionCounts::default();
            for t in &step.targets {
                match t.disposition {
                    Disposition::Send => d.send += 1,
                    Disposition::Skip => d.skip += 1,
                    Disposition::Fail => d.fail += 1,
                }
            }
            step.dispositions = d;
            totals.targets += step.targets.len() as u64;
            totals.send += d.send;
            totals.skip += d.skip;
            totals.fail += d.fail;
        }
        self.totals = totals;
    }
}

fn default_timeout_ms() -> u64 {
    crate::playbook::DEFAULT_TIMEOUT.as_millis() as u64
}

#[cfg(test)]
pub(crate) mod tests;
