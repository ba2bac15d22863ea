//! GeTui ledger records: `taskid`, and `audience_type`, `notify_id`, `apns_collapse_id`,
//! `scheduled` and `app_id` besides the common fields.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::Getui;
use crate::sandbox::message::Scheduled;
use crate::sandbox::provider::SandboxProvider;
use crate::sandbox::seed::{SeedMessage, string};

pub(super) const AUDIENCE_TYPES: &[&str] = &["single", "list", "all", "tag", "fast_custom_tag"];

/// A taskid as GeTui mints them (`RASA_1120_…`): letters, digits, `_` and `-`.
pub(super) fn valid_taskid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A `notify_id`: an integer in [0, 2147483647], as a JSON number or digits in a string (the
/// Java SDK types it as a string).
pub(super) fn notify_id(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .filter(|n| *n <= 2_147_483_647)
}

pub(super) fn parse(obj: &Map<String, Value>) -> Result<SeedMessage, String> {
    let id = match obj.get(Getui::SEED_ID_FIELD) {
        Some(Value::String(s)) if valid_taskid(s.trim()) => s.trim().to_string(),
        _ => {
            return Err("`taskid` must be a GeTui task id (letters, digits, `_` and `-`)".into());
        }
    };
    let mut rec = SeedMessage::read(Getui::NAME, id, obj)?;
    if let Some(t) = string(obj, "audience_type")? {
        if !AUDIENCE_TYPES.contains(&t.as_str()) {
            return Err(format!(
                "`audience_type` must be one of {}",
                AUDIENCE_TYPES.join(", ")
            ));
        }
        rec.extra.insert("audience_type".into(), Value::String(t));
    }
    match obj.get("notify_id") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let n = notify_id(v).ok_or("`notify_id` must be an integer from 0 to 2147483647")?;
            rec.extra.insert("notify_id".into(), Value::from(n));
        }
    }
    if let Some(c) = string(obj, "apns_collapse_id")?.filter(|c| !c.is_empty()) {
        rec.extra
            .insert("apns_collapse_id".into(), Value::String(c));
    }
    if let Some(a) = string(obj, "app_id")?.filter(|a| !a.is_empty()) {
        rec.extra.insert("app_id".into(), Value::String(a));
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

pub(super) fn text(seed: &SeedMessage, field: &str) -> Option<String> {
    seed.extra
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A GeTui task of `audience_type` sent at `sent_at` (tests build on it).
#[cfg(test)]
pub(crate) fn task(taskid: &str, audience_type: &str, sent_at: Timestamp) -> SeedMessage {
    let mut m = SeedMessage::bare(Getui::NAME, taskid, sent_at);
    m.platforms = vec!["android".into(), "ios".into()];
    m.extra
        .insert("audience_type".into(), Value::String(audience_type.into()));
    m
}
