//! How JPush answers read (reference/jpush.md §1-4): its error envelope, which codes mean the
//! message is gone, which are worth a retry.

use serde_json::Value;

use super::requests::{CID, PUSH, RECALL, RECEIVED, SCHEDULE, SCHEDULE_LIST, STATUS};
use crate::provider::answer::{Answer, Class, Done, json, snippet, text_of};

/// JPush's error envelope: `{"error":{"code":…,"message":…}}`, possibly beside a `msg_id`, or an
/// array holding such an element (the Java SDK accepts both).
fn jpush_error(v: &Value) -> Option<(i64, String)> {
    let obj = match v {
        Value::Array(items) => items.iter().find(|i| i.get("error").is_some())?,
        other => other,
    };
    let e = obj.get("error")?;
    let code = e
        .get("code")
        .and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()))?;
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Some((code, message))
}

/// Whether a JPush error means the message no longer exists (reference/jpush.md §2, §3).
/// Recall: 1003, or a 400/404 saying the msgid does not exist. Override push: a 1003 about the
/// message to override (an unknown or over-a-day-old `override_msg_id`); other 1003s are bad
/// parameters, which are failures, not "gone".
fn jpush_gone(call: &str, status: u16, code: i64, message: &str) -> bool {
    let m = message.to_lowercase();
    let not_exist = ["doesn't exist", "not exist", "does not exist", "不存在"]
        .iter()
        .any(|t| m.contains(t));
    match call {
        RECALL => code == 1003 || (not_exist && matches!(status, 400 | 404)),
        PUSH => {
            let about_target = ["override", "覆盖", "msg_id", "msgid"]
                .iter()
                .any(|t| m.contains(t));
            code == 1003 && about_target && !m.contains("must be")
        }
        _ => false,
    }
}

/// Classify a JPush answer (reference/jpush.md §1, §3, §4) to a request made for `call`.
pub fn classify(call: &str, a: &Answer) -> Class {
    if matches!(call, SCHEDULE | SCHEDULE_LIST) {
        return classify_schedule(call, a);
    }
    let v = json(&a.body);
    let err = v
        .as_ref()
        .and_then(jpush_error)
        .filter(|(code, _)| *code != 0);
    let pause = a.rate.pause();
    if a.status == 429 || err.as_ref().is_some_and(|(c, _)| *c == 2002 || *c == 2001) {
        return Class::Throttled {
            code: err.map(|(c, _)| c).or(Some(2002)),
            pause,
        };
    }
    if let Some((code, message)) = err {
        return match code {
            // Authentication and permission errors are never "gone", whatever their text says.
            1004 | 1008 | 2003..=2008 => Class::Failed {
                code: Some(code),
                message,
            },
            1000 | 1030 => Class::Transient {
                code: Some(code),
                message,
            },
            // The Report API's "internal error" (reference/jpush.md §3, other families).
            10 if matches!(call, RECEIVED | STATUS) => Class::Transient {
                code: Some(code),
                message,
            },
            _ if jpush_gone(call, a.status, code, &message) => Class::Gone {
                code: Some(code),
                message: if call == PUSH {
                    format!(
                        "{message} (the original no longer exists or is past the 1-day window; nothing was sent)"
                    )
                } else {
                    message
                },
            },
            _ if a.status >= 500 => Class::Transient {
                code: Some(code),
                message,
            },
            _ => Class::Failed {
                code: Some(code),
                message,
            },
        };
    }
    if a.status >= 500 {
        return Class::Transient {
            code: None,
            message: format!("HTTP {}: {}", a.status, snippet(&a.body)),
        };
    }
    if !(200..300).contains(&a.status) {
        return Class::Failed {
            code: None,
            message: format!("HTTP {}: {}", a.status, snippet(&a.body)),
        };
    }
    let mut done = Done::default();
    match call {
        CID => {
            let cids: Vec<Value> = v
                .as_ref()
                .and_then(|v| v.get("cidlist"))
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(text_of).map(Value::String).collect())
                .unwrap_or_default();
            if cids.is_empty() {
                return Class::Failed {
                    code: None,
                    message: format!("no cidlist in the answer: {}", snippet(&a.body)),
                };
            }
            done.data = Some(Value::Array(cids));
        }
        PUSH => {
            done.new_id = v.as_ref().and_then(|v| v.get("msg_id")).and_then(text_of);
            if done.new_id.is_none() {
                return Class::Failed {
                    code: None,
                    message: format!("no msg_id in the answer: {}", snippet(&a.body)),
                };
            }
        }
        // Report answers: the list of per-message counts, the map of device statuses; the
        // verifier reads them.
        RECEIVED => match v {
            Some(list @ Value::Array(_)) => done.data = Some(list),
            _ => {
                return Class::Failed {
                    code: None,
                    message: format!(
                        "received/detail did not answer a list: {}",
                        snippet(&a.body)
                    ),
                };
            }
        },
        STATUS => match v {
            Some(map @ Value::Object(_)) => done.data = Some(map),
            _ => {
                return Class::Failed {
                    code: None,
                    message: format!(
                        "status/message did not answer an object: {}",
                        snippet(&a.body)
                    ),
                };
            }
        },
        // Recall: any 2xx is success; the body may be empty (reference/jpush.md §2).
        _ => {}
    }
    Class::Done(done)
}

