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
    // What the Report API needs (delivery.rs): the audience per channel, the push's
    // time_to_live, and sample devices.
    match obj.get("receivers_by_channel") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            if m.values().any(|v| v.as_u64().is_none()) {
                return Err("`receivers_by_channel` values must be non-negative integers".into());
            }
            rec.extra
                .insert("receivers_by_channel".into(), Value::Object(m.clone()));
        }
        Some(_) => return Err("`receivers_by_channel` must be an object".into()),
    }
    match obj.get("time_to_live") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_u64().filter(|n| *n <= 864_000) {
            Some(n) => {
                rec.extra.insert("time_to_live".into(), Value::from(n));
            }
            None => return Err("`time_to_live` must be 0..=864000 seconds".into()),
        },
    }
    let samples: Vec<Value> = match obj.get("sample_registration_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => a.clone(),
        Some(Value::String(s)) => s
            .split('|')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.into()))
            .collect(),
        Some(_) => return Err("`sample_registration_ids` must be a list of strings".into()),
    };
    if !samples.is_empty() {
        rec.extra
            .insert("sample_registration_ids".into(), Value::Array(samples));
    }
    Ok(rec)
}

/// The original push's delivery (delivery.rs), from its ledger record.
pub(crate) fn delivery(seed: &SeedMessage) -> super::delivery::Delivery {
    let receivers = seed
        .extra
        .get("receivers_by_channel")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    let ttl = seed
        .extra
        .get("time_to_live")
        .and_then(Value::as_u64)
        .map(|n| n as i64);
    let samples = seed
        .extra
        .get("sample_registration_ids")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    super::delivery::Delivery::new(receivers, ttl, samples)
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
