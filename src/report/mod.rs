//! The audit report (DESIGN §6): built from the run's stream alone — live, or from the journal,
//! so `pushfix report RUN_DIR` can always rebuild it, after a crash too — and written as
//! report.json, report.md and report.html.

mod builder;
mod html;
mod markdown;

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use builder::{NotARun, ReportBuilder, ReportSink, build, finish};
pub use html::to_html;
pub use markdown::{outcome_words, table, table_for_width, to_markdown};

pub use crate::plan::Exposure;

use crate::atomic_file::{self, WriteError};
use crate::event::Outcome;

pub const REPORT_SCHEMA: &str = "pushfix.report/v1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub schema: String,
    pub run_id: String,
    pub playbook: ReportPlaybook,
    pub operator: String,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Present (true) only for runs against the built-in sandbox.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
    /// The provider (`jpush`, `tpns`).
    #[serde(default)]
    pub provider: String,
    /// Why dispatch stopped early, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    pub steps: Vec<ReportStep>,
    pub totals: Totals,
    /// Who may still see the original after the run (docs/exposure.md); absent when the plan
    /// is not at hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<Exposure>,
    /// What the provider says of the corrections (docs/verification.md); absent when no
    /// verification pass ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// Verdicts over the corrections (targets that ended `done`) of the steps verification
/// covered: `checked` = `verified` + `not_effective` + `unknown`; `unchecked` have none yet.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerifyCounts {
    pub checked: u64,
    pub verified: u64,
    pub not_effective: u64,
    pub unknown: u64,
    pub unchecked: u64,
}

