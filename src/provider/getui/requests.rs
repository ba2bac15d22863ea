//! GeTui RestAPI V2 requests (reference/getui.md §2-4): auth, stop, delete-schedule, the
//! recall push and the override pushes. Pure builders: the plan's previews and the run use
//! the same ones.

use serde_json::{Map, Value, json};

use super::{AUTH_FAMILY, GROUP_FAMILY, PUSH_FAMILY, TASK_FAMILY};
use crate::domain::Platform;
use crate::provider::RequestSpec;
use crate::target::RenderedMessage;

/// What each request is for (`RequestSpec::call`), which decides how its answer reads.
pub const AUTH: &str = "auth";
pub const STOP: &str = "stop";
pub const SCHEDULE: &str = "schedule";
/// The recall push (`push_message.revoke`).
pub const REVOKE: &str = "revoke";
/// A notification push that answers `{"taskid": …}` (toApp).
pub const GROUP: &str = "group";
/// A notification push that answers `{"$taskid": {"$cid": status}}` (toSingle, toList's push).
pub const BY_TASK: &str = "by_task";
/// `push/list/message`: creates the list task, answers `{"taskid": …}`; nothing is sent yet.
pub const LIST_MESSAGE: &str = "list_message";

/// Shown in previews where the run puts values it makes or learns.
pub const REQUEST_ID_PLACEHOLDER: &str =
    "<request_id: 32 hex digits made for the target, reused by its retries>";
pub const LIST_TASKID_PLACEHOLDER: &str = "<taskid from POST /push/list/message>";

/// Most cids or aliases one toList push takes (reference §3; DCloud copy).
pub const LIST_MAX: usize = 1000;

/// `POST /v2/{appId}/auth`. The body shown here is what the plan previews; the run's comes
/// from the auth at send time (`TokenAuth::body`), with the sign over a fresh timestamp.
pub fn auth(app_id: &str) -> RequestSpec {
    RequestSpec {
        family: AUTH_FAMILY,
        method: "POST",
        path: format!("/v2/{app_id}/auth"),
        body: Some(json!({
            "sign": "<sha256(app_key + timestamp + master_secret), made at send time>",
            "timestamp": "<milliseconds at send time>",
            "appkey": "<the app key>",
        })),
        call: AUTH,
    }
}

/// `DELETE /v2/{appId}/task/{taskid}`: stop a batch or group task (reference §4.1).
pub fn stop(app_id: &str, taskid: &str) -> RequestSpec {
    RequestSpec {
        family: TASK_FAMILY,
        method: "DELETE",
        path: format!("/v2/{app_id}/task/{taskid}"),
        body: None,
        call: STOP,
    }
}

/// `DELETE /v2/{appId}/task/schedule/{taskid}`: delete a scheduled task not yet sent (§4.4).
pub fn cancel_scheduled(app_id: &str, taskid: &str) -> RequestSpec {
    RequestSpec {
        family: TASK_FAMILY,
        method: "DELETE",
        path: format!("/v2/{app_id}/task/schedule/{taskid}"),
        body: None,
        call: SCHEDULE,
    }
}

/// The one `revoke` object pushfix ever sends. `force` is the literal `false` here and
/// nowhere else is a revoke made: `force: true` means "if the task is not found, recall every
/// notification of the app" (reference §4.2), which no correction may risk.
fn revoke(old_task_id: &str) -> Value {
    json!({ "old_task_id": old_task_id, "force": false })
}

/// The recall: a push to all devices whose `push_message` is the revoke of `old_task_id`,
/// with the vendor (Xiaomi, vivo) and HarmonyOS revokes beside it (reference §4.2, §7 G4).
/// Devices that never had the task ignore it.
pub fn recall(app_id: &str, old_task_id: &str, request_id: &str) -> RequestSpec {
    RequestSpec {
        family: GROUP_FAMILY,
        method: "POST",
        path: format!("/v2/{app_id}/push/all"),
        body: Some(json!({
            "request_id": request_id,
            "audience": "all",
            "push_message": { "revoke": revoke(old_task_id) },
            "push_channel": {
                "android": { "ups": { "revoke": { "old_task_id": old_task_id } } },
                "harmony": { "revoke": { "old_task_id": old_task_id } },
            },
        })),
        call: REVOKE,
    }
}

