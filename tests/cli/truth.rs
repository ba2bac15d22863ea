//! What a run says it changed: overrides the provider refused are `not_corrected` (exit 1),
//! residual exposure against a hand count, an empty selection explained, a budget stop with
//! its cause, iOS-only and mixed overrides byte for byte, and clocks that must agree.

use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::{Value, json};

use crate::support::{BASIC, Campaign, TPNS_BASIC, Test, record, record_at, task};

const CID: &str = "7d431e42dfa6a6d693ac2d04-0f6c8c1d-1111-4f2b-8d9e-aaaaaaaaaaaa";

fn cid_pool(server: &MockServer) {
    server.mock(|when, then| {
        when.method(GET).path("/v3/push/cid");
        then.status(200)
            .json_body(json!({"cidlist": [CID, CID, CID, CID]}));
    });
}

const OVERRIDE: &str = "  - name: fix\n    action: override\n    select: { ids: [1] }\n    message:\n      title: Correction\n      body: Fixed\n";

/// JPush 1003 on `override_msg_id` sends nothing: the target is `not_corrected`, listed with
/// the provider's reason, and the run exits 1 — unless the step accepts it.
#[test]
fn an_override_the_provider_refuses_is_not_corrected_and_fails_the_run() {
    for (policy, code) in [("", 1), ("    on_not_corrected: ok\n", 0)] {
        let server = MockServer::start();
        cid_pool(&server);
        server.mock(|when, then| {
            when.method(POST).path("/v3/push");
            then.status(400).json_body(json!({"error": {"code": 1003, "message": "override_msg_id is not a valid message to override within 1 day"}}));
        });
        let steps = format!("{OVERRIDE}{policy}");
        let c = Campaign::new(
            "refused",
            &server,
            "  concurrency: 1",
            &steps,
            &[record(
                "1",
                "[\"android\"]",
                r#","receivers_by_channel":{"jpush":40}"#,
            )],
        );
        let out = c
            .run_test()
            .status(code)
            .stdout_contains(
                "not corrected: 1 target the provider refused to send the override for (1003 ",
            )
            .run();
        assert!(
            out.stdout.contains(": 1\n") || out.stdout.contains("): 1"),
            "{}",
            out.stdout
        );
        let r = c.report();
        assert_eq!(r["steps"][0]["outcomes"]["not_corrected"], 1, "{r}");
        assert_eq!(r["totals"]["not_corrected"], 1);
        assert_eq!(r["exit_code"], code);
        let e = &r["exposure"];
        assert_eq!(e["receivers_before"], 40);
        assert_eq!(e["receivers_after"], 40, "nothing replaced the original");
        assert_eq!(e["not_corrected"][0]["target"], "1");
        assert_eq!(e["not_corrected"][0]["outcome"], "not_corrected");
        assert!(
            e["not_corrected"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("nothing was sent")
        );
        let md = std::fs::read_to_string(c.run_dir().join("report.md")).unwrap();
        assert!(md.contains("## Not corrected"), "{md}");
        let html = std::fs::read_to_string(c.run_dir().join("report.html")).unwrap();
        assert!(html.contains("id=\"not_corrected\""));
    }
}

/// TPNS 1008015 on the collapse-id lookup: the original is gone, no override went out.
#[test]
fn a_tpns_override_whose_task_is_gone_is_not_corrected() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/v3/statistics/get_push_record");
        then.status(200)
            .json_body(json!({"retCode": 1008015, "errMsg": "push id not exist"}));
    });
    let steps = "  - name: fix\n    action: override\n    select: { ids: [\"7\"] }\n    message:\n      title: T\n      body: B\n";
    let c = Campaign::tpns(
        "tpns-gone",
        &server,
        "basic",
        steps,
        &[task("7", "tag", "")],
    );
    c.run_test()
        .status(1)
        .stdout_contains("not corrected: 1 target")
        .run();
    assert_eq!(c.report()["totals"]["not_corrected"], 1);
}

