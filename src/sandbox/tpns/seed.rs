//! TPNS ledger records: `push_id` (a non-empty string or an integer), and `audience_type`,
//! `collapse_id` and `scheduled` besides the common fields.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::Tpns;
use crate::sandbox::message::Scheduled;
use crate::sandbox::provider::SandboxProvider;
use crate::sandbox::seed::{SeedMessage, string};

pub(super) fn parse(obj: &Map<String, Value>) -> Result<SeedMessage, String> {
    let id = match obj.get(Tpns::SEED_ID_FIELD) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => return Err("`push_id` must be a non-empty string or an integer".into()),
    };
    let mut rec = SeedMessage::read(Tpns::NAME, id, obj)?;
    if let Some(t) = string(obj, "audience_type")? {
        rec.extra.insert("audience_type".into(), Value::String(t));
    }
    if let Some(Value::String(s)) = &rec.audience {
        // CSV `all` / an empty targeting string: no targeting fields.
        if s == "all" || s.is_empty() {
            rec.audience = None;
        }
    }
    match obj.get("collapse_id") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let c = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("`collapse_id` must be an unsigned 32-bit integer")?;
            rec.extra.insert("collapse_id".into(), Value::from(c));
        }
    }
    rec.scheduled = match obj.get("scheduled") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Scheduled::No,
        Some(Value::Bool(true)) => Scheduled::Yes,
        Some(Value::String(s)) => match s.trim() {
            "false" | "" => Scheduled::No,
            "true" => Scheduled::Yes,
            t => Scheduled::At(t.parse::<Timestamp>().map_err(|_| {
                format!("`scheduled` must be true, false or an RFC 3339 time, found `{t}`")
            })?),
        },
        Some(_) => return Err("`scheduled` must be true, false or an RFC 3339 time".into()),
    };
    Ok(rec)
}

/// The task's audience type, when the ledger says.
pub(crate) fn audience_type(seed: &SeedMessage) -> Option<String> {
    seed.extra
        .get("audience_type")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The task's collapse id, when the ledger has one.
pub(crate) fn collapse_id(seed: &SeedMessage) -> Option<u32> {
    seed.extra
        .get("collapse_id")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// A TPNS task (`audience_type` `all` unless changed, platforms android+ios) sent at
/// `sent_at`.
#[cfg(test)]
pub(crate) fn task(push_id: &str, sent_at: Timestamp) -> SeedMessage {
    let mut m = SeedMessage::bare(Tpns::NAME, push_id, sent_at);
    m.platforms = vec!["android".into(), "ios".into()];
    m.extra
        .insert("audience_type".into(), Value::String("all".into()));
    m
}