/// Who the original went to, as the ledger records it in GeTui's own format.
#[derive(Debug, Clone, PartialEq)]
pub enum Audience<'a> {
    /// `push/all`, `"audience": "all"`.
    All,
    /// `push/tag`, `{"tag": [{key, values, opt_type}, …]}`.
    Tag(&'a Value),
    /// `push/fast_custom_tag`, `{"fast_custom_tag": "…"}`.
    FastCustomTag(&'a Value),
    /// `push/single/cid` or `/alias`: `{"cid": [one]}` or `{"alias": [one]}`.
    Single { by: &'static str, to: &'a Value },
    /// `push/list/message` then `push/list/cid` or `/alias`.
    List { by: &'static str, to: &'a Value },
}

impl<'a> Audience<'a> {
    /// The audience of a task of kind `audience_type` (the ledger's), or why it cannot be
    /// addressed again.
    pub fn of(
        audience_type: Option<&str>,
        audience: Option<&'a Value>,
    ) -> Result<Audience<'a>, String> {
        let obj = audience.and_then(Value::as_object);
        let key = |k: &str| obj.and_then(|o| o.get(k));
        let ids = |k: &'static str| -> Option<(&'static str, &'a Value, usize)> {
            let v = audience.and_then(Value::as_object)?.get(k)?;
            let list = v.as_array()?;
            list.iter()
                .all(|x| x.as_str().is_some_and(|s| !s.is_empty()))
                .then_some((k, v, list.len()))
        };
        match audience_type {
            Some("all") => Ok(Audience::All),
            Some("tag") => match key("tag") {
                Some(t) if t.as_array().is_some_and(|a| !a.is_empty()) => Ok(Audience::Tag(t)),
                _ => Err("the ledger's audience has no `tag` conditions".into()),
            },
            Some("fast_custom_tag") => match key("fast_custom_tag") {
                Some(t) if t.as_str().is_some_and(|s| !s.is_empty()) => {
                    Ok(Audience::FastCustomTag(t))
                }
                _ => Err("the ledger's audience has no `fast_custom_tag`".into()),
            },
            Some("single") => match ids("cid").or_else(|| ids("alias")) {
                Some((by, to, 1)) => Ok(Audience::Single { by, to }),
                Some((by, _, n)) => Err(format!(
                    "a single push goes to one {by}; the ledger's audience lists {n}"
                )),
                None => Err("the ledger's audience has no `cid` or `alias` list".into()),
            },
            Some("list") => match ids("cid").or_else(|| ids("alias")) {
                Some((by, to, n)) if (1..=LIST_MAX).contains(&n) => Ok(Audience::List { by, to }),
                Some((by, _, n)) => Err(format!(
                    "a list push goes to 1 to {LIST_MAX} {by}s; the ledger's audience lists {n}"
                )),
                None => Err("the ledger's audience has no `cid` or `alias` list".into()),
            },
            Some(other) => Err(format!("`{other}` is not a GeTui audience type")),
            None => Err("the ledger does not say how the task was sent (audience_type)".into()),
        }
    }

    /// Whether its pushes spend the app's group-push budget (100 a day, 5 a minute).
    pub fn is_group(&self) -> bool {
        matches!(
            self,
            Audience::All | Audience::Tag(_) | Audience::FastCustomTag(_)
        )
    }
}

/// What an override is built from.
pub struct OverrideInput<'a> {
    pub audience: Audience<'a>,
    pub message: &'a RenderedMessage,
    /// The original's ids: without them a channel cannot replace it (reference §0.1).
    pub notify_id: Option<u64>,
    pub apns_collapse_id: Option<&'a str>,
    /// The platforms the override configures a vendor channel for.
    pub platforms: &'a [Platform],
}

/// The click action: the first of intent, url and extras (as the payload) the step gives,
/// else open the app.
fn click(m: &RenderedMessage) -> Map<String, Value> {
    let mut c = Map::new();
    if let Some(intent) = m.field(super::INTENT) {
        c.insert("click_type".into(), json!("intent"));
        c.insert("intent".into(), json!(intent));
    } else if let Some(url) = m.field(super::URL) {
        c.insert("click_type".into(), json!("url"));
        c.insert("url".into(), json!(url));
    } else if let Some(extras) = &m.extras {
        c.insert("click_type".into(), json!("payload"));
        c.insert("payload".into(), json!(extras.to_string()));
    } else {
        c.insert("click_type".into(), json!("startapp"));
    }
    c
}

/// `title`, `body`, the click action and, when known, `notify_id`.
fn notification(m: &RenderedMessage, notify_id: Option<u64>) -> Value {
    let mut n = Map::new();
    n.insert("title".into(), json!(m.title.clone().unwrap_or_default()));
    n.insert("body".into(), json!(m.body));
    n.extend(click(m));
    if let Some(id) = notify_id {
        n.insert("notify_id".into(), json!(id));
    }
    Value::Object(n)
}

