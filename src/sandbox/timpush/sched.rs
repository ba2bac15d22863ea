//! The scheduled tasks (269/130277-130281): `add_sched_task`, `get_sched_task`,
//! `delete_sched_task`. Their integer `TaskID` is not the push `TaskId`; `get_sched_task`
//! links them (`PushTaskID`, once dispatched).

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};

use super::Timpush;
use super::envelope::{
    JSON_PARSE, SCHED_DISPATCHED, SCHED_DISPATCHING, SCHED_INVALID, TOO_FREQUENT, fail, fail_with,
    field, ok,
};
use super::store::{SchedState, Task};
use crate::sandbox::exchange::{Ctx, Reply};
use crate::sandbox::message::{Message, Scheduled};

const TYPES: &[&str] = &["All", "Tag", "User"];

/// The `Type` of a task from its audience type.
fn type_of(t: &Task) -> &'static str {
    match t.audience_type.as_deref() {
        Some("tag") | Some("attribute") => "Tag",
        Some("user") => "User",
        _ => "All",
    }
}

/// `YYYY-MM-DD HH:MM:SS`, **choice:** UTC (list_sched_task declares UTC; add's zone is
/// unverified).
fn sched_time(t: Timestamp) -> String {
    t.to_zoned(TimeZone::UTC)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

impl Timpush {
    /// The body's `Sdkappid` must be the URL's (90104 otherwise), and `TaskID` an integer.
    fn sched_id(&self, obj: &Map<String, Value>) -> Result<u64, Reply> {
        if obj.get("Sdkappid").and_then(Value::as_u64) != Some(self.sdkappid) {
            return Err(fail(SCHED_INVALID).note("Sdkappid is missing or not the URL's sdkappid"));
        }
        obj.get("TaskID")
            .and_then(Value::as_u64)
            .ok_or_else(|| fail(SCHED_INVALID).note("TaskID is missing or not an integer"))
    }

    pub(super) fn get_sched(&mut self, ctx: &Ctx<'_>, obj: &Map<String, Value>) -> Reply {
        if !self.sched_window.take(ctx.elapsed).allowed {
            return fail(TOO_FREQUENT);
        }
        let n = match self.sched_id(obj) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let Some(t) = self.tasks.sched(n) else {
            return fail(SCHED_INVALID).note(format!("no scheduled task {n}"));
        };
        let state = t.sched_state(ctx.now);
        if state == SchedState::Deleted {
            return fail(SCHED_INVALID).note(format!("scheduled task {n} was deleted"));
        }
        let m = &t.core;
        let at = match m.scheduled {
            Scheduled::At(at) => sched_time(at),
            _ => String::new(),
        };
        let info = json!({
            "TaskID": n,
            "Sdkappid": self.sdkappid,
            "CreateAt": sched_time(m.effective_sent),
            "Type": type_of(t),
            "SchedAt": at,
            "Content": {"OfflinePushInfo": {"Title": m.title, "Desc": m.body}},
            "Title": m.title.clone().unwrap_or_default(),
            "Desc": m.body.clone().unwrap_or_default(),
            "Status": state.status(),
            "DispatchSuccess": u8::from(state == SchedState::Dispatched),
            "DispatchErr": "",
            "PushTaskID": if state == SchedState::Dispatched { m.id.clone() } else { String::new() },
        });
        ok(field("TaskInfo", info))
    }

    pub(super) fn delete_sched(&mut self, ctx: &Ctx<'_>, obj: &Map<String, Value>) -> Reply {
        if !self.sched_window.take(ctx.elapsed).allowed {
            return fail(TOO_FREQUENT);
        }
        let n = match self.sched_id(obj) {
            Ok(n) => n,
            Err(r) => return r,
        };
        let ty = obj.get("Type").and_then(Value::as_str);
        if !ty.is_some_and(|t| TYPES.contains(&t)) {
            return fail(SCHED_INVALID).note("Type must be All, Tag or User");
        }
        let zero = || field("TaskID", json!(0));
        let Some(t) = self.tasks.sched_mut(n) else {
            return fail_with(SCHED_INVALID, zero()).note(format!("no scheduled task {n}"));
        };
        if ty != Some(type_of(t)) {
            return fail_with(SCHED_INVALID, zero())
                .note(format!("scheduled task {n} is of Type {}", type_of(t)));
        }
        match t.sched_state(ctx.now) {
            SchedState::Deleted => {
                fail_with(SCHED_INVALID, zero()).note(format!("scheduled task {n} was deleted"))
            }
            SchedState::Dispatching => fail_with(SCHED_DISPATCHING, zero()),
            SchedState::Dispatched => fail_with(SCHED_DISPATCHED, zero()),
            SchedState::Pending => {
                t.core.cancel(ctx);
                ok(field("TaskID", json!(n)))
            }
        }
    }

    /// `add_sched_task {Sdkappid, Type, SchedAt, Content}`: a task pending until `SchedAt`.
    /// **Choice:** the answer is `{…, "TaskID": n}` (unverified), `SchedAt` must be in the
    /// future.
    pub(super) fn add_sched(&mut self, ctx: &Ctx<'_>, obj: &Map<String, Value>) -> Reply {
        if !self.sched_window.take(ctx.elapsed).allowed {
            return fail(TOO_FREQUENT);
        }
        if obj.get("Sdkappid").and_then(Value::as_u64) != Some(self.sdkappid) {
            return fail(SCHED_INVALID).note("Sdkappid is missing or not the URL's sdkappid");
        }
        let Some(ty) = obj
            .get("Type")
            .and_then(Value::as_str)
            .filter(|t| TYPES.contains(t))
        else {
            return fail(SCHED_INVALID).note("Type must be All, Tag or User");
        };
        let at = obj
            .get("SchedAt")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<DateTime>().ok())
            .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
            .map(|z| z.timestamp());
        let Some(at) = at.filter(|t| *t > ctx.now) else {
            return fail(SCHED_INVALID)
                .note("SchedAt must be `YYYY-MM-DD HH:MM:SS` (UTC), in the future");
        };
        let Some(content) = obj.get("Content").and_then(Value::as_object) else {
            return fail(JSON_PARSE).note("Content is missing");
        };
        let n = self.tasks.new_sched_id();
        let id = self.tasks.new_id(self.sdkappid, at);
        let mut core = Message::sent(id, ctx);
        core.scheduled = Scheduled::At(at);
        let info = content.get("OfflinePushInfo");
        let text = |k: &str| {
            info.and_then(|i| i.get(k))
                .and_then(Value::as_str)
                .map(String::from)
        };
        core.title = text("Title");
        core.body = text("Desc");
        core.audience = content.get("Condition").cloned();
        core.sent = Some(json!({"request": ctx.seq, "body": obj}));
        self.tasks.insert(Task {
            core,
            audience_type: Some(
                match ty {
                    "Tag" => "tag",
                    "User" => "user",
                    _ => "all",
                }
                .to_string(),
            ),
            sched_task_id: Some(n),
            revoked_at: None,
            revoke: None,
            overridden_at: None,
            override_info: None,
            msg_random: None,
        });
        ok(field("TaskID", json!(n)))
    }
}
