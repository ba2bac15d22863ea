//! TIMPush ledger records: `task_id` (a non-empty string), and `audience_type`,
//! `sched_task_id` and `scheduled` besides the common fields. `sent_at` is the task's start
//! (the push's request time), from which its 24 h revoke window runs.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::Timpush;
use crate::sandbox::message::Scheduled;
use crate::sandbox::provider::SandboxProvider;
use crate::sandbox::seed::{SeedMessage, string};

const AUDIENCE_TYPES: &[&str] = &["all", "tag", "attribute", "user"];

pub(super) fn parse(obj: &Map<String, Value>) -> Result<SeedMessage, String> {
    let id = match obj.get(Timpush::SEED_ID_FIELD) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => {
            return Err(
                "`task_id` must be a non-empty string (the TaskId as TIMPush returned it)".into(),
            );
        }
    };
    let mut rec = SeedMessage::read(Timpush::NAME, id, obj)?;
    if let Some(t) = string(obj, "audience_type")? {
        if !AUDIENCE_TYPES.contains(&t.as_str()) {
            return Err(format!(
                "`audience_type` must be one of {}, found `{t}`",
                AUDIENCE_TYPES.join(", ")
            ));
        }
        rec.extra.insert("audience_type".into(), Value::String(t));
    }
    match obj.get("sched_task_id") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let n = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or("`sched_task_id` must be an unsigned integer (add_sched_task's TaskID)")?;
            rec.extra.insert("sched_task_id".into(), Value::from(n));
        }
    }
    rec.scheduled = match obj.get("scheduled") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Scheduled::No,
        Some(Value::Bool(true)) => Scheduled::Yes,
        Some(Value::String(s)) => match s.trim() {
            "" | "false" => Scheduled::No,
            "true" => Scheduled::Yes,
            t => Scheduled::At(t.parse::<Timestamp>().map_err(|_| {
                format!("`scheduled` must be true, false or an RFC 3339 time, found `{t}`")
            })?),
        },
        Some(_) => return Err("`scheduled` must be true, false or an RFC 3339 time".into()),
    };
    Ok(rec)
}

pub(crate) fn audience_type(seed: &SeedMessage) -> Option<String> {
    seed.extra
        .get("audience_type")
        .and_then(Value::as_str)
        .map(str::to_string)
}

pub(crate) fn sched_task_id(seed: &SeedMessage) -> Option<u64> {
    seed.extra.get("sched_task_id").and_then(Value::as_u64)
}

/// A task to all users sent at `sent_at`, for tests.
#[cfg(test)]
pub(crate) fn task(id: &str, sent_at: Timestamp, audience_type: &str) -> SeedMessage {
    let mut m = SeedMessage::bare(Timpush::NAME, id, sent_at);
    m.platforms = vec!["android".into(), "ios".into()];
    m.extra
        .insert("audience_type".into(), Value::String(audience_type.into()));
    m
}
