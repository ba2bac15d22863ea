//! Provider answers: parsing the envelopes and classifying each answer as done, gone,
//! throttled, transient or failed. Pure functions of the HTTP status, headers and body.

use std::time::Duration;

use serde_json::Value;

/// What one HTTP exchange produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub rate: RateHeaders,
    pub body: Vec<u8>,
}

/// Rate-limit hints from response headers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateHeaders {
    /// `X-Rate-Limit-Limit` (the SDKs) or `X-Rate-Limit-Quota` (the docs): both are read.
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// Seconds until the window resets.
    pub reset: Option<u64>,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
}

impl RateHeaders {
    pub fn from_headers(get: impl Fn(&str) -> Option<String>) -> RateHeaders {
        let num = |name: &str| get(name).and_then(|v| v.trim().parse::<u64>().ok());
        RateHeaders {
            limit: num("x-rate-limit-limit").or_else(|| num("x-rate-limit-quota")),
            remaining: num("x-rate-limit-remaining"),
            reset: num("x-rate-limit-reset"),
            retry_after: num("retry-after"),
        }
    }

    /// How long the whole family should wait, if the headers say so.
    pub fn pause(&self) -> Option<Duration> {
        self.retry_after.or(self.reset).map(Duration::from_secs)
    }

    /// The window is used up (`X-Rate-Limit-Remaining: 0`).
    pub fn exhausted(&self) -> bool {
        self.remaining == Some(0)
    }
}

/// The kind of call, which decides how its answer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    JpushCid,
    JpushRecall,
    JpushPush,
    TpnsTask,
    TpnsRecord,
    TpnsPush,
}

/// What an answer means for the target.
#[derive(Debug, Clone, PartialEq)]
pub enum Class {
    Done(Done),
    /// The message no longer exists (JPush 1003 / "doesn't exist", TPNS 1008015).
    Gone {
        code: Option<i64>,
        message: String,
    },
    /// Over the rate limit: pause the whole family, then retry.
    Throttled {
        code: Option<i64>,
        pause: Option<Duration>,
    },
    /// Worth retrying (5xx, JPush 1000/1030, TPNS 1008004).
    Transient {
        code: Option<i64>,
        message: String,
    },
    /// Definitive error.
    Failed {
        code: Option<i64>,
        message: String,
    },
}

/// What a successful answer carried.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Done {
    /// The new message's id (override pushes).
    pub new_id: Option<String>,
    /// JPush cid pool.
    pub cids: Vec<String>,
    /// TPNS get_push_record: the task's collapse id and status (`PUSH_COLLAPSED`, …).
    pub collapse_id: Option<u32>,
    pub status: Option<String>,
}

impl Class {
    pub fn name(&self) -> &'static str {
        match self {
            Class::Done(_) => "done",
            Class::Gone { .. } => "gone",
            Class::Throttled { .. } => "throttled",
            Class::Transient { .. } => "transient",
            Class::Failed { .. } => "failed",
        }
    }

    pub fn code(&self) -> Option<i64> {
        match self {
            Class::Done(_) => None,
            Class::Gone { code, .. }
            | Class::Throttled { code, .. }
            | Class::Transient { code, .. }
            | Class::Failed { code, .. } => *code,
        }
    }

    pub fn message(&self) -> Option<&str> {
        match self {
            Class::Gone { message, .. }
            | Class::Transient { message, .. }
            | Class::Failed { message, .. } => Some(message),
            _ => None,
        }
    }
}

fn json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// A string-or-number field as text (ids come both ways).
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s.to_string()
    }
}

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
fn jpush_gone(call: Call, status: u16, code: i64, message: &str) -> bool {
    let m = message.to_lowercase();
    let not_exist = ["doesn't exist", "not exist", "does not exist", "不存在"]
        .iter()
        .any(|t| m.contains(t));
    match call {
        Call::JpushRecall => code == 1003 || (not_exist && matches!(status, 400 | 404)),
        Call::JpushPush => {
            let about_target = ["override", "覆盖", "msg_id", "msgid"]
                .iter()
                .any(|t| m.contains(t));
            code == 1003 && about_target && !m.contains("must be")
        }
        _ => false,
    }
}