impl VerifyCounts {
    pub(crate) fn add(&mut self, v: Option<crate::event::VerifyVerdict>) {
        use crate::event::VerifyVerdict as V;
        match v {
            Some(V::Verified) => self.verified += 1,
            Some(V::NotEffective) => self.not_effective += 1,
            Some(V::Unknown) => self.unknown += 1,
            None => self.unchecked += 1,
        }
        self.checked = self.verified + self.not_effective + self.unknown;
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Verification {
    #[serde(flatten)]
    pub counts: VerifyCounts,
    /// Verification requests made, over all passes.
    pub requests: u64,
    /// Verification passes (`run --verify`, each `pushfix verify`).
    pub passes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReportPlaybook {
    pub path: String,
    pub name: String,
    pub sha256: String,
    pub git_commit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReportStep {
    pub name: String,
    pub action: String,
    pub targets: u64,
    pub outcomes: Outcomes,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    /// Requests ÷ the step's dispatch time (its first request to its last answer): the one rate
    /// figure, which the progress line shows too.
    pub achieved_rate_per_s: f64,
    /// An override the provider refused to send is accepted (`on_not_corrected: ok`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_corrected_ok: bool,
    /// The step's verdicts, when verification covered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerifyCounts>,
}

impl ReportStep {
    /// Targets that make the run fail (exit 1): failed, gave up, and not corrected unless the
    /// step accepts it.
    pub fn failures(&self) -> u64 {
        let c = &self.outcomes;
        c.failed
            + c.gave_up
            + if self.not_corrected_ok {
                0
            } else {
                c.not_corrected
            }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Outcomes {
    pub done: u64,
    pub gone: u64,
    #[serde(default)]
    pub not_corrected: u64,
    pub skipped: u64,
    pub failed: u64,
    pub gave_up: u64,
    pub not_attempted: u64,
}

impl Outcomes {
    pub(crate) fn add(&mut self, o: Outcome) {
        *self.slot(o) += 1;
    }

    pub(crate) fn slot(&mut self, o: Outcome) -> &mut u64 {
        match o {
            Outcome::Done => &mut self.done,
            Outcome::Gone => &mut self.gone,
            Outcome::NotCorrected => &mut self.not_corrected,
            Outcome::Skipped => &mut self.skipped,
            Outcome::Failed => &mut self.failed,
            Outcome::GaveUp => &mut self.gave_up,
            Outcome::NotAttempted => &mut self.not_attempted,
        }
    }

    pub fn get(&self, o: Outcome) -> u64 {
        let mut c = *self;
        *c.slot(o)
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Totals {
    pub targets: u64,
    #[serde(flatten)]
    pub outcomes: Outcomes,
}

/// Listed targets of each outcome (the first `MAX_LISTED`) and how many there are.
pub const MAX_LISTED: usize = 200;

/// A target in a list of the report: step, target, provider code, reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub step: String,
    pub target: String,
    pub code: Option<i64>,
    pub reason: String,
}

/// Targets of one outcome: the first `MAX_LISTED`, and the total.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetList {
    pub items: Vec<Listed>,
    pub total: u64,
}

/// Failures (failed, gave up, not corrected) with one provider code.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeGroup {
    pub code: Option<i64>,
    pub count: u64,
    /// The first reason seen with this code.
    pub message: String,
    /// The first targets, as `step: target`.
    pub examples: Vec<String>,
}

/// Requests dispatched in one time bucket of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bucket {
    /// Seconds from the run's start to the bucket's start.
    pub at: f64,
    pub requests: u64,
    pub throttled: u64,
}

/// Details kept beside the report for the Markdown and HTML renderings.
#[derive(Debug, Clone, Default)]
pub struct Details {
    /// By outcome, in `Outcome::ALL` order: failed, gave_up, not_corrected, gone, skipped,
    /// not_attempted lists (done targets are not listed).
    pub lists: BTreeMap<Outcome, TargetList>,
    /// step -> reason -> count of skipped targets.
    pub skipped: BTreeMap<String, BTreeMap<String, u64>>,
    /// Failures grouped by provider code, most frequent first.
    pub codes: Vec<CodeGroup>,
    /// Targets with an intent but no final record (the run was killed mid-request).
    pub unresolved: Vec<(String, String)>,
    pub stopped: Option<String>,
    pub base_url: String,
    pub provider: String,
    /// The provider app (an identifier, not a secret).
    pub app: String,
    pub as_of: Option<Timestamp>,
    /// When `pushfix resume` picked the run up, and who.
    pub resumed: Vec<(Timestamp, String)>,
    /// Requests over time, in buckets of `bucket_seconds`.
    pub timeline: Vec<Bucket>,
    pub bucket_seconds: f64,
    /// The pace of each family the plan used (requests per second), for the chart's line.
    pub rate_limits: Vec<(String, f64)>,
    pub verification: VerifyDetails,
}

/// A correction in a verification list: its verdict's reason and the provider's evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyListed {
    pub step: String,
    pub target: String,
    pub reason: String,
    /// Compact JSON.
    pub evidence: String,
}

/// Verification's lists for the Markdown and HTML renderings (the first `MAX_LISTED` each).
#[derive(Debug, Clone, Default)]
pub struct VerifyDetails {
    pub not_effective: Vec<VerifyListed>,
    pub unknown: Vec<VerifyListed>,
    /// Unknown verdicts by reason (the reason's text up to its first colon), most first.
    pub unknown_reasons: Vec<(String, u64)>,
    pub unchecked: Vec<(String, String)>,
    /// The last pass: when it ended and why it stopped early, if it did.
    pub last_pass: Option<(Timestamp, Option<String>)>,
}

impl Details {
    pub fn list(&self, o: Outcome) -> Option<&TargetList> {
        self.lists.get(&o).filter(|l| l.total > 0)
    }
}

pub fn to_json(r: &Report) -> serde_json::Value {
    serde_json::to_value(r).unwrap_or(serde_json::Value::Null)
}

/// Write report.json, report.md and report.html into a run directory.
pub fn write_reports(dir: &Path, r: &Report, d: &Details) -> Result<(), WriteError> {
    atomic_file::write_json(&dir.join("report.json"), &to_json(r))?;
    atomic_file::write_atomic(&dir.join("report.md"), to_markdown(r, d).as_bytes())?;
    atomic_file::write_atomic(&dir.join("report.html"), to_html(r, d).as_bytes())
}
