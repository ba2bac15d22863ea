//! JPush REST API v3 (reference/jpush.md): the recall, cid pool and override requests, and the
//! Schedule API's delete and list.

use serde_json::{Map, Value, json};

use super::{PUSH_FAMILY, REPORT_FAMILY, SCHEDULE_FAMILY};
use crate::domain::Platform;
use crate::provider::RequestSpec;
use crate::target::RenderedMessage;

/// What each request is for (`RequestSpec::call`), which decides how its answer reads.
pub const RECALL: &str = "recall";
pub const CID: &str = "cid";
pub const PUSH: &str = "push";
pub const RECEIVED: &str = "received";
pub const STATUS: &str = "status";
/// `DELETE /v3/schedules/{schedule_id}`.
pub const SCHEDULE: &str = "schedule";
/// `GET /v3/schedules?page=`: asked only to tell an unknown schedule from a wrong path.
pub const SCHEDULE_LIST: &str = "schedule_list";

/// Where the Schedule API lives on the default host (api.jpush.cn), and on the Beijing data
/// centre's (bjapi.push.jiguang.cn), whose paths differ (jpush-docs rest_api_push_schedule.md).
pub const SCHEDULES_PATH: &str = "/v3/schedules";
pub const BEIJING_SCHEDULES_PATH: &str = "/v3/push/schedules";

/// `GET /v3/received/detail` takes at most this many msg_ids (reference/jpush.md §5).
pub const MAX_RECEIVED_IDS: usize = 100;
/// `POST /v3/status/message` takes at most this many registration ids.
pub const MAX_STATUS_IDS: usize = 1000;

/// `DELETE /v3/push/{msg_id}`: no body.
pub fn recall(msg_id: u64) -> RequestSpec {
    RequestSpec {
        family: PUSH_FAMILY,
        method: "DELETE",
        path: format!("/v3/push/{msg_id}"),
        body: None,
        call: RECALL,
    }
}

/// `DELETE {schedules}/{schedule_id}`: no body; the schedule is deleted before it fires
/// (`schedules` is [`SCHEDULES_PATH`] or the Beijing data centre's).
pub fn delete_schedule(schedules: &str, schedule_id: &str) -> RequestSpec {
    RequestSpec {
        family: SCHEDULE_FAMILY,
        method: "DELETE",
        path: format!("{schedules}/{schedule_id}"),
        body: None,
        call: SCHEDULE,
    }
}

/// `GET {schedules}?page=1`: the first page of the app's active schedules.
pub fn schedule_list(schedules: &str) -> RequestSpec {
    RequestSpec {
        family: SCHEDULE_FAMILY,
        method: "GET",
        path: format!("{schedules}?page=1"),
        body: None,
        call: SCHEDULE_LIST,
    }
}

/// `GET /v3/push/cid?count=n&type=push`: idempotency keys for pushes (at most 1000 per call).
pub fn cid_pool(count: usize) -> RequestSpec {
    let count = count.clamp(1, 1000);
    RequestSpec {
        family: PUSH_FAMILY,
        method: "GET",
        path: format!("/v3/push/cid?count={count}&type=push"),
        body: None,
        call: CID,
    }
}

/// `GET /v3/received/detail?msg_ids=…` on the report host: delivery counts per channel of up to
/// 100 messages (the last 28 days).
pub fn received_detail(msg_ids: &[u64]) -> RequestSpec {
    let ids: Vec<String> = msg_ids
        .iter()
        .take(MAX_RECEIVED_IDS)
        .map(u64::to_string)
        .collect();
    RequestSpec {
        family: REPORT_FAMILY,
        method: "GET",
        path: format!("/v3/received/detail?msg_ids={}", ids.join(",")),
        body: None,
        call: RECEIVED,
    }
}

/// `POST /v3/status/message` on the report host: the delivery status of one message on up to
/// 1000 devices. `msg_id` goes as a JSON integer (a string is refused with 3002, reference §5);
/// `date` (`yyyy-mm-dd`) is the day the message was sent, when known.
pub fn status_message(msg_id: u64, registration_ids: &[String], date: Option<&str>) -> RequestSpec {
    let ids: Vec<&String> = registration_ids.iter().take(MAX_STATUS_IDS).collect();
    let mut body = json!({ "msg_id": msg_id, "registration_ids": ids });
    if let Some(d) = date {
        body["date"] = Value::String(d.to_string());
    }
    RequestSpec {
        family: REPORT_FAMILY,
        method: "POST",
        path: "/v3/status/message".into(),
        body: Some(body),
        call: STATUS,
    }
}

/// What an override push needs from the original.
pub struct OverrideInput<'a> {
    pub msg_id: u64,
    pub platforms: &'a [Platform],
    pub audience: &'a Value,
    pub message: &'a RenderedMessage,
    pub apns_production: bool,
    /// `options.classification` of the original (0 marketing, 1 system), if the ledger says.
    pub classification: Option<u64>,
    /// `options.third_party_channel` of the original, if the ledger says.
    pub third_party_channel: Option<&'a Value>,
}