/// Classify a JPush answer (reference/jpush.md §1, §3, §4).
pub fn classify_jpush(call: Call, a: &Answer) -> Class {
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
            _ if jpush_gone(call, a.status, code, &message) => Class::Gone {
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
    if !(200..300).contains(&a.status) {
        return Class::Failed {
            code: None,
            message: format!("HTTP {}: {}", a.status, snippet(&a.body)),
        };
    }
    let mut done = Done::default();
    match call {
        Call::JpushCid => {
            done.cids = v
                .as_ref()
                .and_then(|v| v.get("cidlist"))
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(text_of).collect())
                .unwrap_or_default();
            if done.cids.is_empty() {
                return Class::Failed {
                    code: None,
                    message: format!("no cidlist in the answer: {}", snippet(&a.body)),
                };
            }
        }
        Call::JpushPush => {
            done.new_id = v.as_ref().and_then(|v| v.get("msg_id")).and_then(text_of);
            if done.new_id.is_none() {
                return Class::Failed {
                    code: None,
                    message: format!("no msg_id in the answer: {}", snippet(&a.body)),
                };
            }
        }
        // Recall: any 2xx is success; the body may be empty (reference/jpush.md §2).
        _ => {}
    }
    Class::Done(done)
}

/// TPNS codes (reference/tpns.md §6).
pub const TPNS_AUTH_FAILURE: i64 = 1008003;
pub const TPNS_SERVICE_ERROR: i64 = 1008004;
pub const TPNS_PUSH_ID_NOT_EXIST: i64 = 1008015;
pub const TPNS_TOO_FAST: i64 = 1008028;
/// "Push repeat": a duplicate all/tag push (reference/tpns.md §6).
pub const TPNS_PUSH_REPEAT: i64 = 10010018;

