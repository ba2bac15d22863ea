//! How TIMPush answers read (reference/timpush.md §1, §4, §5): the
//! `{ActionStatus, ErrorCode, ErrorInfo}` envelope on HTTP 200, and which codes are done,
//! gone, throttled, worth a retry, a refused repeat, or final.

use std::time::Duration;

use serde_json::{Value, json};

use super::requests::{DELETE_SCHED, GET_SCHED, REVOKE};
use crate::provider::answer::{Answer, Class, Done, json, snippet, text_of};

/// Revoke (§4.1).
pub const INVALID_TASK_ID: i64 = 90049;
pub const ALREADY_REVOKED: i64 = 90050;
pub const REVOKE_TOO_FAST: i64 = 90051;
pub const WINDOW_EXPIRED: i64 = 90052;
pub const OFFLINE_PUSH_INFO_MISSING: i64 = 90053;
/// Scheduled tasks (§4.2).
pub const SCHED_INVALID: i64 = 90104;
pub const SCHED_INTERNAL: i64 = 90105;
pub const SCHED_DISPATCHED: i64 = 90106;
pub const SCHED_DISPATCHING: i64 = 90107;
pub const INTERNAL: i64 = 91000;
/// Common REST codes (§5).
pub const USERSIG_EXPIRED: i64 = 70001;
pub const USERSIG_THROTTLED: i64 = 70050;

/// The journaled fact of a `get_sched_task` answer: the push TaskId the scheduled task
/// became (`PushTaskID`), when dispatched.
pub const PUSH_TASK_ID: &str = "push_task_id";

