//! Provider-specific facts about a sent message, read from its ledger record (a TPNS task's
//! `audience_type` and `collapse_id`, a JPush message's `apns_collapse_id`, …). Each provider
//! declares the fields it reads (`provider::LedgerField`); the matrix and the providers look
//! them up by name.

use std::collections::BTreeMap;

use jiff::Timestamp;

/// Whether a task is scheduled, as the ledger says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduled {
    No,
    Yes,
    At(Timestamp),
}

/// One fact's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    Text(String),
    Uint(u64),
    Scheduled(Scheduled),
    Json(serde_json::Value),
}

impl Fact {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Fact::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_uint(&self) -> Option<u64> {
        match self {
            Fact::Uint(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_scheduled(&self) -> Option<Scheduled> {
        match self {
            Fact::Scheduled(s) => Some(*s),
            _ => None,
        }
    }

    /// As JSON, for the plan's copy of the original.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Fact::Text(s) => serde_json::Value::String(s.clone()),
            Fact::Uint(n) => serde_json::Value::from(*n),
            Fact::Scheduled(Scheduled::No) => serde_json::Value::Bool(false),
            Fact::Scheduled(Scheduled::Yes) => serde_json::Value::Bool(true),
            Fact::Scheduled(Scheduled::At(t)) => serde_json::Value::String(t.to_string()),
            Fact::Json(v) => v.clone(),
        }
    }
}

/// A record's facts by field name.
pub type Facts = BTreeMap<&'static str, Fact>;