/// The body every override push shares: `request_id`, `push_message`, `push_channel`.
fn override_body(input: &OverrideInput<'_>, request_id: &str) -> Map<String, Value> {
    let m = input.message;
    let mut body = Map::new();
    body.insert("request_id".into(), json!(request_id));
    // With the original's notify_id the GeTui channel replaces its notification. Without it a
    // notification would show beside the wrong one on every device online at GeTui, so the
    // correction travels there as a transmission (the app decides; nothing shows by itself).
    let push_message = match input.notify_id {
        Some(id) => json!({ "notification": notification(m, Some(id)) }),
        None => {
            let mut t = Map::new();
            if let Some(title) = &m.title {
                t.insert("title".into(), json!(title));
            }
            t.insert("body".into(), json!(m.body));
            if let Some(x) = &m.extras {
                t.insert("extras".into(), x.clone());
            }
            json!({ "transmission": Value::Object(t).to_string() })
        }
    };
    body.insert("push_message".into(), push_message);
    let mut channel = Map::new();
    let on = |p: Platform| input.platforms.contains(&p);
    if let Some(id) = input.notify_id {
        if on(Platform::Android) {
            channel.insert(
                "android".into(),
                json!({ "ups": { "notification": notification(m, Some(id)) } }),
            );
        }
        if on(Platform::Hmos) {
            // The two pages disagree on the field (reference §4.3): both are sent, same id.
            let mut n = Map::new();
            n.insert("title".into(), json!(m.title.clone().unwrap_or_default()));
            n.insert("body".into(), json!(m.body));
            n.insert("click_type".into(), json!("startapp"));
            n.insert("notify_id".into(), json!(id));
            channel.insert(
                "harmony".into(),
                json!({
                    "notification": Value::Object(n),
                    "options": { "HW": { "/payload/notification/notifyId": id } },
                }),
            );
        }
    }
    if let (Some(collapse), true) = (input.apns_collapse_id, on(Platform::Ios)) {
        let mut alert = Map::new();
        if let Some(t) = &m.title {
            alert.insert("title".into(), json!(t));
        }
        alert.insert("body".into(), json!(m.body));
        let mut ios = Map::new();
        ios.insert("type".into(), json!("notify"));
        ios.insert(
            "aps".into(),
            json!({ "alert": Value::Object(alert), "content-available": 0 }),
        );
        if let Some(x) = &m.extras {
            ios.insert("payload".into(), json!(x.to_string()));
        }
        ios.insert("apns-collapse-id".into(), json!(collapse));
        channel.insert("ios".into(), Value::Object(ios));
    }
    if !channel.is_empty() {
        body.insert("push_channel".into(), Value::Object(channel));
    }
    body
}

/// The override's requests, to the original audience the way the original went: one push for
/// a group or single task; for a list task the list message, then the push of that message to
/// the list (`list_taskid` is the message's, known once the first request is answered).
pub fn override_push(
    app_id: &str,
    input: &OverrideInput<'_>,
    request_id: &str,
    list_taskid: &str,
) -> Vec<RequestSpec> {
    let mut body = override_body(input, request_id);
    let push = |family, path: String, body: Map<String, Value>, call| RequestSpec {
        family,
        method: "POST",
        path,
        body: Some(Value::Object(body)),
        call,
    };
    match &input.audience {
        Audience::All => {
            body.insert("audience".into(), json!("all"));
            vec![push(
                GROUP_FAMILY,
                format!("/v2/{app_id}/push/all"),
                body,
                GROUP,
            )]
        }
        Audience::Tag(t) => {
            body.insert("audience".into(), json!({ "tag": t }));
            vec![push(
                GROUP_FAMILY,
                format!("/v2/{app_id}/push/tag"),
                body,
                GROUP,
            )]
        }
        Audience::FastCustomTag(t) => {
            body.insert("audience".into(), json!({ "fast_custom_tag": t }));
            vec![push(
                GROUP_FAMILY,
                format!("/v2/{app_id}/push/fast_custom_tag"),
                body,
                GROUP,
            )]
        }
        Audience::Single { by, to } => {
            let mut a = Map::new();
            a.insert((*by).into(), (*to).clone());
            body.insert("audience".into(), Value::Object(a));
            vec![push(
                PUSH_FAMILY,
                format!("/v2/{app_id}/push/single/{by}"),
                body,
                BY_TASK,
            )]
        }
        Audience::List { by, to } => {
            let mut a = Map::new();
            a.insert((*by).into(), (*to).clone());
            let mut send = Map::new();
            send.insert("audience".into(), Value::Object(a));
            send.insert("taskid".into(), json!(list_taskid));
            send.insert("is_async".into(), json!(false));
            vec![
                push(
                    PUSH_FAMILY,
                    format!("/v2/{app_id}/push/list/message"),
                    body,
                    LIST_MESSAGE,
                ),
                push(
                    PUSH_FAMILY,
                    format!("/v2/{app_id}/push/list/{by}"),
                    send,
                    BY_TASK,
                ),
            ]
        }
    }
}

/// Whether a body carries `force: true` anywhere (the recall of every notification of the
/// app). No builder here can make one; tests and the session check every body anyway.
pub fn forces_a_full_recall(body: &Value) -> bool {
    match body {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| (k == "force" && *v != Value::Bool(false)) || forces_a_full_recall(v)),
        Value::Array(a) => a.iter().any(forces_a_full_recall),
        _ => false,
    }
}
