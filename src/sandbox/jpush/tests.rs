//! JPush end to end over HTTP: auth, recall, override (window, cid), rate limit.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use tokio::net::TcpListener;

use crate::domain::Rate;
use crate::sandbox::Sandbox;
use crate::sandbox::tests::support::*;

#[tokio::test]
async fn jpush_basic_auth_vector_and_rejections() {
    assert_eq!(
        format!(
            "Basic {}",
            STANDARD.encode(format!("{JPUSH_KEY}:{JPUSH_SECRET}"))
        ),
        JPUSH_BASIC
    );
    let sb = start(config()).await;
    let a = jpush(&sb, reqwest::Method::GET, "/v3/push/cid", None).await;
    assert_eq!(a.status, 200);
    let cid = a.json["cidlist"][0].as_str().unwrap();
    assert!(
        cid.starts_with(&format!("{JPUSH_KEY}-")) && cid.len() == 24 + 1 + 36,
        "{cid}"
    );
    let a = jpush(
        &sb,
        reqwest::Method::GET,
        "/v3/push/cid?count=3&type=schedule",
        None,
    )
    .await;
    assert_eq!(a.json["cidlist"].as_array().unwrap().len(), 3);

    for auth in [
        None,
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{JPUSH_KEY}:wrongsecret"))
        )),
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{JPUSH_SECRET}:{JPUSH_KEY}"))
        )),
        Some("Bearer abc".to_string()),
    ] {
        let mut r = client().delete(format!("{}/v3/push/{FRESH}", sb.url()));
        if let Some(h) = &auth {
            r = r.header("Authorization", h);
        }
        let a = answer(r).await;
        assert_eq!(a.status, 401, "{auth:?}");
        assert_eq!(a.json["error"]["code"], 1004);
        assert!(a.header("X-Rate-Limit-Limit").is_some());
        assert!(a.header("X-Rate-Limit-Remaining").is_some());
        assert!(a.header("X-Rate-Limit-Reset").is_some());
    }
    // Nothing was recalled by the rejected calls.
    assert_eq!(
        message(&sb.messages(), &FRESH.to_string())["state"],
        "delivered"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn jpush_recall_twice() {
    let sb = start(config()).await;
    let a = jpush(
        &sb,
        reqwest::Method::DELETE,
        &format!("/v3/push/{FRESH}"),
        None,
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.text, "");
    assert_eq!(a.header("content-length"), Some("0"));
    let m = sb.messages();
    assert_eq!(message(&m, &FRESH.to_string())["state"], "recalled");
    assert!(message(&m, &FRESH.to_string())["recalled_at"].is_string());

    let again = jpush(
        &sb,
        reqwest::Method::DELETE,
        &format!("/v3/push/{FRESH}"),
        None,
    )
    .await;
    assert_eq!(again.status, 400);
    assert_eq!(
        again.json,
        json!({"error":{"code":1003,"message":"msgid doesn't exist"}})
    );
    let unknown = jpush(&sb, reqwest::Method::DELETE, "/v3/push/12345", None).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.json["error"]["code"], 1003);
    assert!(again.header("X-Rate-Limit-Remaining").is_some());
    sb.shutdown().await;
}

