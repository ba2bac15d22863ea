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

pub use builder::{NotARun, ReportBuilder, ReportSink, build};
pub use html::to_html;
pub use markdown::{table, to_markdown};

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
    pub steps: Vec<ReportStep>,
    pub totals: Totals,
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
    pub achieved_rate_per_s: f64,
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

/// Details kept beside the report for the Markdown and HTML renderings.
#[derive(Debug, Clone, Default)]
pub struct Details {
    /// (step, target, outcome, code, reason) of every failed or gave-up target.
    pub failures: Vec<(String, String, Outcome, Option<i64>, String)>,
    /// step -> reason -> count of skipped targets.
    pub skipped: BTreeMap<String, BTreeMap<String, u64>>,
    /// Targets with an intent but no final record (the run was killed mid-request).
    pub unresolved: Vec<(String, String)>,
    pub stopped: Option<String>,
    pub base_url: String,
    pub provider: String,
    pub as_of: Option<Timestamp>,
    /// When `pushfix resume` picked the run up, and who.
    pub resumed: Vec<(Timestamp, String)>,
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
