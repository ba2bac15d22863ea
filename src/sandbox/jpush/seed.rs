//! JPush ledger records: `msg_id` (a positive integer, as a JSON string or integer), and
//! `apns_collapse_id` besides the common fields.

use serde_json::{Map, Value};

use super::Jpush;
use crate::sandbox::provider::SandboxProvider;
use crate::sandbox::seed::{SeedMessage, string};

pub(super) fn parse(obj: &Map<String, Value>) -> Result<SeedMessage, String> {
    let id = match obj.get(Jpush::SEED_ID_FIELD) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .filter(|n| *n > 0)
    .ok_or("`msg_id` must be a positive integer (as a JSON string or integer)")?;
    let mut rec = SeedMessage::read(Jpush::NAME, id.to_string(), obj)?;
    if let Some(c) = string(obj, "apns_collapse_id")?.filter(|s| !s.is_empty()) {
        rec.extra
            .insert("apns_collapse_id".into(), Value::String(c));
    }
    Ok(rec)
}

/// The original push's `apns_collapse_id`, when the ledger has one.
pub(crate) fn apns_collapse_id(seed: &SeedMessage) -> Option<String> {
    seed.extra
        .get("apns_collapse_id")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A JPush message sent at `sent_at` (platforms android+ios, audience all).
#[cfg(test)]
pub(crate) fn message(msg_id: u64, sent_at: jiff::Timestamp) -> SeedMessage {
    let mut m = SeedMessage::bare(Jpush::NAME, &msg_id.to_string(), sent_at);
    m.platforms = vec!["android".into(), "ios".into()];
    m.audience = Some(Value::String("all".into()));
    m
}
