//! TPNS end to end over HTTP: signatures, auth failures, stop / revoke / cancel,
//! get_push_record, the override and its rate limit.

use jiff::Timestamp;
use serde_json::json;
use tokio::net::TcpListener;

use crate::sandbox::tests::support::*;
use crate::sandbox::{Credentials, Sandbox, tpns};

#[tokio::test]
async fn tpns_signature_vectors_over_http() {
    // V1 and V2 with the official key; the TimeStamp of 2019 needs the clock check off.
    let v1 = r#"{"audience_type": "account","platform": "android","message": {"title": "test title","content": "test content","android": { "action": {"action_type": 3,"intent": "xgscheme://com.xg.push/notify_detail?param1=xg"}}},"message_type": "notify","account_list": ["5822f0eee44c3625ef0000bb"] }"#;
    let v2 = v1.replace(r#""platform": "android","#, "");
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sb = Sandbox::start_with(config(), seed(), l, false)
        .await
        .unwrap();
    let send = |body: String, ts: &'static str, sign: &'static str| {
        client()
            .post(format!("{}/v3/push/app", sb.url()))
            .header("AccessId", TPNS_ID)
            .header("TimeStamp", ts)
            .header("Sign", sign)
            .body(body)
    };
    let ok1 = answer(send(
        v1.to_string(),
        "1565314789",
        "Y2QyMDc3NDY4MmJmNzhiZmRiNDNlMTdkMWQ1ZDU2YjNlNWI3ODlhMTY3MGZjMTUyN2VmNTRjNjVkMmQ3Yjc2ZA==",
    ))
    .await;
    assert_eq!(ok1.json["ret_code"], 0, "{}", ok1.text);
    assert!(ok1.json["push_id"].is_string());
    let ok2 = answer(send(
        v2.clone(),
        "1565314789",
        "MDlmMDdkMmE1MThhODgxNGUzNjlkY2Q5NTM0ZjEwYjhhMjlkMTI4NTMxYTE5YWRhYTI4Y2IyNDc2MDVjMWU4NA==",
    ))
    .await;
    assert_eq!(ok2.json["ret_code"], 0, "{}", ok2.text);
    // The doc's V1 Sign over the V2 body (the doc's inconsistency) fails.
    let bad = answer(send(
        v2.clone(),
        "1565314789",
        "Y2QyMDc3NDY4MmJmNzhiZmRiNDNlMTdkMWQ1ZDU2YjNlNWI3ODlhMTY3MGZjMTUyN2VmNTRjNjVkMmQ3Yjc2ZA==",
    ))
    .await;
    assert_eq!(
        bad.json,
        json!({"ret_code":1008003,"err_msg":"auth failure"})
    );
    // Base64 of the raw digest is rejected.
    let raw = answer(send(
        v2.clone(),
        "1565314789",
        "CfB9KlGKiBTjadzZU08QuKKdEoUxoZraooyyR2BcHoQ=",
    ))
    .await;
    assert_eq!(raw.json["ret_code"], 1008003);
    // One byte of whitespace changed: the signature covers the exact bytes.
    let reformatted = answer(send(
        v2.replacen(": ", ":", 1),
        "1565314789",
        "MDlmMDdkMmE1MThhODgxNGUzNjlkY2Q5NTM0ZjEwYjhhMjlkMTI4NTMxYTE5YWRhYTI4Y2IyNDc2MDVjMWU4NA==",
    ))
    .await;
    assert_eq!(reformatted.json["ret_code"], 1008003);
    sb.shutdown().await;

    // V3: the C# sample's account and key.
    let mut c = config();
    *c.credentials_mut("tpns").unwrap() =
        Credentials::new("1500004469", "2b1163d904bd5f82dcf82dcf82dc4407");
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sb = Sandbox::start_with(c, seed(), l, false).await.unwrap();
    let v3 = v2.replace("5822f0eee44c3625ef0000bb", "234");
    let ok3 = answer(
        client()
            .post(format!("{}/v3/push/app", sb.url()))
            .header("AccessId", "1500004469")
            .header("TimeStamp", "1621307510")
            .header("Sign", "ZWUzNTM1ODQyYmRiODBkYWJiZTFmMzY3ODcwMGY2Yzc2Y2M2M2U0ZjRkZDZiMDkwYzRhM2JjYWU2N2Y2OGQ4NQ==")
            .body(v3),
    )
    .await;
    assert_eq!(ok3.json["ret_code"], 0, "{}", ok3.text);
    sb.shutdown().await;
}

#[tokio::test]
async fn tpns_auth_failures() {
    let sb = start(config()).await;
    let body = r#"{"pushId":"3895624700"}"#;
    let path = "/v3/statistics/get_push_record";
    // Basic auth works.
    let a = tpns_basic(&sb, path, TPNS_ID, TPNS_SECRET, body).await;
    assert_eq!(a.json["retCode"], 0, "{}", a.text);
    // Wrong secret: 1008003; wrong access id: 1008035; none: 1008003.
    let a = tpns_basic(&sb, "/v3/push/stop_push_msg", TPNS_ID, "nope", body).await;
    assert_eq!(a.json, json!({"ret_code":1008003,"err_msg":"auth failure"}));
    let a = tpns_basic(
        &sb,
        "/v3/push/stop_push_msg",
        "1500000000",
        TPNS_SECRET,
        body,
    )
    .await;
    assert_eq!(a.json["ret_code"], 1008035);
    let a = answer(
        client()
            .post(format!("{}/v3/push/stop_push_msg", sb.url()))
            .body(body),
    )
    .await;
    assert_eq!(a.json["ret_code"], 1008003);
    // The statistics family answers in camelCase, errors too.
    let a = tpns_basic(&sb, path, TPNS_ID, "nope", body).await;
    assert_eq!(a.json, json!({"retCode":1008003,"errMsg":"auth failure"}));
    // Signature with the current time works; milliseconds instead of seconds do not.
    let ok = tpns(&sb, path, body).await;
    assert_eq!(ok.json["retCode"], 0, "{}", ok.text);
    let ms = Timestamp::now().as_millisecond().to_string();
    let sign = tpns::sign(TPNS_SECRET, &ms, TPNS_ID, body.as_bytes());
    let a = answer(
        client()
            .post(format!("{}{path}", sb.url()))
            .header("AccessId", TPNS_ID)
            .header("TimeStamp", &ms)
            .header("Sign", sign)
            .body(body),
    )
    .await;
    assert_eq!(a.json["retCode"], 1008003);
    // Nothing was stopped by the rejected calls.
    assert_eq!(message(&sb.messages(), "3895624700")["state"], "delivered");
    sb.shutdown().await;
}

#[tokio::test]
async fn tpns_stop_revoke_cancel() {
    let sb = start(config()).await;
    // Unknown id: 1008015.
    let a = tpns(&sb, "/v3/push/stop_push_msg", r#"{"pushId":"1"}"#).await;
    assert_eq!(
        a.json,
        json!({"ret_code":1008015,"err_msg":"push id not exist"})
    );
    // Token pushes cannot be stopped: 1008007.
    let a = tpns(&sb, "/v3/push/stop_push_msg", r#"{"pushId":"3895624728"}"#).await;
    assert_eq!(a.json["ret_code"], 1008007);
    // A tag task, with the sample's `pushid` spelling: stopped.
    let a = tpns(&sb, "/v3/push/stop_push_msg", r#"{"pushid":"3895624700"}"#).await;
    assert_eq!(a.json["ret_code"], 0, "{}", a.text);
    let m = sb.messages();
    assert_eq!(message(&m, "3895624700")["state"], "stopped");
    assert_eq!(message(&m, "3895624700")["status"], "PUSH_DELETED_PUSH_MSG");
    // Both spellings, a number: fine (and idempotent).
    let a = tpns(
        &sb,
        "/v3/push/stop_push_msg",
        r#"{"pushId":3895624700,"pushid":"3895624700"}"#,
    )
    .await;
    assert_eq!(a.json["ret_code"], 0);
    let a = tpns(&sb, "/v3/push/stop_push_msg", r#"{}"#).await;
    assert_eq!(a.json["ret_code"], 1008002);
    let a = tpns(&sb, "/v3/push/stop_push_msg", "not json").await;
    assert_eq!(a.json["ret_code"], 1008001);

    // Revoke is offline by default.
    let a = tpns(
        &sb,
        "/v3/push/revoke_push_msg",
        r#"{"pushId":"3895624705"}"#,
    )
    .await;
    assert_eq!(a.json["ret_code"], 1008007);
    assert!(a.json["err_msg"].as_str().unwrap().contains("offline"));
    assert_eq!(message(&sb.messages(), "3895624705")["state"], "delivered");

    // Cancel: a scheduled task not yet dispatched; not one already dispatched or not scheduled.
    let a = tpns(
        &sb,
        "/v3/push/cancel_timing_task",
        r#"{"pushId":"4100000001"}"#,
    )
    .await;
    assert_eq!(a.json["ret_code"], 0, "{}", a.text);
    assert_eq!(
        message(&sb.messages(), "4100000001")["status"],
        "PUSH_CANCELED"
    );
    let a = tpns(
        &sb,
        "/v3/push/cancel_timing_task",
        r#"{"pushId":"4100000003"}"#,
    )
    .await;
    assert_eq!(a.json["ret_code"], 1008007);
    let a = tpns(
        &sb,
        "/v3/push/cancel_timing_task",
        r#"{"pushId":"3895624705"}"#,
    )
    .await;
    assert_eq!(a.json["ret_code"], 1008007);
    let a = tpns(&sb, "/v3/push/cancel_timing_task", r#"{"pushId":"999"}"#).await;
    assert_eq!(a.json["ret_code"], 1008015);
    sb.shutdown().await;

    // With revoke enabled: a tag task is revoked (which also stops it).
    let mut c = config();
    c.enable("tpns.revoke").unwrap();
    let sb = start(c).await;
    let a = tpns(
        &sb,
        "/v3/push/revoke_push_msg",
        r#"{"pushid":"3895624705"}"#,
    )
    .await;
    assert_eq!(a.json["ret_code"], 0, "{}", a.text);
    let m = sb.messages();
    assert_eq!(message(&m, "3895624705")["status"], "PUSH_REVOKED");
    assert!(message(&m, "3895624705")["stopped_at"].is_string());
    let a = tpns(
        &sb,
        "/v3/push/revoke_push_msg",
        r#"{"pushid":"3895624728"}"#,
    )
    .await;
    assert_eq!(a.json["ret_code"], 1008007);
    sb.shutdown().await;
}

#[tokio::test]
async fn tpns_get_push_record_shape() {
    let sb = start(config()).await;
    let a = tpns(
        &sb,
        "/v3/statistics/get_push_record",
        r#"{"pushId":"3895624700"}"#,
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json["retCode"], 0);
    assert_eq!(a.json["errMsg"], "NO_ERROR");
    let r = &a.json["pushRecordData"][0];
    assert_eq!(r["pushId"], json!(3895624700u64));
    assert_eq!(r["status"], "PUSH_FINISHED");
    assert_eq!(r["pushType"], "tag");
    assert_eq!(r["collapseID"], 1000);
    assert_eq!(r["tagSet"]["tagWithType"][0]["tagValue"], "bf-promo");
    let date = r["date"].as_str().unwrap();
    assert!(
        jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", date).is_ok(),
        "{date}"
    );
    // A task without a ledger collapse id gets one from the sandbox, distinct from the others.
    let a = tpns(
        &sb,
        "/v3/statistics/get_push_record",
        r#"{"pushId":"3895624763"}"#,
    )
    .await;
    let c = a.json["pushRecordData"][0]["collapseID"].as_u64().unwrap();
    assert!(c > 1002, "{c}");
    assert_eq!(
        a.json["pushRecordData"][0]["targetList"],
        json!(["u1", "u2"])
    );
    // Unknown id.
    let a = tpns(&sb, "/v3/statistics/get_push_record", r#"{"pushId":"77"}"#).await;
    assert_eq!(a.json["retCode"], 1008015);
    // The date-range form.
    let today = Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date();
    let body = json!({"startDate": (today - jiff::Span::new().days(2)).to_string(), "endDate": today.to_string(), "pushType": "tag", "limit": 50, "offset": 0});
    let a = tpns(&sb, "/v3/statistics/get_push_record", &body.to_string()).await;
    assert_eq!(a.json["retCode"], 0, "{}", a.text);
    assert_eq!(a.json["count"], 2);
    sb.shutdown().await;
}

#[tokio::test]
async fn tpns_override_and_its_rate_limit() {
    let mut c = config();
    c.rate = None; // provider default: 1/s for all/tag pushes
    let sb = start(c).await;
    let before = count(&sb.messages());
    let body = |collapse: u32, audience_type: &str| {
        let mut b = json!({
            "audience_type": audience_type,
            "message_type": "notify",
            "message": {"title": "48h sale", "content": "Sorry, wrong link"},
            "collapse_id": collapse,
            "force_collapse": false,
        });
        match audience_type {
            "tag" => b["tag_rules"] = tag_rules("bf-promo"),
            "token_list" => b["token_list"] = json!(["0a1b2c"]),
            _ => {}
        }
        b.to_string()
    };
    // Unknown collapse id, a token task, a mismatched audience type: 1008007, nothing sent.
    for (c, t) in [(4242, "tag"), (1002, "token_list"), (1000, "all")] {
        let a = tpns(&sb, "/v3/push/app", &body(c, t)).await;
        assert_eq!(a.json["ret_code"], 1008007, "{c} {t}: {}", a.text);
    }
    // collapse_id as a string: parse error.
    let s = body(1000, "tag").replace("1000", "\"1000\"");
    assert_eq!(
        tpns(&sb, "/v3/push/app", &s).await.json["ret_code"],
        1008001
    );
    // Missing message: 1008002.
    let a = tpns(
        &sb,
        "/v3/push/app",
        r#"{"audience_type":"all","message_type":"notify"}"#,
    )
    .await;
    assert_eq!(a.json["ret_code"], 1008002);
    assert_eq!(count(&sb.messages()), before);

    let a = tpns(&sb, "/v3/push/app", &body(1000, "tag")).await;
    assert_eq!(a.json["ret_code"], 0, "{}", a.text);
    assert_eq!(a.json["err_msg"], "");
    assert_eq!(a.json["seq"], 0);
    assert_eq!(a.json["environment"], "product");
    assert_eq!(a.json["result"], "");
    let new_id = a.json["push_id"].as_str().unwrap().to_string();
    let m = sb.messages();
    let orig = message(&m, "3895624700");
    assert_eq!(orig["status"], "PUSH_COLLAPSED");
    assert_eq!(orig["overridden_by"], json!([new_id]));
    assert_eq!(message(&m, &new_id)["collapse_id"], 1000);
    assert_eq!(message(&m, &new_id)["sent"]["force_collapse"], false);
    assert_eq!(
        message(&m, &new_id)["sent"]["checks"]["audience_matches_original"],
        true
    );

    // A second tag push at once: past 1/s.
    let a = tpns(&sb, "/v3/push/app", &body(1001, "tag")).await;
    assert_eq!(
        a.json,
        json!({"ret_code":1008028,"err_msg":"request too fast"})
    );
    assert_eq!(message(&sb.messages(), "3895624705")["state"], "delivered");
    let r = tpns(
        &sb,
        "/v3/statistics/get_push_record",
        r#"{"pushId":"3895624700"}"#,
    )
    .await;
    assert_eq!(r.json["pushRecordData"][0]["status"], "PUSH_COLLAPSED");
    sb.shutdown().await;
}

#[tokio::test]
async fn tpns_ineffective_corrections_answer_success_and_change_nothing() {
    let mut c = config();
    c.faults = crate::sandbox::Faults::parse("ineffective=1").unwrap();
    let sb = start(c).await;
    let a = tpns(&sb, "/v3/push/stop_push_msg", r#"{"pushId":"3895624700"}"#).await;
    assert_eq!(a.json["ret_code"], 0, "{}", a.text);
    let a = tpns(
        &sb,
        "/v3/push/cancel_timing_task",
        r#"{"pushId":"4100000001"}"#,
    )
    .await;
    assert_eq!(a.json["ret_code"], 0, "{}", a.text);
    let body = json!({"audience_type": "tag", "tag_rules": tag_rules("bf-promo"), "message_type": "notify",
        "message": {"title": "t", "content": "c"}, "collapse_id": 1001, "environment": "product"});
    let a = tpns(&sb, "/v3/push/app", &body.to_string()).await;
    assert_eq!(a.json["ret_code"], 0, "{}", a.text);
    assert!(a.json["push_id"].is_string());
    let m = sb.messages();
    assert_eq!(message(&m, "3895624700")["status"], "PUSH_FINISHED");
    assert_eq!(message(&m, "3895624700")["ignores_corrections"], true);
    assert_eq!(message(&m, "4100000001")["status"], "PUSH_WAIT");
    assert_eq!(message(&m, "3895624705")["status"], "PUSH_FINISHED");
    assert_eq!(count(&m), 9, "the override pushed nothing");
    // get_push_record says so too.
    let r = tpns(
        &sb,
        "/v3/statistics/get_push_record",
        r#"{"pushId":"3895624700"}"#,
    )
    .await;
    assert_eq!(r.json["pushRecordData"][0]["status"], "PUSH_FINISHED");
    sb.shutdown().await;
}
