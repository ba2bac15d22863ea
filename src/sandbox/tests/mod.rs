//! End-to-end tests of the sandbox over HTTP (reqwest against 127.0.0.1:0), checked against the
//! samples, vectors and error codes of the references: what the generic part does (faults,
//! debug endpoints, routing, seeding, config). Each provider's own tests are beside it
//! (`jpush/tests.rs`, `tpns/tests.rs`); the fixtures they share are in [`support`].

pub(super) mod support;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{Faults, Sandbox, SandboxConfig, load_ledger, tpns};
use support::*;

#[tokio::test]
async fn fault_5xx_does_nothing() {
    let mut c = config();
    c.faults = Faults::parse("5xx=1").unwrap();
    let sb = start(c).await;
    let a = jpush(
        &sb,
        reqwest::Method::DELETE,
        &format!("/v3/push/{FRESH}"),
        None,
    )
    .await;
    assert_eq!(a.status, 503);
    assert_eq!(a.json["error"]["code"], 1030);
    assert!(a.header("X-Rate-Limit-Remaining").is_some());
    let t = tpns(&sb, "/v3/push/stop_push_msg", r#"{"pushId":"3895624700"}"#).await;
    assert_eq!(t.status, 503);
    assert_eq!(
        t.json,
        json!({"ret_code":1008004,"err_msg":"invoke service error"})
    );
    let m = sb.messages();
    assert_eq!(message(&m, &FRESH.to_string())["state"], "delivered");
    assert_eq!(message(&m, "3895624700")["state"], "delivered");
    let log = sb.requests();
    assert_eq!(log[0]["fault"], "5xx");
    // Debug endpoints are never faulted.
    let d = answer(client().get(format!("{}/_sandbox/messages", sb.url()))).await;
    assert_eq!(d.status, 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn fault_reset_drops_the_connection_and_does_nothing() {
    let mut c = config();
    c.faults = Faults::parse("reset=1").unwrap();
    let sb = start(c).await;
    let r = client()
        .delete(format!("{}/v3/push/{FRESH}", sb.url()))
        .header("Authorization", JPUSH_BASIC)
        .send()
        .await;
    let e = r.expect_err("no HTTP answer");
    assert!(!e.is_timeout(), "{e:?}");
    assert_eq!(
        message(&sb.messages(), &FRESH.to_string())["state"],
        "delivered"
    );
    let log = sb.requests();
    assert_eq!(log[0]["fault"], "reset");
    assert_eq!(log[0]["outcome"], "reset");
    assert_eq!(log[0]["status"], Value::Null);
    sb.shutdown().await;
}

#[tokio::test]
async fn fault_timeout_performs_then_holds_and_shutdown_does_not_hang() {
    let mut c = config();
    c.faults = Faults::parse("timeout=1").unwrap();
    let sb = start(c).await;
    let cid = {
        // Take the cid while the sandbox answers... it never does with timeout=1, so issue
        // through a second sandbox-free path: read it from the log after the held request.
        let r = client()
            .get(format!("{}/v3/push/cid", sb.url()))
            .header("Authorization", JPUSH_BASIC)
            .timeout(Duration::from_millis(300))
            .send()
            .await;
        assert!(r.expect_err("held").is_timeout());
        let log = sb.requests();
        assert_eq!(log[0]["outcome"], "held");
        assert_eq!(log[0]["status"], 200);
        log[0]["response"]["cidlist"][0]
            .as_str()
            .unwrap()
            .to_string()
    };
    // The operation happened although the answer was lost: a retry with the same cid is then
    // de-duplicated.
    let body = serde_json::to_vec(&override_body(FRESH, Some(&cid))).unwrap();
    for _ in 0..2 {
        let r = client()
            .post(format!("{}/v3/push", sb.url()))
            .header("Authorization", JPUSH_BASIC)
            .body(body.clone())
            .timeout(Duration::from_millis(300))
            .send()
            .await;
        assert!(r.expect_err("held").is_timeout());
    }
    let m = sb.messages();
    assert_eq!(
        message(&m, &FRESH.to_string())["overridden_by"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let log = sb.requests();
    assert_eq!(log[1]["response"], log[2]["response"]);
    assert_eq!(
        log[2]["note"],
        "repeated cid: the first result again, nothing pushed"
    );

    // A connection is still held; shutdown must not wait for it.
    let held = tokio::spawn({
        let url = sb.url();
        async move {
            client()
                .delete(format!("{url}/v3/push/{FRESH2}"))
                .header("Authorization", JPUSH_BASIC)
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    sb.shutdown().await;
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    let r = tokio::time::timeout(Duration::from_secs(3), held)
        .await
        .unwrap()
        .unwrap();
    assert!(r.is_err(), "the held request gets no answer");
}

#[tokio::test]
async fn fault_latency_delays_answers() {
    let mut c = config();
    c.faults = Faults::parse("latency=150ms").unwrap();
    let sb = start(c).await;
    let t0 = Instant::now();
    let a = jpush(&sb, reqwest::Method::GET, "/v3/push/cid", None).await;
    assert_eq!(a.status, 200);
    assert!(
        t0.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(sb.requests()[0]["latency_ms"], 150);
    let t0 = Instant::now();
    answer(client().get(format!("{}/_sandbox/requests", sb.url()))).await;
    assert!(
        t0.elapsed() < Duration::from_millis(150),
        "no latency on /_sandbox"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn debug_endpoints_never_contain_secrets() {
    let mut c = config();
    c.enable("tpns.revoke").unwrap();
    let sb = start(c).await;
    let c = cid(&sb).await;
    jpush(
        &sb,
        reqwest::Method::POST,
        "/v3/push",
        Some(&override_body(FRESH, Some(&c))),
    )
    .await;
    jpush(
        &sb,
        reqwest::Method::DELETE,
        &format!("/v3/push/{FRESH2}"),
        None,
    )
    .await;
    let body = r#"{"pushId":"3895624700"}"#;
    let ts = Timestamp::now().as_second().to_string();
    let sign = tpns::sign(TPNS_SECRET, &ts, TPNS_ID, body.as_bytes());
    answer(
        client()
            .post(format!("{}/v3/push/stop_push_msg", sb.url()))
            .header("AccessId", TPNS_ID)
            .header("TimeStamp", &ts)
            .header("Sign", &sign)
            .body(body),
    )
    .await;
    let tpns_basic_header = STANDARD.encode(format!("{TPNS_ID}:{TPNS_SECRET}"));
    tpns_basic(&sb, "/v3/push/revoke_push_msg", TPNS_ID, TPNS_SECRET, body).await;
    // Swapped fields (the secret where the key belongs) must not leak through the auth summary.
    let swapped = format!(
        "Basic {}",
        STANDARD.encode(format!("{JPUSH_SECRET}:{JPUSH_KEY}"))
    );
    answer(
        client()
            .get(format!("{}/v3/push/cid", sb.url()))
            .header("Authorization", &swapped),
    )
    .await;
    tpns_basic(&sb, "/v3/push/stop_push_msg", TPNS_SECRET, TPNS_ID, body).await;
    answer(client().get(format!("{}/nope", sb.url()))).await;

    let requests = answer(client().get(format!("{}/_sandbox/requests", sb.url()))).await;
    let messages = answer(client().get(format!("{}/_sandbox/messages", sb.url()))).await;
    let index = answer(client().get(format!("{}/_sandbox", sb.url()))).await;
    assert_eq!(requests.json, sb.requests());
    assert_eq!(messages.json, sb.messages());
    let log = requests.json.as_array().unwrap();
    assert_eq!(log.len(), 8);
    assert_eq!(log[1]["method"], "POST");
    assert_eq!(log[1]["path"], "/v3/push");
    assert_eq!(log[1]["provider"], "jpush");
    assert_eq!(log[1]["body"]["options"]["override_msg_id"], json!(FRESH));
    assert_eq!(log[1]["status"], 200);
    assert_eq!(log[3]["headers"]["accessid"], TPNS_ID);
    assert_eq!(log[7]["status"], 404);
    let time = log[0]["time"].as_str().unwrap();
    assert!(
        time.parse::<Timestamp>().is_ok() && time.len() == "2026-11-20T02:02:11.123Z".len(),
        "{time}"
    );
    for text in [&requests.text, &messages.text, &index.text] {
        for secret in [
            JPUSH_SECRET,
            JPUSH_BASIC,
            "N2Q0MzFlNDJkZmE2YTZkNjkzYWMyZDA0OjVlOTg3YWM2ZDJlMDRkOTVhOWQ4ZjBkMQ",
            TPNS_SECRET,
            &tpns_basic_header,
            &sign,
            &swapped,
        ] {
            assert!(!text.contains(secret), "a secret leaked: {secret}");
        }
    }
    sb.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let sb = start(config()).await;
    let a = answer(client().get(format!("{}/v3/push/app/x", sb.url()))).await;
    assert_eq!(a.status, 404);
    let a = answer(client().get(format!("{}/v4/anything", sb.url()))).await;
    assert_eq!(a.status, 404);
    let a = jpush(&sb, reqwest::Method::GET, "/v3/push", None).await;
    assert_eq!(
        (a.status, a.json["error"]["code"].as_u64()),
        (405, Some(1001))
    );
    assert!(a.header("X-Rate-Limit-Reset").is_some());
    let a = answer(client().get(format!("{}/v3/push/stop_push_msg", sb.url()))).await;
    assert_eq!(a.status, 405);
    sb.shutdown().await;
}

#[tokio::test]
async fn seeded_from_the_example_ledgers() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seed = load_ledger(&root.join("ledgers/jpush-sends.jsonl")).unwrap();
    seed.extend(load_ledger(&root.join("ledgers/tpns-scheduled.csv")).unwrap());
    let n = seed.len();
    let mut c = config();
    // As of 2026-11-20 20:30 Beijing time: the 21 Nov tasks are not yet dispatched.
    let asof: Timestamp = "2026-11-20T20:30:00+08:00".parse().unwrap();
    c.clock_offset = asof.duration_since(Timestamp::now());
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sb = Sandbox::start(c, seed, l).await.unwrap();
    assert_eq!(count(&sb.messages()), n);
    let a = tpns(
        &sb,
        "/v3/push/cancel_timing_task",
        r#"{"pushId":"4100000001"}"#,
    )
    .await;
    assert_eq!(a.json["ret_code"], 0, "{}", a.text);
    let a = tpns(
        &sb,
        "/v3/push/cancel_timing_task",
        r#"{"pushId":"4100000003"}"#,
    )
    .await;
    assert_eq!(a.json["ret_code"], 1008007, "dispatched at 20:00");
    let a = tpns(
        &sb,
        "/v3/push/cancel_timing_task",
        r#"{"pushId":"4100000005"}"#,
    )
    .await;
    assert_eq!(
        a.json["ret_code"], 1008007,
        "token_list cannot be cancelled"
    );
    let a = jpush(
        &sb,
        reqwest::Method::POST,
        "/v3/push",
        Some(&override_body(67554224848000060, None)),
    )
    .await;
    assert_eq!(
        a.status, 200,
        "sent 12 h before the sandbox clock: {}",
        a.text
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn random_credentials_look_real() {
    let c = SandboxConfig::with_random_credentials();
    let jpush = c.credentials("jpush").unwrap();
    let tpns = c.credentials("tpns").unwrap();
    for k in [&jpush.id, &jpush.secret] {
        assert_eq!(k.len(), 24);
        assert!(k.chars().all(|c| c.is_ascii_alphanumeric()));
    }
    assert_eq!(tpns.id.len(), 10);
    assert_eq!(tpns.secret.len(), 32);
    assert_ne!(
        jpush.id,
        SandboxConfig::with_random_credentials()
            .credentials("jpush")
            .unwrap()
            .id
    );
    assert!(c.rate.is_none() && c.faults.is_none() && !c.enabled("tpns.revoke"));
    let shown = format!("{c:?}");
    assert!(!shown.contains(&jpush.secret) && !shown.contains(&tpns.secret));
}
