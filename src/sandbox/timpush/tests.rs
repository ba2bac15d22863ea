//! TIMPush end to end over HTTP: UserSig verification in the query, the auth codes, revoke
//! (stop, override, once per task, the 24 h window, both OfflinePushInfo readings), the
//! scheduled tasks, the push that creates tasks, rates, faults, and the debug views.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{Timpush, mint_stored, seed_task};
use crate::domain::Rate;
use crate::sandbox::message::Scheduled;
use crate::sandbox::provider::SandboxProvider;
use crate::sandbox::tests::support::{Answer, ago, answer, client, message};
use crate::sandbox::{Credentials, Faults, Sandbox, SandboxConfig, SeedMessage, load_ledger};

const APPID: u64 = 1400000000;
const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
/// reference/timpush.md §2.4.
const VECTOR: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkElNyM-Myi0uKEkvyi2BKilOyEwsKMlOACgxNDKAAKpdaUZBZlAqSMTU1NUKIl2TmgkXN0dQXZ6aD7PFyrqpIzHOz8AsJiUgsNcnVNsqwLC8zT4-0yqv0yy7ONajINfRzjQg1MjexVaoFANTGNgc_";

fn config(rate: f64) -> SandboxConfig {
    let mut c = SandboxConfig::with_random_credentials();
    let mut t = Credentials::new(APPID.to_string(), KEY);
    t.set_extra("identifier", "administrator");
    *c.credentials_mut("timpush").unwrap() = t;
    c.rate = Some(Rate::per_second(rate));
    c.seed = 1;
    c
}

fn seeds() -> Vec<SeedMessage> {
    let mut pending = seed_task("sched-41", ago(2), "all");
    pending.extra.insert("sched_task_id".into(), json!(41));
    pending.scheduled = Scheduled::At(Timestamp::now() + SignedDuration::from_hours(5));
    let mut dispatched = seed_task("6a_42", ago(3), "tag");
    dispatched.extra.insert("sched_task_id".into(), json!(42));
    dispatched.scheduled = Scheduled::At(ago(1));
    vec![
        seed_task("t_all", ago(1), "all"),
        seed_task("t_tag", ago(2), "tag"),
        seed_task("t_user", ago(1), "user"),
        seed_task("t_old", ago(25), "tag"),
        seed_task("t_tag2", ago(2), "tag"),
        pending,
        dispatched,
    ]
}

async fn start(c: SandboxConfig, check_clock: bool) -> Sandbox {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sandbox::start_with(c, seeds(), l, check_clock)
        .await
        .unwrap()
}

fn query(identifier: &str, usersig: &str) -> String {
    format!(
        "sdkappid={APPID}&identifier={identifier}&usersig={usersig}&random=99999999&contenttype=json"
    )
}

/// A fresh UserSig for `identifier` (Go-style, uncompressed zlib).
fn fresh(identifier: &str) -> String {
    mint_stored(
        APPID,
        identifier,
        KEY,
        Timestamp::now().as_second() as u64,
        86400,
    )
}

async fn call_q(sb: &Sandbox, path: &str, q: &str, body: &Value) -> Answer {
    answer(
        client()
            .post(format!("{}/v4/timpush/{path}?{q}", sb.url()))
            .header("Content-Type", "application/json")
            .body(body.to_string()),
    )
    .await
}

async fn call(sb: &Sandbox, path: &str, body: Value) -> Answer {
    call_q(
        sb,
        path,
        &query("administrator", &fresh("administrator")),
        &body,
    )
    .await
}

fn code(a: &Answer) -> u64 {
    assert_eq!(a.status, 200, "{}", a.text);
    a.json["ErrorCode"].as_u64().unwrap()
}

#[tokio::test]
async fn the_reference_usersig_verifies_by_decoding_not_by_bytes() {
    // The vector's time is 2023: accepted with the clock check off, expired with it on.
    let sb = start(config(1000.0), false).await;
    let body = json!({"TaskId": "t_all", "OfflinePushInfo": {"PushFlag": 1}});
    let a = call_q(&sb, "revoke", &query("administrator", VECTOR), &body).await;
    assert_eq!(
        a.json,
        json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0})
    );
    sb.shutdown().await;
    let sb = start(config(1000.0), true).await;
    let a = call_q(&sb, "revoke", &query("administrator", VECTOR), &body).await;
    assert_eq!(code(&a), 70001);
    assert_eq!(a.json["ActionStatus"], "FAIL");
    // The same document compressed another way (Go) verifies as well.
    let a = call_q(
        &sb,
        "revoke",
        &query("administrator", &fresh("administrator")),
        &body,
    )
    .await;
    assert_eq!(code(&a), 0, "{}", a.text);
    sb.shutdown().await;
}

