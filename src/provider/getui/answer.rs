//! How GeTui answers read (reference §1, §5): the `{code, msg, data}` envelope (`code 0` is
//! success; the HTTP status mirrors the class of the code), and which codes are gone,
//! throttled or worth a retry.

use std::time::Duration;

use serde_json::{Value, json};

use super::requests::{AUTH, BY_TASK, GROUP, LIST_MESSAGE, REVOKE, SCHEDULE};
use crate::provider::answer::{Answer, Class, Done, json, snippet, text_of};

/// Token wrong or expired: the session re-auths and sends the call once more.
pub const GETUI_TOKEN_EXPIRED: i64 = 10001;
/// The scheduled task already fired (cannot be deleted): the session stops it instead.
pub const GETUI_SCHEDULE_EXECUTED: i64 = 22001;
/// Group pushes over the per-minute limit ("每分钟最多操作5次").
pub const GETUI_GROUP_PER_MINUTE: i64 = 30014;
/// Daily quotas: app/all (30007), list (30008), all pushes (30009), app/tag (30010). Nothing
/// more of that kind goes out today.
pub const GETUI_DAILY_QUOTA_CODES: [i64; 4] = [30007, 30008, 30009, 30010];

/// The wait GeTui's per-minute limits ask for ("back off ≥ 60 s", reference §5).
const MINUTE: Duration = Duration::from_secs(60);

fn meaning(code: i64) -> &'static str {
    match code {
        1 => "GeTui could not read the request (not JSON)",
        2 => "the GeTui service is starting",
        301 => "this app lives in another GeTui data centre",
        10001 => "the token is wrong or expired",
        10002 => "the appId or this IP is blacklisted",
        10003 => "over the per-minute auth limit",
        10004 => "no permission for this call",
        10005 => "over the per-minute call limit",
        20001 => "invalid parameter",
        22001 => "the scheduled task has already been executed",
        22002 => "no such scheduled task, or its time is invalid",
        23001 => "tag operation failed",
        30002 => "no permission for scheduled pushes",
        30003 | 30016 => "no permission for this app or tag, or too many tags",
        30007 => "today's app/all quota is spent (100 a day)",
        30008 => "today's list-push quota is spent",
        30009 => "today's push total is spent",
        30010 => "today's app/tag quota is spent (shared with app/all)",
        30014 => "over the per-minute group-push limit (5 a minute)",
        30015 => "over the per-minute list-push limit",
        30019 => "GeTui is busy",
        _ => "GeTui refused the request",
    }
}

/// `msg` with what the code means, for messages.
fn described(code: i64, msg: &str) -> String {
    let m = meaning(code);
    if msg.is_empty() || msg.eq_ignore_ascii_case(m) {
        format!("{m} ({code})")
    } else {
        format!("{m} ({code}): {msg}")
    }
}

