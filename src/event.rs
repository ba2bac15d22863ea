//! The run's vocabulary: what happened, as one stream of events (DESIGN §5, §6). The executor
//! emits them; the journal, the progress display, the report and the exit status consume them.
//! Synchronous and free of I/O, so reports and tests use it without a runtime.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Final outcome of a target (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    Gone,
    Skipped,
    Failed,
    GaveUp,
    NotAttempted,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Done,
        Outcome::Gone,
        Outcome::Skipped,
        Outcome::Failed,
        Outcome::GaveUp,
        Outcome::NotAttempted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Gone => "gone",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::GaveUp => "gave_up",
            Outcome::NotAttempted => "not_attempted",
        }
    }

    /// Counts against the failure budget.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::GaveUp)
    }
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        at: Timestamp,
        run_id: String,
        playbook_path: String,
        playbook_name: String,
        playbook_sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        git_commit: Option<String>,
        operator: String,
        content_sha256: String,
        provider: String,
        base_url: String,
        /// The provider app (JPush app_key / TPNS access_id: identifiers, not secrets).
        app: String,
        #[serde(default)]
        sandbox: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        as_of: Option<Timestamp>,
    },
    /// `pushfix resume` picked the run up again.
    Resumed {
        at: Timestamp,
        operator: String,
        /// Targets it will (re)send.
        targets: u64,
    },
    StepStarted {
        at: Timestamp,
        step: String,
        action: String,
        targets: u64,
    },
    /// A request is about to leave.
    Intent {
        at: Timestamp,
        step: String,
        /// Empty for requests that serve several targets (a JPush cid pool).
        target: String,
        attempt: u32,
        request: String,
        family: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<String>,
    },
    /// What came back (or that nothing did).
    Answer {
        at: Timestamp,
        step: String,
        target: String,
        attempt: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        class: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        latency_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        new_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        collapse_id: Option<u32>,
    },
    /// The target's outcome; nothing more happens to it in this run.
    Final {
        at: Timestamp,
        step: String,
        target: String,
        outcome: Outcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        new_id: Option<String>,
    },
    StepFinished {
        at: Timestamp,
        step: String,
    },
    RunFinished {
        at: Timestamp,
        exit_code: i32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stopped: Option<String>,
    },
}
