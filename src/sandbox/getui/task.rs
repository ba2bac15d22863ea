//! `DELETE /v2/{appId}/task/{taskid}` (stop) and `GET|DELETE /v2/{appId}/task/schedule/
//! {taskid}` (query and delete a scheduled task).

use jiff::SignedDuration;
use serde_json::json;

use super::Getui;
use super::envelope::{
    CALLS_PER_MINUTE, INVALID, SCHEDULE_EXECUTED, SCHEDULE_INVALID, err, err_msg, ok, ok_data,
};
use crate::sandbox::exchange::{Ctx, Reply};
use crate::sandbox::message::{Scheduled, fmt_ts};

/// "距离下发还有一分钟的任务，将无法删除" (DCloud copy).
const TOO_CLOSE: SignedDuration = SignedDuration::from_secs(60);

impl Getui {
    /// Stop: batch (toList) and group (toApp) tasks only (reference §4.1, G2).
    ///
    /// **Choices:** an unknown task, a single task (the ledger's `audience_type`, else the
    /// RASS prefix) and a deleted scheduled task are 20001; stopping a stopped or recalled
    /// task succeeds again; a scheduled task not yet sent can be stopped (it is then never
    /// sent).
    pub(super) fn stop(&mut self, ctx: &Ctx<'_>, app: &str, taskid: &str) -> Reply {
        if !self.task_window.take(ctx.elapsed).allowed {
            return err(CALLS_PER_MINUTE);
        }
        let Some(t) = self.tasks.get_mut(app, taskid) else {
            return err_msg(INVALID, "taskid is invalid")
                .note(format!("no task {taskid} of app {app}"));
        };
        if t.unsent_list {
            return err_msg(INVALID, "taskid is invalid")
                .note("a list message never pushed to its list");
        }
        if t.kind() == Some("single") {
            return err_msg(INVALID, "taskid is invalid")
                .note("a single push: stop works for batch (toList) and group (toApp) tasks only");
        }
        let m = &mut t.core;
        if m.cancelled_at.is_some() {
            return err_msg(INVALID, "taskid is invalid").note("the scheduled task was deleted");
        }
        if m.stopped_at.is_some() {
            return ok().note("already stopped");
        }
        m.stop(ctx);
        ok()
    }

    pub(super) fn schedule_delete(&mut self, ctx: &Ctx<'_>, app: &str, taskid: &str) -> Reply {
        if !self.task_window.take(ctx.elapsed).allowed {
            return err(CALLS_PER_MINUTE);
        }
        let Some(t) = self.tasks.get_mut(app, taskid) else {
            return err(SCHEDULE_INVALID).note(format!("no task {taskid} of app {app}"));
        };
        let m = &mut t.core;
        if m.cancelled_at.is_some() {
            return ok().note("already deleted");
        }
        match m.scheduled {
            Scheduled::No => return err(SCHEDULE_INVALID).note("not a scheduled task"),
            Scheduled::At(at) if at <= ctx.now => {
                return err(SCHEDULE_EXECUTED)
                    .note(format!("it fired at {} (sandbox clock)", fmt_ts(at)));
            }
            Scheduled::At(at) if at.duration_since(ctx.now) < TOO_CLOSE => {
                return err(SCHEDULE_EXECUTED).note(
                    "it is due within a minute: GeTui no longer deletes it (stop it instead)",
                );
            }
            _ => {}
        }
        m.cancel(ctx);
        ok()
    }

    /// `data: {"$taskid": {create_time, send_result, transmission_content, push_time}}`, times
    /// as millisecond strings; `send_result` `has_delete` once deleted.
    pub(super) fn schedule_get(&mut self, ctx: &Ctx<'_>, app: &str, taskid: &str) -> Reply {
        if !self.task_window.take(ctx.elapsed).allowed {
            return err(CALLS_PER_MINUTE);
        }
        let Some(t) = self.tasks.get(app, taskid) else {
            return err(SCHEDULE_INVALID).note(format!("no task {taskid} of app {app}"));
        };
        let m = &t.core;
        let at = match m.scheduled {
            Scheduled::No => return err(SCHEDULE_INVALID).note("not a scheduled task"),
            Scheduled::At(at) => Some(at),
            Scheduled::Yes => None,
        };
        let result = if m.cancelled_at.is_some() {
            "has_delete"
        } else if at.is_some_and(|a| a <= ctx.now) {
            "send_success"
        } else {
            "do_not_send"
        };
        ok_data(json!({ taskid: {
            "create_time": m.effective_sent.as_millisecond().to_string(),
            "send_result": result,
            "transmission_content": "",
            "push_time": at.map(|a| a.as_millisecond().to_string()),
        }}))
    }
}
