//! The push endpoints: a notification (which overrides the tasks whose ids it carries), a
//! transmission, or a revoke (the recall, with the dangerous `force: true`).

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::envelope::{
    ALL_PER_DAY, CALLS_PER_MINUTE, GROUP_PER_MINUTE, INVALID, LIST_PER_MINUTE, NOT_JSON,
    TAG_PER_DAY, err, err_msg, ok_data,
};
use super::fields::{audience, invalid, notification, push_channel};
use super::seed::valid_taskid;
use super::store::Task;
use super::{Getui, PushKind};
use crate::sandbox::exchange::{Ctx, Reply, Req};
use crate::sandbox::message::{Message, Scheduled};

/// Scheduled pushes go at most this far ahead (DCloud copy: "7天内").
const SCHEDULE_AHEAD: SignedDuration = SignedDuration::from_hours(7 * 24);

/// What a push carried in `push_message`.
enum Content {
    Notification { title: String, body: String },
    Transmission,
    Revoke { old_task_id: String, force: bool },
}

impl Getui {
    pub(super) fn push(
        &mut self,
        ctx: &Ctx<'_>,
        req: &Req<'_>,
        app: &str,
        kind: PushKind,
    ) -> Reply {
        let obj = match serde_json::from_slice::<Value>(req.body) {
            Ok(Value::Object(o)) => o,
            _ => return err(NOT_JSON).note("the body is not a JSON object"),
        };
        if matches!(kind, PushKind::ListCid | PushKind::ListAlias) {
            return self.push_list(ctx, app, kind, &obj);
        }
        let rid = match obj.get("request_id").and_then(Value::as_str) {
            Some(s) if (10..=32).contains(&s.chars().count()) => s.to_string(),
            _ => return invalid("request_id", "required, 10 to 32 characters"),
        };
        let key = (app.to_string(), rid.clone());
        if let Some(first) = self.request_ids.get(&key) {
            // "如果request_id重复，会导致消息丢失": the repeat is dropped.
            return Reply::json(200, first.clone())
                .note("repeated request_id: the first answer again, nothing sent");
        }
        let audience = match audience(kind, &obj) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let Some(pm) = obj.get("push_message").and_then(Value::as_object) else {
            return invalid("push_message", "required, an object");
        };
        let present: Vec<&str> = ["notification", "transmission", "revoke"]
            .into_iter()
            .filter(|k| pm.contains_key(*k))
            .collect();
        if present.len() != 1 {
            return err_msg(
                INVALID,
                "please choose one of notification and transmission and revoke",
            );
        }
        let content = match present[0] {
            "notification" => {
                match notification(&pm["notification"], "push_message.notification") {
                    Ok((title, body, _)) => Content::Notification { title, body },
                    Err(r) => return r,
                }
            }
            "transmission" => match pm["transmission"].as_str() {
                Some(s) if !s.is_empty() => Content::Transmission,
                _ => return invalid("push_message.transmission", "a non-empty string"),
            },
            _ => {
                let r = &pm["revoke"];
                let Some(old) = r
                    .get("old_task_id")
                    .and_then(Value::as_str)
                    .filter(|s| valid_taskid(s))
                else {
                    return invalid("push_message.revoke.old_task_id", "a taskid string");
                };
                let force = match r.get("force") {
                    None => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => return invalid("push_message.revoke.force", "a boolean"),
                };
                Content::Revoke {
                    old_task_id: old.to_string(),
                    force,
                }
            }
        };
        let revoking = match &content {
            Content::Revoke { old_task_id, .. } => Some(old_task_id.as_str()),
            _ => None,
        };
        let mut ids = match push_channel(&obj, revoking) {
            Ok(i) => i,
            Err(r) => return r,
        };
        if let Content::Notification { .. } = content {
            ids.getui = notification(&pm["notification"], "push_message.notification")
                .ok()
                .and_then(|n| n.2);
        }
        let scheduled = match self.schedule(ctx, kind, &obj) {
            Ok(s) => s,
            Err(r) => return r,
        };
        if let Some(r) = self.take_rate(ctx, kind) {
            return r;
        }
        let reply = match content {
            Content::Revoke { old_task_id, force } => {
                let note = self.revoke(ctx, app, &old_task_id, force);
                let id = self.tasks.new_id(kind_char(kind), ctx.now);
                answer(kind, &id, audience.as_ref()).note(note)
            }
            content => {
                let (title, body) = match content {
                    Content::Notification { title, body } => (Some(title), Some(body)),
                    _ => (None, None),
                };
                let id = self.tasks.new_id(kind_char(kind), ctx.now);
                let mut m = Message::sent(id.clone(), ctx);
                m.title = title;
                m.body = body;
                m.audience = audience.clone();
                m.scheduled = scheduled;
                m.sent = Some(json!({
                    "request": ctx.seq,
                    "request_id": rid,
                    "payload": Value::Object(obj.clone()),
                }));
                m.event(ctx, "sent", None);
                let list = kind == PushKind::ListMessage;
                self.tasks.insert(Task {
                    core: m,
                    app: Some(app.to_string()),
                    audience_type: Some(audience_type(kind).into()),
                    ids,
                    unsent_list: list,
                    force_recalled: false,
                });
                if !list && scheduled == Scheduled::No {
                    self.deliver(ctx, app, &id);
                }
                answer(kind, &id, audience.as_ref())
            }
        };
        if let Some(body) = &reply.body {
            self.request_ids.insert(key, body.clone());
        }
        reply
    }

