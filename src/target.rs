//! A planned target: what the plan decided for one message, and everything its requests are
//! built from (the original's ledger facts, the rendered correction). The plan holds them, the
//! providers build requests from them, the executor runs them.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::intern::{Shared, SharedList, de_list, de_shared, de_text};
use crate::domain::{Disposition, Platform, Verdict};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanTarget {
    pub id: String,
    pub verdict: Verdict,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_text"
    )]
    pub reason: Option<Shared>,
    #[serde(
        default,
        skip_serializing_if = "is_empty",
        deserialize_with = "de_list"
    )]
    pub not_reached: SharedList,
    /// Channels the step's action reaches for this target (what a `done` corrects).
    #[serde(
        default,
        skip_serializing_if = "is_empty",
        deserialize_with = "de_list"
    )]
    pub reached: SharedList,
    /// Channels it may reach on a condition the plan cannot check (never counted corrected).
    #[serde(
        default,
        skip_serializing_if = "is_empty",
        deserialize_with = "de_list"
    )]
    pub uncertain: SharedList,
    pub disposition: Disposition,
    /// An earlier run of this playbook already corrected it (its run id): skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_in: Option<String>,
    pub in_ledger: bool,
    #[serde(
        default,
        skip_serializing_if = "is_empty",
        deserialize_with = "de_list"
    )]
    pub notes: SharedList,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receivers: Option<[u64; 2]>,
    /// What the request is built from (override targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Box<Original>>,
    /// Shared by every target the same text renders for.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_shared"
    )]
    pub message: Option<Arc<RenderedMessage>>,
}

fn is_empty(l: &SharedList) -> bool {
    l.is_empty()
}

/// Facts about the original message an override needs, copied from its ledger record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Original {
    pub ledger_line: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Platform>,
    /// Shared by the targets whose originals had the same audience.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_shared"
    )]
    pub audience: Option<Arc<Value>>,
    /// The provider's own facts its requests need (the ledger fields it marks `in_original`,
    /// e.g. TPNS `audience_type` and `collapse_id`), under their ledger names.
    #[serde(flatten)]
    pub facts: Map<String, Value>,
    /// The platforms the override is pushed to, where the provider addresses platforms: the
    /// original's, less those where no channel can replace it (a new notification there would
    /// show beside the wrong one), unless the step says `unsupported: force`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push_platforms: Vec<Platform>,
}

impl Original {
    /// Platforms an override push targets.
    pub fn push_targets(&self) -> &[Platform] {
        if self.push_platforms.is_empty() {
            &self.platforms
        } else {
            &self.push_platforms
        }
    }

    pub fn fact_str(&self, name: &str) -> Option<&str> {
        self.facts.get(name).and_then(Value::as_str)
    }

    pub fn fact_u64(&self, name: &str) -> Option<u64> {
        self.facts.get(name).and_then(Value::as_u64)
    }
}

/// The message an override sends, rendered from the step's templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RenderedMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extras: Option<Value>,
    /// The provider's own message fields (JPush `apns_collapse_id`, TPNS `intent`), rendered.
    #[serde(flatten)]
    pub fields: BTreeMap<String, String>,
}

impl RenderedMessage {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}