/// A playbook that overrides where it can and recalls elsewhere leaves huawei_legacy reached
/// by neither: the plan names it, and the report's exposure matches a hand count.
#[test]
fn exposure_before_and_after_matches_a_hand_count() {
    let server = MockServer::start();
    cid_pool(&server);
    server.mock(|when, then| {
        when.method(POST).path("/v3/push");
        then.status(200)
            .json_body(json!({"sendno": "1", "msg_id": "900"}));
    });
    server.mock(|when, then| {
        when.method(httpmock::Method::DELETE)
            .path_matches("^/v3/push/[0-9]+$");
        then.status(200).body("");
    });
    let ledger = [
        record(
            "1",
            "[\"android\"]",
            r#","receivers_by_channel":{"jpush":100,"vivo":30,"huawei_legacy":20}"#,
        ),
        record(
            "2",
            "[\"android\"]",
            r#","receivers_by_channel":{"xiaomi":50,"huawei_legacy":5}"#,
        ),
    ];
    let steps = "  - name: fix\n    action: override\n    select: { ids: [1, 2] }\n    message:\n      body: Fixed\n  - name: pull\n    action: recall\n    select: { ids: [1, 2] }\n";
    let c = Campaign::new("exposure", &server, "  concurrency: 1", steps, &ledger);
    // The plan says which channel no step reaches.
    c.test()
        .args(["plan", "pb.yaml"])
        .stdout_contains("warning: huawei_legacy: ~2 messages, 25 receivers, reached by no step")
        .stdout_contains(
            "Exposure: receivers who may still see the original, 205 before → 25 after",
        )
        .run();
    c.run_test()
        .status(0)
        .stdout_contains("exposure: 25 of 205 receivers")
        .run();
    let e = &c.report()["exposure"];
    // By hand: override reaches jpush and xiaomi, recall reaches jpush, xiaomi and vivo; no
    // step reaches huawei_legacy.
    let expect = json!({
        "huawei_legacy": {"before": 25, "after": 25, "messages_before": 2, "messages_after": 2},
        "jpush": {"before": 100, "after": 0, "messages_before": 1, "messages_after": 0},
        "vivo": {"before": 30, "after": 0, "messages_before": 1, "messages_after": 0},
        "xiaomi": {"before": 50, "after": 0, "messages_before": 1, "messages_after": 0},
    });
    assert_eq!(e["by_channel"], expect, "{e}");
    assert_eq!(e["receivers_before"], 205);
    assert_eq!(e["receivers_after"], 25);
    assert_eq!(e["unreached"], json!(["huawei_legacy"]));
    let html = std::fs::read_to_string(c.run_dir().join("report.html")).unwrap();
    assert!(html.contains("id=\"exposure\"") && html.contains("huawei_legacy"));
}

/// A selection that matches nothing says why: the ledger's span against the window.
#[test]
fn an_empty_selection_says_why() {
    let server = MockServer::start();
    let old = "2026-11-01T00:00:00Z";
    let steps = "  - name: pull\n    action: recall\n    select: { where: { sent_within: 2h, tags_any: [bf-prom] } }\n";
    let ledger = [record_at("1", old, "[\"android\"]", "")];
    let c = Campaign::new("empty", &server, "  concurrency: 1", steps, &ledger);
    let out = c
        .run_test()
        .status(0)
        .stderr_contains("nothing to send")
        .stderr_contains(
            "the ledger's records were sent from 2026-11-01T00:00:00Z to 2026-11-01T00:00:00Z",
        )
        .stderr_contains("`sent_within: 2h`")
        .run();
    assert!(
        out.stdout
            .contains("no record is tagged `bf-prom`; the ledger's most used tags: `bf` (1)"),
        "{}",
        out.stdout
    );
}