    /// `settings.schedule_time` (ms): a push/all within the next 7 days (DCloud copy).
    fn schedule(
        &self,
        ctx: &Ctx<'_>,
        kind: PushKind,
        obj: &Map<String, Value>,
    ) -> Result<Scheduled, Reply> {
        let Some(v) = obj.get("settings").and_then(|s| s.get("schedule_time")) else {
            return Ok(Scheduled::No);
        };
        let at = v
            .as_i64()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .ok_or_else(|| invalid("settings.schedule_time", "milliseconds"))?;
        if kind != PushKind::All {
            return Err(invalid(
                "settings.schedule_time",
                "scheduled pushes are push/all only",
            ));
        }
        if at <= ctx.now || at.duration_since(ctx.now) > SCHEDULE_AHEAD {
            return Err(invalid("settings.schedule_time", "within the next 7 days"));
        }
        Ok(Scheduled::At(at))
    }

    /// The limits of the push's kind; None when it may go.
    pub(super) fn take_rate(&mut self, ctx: &Ctx<'_>, kind: PushKind) -> Option<Reply> {
        if kind.is_group() {
            // Over the minute first: a refused push uses no day's allowance.
            if !self.group_minute.peek(ctx.elapsed).allowed {
                return Some(err(GROUP_PER_MINUTE));
            }
            if !self.group_day.take(ctx.elapsed).allowed {
                return Some(err(if kind == PushKind::All {
                    ALL_PER_DAY
                } else {
                    TAG_PER_DAY
                }));
            }
            self.group_minute.take(ctx.elapsed);
            return None;
        }
        if !self.push_window.take(ctx.elapsed).allowed {
            return Some(err(
                if matches!(
                    kind,
                    PushKind::ListMessage | PushKind::ListCid | PushKind::ListAlias
                ) {
                    LIST_PER_MINUTE
                } else {
                    CALLS_PER_MINUTE
                },
            ));
        }
        None
    }

