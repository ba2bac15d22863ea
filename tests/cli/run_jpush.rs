//! `pushfix run` against an httpmock JPush: exact requests, every answer class, retries that
//! reuse the cid, pacing measured at the server, exit codes, and no secret anywhere.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use httpmock::Method::{DELETE, GET, POST};
use httpmock::MockServer;
use serde_json::{Value, json};

use crate::support::{
    APP_KEY, BASIC, Campaign, SECRET, TempDir, Test, all_files, finals, read_text, record,
};

fn step_outcomes(report: &Value, step: usize) -> Value {
    report["steps"][step]["outcomes"].clone()
}

#[test]
fn recall_and_override_send_exactly_the_documented_requests() {
    let server = MockServer::start();
    let recall = server.mock(|when, then| {
        when.method(DELETE)
            .path("/v3/push/67554224848096790")
            .header("Authorization", BASIC)
            .header("Content-Type", "application/json");
        then.status(200).body("");
    });
    let cid = server.mock(|when, then| {
        when.method(GET).path("/v3/push/cid").query_param("count", "1").query_param("type", "push").header("Authorization", BASIC);
        then.status(200)
            .header("X-Rate-Limit-Limit", "600")
            .header("X-Rate-Limit-Remaining", "598")
            .header("X-Rate-Limit-Reset", "50")
            .json_body(json!({"cidlist": ["7d431e42dfa6a6d693ac2d04-0f6c8c1d-1111-4f2b-8d9e-aaaaaaaaaaaa"]}));
    });
    // Golden body: written out by hand from reference/jpush.md, not from pushfix's code.
    let golden = json!({
        "platform": ["android", "ios"],
        "audience": {"tag": ["bf"]},
        "notification": {
            "android": {"alert": "Fixed link for 48h sale", "title": "Correction", "extras": {"url": "app://sale/fixed"}},
            "ios": {"alert": {"title": "Correction", "body": "Fixed link for 48h sale"}, "extras": {"url": "app://sale/fixed"}}
        },
        "options": {"override_msg_id": 67554224848096791u64, "apns_collapse_id": "bf-1", "apns_production": false},
        "cid": "7d431e42dfa6a6d693ac2d04-0f6c8c1d-1111-4f2b-8d9e-aaaaaaaaaaaa"
    });
    let push = server.mock(|when, then| {
        when.method(POST)
            .path("/v3/push")
            .header("Authorization", BASIC)
            .header("Content-Type", "application/json")
            .json_body(golden.clone())
            // The id must be a JSON integer, written with every digit (never through a float).
            .body_includes("\"override_msg_id\":67554224848096791");
        then.status(200)
            .json_body(json!({"sendno": "0", "msg_id": "18101213529672826"}));
    });
    let steps = "  - name: pull\n    action: recall\n    select: { ids: [\"67554224848096790\"] }\n  - name: fix\n    action: override\n    select: { ids: [67554224848096791] }\n    message:\n      title: Correction\n      body: \"Fixed link for {{ message.title }}\"\n      extras: { url: \"app://sale/fixed\" }\n";
    let ledger = [
        record("67554224848096790", "[\"android\"]", ""),
        record(
            "67554224848096791",
            "[\"android\",\"ios\"]",
            r#","apns_collapse_id":"bf-1""#,
        ),
    ];
    let c = Campaign::new("wire", &server, "  concurrency: 1", steps, &ledger);
    c.run_test()
        .args(["--endpoint", &server.base_url()])
        .status(0)
        .run();
    recall.assert_calls(1);
    cid.assert_calls(1);
    push.assert_calls(1);
    let r = c.report();
    assert_eq!(r["schema"], "pushfix.report/v1");
    assert_eq!(step_outcomes(&r, 0)["done"], 1);
    assert_eq!(step_outcomes(&r, 1)["done"], 1);
    assert_eq!(r["steps"][1]["requests"], 2, "one cid request and one push");
    assert_eq!(r["totals"]["done"], 2);
    assert_eq!(r["exit_code"], 0);
    // The new message's id is in the journal, for the audit trail.
    let finals = finals(&c.journal());
    assert_eq!(finals[1]["new_id"], "18101213529672826");
    for f in [
        "playbook.yaml",
        "plan.json",
        "journal.jsonl",
        "report.json",
        "report.md",
    ] {
        assert!(c.run_dir().join(f).is_file(), "{f}");
    }
}

