//! `POST /v3/push/stop_push_msg`, `/v3/push/revoke_push_msg`, `/v3/push/cancel_timing_task`.

use serde_json::{Map, Value};

use super::Tpns;
use super::envelope::{Family, INVALID, NOT_EXIST, TOO_FAST, ok};
use super::fields::{CANCELLABLE, CORRECTABLE, push_id};
use crate::sandbox::exchange::{Ctx, Reply};
use crate::sandbox::message::{Scheduled, fmt_ts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Stop,
    Revoke,
    Cancel,
}

impl Tpns {
    /// **Choice** (undocumented answers): stop / revoke on a task already stopped (or revoked)
    /// and cancel on a task already cancelled succeed again (idempotent). Stop or revoke on a
    /// scheduled task not yet dispatched, or on a cancelled one, is 1008007 (use
    /// cancel_timing_task). A task whose ledger record has no `audience_type` is not refused
    /// for its audience.
    pub(super) fn corrective(
        &mut self,
        ctx: &Ctx<'_>,
        obj: &Map<String, Value>,
        action: Action,
    ) -> Reply {
        let f = Family { camel: false };
        let id = match push_id(obj) {
            Ok(id) => id,
            Err((code, why)) => return f.err(code).note(why),
        };
        // No limit is documented for these; the sandbox applies the configured corrective rate
        // (default 1/s) in a window of its own.
        if !self.corrective_window.take(ctx.elapsed).allowed {
            return f.err(TOO_FAST);
        }
        let Some(task) = self.tasks.get_mut(&id) else {
            return f.err(NOT_EXIST).note(format!("no task {id}"));
        };
        let allowed = if action == Action::Cancel {
            CANCELLABLE
        } else {
            CORRECTABLE
        };
        if let Some(t) = &task.audience_type
            && !allowed.contains(&t.as_str())
        {
            return f.err(INVALID).note(format!(
                "this works only for tasks to {}; task {id} went to `{t}`",
                allowed.join(" / ")
            ));
        }
        let m = &mut task.core;
        let now = ctx.now;
        match action {
            Action::Stop | Action::Revoke => {
                if m.cancelled_at.is_some() {
                    return f.err(INVALID).note("the task was cancelled");
                }
                if m.pending(now) {
                    return f.err(INVALID).note(
                        "the scheduled task has not been dispatched yet; use cancel_timing_task",
                    );
                }
                if action == Action::Stop {
                    if m.stopped_at.is_some() || m.recalled_at.is_some() {
                        return ok().note("already stopped");
                    }
                    m.stop(ctx);
                } else {
                    if m.recalled_at.is_some() {
                        return ok().note("already revoked");
                    }
                    // "撤回消息会默认终止该推送任务的离线消息下发": a revoke also stops.
                    m.recall_and_stop(ctx);
                }
                ineffective_note(m, ctx)
            }
            Action::Cancel => {
                if m.cancelled_at.is_some() {
                    return ok().note("already cancelled");
                }
                match m.scheduled {
                    Scheduled::No => return f.err(INVALID).note("not a scheduled task"),
                    Scheduled::At(t) if t <= now => {
                        return f.err(INVALID).note(format!(
                            "the task was dispatched at {} by the sandbox clock",
                            fmt_ts(t)
                        ));
                    }
                    _ => {}
                }
                m.cancel(ctx);
                ineffective_note(m, ctx)
            }
        }
    }
}

/// Success, saying in the request log when the `ineffective` fault swallowed the change.
fn ineffective_note(m: &crate::sandbox::message::Message, ctx: &Ctx<'_>) -> Reply {
    let swallowed = m
        .events
        .last()
        .is_some_and(|e| e.request == ctx.seq && e.action.ends_with("_ignored"));
    if swallowed {
        ok().note("fault injection: ineffective (answered success; nothing changed)")
    } else {
        ok()
    }
}