/// `POST /v3/push` with `options.override_msg_id` (an exact JSON integer), the APNs collapse id
/// for iOS, `apns_production` always explicit, and the `cid` taken before the first attempt.
pub fn override_push(input: &OverrideInput<'_>, cid: Value) -> RequestSpec {
    let m = input.message;
    let mut notification = Map::new();
    for p in input.platforms {
        let mut n = Map::new();
        n.insert("alert".into(), Value::String(m.body.clone()));
        match p {
            Platform::Android | Platform::Hmos | Platform::Quickapp => {
                if let Some(t) = &m.title {
                    n.insert("title".into(), Value::String(t.clone()));
                }
            }
            Platform::Ios => {
                if let Some(t) = &m.title {
                    n.insert("alert".into(), json!({ "title": t, "body": m.body }));
                }
            }
        }
        match p {
            // HarmonyOS requires a category: the original's (step or ledger), else the class
            // every app may use (docs/decisions.md).
            Platform::Hmos => {
                let category = m
                    .field(super::HMOS_CATEGORY)
                    .unwrap_or(super::DEFAULT_HMOS_CATEGORY);
                n.insert("category".into(), Value::String(category.into()));
            }
            // Quick apps require the page to open; the original's page is not in the ledger.
            Platform::Quickapp => {
                n.insert("page".into(), Value::String("/".into()));
            }
            _ => {}
        }
        if let Some(e) = &m.extras {
            n.insert("extras".into(), e.clone());
        }
        notification.insert(p.as_str().into(), Value::Object(n));
    }
    let mut options = Map::new();
    // `override_msg_id` replaces the original on Android and HarmonyOS (within a day); iOS is
    // replaced by `apns_collapse_id`, with no window, so an iOS-only push must not carry it
    // (past the day, JPush would refuse the whole push with 1003).
    if input.platforms.iter().any(|p| *p != Platform::Ios) {
        options.insert("override_msg_id".into(), Value::from(input.msg_id));
    }
    if input.platforms.contains(&Platform::Ios)
        && let Some(c) = m.field(super::APNS_COLLAPSE_ID)
    {
        options.insert("apns_collapse_id".into(), Value::String(c.to_string()));
    }
    options.insert("apns_production".into(), Value::Bool(input.apns_production));
    // The original's class and vendor settings, so the correction goes where it went.
    if let Some(c) = input.classification {
        options.insert("classification".into(), Value::from(c));
    }
    if let Some(t) = input.third_party_channel {
        options.insert("third_party_channel".into(), t.clone());
    }
    let body = json!({
        "platform": input.platforms.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "audience": input.audience,
        "notification": notification,
        "options": options,
        "cid": cid,
    });
    RequestSpec {
        family: PUSH_FAMILY,
        method: "POST",
        path: "/v3/push".into(),
        body: Some(body),
        call: PUSH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_msg_id_is_an_exact_integer() {
        let m = RenderedMessage {
            title: Some("Fixed".into()),
            body: "New link".into(),
            fields: [("apns_collapse_id".to_string(), "bf-1".to_string())].into(),
            ..Default::default()
        };
        let audience = json!({"tag": ["bf-promo"]});
        let spec = override_push(
            &OverrideInput {
                msg_id: 67554224848096790,
                platforms: &[Platform::Android, Platform::Ios],
                audience: &audience,
                message: &m,
                apns_production: false,
                classification: None,
                third_party_channel: None,
            },
            Value::String("7d431e42dfa6a6d693ac2d04-abc".into()),
        );
        let text = serde_json::to_string(&spec.body).unwrap();
        assert!(
            text.contains("\"override_msg_id\":67554224848096790"),
            "{text}"
        );
        assert!(text.contains("\"apns_production\":false"));
        assert_eq!(
            spec.body.as_ref().unwrap()["notification"]["ios"]["alert"]["title"],
            "Fixed"
        );
        assert_eq!(
            spec.body.as_ref().unwrap()["platform"],
            json!(["android", "ios"])
        );
    }

    #[test]
    fn report_requests() {
        let ids: Vec<u64> = (1..=150).collect();
        let r = received_detail(&ids);
        assert_eq!(r.method, "GET");
        assert!(r.path.starts_with("/v3/received/detail?msg_ids=1,2,"));
        assert!(r.path.ends_with(",100"), "at most 100 ids: {}", r.path);
        assert_eq!(r.summary(), "GET /v3/received/detail");
        let s = status_message(
            67554224848096790,
            &["1507bfd3f710de7a40a".to_string()],
            Some("2026-11-20"),
        );
        assert_eq!(
            serde_json::to_string(&s.body).unwrap(),
            r#"{"msg_id":67554224848096790,"registration_ids":["1507bfd3f710de7a40a"],"date":"2026-11-20"}"#
        );
    }

    #[test]
    fn schedule_requests() {
        // Golden, from jpush-docs rest_api_push_schedule.md: DELETE with no body.
        let d = delete_schedule(SCHEDULES_PATH, "0eac1b80-c2ac-4b69-948b-c65b34b96512");
        assert_eq!(
            (d.method, d.path.as_str(), d.body.is_none(), d.family),
            (
                "DELETE",
                "/v3/schedules/0eac1b80-c2ac-4b69-948b-c65b34b96512",
                true,
                SCHEDULE_FAMILY
            )
        );
        assert_eq!(
            delete_schedule(
                BEIJING_SCHEDULES_PATH,
                "0eac1b80-c2ac-4b69-948b-c65b34b96512"
            )
            .path,
            "/v3/push/schedules/0eac1b80-c2ac-4b69-948b-c65b34b96512"
        );
        let l = schedule_list(SCHEDULES_PATH);
        assert_eq!((l.method, l.path.as_str()), ("GET", "/v3/schedules?page=1"));
        assert_eq!(l.summary(), "GET /v3/schedules");
    }

    #[test]
    fn collapse_id_only_with_ios() {
        let m = RenderedMessage {
            body: "x".into(),
            fields: [("apns_collapse_id".to_string(), "c".to_string())].into(),
            ..Default::default()
        };
        let spec = override_push(
            &OverrideInput {
                msg_id: 1,
                platforms: &[Platform::Android],
                audience: &json!("all"),
                message: &m,
                apns_production: true,
                classification: None,
                third_party_channel: None,
            },
            Value::Null,
        );
        assert!(
            spec.body.unwrap()["options"]
                .get("apns_collapse_id")
                .is_none()
        );
    }
}