#[tokio::test]
async fn auth_codes() {
    let sb = start(config(1000.0), true).await;
    let body = json!({"TaskId": "t_tag", "OfflinePushInfo": {"PushFlag": 1}});
    let sig = fresh("administrator");
    let cases: Vec<(String, u64)> = vec![
        (
            format!("identifier=administrator&usersig={sig}&random=1&contenttype=json"),
            60012,
        ),
        (
            format!(
                "sdkappid=1400000001&identifier=administrator&usersig={sig}&random=1&contenttype=json"
            ),
            70020,
        ),
        (
            format!("sdkappid={APPID}&usersig={sig}&random=1&contenttype=json"),
            60004,
        ),
        (
            format!("sdkappid={APPID}&identifier=administrator&random=1&contenttype=json"),
            60005,
        ),
        (
            format!(
                "sdkappid={APPID}&identifier=administrator&usersig={sig}&random=x&contenttype=json"
            ),
            60002,
        ),
        (
            format!(
                "sdkappid={APPID}&identifier=administrator&usersig={sig}&random=1&contenttype=xml"
            ),
            60002,
        ),
        (query("xiaojun", &sig), 70013),
        (query("administrator", "eJyrVgrxCdYrSy1SslJQ"), 70003),
        (
            query(
                "administrator",
                &mint_stored(
                    APPID,
                    "administrator",
                    &KEY.replace('5', "6"),
                    Timestamp::now().as_second() as u64,
                    600,
                ),
            ),
            70009,
        ),
        (
            query(
                "administrator",
                &mint_stored(
                    1400000009,
                    "administrator",
                    KEY,
                    Timestamp::now().as_second() as u64,
                    600,
                ),
            ),
            70014,
        ),
        // A valid UserSig for an account that is not an App admin.
        (query("ops", &fresh("ops")), 90009),
    ];
    for (q, want) in cases {
        let a = call_q(&sb, "revoke", &q, &body).await;
        assert_eq!(code(&a), want, "{q}: {}", a.text);
    }
    // Nothing was revoked, and the log never shows a UserSig.
    assert_eq!(message(&sb.messages(), "t_tag")["state"], "delivered");
    let log = serde_json::to_string(&sb.requests()).unwrap();
    assert!(!log.contains(&sig), "{log}");
    assert!(log.contains("usersig=<redacted>"));
    assert!(!log.contains(KEY));
    sb.shutdown().await;
}

#[tokio::test]
async fn revoke_stops_or_overrides_once_within_24_hours() {
    let sb = start(config(1000.0), true).await;
    let stop = |id: &str| json!({"TaskId": id, "OfflinePushInfo": {"PushFlag": 1}});
    assert_eq!(code(&call(&sb, "revoke", stop("t_all")).await), 0);
    // Once per task, whatever the second revoke asks.
    assert_eq!(code(&call(&sb, "revoke", stop("t_all")).await), 90050);
    let over = json!({"TaskId": "t_tag", "OfflinePushInfo": {"PushFlag": 0, "Title": "Fixed", "Desc": "Sorry", "Ext": "{\"url\":\"app://x\"}"}});
    assert_eq!(code(&call(&sb, "revoke", over.clone()).await), 0);
    assert_eq!(code(&call(&sb, "revoke", over).await), 90050);
    assert_eq!(code(&call(&sb, "revoke", stop("t_old")).await), 90052);
    assert_eq!(code(&call(&sb, "revoke", stop("nope")).await), 90049);
    assert_eq!(code(&call(&sb, "revoke", stop("t_user")).await), 90049);
    // A scheduled task not yet dispatched has no push record.
    assert_eq!(code(&call(&sb, "revoke", stop("sched-41")).await), 90049);
    assert_eq!(
        code(&call(&sb, "revoke", json!({"TaskId": "t_tag2"})).await),
        90053
    );
    assert_eq!(
        code(&call(&sb, "revoke", json!({"OfflinePushInfo": {}})).await),
        90001
    );
    let m = sb.messages();
    let all = message(&m, "t_all");
    assert_eq!(all["state"], "stopped");
    assert_eq!(all["revoke"], "stop");
    assert!(all["stopped_at"].is_string());
    assert_eq!(all["overridden_at"], Value::Null);
    let tag = message(&m, "t_tag");
    assert_eq!(tag["state"], "overridden");
    assert!(tag["stopped_at"].is_string() && tag["overridden_at"].is_string());
    assert_eq!(tag["override"]["Desc"], "Sorry");
    assert_eq!(tag["overridden_by"], json!([]));
    assert_eq!(message(&m, "t_tag2")["state"], "delivered");
    sb.shutdown().await;
}