pub fn classify(call: &str, a: &Answer) -> Class {
    let v = json(&a.body);
    let code = v.as_ref().and_then(|v| {
        v.get("code")
            .and_then(|c| c.as_i64().or_else(|| c.as_str()?.trim().parse().ok()))
    });
    let msg = v
        .as_ref()
        .and_then(|v| v.get("msg"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(code) = code else {
        // No envelope: a gateway's or a wrong URL's answer (the SDK throws on 404 and ≥ 500).
        return match a.status {
            429 => Class::Throttled {
                code: None,
                pause: a.rate.pause().or(Some(MINUTE)),
            },
            s if s >= 500 => Class::Transient {
                code: None,
                message: format!("HTTP {s}: {}", snippet(&a.body)),
            },
            404 => Class::Failed {
                code: None,
                message: format!(
                    "HTTP 404: no such GeTui path (is provider.app_id right?): {}",
                    snippet(&a.body)
                ),
            },
            s => Class::Failed {
                code: None,
                message: format!("HTTP {s}, no GeTui envelope: {}", snippet(&a.body)),
            },
        };
    };
    let pause = a.rate.pause().or(Some(MINUTE));
    match code {
        0 if a.status < 300 => {}
        0 => {
            return Class::Failed {
                code: Some(0),
                message: format!("HTTP {} with code 0: {}", a.status, snippet(&a.body)),
            };
        }
        10003 | 10005 | 30014 | 30015 => {
            return Class::Throttled {
                code: Some(code),
                pause,
            };
        }
        2 | 30019 => {
            return Class::Transient {
                code: Some(code),
                message: described(code, &msg),
            };
        }
        // The task is not there to delete: deleted already (perhaps by an attempt whose
        // answer was lost), or never scheduled.
        22002 if call == SCHEDULE => {
            return Class::Gone {
                code: Some(code),
                message: described(code, &msg),
            };
        }
        301 => {
            return Class::Failed {
                code: Some(code),
                message: format!(
                    "{}; set provider.endpoint to one of: {}",
                    described(code, &msg),
                    hosts(v.as_ref()).unwrap_or_else(|| "(GeTui named no host)".into())
                ),
            };
        }
        _ if a.status >= 500 => {
            return Class::Transient {
                code: Some(code),
                message: described(code, &msg),
            };
        }
        10001 => {
            // Never GeTui's text: a token echoed in it would reach the journal.
            return Class::Failed {
                code: Some(code),
                message: format!("{} ({code})", meaning(code)),
            };
        }
        _ => {
            return Class::Failed {
                code: Some(code),
                message: described(code, &msg),
            };
        }
    }
    let data = v.as_ref().and_then(|v| v.get("data"));
    let mut done = Done::default();
    match call {
        AUTH => {
            // The lifetime only: the token itself stays with the auth (never journaled).
            let expire = data
                .and_then(|d| d.get("expire_time"))
                .and_then(|e| e.as_i64().or_else(|| e.as_str()?.trim().parse().ok()));
            let has_token = data
                .and_then(|d| d.get("token"))
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty());
            if !has_token {
                return Class::Failed {
                    code: Some(0),
                    message: "the auth answer carries no token".into(),
                };
            }
            done.data = Some(json!({ "expire_time": expire }));
        }
        GROUP => done.new_id = data.and_then(|d| d.get("taskid")).and_then(text_of),
        LIST_MESSAGE => {
            let Some(t) = data.and_then(|d| d.get("taskid")).and_then(text_of) else {
                return Class::Failed {
                    code: Some(0),
                    message: "push/list/message answered no taskid".into(),
                };
            };
            done.data = Some(json!({ "taskid": t }));
        }
        // `{"$taskid": {"$cid": "successed_online"}}`.
        BY_TASK => {
            done.new_id = data
                .and_then(Value::as_object)
                .and_then(|m| m.keys().next().cloned());
        }
        // The revoke is a push of its own; its taskid is worth keeping, but it is no new
        // message.
        REVOKE => {
            if let Some(t) = data.and_then(|d| d.get("taskid")).and_then(text_of) {
                done.facts.insert("revoke_taskid".into(), Value::String(t));
            }
        }
        _ => {}
    }
    Class::Done(done)
}

/// `data.host_list[0].domain_list` of a 301 (reference §1).
fn hosts(v: Option<&Value>) -> Option<String> {
    let list = v?
        .get("data")?
        .get("host_list")?
        .get(0)?
        .get("domain_list")?
        .as_array()?;
    let hosts: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    (!hosts.is_empty()).then(|| hosts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::super::requests::STOP;
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
    fn done_answers_and_what_they_carry() {
        assert_eq!(
            classify(STOP, &ans(200, r#"{"code":0,"msg":"success"}"#)),
            Class::Done(Done::default())
        );
        let Class::Done(d) = classify(
            AUTH,
            &ans(
                200,
                r#"{"code":0,"msg":"","data":{"expire_time":"1700086400000","token":"secret-token"}}"#,
            ),
        ) else {
            panic!()
        };
        assert_eq!(d.data, Some(json!({"expire_time": 1700086400000i64})));
        assert!(!format!("{d:?}").contains("secret-token"));
        assert!(matches!(
            classify(AUTH, &ans(200, r#"{"code":0,"msg":"","data":{}}"#)),
            Class::Failed { .. }
        ));
        let Class::Done(d) = classify(
            GROUP,
            &ans(
                200,
                r#"{"code":0,"msg":"","data":{"taskid":"RASA_1121_0123"}}"#,
            ),
        ) else {
            panic!()
        };
        assert_eq!(d.new_id.as_deref(), Some("RASA_1121_0123"));
        let Class::Done(d) = classify(
            BY_TASK,
            &ans(
                200,
                r#"{"code":0,"msg":"","data":{"RASS_1121_ab":{"cid1":"successed_online"}}}"#,
            ),
        ) else {
            panic!()
        };
        assert_eq!(d.new_id.as_deref(), Some("RASS_1121_ab"));
        let Class::Done(d) = classify(
            LIST_MESSAGE,
            &ans(
                200,
                r#"{"code":0,"msg":"","data":{"taskid":"RASL_1121_cd"}}"#,
            ),
        ) else {
            panic!()
        };
        assert_eq!(d.data, Some(json!({"taskid": "RASL_1121_cd"})));
        let Class::Done(d) = classify(
            REVOKE,
            &ans(
                200,
                r#"{"code":0,"msg":"","data":{"taskid":"RASA_1121_ef"}}"#,
            ),
        ) else {
            panic!()
        };
        assert_eq!(d.new_id, None, "a revoke is not a new message");
        assert_eq!(d.facts["revoke_taskid"], "RASA_1121_ef");
    }

    #[test]
    fn every_class() {
        // Gone: the scheduled task is not there to delete.
        assert!(matches!(
            classify(
                SCHEDULE,
                &ans(
                    400,
                    r#"{"code":22002,"msg":"任务无效或定时任务时间不合法"}"#
                )
            ),
            Class::Gone {
                code: Some(22002),
                ..
            }
        ));
        // Throttled, a minute unless the headers say otherwise.
        for code in [10003, 10005, 30014, 30015] {
            let body = format!(r#"{{"code":{code},"msg":"limit"}}"#);
            assert_eq!(
                classify(GROUP, &ans(403, &body)),
                Class::Throttled {
                    code: Some(code),
                    pause: Some(MINUTE)
                },
                "{code}"
            );
        }
        let mut a = ans(429, "");
        a.rate.retry_after = Some(7);
        assert_eq!(
            classify(GROUP, &a),
            Class::Throttled {
                code: None,
                pause: Some(Duration::from_secs(7))
            }
        );
        // Transient.
        for (status, body) in [
            (200, r#"{"code":2,"msg":"service starting"}"#),
            (403, r#"{"code":30019,"msg":"system busy"}"#),
            (503, r#"{"code":30019,"msg":"system busy"}"#),
            (502, "<html>bad gateway</html>"),
        ] {
            assert!(
                matches!(classify(STOP, &ans(status, body)), Class::Transient { .. }),
                "{body}"
            );
        }
        // Failed.
        for (status, body) in [
            (401, r#"{"code":10001,"msg":"token is invalid"}"#),
            (401, r#"{"code":10002,"msg":"blacklisted"}"#),
            (400, r#"{"code":20001,"msg":"taskid is invalid"}"#),
            (400, r#"{"code":22001,"msg":"定时任务已经执行，无法删除"}"#),
            (403, r#"{"code":30007,"msg":"每日最多推送100次"}"#),
            (403, r#"{"code":30010,"msg":"tag daily limit"}"#),
            (200, r#"{"code":1,"msg":"failure"}"#),
            (404, "not found"),
            (200, r#"{"msg":"no code"}"#),
        ] {
            assert!(
                matches!(classify(STOP, &ans(status, body)), Class::Failed { .. }),
                "{body}"
            );
        }
        // 22002 outside a schedule delete is a plain failure.
        assert!(matches!(
            classify(STOP, &ans(400, r#"{"code":22002,"msg":"x"}"#)),
            Class::Failed { .. }
        ));
        // Repeat: GeTui documents no refused-duplicate code (a repeated request_id is dropped,
        // not refused), so no answer reads as one.
    }

    #[test]
    fn a_token_in_a_10001_message_is_not_repeated() {
        let c = classify(
            STOP,
            &ans(401, r#"{"code":10001,"msg":"token abc123secret expired"}"#),
        );
        assert_eq!(c.code(), Some(10001));
        assert!(!c.message().unwrap().contains("abc123secret"));
    }

    #[test]
    fn wrong_data_centre_names_the_hosts() {
        let c = classify(
            STOP,
            &ans(
                200,
                r#"{"code":301,"msg":"domain not match","data":{"host_list":[{"domain_list":["https://cncrestapi.getui.com/v2/"]}]}}"#,
            ),
        );
        assert!(
            c.message()
                .unwrap()
                .contains("https://cncrestapi.getui.com/v2/"),
            "{c:?}"
        );
    }
}
