//! TIMPush's error codes (reference/timpush.md §4, §5) and its one envelope:
//! `{"ActionStatus": "OK"|"FAIL", "ErrorInfo": …, "ErrorCode": …}` on HTTP 200.

use serde_json::{Map, Value, json};

use crate::sandbox::exchange::Reply;

pub(super) const JSON_PARSE: u32 = 90001;
pub(super) const MSG_RANDOM: u32 = 90005;
pub(super) const ADMIN_ONLY: u32 = 90009;
pub(super) const TAG_TOO_LONG: u32 = 90020;
pub(super) const PUSH_TOO_FAST: u32 = 90024;
pub(super) const TOO_MANY_TAGS: u32 = 90032;
pub(super) const TAGS_AND_ATTRS: u32 = 90039;
pub(super) const EMPTY_TAG: u32 = 90040;
pub(super) const DAILY_QUOTA: u32 = 90047;
pub(super) const INVALID_TASK_ID: u32 = 90049;
pub(super) const ALREADY_REVOKED: u32 = 90050;
pub(super) const REVOKE_TOO_FAST: u32 = 90051;
pub(super) const TOO_OLD: u32 = 90052;
pub(super) const NO_OFFLINE_PUSH_INFO: u32 = 90053;
pub(super) const BODY_TOO_LARGE: u32 = 90056;
pub(super) const SCHED_INVALID: u32 = 90104;
pub(super) const SCHED_DISPATCHED: u32 = 90106;
pub(super) const SCHED_DISPATCHING: u32 = 90107;
pub(super) const INTERNAL: u32 = 91000;

pub(super) const HTTP_PARSE: u32 = 60002;
pub(super) const ACCOUNT_IN_URL: u32 = 60004;
pub(super) const SIG_IN_URL: u32 = 60005;
pub(super) const SDKAPPID_MISSING: u32 = 60012;
pub(super) const TOO_FREQUENT: u32 = 60018;
pub(super) const USERSIG_EXPIRED: u32 = 70001;
pub(super) const USERSIG_UNPARSABLE: u32 = 70003;
pub(super) const USERSIG_INVALID: u32 = 70009;
pub(super) const IDENTIFIER_MISMATCH: u32 = 70013;
pub(super) const SDKAPPID_MISMATCH: u32 = 70014;
pub(super) const SDKAPPID_UNKNOWN: u32 = 70020;

fn text(code: u32) -> &'static str {
    match code {
        JSON_PARSE => "JSON parse error",
        MSG_RANDOM => "MsgRandom is missing or not an integer",
        ADMIN_ONLY => "only App admins may call this API",
        TAG_TOO_LONG => "tag longer than 50 bytes",
        PUSH_TOO_FAST => "pushes must be more than 1 s apart",
        TOO_MANY_TAGS => "more than 10 tags",
        TAGS_AND_ATTRS => "tags and attributes cannot be combined",
        EMPTY_TAG => "empty tag",
        DAILY_QUOTA => "daily push quota exceeded",
        INVALID_TASK_ID => {
            "invalid TaskId: no push record (only the TaskId returned by an all-user or tag push can be revoked)"
        }
        ALREADY_REVOKED => "repeated revoke (重复撤回)",
        REVOKE_TOO_FAST => "revoke called more than once per second",
        TOO_OLD => "the push task is older than 24 hours",
        NO_OFFLINE_PUSH_INFO => "OfflinePushInfo is required",
        BODY_TOO_LARGE => "request body larger than 10 KB",
        SCHED_INVALID => "invalid parameters",
        SCHED_DISPATCHED => "delete failed: task dispatched",
        SCHED_DISPATCHING => "delete failed: task dispatching",
        INTERNAL => "internal error",
        HTTP_PARSE => "HTTP parse error",
        ACCOUNT_IN_URL => "account error in the URL",
        SIG_IN_URL => "signature missing in the URL",
        SDKAPPID_MISSING => "sdkappid missing",
        TOO_FREQUENT => "request too frequent",
        USERSIG_EXPIRED => "UserSig expired",
        USERSIG_UNPARSABLE => "UserSig parse failed",
        USERSIG_INVALID => "UserSig verification failed",
        IDENTIFIER_MISMATCH => "identifier does not match the UserSig",
        SDKAPPID_MISMATCH => "sdk appid not match",
        SDKAPPID_UNKNOWN => "SDKAppID not found",
        _ => "error",
    }
}

/// A refusal: `FAIL` with the code's text, HTTP 200 (every TIMPush error is).
pub(super) fn fail(code: u32) -> Reply {
    fail_with(code, Map::new())
}

/// A refusal with more fields (`"TaskID": 0` of a failed delete).
pub(super) fn fail_with(code: u32, more: Map<String, Value>) -> Reply {
    let mut body = json!({"ActionStatus": "FAIL", "ErrorInfo": text(code), "ErrorCode": code});
    for (k, v) in more {
        body[k] = v;
    }
    Reply::json(200, body)
}

/// Success, with the answer's own fields.
pub(super) fn ok(more: Map<String, Value>) -> Reply {
    let mut body = json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0});
    for (k, v) in more {
        body[k] = v;
    }
    Reply::json(200, body)
}

/// One field, for `ok`/`fail_with`.
pub(super) fn field(k: &str, v: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(k.to_string(), v);
    m
}