#[test]
fn every_answer_class_reaches_its_outcome() {
    let server = MockServer::start();
    let answer = |id: &str, status: u16, body: &str| {
        let (id, body) = (id.to_string(), body.to_string());
        server.mock(move |when, then| {
            when.method(DELETE).path(format!("/v3/push/{id}"));
            then.status(status).body(body);
        })
    };
    let done = answer("1", 200, "");
    let gone = answer(
        "2",
        400,
        r#"{"error":{"code":1003,"message":"msgid doesn't exist"}}"#,
    );
    let failed = answer(
        "3",
        403,
        r#"{"error":{"code":2003,"message":"The appKey is in black list."}}"#,
    );
    let transient = answer(
        "4",
        503,
        r#"{"error":{"code":1030,"message":"internal service timeout"}}"#,
    );
    // 5: throttled once (429 + 2002 + a reset header), then accepted.
    let calls = Arc::new(AtomicUsize::new(0));
    let c1 = calls.clone();
    let throttled = server.mock(move |when, then| {
        when.method(DELETE)
            .path("/v3/push/5")
            .is_true(move |_| c1.fetch_add(1, Ordering::SeqCst) == 0);
        then.status(429)
            .header("X-Rate-Limit-Limit", "600")
            .header("X-Rate-Limit-Remaining", "0")
            .header("X-Rate-Limit-Reset", "1")
            .json_body(json!({"error": {"code": 2002, "message": "Rate limit exceeded"}}));
    });
    let after = server.mock(|when, then| {
        when.method(DELETE).path("/v3/push/5");
        then.status(200).body("");
    });
    let c = Campaign::recall("classes", &server, "  concurrency: 2", "1, 2, 3, 4, 5");
    // Failed and gave-up targets make exit 1.
    c.run_test().status(1).run();
    done.assert_calls(1);
    gone.assert_calls(1);
    failed.assert_calls(1);
    transient.assert_calls(3); // retry.attempts: 3
    throttled.assert_calls(1);
    after.assert_calls(1);
    let r = c.report();
    assert_eq!(
        step_outcomes(&r, 0),
        json!({"done": 2, "gone": 1, "not_corrected": 0, "skipped": 0, "failed": 1, "gave_up": 1, "not_attempted": 0})
    );
    assert_eq!(
        r["steps"][0]["retries"], 3,
        "two transient retries and one after the throttle"
    );
    assert_eq!(r["steps"][0]["throttled"], 1);
    let finals = finals(&c.journal());
    let by_id = |id: &str| finals.iter().find(|f| f["target"] == id).unwrap().clone();
    assert_eq!(by_id("3")["code"], 2003);
    assert_eq!(by_id("4")["outcome"], "gave_up");
    let md = read_text(&c.run_dir().join("report.md"));
    assert!(md.contains("The appKey is in black list."), "{md}");
}

