//! `pushfix run` against an httpmock TPNS: signed requests checked byte for byte, both id
//! spellings, the override's collapse id lookup, every answer class, and no secret anywhere.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use httpmock::Method::POST;
use httpmock::MockServer;
use httpmock::prelude::HttpMockRequest;
use serde_json::json;
use sha2::Sha256;

use crate::support::{
    Campaign, TPNS_ACCESS_ID as ACCESS_ID, TPNS_BASIC as BASIC, TPNS_SECRET_KEY as SECRET_KEY,
    all_files, task,
};

/// The signature as reference/tpns.md §2.2 defines it, computed here independently of pushfix.
fn expected_sign(ts: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET_KEY.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(ACCESS_ID.as_bytes());
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(hex::encode(mac.finalize().into_bytes()))
}

fn header(req: &HttpMockRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

/// A matcher that accepts only a correctly signed request, recording each Sign it saw.
fn signed(
    signs: Arc<Mutex<Vec<String>>>,
) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static {
    move |req| {
        let (Some(id), Some(ts), Some(sign)) = (
            header(req, "AccessId"),
            header(req, "TimeStamp"),
            header(req, "Sign"),
        ) else {
            return false;
        };
        let now = jiff::Timestamp::now().as_second();
        let fresh = ts.parse::<i64>().is_ok_and(|t| (now - t).abs() < 60);
        let ok = id == ACCESS_ID
            && fresh
            && sign == expected_sign(&ts, &req.body().0)
            && header(req, "Authorization").is_none();
        if ok {
            signs.lock().unwrap().push(sign);
        }
        ok
    }
}

#[test]
fn stop_revoke_cancel_are_signed_and_send_both_id_spellings() {
    let server = MockServer::start();
    let signs = Arc::new(Mutex::new(Vec::new()));
    let mut mocks = Vec::new();
    for (path, id) in [
        ("/v3/push/stop_push_msg", "3895624686"),
        ("/v3/push/revoke_push_msg", "3895624687"),
        ("/v3/push/cancel_timing_task", "3895624688"),
    ] {
        let s = signs.clone();
        mocks.push(server.mock(move |when, then| {
            when.method(POST)
                .path(path)
                .header("Content-Type", "application/json")
                .json_body(json!({"pushId": id, "pushid": id}))
                .is_true(signed(s));
            then.status(200)
                .json_body(json!({"ret_code": 0, "err_msg": ""}));
        }));
    }
    let steps = "  - name: halt\n    action: stop\n    select: { ids: [\"3895624686\"] }\n  - name: pull\n    action: recall\n    select: { ids: [3895624687] }\n  - name: cancel\n    action: cancel_scheduled\n    select: { ids: [\"3895624688\"] }\n";
    let c = Campaign::tpns("tpns-wire", &server, "sign", steps, &[task("1", "tag", "")]);
    c.run_test().status(0).run();
    for m in &mocks {
        m.assert_calls(1);
    }
    assert_eq!(signs.lock().unwrap().len(), 3);
    assert_eq!(c.report()["totals"]["done"], 3);
}

#[test]
fn basic_auth_is_supported_too() {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method(POST)
            .path("/v3/push/stop_push_msg")
            .header("Authorization", BASIC)
            .is_true(|req| header(req, "Sign").is_none());
        then.status(200)
            .json_body(json!({"retCode": 0, "errMsg": "NO_ERROR"}));
    });
    let steps = "  - name: halt\n    action: stop\n    select: { ids: [\"11\"] }\n";
    let c = Campaign::tpns(
        "tpns-basic",
        &server,
        "basic",
        steps,
        &[task("1", "tag", "")],
    );
    c.run_test().status(0).run();
    m.assert_calls(1);
}