    /// `push/list/cid` or `/alias`: `{audience, taskid, is_async}`, the list message's push.
    /// **Choice:** pushing a list message again answers as the first time and sends nothing.
    fn push_list(
        &mut self,
        ctx: &Ctx<'_>,
        app: &str,
        kind: PushKind,
        obj: &Map<String, Value>,
    ) -> Reply {
        let audience = match audience(kind, obj) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let Some(taskid) = obj
            .get("taskid")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return invalid("taskid", "required: the taskid of push/list/message");
        };
        let is_list = self.tasks.get(app, &taskid).is_some_and(|t| {
            t.audience_type.as_deref() == Some("list") && t.core.source == "sandbox"
        });
        if !is_list {
            return invalid("taskid", "not a list message of this app");
        }
        if let Some(r) = self.take_rate(ctx, kind) {
            return r;
        }
        let Some(t) = self.tasks.get_mut(app, &taskid) else {
            return invalid("taskid", "not a list message of this app");
        };
        if !t.unsent_list {
            return answer(kind, &taskid, audience.as_ref())
                .note("already pushed: nothing sent again");
        }
        t.unsent_list = false;
        t.core.audience = audience.clone();
        t.core.event(ctx, "pushed to its list", None);
        self.deliver(ctx, app, &taskid);
        answer(kind, &taskid, audience.as_ref())
    }

    /// A notification of task `id` reached its devices: it replaces, channel by channel, the
    /// notifications of the app's tasks that carried the same ids.
    fn deliver(&mut self, ctx: &Ctx<'_>, app: &str, id: &str) {
        let Some(new) = self.tasks.get(app, id) else {
            return;
        };
        if new.core.title.is_none() {
            return; // a transmission shows nothing and replaces nothing
        }
        let new_ids = new.ids.clone();
        let new_audience = new.core.audience.clone();
        let now = ctx.now;
        let mut replaced: Vec<(String, Vec<&'static str>, Value)> = Vec::new();
        for t in self.tasks.iter_mut() {
            if t.core.id == id || !t.belongs_to(app) || t.unsent_list {
                continue;
            }
            let m = &t.core;
            if m.cancelled_at.is_some() || m.recalled_at.is_some() || m.pending(now) {
                continue;
            }
            let channels = t.ids.replaced_by(&new_ids);
            if channels.is_empty() {
                continue;
            }
            // Informational (DESIGN §3): did it go to the original's audience?
            let same_audience = match (&m.audience, &new_audience) {
                (Some(a), Some(b)) => json!(a == b),
                _ => Value::Null,
            };
            t.core.overridden(id, ctx);
            replaced.push((t.core.id.clone(), channels, same_audience));
        }
        if let Some(new) = self.tasks.get_mut(app, id) {
            new.core.overrides = replaced.first().map(|(o, _, _)| o.clone());
            if let Some(Value::Object(sent)) = new.core.sent.as_mut() {
                let overrode: Map<String, Value> = replaced
                    .iter()
                    .map(|(o, ch, _)| (o.clone(), json!(ch)))
                    .collect();
                let checks: Map<String, Value> = replaced
                    .iter()
                    .map(|(o, _, same)| (o.clone(), json!({"audience_matches_original": same})))
                    .collect();
                sent.insert("overrode".into(), Value::Object(overrode));
                sent.insert("checks".into(), Value::Object(checks));
            }
        }
    }

    /// The recall of `old` (reference §4.2, G4): its notification is deleted where shown.
    /// Unknown with `force: false`: nothing. Unknown with `force: true`: every notification of
    /// the app — what the flag means, and why a client must never send it.
    fn revoke(&mut self, ctx: &Ctx<'_>, app: &str, old: &str, force: bool) -> String {
        if force {
            self.force_revokes += 1;
        }
        let now = ctx.now;
        if let Some(t) = self.tasks.get_mut(app, old) {
            let m = &mut t.core;
            if t.unsent_list || m.cancelled_at.is_some() || m.pending(now) {
                return format!("{old} was never sent: nothing to recall");
            }
            if m.recalled_at.is_some() {
                return format!("{old} was recalled already");
            }
            m.recall(ctx);
            return format!("{old} recalled");
        }
        if !force {
            return format!("no task {old} of app {app}: nothing recalled (force: false)");
        }
        let mut n = 0;
        for t in self.tasks.iter_mut() {
            let m = &t.core;
            if !t.belongs_to(app)
                || t.unsent_list
                || m.recalled_at.is_some()
                || m.cancelled_at.is_some()
                || m.pending(now)
                || m.title.is_none()
            {
                continue;
            }
            t.core.recall(ctx);
            t.force_recalled = true;
            n += 1;
        }
        format!(
            "no task {old} of app {app} and force: true: EVERY notification of the app recalled ({n})"
        )
    }
}

/// The kind letter of a new taskid (`RASA`, `RASS`, `RASL`).
fn kind_char(kind: PushKind) -> char {
    match kind {
        PushKind::SingleCid | PushKind::SingleAlias => 'S',
        PushKind::ListMessage | PushKind::ListCid | PushKind::ListAlias => 'L',
        _ => 'A',
    }
}

fn audience_type(kind: PushKind) -> &'static str {
    match kind {
        PushKind::All => "all",
        PushKind::Tag => "tag",
        PushKind::FastCustomTag => "fast_custom_tag",
        PushKind::SingleCid | PushKind::SingleAlias => "single",
        _ => "list",
    }
}

/// The answer of a push: `{"taskid": …}` for toApp and the list message, `{"$taskid":
/// {"$cid": "successed_online"}}` for pushes to cids or aliases (reference §3).
fn answer(kind: PushKind, id: &str, audience: Option<&Value>) -> Reply {
    match kind {
        PushKind::SingleCid | PushKind::SingleAlias | PushKind::ListCid | PushKind::ListAlias => {
            let mut per = Map::new();
            for k in ["cid", "alias"] {
                for x in audience
                    .and_then(|a| a.get(k))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    per.insert(x.to_string(), json!("successed_online"));
                }
            }
            ok_data(json!({ id: Value::Object(per) }))
        }
        _ => ok_data(json!({ "taskid": id })),
    }
}
