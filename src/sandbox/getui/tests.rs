//! GeTui end to end over HTTP: the sign and the token, stop, the recall with and without the
//! dangerous `force: true`, overrides by id, scheduled tasks, list pushes, request ids, the
//! group-push limits, and the error codes with their HTTP statuses.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{Getui, PushKind, seed_task, sign};
use crate::sandbox::exchange::Ctx;
use crate::sandbox::message::Scheduled;
use crate::sandbox::tests::support::{ago, answer, client, config, count, message};
use crate::sandbox::{Credentials, Sandbox, SandboxConfig, SeedMessage, load_ledger};

const KEY: &str = "appkey123";
const SECRET: &str = "mastersecret456";
const APP: &str = "pushfixDemoApp01";

fn getui_config() -> SandboxConfig {
    let mut c = config();
    *c.credentials_mut("getui").unwrap() = Credentials::new(KEY, SECRET);
    c
}

fn with(mut m: SeedMessage, key: &str, value: Value) -> SeedMessage {
    m.extra.insert(key.into(), value);
    m
}

/// A tag task with ids, an all task without, a single task, a list task, a task of another
/// app, a scheduled task due in five hours, one that fired, one due in thirty seconds.
fn seeds() -> Vec<SeedMessage> {
    let mut tag = with(
        with(
            seed_task("RASA_1120_tag", "tag", ago(1)),
            "notify_id",
            json!(4242),
        ),
        "apns_collapse_id",
        json!("bf-1"),
    );
    tag.title = Some("48h sale".into());
    tag.audience =
        Some(json!({"tag": [{"key": "custom_tag", "values": ["bf"], "opt_type": "and"}]}));
    let mut all = seed_task("RASA_1120_all", "all", ago(2));
    all.title = Some("Hello".into());
    let mut single = seed_task("RASS_1120_one", "single", ago(1));
    single.title = Some("Your order".into());
    let mut untyped_single = SeedMessage::bare("getui", "RASS_1120_two", ago(1));
    untyped_single.title = Some("Your order".into());
    let mut list = seed_task("RASL_1120_list", "list", ago(1));
    list.title = Some("Listed".into());
    let mut other = with(
        seed_task("RASA_1120_other", "all", ago(1)),
        "app_id",
        json!("otherApp"),
    );
    other.title = Some("Other app".into());
    let mut later = seed_task("RASA_1120_later", "all", ago(1));
    later.scheduled = Scheduled::At(Timestamp::now() + SignedDuration::from_hours(5));
    let mut fired = seed_task("RASA_1120_fired", "all", ago(3));
    fired.scheduled = Scheduled::At(ago(1));
    let mut soon = seed_task("RASA_1120_soon", "all", ago(1));
    soon.scheduled = Scheduled::At(Timestamp::now() + SignedDuration::from_secs(30));
    vec![
        tag,
        all,
        single,
        untyped_single,
        list,
        other,
        later,
        fired,
        soon,
    ]
}

async fn start_cfg(c: SandboxConfig) -> Sandbox {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sandbox::start(c, seeds(), l).await.unwrap()
}

async fn start() -> Sandbox {
    start_cfg(getui_config()).await
}

fn now_ms() -> String {
    Timestamp::now().as_millisecond().to_string()
}

async fn auth_with(sb: &Sandbox, app: &str, body: Value) -> crate::sandbox::tests::support::Answer {
    answer(
        client()
            .post(format!("{}/v2/{app}/auth", sb.url()))
            .header("Content-Type", "application/json;charset=utf-8")
            .body(body.to_string()),
    )
    .await
}

async fn token(sb: &Sandbox, app: &str) -> String {
    let ts = now_ms();
    let a = auth_with(
        sb,
        app,
        json!({"sign": sign(KEY, &ts, SECRET), "timestamp": ts, "appkey": KEY}),
    )
    .await;
    assert_eq!(a.json["code"], 0, "{}", a.text);
    a.json["data"]["token"].as_str().unwrap().to_string()
}