#[test]
fn override_looks_up_the_collapse_id_then_pushes_to_the_same_audience() {
    let server = MockServer::start();
    let signs = Arc::new(Mutex::new(Vec::new()));
    let s1 = signs.clone();
    let record = server.mock(move |when, then| {
        when.method(POST).path("/v3/statistics/get_push_record").json_body(json!({"pushId": "77"})).is_true(signed(s1));
        then.status(200).json_body(json!({"retCode": 0, "errMsg": "NO_ERROR", "pushRecordData": [
            {"date": "2026-11-21 10:00:00", "pushId": 77, "status": "PUSH_FINISHED", "pushType": "tag", "collapseID": 4242}
        ]}));
    });
    // Golden body, written from reference/tpns.md §3 and §4.4.
    let golden = json!({
        "audience_type": "tag",
        "tag_rules": [{"tag_items": [{"tags": ["bf"], "is_not": false, "tags_operator": "OR", "items_operator": "OR", "tag_type": "xg_user_define"}], "operator": "OR", "is_not": false}],
        "message_type": "notify",
        "message": {
            "title": "Sale",
            "content": "Sorry, fixed link",
            "android": {"action": {"action_type": 3, "intent": "xgscheme://shop/sale"}}
        },
        "collapse_id": 4242,
        "force_collapse": false,
        "environment": "product"
    });
    let s2 = signs.clone();
    let push = server.mock(move |when, then| {
        when.method(POST).path("/v3/push/app").json_body(golden.clone()).is_true(signed(s2));
        then.status(200).json_body(json!({"seq": 0, "push_id": "3895624999", "ret_code": 0, "environment": "product", "err_msg": "", "result": "[0]"}));
    });
    let steps = "  - name: fix\n    action: override\n    select: { ids: [\"77\"] }\n    message:\n      body: \"Sorry, fixed link\"\n      intent: \"xgscheme://shop/sale\"\n";
    let c = Campaign::tpns(
        "tpns-override",
        &server,
        "sign",
        steps,
        &[task("77", "tag", "")],
    );
    let out = c.run_test().status(0).run();
    record.assert_calls(1);
    push.assert_calls(1);
    let r = c.report();
    assert_eq!(r["steps"][0]["requests"], 2);
    assert_eq!(
        r["steps"][0]["retries"], 0,
        "the lookup and the push are two first attempts"
    );
    // No Sign value reaches stdout, stderr or the audit directory.
    let mut places = vec![out.stdout.clone(), out.stderr.clone()];
    places.extend(all_files(&c.dir.join("audit")).into_iter().map(|(_, t)| t));
    for sign in signs.lock().unwrap().iter() {
        assert!(
            places.iter().all(|p| !p.contains(sign.as_str())),
            "a Sign value leaked"
        );
    }
    assert!(places.iter().all(|p| !p.contains(SECRET_KEY)));
}

#[test]
fn tpns_answer_classes() {
    let server = MockServer::start();
    for (id, body) in [
        ("1", json!({"ret_code": 0})),
        (
            "2",
            json!({"ret_code": 1008015, "err_msg": "push id not exist"}),
        ),
        ("3", json!({"retCode": 1008003, "errMsg": "auth failure"})),
        (
            "4",
            json!({"ret_code": 1008004, "err_msg": "invoke service error"}),
        ),
        (
            "5",
            json!({"ret_code": 1008035, "err_msg": "accessId is not correct or domain not correct"}),
        ),
        (
            "6",
            json!({"ret_code": 1008007, "err_msg": "invalid parameter"}),
        ),
    ] {
        server.mock(move |when, then| {
            when.method(POST)
                .path("/v3/push/stop_push_msg")
                .json_body(json!({"pushId": id, "pushid": id}));
            then.status(200).json_body(body.clone());
        });
    }
    let steps = "  - name: halt\n    action: stop\n    select: { ids: [\"1\", \"2\", \"3\", \"4\", \"5\", \"6\"] }\n";
    let c = Campaign::tpns(
        "tpns-classes",
        &server,
        "sign",
        steps,
        &[task("9", "tag", "")],
    );
    c.run_test().status(1).run();
    let o = &c.report()["steps"][0]["outcomes"];
    assert_eq!(
        *o,
        json!({"done": 1, "gone": 1, "not_corrected": 0, "skipped": 0, "failed": 3, "gave_up": 1, "not_attempted": 0})
    );
}

#[test]
fn tpns_throttle_1008028_pauses_then_succeeds() {
    let server = MockServer::start();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = calls.clone();
    let first = server.mock(move |when, then| {
        when.method(POST)
            .path("/v3/push/stop_push_msg")
            .is_true(move |_| c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0);
        then.status(200)
            .json_body(json!({"ret_code": 1008028, "err_msg": "request too fast"}));
    });
    let later = server.mock(|when, then| {
        when.method(POST).path("/v3/push/stop_push_msg");
        then.status(200).json_body(json!({"ret_code": 0}));
    });
    let steps = "  - name: halt\n    action: stop\n    select: { ids: [\"1\"] }\n";
    let c = Campaign::tpns(
        "tpns-throttle",
        &server,
        "sign",
        steps,
        &[task("9", "tag", "")],
    );
    let started = std::time::Instant::now();
    c.run_test().status(0).run();
    first.assert_calls(1);
    later.assert_calls(1);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "the family paused about a second"
    );
    assert_eq!(c.report()["steps"][0]["throttled"], 1);
}