#[test]
fn a_lost_answer_is_retried_with_the_same_cid() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/v3/push/cid");
        then.status(200)
            .json_body(json!({"cidlist": ["appkey-cid-0001", "appkey-cid-0002"]}));
    });
    let seen_cids = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let (s1, c1) = (seen_cids.clone(), calls.clone());
    // The first push is accepted but its answer never arrives in time (limits.timeout: 300ms).
    let slow = server.mock(move |when, then| {
        when.method(POST).path("/v3/push").is_true(move |req| {
            let body: Value = serde_json::from_slice(&req.body().0).unwrap();
            s1.lock()
                .unwrap()
                .push(body["cid"].as_str().unwrap().to_string());
            c1.fetch_add(1, Ordering::SeqCst) == 0
        });
        then.status(200)
            .delay(Duration::from_millis(1500))
            .json_body(json!({"sendno": "0", "msg_id": "1001"}));
    });
    let fast = server.mock(|when, then| {
        when.method(POST).path("/v3/push");
        then.status(200)
            .json_body(json!({"sendno": "0", "msg_id": "1001"}));
    });
    let steps = "  - name: fix\n    action: override\n    select: { ids: [\"67554224848096790\"] }\n    message: { body: fixed }\n";
    let ledger = [record("67554224848096790", "[\"android\"]", "")];
    let c = Campaign::new("lost", &server, "  timeout: 300ms", steps, &ledger);
    c.run_test().status(0).run();
    slow.assert_calls(1);
    fast.assert_calls(1);
    let cids = seen_cids.lock().unwrap().clone();
    assert_eq!(cids.len(), 2, "{cids:?}");
    assert_eq!(
        cids[0], cids[1],
        "the retry reuses the cid, so JPush cannot push twice"
    );
    let intents: Vec<Value> = c
        .journal()
        .into_iter()
        .filter(|e| e["event"] == "intent" && e["request"] == "POST /v3/push")
        .collect();
    assert_eq!(intents.len(), 2);
    assert_eq!(
        intents[0]["cid"], intents[1]["cid"],
        "the cid is journaled with each intent"
    );
    assert_eq!(c.report()["steps"][0]["retries"], 1);
}

#[test]
fn requests_never_exceed_the_rate_in_any_second() {
    let server = MockServer::start();
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = times.clone();
    server.mock(move |when, then| {
        when.method(DELETE).is_true(move |_| {
            t.lock().unwrap().push(Instant::now());
            true
        });
        then.status(200).body("");
    });
    let ids: Vec<String> = (1..=35).map(|i| i.to_string()).collect();
    let c = Campaign::recall(
        "pace",
        &server,
        "  rate: 10/s\n  concurrency: 8",
        &ids.join(", "),
    );
    c.run_test().status(0).run();
    let mut t = times.lock().unwrap().clone();
    t.sort();
    assert_eq!(t.len(), 35);
    for (i, a) in t.iter().enumerate() {
        let n = t[i..]
            .iter()
            .take_while(|b| b.duration_since(*a) < Duration::from_secs(1))
            .count();
        assert!(n <= 10, "{n} requests within one second");
    }
    let rate = c.report()["steps"][0]["achieved_rate_per_s"]
        .as_f64()
        .unwrap();
    // The upper bound is the contract; the lower one only says pacing did not stall.
    assert!(rate > 5.0 && rate <= 10.0, "achieved {rate}/s");
}

#[test]
fn failure_budget_stops_dispatch_and_exits_3() {
    let server = MockServer::start();
    let failing = server.mock(|when, then| {
        when.method(DELETE);
        then.status(401)
            .json_body(json!({"error": {"code": 1004, "message": "Authen failed"}}));
    });
    let ids: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    let c = Campaign::recall(
        "budget",
        &server,
        "  max_failures: 2\n  concurrency: 4",
        &ids.join(", "),
    );
    c.run_test()
        .status(3)
        .stdout_contains("failure budget used up")
        // The end says why, with the provider's code and message.
        .stdout_contains("stopped: 18 not attempted: failure budget used up (limits.max_failures allows 2) by 1004 Authen failed ×2")
        .run();
    let o = step_outcomes(&c.report(), 0);
    // Never overshot: no more failures than the budget, however many could be in flight.
    assert_eq!(o["failed"], 2, "{o}");
    assert_eq!(o["not_attempted"], 18);
    failing.assert_calls(2);
}

