//! Tencent TPNS REST API v3 (reference/tpns.md): stop, revoke, cancel, push record and
//! override requests.

use serde_json::{Map, Value, json};

use super::{PUSH_FAMILY, STATISTICS_FAMILY, TASK_FAMILY};
use crate::domain::Action;
use crate::provider::RequestSpec;
use crate::target::RenderedMessage;

/// What each request is for (`RequestSpec::call`), which decides how its answer reads.
pub const TASK: &str = "task";
pub const RECORD: &str = "record";
pub const PUSH: &str = "push";
/// A push record read for its `status` (verification): no collapse id needed.
pub const STATUS: &str = "status";

/// stop / revoke / cancel: the parameter table says `pushId`, every sample says `pushid`; the
/// reference recommends sending both with the same string value.
pub fn task_op(action: Action, push_id: &str) -> RequestSpec {
    let path = match action {
        Action::Stop => "/v3/push/stop_push_msg",
        Action::Recall => "/v3/push/revoke_push_msg",
        _ => "/v3/push/cancel_timing_task",
    };
    RequestSpec {
        family: TASK_FAMILY,
        method: "POST",
        path: path.into(),
        body: Some(json!({ "pushId": push_id, "pushid": push_id })),
        call: TASK,
    }
}

/// `POST /v3/statistics/get_push_record` for one task (its `collapseID`).
pub fn get_push_record(push_id: &str) -> RequestSpec {
    RequestSpec {
        family: STATISTICS_FAMILY,
        method: "POST",
        path: "/v3/statistics/get_push_record".into(),
        body: Some(json!({ "pushId": push_id })),
        call: RECORD,
    }
}

/// `POST /v3/statistics/get_push_record` for one task's `status` (verification).
pub fn push_status(push_id: &str) -> RequestSpec {
    RequestSpec {
        call: STATUS,
        ..get_push_record(push_id)
    }
}

pub struct OverrideInput<'a> {
    pub audience_type: &'a str,
    /// The original's targeting fields (`tag_rules`, `account_list`, …), copied to the top level.
    pub audience: Option<&'a Value>,
    pub message: &'a RenderedMessage,
    /// `product` or `dev` (iOS).
    pub environment: &'a str,
    pub force_collapse: bool,
    /// Account pushes: the original's `account_push_type` and `account_type`, if the ledger says
    /// (omitted: TPNS's defaults, latest device of each account).
    pub account_push_type: Option<u64>,
    pub account_type: Option<u64>,
}

/// `POST /v3/push/app` to the original audience with its `collapse_id`.
pub fn override_push(input: &OverrideInput<'_>, collapse_id: Value) -> RequestSpec {
    let m = input.message;
    let mut body = Map::new();
    body.insert(
        "audience_type".into(),
        Value::String(input.audience_type.into()),
    );
    if let Some(Value::Object(a)) = input.audience {
        for (k, v) in a {
            if k != "audience_type" {
                body.insert(k.clone(), v.clone());
            }
        }
    }
    // Account pushes go to the same devices of each account as the original did.
    if matches!(input.audience_type, "account_list" | "account") {
        if let Some(n) = input.account_push_type {
            body.insert("account_push_type".into(), Value::from(n));
        }
        if let Some(n) = input.account_type {
            body.insert("account_type".into(), Value::from(n));
        }
    }
    let mut message = Map::new();
    message.insert(
        "title".into(),
        Value::String(m.title.clone().unwrap_or_default()),
    );
    message.insert("content".into(), Value::String(m.body.clone()));
    if let Some(intent) = m.field(super::INTENT) {
        // Overrides must use `intent`, not `custom_content`, on Android (Huawei blocks the latter).
        message.insert(
            "android".into(),
            json!({ "action": { "action_type": 3, "intent": intent } }),
        );
    }
    if let Some(extras) = &m.extras {
        message.insert(
            "ios".into(),
            json!({ "custom_content": extras.to_string() }),
        );
    }
    body.insert("message_type".into(), Value::String("notify".into()));
    body.insert("message".into(), Value::Object(message));
    body.insert("collapse_id".into(), collapse_id);
    body.insert("force_collapse".into(), Value::Bool(input.force_collapse));
    body.insert(
        "environment".into(),
        Value::String(input.environment.into()),
    );
    RequestSpec {
        family: PUSH_FAMILY,
        method: "POST",
        path: "/v3/push/app".into(),
        body: Some(Value::Object(body)),
        call: PUSH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ops_send_both_spellings_as_strings() {
        let s = task_op(Action::Stop, "43214535");
        assert_eq!(s.path, "/v3/push/stop_push_msg");
        assert_eq!(
            serde_json::to_string(&s.body).unwrap(),
            r#"{"pushId":"43214535","pushid":"43214535"}"#
        );
        assert_eq!(
            task_op(Action::CancelScheduled, "1").path,
            "/v3/push/cancel_timing_task"
        );
        assert_eq!(
            task_op(Action::Recall, "1").path,
            "/v3/push/revoke_push_msg"
        );
    }

    #[test]
    fn override_copies_the_audience() {
        let m = RenderedMessage {
            title: Some("T".into()),
            body: "B".into(),
            ..Default::default()
        };
        let audience = json!({"tag_rules": [{"tag_items": [{"tags": ["bf"], "is_not": false, "tags_operator": "OR", "items_operator": "OR", "tag_type": "xg_user_define"}], "operator": "OR", "is_not": false}]});
        let s = override_push(
            &OverrideInput {
                audience_type: "tag",
                audience: Some(&audience),
                message: &m,
                environment: "product",
                force_collapse: false,
                account_push_type: None,
                account_type: None,
            },
            Value::from(17u32),
        );
        let b = s.body.unwrap();
        assert_eq!(b["audience_type"], "tag");
        assert_eq!(b["tag_rules"], audience["tag_rules"]);
        assert_eq!(b["collapse_id"], 17);
        assert_eq!(b["force_collapse"], false);
        assert_eq!(b["message"]["content"], "B");
    }
}
