//! `DELETE /v3/push/{msg_id}`: recall.

use super::Jpush;
use super::envelope::bad;
use crate::sandbox::exchange::{Ctx, Reply};

impl Jpush {
    /// 200 with an empty body (seed 000: `Content-Length: 0`).
    ///
    /// **Choice** (the exact recall errors are unverified): an unknown msg_id, a malformed one
    /// and one already recalled all get HTTP 400 `{"error":{"code":1003,"message":"msgid
    /// doesn't exist"}}`, the failure response seed 000 shows. No recall time window is
    /// enforced: none is documented (the override window is; the sandbox does not guess one for
    /// recall).
    pub(super) fn recall(&mut self, ctx: &Ctx<'_>, id: &str) -> Reply {
        let gone = || bad(1003, "msgid doesn't exist");
        let Some(n) = id.parse::<u64>().ok() else {
            return gone().note("the msg_id is not a decimal integer");
        };
        let Some(m) = self.messages.get_mut(n) else {
            return gone().note("no such message");
        };
        if m.core.recalled_at.is_some() {
            return gone().note("the message was already recalled");
        }
        m.core.recall(ctx);
        if m.core.recalled_at.is_none() {
            return Reply::empty(200)
                .note("fault injection: ineffective (answered success; the message goes on being delivered)");
        }
        m.delivery.stop(super::delivery::RECALL_CHANNELS, ctx.now);
        Reply::empty(200)
    }
}