#[tokio::test]
async fn the_strict_2025_reading_refuses_the_stop_only_form() {
    let mut c = config(1000.0);
    c.enable("timpush.strict_2025").unwrap();
    let sb = start(c, true).await;
    let a = call(
        &sb,
        "revoke",
        json!({"TaskId": "t_all", "OfflinePushInfo": {"PushFlag": 1}}),
    )
    .await;
    assert_eq!(code(&a), 90053);
    let a = call(
        &sb,
        "revoke",
        json!({"TaskId": "t_all", "OfflinePushInfo": {"Title": "T", "Desc": "D"}}),
    )
    .await;
    assert_eq!(code(&a), 0);
    assert_eq!(message(&sb.messages(), "t_all")["revoke"], "override");
    sb.shutdown().await;
}

#[tokio::test]
async fn revoke_is_limited_to_one_a_second() {
    let sb = start(config(1.0), true).await;
    let stop = |id: &str| json!({"TaskId": id, "OfflinePushInfo": {"PushFlag": 1}});
    let first = code(&call(&sb, "revoke", stop("t_all")).await);
    let second = code(&call(&sb, "revoke", stop("t_tag")).await);
    // Two calls in a row: unless a window boundary fell between them, the second is refused.
    if first == 0 && second == 0 {
        assert_eq!(code(&call(&sb, "revoke", stop("t_tag2")).await), 90051);
    } else {
        assert_eq!((first, second), (0, 90051));
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn scheduled_tasks_by_their_integer_id() {
    let sb = start(config(1000.0), true).await;
    let get = |n: u64| json!({"Sdkappid": APPID, "TaskID": n});
    let a = call(&sb, "get_sched_task", get(41)).await;
    assert_eq!(code(&a), 0);
    assert_eq!(a.json["TaskInfo"]["Status"], "pending");
    assert_eq!(a.json["TaskInfo"]["PushTaskID"], "");
    assert_eq!(a.json["TaskInfo"]["Type"], "All");
    // Dispatched: its push TaskId, which revoke takes.
    let a = call(&sb, "get_sched_task", get(42)).await;
    assert_eq!(a.json["TaskInfo"]["PushTaskID"], "6a_42");
    let del = |n: u64, ty: &str| json!({"Sdkappid": APPID, "TaskID": n, "Type": ty});
    let a = call(&sb, "delete_sched_task", del(42, "Tag")).await;
    assert_eq!(code(&a), 90106);
    assert_eq!(a.json["TaskID"], 0);
    assert_eq!(
        code(&call(&sb, "delete_sched_task", del(41, "Tag")).await),
        90104
    );
    assert_eq!(
        code(&call(&sb, "delete_sched_task", del(41, "Nope")).await),
        90104
    );
    assert_eq!(
        code(
            &call(
                &sb,
                "delete_sched_task",
                json!({"Sdkappid": 1, "TaskID": 41, "Type": "All"})
            )
            .await
        ),
        90104
    );
    let a = call(&sb, "delete_sched_task", del(41, "All")).await;
    assert_eq!(
        a.json,
        json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "TaskID": 41})
    );
    assert_eq!(code(&call(&sb, "get_sched_task", get(41)).await), 90104);
    assert_eq!(
        code(&call(&sb, "delete_sched_task", del(41, "All")).await),
        90104
    );
    assert_eq!(code(&call(&sb, "get_sched_task", get(7)).await), 90104);
    assert_eq!(message(&sb.messages(), "sched-41")["state"], "cancelled");
    // add_sched_task: a new pending task.
    let at = (Timestamp::now() + SignedDuration::from_hours(2))
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string();
    let a = call(
        &sb,
        "add_sched_task",
        json!({"Sdkappid": APPID, "Type": "Tag", "SchedAt": at, "Content": {"From_Account": "administrator", "Condition": {"TagsOr": ["bf"]}, "OfflinePushInfo": {"Title": "T", "Desc": "D"}}}),
    )
    .await;
    assert_eq!(code(&a), 0, "{}", a.text);
    let n = a.json["TaskID"].as_u64().unwrap();
    let a = call(&sb, "get_sched_task", get(n)).await;
    assert_eq!(a.json["TaskInfo"]["Status"], "pending");
    assert_eq!(
        code(&call(&sb, "delete_sched_task", del(n, "Tag")).await),
        0
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_push_creates_a_task_to_revoke() {
    let sb = start(config(1000.0), true).await;
    let c5 = json!({"From_Account": "administrator", "MsgRandom": 3674128, "OfflinePushInfo": {"PushFlag": 0, "Title": "离线推送标题", "Desc": "离线推送内容"}});
    let a = call(&sb, "push", c5.clone()).await;
    assert_eq!(code(&a), 0);
    let id = a.json["TaskId"].as_str().unwrap().to_string();
    // The same MsgRandom: the same task.
    assert_eq!(call(&sb, "push", c5).await.json["TaskId"], id);
    assert_eq!(
        code(&call(&sb, "push", json!({"From_Account": "a"})).await),
        90005
    );
    let both = json!({"MsgRandom": 1, "Condition": {"TagsAnd": ["a"], "AttrsOr": {"x": "y"}}});
    assert_eq!(code(&call(&sb, "push", both).await), 90039);
    let many = json!({"MsgRandom": 2, "Condition": {"TagsOr": ["1","2","3","4","5","6","7","8","9","10","11"]}});
    assert_eq!(code(&call(&sb, "push", many).await), 90032);
    let a = call(
        &sb,
        "revoke",
        json!({"TaskId": id, "OfflinePushInfo": {"PushFlag": 1}}),
    )
    .await;
    assert_eq!(code(&a), 0);
    let m = sb.messages();
    assert_eq!(message(&m, &id)["source"], "sandbox");
    assert_eq!(message(&m, &id)["audience_type"], "all");
    sb.shutdown().await;
}

#[tokio::test]
async fn a_5xx_fault_is_a_gateway_error_and_changes_nothing() {
    let mut c = config(1000.0);
    c.faults = Faults::parse("5xx=1").unwrap();
    let sb = start(c, true).await;
    let a = call(
        &sb,
        "revoke",
        json!({"TaskId": "t_all", "OfflinePushInfo": {"PushFlag": 1}}),
    )
    .await;
    assert_eq!(a.status, 502);
    assert_eq!(message(&sb.messages(), "t_all")["state"], "delivered");
    assert_eq!(sb.requests()[0]["fault"], "5xx");
    sb.shutdown().await;
}

#[tokio::test]
async fn wrong_method_and_the_example_ledger() {
    let sb = start(config(1000.0), true).await;
    let a = answer(client().get(format!("{}/v4/timpush/revoke", sb.url()))).await;
    assert_eq!(a.status, 405);
    assert_eq!(a.json["ActionStatus"], "FAIL");
    sb.shutdown().await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let l = load_ledger(&root.join("ledgers/timpush-tasks.jsonl")).unwrap();
    assert!(l.iter().all(|m| m.provider == Timpush::NAME));
    assert!(l.iter().any(|m| super::seed::sched_task_id(m).is_some()));
    assert!(l.iter().any(|m| matches!(m.scheduled, Scheduled::At(_))));
    let p = root.join("target/timpush-bad-seed.jsonl");
    std::fs::write(&p, "{\"task_id\": 5}\n").unwrap();
    assert!(load_ledger(&p).unwrap_err().contains(":1: `task_id`"));
    std::fs::write(&p, "{\"task_id\": \"a\", \"sched_task_id\": \"x\"}\n").unwrap();
    assert!(load_ledger(&p).unwrap_err().contains("sched_task_id"));
    let _ = std::fs::remove_file(&p);
}
