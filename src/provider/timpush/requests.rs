//! TIMPush REST requests (reference/timpush.md §4): `revoke` (terminate, and override with
//! `OfflinePushInfo`), `get_sched_task` and `delete_sched_task`. The common query parameters
//! and the UserSig are the auth's (`usersig.rs`); the builders are pure.

use serde_json::{Map, Value, json};

use super::{REVOKE_FAMILY, SCHED_FAMILY};
use crate::provider::RequestSpec;
use crate::target::RenderedMessage;

/// What each request is for (`RequestSpec::call`), which decides how its answer reads.
pub const REVOKE: &str = "revoke";
pub const GET_SCHED: &str = "get_sched_task";
pub const DELETE_SCHED: &str = "delete_sched_task";

/// The body key of the SDKAppID in the scheduled-task calls; left `null` by the builders and
/// filled in by the auth (`Auth::identify_body`), which holds the credentials.
pub const SDKAPPID: &str = "Sdkappid";

/// `OfflinePushInfo` of a stop: `PushFlag: 1`, "do not push offline". The 2024 INTL doc
/// (1047/60571) says a revoke whose OfflinePushInfo has PushFlag 1 (or none) overwrites
/// nothing; the 2025 CN doc (269/105123) makes OfflinePushInfo required. This form satisfies
/// both readings; a backend that refuses it answers 90053 and the stop is recorded as failed
/// (docs/decisions.md, "TIMPush").
pub fn stop_info() -> Value {
    json!({ "PushFlag": 1 })
}

/// `OfflinePushInfo` of an override: the corrected notification (`PushFlag: 0`, `Title`,
/// `Desc`, and the extras as `Ext`, a JSON-encoded string as TIMPush wants it).
pub fn override_info(m: &RenderedMessage) -> Value {
    let mut o = Map::new();
    o.insert("PushFlag".into(), Value::from(0));
    if let Some(t) = &m.title {
        o.insert("Title".into(), Value::String(t.clone()));
    }
    o.insert("Desc".into(), Value::String(m.body.clone()));
    if let Some(extras) = &m.extras {
        o.insert("Ext".into(), Value::String(extras.to_string()));
    }
    Value::Object(o)
}

/// `POST /v4/timpush/revoke {TaskId, OfflinePushInfo}`: always with OfflinePushInfo (the
/// reference's safe rule, §4.1).
pub fn revoke(task_id: &str, offline_push_info: Value) -> RequestSpec {
    RequestSpec {
        family: REVOKE_FAMILY,
        method: "POST",
        path: "/v4/timpush/revoke".into(),
        body: Some(json!({ "TaskId": task_id, "OfflinePushInfo": offline_push_info })),
        call: REVOKE,
    }
}

/// `POST /v4/timpush/get_sched_task {Sdkappid, TaskID}`: the scheduled task's `Type`,
/// `Status` and, once dispatched, its push `PushTaskID` (269/130280).
pub fn get_sched_task(sched_task_id: u64, sdkappid: Value) -> RequestSpec {
    RequestSpec {
        family: SCHED_FAMILY,
        method: "POST",
        path: "/v4/timpush/get_sched_task".into(),
        body: Some(json!({ SDKAPPID: sdkappid, "TaskID": sched_task_id })),
        call: GET_SCHED,
    }
}

/// `POST /v4/timpush/delete_sched_task {Sdkappid, TaskID, Type}` (269/130279): `Type` is
/// `All`, `Tag` or `User`.
pub fn delete_sched_task(sched_task_id: u64, sched_type: Value, sdkappid: Value) -> RequestSpec {
    RequestSpec {
        family: SCHED_FAMILY,
        method: "POST",
        path: "/v4/timpush/delete_sched_task".into(),
        body: Some(json!({ SDKAPPID: sdkappid, "TaskID": sched_task_id, "Type": sched_type })),
        call: DELETE_SCHED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_revoke_stop_and_override() {
        let id = "660cc447_537ed82a_200000cd7ee17f5_84035729_bc614e";
        let s = revoke(id, stop_info());
        assert_eq!((s.method, s.path.as_str()), ("POST", "/v4/timpush/revoke"));
        assert_eq!(
            serde_json::to_string(&s.body).unwrap(),
            r#"{"TaskId":"660cc447_537ed82a_200000cd7ee17f5_84035729_bc614e","OfflinePushInfo":{"PushFlag":1}}"#
        );
        // The reference's C1 sample, as sent on the wire (Ext a JSON string).
        let m = RenderedMessage {
            title: Some("撤回标题".into()),
            body: "对方撤回了一条消息".into(),
            extras: Some(json!({"entity": {"key1": "value1", "key2": "value2"}})),
            ..Default::default()
        };
        let o = revoke(id, override_info(&m));
        assert_eq!(
            o.body.unwrap(),
            json!({"TaskId": id, "OfflinePushInfo": {"PushFlag": 0, "Title": "撤回标题", "Desc": "对方撤回了一条消息", "Ext": "{\"entity\":{\"key1\":\"value1\",\"key2\":\"value2\"}}"}})
        );
        let bare = override_info(&RenderedMessage {
            body: "B".into(),
            ..Default::default()
        });
        assert_eq!(bare, json!({"PushFlag": 0, "Desc": "B"}));
    }

    #[test]
    fn golden_scheduled_task_calls() {
        let g = get_sched_task(1234567890, Value::Null);
        assert_eq!(g.path, "/v4/timpush/get_sched_task");
        assert_eq!(
            serde_json::to_string(&g.body).unwrap(),
            r#"{"Sdkappid":null,"TaskID":1234567890}"#
        );
        let d = delete_sched_task(1234567890, json!("All"), Value::from(88888888));
        assert_eq!(d.path, "/v4/timpush/delete_sched_task");
        // The reference's C2 sample.
        assert_eq!(
            d.body.unwrap(),
            json!({"Sdkappid": 88888888, "TaskID": 1234567890, "Type": "All"})
        );
        assert_eq!((g.family, d.family), (SCHED_FAMILY, SCHED_FAMILY));
    }
}