#[test]
fn missing_credentials_or_confirmation_exit_2_and_send_nothing() {
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(200);
    });
    let c = Campaign::recall("creds", &server, "  concurrency: 1", "1");
    Test::in_dir(&c.dir)
        .args(["run", "pb.yaml", "--yes"])
        .env("JPUSH_APP_KEY", APP_KEY)
        .status(2)
        .stderr_contains("JPUSH_MASTER_SECRET is not set")
        .run();
    // Without --yes: stdin null (the default), or a `yes` piped in, is not a confirmation.
    c.test()
        .args(["run", "pb.yaml"])
        .status(2)
        .stderr_contains("pass --yes")
        .run();
    c.test()
        .args(["run", "pb.yaml"])
        .stdin("yes\n")
        .status(2)
        .stderr_contains("pass --yes")
        .run();
    any.assert_calls(0);
    assert!(!c.dir.join("audit").exists(), "nothing recorded either");
}

#[test]
fn a_second_run_of_the_same_playbook_and_app_exits_4() {
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(200);
    });
    let c = Campaign::recall("locked", &server, "  concurrency: 1", "1");
    let held = pushfix::exec::lock::RunLock::acquire_in(
        c.run_test().state_dir(),
        pushfix::exec::lock::LockKey {
            provider: "jpush",
            app: APP_KEY,
            playbook: "locked",
        },
        "run 1 by test@host",
    )
    .ok()
    .unwrap();
    c.run_test()
        .status(4)
        .stderr_contains("run 1 by test@host")
        .run();
    any.assert_calls(0);
    drop(held);
    c.run_test().status(0).run();
}

#[test]
fn the_lock_holds_across_audit_dirs_and_working_directories() {
    let server = MockServer::start();
    let recalls = server.mock(|when, then| {
        when.method(DELETE);
        then.status(200).delay(Duration::from_millis(200)).body("");
    });
    let c = Campaign::recall("everywhere", &server, "  concurrency: 1", "1, 2, 3, 4, 5");
    // The same playbook and ledger in another directory, run with another audit dir: only
    // the per-user state directory is shared, as on one machine.
    let elsewhere = TempDir::new("everywhere-2");
    for f in ["pb.yaml", "sends.jsonl"] {
        std::fs::copy(c.dir.join(f), elsewhere.join(f)).unwrap();
    }
    let state = c.run_test().state_dir().to_path_buf();
    let first = c.run_test().status(0).spawn();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while recalls.calls() < 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(recalls.calls() >= 1, "the first run did not start");
    let second = Test::in_dir(&elsewhere)
        .jpush_credentials()
        .with_state_dir(&state)
        .args(["run", "pb.yaml", "--yes", "--audit-dir", "other-audit"])
        .status(4)
        .stderr_contains("another run of `everywhere` for this jpush app is in progress (run ")
        .run();
    assert!(
        !elsewhere.join("other-audit").exists(),
        "a refused run leaves nothing behind"
    );
    assert!(!second.stderr.contains(APP_KEY), "{}", second.stderr);
    first.wait();
    recalls.assert_calls(5);
}

#[test]
fn no_secret_in_output_or_audit_files() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/v3/push/cid");
        then.status(200)
            .json_body(json!({"cidlist": ["c1", "c2", "c3"]}));
    });
    // A provider that echoes the credentials back in an error must not get them into the audit.
    server.mock(|when, then| {
        when.method(POST).path("/v3/push");
        then.status(400).json_body(json!({"error": {"code": 1008, "message": format!("bad app_key {APP_KEY}:{SECRET} / {BASIC}")}}));
    });
    server.mock(|when, then| {
        when.method(DELETE);
        then.status(200);
    });
    let steps = "  - name: pull\n    action: recall\n    select: { ids: [\"67554224848096790\"] }\n  - name: fix\n    action: override\n    select: { where: { tags_any: [bf] } }\n    message: { body: fixed }\n";
    let ledger = [
        record("67554224848096790", "[\"android\"]", ""),
        record(
            "67554224848096791",
            "[\"ios\"]",
            r#","apns_collapse_id":"c""#,
        ),
    ];
    let c = Campaign::new("secrets", &server, "  concurrency: 2", steps, &ledger);
    let out = c.run_test().status(1).run();
    let token = BASIC.trim_start_matches("Basic ");
    let mut places = vec![
        ("stdout".into(), out.stdout.clone()),
        ("stderr".into(), out.stderr.clone()),
    ];
    places.extend(
        all_files(&c.dir.join("audit"))
            .into_iter()
            .map(|(p, t)| (p.display().to_string(), t)),
    );
    for (place, content) in &places {
        for secret in [SECRET, BASIC, token] {
            assert!(!content.contains(secret), "{secret} found in {place}");
        }
    }
}

