//! `POST /v4/timpush/push` (269/100634, 1047/60561): an all-user push, or a tag / attribute
//! push with `Condition`; it answers the new task's `TaskId`, from which its 24 h revoke
//! window runs (C5).

use serde_json::{Map, Value, json};

use super::Timpush;
use super::envelope::{
    BODY_TOO_LARGE, DAILY_QUOTA, EMPTY_TAG, JSON_PARSE, MSG_RANDOM, PUSH_TOO_FAST, TAG_TOO_LONG,
    TAGS_AND_ATTRS, TOO_MANY_TAGS, fail, field, ok,
};
use super::store::Task;
use crate::sandbox::exchange::{Ctx, Reply};
use crate::sandbox::message::Message;

const MAX_BODY: usize = 10 * 1024;

/// The audience type a `Condition` makes, or the error code.
fn condition(c: Option<&Value>) -> Result<&'static str, (u32, &'static str)> {
    let Some(c) = c.filter(|c| !c.is_null()) else {
        return Ok("all");
    };
    let Some(c) = c.as_object() else {
        return Err((JSON_PARSE, "Condition is not an object"));
    };
    let tags: Vec<&Value> = ["TagsAnd", "TagsOr", "TagsNot"]
        .iter()
        .filter_map(|k| c.get(*k))
        .flat_map(|v| v.as_array().into_iter().flatten())
        .collect();
    let attrs = c.contains_key("AttrsAnd") || c.contains_key("AttrsOr");
    if !tags.is_empty() && attrs {
        return Err((TAGS_AND_ATTRS, "tags and attributes together"));
    }
    if attrs {
        return Ok("attribute");
    }
    if tags.len() > 10 {
        return Err((TOO_MANY_TAGS, "more than 10 tags"));
    }
    for t in &tags {
        match t.as_str() {
            Some("") => return Err((EMPTY_TAG, "an empty tag")),
            Some(s) if s.len() > 50 => return Err((TAG_TOO_LONG, "a tag over 50 bytes")),
            Some(_) => {}
            None => return Err((JSON_PARSE, "tags are strings")),
        }
    }
    let and = c.get("TagsAnd").and_then(Value::as_array);
    let or = c.get("TagsOr").and_then(Value::as_array);
    if let (Some(a), Some(o)) = (and, or)
        && a.iter().any(|t| o.contains(t))
    {
        return Err((90022, "the same tag in TagsAnd and TagsOr"));
    }
    Ok(if tags.is_empty() { "all" } else { "tag" })
}

impl Timpush {
    /// **Choice:** a `MsgRandom` repeated within 7 days answers the first push's TaskId and
    /// pushes nothing ("7 天之内不能重复… 否则视为相同的推送任务"); it does not use the quota.
    pub(super) fn push(&mut self, ctx: &Ctx<'_>, len: usize, obj: &Map<String, Value>) -> Reply {
        if len > MAX_BODY {
            return fail(BODY_TOO_LARGE);
        }
        let Some(random) = obj.get("MsgRandom").and_then(Value::as_u64) else {
            return fail(MSG_RANDOM);
        };
        let audience_type = match condition(obj.get("Condition")) {
            Ok(t) => t,
            Err((code, why)) => return fail(code).note(why),
        };
        if let Some(t) = self.tasks.by_msg_random(random, ctx.now) {
            return ok(field("TaskId", json!(t.core.id)))
                .note("the same MsgRandom within 7 days: the same push task");
        }
        if !self.push_window.take(ctx.elapsed).allowed {
            return fail(PUSH_TOO_FAST);
        }
        if !self.daily.take(ctx.elapsed).allowed {
            return fail(DAILY_QUOTA);
        }
        let id = self.tasks.new_id(self.sdkappid, ctx.now);
        let mut core = Message::sent(id.clone(), ctx);
        let info = obj.get("OfflinePushInfo");
        let text = |k: &str| {
            info.and_then(|i| i.get(k))
                .and_then(Value::as_str)
                .map(String::from)
        };
        core.title = text("Title");
        core.body = text("Desc");
        core.audience = obj.get("Condition").cloned();
        core.sent = Some(json!({"request": ctx.seq, "body": obj}));
        self.tasks.insert(Task {
            core,
            audience_type: Some(audience_type.to_string()),
            sched_task_id: None,
            revoked_at: None,
            revoke: None,
            overridden_at: None,
            override_info: None,
            msg_random: Some(random),
        });
        ok(field("TaskId", json!(id)))
    }
}