/// Classify a TIMPush answer. HTTP is 200 unless the network failed ("除非发生网络错误…HTTP
/// 返回码均为200", 269/130279): the class is in `ErrorCode`; `ErrorInfo` is only shown (its
/// samples even spell "sucess"), never matched.
pub fn classify(call: &str, a: &Answer) -> Class {
    let v = json(&a.body);
    let code = v.as_ref().and_then(|v| {
        v.get("ErrorCode")
            .and_then(|c| c.as_i64().or_else(|| c.as_str()?.trim().parse().ok()))
    });
    let info = v
        .as_ref()
        .and_then(|v| v.get("ErrorInfo"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let status = v
        .as_ref()
        .and_then(|v| v.get("ActionStatus"))
        .and_then(Value::as_str);
    let message = |what: &str| match (code, info.is_empty()) {
        (Some(c), false) => format!("{what} ({c}: {info})"),
        (Some(c), true) => format!("{what} ({c})"),
        (None, _) => what.to_string(),
    };
    if let Some(c) = code.filter(|c| *c != 0) {
        return by_code(call, c, &message, a);
    }
    if a.status == 429 {
        return Class::Throttled {
            code,
            pause: a.rate.pause(),
        };
    }
    if a.status >= 500 {
        return Class::Transient {
            code,
            message: format!("HTTP {}: {}", a.status, snippet(&a.body)),
        };
    }
    if !(200..300).contains(&a.status) {
        return Class::Failed {
            code,
            message: format!("HTTP {}: {}", a.status, snippet(&a.body)),
        };
    }
    match (code, status) {
        (Some(0), Some("OK") | None) => {}
        (Some(0), Some(other)) => {
            return Class::Failed {
                code,
                message: format!(
                    "ActionStatus {other} with ErrorCode 0: {}",
                    snippet(&a.body)
                ),
            };
        }
        _ => {
            return Class::Failed {
                code: None,
                message: format!("no ErrorCode in the answer: {}", snippet(&a.body)),
            };
        }
    }
    let mut done = Done::default();
    if call == GET_SCHED {
        let Some(info) = v.as_ref().and_then(|v| v.get("TaskInfo")) else {
            return Class::Failed {
                code: None,
                message: format!("get_sched_task answered no TaskInfo: {}", snippet(&a.body)),
            };
        };
        let push_task_id = info
            .get("PushTaskID")
            .and_then(text_of)
            .filter(|s| !s.trim().is_empty());
        if let Some(p) = &push_task_id {
            done.facts
                .insert(PUSH_TASK_ID.into(), Value::String(p.clone()));
        }
        done.data = Some(json!({
            "Type": info.get("Type").and_then(Value::as_str),
            "Status": info.get("Status").and_then(Value::as_str),
            "PushTaskID": push_task_id,
        }));
    }
    Class::Done(done)
}

fn by_code(call: &str, c: i64, message: &dyn Fn(&str) -> String, a: &Answer) -> Class {
    let code = Some(c);
    let throttled = |secs: Option<u64>| Class::Throttled {
        code,
        pause: a.rate.pause().or(secs.map(Duration::from_secs)),
    };
    match c {
        // "每秒 1 次": back off at least a second.
        REVOKE_TOO_FAST | 90024 => throttled(Some(1)),
        // "retry after 1 min".
        USERSIG_THROTTLED => throttled(Some(60)),
        // REST / SDKAppID over its rate, too frequent.
        60007 | 60011 | 60018 | 60019 => throttled(None),
        // Internal errors and timeouts; an expired UserSig is minted afresh by the next attempt.
        INTERNAL | SCHED_INTERNAL | 60008 => Class::Transient {
            code,
            message: message("TIMPush internal error"),
        },
        USERSIG_EXPIRED => Class::Transient {
            code,
            message: message(
                "UserSig expired on arrival: the next attempt carries a fresh one; if this repeats, this machine's clock is behind",
            ),
        },
        ALREADY_REVOKED if call == REVOKE => Class::Repeat {
            code,
            message: message("already revoked: TIMPush revokes a task once"),
        },
        INVALID_TASK_ID if call == REVOKE => Class::Gone {
            code,
            message: message("no push task with this TaskId (or not an all-user/tag task)"),
        },
        SCHED_INVALID if call == GET_SCHED => Class::Gone {
            code,
            message: message("no such scheduled task"),
        },
        // Right after get_sched_task found the task pending: the task is gone, which after a
        // lost answer is our own earlier delete.
        SCHED_INVALID if call == DELETE_SCHED => Class::Repeat {
            code,
            message: message("delete_sched_task refused the task id"),
        },
        WINDOW_EXPIRED => Class::Failed {
            code,
            message: message(
                "older than 24 h: TIMPush revokes only within 24 h of the task's start",
            ),
        },
        OFFLINE_PUSH_INFO_MISSING => Class::Failed {
            code,
            message: message(
                "TIMPush wants OfflinePushInfo with content (it did not take the stop-only form {\"PushFlag\":1})",
            ),
        },
        SCHED_DISPATCHED => Class::Failed {
            code,
            message: message("already dispatched: no longer pending"),
        },
        SCHED_DISPATCHING => Class::Failed {
            code,
            message: message("being dispatched: no longer pending"),
        },
        90009 | 60010 => Class::Failed {
            code,
            message: message("needs an App admin: set provider.identifier to an admin account"),
        },
        70016 | 70020 => Class::Failed {
            code,
            message: message(
                "key or SDKAppID not found in this data centre: check provider.region",
            ),
        },
        70003 | 70009 | 70013 | 70014 | 60004 | 60005 => Class::Failed {
            code,
            message: message(
                "UserSig refused: check the SDKAppID, the secret key and provider.identifier",
            ),
        },
        _ => Class::Failed {
            code,
            message: message("TIMPush error"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::answer::RateHeaders;

    fn ans(status: u16, body: &str) -> Answer {
        Answer {
            status,
            rate: RateHeaders::default(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn fail(code: i64) -> String {
        format!(r#"{{"ActionStatus":"FAIL","ErrorInfo":"x","ErrorCode":{code}}}"#)
    }

    #[test]
    fn every_answer_class() {
        let ok = r#"{"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}"#;
        assert_eq!(
            classify(REVOKE, &ans(200, ok)),
            Class::Done(Done::default())
        );
        // Done without ActionStatus, and the statistics samples' "sucess".
        assert!(matches!(
            classify(REVOKE, &ans(200, r#"{"ErrorCode":0,"ErrorInfo":"sucess"}"#)),
            Class::Done(_)
        ));
        assert!(matches!(
            classify(
                REVOKE,
                &ans(200, r#"{"ActionStatus":"FAIL","ErrorCode":0}"#)
            ),
            Class::Failed { .. }
        ));
        assert!(matches!(
            classify(REVOKE, &ans(200, r#"{"ok":true}"#)),
            Class::Failed { code: None, .. }
        ));
        assert!(matches!(
            classify(REVOKE, &ans(200, &fail(90050))),
            Class::Repeat {
                code: Some(90050),
                ..
            }
        ));
        assert!(matches!(
            classify(REVOKE, &ans(200, &fail(90049))),
            Class::Gone {
                code: Some(90049),
                ..
            }
        ));
        assert_eq!(
            classify(REVOKE, &ans(200, &fail(90051))),
            Class::Throttled {
                code: Some(90051),
                pause: Some(Duration::from_secs(1))
            }
        );
        assert_eq!(
            classify(REVOKE, &ans(200, &fail(70050))),
            Class::Throttled {
                code: Some(70050),
                pause: Some(Duration::from_secs(60))
            }
        );
        for c in [60007, 60011, 60018, 60019] {
            assert!(
                matches!(
                    classify(REVOKE, &ans(200, &fail(c))),
                    Class::Throttled { .. }
                ),
                "{c}"
            );
        }
        for c in [91000, 90105, 60008, 70001] {
            assert!(
                matches!(
                    classify(REVOKE, &ans(200, &fail(c))),
                    Class::Transient { .. }
                ),
                "{c}"
            );
        }
        for c in [
            90052, 90053, 90001, 90009, 60010, 70003, 70009, 70013, 70014, 70016, 70020, 90106,
            90107, 12345,
        ] {
            assert!(
                matches!(classify(REVOKE, &ans(200, &fail(c))), Class::Failed { .. }),
                "{c}"
            );
        }
        // A code as a string is read too; HTTP errors without an envelope.
        assert!(matches!(
            classify(
                REVOKE,
                &ans(200, r#"{"ActionStatus":"FAIL","ErrorCode":"90050"}"#)
            ),
            Class::Repeat { .. }
        ));
        assert!(matches!(
            classify(REVOKE, &ans(502, "bad gateway")),
            Class::Transient { .. }
        ));
        assert!(matches!(
            classify(REVOKE, &ans(429, "")),
            Class::Throttled { .. }
        ));
        assert!(matches!(
            classify(REVOKE, &ans(404, "")),
            Class::Failed { .. }
        ));
        // A 5xx that carries a code is read by its code.
        assert!(matches!(
            classify(REVOKE, &ans(503, &fail(91000))),
            Class::Transient { .. }
        ));
    }

    #[test]
    fn scheduled_task_answers() {
        // The reference's C4 sample: pending, no PushTaskID yet.
        let c4 = r#"{"ActionStatus": "OK","ErrorInfo": "","ErrorCode": 0,"TaskInfo": {"TaskID": 1234567890,"Sdkappid": 88888888,"CreateAt": "2025-05-20 08:30:00","Type": "All","SchedAt": "2025-06-01 10:00:00","Content": {"From_Account": 12345,"MsgRandom": 123456,"OfflinePushInfo": {"Title": "推送标题","Desc": "推送内容描述"}},"Title": "推送标题","Desc": "推送内容描述","Status": "pending","DispatchSuccess": 0,"DispatchErr": "","PushTaskID": ""}}"#;
        let Class::Done(d) = classify(GET_SCHED, &ans(200, c4)) else {
            panic!()
        };
        assert_eq!(
            d.data,
            Some(json!({"Type": "All", "Status": "pending", "PushTaskID": null}))
        );
        assert!(d.facts.is_empty());
        let sent = c4.replace(r#""PushTaskID": """#, r#""PushTaskID": "6a_1""#);
        let Class::Done(d) = classify(GET_SCHED, &ans(200, &sent)) else {
            panic!()
        };
        assert_eq!(d.facts[PUSH_TASK_ID], "6a_1");
        assert!(matches!(
            classify(
                GET_SCHED,
                &ans(200, r#"{"ActionStatus":"OK","ErrorCode":0}"#)
            ),
            Class::Failed { .. }
        ));
        assert!(matches!(
            classify(GET_SCHED, &ans(200, &fail(90104))),
            Class::Gone { .. }
        ));
        // The reference's C2 answers.
        assert!(matches!(
            classify(
                DELETE_SCHED,
                &ans(
                    200,
                    r#"{"ActionStatus": "OK","ErrorInfo": "","ErrorCode": 0,"TaskID": 1234567890}"#
                )
            ),
            Class::Done(_)
        ));
        assert!(matches!(
            classify(
                DELETE_SCHED,
                &ans(
                    200,
                    r#"{"ActionStatus": "FAIL","ErrorInfo": "delete failed: task dispatching","ErrorCode": 90107,"TaskID": 0}"#
                )
            ),
            Class::Failed {
                code: Some(90107),
                ..
            }
        ));
        assert!(matches!(
            classify(DELETE_SCHED, &ans(200, &fail(90104))),
            Class::Repeat { .. }
        ));
        // 90050 means "already revoked" only for revoke.
        assert!(matches!(
            classify(DELETE_SCHED, &ans(200, &fail(90050))),
            Class::Failed { .. }
        ));
    }
}
