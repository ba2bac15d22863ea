//! How TPNS answers read (reference/tpns.md §6): both envelope spellings, the codes that mean
//! gone, throttled or retry, and what a push record says.

use serde_json::Value;

use super::COLLAPSE_ID;
use super::requests::{PUSH, RECORD, STATUS};
use crate::provider::answer::{Answer, Class, Done, json, snippet, text_of};

/// TPNS codes (reference/tpns.md §6).
pub const TPNS_AUTH_FAILURE: i64 = 1008003;
pub const TPNS_SERVICE_ERROR: i64 = 1008004;
pub const TPNS_PUSH_ID_NOT_EXIST: i64 = 1008015;
pub const TPNS_TOO_FAST: i64 = 1008028;
/// "Push repeat": a duplicate all/tag push (reference/tpns.md §6).
pub const TPNS_PUSH_REPEAT: i64 = 10010018;

/// Classify a TPNS answer. Both envelope spellings are read: `ret_code`/`err_msg` (push API)
/// and `retCode`/`errMsg` (statistics); stop/revoke/cancel are undocumented, so either.
pub fn classify(call: &str, a: &Answer) -> Class {
    let v = json(&a.body);
    let code = v.as_ref().and_then(|v| {
        v.get("ret_code")
            .or_else(|| v.get("retCode"))
            .and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()))
    });
    let message = v
        .as_ref()
        .and_then(|v| v.get("err_msg").or_else(|| v.get("errMsg")))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let pause = a.rate.pause();
    match code {
        Some(TPNS_TOO_FAST) => return Class::Throttled { code, pause },
        Some(TPNS_PUSH_REPEAT) => return Class::Repeat { code, message },
        Some(TPNS_PUSH_ID_NOT_EXIST) => return Class::Gone { code, message },
        Some(TPNS_SERVICE_ERROR) => return Class::Transient { code, message },
        Some(0) if (200..300).contains(&a.status) => {}
        Some(c) if a.status >= 500 => {
            return Class::Transient {
                code: Some(c),
                message,
            };
        }
        Some(c) if c != 0 => {
            return Class::Failed {
                code: Some(c),
                message,
            };
        }
        _ => {}
    }
    if a.status == 429 {
        return Class::Throttled { code, pause };
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
    if code.is_none() {
        return Class::Failed {
            code: None,
            message: format!("no ret_code in the answer: {}", snippet(&a.body)),
        };
    }
    let mut done = Done::default();
    match call {
        PUSH => {
            // `push_id` is a string, or an array of strings for loop pushes.
            done.new_id = v
                .as_ref()
                .and_then(|v| v.get("push_id"))
                .and_then(|p| match p {
                    Value::Array(items) => Some(
                        items
                            .iter()
                            .filter_map(text_of)
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                    other => text_of(other),
                });
        }
        RECORD => {
            let record = v
                .as_ref()
                .and_then(|v| v.get("pushRecordData"))
                .and_then(|d| d.get(0));
            let Some(record) = record else {
                return Class::Gone {
                    code: None,
                    message: "get_push_record returned no record".into(),
                };
            };
            if let Some(s) = record.get("status").and_then(Value::as_str) {
                done.data = Some(serde_json::json!({ "status": s }));
            }
            let collapse_id = record
                .get("collapseID")
                .and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok()))
                .and_then(|c| u32::try_from(c).ok())
                .filter(|c| *c != 0);
            let Some(collapse_id) = collapse_id else {
                return Class::Failed {
                    code: None,
                    message: "the task's record has no collapseID: it cannot be overridden".into(),
                };
            };
            done.facts
                .insert(COLLAPSE_ID.into(), Value::from(collapse_id));
        }
        STATUS => {
            let Some(record) = v
                .as_ref()
                .and_then(|v| v.get("pushRecordData"))
                .and_then(|d| d.get(0))
            else {
                return Class::Gone {
                    code: None,
                    message: "get_push_record returned no record".into(),
                };
            };
            let mut data = serde_json::Map::new();
            for k in ["status", "pushType", "date"] {
                if let Some(x) = record.get(k) {
                    data.insert(k.into(), x.clone());
                }
            }
            done.data = Some(Value::Object(data));
        }
        _ => {}
    }
    Class::Done(done)
}

