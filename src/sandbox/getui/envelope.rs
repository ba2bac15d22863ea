//! GeTui's `{code, msg, data}` envelope, its codes, and the HTTP status each class of code
//! comes with (reference §1, §5: rest_v2/code and the DCloud copy).

use serde_json::{Value, json};

use crate::sandbox::exchange::Reply;

pub(super) const NOT_JSON: i64 = 1;
pub(super) const STARTING: i64 = 2;
pub(super) const TOKEN: i64 = 10001;
pub(super) const AUTH_PER_MINUTE: i64 = 10003;
pub(super) const CALLS_PER_MINUTE: i64 = 10005;
pub(super) const INVALID: i64 = 20001;
pub(super) const SCHEDULE_EXECUTED: i64 = 22001;
pub(super) const SCHEDULE_INVALID: i64 = 22002;
pub(super) const ALL_PER_DAY: i64 = 30007;
pub(super) const TAG_PER_DAY: i64 = 30010;
pub(super) const GROUP_PER_MINUTE: i64 = 30014;
pub(super) const LIST_PER_MINUTE: i64 = 30015;

/// The status of a code's class: 200 for the base codes, 401 for 10xxx, 400 for 2xxxx, 403
/// for 3xxxx (rest_v2/code; 22001/22002/23001 per the DCloud copy).
pub(super) fn status(code: i64) -> u16 {
    match code {
        10000..=10999 => 401,
        20000..=29999 => 400,
        30000..=30999 => 403,
        _ => 200,
    }
}

/// **Choice:** the texts are the code table's meanings, where GeTui's own are unknown.
fn text(code: i64) -> &'static str {
    match code {
        0 => "success",
        NOT_JSON => "failure: the body is not JSON",
        STARTING => "service is starting",
        TOKEN => "token is invalid or expired",
        AUTH_PER_MINUTE => "auth calls over the limit of 100 a minute",
        CALLS_PER_MINUTE => "calls over the per-minute limit",
        INVALID => "invalid parameter",
        SCHEDULE_EXECUTED => "定时任务已经执行，无法删除",
        SCHEDULE_INVALID => "任务无效或定时任务时间不合法",
        ALL_PER_DAY => "app/all 每日最多推送100次",
        TAG_PER_DAY => "app/tag 每日推送次数超限",
        GROUP_PER_MINUTE => "每分钟最多操作5次",
        LIST_PER_MINUTE => "list push over the per-minute limit",
        _ => "error",
    }
}

pub(super) fn err(code: i64) -> Reply {
    err_msg(code, text(code))
}

pub(super) fn err_msg(code: i64, msg: &str) -> Reply {
    Reply::json(status(code), json!({"code": code, "msg": msg}))
}

/// `{"code":0,"msg":"success"}`.
pub(super) fn ok() -> Reply {
    Reply::json(200, json!({"code": 0, "msg": "success"}))
}

pub(super) fn ok_data(data: Value) -> Reply {
    Reply::json(200, json!({"code": 0, "msg": "success", "data": data}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_code_classes() {
        assert_eq!(err(TOKEN).status, 401);
        assert_eq!(err(INVALID).status, 400);
        assert_eq!(err(SCHEDULE_EXECUTED).status, 400);
        assert_eq!(err(GROUP_PER_MINUTE).status, 403);
        assert_eq!(err(STARTING).status, 200);
        assert_eq!(ok().body, Some(json!({"code": 0, "msg": "success"})));
    }
}
