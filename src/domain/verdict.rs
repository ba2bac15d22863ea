//! What the plan decided for a target: the matrix's verdict, and what the step's policy makes
//! of it.

use serde::{Deserialize, Serialize};

/// The verdict of the matrix for one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    WillRun,
    Partial,
    Unsupported,
    Expired,
}

impl Verdict {
    pub const ALL: [Verdict; 4] = [
        Verdict::WillRun,
        Verdict::Partial,
        Verdict::Unsupported,
        Verdict::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::WillRun => "will_run",
            Verdict::Partial => "partial",
            Verdict::Unsupported => "unsupported",
            Verdict::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// A request will be sent.
    Send,
    /// Not sent; reported as `skipped` with the verdict's reason.
    Skip,
    /// Not sent; reported as `failed` (the step says `unsupported: fail`).
    Fail,
}

/// What a step does with targets the channel matrix says it cannot (fully) reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsupportedPolicy {
    /// Unsupported and expired targets are skipped; partial ones run for what they can reach.
    Skip,
    /// Any target the matrix cannot fully reach fails without a request.
    Fail,
    /// Send anyway (TPNS overrides then set `force_collapse: true`).
    Force,
}

impl UnsupportedPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            UnsupportedPolicy::Skip => "skip",
            UnsupportedPolicy::Fail => "fail",
            UnsupportedPolicy::Force => "force",
        }
    }
}

/// What an override the provider refused to send (`not_corrected`) means for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotCorrectedPolicy {
    /// The run fails (exit 1): the wrong content is still where it was.
    #[default]
    Fail,
    /// Accepted: the playbook expects some originals to be past correcting.
    Ok,
}

impl NotCorrectedPolicy {
    pub fn is_fail(&self) -> bool {
        *self == NotCorrectedPolicy::Fail
    }
}
