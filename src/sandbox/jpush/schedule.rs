//! The Schedule API (jpush-docs `zh/jpush/server/push/rest_api_push_schedule.md`; reference
//! §3 and §5): `DELETE /v3/schedules/{schedule_id}` and `GET /v3/schedules?page=`, over the
//! schedules seeded from ledger records that have `schedule_id`.
//!
//! **Choices** where the docs are silent or contradict themselves:
//! - An unknown, malformed (not a UUID) or already deleted id answers HTTP 404 with
//!   `{"error":{"code":8104,"message":"Request schedule operation doesn't exist"}}`: the error
//!   table's code. The page's DELETE example shows 8404 and `Content-Length: 0`; the switch
//!   `jpush.schedule_bare_404` answers an empty 404 instead, the other reading.
//! - Ids are UUIDs and compared without regard to case.
//! - A schedule whose last firing is past (its ledger `scheduled` time, by the sandbox clock)
//!   answers HTTP 400 8100 "…has been at term; expired" (one of 8100's documented texts); it
//!   is left as it was. The docs do not say so: `jpush.schedule_fired_forgotten` answers as
//!   for an unknown id instead, the other reading. A disabled schedule (`enabled: false`) is
//!   deleted like any other.
//! - Success is HTTP 200 with an empty body (the docs' `Content-Length: 0`).
//! - The list holds active schedules (not deleted, not past their last firing), 50 a page,
//!   in ledger order; a page that is not a positive integer is 8100.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::Jpush;
use super::envelope::{bad, error};
use crate::sandbox::exchange::{Ctx, Reply};
use crate::sandbox::message::{Message, Scheduled, fmt_ts, scheduled_json, ts_json};
use crate::sandbox::provider::SandboxProvider;
use crate::sandbox::seed::{SeedMessage, string};

/// The ledger field that makes a record a schedule.
pub(crate) const SCHEDULE_ID_FIELD: &str = "schedule_id";
/// Marks a seed as a schedule (in `SeedMessage::extra`).
const KIND: &str = "kind";

/// The docs' page size of the schedule list.
const PAGE_SIZE: usize = 50;

/// 8104's text in the docs' error table.
const NOT_FOUND: &str = "Request schedule operation doesn't exist";

#[derive(Debug, Clone)]
pub(super) struct Schedule {
    /// `id` is the schedule id; `scheduled` when it fires for the last time; `cancelled_at`
    /// when it was deleted.
    pub core: Message,
    pub name: Option<String>,
    pub enabled: bool,
    /// As the ledger gave it (the API's own `trigger` object), for the list.
    pub trigger: Option<Value>,
}

impl Schedule {
    fn to_json(&self, now: Timestamp) -> Value {
        let m = &self.core;
        json!({
            "provider": Jpush::NAME,
            "kind": "schedule",
            "id": m.id,
            "source": m.source,
            "name": self.name,
            "enabled": self.enabled,
            "scheduled": scheduled_json(m.scheduled),
            "state": m.state(now),
            "cancelled_at": ts_json(m.cancelled_at),
            "platforms": m.platforms,
            "tags": m.tags,
            "title": m.title,
            "body": m.body,
            "audience": m.audience,
            "ignores_corrections": m.ignores_corrections,
            "events": m.events_json(),
        })
    }

    /// As the list shows it.
    fn listed(&self) -> Value {
        let mut v = json!({
            "schedule_id": self.core.id,
            "name": self.name.clone().unwrap_or_default(),
            "enabled": self.enabled,
        });
        if let Some(t) = &self.trigger {
            v["trigger"] = t.clone();
        }
        v
    }
}

#[derive(Debug, Default)]
pub(super) struct Schedules {
    list: Vec<Schedule>,
    by_id: HashMap<String, usize>,
}