async fn call(
    sb: &Sandbox,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> crate::sandbox::tests::support::Answer {
    let mut r = client()
        .request(method, format!("{}{path}", sb.url()))
        .header("Content-Type", "application/json;charset=utf-8");
    if let Some(t) = token {
        r = r.header("token", t);
    }
    if let Some(b) = body {
        r = r.body(b.to_string());
    }
    answer(r).await
}

async fn post(
    sb: &Sandbox,
    path: &str,
    token: &str,
    body: Value,
) -> crate::sandbox::tests::support::Answer {
    call(
        sb,
        reqwest::Method::POST,
        &format!("/v2/{APP}{path}"),
        Some(token),
        Some(&body),
    )
    .await
}

async fn delete(sb: &Sandbox, path: &str, token: &str) -> crate::sandbox::tests::support::Answer {
    call(
        sb,
        reqwest::Method::DELETE,
        &format!("/v2/{APP}{path}"),
        Some(token),
        None,
    )
    .await
}

fn revoke_body(rid: &str, old: &str, force: Value) -> Value {
    json!({
        "request_id": rid,
        "audience": "all",
        "push_message": {"revoke": {"old_task_id": old, "force": force}},
        "push_channel": {"android": {"ups": {"revoke": {"old_task_id": old}}}},
    })
}

fn notification(title: &str, notify_id: Option<u64>) -> Value {
    let mut n = json!({"title": title, "body": "Sorry, wrong link", "click_type": "startapp"});
    if let Some(id) = notify_id {
        n["notify_id"] = json!(id);
    }
    n
}

fn force_revokes(sb: &Sandbox) -> Value {
    sb.summaries()
        .into_iter()
        .flat_map(|s| s.fields)
        .find(|(k, _)| *k == "getui_force_revokes")
        .map(|(_, v)| v)
        .unwrap()
}

#[tokio::test]
async fn sign_vectors_over_http() {
    // The reference's computed vectors carry fixed timestamps: the clock check is off.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sb = Sandbox::start_with(getui_config(), seeds(), l, false)
        .await
        .unwrap();
    let v1 = "32a6d04f11cef04d950d20438fc89d5f140537871d04c40a9d0b423f7cd36100";
    let ok = auth_with(
        &sb,
        APP,
        json!({"sign": v1, "timestamp": "1700000000000", "appkey": KEY}),
    )
    .await;
    assert_eq!(
        (ok.status, ok.json["code"].clone()),
        (200, json!(0)),
        "{}",
        ok.text
    );
    assert!(
        ok.json["data"]["expire_time"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .is_ok()
    );
    // The Java SDK sends the timestamp as a number: the same sign over its decimal text.
    let num = auth_with(
        &sb,
        APP,
        json!({"sign": v1, "timestamp": 1700000000000u64, "appkey": KEY}),
    )
    .await;
    assert_eq!(num.json["code"], 0, "{}", num.text);
    // Uppercase hex of the right digest is refused, as is a sign over another timestamp.
    let upper = auth_with(
        &sb,
        APP,
        json!({"sign": v1.to_uppercase(), "timestamp": "1700000000000", "appkey": KEY}),
    )
    .await;
    assert_eq!(
        (upper.status, upper.json["code"].clone()),
        (400, json!(20001))
    );
    let other = auth_with(
        &sb,
        APP,
        json!({"sign": v1, "timestamp": "1700000000001", "appkey": KEY}),
    )
    .await;
    assert_eq!(other.json["code"], 20001);
    let wrong_key = auth_with(
        &sb,
        APP,
        json!({"sign": v1, "timestamp": "1700000000000", "appkey": "nope"}),
    )
    .await;
    assert_eq!(
        wrong_key.json,
        json!({"code": 20001, "msg": "appkey is invalid"})
    );
    // The doc's filled-in example has a trailing comma: not JSON.
    let a = answer(
        client()
            .post(format!("{}/v2/{APP}/auth", sb.url()))
            .body(r#"{"appkey":"YZkTKbz91l84HyM0TGlb38","sign":"b6","timestamp":1608172111917,}"#),
    )
    .await;
    assert_eq!(a.json["code"], 1);
    sb.shutdown().await;

    // Vector 2 with its own key and secret.
    let mut c = config();
    *c.credentials_mut("getui").unwrap() =
        Credentials::new("YZkTKbz91l84HyM0TGlb38", "MASTERSECRETexample0000");
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sb = Sandbox::start_with(c, seeds(), l, false).await.unwrap();
    let ok = auth_with(
        &sb,
        APP,
        json!({
            "sign": "8af4df8f9433c3a11589bb1d9e1697329308c9b85789a76a6633fdccf108e4fc",
            "timestamp": "1608172111917",
            "appkey": "YZkTKbz91l84HyM0TGlb38",
        }),
    )
    .await;
    assert_eq!(ok.json["code"], 0, "{}", ok.text);
    sb.shutdown().await;
}

#[tokio::test]
async fn the_clock_is_checked_and_nothing_secret_is_logged() {
    let sb = start().await;
    // Seconds instead of milliseconds: far from the system clock.
    let secs = Timestamp::now().as_second().to_string();
    let a = auth_with(
        &sb,
        APP,
        json!({"sign": sign(KEY, &secs, SECRET), "timestamp": secs, "appkey": KEY}),
    )
    .await;
    assert_eq!(a.json["code"], 20001);
    let t = token(&sb, APP).await;
    let log = sb.requests().to_string();
    assert!(!log.contains(&t), "the token is not in the request log");
    assert!(!log.contains(SECRET));
    let auth = &sb.requests()[1];
    assert_eq!(auth["body"]["sign"], "<redacted>");
    assert_eq!(auth["response"]["data"]["token"], "<token>");
    // A call with the token: its header is not logged either.
    let s = delete(&sb, "/task/RASA_1120_tag", &t).await;
    assert_eq!(s.json, json!({"code": 0, "msg": "success"}));
    assert!(!sb.requests().to_string().contains(&t));
    sb.shutdown().await;
}

#[tokio::test]
async fn tokens_are_checked_per_app_and_expire() {
    let mut c = getui_config();
    c.enable("getui.short_tokens").unwrap();
    let sb = start_cfg(c).await;
    let t = token(&sb, APP).await;
    let none = call(
        &sb,
        reqwest::Method::DELETE,
        &format!("/v2/{APP}/task/RASA_1120_tag"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (none.status, none.json["code"].clone()),
        (401, json!(10001))
    );
    let unknown = delete(&sb, "/task/RASA_1120_tag", "not-a-token").await;
    assert_eq!(
        (unknown.status, unknown.json["code"].clone()),
        (401, json!(10001))
    );
    // A token works only under the app id it was issued for.
    let a = call(
        &sb,
        reqwest::Method::DELETE,
        "/v2/anotherApp/task/RASA_1120_tag",
        Some(&t),
        None,
    )
    .await;
    assert_eq!(a.json["code"], 10001);
    assert_eq!(
        message(&sb.messages(), "RASA_1120_tag")["state"],
        "delivered"
    );
    // Tokens of this sandbox live a second with `getui.short_tokens`: then 10001.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let a = delete(&sb, "/task/RASA_1120_tag", &t).await;
    assert_eq!(
        (a.status, a.json["code"].clone()),
        (401, json!(10001)),
        "{}",
        a.text
    );
    let fresh = token(&sb, APP).await;
    let a = delete(&sb, "/task/RASA_1120_tag", &fresh).await;
    assert_eq!(a.json["code"], 0, "{}", a.text);
    sb.shutdown().await;
}

#[tokio::test]
async fn stop_is_for_batch_and_group_tasks() {
    let sb = start().await;
    let t = token(&sb, APP).await;
    let a = delete(&sb, "/task/RASA_1120_tag", &t).await;
    assert_eq!(a.json, json!({"code": 0, "msg": "success"}));
    assert!(message(&sb.messages(), "RASA_1120_tag")["stopped_at"].is_string());
    // Again: success, still one stop.
    assert_eq!(delete(&sb, "/task/RASA_1120_tag", &t).await.json["code"], 0);
    assert_eq!(
        delete(&sb, "/task/RASL_1120_list", &t).await.json["code"],
        0
    );
    // Single pushes (by the ledger, or by the RASS prefix), unknown tasks and other apps'
    // tasks: 20001, HTTP 400.
    for id in [
        "RASS_1120_one",
        "RASS_1120_two",
        "RASA_nope",
        "RASA_1120_other",
    ] {
        let a = delete(&sb, &format!("/task/{id}"), &t).await;
        assert_eq!(
            (a.status, a.json["code"].clone()),
            (400, json!(20001)),
            "{id}"
        );
    }
    let m = sb.messages();
    assert_eq!(message(&m, "RASS_1120_one")["state"], "delivered");
    assert_eq!(message(&m, "RASA_1120_other")["state"], "delivered");
    // Wrong method: 405.
    let a = call(
        &sb,
        reqwest::Method::GET,
        &format!("/v2/{APP}/task/RASA_1120_tag"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(a.status, 405);
    sb.shutdown().await;
}

#[tokio::test]
async fn recall_with_force_false_touches_only_its_task() {
    let sb = start().await;
    let t = token(&sb, APP).await;
    let before = count(&sb.messages());
    let a = post(
        &sb,
        "/push/all",
        &t,
        revoke_body("rq-0000000001", "RASA_1120_all", json!(false)),
    )
    .await;
    assert_eq!(a.json["code"], 0, "{}", a.text);
    assert!(
        a.json["data"]["taskid"]
            .as_str()
            .unwrap()
            .starts_with("RASA_")
    );
    let m = sb.messages();
    assert!(message(&m, "RASA_1120_all")["recalled_at"].is_string());
    assert_eq!(message(&m, "RASA_1120_tag")["state"], "delivered");
    assert_eq!(count(&m), before, "a revoke is no new message");
    // An unknown task with force false: nothing at all.
    let a = post(
        &sb,
        "/push/all",
        &t,
        revoke_body("rq-0000000002", "RASA_gone", json!(false)),
    )
    .await;
    assert_eq!(a.json["code"], 0);
    let m = sb.messages();
    let recalled = m
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["recalled_at"].is_string())
        .count();
    assert_eq!(recalled, 1);
    assert_eq!(force_revokes(&sb), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn force_true_on_an_unknown_task_recalls_every_notification_of_the_app() {
    let sb = start().await;
    let t = token(&sb, APP).await;
    let a = post(
        &sb,
        "/push/all",
        &t,
        revoke_body("rq-0000000003", "RASA_gone", json!(true)),
    )
    .await;
    assert_eq!(a.json["code"], 0);
    let m = sb.messages();
    for id in [
        "RASA_1120_tag",
        "RASA_1120_all",
        "RASS_1120_one",
        "RASL_1120_list",
    ] {
        let x = message(&m, id);
        assert!(
            x["recalled_at"].is_string() && x["force_recalled"] == true,
            "{x}"
        );
    }
    // Not another app's, nor tasks never sent.
    assert_eq!(message(&m, "RASA_1120_other")["state"], "delivered");
    assert_eq!(message(&m, "RASA_1120_later")["state"], "scheduled");
    assert_eq!(force_revokes(&sb), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn revoke_shapes_that_are_refused() {
    let sb = start().await;
    let t = token(&sb, APP).await;
    // revoke with a notification in push_message.
    let mut b = revoke_body("rq-0000000004", "RASA_1120_all", json!(false));
    b["push_message"]["notification"] = notification("x", None);
    let a = post(&sb, "/push/all", &t, b).await;
    assert_eq!(
        a.json,
        json!({"code": 20001, "msg": "please choose one of notification and transmission and revoke"})
    );
    assert_eq!(a.status, 400);
    // The vendor revoke names another task.
    let mut b = revoke_body("rq-0000000005", "RASA_1120_all", json!(false));
    b["push_channel"]["android"]["ups"]["revoke"]["old_task_id"] = json!("RASA_1120_tag");
    assert_eq!(post(&sb, "/push/all", &t, b).await.json["code"], 20001);
    // force must be a boolean; the request_id 10 to 32 characters.
    let b = revoke_body("rq-0000000006", "RASA_1120_all", json!("true"));
    assert_eq!(post(&sb, "/push/all", &t, b).await.json["code"], 20001);
    let b = revoke_body("short", "RASA_1120_all", json!(false));
    assert_eq!(post(&sb, "/push/all", &t, b).await.json["code"], 20001);
    assert_eq!(
        message(&sb.messages(), "RASA_1120_all")["state"],
        "delivered"
    );
    assert_eq!(force_revokes(&sb), 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn an_override_replaces_only_where_the_ids_match() {
    let sb = start().await;
    let t = token(&sb, APP).await;
    let tag = json!({"tag": [{"key": "custom_tag", "values": ["bf"], "opt_type": "and"}]});
    // The GeTui channel and iOS ids of the tag task.
    let body = json!({
        "request_id": "rq-0000000010",
        "audience": tag,
        "push_message": {"notification": notification("48h sale", Some(4242))},
        "push_channel": {
            "android": {"ups": {"notification": notification("48h sale", Some(4242))}},
            "ios": {"type": "notify", "aps": {"alert": {"title": "48h sale", "body": "Sorry"}}, "apns-collapse-id": "bf-1"},
            "harmony": {"notification": {"title": "48h sale", "body": "Sorry", "click_type": "startapp", "notify_id": 4242},
                        "options": {"HW": {"/payload/notification/notifyId": 4242}}},
        },
    });
    let a = post(&sb, "/push/tag", &t, body.clone()).await;
    assert_eq!(a.json["code"], 0, "{}", a.text);
    let new_id = a.json["data"]["taskid"].as_str().unwrap().to_string();
    let m = sb.messages();
    let orig = message(&m, "RASA_1120_tag");
    assert_eq!(orig["overridden_by"], json!([new_id]));
    let new = message(&m, &new_id);
    assert_eq!(new["source"], "sandbox");
    assert_eq!(new["overrides"], "RASA_1120_tag");
    assert_eq!(
        new["sent"]["overrode"]["RASA_1120_tag"],
        json!(["getui", "vendors", "harmony", "apns"])
    );
    assert_eq!(
        new["sent"]["checks"]["RASA_1120_tag"]["audience_matches_original"],
        true
    );
    // The same request_id again: the first answer, nothing sent.
    let again = post(&sb, "/push/tag", &t, body).await;
    assert_eq!(again.json, a.json);
    assert_eq!(
        message(&sb.messages(), "RASA_1120_tag")["overridden_by"],
        json!([new_id])
    );
    // Other ids: an ordinary new push, nothing replaced. A transmission replaces nothing.
    let other = json!({"request_id": "rq-0000000011", "audience": "all",
                       "push_message": {"notification": notification("Hello", Some(7))}});
    assert_eq!(post(&sb, "/push/all", &t, other).await.json["code"], 0);
    let silent = json!({"request_id": "rq-0000000012", "audience": "all",
                        "push_message": {"transmission": "{\"body\":\"x\"}"},
                        "push_channel": {"ios": {"apns-collapse-id": "bf-1"}}});
    assert_eq!(post(&sb, "/push/all", &t, silent).await.json["code"], 0);
    let m = sb.messages();
    assert_eq!(message(&m, "RASA_1120_all")["overridden_by"], json!([]));
    assert_eq!(
        message(&m, "RASA_1120_tag")["overridden_by"],
        json!([new_id])
    );
    // The two HarmonyOS places must agree; a notify_id out of range is refused.
    let mut bad = json!({"request_id": "rq-0000000013", "audience": "all",
                         "push_message": {"notification": notification("x", Some(1))},
                         "push_channel": {"harmony": {"notification": {"notify_id": 1}, "options": {"HW": {"/payload/notification/notifyId": 2}}}}});
    assert_eq!(
        post(&sb, "/push/all", &t, bad.clone()).await.json["code"],
        20001
    );
    bad["push_channel"] = json!({});
    bad["push_message"]["notification"]["notify_id"] = json!(2147483648u64);
    assert_eq!(post(&sb, "/push/all", &t, bad).await.json["code"], 20001);
    sb.shutdown().await;
}

#[tokio::test]
async fn single_and_list_pushes() {
    let sb = start().await;
    let t = token(&sb, APP).await;
    let single = json!({"request_id": "rq-0000000020", "audience": {"cid": ["cid-1"]},
                        "push_message": {"notification": notification("Your order", Some(9))}});
    let a = post(&sb, "/push/single/cid", &t, single).await;
    assert_eq!(a.json["code"], 0, "{}", a.text);
    let (id, per) = a.json["data"].as_object().unwrap().iter().next().unwrap();
    assert!(id.starts_with("RASS_"));
    assert_eq!(per, &json!({"cid-1": "successed_online"}));
    // Two cids is not a single push.
    let two = json!({"request_id": "rq-0000000021", "audience": {"cid": ["a", "b"]},
                     "push_message": {"notification": notification("x", None)}});
    assert_eq!(
        post(&sb, "/push/single/cid", &t, two).await.json["code"],
        20001
    );
    // A list: the message, then its push; not a message of the view before.
    let before = count(&sb.messages());
    let msg = json!({"request_id": "rq-0000000022", "push_message": {"notification": notification("Listed", None)}});
    let made = post(&sb, "/push/list/message", &t, msg).await;
    let list_id = made.json["data"]["taskid"].as_str().unwrap().to_string();
    assert!(list_id.starts_with("RASL_"));
    assert_eq!(count(&sb.messages()), before);
    let send = json!({"audience": {"cid": ["c1", "c2"]}, "taskid": list_id, "is_async": false});
    let a = post(&sb, "/push/list/cid", &t, send.clone()).await;
    assert_eq!(
        a.json["data"][&list_id],
        json!({"c1": "successed_online", "c2": "successed_online"})
    );
    assert_eq!(count(&sb.messages()), before + 1);
    // Pushed again: the same answer, nothing more; a taskid that is no list message: 20001.
    assert_eq!(post(&sb, "/push/list/cid", &t, send).await.json, a.json);
    let bogus = json!({"audience": {"cid": ["c1"]}, "taskid": "RASA_1120_all", "is_async": false});
    assert_eq!(
        post(&sb, "/push/list/cid", &t, bogus).await.json["code"],
        20001
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn scheduled_tasks() {
    let sb = start().await;
    let t = token(&sb, APP).await;
    let q = call(
        &sb,
        reqwest::Method::GET,
        &format!("/v2/{APP}/task/schedule/RASA_1120_later"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(
        q.json["data"]["RASA_1120_later"]["send_result"],
        "do_not_send"
    );
    assert_eq!(
        delete(&sb, "/task/schedule/RASA_1120_later", &t).await.json,
        json!({"code": 0, "msg": "success"})
    );
    assert_eq!(
        message(&sb.messages(), "RASA_1120_later")["state"],
        "cancelled"
    );
    assert_eq!(
        delete(&sb, "/task/schedule/RASA_1120_later", &t).await.json["code"],
        0
    );
    let q = call(
        &sb,
        reqwest::Method::GET,
        &format!("/v2/{APP}/task/schedule/RASA_1120_later"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(
        q.json["data"]["RASA_1120_later"]["send_result"],
        "has_delete"
    );
    // Fired, or due within a minute: 22001; not scheduled or unknown: 22002 (HTTP 400).
    for (id, code) in [
        ("RASA_1120_fired", 22001),
        ("RASA_1120_soon", 22001),
        ("RASA_1120_all", 22002),
        ("RASA_nope", 22002),
    ] {
        let a = delete(&sb, &format!("/task/schedule/{id}"), &t).await;
        assert_eq!(
            (a.status, a.json["code"].clone()),
            (400, json!(code)),
            "{id}"
        );
    }
    // A scheduled push/all: scheduled until its time.
    let at = (Timestamp::now() + SignedDuration::from_hours(2)).as_millisecond();
    let body = json!({"request_id": "rq-0000000030", "audience": "all", "settings": {"schedule_time": at},
                      "push_message": {"notification": notification("Later", None)}});
    let a = post(&sb, "/push/all", &t, body).await;
    let id = a.json["data"]["taskid"].as_str().unwrap().to_string();
    assert_eq!(message(&sb.messages(), &id)["state"], "scheduled");
    sb.shutdown().await;
}

#[tokio::test]
async fn group_pushes_are_five_a_minute() {
    let sb = start().await;
    let t = token(&sb, APP).await;
    for i in 0..6 {
        let a = post(
            &sb,
            "/push/all",
            &t,
            revoke_body(&format!("rq-00000001{i:02}"), "RASA_gone", json!(false)),
        )
        .await;
        if i < 5 {
            assert_eq!(a.json["code"], 0, "{i}: {}", a.text);
        } else {
            assert_eq!((a.status, a.json["code"].clone()), (403, json!(30014)));
        }
    }
    // Single pushes are not group pushes.
    let single = json!({"request_id": "rq-0000000200", "audience": {"alias": ["u1"]},
                        "push_message": {"transmission": "x"}});
    assert_eq!(
        post(&sb, "/push/single/alias", &t, single).await.json["code"],
        0
    );
    sb.shutdown().await;
}

/// The day's allowance of 100 group pushes, over a simulated day (the windows count from the
/// sandbox start, so no clock is waited on).
#[test]
fn a_hundred_group_pushes_a_day() {
    let mut g = Getui::for_test();
    let ordinals = AtomicU64::new(0);
    let at = |elapsed: Duration| Ctx {
        now: Timestamp::now(),
        real_now: Timestamp::now(),
        elapsed,
        seq: 1,
        ordinals: &ordinals,
        ineffective: false,
    };
    let mut sent = 0;
    for i in 0..101u64 {
        // 13 s apart: always under 5 a minute.
        let r = g.take_rate(&at(Duration::from_secs(13 * i)), PushKind::Tag);
        match r {
            None => sent += 1,
            Some(r) => {
                assert_eq!(i, 100);
                assert_eq!(r.body.unwrap()["code"], 30010);
            }
        }
    }
    assert_eq!(sent, 100);
    // The next day, again.
    assert!(
        g.take_rate(&at(Duration::from_secs(86_400 + 1)), PushKind::All)
            .is_none()
    );
    // A minute's sixth push is refused without using the day.
    let mut g = Getui::for_test();
    for _ in 0..5 {
        assert!(
            g.take_rate(&at(Duration::from_secs(1)), PushKind::All)
                .is_none()
        );
    }
    let r = g
        .take_rate(&at(Duration::from_secs(2)), PushKind::All)
        .unwrap();
    assert_eq!(r.body.unwrap()["code"], 30014);
}

#[tokio::test]
async fn the_5xx_fault_does_nothing() {
    let mut c = getui_config();
    c.faults = crate::sandbox::Faults::parse("5xx=1").unwrap();
    let sb = start_cfg(c).await;
    let a = auth_with(&sb, APP, json!({})).await;
    assert_eq!((a.status, a.json["code"].clone()), (503, json!(2)));
    assert_eq!(
        message(&sb.messages(), "RASA_1120_tag")["state"],
        "delivered"
    );
    sb.shutdown().await;
}

#[test]
fn the_example_ledgers_load() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in ["ledgers/getui-tasks.jsonl", "ledgers/getui-scheduled.csv"] {
        let l = load_ledger(&root.join(f)).unwrap();
        assert!(!l.is_empty(), "{f}");
        assert!(l.iter().all(|m| m.provider == "getui"), "{f}");
    }
    let l = load_ledger(&root.join("ledgers/getui-tasks.jsonl")).unwrap();
    assert!(l.iter().any(|m| m.extra.get("notify_id").is_some()));
    assert!(l.iter().any(|m| m.extra.get("notify_id").is_none()));
}

#[test]
fn ledger_records_are_checked() {
    let rec = |v: Value| super::seed::parse(v.as_object().unwrap());
    assert!(rec(json!({"taskid": "RASA_1"})).is_ok());
    assert!(rec(json!({"taskid": 42})).is_err());
    assert!(rec(json!({"taskid": "has space"})).is_err());
    assert!(rec(json!({"taskid": "RASA_1", "audience_type": "broadcast"})).is_err());
    assert!(rec(json!({"taskid": "RASA_1", "notify_id": 2147483648u64})).is_err());
    assert_eq!(
        rec(json!({"taskid": "RASA_1", "notify_id": "17"}))
            .unwrap()
            .extra["notify_id"],
        17
    );
    assert!(rec(json!({"taskid": "RASA_1", "scheduled": "soon"})).is_err());
}
