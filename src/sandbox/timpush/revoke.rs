//! `POST /v4/timpush/revoke {TaskId, OfflinePushInfo}` (269/105123, 1047/60571): terminate
//! the task and, with content, replace the delivered offline notification. Once per task.

use jiff::SignedDuration;
use serde_json::{Map, Value};

use super::Timpush;
use super::envelope::{
    ALREADY_REVOKED, INVALID_TASK_ID, JSON_PARSE, NO_OFFLINE_PUSH_INFO, REVOKE_TOO_FAST, TOO_OLD,
    fail, ok,
};
use crate::sandbox::exchange::{Ctx, Reply};

/// "撤回有效期为24小时，从任务发起时间开始计算".
const WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// Tasks revoke accepts: all-user and tag pushes (§0.2). **Choice:** attribute pushes and
/// pushes to accounts are refused as 90049 (the docs name all/tag only), and a task whose
/// record has no audience type is not refused for it.
const REVOCABLE: &[&str] = &["all", "tag"];

impl Timpush {
    pub(super) fn revoke(&mut self, ctx: &Ctx<'_>, obj: &Map<String, Value>) -> Reply {
        if !self.revoke_window.take(ctx.elapsed).allowed {
            return fail(REVOKE_TOO_FAST);
        }
        let Some(id) = obj.get("TaskId").and_then(Value::as_str).map(str::trim) else {
            return fail(JSON_PARSE).note("TaskId is missing or not a string");
        };
        let strict = self.strict_2025;
        let Some(task) = self.tasks.get_mut(id) else {
            return fail(INVALID_TASK_ID).note(format!("no task {id}"));
        };
        if !task.pushed(ctx.now) {
            return fail(INVALID_TASK_ID).note(format!(
                "task {id} is a scheduled task not dispatched yet: it has no push record"
            ));
        }
        if let Some(t) = &task.audience_type
            && !REVOCABLE.contains(&t.as_str())
        {
            return fail(INVALID_TASK_ID).note(format!(
                "task {id} is a `{t}` push; revoke takes all-user and tag tasks only"
            ));
        }
        if task.revoked_at.is_some() {
            return fail(ALREADY_REVOKED).note(format!(
                "task {id} was revoked already ({})",
                task.revoke.unwrap_or("stop")
            ));
        }
        if ctx.now.duration_since(task.start()) > WINDOW {
            return fail(TOO_OLD).note(format!(
                "task {id} started {} ago",
                ctx.now.duration_since(task.start())
            ));
        }
        let info = match obj.get("OfflinePushInfo") {
            Some(Value::Object(o)) => o.clone(),
            None | Some(Value::Null) => {
                return fail(NO_OFFLINE_PUSH_INFO)
                    .note("no OfflinePushInfo (required by the 2025 docs; the safe rule is to always send it)");
            }
            Some(_) => return fail(JSON_PARSE).note("OfflinePushInfo is not an object"),
        };
        let push_flag = match info.get("PushFlag") {
            None => 0,
            Some(v) => match v.as_u64() {
                Some(f @ (0 | 1)) => f,
                _ => return fail(JSON_PARSE).note("PushFlag is 0 or 1"),
            },
        };
        let content = ["Title", "Desc", "Ext", "AndroidInfo", "ApnsInfo"]
            .iter()
            .any(|k| info.contains_key(*k));
        if push_flag == 1 && strict && !content {
            return fail(NO_OFFLINE_PUSH_INFO).note(
                "strict 2025 reading: OfflinePushInfo must carry the replacement, not only PushFlag 1",
            );
        }
        let now = ctx.now;
        task.revoked_at = Some(now);
        if push_flag == 1 {
            // "If OfflinePushinfo.PushFlag=1 … offline push will not be overwritten": terminate only.
            task.revoke = Some("stop");
            task.core.stop(ctx);
            ok(Map::new()).note("terminated; nothing overwritten (PushFlag 1)")
        } else {
            task.revoke = Some("override");
            task.overridden_at = Some(now);
            task.override_info = Some(Value::Object(info));
            // A revoke terminates the task whatever else it does.
            task.core.stop(ctx);
            task.core.event(ctx, "overridden", None);
            ok(Map::new()).note(
                "terminated; delivered offline notifications replaced (APNs, FCM notification mode, Huawei, Honor)",
            )
        }
    }
}