#[test]
fn sigint_drains_in_flight_requests_and_writes_a_partial_report() {
    let server = MockServer::start();
    let recalls = server.mock(|when, then| {
        when.method(DELETE);
        then.status(200).delay(Duration::from_millis(300)).body("");
    });
    let ids: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    let c = Campaign::recall("sigint", &server, "  concurrency: 2", &ids.join(", "));
    let child = c.run_test().status(3).spawn();
    // Interrupt once the campaign is under way (however slowly this machine started it).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while recalls.calls() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.signal("INT"));
    child.wait();
    let r = c.report();
    let o = step_outcomes(&r, 0);
    let done = o["done"].as_u64().unwrap();
    assert!((2..40).contains(&done), "{o}");
    assert_eq!(
        done + o["not_attempted"].as_u64().unwrap(),
        40,
        "every target has a final outcome: {o}"
    );
    assert_eq!(
        recalls.calls() as u64,
        done,
        "in-flight requests were drained, none abandoned"
    );
    assert_eq!(r["exit_code"], 3);
    let md = read_text(&c.run_dir().join("report.md"));
    assert!(md.contains("interrupted by a signal"), "{md}");
}

#[test]
fn report_command_rebuilds_from_the_journal() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(DELETE);
        then.status(200);
    });
    let c = Campaign::recall("report", &server, "  concurrency: 1", "1, 2");
    c.run_test().status(0).run();
    let dir = c.run_dir();
    let before = std::fs::read_to_string(dir.join("report.json")).unwrap();
    std::fs::remove_file(dir.join("report.json")).unwrap();
    std::fs::remove_file(dir.join("report.md")).unwrap();
    let report = || Test::in_dir(&c.dir).arg("report").arg(&dir);
    let printed = report().args(["--format", "json"]).status(0).run().json();
    assert_eq!(printed, serde_json::from_str::<Value>(&before).unwrap());
    assert_eq!(
        std::fs::read_to_string(dir.join("report.json")).unwrap(),
        before,
        "rewritten identically"
    );
    assert!(dir.join("report.md").is_file());
    let html = report().args(["--format", "html"]).run();
    assert!(html.stdout.starts_with("<!doctype html>"));
    report().stdout_contains("| exit code | 0").run();
    Test::in_dir(&c.dir)
        .args(["report", "nowhere"])
        .status(2)
        .run();
}

/// On a terminal, `run` asks; only `yes` sends anything. (`script` gives the child a pty.)
#[test]
fn confirmation_on_a_terminal() {
    let server = MockServer::start();
    let recall = server.mock(|when, then| {
        when.method(DELETE);
        then.status(200);
    });
    let c = Campaign::recall("confirm", &server, "  concurrency: 1", "1");
    let answer = |reply: &str, code: i32| {
        let mut child = c
            .test()
            .tty()
            .args(["run", "pb.yaml", "--audit-dir", "audit"])
            .status(code)
            .stdout_contains("Type `yes` to run")
            .spawn();
        std::thread::sleep(Duration::from_millis(800));
        child.write_stdin(format!("{reply}\n"));
        child.wait()
    };
    answer("no", 2);
    recall.assert_calls(0);
    answer("yes", 0);
    recall.assert_calls(1);
}

/// A schedule ledger record (JPush names schedules by `schedule_id`, a UUID).
fn schedule(id: &str, scheduled: &str, extra: &str) -> String {
    format!(
        r#"{{"schedule_id":"{id}","name":"bf_sched","enabled":true,"scheduled":{scheduled},"platforms":["android","ios"],"tags":["bf"],"title":"48h sale","audience":{{"tag":["bf"]}}{extra}}}"#
    )
}