#[cfg(test)]
mod tests {
    use super::super::requests::TASK;
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
    fn tpns_classes() {
        let ok = classify(
            PUSH,
            &ans(
                200,
                r#"{"seq":0,"push_id":"3895624686","ret_code":0,"environment":"product","err_msg":"","result":"[0]"}"#,
            ),
        );
        assert_eq!(
            ok,
            Class::Done(Done {
                new_id: Some("3895624686".into()),
                ..Done::default()
            })
        );
        let loop_push = classify(PUSH, &ans(200, r#"{"push_id":["1","2"],"ret_code":0}"#));
        assert_eq!(
            loop_push,
            Class::Done(Done {
                new_id: Some("1,2".into()),
                ..Done::default()
            })
        );
        assert!(matches!(
            classify(
                TASK,
                &ans(200, r#"{"retCode":1008015,"errMsg":"push id not exist"}"#)
            ),
            Class::Gone { .. }
        ));
        assert!(matches!(
            classify(
                TASK,
                &ans(200, r#"{"ret_code":1008028,"err_msg":"request too fast"}"#)
            ),
            Class::Throttled { .. }
        ));
        assert!(matches!(
            classify(
                TASK,
                &ans(
                    200,
                    r#"{"ret_code":1008004,"err_msg":"invoke service error"}"#
                )
            ),
            Class::Transient { .. }
        ));
        for code in [1008003, 1008035, 1008007] {
            let body = format!(r#"{{"ret_code":{code},"err_msg":"x"}}"#);
            assert!(
                matches!(classify(TASK, &ans(200, &body)), Class::Failed { .. }),
                "{code}"
            );
        }
        assert!(matches!(
            classify(TASK, &ans(200, r#"{"ret_code":0}"#)),
            Class::Done(_)
        ));
        // A throttle may also come as HTTP 429, or 1008028 with a non-200 status.
        assert!(matches!(
            classify(PUSH, &ans(429, "")),
            Class::Throttled { .. }
        ));
        assert!(matches!(
            classify(PUSH, &ans(403, r#"{"ret_code":1008028}"#)),
            Class::Throttled { .. }
        ));
        assert!(matches!(
            classify(PUSH, &ans(502, "")),
            Class::Transient { .. }
        ));
    }

    #[test]
    fn tpns_push_status() {
        let body = r#"{"retCode":0,"errMsg":"NO_ERROR","pushRecordData":[{"pushId":"7","status":"PUSH_REVOKED","pushType":"tag"}]}"#;
        let Class::Done(d) = classify(STATUS, &ans(200, body)) else {
            panic!()
        };
        assert_eq!(d.data.unwrap()["status"], "PUSH_REVOKED");
        assert!(matches!(
            classify(STATUS, &ans(200, r#"{"retCode":0,"pushRecordData":[]}"#)),
            Class::Gone { .. }
        ));
        assert!(matches!(
            classify(
                STATUS,
                &ans(200, r#"{"retCode":1008028,"errMsg":"request too fast"}"#)
            ),
            Class::Throttled { .. }
        ));
    }

    #[test]
    fn tpns_push_record() {
        let body = r#"{"retCode":0,"errMsg":"NO_ERROR","pushRecordData":[{"date":"2019-07-25 20:06:28","pushId":133703,"status":"PUSH_FINISHED","pushType":"tag","collapseID":1234}]}"#;
        let Class::Done(d) = classify(RECORD, &ans(200, body)) else {
            panic!()
        };
        assert_eq!(d.facts["collapse_id"], 1234);
        let none = r#"{"retCode":0,"errMsg":"NO_ERROR","pushRecordData":[{"pushId":"133703"}]}"#;
        assert!(matches!(
            classify(RECORD, &ans(200, none)),
            Class::Failed { .. }
        ));
    }
}