/// Mixed and iOS-only overrides, byte for byte: one push per target; `override_msg_id` only
/// where a platform uses it; past the day, iOS alone (its collapse id has no window).
#[test]
fn ios_only_and_mixed_overrides_carry_the_options_that_apply() {
    let server = MockServer::start();
    cid_pool(&server);
    let mixed = server.mock(|when, then| {
        when.method(POST)
            .path("/v3/push")
            .header("Authorization", BASIC)
            .json_body(json!({
                "platform": ["android", "ios"],
                "audience": {"tag": ["bf"]},
                "notification": {
                    "android": {"alert": "Fixed", "title": "Correction"},
                    "ios": {"alert": {"title": "Correction", "body": "Fixed"}}
                },
                "options": {"override_msg_id": 1, "apns_collapse_id": "c-1", "apns_production": false, "classification": 1,
                            "third_party_channel": {"vivo": {"classification": 1}}},
                "cid": CID
            }));
        then.status(200).json_body(json!({"sendno": "1", "msg_id": "901"}));
    });
    let ios_only = server.mock(|when, then| {
        when.method(POST).path("/v3/push").json_body(json!({
            "platform": ["ios"],
            "audience": {"tag": ["bf"]},
            "notification": {"ios": {"alert": {"title": "Correction", "body": "Fixed"}}},
            "options": {"apns_collapse_id": "c-2", "apns_production": false},
            "cid": CID
        }));
        then.status(200)
            .json_body(json!({"sendno": "1", "msg_id": "902"}));
    });
    let old = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(30)).to_string();
    let ledger = [
        record(
            "1",
            "[\"android\",\"ios\"]",
            r#","apns_collapse_id":"c-1","classification":1,"third_party_channel":{"vivo":{"classification":1}},"receivers_by_channel":{"jpush":5,"apns":5}"#,
        ),
        record_at(
            "2",
            &old,
            "[\"android\",\"ios\"]",
            r#","apns_collapse_id":"c-2","receivers_by_channel":{"jpush":5,"apns":5}"#,
        ),
    ];
    let steps = OVERRIDE.replace("ids: [1]", "ids: [1, 2]");
    let c = Campaign::new("ios-mixed", &server, "  concurrency: 1", &steps, &ledger);
    c.run_test().status(0).run();
    mixed.assert_calls(1);
    ios_only.assert_calls(1);
    // The old one's Android channel was past the day: not corrected there, and the exposure
    // says so.
    let e = &c.report()["exposure"];
    assert_eq!(e["by_channel"]["jpush"]["after"], 5, "{e}");
    assert_eq!(e["by_channel"]["apns"]["after"], 0);
}

/// A TPNS account-list override goes to the accounts' devices as the original did.
#[test]
fn tpns_account_overrides_carry_account_push_type() {
    let server = MockServer::start();
    let push = server.mock(|when, then| {
        when.method(POST)
            .path("/v3/push/app")
            .header("Authorization", TPNS_BASIC)
            .json_body_includes(r#"{"audience_type":"account_list","account_list":["a1"],"account_push_type":1,"collapse_id":77}"#);
        then.status(200)
            .json_body(json!({"push_id": "9", "ret_code": 0, "err_msg": ""}));
    });
    let rec = r#"{"push_id":"8","sent_at":"2026-11-21T02:00:00Z","platforms":["android"],"audience_type":"account_list","audience":{"account_list":["a1"]},"account_push_type":1,"collapse_id":77}"#;
    let steps = "  - name: fix\n    action: override\n    select: { ids: [\"8\"] }\n    message:\n      title: T\n      body: B\n";
    let c = Campaign::tpns("tpns-account", &server, "basic", steps, &[rec.to_string()]);
    c.run_test().status(0).run();
    push.assert_calls(1);
}

/// A rehearsal `--as-of` against a sandbox whose clock runs elsewhere is refused: windows would
/// be judged on two clocks.
#[test]
fn run_as_of_refuses_a_sandbox_on_another_clock() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/_sandbox");
        then.status(200)
            .json_body(json!({"clock": "2026-11-25T00:00:00.000Z"}));
    });
    let c = Campaign::recall("clocks", &server, "  concurrency: 1", "9");
    let out = c
        .run_test()
        .args(["--as-of", "2026-11-20T12:30:00+08:00"])
        .status(2)
        .stderr_contains("runs its clock at 2026-11-25T00:00:00Z")
        .run();
    assert!(
        out.stderr.contains("pushfix sandbox --as-of"),
        "{}",
        out.stderr
    );
    // Agreeing clocks go ahead (the recall itself is answered 404 here: not found, exit 1).
    let server2 = MockServer::start();
    server2.mock(|when, then| {
        when.method(GET).path("/_sandbox");
        then.status(200)
            .json_body(json!({"clock": "2026-11-20T04:31:00.000Z"}));
    });
    let c2 = Campaign::recall("clocks-ok", &server2, "  concurrency: 1", "9");
    let out = Test::in_dir(&c2.dir)
        .jpush_credentials()
        .args([
            "run",
            "pb.yaml",
            "--yes",
            "--as-of",
            "2026-11-20T12:30:00+08:00",
        ])
        .run();
    assert_ne!(out.code(), Some(2), "{}", out.stderr);
    let _: Value = json!(null);
}