const SCHED_A: &str = "0eac1b80-c2ac-4b69-948b-c65b34b96512";
const SCHED_B: &str = "17349f00-0852-11e6-91b1-0021f653c902";
const SCHED_C: &str = "2685a52f-277a-4b6b-b1b6-308977bbca0d";
const SCHED_D: &str = "ef075f3c-8a6b-469c-8600-55e4d2cc3573";
const SCHED_E: &str = "a55e2a8d-61c8-4ff6-8e80-141f713c792d";
const SCHED_FIRED: &str = "713cb35e-f7df-4e64-9ee9-f8ffda4a06a4";

#[test]
fn cancel_scheduled_deletes_each_schedule_by_its_id_and_no_secret_shows() {
    let server = MockServer::start();
    let delete = |id: &str| {
        let id = id.to_string();
        server.mock(move |when, then| {
            // Golden, from jpush-docs rest_api_push_schedule.md: DELETE, no body, Basic auth.
            when.method(DELETE)
                .path(format!("/v3/schedules/{id}"))
                .header("Authorization", BASIC)
                .header("Content-Type", "application/json")
                .body("");
            then.status(200)
                .header("Content-Length", "0")
                .header("X-Rate-Limit-Limit", "100")
                .header("X-Rate-Limit-Remaining", "99")
                .header("X-Rate-Limit-Reset", "60")
                .body("");
        })
    };
    let (a, b) = (delete(SCHED_A), delete(SCHED_B));
    let fired = delete(SCHED_FIRED);
    // By tag over the ledger, and by id (written in capitals: UUIDs match in any case).
    let steps = format!(
        "  - name: cancel\n    action: cancel_scheduled\n    select: {{ where: {{ tags_any: [bf] }} }}\n  - name: by-id\n    action: cancel_scheduled\n    select: {{ ids: [\"{}\"] }}\n",
        SCHED_B.to_uppercase()
    );
    let ledger = [
        schedule(SCHED_A, "\"2099-01-01T09:00:00+08:00\"", ""),
        schedule(SCHED_FIRED, "\"2020-01-01T09:00:00+08:00\"", ""),
        schedule(SCHED_B, "true", "").replace(r#""tags":["bf"]"#, r#""tags":["other"]"#),
        // A sent message in the same ledger: the cancel leaves it alone.
        record("67554224848096790", "[\"android\"]", ""),
    ];
    let c = Campaign::new("sched-wire", &server, "  concurrency: 1", &steps, &ledger);
    // The plan shows the DELETE each target sends (text and JSON), and nothing for the one
    // that fired already.
    let text = c.test().args(["plan", "pb.yaml"]).status(0).run().stdout;
    assert!(
        text.contains("cancel_scheduled   DELETE /v3/schedules/{schedule_id}"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &c.test()
            .args(["plan", "pb.yaml", "--format", "json"])
            .status(0)
            .run()
            .stdout,
    )
    .unwrap();
    let targets = json["steps"][0]["targets"].as_array().unwrap();
    let by = |id: &str| targets.iter().find(|t| t["id"] == id).unwrap().clone();
    let delete = &by(SCHED_A)["requests"][0];
    assert_eq!(delete["method"], "DELETE");
    assert_eq!(
        delete["url"],
        format!("{}/v3/schedules/{SCHED_A}", server.base_url())
    );
    assert!(delete["body"].is_null(), "{delete}");
    assert_eq!(by(SCHED_FIRED)["verdict"], "expired");
    assert!(by(SCHED_FIRED)["requests"].is_null());
    assert_eq!(
        json["steps"][1]["targets"][0]["requests"][0]["url"],
        format!("{}/v3/schedules/{SCHED_B}", server.base_url())
    );
    let out = c.run_test().status(0).run();
    a.assert_calls(1);
    b.assert_calls(1);
    fired.assert_calls(0);
    let r = c.report();
    assert_eq!(
        step_outcomes(&r, 0),
        json!({"done": 1, "gone": 0, "not_corrected": 0, "skipped": 1, "failed": 0, "gave_up": 0, "not_attempted": 0})
    );
    assert_eq!(step_outcomes(&r, 1)["done"], 1);
    // The journal records each delete's intent before it leaves, then its outcome.
    let journal = c.journal();
    for id in [SCHED_A, SCHED_B] {
        let intent = journal
            .iter()
            .find(|e| e["event"] == "intent" && e["target"] == id)
            .unwrap_or_else(|| panic!("no intent for {id}: {journal:?}"));
        assert_eq!(intent["request"], format!("DELETE /v3/schedules/{id}"));
    }
    let token = BASIC.trim_start_matches("Basic ");
    let mut places = vec![out.stdout.clone(), out.stderr.clone()];
    places.extend(all_files(&c.dir.join("audit")).into_iter().map(|(_, t)| t));
    for p in &places {
        for secret in [SECRET, BASIC, token] {
            assert!(!p.contains(secret), "{secret} leaked");
        }
    }
}

#[test]
fn every_schedule_answer_reaches_its_outcome() {
    let server = MockServer::start();
    let answer = |id: &str, status: u16, body: &str| {
        let (id, body) = (id.to_string(), body.to_string());
        server.mock(move |when, then| {
            when.method(DELETE).path(format!("/v3/schedules/{id}"));
            then.status(status).body(body);
        })
    };
    let done = answer(SCHED_A, 200, "");
    let gone = answer(
        SCHED_B,
        404,
        r#"{"error":{"code":8104,"message":"Request schedule operation doesn't exist"}}"#,
    );
    // The docs' other reading: a 404 with no body. Gone, once the list answers on the path.
    let bare = answer(SCHED_C, 404, "");
    let list = server.mock(|when, then| {
        when.method(GET)
            .path("/v3/schedules")
            .query_param("page", "1")
            .header("Authorization", BASIC);
        then.status(200)
            .json_body(json!({"total_count": 0, "total_pages": 0, "page": 1, "schedules": []}));
    });
    let expired = answer(
        SCHED_D,
        400,
        r#"{"error":{"code":8100,"message":"The schedule-task is invalid: has been at term; expired"}}"#,
    );
    // 8203 once, then accepted.
    let calls = Arc::new(AtomicUsize::new(0));
    let c1 = calls.clone();
    let timeout = server.mock(move |when, then| {
        when.method(DELETE)
            .path(format!("/v3/schedules/{SCHED_E}"))
            .is_true(move |_| c1.fetch_add(1, Ordering::SeqCst) == 0);
        then.status(503).json_body(
            json!({"error": {"code": 8203, "message": "Execute action timeout, please try later again"}}),
        );
    });
    let after = answer(SCHED_E, 200, "");
    let ids = [SCHED_A, SCHED_B, SCHED_C, SCHED_D, SCHED_E]
        .map(|i| format!("\"{i}\""))
        .join(", ");
    let steps =
        format!("  - name: cancel\n    action: cancel_scheduled\n    select: {{ ids: [{ids}] }}\n");
    let c = Campaign::new("sched-classes", &server, "  concurrency: 1", &steps, &[]);
    // The failed one makes exit 1.
    c.run_test().status(1).run();
    for m in [&done, &gone, &bare, &expired, &timeout, &after, &list] {
        m.assert_calls(1);
    }
    let r = c.report();
    assert_eq!(
        step_outcomes(&r, 0),
        json!({"done": 2, "gone": 2, "not_corrected": 0, "skipped": 0, "failed": 1, "gave_up": 0, "not_attempted": 0})
    );
    assert_eq!(r["steps"][0]["retries"], 1);
    let finals = finals(&c.journal());
    let by_id = |id: &str| finals.iter().find(|f| f["target"] == id).unwrap().clone();
    assert_eq!(by_id(SCHED_B)["code"], 8104);
    assert_eq!(by_id(SCHED_C)["outcome"], "gone");
    assert_eq!(by_id(SCHED_D)["code"], 8100);
    assert!(
        by_id(SCHED_D)["reason"]
            .as_str()
            .unwrap()
            .contains("already ran its course")
    );
}

#[test]
fn a_bare_404_where_the_schedule_list_is_not_either_fails() {
    let server = MockServer::start();
    let delete = server.mock(|when, then| {
        when.method(DELETE).path(format!("/v3/schedules/{SCHED_A}"));
        then.status(404).body("");
    });
    let list = server.mock(|when, then| {
        when.method(GET).path("/v3/schedules");
        then.status(404).body("");
    });
    let steps = format!(
        "  - name: cancel\n    action: cancel_scheduled\n    select: {{ ids: [\"{SCHED_A}\"] }}\n"
    );
    let c = Campaign::new("sched-wrong-path", &server, "  concurrency: 1", &steps, &[]);
    c.run_test().status(1).run();
    delete.assert_calls(1);
    list.assert_calls(1);
    let f = finals(&c.journal());
    assert_eq!(f[0]["outcome"], "failed");
    assert!(
        f[0]["reason"]
            .as_str()
            .unwrap()
            .contains("/v3/push/schedules"),
        "{}",
        f[0]
    );
}

/// A schedule whose last firing comes while the run deletes it: whatever JPush answers — the
/// delete accepted (its record removed after the push went out) or the schedule unknown
/// (forgotten once it ran its course) — the target is `failed`, never `done` or `gone`, and
/// the plan warned of the race first.
#[test]
fn a_schedule_firing_as_it_is_deleted_is_failed_whatever_jpush_answers() {
    let server = MockServer::start();
    let accepted = server.mock(|when, then| {
        when.method(DELETE).path(format!("/v3/schedules/{SCHED_A}"));
        then.status(200).body("");
    });
    let forgotten = server.mock(|when, then| {
        when.method(DELETE).path(format!("/v3/schedules/{SCHED_B}"));
        then.status(404).json_body(
            json!({"error": {"code": 8104, "message": "Request schedule operation doesn't exist"}}),
        );
    });
    let later = server.mock(|when, then| {
        when.method(DELETE).path(format!("/v3/schedules/{SCHED_C}"));
        then.status(200).body("");
    });
    // Half a minute from now: still to come when the plan is made, due as the deletes go out.
    let soon = format!(
        "\"{}\"",
        jiff::Timestamp::now() + jiff::SignedDuration::from_secs(30)
    );
    let ledger = [
        schedule(SCHED_A, &soon, ""),
        schedule(SCHED_B, &soon, ""),
        schedule(SCHED_C, "\"2099-01-01T09:00:00+08:00\"", ""),
    ];
    let steps = "  - name: cancel\n    action: cancel_scheduled\n    select: { where: { tags_any: [bf] } }\n";
    let c = Campaign::new("sched-race", &server, "  concurrency: 1", steps, &ledger);
    // (`plan` is pinned to the suite's clock; `run` plans by the wall clock.)
    let now = jiff::Timestamp::now().to_string();
    c.test()
        .args(["plan", "pb.yaml", "--as-of", &now])
        .status(0)
        .stdout_contains("2 schedules fire for the last time within the step's estimated")
        .run();
    c.run_test().status(1).run();
    for m in [&accepted, &forgotten, &later] {
        m.assert_calls(1);
    }
    let r = c.report();
    assert_eq!(
        step_outcomes(&r, 0),
        json!({"done": 1, "gone": 0, "not_corrected": 0, "skipped": 0, "failed": 2, "gave_up": 0, "not_attempted": 0})
    );
    let finals = finals(&c.journal());
    let by_id = |id: &str| finals.iter().find(|f| f["target"] == id).unwrap().clone();
    let a = by_id(SCHED_A);
    assert!(
        a["reason"]
            .as_str()
            .unwrap()
            .contains("JPush accepted the delete")
            && a["reason"]
                .as_str()
                .unwrap()
                .contains("its pushes went out"),
        "{a}"
    );
    let b = by_id(SCHED_B);
    assert_eq!(b["code"], 8104);
    assert!(
        b["reason"].as_str().unwrap().contains("no longer knows"),
        "{b}"
    );
    assert_eq!(by_id(SCHED_C)["outcome"], "done");
}