impl Schedules {
    pub fn new(seeds: Vec<(u64, SeedMessage)>, start: Timestamp) -> Schedules {
        let mut s = Schedules::default();
        for (ordinal, seed) in seeds {
            if s.by_id.contains_key(&seed.id) {
                continue;
            }
            s.by_id.insert(seed.id.clone(), s.list.len());
            s.list.push(Schedule {
                core: Message::from_seed(&seed, ordinal, start),
                name: seed
                    .extra
                    .get("name")
                    .and_then(Value::as_str)
                    .map(String::from),
                enabled: seed
                    .extra
                    .get("enabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
                trigger: seed.extra.get("trigger").cloned(),
            });
        }
        s
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut Schedule> {
        let i = *self.by_id.get(&id.to_ascii_lowercase())?;
        self.list.get_mut(i)
    }

    pub fn views(&self, now: Timestamp) -> Vec<(u64, Value)> {
        self.list
            .iter()
            .map(|s| (s.core.ordinal, s.to_json(now)))
            .collect()
    }
}

/// Whether a seed is a schedule (read by [`parse_seed`]).
pub(super) fn is_schedule(seed: &SeedMessage) -> bool {
    seed.extra.get(KIND).and_then(Value::as_str) == Some("schedule")
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits of either case.
fn is_uuid(t: &str) -> bool {
    let parts: Vec<&str> = t.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8usize, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A ledger record naming a schedule: `schedule_id` (a UUID string), and `name`, `enabled`
/// (a boolean, or `true`/`false` in CSV; default true), `scheduled` (true, or its last firing
/// as RFC 3339; absent: not yet fired) and `trigger` besides the common fields.
pub(super) fn parse_seed(obj: &Map<String, Value>) -> Result<SeedMessage, String> {
    if obj.contains_key(Jpush::SEED_ID_FIELD) {
        return Err(
            "a record is a message (`msg_id`) or a schedule (`schedule_id`), not both".into(),
        );
    }
    let id = match obj.get(SCHEDULE_ID_FIELD) {
        Some(Value::String(s)) if is_uuid(s.trim()) => s.trim().to_ascii_lowercase(),
        _ => return Err("`schedule_id` must be a UUID (as a JSON string)".into()),
    };
    let mut rec = SeedMessage::read(Jpush::NAME, id, obj)?;
    rec.extra.insert(KIND.into(), json!("schedule"));
    if let Some(n) = string(obj, "name")? {
        rec.extra.insert("name".into(), Value::String(n));
    }
    let enabled = match obj.get("enabled") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.trim() == "true" => true,
        Some(Value::String(s)) if s.trim() == "false" => false,
        Some(_) => return Err("`enabled` must be true or false".into()),
    };
    rec.extra.insert("enabled".into(), Value::Bool(enabled));
    rec.scheduled = match obj.get("scheduled") {
        None | Some(Value::Null) | Some(Value::Bool(true)) => Scheduled::Yes,
        // A schedule "not scheduled": taken as one that already fired.
        Some(Value::Bool(false)) => Scheduled::No,
        Some(Value::String(s)) => match s.trim() {
            "true" | "" => Scheduled::Yes,
            "false" => Scheduled::No,
            t => Scheduled::At(t.parse::<Timestamp>().map_err(|_| {
                format!("`scheduled` must be true or an RFC 3339 time, found `{t}`")
            })?),
        },
        Some(_) => return Err("`scheduled` must be true or an RFC 3339 time".into()),
    };
    match obj.get("trigger") {
        None | Some(Value::Null) => {}
        Some(t @ Value::Object(_)) => {
            rec.extra.insert("trigger".into(), t.clone());
        }
        // CSV: the trigger as JSON text.
        Some(Value::String(s)) => {
            let t: Value = serde_json::from_str(s)
                .map_err(|e| format!("`trigger` must be a JSON object: {e}"))?;
            rec.extra.insert("trigger".into(), t);
        }
        Some(_) => return Err("`trigger` must be an object".into()),
    }
    Ok(rec)
}

impl Jpush {
    /// `DELETE /v3/schedules/{schedule_id}`.
    pub(super) fn delete_schedule(&mut self, ctx: &Ctx<'_>, id: &str) -> Reply {
        let bare = self.schedule_bare_404;
        let not_found = |why: &str| {
            if bare {
                Reply::empty(404).note(format!("{why} (jpush.schedule_bare_404: an empty 404)"))
            } else {
                error(404, 8104, NOT_FOUND).note(why.to_string())
            }
        };
        if !is_uuid(id) {
            return not_found("the schedule id is not a UUID");
        }
        let Some(s) = self.schedules.get_mut(id) else {
            return not_found("no such schedule");
        };
        let m = &mut s.core;
        if m.cancelled_at.is_some() {
            return not_found("the schedule was already deleted");
        }
        if !m.pending(ctx.now) {
            let when = match m.scheduled {
                Scheduled::At(t) => format!(" at {}", fmt_ts(t)),
                _ => String::new(),
            };
            if self.schedule_fired_forgotten {
                return not_found(&format!(
                    "the schedule fired for the last time{when} by the sandbox clock and is forgotten (jpush.schedule_fired_forgotten)"
                ));
            }
            return bad(
                8100,
                "The schedule-task is invalid: has been at term; expired",
            )
            .note(format!(
                "the schedule fired for the last time{when} by the sandbox clock"
            ));
        }
        m.cancel(ctx);
        if m.cancelled_at.is_none() {
            return Reply::empty(200)
                .note("fault injection: ineffective (answered success; the schedule still fires)");
        }
        Reply::empty(200)
    }

    /// `GET /v3/schedules?page=`: the active schedules, 50 a page.
    pub(super) fn list_schedules(&self, ctx: &Ctx<'_>, query: Option<&str>) -> Reply {
        let page = query
            .unwrap_or("")
            .split('&')
            .find_map(|kv| kv.strip_prefix("page="))
            .map(str::trim);
        let page = match page {
            None | Some("") => 1,
            Some(p) => match p.parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return bad(8100, "The schedule-task is invalid: section is invalid")
                        .note(format!("page `{p}` is not a positive integer"));
                }
            },
        };
        let active: Vec<&Schedule> = self
            .schedules
            .list
            .iter()
            .filter(|s| s.core.cancelled_at.is_none() && s.core.pending(ctx.now))
            .collect();
        let total = active.len();
        let listed: Vec<Value> = active
            .iter()
            .skip((page - 1).saturating_mul(PAGE_SIZE))
            .take(PAGE_SIZE)
            .map(|s| s.listed())
            .collect();
        Reply::json(
            200,
            json!({
                "total_count": total,
                "total_pages": total.div_ceil(PAGE_SIZE),
                "page": page,
                "schedules": listed,
            }),
        )
    }
}

#[cfg(test)]
pub(crate) fn seed_schedule(id: &str, scheduled: Scheduled) -> SeedMessage {
    let mut m = SeedMessage::bare(Jpush::NAME, id, Timestamp::now());
    m.sent_at = None;
    m.platforms = vec!["android".into(), "ios".into()];
    m.audience = Some(Value::String("all".into()));
    m.scheduled = scheduled;
    m.extra.insert(KIND.into(), json!("schedule"));
    m.extra.insert("enabled".into(), Value::Bool(true));
    m
}
