//! What the planner asks of a provider, and what it tells it: per target (which platforms an
//! override goes to), per step (how many requests, what to warn about), per plan.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Family;
use crate::domain::{Action, Platform, Rate, UnsupportedPolicy};
use crate::target::{PlanTarget, RenderedMessage};

/// The pace of one family in a plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanRate {
    pub rate: String,
    pub per_second: f64,
    /// `playbook` (limits.rate) or `provider quota`.
    pub source: String,
}

impl PlanRate {
    pub fn parsed(&self) -> Rate {
        Rate::parse(&self.rate).unwrap_or(Rate::per_second(self.per_second))
    }
}

/// One target as the matrix assessed it.
#[derive(Debug, Clone, Copy)]
pub struct TargetContext<'a> {
    pub action: Action,
    pub policy: UnsupportedPolicy,
    /// Platforms with a channel the action reaches; `None` when the matrix checked no channel
    /// (platforms unknown).
    pub reached_platforms: Option<&'a [Platform]>,
    /// The rendered correction (override steps).
    pub message: Option<&'a RenderedMessage>,
}

/// One planned step.
#[derive(Clone, Copy)]
pub struct StepContext<'a> {
    pub action: Action,
    pub policy: UnsupportedPolicy,
    pub targets: &'a [PlanTarget],
    /// Targets to send.
    pub send: u64,
    pub rates: &'a BTreeMap<Family, PlanRate>,
    pub now: Timestamp,
}

/// A step's requests, per family, beyond what the plan counts itself; and its warnings.
#[derive(Debug, Default)]
pub struct Estimate {
    pub requests: Vec<(Family, u64)>,
    pub warnings: Vec<String>,
}

/// A planned step, for checks across steps.
#[derive(Clone, Copy)]
pub struct StepSummary<'a> {
    pub name: &'a str,
    pub action: Action,
    pub targets: &'a [PlanTarget],
}

/// Warnings for the whole plan, and for steps by index.
#[derive(Debug, Default)]
pub struct PlanWarnings {
    pub plan: Vec<String>,
    pub steps: Vec<(usize, String)>,
}

/// A step that would correct again what an earlier step corrects (`Provider::step_conflicts`).
#[derive(Debug, Clone, PartialEq)]
pub struct StepConflict {
    /// The later step's index.
    pub step: usize,
    pub message: String,
    /// Shown under the step's `action`.
    pub label: String,
    pub help: String,
}
