//! Fixtures and HTTP clients for the sandbox's tests (reqwest against 127.0.0.1:0).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::domain::Rate;
use crate::sandbox::message::Scheduled;
use crate::sandbox::{Credentials, Sandbox, SandboxConfig, SeedMessage, jpush, tpns};

// The JPush doc's Basic-auth pair (reference §1) and TPNS's official signature example (§2.3).
pub(crate) const JPUSH_KEY: &str = "7d431e42dfa6a6d693ac2d04";
pub(crate) const JPUSH_SECRET: &str = "5e987ac6d2e04d95a9d8f0d1";
pub(crate) const JPUSH_BASIC: &str =
    "Basic N2Q0MzFlNDJkZmE2YTZkNjkzYWMyZDA0OjVlOTg3YWM2ZDJlMDRkOTVhOWQ4ZjBkMQ==";
pub(crate) const TPNS_ID: &str = "1500001048";
pub(crate) const TPNS_SECRET: &str = "1452fcebae9f3115ba794fb0fff2fd73";

pub(crate) const FRESH: u64 = 67554224848096790; // sent an hour ago
pub(crate) const FRESH2: u64 = 67554224848096791; // sent two hours ago
pub(crate) const OLD: u64 = 67554224848000001; // sent 25 hours ago

/// The reference's credentials, a rate no test reaches by accident, seed 1.
pub(crate) fn config() -> SandboxConfig {
    let mut c = SandboxConfig::with_random_credentials();
    *c.credentials_mut("jpush").unwrap() = Credentials::new(JPUSH_KEY, JPUSH_SECRET);
    *c.credentials_mut("tpns").unwrap() = Credentials::new(TPNS_ID, TPNS_SECRET);
    c.rate = Some(Rate::per_second(1000.0));
    c.seed = 1;
    c
}

pub(crate) fn ago(hours: i64) -> Timestamp {
    Timestamp::now() - SignedDuration::from_hours(hours)
}

pub(crate) fn tag_rules(tag: &str) -> Value {
    json!([{"tag_items":[{"tags":[tag],"is_not":false,"tags_operator":"OR","items_operator":"OR","tag_type":"xg_user_define"}],"operator":"OR","is_not":false}])
}

fn with(mut m: SeedMessage, key: &str, value: Value) -> SeedMessage {
    m.extra.insert(key.into(), value);
    m
}

pub(crate) fn seed() -> Vec<SeedMessage> {
    let mut fresh = with(
        jpush::seed_message(FRESH, ago(1)),
        "apns_collapse_id",
        json!("bf-1"),
    );
    fresh.audience = Some(json!({"tag": ["bf-promo"]}));
    let fresh2 = jpush::seed_message(FRESH2, ago(2));
    let old = jpush::seed_message(OLD, ago(25));

    let task = |id: &str, hours: i64, audience_type: &str| {
        with(
            tpns::seed_task(id, ago(hours)),
            "audience_type",
            json!(audience_type),
        )
    };
    let mut tag = with(task("3895624700", 1, "tag"), "collapse_id", json!(1000));
    tag.audience = Some(json!({"tag_rules": tag_rules("bf-promo")}));
    let mut tag2 = with(task("3895624705", 1, "tag"), "collapse_id", json!(1001));
    tag2.audience = Some(json!({"tag_rules": tag_rules("bf-promo")}));
    let mut token = with(
        task("3895624728", 1, "token_list"),
        "collapse_id",
        json!(1002),
    );
    token.audience = Some(json!({"token_list": ["0a1b2c"]}));
    let mut accounts = task("3895624763", 1, "account_list");
    accounts.audience = Some(json!({"account_list": ["u1", "u2"]}));
    // no collapse id: the sandbox assigns one
    let mut later = tpns::seed_task("4100000001", ago(2));
    later.scheduled = Scheduled::At(Timestamp::now() + SignedDuration::from_hours(5));
    let mut dispatched = tpns::seed_task("4100000003", ago(3));
    dispatched.scheduled = Scheduled::At(ago(1));
    vec![
        fresh, fresh2, old, tag, tag2, token, accounts, later, dispatched,
    ]
}

pub(crate) async fn start(config: SandboxConfig) -> Sandbox {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sandbox::start(config, seed(), l).await.unwrap()
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(crate) async fn answer(r: reqwest::RequestBuilder) -> Answer {
    let r = r.send().await.expect("an HTTP answer");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        text,
        json,
    }
}

/// A JPush request with the reference's Basic auth.
pub(crate) async fn jpush(
    sb: &Sandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Answer {
    let mut r = client()
        .request(method, format!("{}{path}", sb.url()))
        .header("Authorization", JPUSH_BASIC)
        .header("Content-Type", "application/json");
    if let Some(b) = body {
        r = r.body(serde_json::to_vec(b).unwrap());
    }
    answer(r).await
}

pub(crate) async fn cid(sb: &Sandbox) -> String {
    let a = jpush(
        sb,
        reqwest::Method::GET,
        "/v3/push/cid?count=1&type=push",
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json["cidlist"][0].as_str().unwrap().to_string()
}

pub(crate) fn override_body(msg_id: u64, cid: Option<&str>) -> Value {
    let mut b = json!({
        "platform": ["android", "ios"],
        "audience": {"tag": ["bf-promo"]},
        "notification": {"android": {"alert": "Sorry, wrong link", "title": "48h sale"},
                          "ios": {"alert": "Sorry, wrong link"}},
        "options": {"override_msg_id": msg_id, "apns_production": true, "apns_collapse_id": "bf-1"},
    });
    if let Some(c) = cid {
        b["cid"] = json!(c);
    }
    b
}

/// Signature-auth TPNS request with the current time, over exactly `body`.
pub(crate) async fn tpns(sb: &Sandbox, path: &str, body: &str) -> Answer {
    let c = sb.config().credentials("tpns").unwrap();
    let ts = Timestamp::now().as_second().to_string();
    let sign = tpns::sign(&c.secret, &ts, &c.id, body.as_bytes());
    answer(
        client()
            .post(format!("{}{path}", sb.url()))
            .header("Content-Type", "application/json")
            .header("AccessId", &c.id)
            .header("TimeStamp", ts)
            .header("Sign", sign)
            .body(body.to_string()),
    )
    .await
}

pub(crate) async fn tpns_basic(
    sb: &Sandbox,
    path: &str,
    user: &str,
    pass: &str,
    body: &str,
) -> Answer {
    let basic = format!("Basic {}", STANDARD.encode(format!("{user}:{pass}")));
    answer(
        client()
            .post(format!("{}{path}", sb.url()))
            .header("Authorization", basic)
            .header("Content-Type", "application/json")
            .body(body.to_string()),
    )
    .await
}

pub(crate) fn message<'a>(all: &'a Value, id: &str) -> &'a Value {
    all.as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no message {id}"))
}

pub(crate) fn count(all: &Value) -> usize {
    all.as_array().unwrap().len()
}
