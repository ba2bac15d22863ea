//! `POST /v3/push/app`: a push, and the override push (`collapse_id`).

use jiff::civil::DateTime;
use serde_json::{Map, Value, json};

use super::Tpns;
use super::envelope::{Family, INVALID, MISSING, PARSE_ERROR, TOO_FAST};
use super::fields::{
    AUDIENCE_TYPES, CANCELLABLE, CORRECTABLE, RATE_LIMITED, beijing, targeting_keys,
};
use super::store::Task;
use crate::sandbox::exchange::{Ctx, Reply};
use crate::sandbox::message::{Message, Scheduled};

/// `POST /v3/push/app`.
///
/// **Choices:** a push without `collapse_id` is an ordinary push (accepted and recorded, as the
/// service would). With `collapse_id`, it overrides the task(s) carrying that collapse id:
/// none → 1008007 (a collapse id "cannot be invented by the caller"); the original task must
/// have gone to all / tag / account_list and the override must use the same `audience_type`
/// (1008007 otherwise); an override of a cancelled task is 1008007. `force_collapse` is
/// optional (documented default false) but must be a boolean.
impl Tpns {
    pub(super) fn push_app(&mut self, ctx: &Ctx<'_>, obj: &Map<String, Value>) -> Reply {
        let f = Family { camel: false };
        for k in ["audience_type", "message_type", "message"] {
            if !obj.contains_key(k) {
                return f.err(MISSING).note(format!("`{k}` is required"));
            }
        }
        let Some(audience_type) = obj["audience_type"].as_str() else {
            return f.err(PARSE_ERROR).note("`audience_type` must be a string");
        };
        if !AUDIENCE_TYPES.contains(&audience_type) {
            return f
                .err(INVALID)
                .note(format!("unknown audience_type `{audience_type}`"));
        }
        let Some(message_type) = obj["message_type"].as_str() else {
            return f.err(PARSE_ERROR).note("`message_type` must be a string");
        };
        if message_type != "notify" && message_type != "message" {
            return f.err(INVALID).note("`message_type` is notify or message");
        }
        let Some(message) = obj["message"].as_object() else {
            return f.err(PARSE_ERROR).note("`message` must be an object");
        };
        for k in ["title", "content"] {
            match message.get(k) {
                None if message_type == "notify" => {
                    return f
                        .err(MISSING)
                        .note(format!("`message.{k}` is required for a notification"));
                }
                None | Some(Value::String(_)) => {}
                Some(_) => {
                    return f
                        .err(PARSE_ERROR)
                        .note(format!("`message.{k}` must be a string"));
                }
            }
        }
        // The targeting field of the audience type.
        match audience_type {
            "tag" => {
                let rules = obj.get("tag_rules");
                let list = obj.get("tag_list");
                match (rules, list) {
                    (Some(Value::Array(a)), _) if !a.is_empty() => {}
                    (Some(Value::Array(_)) | None, Some(Value::Object(l)))
                        if l.contains_key("tags") => {}
                    (None, None) => {
                        return f
                            .err(MISSING)
                            .note("a tag push needs `tag_rules` (or `tag_list`)");
                    }
                    _ => {
                        return f
                            .err(INVALID)
                            .note("`tag_rules` must be a non-empty array of rules");
                    }
                }
            }
            "token" | "token_list" | "account" | "account_list" => {
                let key = targeting_keys(audience_type)[0];
                match obj.get(key) {
                    None => {
                        return f.err(MISSING).note(format!(
                            "`{key}` is required for audience_type {audience_type}"
                        ));
                    }
                    Some(Value::Array(a))
                        if !a.is_empty() && a.len() <= 1000 && a.iter().all(Value::is_string) => {}
                    Some(Value::Array(_)) => {
                        return f
                            .err(INVALID)
                            .note(format!("`{key}` must hold 1 to 1000 strings"));
                    }
                    Some(_) => return f.err(PARSE_ERROR).note(format!("`{key}` must be an array")),
                }
            }
            "package_account_push" | "package_token_push" => match obj.get("upload_id") {
                None => {
                    return f
                        .err(MISSING)
                        .note("`upload_id` is required for a package push");
                }
                Some(v) if v.as_u64().is_some() => {}
                Some(_) => return f.err(PARSE_ERROR).note("`upload_id` must be an integer"),
            },
            _ => {}
        }
        let environment = match obj.get("environment") {
            None => "product".to_string(),
            Some(Value::String(e)) if e == "product" || e == "dev" => e.clone(),
            Some(Value::String(_)) => {
                return f.err(INVALID).note("`environment` is product or dev");
            }
            Some(_) => return f.err(PARSE_ERROR).note("`environment` must be a string"),
        };
        let collapse_id = match obj.get("collapse_id") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.is_u64() => {
                match u32::try_from(n.as_u64().unwrap_or(u64::MAX)) {
                    Ok(c) => Some(c),
                    Err(_) => {
                        return f
                            .err(INVALID)
                            .note("`collapse_id` is an unsigned 32-bit integer");
                    }
                }
            }
            Some(_) => {
                return f
                    .err(PARSE_ERROR)
                    .note("`collapse_id` must be a JSON integer (not a string or a float)");
            }
        };
        let force_collapse = match obj.get("force_collapse") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return f
                    .err(PARSE_ERROR)
                    .note("`force_collapse` must be a boolean");
            }
        };
        if let Some(v) = obj.get("expire_time") {
            match v.as_i64() {
                Some(n) if (0..=259_200).contains(&n) => {}
                Some(_) => return f.err(INVALID).note("`expire_time` is 0 to 259200 seconds"),
                None => return f.err(PARSE_ERROR).note("`expire_time` must be an integer"),
            }
        }
        let seq = match obj.get("seq") {
            None => 0,
            Some(v) => match v.as_i64() {
                Some(n) => n,
                None => return f.err(PARSE_ERROR).note("`seq` must be an integer"),
            },
        };
        let scheduled = match obj.get("send_time") {
            None => Scheduled::No,
            Some(Value::String(s)) => {
                let Ok(dt) = DateTime::strptime("%Y-%m-%d %H:%M:%S", s) else {
                    return f.err(INVALID).note("`send_time` is yyyy-MM-DD HH:MM:SS");
                };
                let Ok(t) = dt.to_zoned(beijing()).map(|z| z.timestamp()) else {
                    return f.err(INVALID).note("`send_time` is out of range");
                };
                if !CANCELLABLE.contains(&audience_type) {
                    return f
                        .err(INVALID)
                        .note("scheduled pushes are only for all / tag / package_account_push");
                }
                let past = ctx.now.duration_since(t).as_secs();
                if past > 600 {
                    return f
                        .err(10010012)
                        .note("`send_time` is more than 10 minutes in the past");
                }
                if t > ctx.now {
                    Scheduled::At(t)
                } else {
                    Scheduled::No
                }
            }
            Some(_) => return f.err(PARSE_ERROR).note("`send_time` must be a string"),
        };

        // The override: the tasks carrying this collapse id.
        let mut originals = Vec::new();
        let mut audience_matches = Value::Null;
        if let Some(c) = collapse_id {
            originals = self.tasks.by_collapse(c).to_vec();
            let Some(&first) = originals.first() else {
                return f
                    .err(INVALID)
                    .note(format!("no push task has collapse_id {c}"));
            };
            let o = self.tasks.at(first);
            if let Some(t) = o.audience_type.as_deref() {
                if !CORRECTABLE.contains(&t) {
                    return f.err(INVALID).note(format!(
                    "override works only for tasks to all / tag / account_list; task {} went to `{t}`",
                    o.core.id
                ));
                }
                if t != audience_type {
                    return f.err(INVALID).note(format!(
                    "the override's audience_type `{audience_type}` differs from task {}'s `{t}`",
                    o.core.id
                ));
                }
            }
            if o.core.cancelled_at.is_some() {
                return f
                    .err(INVALID)
                    .note(format!("task {} was cancelled", o.core.id));
            }
            // Informational: does the override go to exactly the original audience (DESIGN §3)?
            audience_matches = match (&o.core.audience, audience_type) {
                (_, "all") => json!(true),
                (None, _) => Value::Null,
                (Some(a), t) => json!(
                    targeting_keys(t)
                        .iter()
                        .any(|k| obj.get(*k).is_some() && a.get(*k) == obj.get(*k))
                ),
            };
        }
        if RATE_LIMITED.contains(&audience_type) && !self.push_window.take(ctx.elapsed).allowed {
            return f.err(TOO_FAST);
        }

        let id = self.tasks.new_id();
        // The `ineffective` fault: the override is answered as sent, and nothing happens (no
        // task goes out, the original is not collapsed).
        let mut effective = true;
        for &i in &originals {
            effective &= self.tasks.at_mut(i).core.takes(ctx, "override");
        }
        if !effective {
            return Reply::json(
                200,
                json!({"seq": seq, "push_id": id, "ret_code": 0, "err_msg": "", "environment": environment, "result": ""}),
            )
            .note("fault injection: ineffective (answered as sent; nothing was pushed, the original is not collapsed)");
        }
        let mut m = Message::sent(id.clone(), ctx);
        let mut targeting = Map::new();
        for k in targeting_keys(audience_type) {
            if let Some(v) = obj.get(*k) {
                targeting.insert((*k).to_string(), v.clone());
            }
        }
        m.audience = (!targeting.is_empty()).then_some(Value::Object(targeting));
        let task_collapse_id = match collapse_id {
            Some(c) => c,
            None => self.tasks.new_collapse_id(),
        };
        m.scheduled = scheduled;
        m.title = message
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_string);
        m.body = message
            .get("content")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(p) = obj.get("platform").and_then(Value::as_str) {
            m.platforms = vec![p.to_string()];
        }
        m.overrides = originals.first().map(|&i| self.tasks.at(i).core.id.clone());
        m.sent = Some(json!({
            "request": ctx.seq,
            "seq": seq,
            "collapse_id": collapse_id,
            "force_collapse": force_collapse,
            "environment": environment,
            "checks": {"audience_matches_original": audience_matches},
            "payload": Value::Object(obj.clone()),
        }));
        m.event(ctx, "sent", None);
        self.tasks.insert(Task {
            core: m,
            audience_type: Some(audience_type.to_string()),
            collapse_id: Some(task_collapse_id),
            collapse_id_assigned: false,
        });
        for i in originals {
            let o = &mut self.tasks.at_mut(i).core;
            if o.cancelled_at.is_some() {
                continue;
            }
            // "覆盖消息会默认终止原推送任务的离线消息下发": the original is collapsed (its
            // undelivered data stopped and its notification replaced).
            o.overridden(&id, ctx);
        }
        Reply::json(
            200,
            json!({"seq": seq, "push_id": id, "ret_code": 0, "err_msg": "", "environment": environment, "result": ""}),
        )
    }
}