/// Classify a TPNS answer. Both envelope spellings are read: `ret_code`/`err_msg` (push API)
/// and `retCode`/`errMsg` (statistics); stop/revoke/cancel are undocumented, so either.
pub fn classify_tpns(call: Call, a: &Answer) -> Class {
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
        Call::TpnsPush => {
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
        Call::TpnsRecord => {
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
            done.status = record
                .get("status")
                .and_then(Value::as_str)
                .map(String::from);
            done.collapse_id = record
                .get("collapseID")
                .and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok()))
                .and_then(|c| u32::try_from(c).ok())
                .filter(|c| *c != 0);
            if done.collapse_id.is_none() {
                return Class::Failed {
                    code: None,
                    message: "the task's record has no collapseID: it cannot be overridden".into(),
                };
            }
        }
        _ => {}
    }
    Class::Done(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ans(status: u16, body: &str) -> Answer {
        Answer {
            status,
            rate: RateHeaders::default(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn jpush_push_success_with_string_or_number_ids() {
        let c = classify_jpush(
            Call::JpushPush,
            &ans(200, r#"{"sendno":"18","msg_id":"1828256757"}"#),
        );
        assert_eq!(
            c,
            Class::Done(Done {
                new_id: Some("1828256757".into()),
                ..Done::default()
            })
        );
        let c = classify_jpush(
            Call::JpushPush,
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
        assert!(matches!(
            classify_jpush(Call::JpushRecall, &ans(200, "")),
            Class::Done(_)
        ));
        assert!(matches!(
            classify_jpush(Call::JpushRecall, &ans(204, "")),
            Class::Done(_)
        ));
        assert!(matches!(
            classify_jpush(Call::JpushRecall, &ans(200, r#"{"error":{"code":0}}"#)),
            Class::Done(_)
        ));
    }

    #[test]
    fn jpush_errors() {
        let gone = classify_jpush(
            Call::JpushPush,
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
        let gone = classify_jpush(
            Call::JpushRecall,
            &ans(
                400,
                r#"{"error":{"code":1011,"message":"msgid doesn't exist"}}"#,
            ),
        );
        assert!(matches!(gone, Class::Gone { .. }));
        let t = classify_jpush(
            Call::JpushPush,
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
            classify_jpush(
                Call::JpushPush,
                &ans(500, r#"{"error":{"code":1000,"message":"x"}}"#)
            ),
            Class::Transient { .. }
        ));
        assert!(matches!(
            classify_jpush(
                Call::JpushPush,
                &ans(503, r#"{"error":{"code":1030,"message":"x"}}"#)
            ),
            Class::Transient { .. }
        ));
        assert!(matches!(
            classify_jpush(Call::JpushRecall, &ans(502, "<html>bad gateway</html>")),
            Class::Transient { .. }
        ));
        let f = classify_jpush(
            Call::JpushPush,
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
        let f = classify_jpush(
            Call::JpushPush,
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
        let f = classify_jpush(
            Call::JpushPush,
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
        let auth = classify_jpush(
            Call::JpushRecall,
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
        let bad = classify_jpush(
            Call::JpushPush,
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
        let window = classify_jpush(
            Call::JpushPush,
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
    fn jpush_cid_pool() {
        let c = classify_jpush(
            Call::JpushCid,
            &ans(
                200,
                r#"{"cidlist":["8103a4c628a0b98974ec1949-711261d4-5f17-4d2f-a855-5e5a8909b26e"]}"#,
            ),
        );
        let Class::Done(d) = c else { panic!() };
        assert_eq!(d.cids.len(), 1);
    }

    #[test]
    fn rate_headers_accept_both_names() {
        let h = |n: &str| match n {
            "x-rate-limit-limit" => Some("600".to_string()),
            "x-rate-limit-remaining" => Some("0".to_string()),
            "x-rate-limit-reset" => Some("37".to_string()),
            _ => None,
        };
        let r = RateHeaders::from_headers(h);
        assert_eq!(
            (r.limit, r.remaining, r.reset),
            (Some(600), Some(0), Some(37))
        );
        assert!(r.exhausted());
        assert_eq!(r.pause(), Some(Duration::from_secs(37)));
        let r =
            RateHeaders::from_headers(|n| (n == "x-rate-limit-quota").then(|| "2400".to_string()));
        assert_eq!(r.limit, Some(2400));
    }

    #[test]
    fn tpns_classes() {
        let ok = classify_tpns(
            Call::TpnsPush,
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
        let loop_push = classify_tpns(
            Call::TpnsPush,
            &ans(200, r#"{"push_id":["1","2"],"ret_code":0}"#),
        );
        assert_eq!(
            loop_push,
            Class::Done(Done {
                new_id: Some("1,2".into()),
                ..Done::default()
            })
        );
        assert!(matches!(
            classify_tpns(
                Call::TpnsTask,
                &ans(200, r#"{"retCode":1008015,"errMsg":"push id not exist"}"#)
            ),
            Class::Gone { .. }
        ));
        assert!(matches!(
            classify_tpns(
                Call::TpnsTask,
                &ans(200, r#"{"ret_code":1008028,"err_msg":"request too fast"}"#)
            ),
            Class::Throttled { .. }
        ));
        assert!(matches!(
            classify_tpns(
                Call::TpnsTask,
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
                matches!(
                    classify_tpns(Call::TpnsTask, &ans(200, &body)),
                    Class::Failed { .. }
                ),
                "{code}"
            );
        }
        assert!(matches!(
            classify_tpns(Call::TpnsTask, &ans(200, r#"{"ret_code":0}"#)),
            Class::Done(_)
        ));
        // A throttle may also come as HTTP 429, or 1008028 with a non-200 status.
        assert!(matches!(
            classify_tpns(Call::TpnsPush, &ans(429, "")),
            Class::Throttled { .. }
        ));
        assert!(matches!(
            classify_tpns(Call::TpnsPush, &ans(403, r#"{"ret_code":1008028}"#)),
            Class::Throttled { .. }
        ));
        assert!(matches!(
            classify_tpns(Call::TpnsPush, &ans(502, "")),
            Class::Transient { .. }
        ));
    }

    #[test]
    fn tpns_push_record() {
        let body = r#"{"retCode":0,"errMsg":"NO_ERROR","pushRecordData":[{"date":"2019-07-25 20:06:28","pushId":133703,"status":"PUSH_FINISHED","pushType":"tag","collapseID":1234}]}"#;
        let Class::Done(d) = classify_tpns(Call::TpnsRecord, &ans(200, body)) else {
            panic!()
        };
        assert_eq!(d.collapse_id, Some(1234));
        let none = r#"{"retCode":0,"errMsg":"NO_ERROR","pushRecordData":[{"pushId":"133703"}]}"#;
        assert!(matches!(
            classify_tpns(Call::TpnsRecord, &ans(200, none)),
            Class::Failed { .. }
        ));
    }
}