/// The Schedule API's success code, sometimes inside the error envelope.
const SCHEDULE_OK: i64 = 8000;
/// "The schedule-task is invalid" (HTTP 400): its message says which of several things.
const SCHEDULE_INVALID: i64 = 8100;
/// "Request schedule operation doesn't exist" (HTTP 404), the error table's code; the DELETE
/// example of the same page shows 8404 instead. Either means the schedule is not there.
const SCHEDULE_NOT_FOUND: [i64; 2] = [8104, 8404];

/// Said of a delete answered 404 without a JPush error code (reference §0: the docs' example
/// answers `Content-Length: 0`): the schedule is gone only if the path is right, which the
/// session checks before the target is settled.
pub const BARE_404: &str = "HTTP 404 without a JPush error code";

/// Answers of the Schedule API (jpush-docs `rest_api_push_schedule.md`; reference §3, other
/// families): the push API's envelope with codes of its own: 8000 ok, 8100 invalid (400),
/// 8101 auth (401), 8104 not found (404), 8200 internal (500), 8203 timeout (503). A delete
/// answers 200 with an empty body.
fn classify_schedule(call: &str, a: &Answer) -> Class {
    let v = json(&a.body);
    let err = v
        .as_ref()
        .and_then(jpush_error)
        .filter(|(code, _)| *code != 0 && *code != SCHEDULE_OK);
    if a.status == 429 || err.as_ref().is_some_and(|(c, _)| *c == 2002 || *c == 2001) {
        return Class::Throttled {
            code: err.map(|(c, _)| c).or(Some(2002)),
            pause: a.rate.pause(),
        };
    }
    if let Some((code, message)) = err {
        let m = message.to_lowercase();
        return match code {
            // Authentication and permission: never "gone", whatever the text says.
            8101 | 1004 | 1008 | 2003..=2008 => Class::Failed {
                code: Some(code),
                message,
            },
            8200 | 8203 | 1000 | 1030 => Class::Transient {
                code: Some(code),
                message,
            },
            c if call == SCHEDULE && SCHEDULE_NOT_FOUND.contains(&c) => Class::Gone {
                code: Some(code),
                message,
            },
            // 8100's documented texts include "has been at term" / "expired" (the schedule
            // fired for the last time: what it was to push went out, so the cancel corrected
            // nothing) and "schedule request is not exist" (gone). The table gives them as one
            // list; a message carrying both is read the cautious way: fired, not gone.
            SCHEDULE_INVALID
                if call == SCHEDULE && (m.contains("expired") || m.contains("at term")) =>
            {
                Class::Failed {
                    code: Some(code),
                    message: format!(
                        "{message} (the schedule already ran its course: its pushes went out, nothing is left to delete)"
                    ),
                }
            }
            SCHEDULE_INVALID if call == SCHEDULE && m.contains("not exist") => Class::Gone {
                code: Some(code),
                message,
            },
            _ if a.status >= 500 => Class::Transient {
                code: Some(code),
                message,
            },
            _ => Class::Failed {
                code: Some(code),
                message,
            },
        };
    }
    if a.status >= 500 {
        return Class::Transient {
            code: None,
            message: format!("HTTP {}: {}", a.status, snippet(&a.body)),
        };
    }
    if call == SCHEDULE && a.status == 404 {
        let body = snippet(&a.body);
        return Class::Gone {
            code: None,
            message: if body.is_empty() {
                BARE_404.to_string()
            } else {
                format!("{BARE_404}: {body}")
            },
        };
    }
    if !(200..300).contains(&a.status) {
        return Class::Failed {
            code: None,
            message: format!("HTTP {}: {}", a.status, snippet(&a.body)),
        };
    }
    if call == SCHEDULE_LIST {
        // `{"total_count", "total_pages", "page", "schedules": [...]}`.
        return match v {
            Some(page) if page.get("schedules").is_some_and(Value::is_array) => Class::Done(Done {
                data: Some(page),
                ..Done::default()
            }),
            _ => Class::Failed {
                code: None,
                message: format!(
                    "the schedule list did not answer {{\"schedules\": [...]}}: {}",
                    snippet(&a.body)
                ),
            },
        };
    }
    // Delete: 200 with `Content-Length: 0`; any 2xx is success, whatever its body.
    Class::Done(Done::default())
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

    #[test]
    fn jpush_push_success_with_string_or_number_ids() {
        let c = classify(PUSH, &ans(200, r#"{"sendno":"18","msg_id":"1828256757"}"#));
        assert_eq!(
            c,
            Class::Done(Done {
                new_id: Some("1828256757".into()),
                ..Done::default()
            })
        );
        let c = classify(
            PUSH,
            &ans(200, r#"{"sendno":"0","msg_id":67554224848096790}"#),
        );
        assert_eq!(
            c,
            Class::Done(Done {
                new_id: Some("67554224848096790".into()),
                ..Done::default()
            })
        );
    }

    #[test]
    fn jpush_recall_success_bodies() {
        assert!(matches!(classify(RECALL, &ans(200, "")), Class::Done(_)));
        assert!(matches!(classify(RECALL, &ans(204, "")), Class::Done(_)));
        assert!(matches!(
            classify(RECALL, &ans(200, r#"{"error":{"code":0}}"#)),
            Class::Done(_)
        ));
    }

    #[test]
    fn jpush_errors() {
        let gone = classify(
            PUSH,
            &ans(
                400,
                r#"{"error":{"code":1003,"message":"override_msg_id not found"}}"#,
            ),
        );
        assert!(matches!(
            gone,
            Class::Gone {
                code: Some(1003),
                ..
            }
        ));
        let gone = classify(
            RECALL,
            &ans(
                400,
                r#"{"error":{"code":1011,"message":"msgid doesn't exist"}}"#,
            ),
        );
        assert!(matches!(gone, Class::Gone { .. }));
        let t = classify(
            PUSH,
            &ans(
                429,
                r#"{"error":{"code":2002,"message":"Rate limit exceeded"}}"#,
            ),
        );
        assert!(matches!(
            t,
            Class::Throttled {
                code: Some(2002),
                ..
            }
        ));
        assert!(matches!(
            classify(PUSH, &ans(500, r#"{"error":{"code":1000,"message":"x"}}"#)),
            Class::Transient { .. }
        ));
        assert!(matches!(
            classify(PUSH, &ans(503, r#"{"error":{"code":1030,"message":"x"}}"#)),
            Class::Transient { .. }
        ));
        assert!(matches!(
            classify(RECALL, &ans(502, "<html>bad gateway</html>")),
            Class::Transient { .. }
        ));
        let f = classify(
            PUSH,
            &ans(401, r#"{"error":{"code":1004,"message":"Authen failed"}}"#),
        );
        assert_eq!(
            f,
            Class::Failed {
                code: Some(1004),
                message: "Authen failed".into()
            }
        );
        // The error body's msg_id is a number and may sit beside the error; arrays too.
        let f = classify(
            PUSH,
            &ans(
                400,
                r#"{"msg_id": 2081584083, "error": {"message": "cannot find user by this audience", "code": 1011}}"#,
            ),
        );
        assert!(matches!(
            f,
            Class::Failed {
                code: Some(1011),
                ..
            }
        ));
        let f = classify(
            PUSH,
            &ans(400, r#"[{"error":{"code":1009,"message":"unknown key"}}]"#),
        );
        assert!(matches!(
            f,
            Class::Failed {
                code: Some(1009),
                ..
            }
        ));
    }

    #[test]
    fn not_gone_unless_it_is_about_the_message() {
        // An auth error that happens to say "does not exist", and a bad parameter: failures.
        let auth = classify(
            RECALL,
            &ans(
                401,
                r#"{"error":{"code":1004,"message":"app_key does not exist"}}"#,
            ),
        );
        assert!(matches!(
            auth,
            Class::Failed {
                code: Some(1004),
                ..
            }
        ));
        let bad = classify(
            PUSH,
            &ans(
                400,
                r#"{"error":{"code":1003,"message":"audience value must be JSON Array format!"}}"#,
            ),
        );
        assert!(matches!(
            bad,
            Class::Failed {
                code: Some(1003),
                ..
            }
        ));
        let window = classify(
            PUSH,
            &ans(
                400,
                r#"{"error":{"code":1003,"message":"override_msg_id is not a valid message to override within 1 day"}}"#,
            ),
        );
        assert!(matches!(
            window,
            Class::Gone {
                code: Some(1003),
                ..
            }
        ));
    }

    #[test]
    fn jpush_report_answers() {
        let body = r#"[{"msg_id":"1","jpush_received":3,"android_pns_received":null}]"#;
        let Class::Done(d) = classify(RECEIVED, &ans(200, body)) else {
            panic!()
        };
        assert_eq!(d.data.unwrap()[0]["jpush_received"], 3);
        assert!(matches!(
            classify(RECEIVED, &ans(200, r#"{"x":1}"#)),
            Class::Failed { .. }
        ));
        let Class::Done(d) = classify(STATUS, &ans(200, r#"{"r1":{"status":0}}"#)) else {
            panic!()
        };
        assert_eq!(d.data.unwrap()["r1"]["status"], 0);
        assert!(matches!(
            classify(
                STATUS,
                &ans(
                    400,
                    r#"{"error":{"code":3002,"message":"Invalid parameter `msg_id`."}}"#
                )
            ),
            Class::Failed {
                code: Some(3002),
                ..
            }
        ));
        assert!(matches!(
            classify(
                RECEIVED,
                &ans(
                    401,
                    r#"{"error":{"code":3001,"message":"Basic authentication failed"}}"#
                )
            ),
            Class::Failed {
                code: Some(3001),
                ..
            }
        ));
        assert!(matches!(
            classify(
                RECEIVED,
                &ans(500, r#"{"error":{"code":10,"message":"internal error"}}"#)
            ),
            Class::Transient { .. }
        ));
        assert!(matches!(
            classify(
                RECEIVED,
                &ans(429, r#"{"error":{"code":2002,"message":"x"}}"#)
            ),
            Class::Throttled { .. }
        ));
    }

    #[test]
    fn jpush_cid_pool() {
        let c = classify(
            CID,
            &ans(
                200,
                r#"{"cidlist":["8103a4c628a0b98974ec1949-711261d4-5f17-4d2f-a855-5e5a8909b26e"]}"#,
            ),
        );
        let Class::Done(d) = c else { panic!() };
        assert_eq!(d.data.unwrap().as_array().unwrap().len(), 1);
    }
}