#[tokio::test]
async fn jpush_override_success_and_refusals() {
    let sb = start(config()).await;
    let before = count(&sb.messages());

    // Success: 200 {"sendno":"0","msg_id":"<string>"}; the original is marked overridden.
    let a = jpush(
        &sb,
        reqwest::Method::POST,
        "/v3/push",
        Some(&override_body(FRESH, None)),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["sendno"], "0");
    let new_id = a.json["msg_id"]
        .as_str()
        .expect("msg_id is a string")
        .to_string();
    let n: u64 = new_id.parse().unwrap();
    assert!(n > 1 << 53, "new ids exceed 2^53: {n}");
    assert!(a.header("X-Rate-Limit-Limit").is_some());
    let m = sb.messages();
    assert_eq!(count(&m), before + 1);
    let orig = message(&m, &FRESH.to_string());
    assert_eq!(orig["state"], "overridden");
    assert_eq!(orig["overridden_by"], json!([new_id]));
    let sent = message(&m, &new_id);
    assert_eq!(sent["overrides"], FRESH.to_string());
    assert_eq!(sent["sent"]["apns_production"], true);
    assert_eq!(sent["sent"]["checks"]["audience_matches_original"], true);
    assert_eq!(
        sent["sent"]["checks"]["apns_collapse_id_matches_original"],
        true
    );

    // Overriding twice within the window is allowed; sendno is echoed as a string.
    let mut b = override_body(FRESH, None);
    b["options"]["sendno"] = json!(18);
    let a2 = jpush(&sb, reqwest::Method::POST, "/v3/push", Some(&b)).await;
    assert_eq!(a2.status, 200, "{}", a2.text);
    assert_eq!(a2.json["sendno"], "18");
    // sendno is unsigned 32-bit: the top of the Node SDK's range is echoed, past 2^32 is 1003.
    b["options"]["sendno"] = json!(4_294_967_294u64);
    let a3 = jpush(&sb, reqwest::Method::POST, "/v3/push/validate", Some(&b)).await;
    assert_eq!((a3.status, &a3.json["sendno"]), (200, &json!("4294967294")));
    b["options"]["sendno"] = json!(4_294_967_296u64);
    let a4 = jpush(&sb, reqwest::Method::POST, "/v3/push/validate", Some(&b)).await;
    assert_eq!(
        (a4.status, a4.json["error"]["code"].as_u64()),
        (400, Some(1003))
    );
    let m = sb.messages();
    assert_eq!(
        message(&m, &FRESH.to_string())["overridden_by"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let after_ok = count(&m);

    // Unknown, recalled and >1-day-old ids: HTTP 400, 1003, nothing pushed.
    let r = jpush(
        &sb,
        reqwest::Method::DELETE,
        &format!("/v3/push/{FRESH2}"),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    for id in [12345u64, FRESH2, OLD] {
        let a = jpush(
            &sb,
            reqwest::Method::POST,
            "/v3/push",
            Some(&override_body(id, None)),
        )
        .await;
        assert_eq!(a.status, 400, "{id}: {}", a.text);
        assert_eq!(a.json["error"]["code"], 1003, "{id}");
    }
    // override_msg_id as a string or a float is an error too.
    let mut s = override_body(FRESH, None);
    s["options"]["override_msg_id"] = json!(FRESH.to_string());
    let a = jpush(&sb, reqwest::Method::POST, "/v3/push", Some(&s)).await;
    assert_eq!(
        (a.status, a.json["error"]["code"].as_u64()),
        (400, Some(1003))
    );
    let float = serde_json::to_string(&override_body(FRESH, None))
        .unwrap()
        .replace(&FRESH.to_string(), "6.755422484809679e16");
    let a = answer(
        client()
            .post(format!("{}/v3/push", sb.url()))
            .header("Authorization", JPUSH_BASIC)
            .body(float),
    )
    .await;
    assert_eq!(
        (a.status, a.json["error"]["code"].as_u64()),
        (400, Some(1003))
    );
    // Missing platform: 1002; unknown key: 1009.
    let mut b = override_body(FRESH, None);
    b.as_object_mut().unwrap().remove("platform");
    let a = jpush(&sb, reqwest::Method::POST, "/v3/push", Some(&b)).await;
    assert_eq!(a.json["error"]["code"], 1002);
    let mut b = override_body(FRESH, None);
    b["options"]["overide_msg_id"] = json!(1);
    let a = jpush(&sb, reqwest::Method::POST, "/v3/push", Some(&b)).await;
    assert_eq!(a.json["error"]["code"], 1009);
    // Not JSON at all.
    let a = answer(
        client()
            .post(format!("{}/v3/push", sb.url()))
            .header("Authorization", JPUSH_BASIC)
            .body("{not json"),
    )
    .await;
    assert_eq!(a.status, 400);

    // validate checks the same but sends nothing.
    let v = jpush(
        &sb,
        reqwest::Method::POST,
        "/v3/push/validate",
        Some(&override_body(FRESH, None)),
    )
    .await;
    assert_eq!(v.status, 200);
    let v = jpush(
        &sb,
        reqwest::Method::POST,
        "/v3/push/validate",
        Some(&override_body(OLD, None)),
    )
    .await;
    assert_eq!(v.json["error"]["code"], 1003);

    assert_eq!(
        count(&sb.messages()),
        after_ok,
        "refused overrides pushed nothing"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn jpush_override_window_follows_the_sandbox_clock() {
    // A message sent at a fixed time, and a sandbox clock set back to 2.5 h / 26 h after it.
    let sent: Timestamp = "2026-11-20T10:00:00+08:00".parse().unwrap();
    let ledger = vec![super::seed_message(FRESH, sent)];
    for (hours_after, expect) in [(2, 200), (26, 400)] {
        let mut c = config();
        c.clock_offset =
            (sent + SignedDuration::from_hours(hours_after)).duration_since(Timestamp::now());
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sb = Sandbox::start(c, ledger.clone(), l).await.unwrap();
        let a = jpush(
            &sb,
            reqwest::Method::POST,
            "/v3/push",
            Some(&override_body(FRESH, None)),
        )
        .await;
        assert_eq!(a.status, expect, "{hours_after}h: {}", a.text);
        sb.shutdown().await;
    }
}

#[tokio::test]
async fn jpush_cid_deduplicates_pushes() {
    let sb = start(config()).await;
    let before = count(&sb.messages());
    let c = cid(&sb).await;
    let a = jpush(
        &sb,
        reqwest::Method::POST,
        "/v3/push",
        Some(&override_body(FRESH, Some(&c))),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let b = jpush(
        &sb,
        reqwest::Method::POST,
        "/v3/push",
        Some(&override_body(FRESH, Some(&c))),
    )
    .await;
    assert_eq!(b.status, 200);
    assert_eq!(a.json, b.json, "the repeated cid returns the first result");
    let m = sb.messages();
    assert_eq!(count(&m), before + 1, "pushed once");
    assert_eq!(
        message(&m, &FRESH.to_string())["overridden_by"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        message(&m, a.json["msg_id"].as_str().unwrap())["sent"]["cid"],
        c
    );
    // A cid the sandbox did not issue is refused.
    let fake = format!("{JPUSH_KEY}-00000000-0000-4000-8000-000000000000");
    let x = jpush(
        &sb,
        reqwest::Method::POST,
        "/v3/push",
        Some(&override_body(FRESH, Some(&fake))),
    )
    .await;
    assert_eq!(
        (x.status, x.json["error"]["code"].as_u64()),
        (400, Some(1003))
    );
    assert_eq!(count(&sb.messages()), before + 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn jpush_rate_limit_429_2002_with_headers() {
    let mut c = config();
    c.rate = Some(Rate::per_minute(3.0));
    let sb = start(c).await;
    for remaining in ["2", "1", "0"] {
        let a = jpush(&sb, reqwest::Method::GET, "/v3/push/cid", None).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.header("X-Rate-Limit-Limit"), Some("3"));
        assert_eq!(a.header("X-Rate-Limit-Remaining"), Some(remaining));
    }
    let a = jpush(
        &sb,
        reqwest::Method::DELETE,
        &format!("/v3/push/{FRESH}"),
        None,
    )
    .await;
    assert_eq!(a.status, 429);
    assert_eq!(
        a.json,
        json!({"error":{"code":2002,"message":"Rate limit exceeded"}})
    );
    assert_eq!(a.header("X-Rate-Limit-Limit"), Some("3"));
    assert_eq!(a.header("X-Rate-Limit-Remaining"), Some("0"));
    let reset: u64 = a.header("X-Rate-Limit-Reset").unwrap().parse().unwrap();
    assert!((1..=60).contains(&reset), "{reset}");
    assert_eq!(
        message(&sb.messages(), &FRESH.to_string())["state"],
        "delivered"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn jpush_push_refuses_a_content_type_other_than_json() {
    let sb = start(config()).await;
    let before = count(&sb.messages());
    let body = serde_json::to_vec(&override_body(FRESH, None)).unwrap();
    let post = |path: &str, content_type: &str| {
        client()
            .post(format!("{}{path}", sb.url()))
            .header("Authorization", JPUSH_BASIC)
            .header("Content-Type", content_type)
            .body(body.clone())
    };
    for (path, content_type) in [
        ("/v3/push", "text/plain"),
        ("/v3/push", "application/x-www-form-urlencoded"),
        ("/v3/push/validate", "text/plain"),
    ] {
        let a = answer(post(path, content_type)).await;
        assert_eq!(
            (a.status, a.json["error"]["code"].as_u64()),
            (400, Some(1003)),
            "{path} {content_type}: {}",
            a.text
        );
        assert!(a.header("X-Rate-Limit-Remaining").is_some());
    }
    assert_eq!(count(&sb.messages()), before, "nothing was pushed");
    assert_eq!(
        sb.requests()[0]["note"],
        "the Content-Type is `text/plain`, not application/json"
    );
    // JSON with parameters is JSON.
    let a = answer(post("/v3/push", "application/json; charset=utf-8")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(count(&sb.messages()), before + 1);
    sb.shutdown().await;
}

/// The push-body checks alone (no HTTP).
mod payload {
    use serde_json::{Value, json};

    use crate::sandbox::jpush::payload::{Push, title_body, validate};

    fn ok(v: Value) -> Push {
        match validate(&v) {
            Ok(p) => p,
            Err(e) => panic!("{v} refused: {e:?}"),
        }
    }

    fn code(v: Value) -> u32 {
        match validate(&v) {
            Ok(_) => panic!("{v} accepted"),
            Err((c, _)) => c,
        }
    }

    #[test]
    fn payload_error_codes_match_the_java_sdk_fixtures() {
        // jpush-api-java-client ResponseErrorTest: payload → expected code.
        assert_eq!(
            code(json!({"audience":"all","notification":{"alert":"a"}})),
            1002
        );
        assert_eq!(
            code(json!({"platform":"all","notification":{"alert":"a"}})),
            1002
        );
        assert_eq!(code(json!({"platform":"all","audience":"all"})), 1002);
        assert_eq!(
            code(json!({"platform":"all_platform","audience":"all","notification":{"alert":"a"}})),
            1003
        );
        assert_eq!(
            code(json!({"platform":"all","audience":"all_audience","notification":{"alert":"a"}})),
            1003
        );
        assert_eq!(
            code(json!({"platform":"all","audience":"all","notification":"alert"})),
            1003
        );
        assert_eq!(
            code(json!({"platform":"all","audience":"all","notification":{"android":"x"}})),
            1003
        );
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"android":{"alert":"a","builder_id":"builder_id_string"}}})
            ),
            1003
        );
        assert_eq!(
            code(json!({"platform":"all","audience":"all","notification":{"ios":{}}})),
            1002
        );
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"android":{"title":"t"}}})
            ),
            1002
        );
        assert_eq!(
            code(json!({"platform":"all","audience":"all","notification":{"hmos":{"title":"t"}}})),
            1002
        );
        assert_eq!(
            code(json!({"platform":"all","audience":"all","notification":{"ios":{"badge":1}}})),
            1002
        );
        // Unknown keys: 1009.
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"android":{"alert":"a","build_id":1}}})
            ),
            1009
        );
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"ios":{"alert":"a","content_available":1}}})
            ),
            1009
        );
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"alert":"a"},"extras":{}})
            ),
            1009
        );
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"alert":"a"},"options":{"overide_msg_id":1}})
            ),
            1009
        );
        // override_msg_id must be a JSON integer.
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"alert":"a"},"options":{"override_msg_id":"67554224848096790"}})
            ),
            1003
        );
        assert_eq!(code(serde_json::from_str(r#"{"platform":"all","audience":"all","notification":{"alert":"a"},"options":{"override_msg_id":6.755422484809679e16}}"#).unwrap()), 1003);
        assert_eq!(code(serde_json::from_str(r#"{"platform":"all","audience":"all","notification":{"alert":"a"},"options":{"override_msg_id":67554224848096790.0}}"#).unwrap()), 1003);
        assert_eq!(
            code(
                json!({"platform":"all","audience":"all","notification":{"alert":"a"},"options":{"apns_collapse_id":"x".repeat(65)}})
            ),
            1003
        );
        assert_eq!(
            code(
                json!({"platform":["android"],"audience":{"tag":[]},"notification":{"alert":"a"}})
            ),
            1003
        );
    }

    #[test]
    fn accepts_the_seed_examples_and_the_sdk_payloads() {
        // Seed 000's Android, iOS and HarmonyOS override examples (comments removed).
        let a = ok(
            json!({"platform":"all","audience":{"registration_id":["1507bfd3f710de7a40a"]},
            "notification":{"android":{"alert":"Hi, JPush!fvdgtredfgerg","title":"Send to androidre"}},
            "options":{"override_msg_id":67554224848096790u64,"third_party_channel":{"oppo":{"distribution":"jpush"}}}}),
        );
        assert_eq!(a.override_msg_id, Some(67554224848096790));
        let i = ok(
            json!({"platform":"all","audience":{"registration_id":["101d855909917e5faf8"]},
            "notification":{"ios":{"alert":"Hi, JPush!!!","sound":"default","badge":"+1","thread-id":"default","extras":{"key":"my_extra1"}}},
            "options":{"apns_production":false,"apns_collapse_id":"12345"}}),
        );
        assert_eq!(i.apns_collapse_id.as_deref(), Some("12345"));
        assert_eq!(i.apns_production, Some(false));
        ok(
            json!({"platform":"all","audience":{"registration_id":["1507bfd3f710de7a40a"]},
            "notification":{"hmos":{"alert":"Hi, JPush!fvdgtredfgerg","title":"Send to androidre"}},
            "options":{"override_msg_id":67554224848096790u64}}),
        );
        // Java PushPayloadTest minimal payloads.
        let p = ok(
            json!({"platform":"all","audience":"all","notification":{"alert":"alert"},"options":{"sendno":123,"apns_production":false}}),
        );
        assert_eq!(p.sendno, "123");
        ok(json!({"platform":"all","audience":"all","message":{"msg_content":"m"}}));
        ok(
            json!({"platform":["android","ios"],"audience":{"tag":["bf-promo"],"alias":["a"]},"notification":{"alert":"x","android":{"title":"t"}}}),
        );
    }

    #[test]
    fn sendno_is_an_unsigned_32_bit_integer() {
        let with = |n: Value| json!({"platform":"all","audience":"all","notification":{"alert":"a"},"options":{"sendno":n}});
        // The Node SDK's random range, and the type's bounds.
        for n in [1u64, 100_000, 2_147_483_648, 4_294_967_294, 4_294_967_295] {
            assert_eq!(ok(with(json!(n))).sendno, n.to_string());
        }
        for bad in [
            json!(0),
            json!(-1),
            json!(4_294_967_296u64),
            json!("123"),
            json!(1.5),
        ] {
            assert_eq!(code(with(bad.clone())), 1003, "{bad}");
        }
    }

    #[test]
    fn title_and_body_are_extracted() {
        let b = json!({"notification":{"android":{"alert":"B","title":"T"}}});
        assert_eq!(title_body(&b), (Some("T".into()), Some("B".into())));
        let b = json!({"notification":{"ios":{"alert":{"title":"T","body":"B"}}}});
        assert_eq!(title_body(&b), (Some("T".into()), Some("B".into())));
        let b = json!({"notification":{"alert":"B"}});
        assert_eq!(title_body(&b), (None, Some("B".into())));
    }
}

/// A message delivered now-ish over a short time_to_live, with counted receivers and sample
/// devices: the Report API's figures move within a test.
fn reporting_seed() -> Vec<crate::sandbox::SeedMessage> {
    let mut m =
        crate::sandbox::jpush::seed_message(FRESH, Timestamp::now() - SignedDuration::from_secs(5));
    m.extra.insert(
        "receivers_by_channel".into(),
        json!({"jpush": 100_000, "huawei": 100_000, "apns": 1000}),
    );
    m.extra.insert("time_to_live".into(), json!(60));
    m.extra.insert(
        "sample_registration_ids".into(),
        json!(["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"]),
    );
    let mut other = crate::sandbox::jpush::seed_message(FRESH2, Timestamp::now());
    other
        .extra
        .insert("sample_registration_ids".into(), json!(["x1"]));
    vec![m, other]
}

async fn reporting(faults: &str) -> Sandbox {
    let mut c = config();
    c.faults = crate::sandbox::Faults::parse(faults).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sandbox::start(c, reporting_seed(), l).await.unwrap()
}

async fn received(sb: &Sandbox, ids: &str) -> serde_json::Value {
    let a = jpush(
        sb,
        reqwest::Method::GET,
        &format!("/v3/received/detail?msg_ids={ids}"),
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.header("X-Rate-Limit-Limit").is_some());
    a.json
}

#[tokio::test]
async fn jpush_report_received_detail_follows_the_recall() {
    let sb = reporting("").await;
    let before = received(&sb, &format!("{FRESH},{FRESH2},42")).await;
    let rec = &before[0];
    assert_eq!(rec["msg_id"], FRESH.to_string());
    let j0 = rec["jpush_received"].as_u64().unwrap();
    assert!(j0 > 50_000 && j0 < 100_000, "{rec}");
    assert!(rec["android_pns_received"].as_u64().unwrap() > 50_000);
    assert_eq!(rec["android_pns_sent"], 100_000);
    assert_eq!(rec["ios_apns_sent"], 1000);
    assert!(rec["hmos_hmpns_received"].is_null(), "not an hmos message");
    // A msg_id the app never sent: every figure null.
    assert_eq!(before[2]["msg_id"], "42");
    assert!(before[2]["jpush_received"].is_null());
    // Recall: the JPush channel stops; Huawei (no recall) goes on.
    let a = jpush(
        &sb,
        reqwest::Method::DELETE,
        &format!("/v3/push/{FRESH}"),
        None,
    )
    .await;
    assert_eq!(a.status, 200);
    // (How counts move over time is delivery.rs's unit test; here, what stopped where.)
    let m = sb.messages();
    let stopped = &message(&m, &FRESH.to_string())["delivery_stopped"];
    for ch in ["jpush", "xiaomi", "vivo"] {
        assert!(stopped[ch].is_string(), "{ch}: {stopped}");
    }
    assert!(stopped["huawei"].is_null(), "{stopped}");
    let after = received(&sb, &FRESH.to_string()).await;
    assert!(after[0]["jpush_received"].as_u64() >= Some(j0));
    // Parameter errors, auth.
    let bad = jpush(
        &sb,
        reqwest::Method::GET,
        "/v3/received/detail?msg_ids=abc",
        None,
    )
    .await;
    assert_eq!(
        (bad.status, bad.json["error"]["code"].as_u64()),
        (400, Some(3002))
    );
    let many: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
    let bad = jpush(
        &sb,
        reqwest::Method::GET,
        &format!("/v3/received/detail?msg_ids={}", many.join(",")),
        None,
    )
    .await;
    assert_eq!(bad.status, 400);
    let noauth =
        answer(client().get(format!("{}/v3/received/detail?msg_ids={FRESH}", sb.url()))).await;
    assert_eq!(
        (noauth.status, noauth.json["error"]["code"].as_u64()),
        (401, Some(3001))
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn jpush_report_status_message() {
    let sb = reporting("").await;
    let ask = |body: serde_json::Value| {
        let sb = &sb;
        async move { jpush(sb, reqwest::Method::POST, "/v3/status/message", Some(&body)).await }
    };
    let regids = json!([
        "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "x1", "nobody"
    ]);
    let a = ask(json!({"msg_id": FRESH, "registration_ids": regids})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let st = |r: &str| a.json[r]["status"].as_u64().unwrap();
    assert!((1..=8).map(|i| st(&format!("r{i}"))).all(|s| s <= 1));
    assert_eq!(st("x1"), 3, "another message's device is not a target");
    assert_eq!(st("nobody"), 2, "not in this app");
    // All delivered once the time_to_live has passed? Not while the recall holds them.
    let a = ask(json!({"msg_id": FRESH.to_string(), "registration_ids": ["r1"]})).await;
    assert_eq!(
        (a.status, a.json["error"]["code"].as_u64()),
        (400, Some(3002)),
        "a string msg_id"
    );
    let a = ask(json!({"msg_id": FRESH, "registration_ids": ["r1"], "date": "1999-01-01"})).await;
    assert_eq!(a.json["r1"]["status"], 3, "another day");
    let a = ask(json!({"msg_id": FRESH, "registration_ids": []})).await;
    assert_eq!(a.status, 400);
    let a = ask(json!({"msg_id": FRESH, "registration_ids": ["r1"], "date": "yesterday"})).await;
    assert_eq!(a.status, 400);
    sb.shutdown().await;
}

#[tokio::test]
async fn jpush_ineffective_corrections_answer_success_and_change_nothing() {
    let sb = reporting("ineffective=1").await;
    let a = jpush(
        &sb,
        reqwest::Method::DELETE,
        &format!("/v3/push/{FRESH}"),
        None,
    )
    .await;
    assert_eq!((a.status, a.text.as_str()), (200, ""));
    let m = sb.messages();
    let orig = message(&m, &FRESH.to_string());
    assert_eq!(orig["state"], "delivered");
    assert_eq!(orig["ignores_corrections"], true);
    assert_eq!(orig["events"][0]["action"], "recall_ignored");
    // It goes on being delivered everywhere.
    assert_eq!(orig["delivery_stopped"], json!({}));
    // An override: a msg_id comes back, nothing goes out, nothing is replaced.
    let c = cid(&sb).await;
    let a = jpush(
        &sb,
        reqwest::Method::POST,
        "/v3/push",
        Some(&override_body(FRESH, Some(&c))),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let new_id = a.json["msg_id"].as_str().unwrap().to_string();
    let m = sb.messages();
    assert_eq!(count(&m), 2, "no message was sent");
    assert!(
        message(&m, &FRESH.to_string())["overridden_by"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let r = received(&sb, &new_id).await;
    assert!(r[0]["jpush_received"].is_null());
    // The log says why.
    let log = sb.requests();
    assert!(log.as_array().unwrap().iter().any(|e| {
        e["note"]
            .as_str()
            .is_some_and(|n| n.contains("ineffective"))
    }));
    sb.shutdown().await;
}

// --- Schedule API ---

/// The docs' example schedule id, due in five hours; one that fired an hour ago; a disabled
/// one; and a periodical one whose end is tomorrow.
const SCHED_DUE: &str = "0eac1b80-c2ac-4b69-948b-c65b34b96512";
const SCHED_FIRED: &str = "17349f00-0852-11e6-91b1-0021f653c902";
const SCHED_DISABLED: &str = "2685a52f-277a-4b6b-b1b6-308977bbca0d";
const SCHED_PERIODICAL: &str = "ef075f3c-8a6b-469c-8600-55e4d2cc3573";

fn schedule_seed() -> Vec<crate::sandbox::SeedMessage> {
    use crate::sandbox::jpush::seed_schedule;
    use crate::sandbox::message::Scheduled;
    let mut disabled = seed_schedule(SCHED_DISABLED, Scheduled::Yes);
    disabled.extra.insert("enabled".into(), json!(false));
    let mut due = seed_schedule(
        SCHED_DUE,
        Scheduled::At(Timestamp::now() + SignedDuration::from_hours(5)),
    );
    due.extra.insert("name".into(), json!("bf_day1"));
    vec![
        crate::sandbox::jpush::seed_message(FRESH, ago(1)),
        due,
        seed_schedule(SCHED_FIRED, Scheduled::At(ago(1))),
        disabled,
        seed_schedule(
            SCHED_PERIODICAL,
            Scheduled::At(Timestamp::now() + SignedDuration::from_hours(24)),
        ),
    ]
}

async fn schedules(c: crate::sandbox::SandboxConfig) -> Sandbox {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Sandbox::start(c, schedule_seed(), l).await.unwrap()
}

async fn delete_schedule(sb: &Sandbox, id: &str) -> Answer {
    jpush(
        sb,
        reqwest::Method::DELETE,
        &format!("/v3/schedules/{id}"),
        None,
    )
    .await
}

#[tokio::test]
async fn jpush_schedule_delete_then_unknown() {
    let sb = schedules(config()).await;
    let a = delete_schedule(&sb, SCHED_DUE).await;
    assert_eq!((a.status, a.text.as_str()), (200, ""));
    assert_eq!(a.header("content-length"), Some("0"));
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.header("X-Rate-Limit-Limit"), Some("100"));
    assert_eq!(a.header("X-Rate-Limit-Remaining"), Some("99"));
    let m = sb.messages();
    let s = message(&m, SCHED_DUE);
    assert_eq!(
        (&s["kind"], &s["state"], &s["name"]),
        (&json!("schedule"), &json!("cancelled"), &json!("bf_day1"))
    );
    assert!(s["cancelled_at"].is_string(), "{s}");
    // The message sharing the ledger is untouched.
    assert_eq!(message(&m, &FRESH.to_string())["state"], "delivered");

    // Deleted, unknown and malformed ids: 404 8104, the error table's answer.
    let not_found =
        json!({"error":{"code":8104,"message":"Request schedule operation doesn't exist"}});
    for id in [
        SCHED_DUE,
        "00000000-0000-4000-8000-000000000000",
        "not-a-uuid",
        "67554224848096790",
    ] {
        let a = delete_schedule(&sb, id).await;
        assert_eq!((a.status, &a.json), (404, &not_found), "{id}");
    }
    // UUIDs are compared without regard to case; a disabled schedule is deleted too.
    let a = delete_schedule(&sb, &SCHED_PERIODICAL.to_ascii_uppercase()).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(delete_schedule(&sb, SCHED_DISABLED).await.status, 200);
    let m = sb.messages();
    assert_eq!(message(&m, SCHED_PERIODICAL)["state"], "cancelled");
    assert_eq!(message(&m, SCHED_DISABLED)["enabled"], false);
    assert_eq!(message(&m, SCHED_DISABLED)["state"], "cancelled");
    sb.shutdown().await;
}

#[tokio::test]
async fn jpush_schedule_that_fired_is_8100_and_stays() {
    let sb = schedules(config()).await;
    let a = delete_schedule(&sb, SCHED_FIRED).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.json["error"]["code"], 8100);
    assert!(
        a.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{}",
        a.text
    );
    let m = sb.messages();
    assert_eq!(message(&m, SCHED_FIRED)["state"], "delivered");
    assert!(message(&m, SCHED_FIRED)["cancelled_at"].is_null());
    sb.shutdown().await;
}

/// The other reading: a schedule that ran its course is forgotten, its delete answered as
/// for an unknown id (8104, or the empty 404 with both switches).
#[tokio::test]
async fn jpush_schedule_that_fired_is_unknown_when_forgotten() {
    let mut c = config();
    c.enable("jpush.schedule_fired_forgotten").unwrap();
    let sb = schedules(c).await;
    let a = delete_schedule(&sb, SCHED_FIRED).await;
    assert_eq!(a.status, 404, "{}", a.text);
    assert_eq!(a.json["error"]["code"], 8104);
    let m = sb.messages();
    assert_eq!(message(&m, SCHED_FIRED)["state"], "delivered");
    assert!(message(&m, SCHED_FIRED)["cancelled_at"].is_null());
    // A schedule still to come is deleted as ever.
    assert_eq!(delete_schedule(&sb, SCHED_DUE).await.status, 200);
    sb.shutdown().await;

    let mut c = config();
    c.enable("jpush.schedule_fired_forgotten").unwrap();
    c.enable("jpush.schedule_bare_404").unwrap();
    let sb = schedules(c).await;
    let a = delete_schedule(&sb, SCHED_FIRED).await;
    assert_eq!((a.status, a.text.as_str()), (404, ""));
    sb.shutdown().await;
}

#[tokio::test]
async fn jpush_schedule_auth_is_8101_and_changes_nothing() {
    let sb = schedules(config()).await;
    for auth in [
        None,
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{JPUSH_KEY}:wrongsecret"))
        )),
    ] {
        let mut r = client().delete(format!("{}/v3/schedules/{SCHED_DUE}", sb.url()));
        if let Some(h) = &auth {
            r = r.header("Authorization", h);
        }
        let a = answer(r).await;
        assert_eq!(a.status, 401, "{auth:?}");
        assert_eq!(
            a.json,
            json!({"error":{"code":8101,"message":"Basic authentication failed."}})
        );
        assert!(a.header("X-Rate-Limit-Reset").is_some());
    }
    assert_eq!(message(&sb.messages(), SCHED_DUE)["state"], "scheduled");
    sb.shutdown().await;
}

#[tokio::test]
async fn jpush_schedule_api_has_its_own_window() {
    // The push family's configured rate does not apply: the Schedule API's 100/min does.
    let mut c = config();
    c.rate = Some(Rate::per_minute(3.0));
    let sb = schedules(c).await;
    for i in 0..100 {
        let a = jpush(&sb, reqwest::Method::GET, "/v3/schedules?page=1", None).await;
        assert_eq!(a.status, 200, "request {i}: {}", a.text);
    }
    let a = delete_schedule(&sb, SCHED_DUE).await;
    assert_eq!(a.status, 429);
    assert_eq!(
        a.json,
        json!({"error":{"code":2002,"message":"Rate limit exceeded"}})
    );
    assert_eq!(a.header("X-Rate-Limit-Remaining"), Some("0"));
    assert_eq!(message(&sb.messages(), SCHED_DUE)["state"], "scheduled");
    // The push family's window was not used by those.
    let cid = jpush(&sb, reqwest::Method::GET, "/v3/push/cid", None).await;
    assert_eq!(cid.header("X-Rate-Limit-Remaining"), Some("2"));
    sb.shutdown().await;
}

#[tokio::test]
async fn jpush_schedule_list_shows_the_active_ones() {
    let sb = schedules(config()).await;
    assert_eq!(delete_schedule(&sb, SCHED_DISABLED).await.status, 200);
    let a = jpush(&sb, reqwest::Method::GET, "/v3/schedules", None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        (
            &a.json["total_count"],
            &a.json["total_pages"],
            &a.json["page"]
        ),
        (&json!(2), &json!(1), &json!(1))
    );
    let ids: Vec<&str> = a.json["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["schedule_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [SCHED_DUE, SCHED_PERIODICAL]);
    let past = jpush(&sb, reqwest::Method::GET, "/v3/schedules?page=3", None).await;
    assert_eq!(past.json["schedules"], json!([]));
    assert_eq!(past.json["page"], 3);
    let bad = jpush(&sb, reqwest::Method::GET, "/v3/schedules?page=0", None).await;
    assert_eq!(
        (bad.status, &bad.json["error"]["code"]),
        (400, &json!(8100))
    );
    // Other methods are not served.
    let put = jpush(
        &sb,
        reqwest::Method::PUT,
        &format!("/v3/schedules/{SCHED_DUE}"),
        Some(&json!({"enabled": false})),
    )
    .await;
    assert_eq!(
        (put.status, &put.json["error"]["code"]),
        (405, &json!(8100))
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn jpush_schedule_bare_404_and_faults() {
    let mut c = config();
    c.enable("jpush.schedule_bare_404").unwrap();
    let sb = schedules(c).await;
    let a = delete_schedule(&sb, "00000000-0000-4000-8000-000000000000").await;
    assert_eq!((a.status, a.text.as_str()), (404, ""));
    sb.shutdown().await;

    let mut c = config();
    c.faults = crate::sandbox::Faults::parse("5xx=1").unwrap();
    let sb = schedules(c).await;
    let a = delete_schedule(&sb, SCHED_DUE).await;
    assert_eq!(a.status, 503);
    assert_eq!(a.json["error"]["code"], 8203);
    assert_eq!(message(&sb.messages(), SCHED_DUE)["state"], "scheduled");
    sb.shutdown().await;

    let mut c = config();
    c.faults = crate::sandbox::Faults::parse("ineffective=1").unwrap();
    let sb = schedules(c).await;
    let a = delete_schedule(&sb, SCHED_DUE).await;
    assert_eq!((a.status, a.text.as_str()), (200, ""));
    let m = sb.messages();
    let s = message(&m, SCHED_DUE);
    assert_eq!(s["state"], "scheduled");
    assert_eq!(s["events"][0]["action"], "cancel_ignored");
    sb.shutdown().await;
}

#[test]
fn jpush_schedule_seeds_from_the_example_ledger() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ledgers/jpush-schedules.jsonl");
    let seeds = crate::sandbox::seed::load_ledger(&p).unwrap();
    assert_eq!(seeds.len(), 6);
    assert!(seeds.iter().all(|s| s.provider == "jpush"));
    assert_eq!(seeds[0].id, "a78c6f1a-26a3-4557-80ab-5d080974c225");
    assert!(matches!(
        seeds[0].scheduled,
        crate::sandbox::message::Scheduled::At(_)
    ));
    assert_eq!(seeds[4].extra["enabled"], false);
    assert!(seeds[3].extra["trigger"]["periodical"].is_object());
    // Not both ids; a schedule id is a UUID string.
    let mut both = serde_json::Map::new();
    both.insert("msg_id".into(), json!("1"));
    both.insert("schedule_id".into(), json!(SCHED_DUE));
    assert!(
        super::schedule::parse_seed(&both)
            .unwrap_err()
            .contains("not both")
    );
    let mut bad = serde_json::Map::new();
    bad.insert("schedule_id".into(), json!(12345));
    assert!(super::schedule::parse_seed(&bad).is_err());
    bad.insert("schedule_id".into(), json!(SCHED_DUE));
    bad.insert("enabled".into(), json!("yes"));
    assert!(super::schedule::parse_seed(&bad).is_err());
}
