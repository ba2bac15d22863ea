//! `pushfix run` against an httpmock GeTui: the sign checked independently, the token in every
//! call and asked for once, a refused token refreshed with the request sent once more, the
//! exact requests of stop / recall / override / cancel, `force: true` never sent, every
//! answer class, and no secret, sign or token in stdout, stderr or the audit directory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use httpmock::Method::{DELETE, POST};
use httpmock::MockServer;
use httpmock::prelude::HttpMockRequest;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{
    GETUI_APP_KEY as APP_KEY, GETUI_MASTER_SECRET as MASTER_SECRET, TempDir, Test, all_files,
    latest_run_dir, read_journal, read_report,
};

const APP: &str = "demoApp01";

/// The sign as reference/getui.md §2 defines it, computed here independently of pushfix.
fn expected_sign(ts: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{APP_KEY}{ts}{MASTER_SECRET}").as_bytes(),
    ))
}

fn body(req: &HttpMockRequest) -> Value {
    serde_json::from_slice(req.body_ref()).unwrap_or(Value::Null)
}

fn header(req: &HttpMockRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

/// An auth body with a correct sign over a current millisecond timestamp; each sign seen is
/// recorded (none may leak).
fn signed(signs: Arc<Mutex<Vec<String>>>) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync {
    move |req| {
        let b = body(req);
        let (Some(ts), Some(sign)) = (b["timestamp"].as_str(), b["sign"].as_str()) else {
            return false;
        };
        let now = jiff::Timestamp::now().as_millisecond();
        let fresh = ts.parse::<i64>().is_ok_and(|t| (now - t).abs() < 60_000);
        let ok = fresh
            && ts.len() == 13
            && sign == expected_sign(ts)
            && b["appkey"] == APP_KEY
            && b.as_object().unwrap().len() == 3
            && header(req, "token").is_none();
        if ok {
            signs.lock().unwrap().push(sign.to_string());
        }
        ok
    }
}

fn token_answer(token: &str) -> Value {
    let expire = jiff::Timestamp::now().as_millisecond() + 86_400_000;
    json!({"code": 0, "msg": "success", "data": {"expire_time": expire.to_string(), "token": token}})
}

/// No push body anywhere says `force: true`.
fn never_forced(req: &HttpMockRequest) -> bool {
    fn forced(v: &Value) -> bool {
        match v {
            Value::Object(m) => m
                .iter()
                .any(|(k, v)| (k == "force" && *v != Value::Bool(false)) || forced(v)),
            Value::Array(a) => a.iter().any(forced),
            _ => false,
        }
    }
    !forced(&body(req))
}

/// `pb.yaml` and `tasks.jsonl` against `server`, fast retries, one request at a time.
fn campaign(name: &str, server: &MockServer, steps: &str, ledger: &[Value]) -> TempDir {
    let dir = TempDir::new(name);
    let lines: Vec<String> = ledger.iter().map(Value::to_string).collect();
    dir.write("tasks.jsonl", lines.join("\n") + "\n");
    dir.write(
        "pb.yaml",
        format!(
            "version: 1\nname: {name}\nprovider:\n  kind: getui\n  app_id: {APP}\n  endpoint: {}\n  credentials:\n    app_key: {{ env: GETUI_APP_KEY }}\n    master_secret: {{ env: GETUI_MASTER_SECRET }}\nledger: tasks.jsonl\nlimits:\n  rate: 50/s\n  concurrency: 1\nretry:\n  attempts: 2\n  backoff: {{ initial: 10ms, max: 20ms }}\nsteps:\n{steps}",
            server.base_url()
        ),
    );
    dir
}

fn run(dir: &TempDir) -> Test {
    Test::in_dir(dir)
        .getui_credentials()
        .args(["run", "pb.yaml", "--yes", "--audit-dir", "audit"])
}

fn task(id: &str, audience_type: &str, extra: Value) -> Value {
    let mut t = json!({
        "taskid": id,
        "sent_at": "2026-11-21T02:00:00Z",
        "platforms": ["android", "ios"],
        "tags": ["bf"],
        "title": "Sale",
        "body": "70% off",
        "audience_type": audience_type,
        "audience": {"tag": [{"key": "custom_tag", "values": ["bf"], "opt_type": "and"}]},
    });
    if let (Value::Object(t), Value::Object(e)) = (&mut t, extra) {
        t.extend(e);
    }
    t
}

/// Nothing secret in stdout, stderr or any file of the audit directory.
fn assert_no_secrets(dir: &TempDir, out: &crate::support::Output, secrets: &[String]) {
    let mut places = vec![out.stdout.clone(), out.stderr.clone()];
    places.extend(all_files(&dir.join("audit")).into_iter().map(|(_, t)| t));
    for s in secrets {
        assert!(
            places.iter().all(|p| !p.contains(s.as_str())),
            "`{s}` leaked"
        );
    }
}

#[test]
fn stop_recall_and_cancel_carry_the_token_and_exact_bodies() {
    let server = MockServer::start();
    let signs = Arc::new(Mutex::new(Vec::new()));
    let s = signs.clone();
    let auth = server.mock(move |when, then| {
        when.method(POST)
            .path(format!("/v2/{APP}/auth"))
            .header("Content-Type", "application/json")
            .is_true(signed(s));
        then.status(200).json_body(token_answer("tok-getui-0001"));
    });
    let stop = server.mock(|when, then| {
        when.method(DELETE)
            .path(format!("/v2/{APP}/task/RASA_1120_a"))
            .header("token", "tok-getui-0001");
        then.status(200)
            .json_body(json!({"code": 0, "msg": "success"}));
    });
    let request_ids = Arc::new(Mutex::new(Vec::new()));
    let ids = request_ids.clone();
    let recall = server.mock(move |when, then| {
        when.method(POST)
            .path(format!("/v2/{APP}/push/all"))
            .header("token", "tok-getui-0001")
            .is_true(never_forced)
            .is_true(move |req| {
                let mut b = body(req);
                let rid = b["request_id"].as_str().unwrap_or("").to_string();
                let ok_rid = rid.len() == 32 && rid.bytes().all(|c| c.is_ascii_hexdigit());
                b.as_object_mut().unwrap().remove("request_id");
                // Golden, from reference/getui.md §4.2 and §7 G4.
                let golden = json!({
                    "audience": "all",
                    "push_message": {"revoke": {"old_task_id": "RASA_1120_b", "force": false}},
                    "push_channel": {
                        "android": {"ups": {"revoke": {"old_task_id": "RASA_1120_b"}}},
                        "harmony": {"revoke": {"old_task_id": "RASA_1120_b"}},
                    },
                });
                if ok_rid && b == golden {
                    ids.lock().unwrap().push(rid);
                    true
                } else {
                    false
                }
            });
        then.status(200).json_body(
            json!({"code": 0, "msg": "success", "data": {"taskid": "RASA_1121_revoke"}}),
        );
    });
    let cancel = server.mock(|when, then| {
        when.method(DELETE)
            .path(format!("/v2/{APP}/task/schedule/RASA_1120_c"))
            .header("token", "tok-getui-0001");
        then.status(200)
            .json_body(json!({"code": 0, "msg": "success"}));
    });
    let steps = "  - name: halt\n    action: stop\n    select: { ids: [\"RASA_1120_a\"] }\n  - name: pull\n    action: recall\n    select: { ids: [\"RASA_1120_b\"] }\n  - name: cancel\n    action: cancel_scheduled\n    select: { ids: [\"RASA_1120_c\"] }\n";
    let ledger = [
        task("RASA_1120_a", "tag", json!({})),
        task("RASA_1120_b", "tag", json!({})),
        task(
            "RASA_1120_c",
            "all",
            json!({"audience": "all", "scheduled": true}),
        ),
    ];
    let dir = campaign("getui-wire", &server, steps, &ledger);
    let out = run(&dir).status(0).run();
    auth.assert_calls(1);
    stop.assert_calls(1);
    recall.assert_calls(1);
    cancel.assert_calls(1);
    let report = read_report(&latest_run_dir(&dir));
    assert_eq!(report["totals"]["done"], 3, "{report}");
    // The request_id is journaled with the intent (what a resume sends again).
    let journal = read_journal(&latest_run_dir(&dir));
    let rid = request_ids.lock().unwrap()[0].clone();
    assert!(
        journal
            .iter()
            .any(|e| e["event"] == "intent" && e["cid"] == rid.as_str()),
        "{journal:?}"
    );
    let mut secrets = vec![MASTER_SECRET.to_string(), "tok-getui-0001".to_string()];
    secrets.extend(signs.lock().unwrap().iter().cloned());
    assert_eq!(secrets.len(), 3);
    assert_no_secrets(&dir, &out, &secrets);
}

#[test]
fn a_refused_token_is_refreshed_and_the_request_sent_once_more() {
    let server = MockServer::start();
    let signs = Arc::new(Mutex::new(Vec::new()));
    let auths = Arc::new(AtomicUsize::new(0));
    let (s, n) = (signs.clone(), auths.clone());
    let first = server.mock(move |when, then| {
        let sign = signed(s);
        when.method(POST)
            .path(format!("/v2/{APP}/auth"))
            .is_true(move |req| sign(req) && n.fetch_add(1, Ordering::SeqCst) == 0);
        then.status(200).json_body(token_answer("tok-old-1111"));
    });
    let s = signs.clone();
    let second = server.mock(move |when, then| {
        when.method(POST)
            .path(format!("/v2/{APP}/auth"))
            .is_true(signed(s));
        then.status(200).json_body(token_answer("tok-new-2222"));
    });
    let refused = server.mock(|when, then| {
        when.method(DELETE)
            .path(format!("/v2/{APP}/task/RASA_1120_a"))
            .header("token", "tok-old-1111");
        then.status(401)
            .json_body(json!({"code": 10001, "msg": "token is invalid: tok-old-1111"}));
    });
    let accepted = server.mock(|when, then| {
        when.method(DELETE)
            .path(format!("/v2/{APP}/task/RASA_1120_a"))
            .header("token", "tok-new-2222");
        then.status(200)
            .json_body(json!({"code": 0, "msg": "success"}));
    });
    let steps = "  - name: halt\n    action: stop\n    select: { ids: [\"RASA_1120_a\"] }\n";
    let dir = campaign(
        "getui-refresh",
        &server,
        steps,
        &[task("RASA_1120_a", "tag", json!({}))],
    );
    let out = run(&dir).status(0).run();
    first.assert_calls(1);
    second.assert_calls(1);
    refused.assert_calls(1);
    accepted.assert_calls(1);
    // The journal: the target's request twice (both its own), the token requests for no
    // target, one final record.
    let journal = read_journal(&latest_run_dir(&dir));
    let intents: Vec<(String, String)> = journal
        .iter()
        .filter(|e| e["event"] == "intent")
        .map(|e| {
            (
                e["target"].as_str().unwrap().to_string(),
                e["request"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let stop = format!("DELETE /v2/{APP}/task/RASA_1120_a");
    let auth = format!("POST /v2/{APP}/auth");
    assert_eq!(
        intents,
        [
            (String::new(), auth.clone()),
            ("RASA_1120_a".to_string(), stop.clone()),
            (String::new(), auth),
            ("RASA_1120_a".to_string(), stop)
        ]
    );
    let answers: Vec<(Value, Value)> = journal
        .iter()
        .filter(|e| e["event"] == "answer" && e["target"] == "RASA_1120_a")
        .map(|e| (e["class"].clone(), e["code"].clone()))
        .collect();
    assert_eq!(
        answers,
        [
            (json!("failed"), json!(10001)),
            (json!("done"), Value::Null)
        ]
    );
    let finals: Vec<&Value> = journal.iter().filter(|e| e["event"] == "final").collect();
    assert_eq!(finals.len(), 1);
    assert_eq!(finals[0]["outcome"], "done");
    let mut secrets = vec![
        MASTER_SECRET.to_string(),
        "tok-old-1111".to_string(),
        "tok-new-2222".to_string(),
    ];
    secrets.extend(signs.lock().unwrap().iter().cloned());
    assert_no_secrets(&dir, &out, &secrets);
}

#[test]
fn an_override_goes_to_the_original_audience_with_its_ids() {
    let server = MockServer::start();
    let signs = Arc::new(Mutex::new(Vec::new()));
    let s = signs.clone();
    server.mock(move |when, then| {
        when.method(POST)
            .path(format!("/v2/{APP}/auth"))
            .is_true(signed(s));
        then.status(200).json_body(token_answer("tok-o"));
    });
    let push = server.mock(|when, then| {
        when.method(POST)
            .path(format!("/v2/{APP}/push/tag"))
            .header("token", "tok-o")
            .is_true(never_forced)
            .is_true(|req| {
                let mut b = body(req);
                let rid_ok = b["request_id"].as_str().is_some_and(|r| r.len() == 32);
                b.as_object_mut().unwrap().remove("request_id");
                let n = json!({"title": "Sale", "body": "Sorry, fixed link", "click_type": "intent", "intent": "intent://shop/sale#Intent;end", "notify_id": 4242});
                // Golden, from reference/getui.md §4.3 and §7 G3.
                rid_ok
                    && b == json!({
                        "push_message": {"notification": n},
                        "push_channel": {
                            "android": {"ups": {"notification": n}},
                            "ios": {"type": "notify", "aps": {"alert": {"title": "Sale", "body": "Sorry, fixed link"}, "content-available": 0}, "apns-collapse-id": "bf-1"},
                        },
                        "audience": {"tag": [{"key": "custom_tag", "values": ["bf"], "opt_type": "and"}]},
                    })
            });
        then.status(200)
            .json_body(json!({"code": 0, "msg": "", "data": {"taskid": "RASA_1121_new"}}));
    });
    let steps = "  - name: fix\n    action: override\n    select: { ids: [\"RASA_1120_a\"] }\n    message:\n      title: \"{{ message.title }}\"\n      body: \"Sorry, fixed link\"\n      intent: \"intent://shop/sale#Intent;end\"\n";
    let ledger = [task(
        "RASA_1120_a",
        "tag",
        json!({"notify_id": 4242, "apns_collapse_id": "bf-1"}),
    )];
    let dir = campaign("getui-override", &server, steps, &ledger);
    run(&dir).status(0).run();
    push.assert_calls(1);
    let journal = read_journal(&latest_run_dir(&dir));
    let fin = journal.iter().find(|e| e["event"] == "final").unwrap();
    assert_eq!(
        (&fin["outcome"], &fin["new_id"]),
        (&json!("done"), &json!("RASA_1121_new"))
    );
}

#[test]
fn getui_answer_classes() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path(format!("/v2/{APP}/auth"));
        then.status(200).json_body(token_answer("tok-c"));
    });
    for (id, status, answer) in [
        ("T1", 200, json!({"code": 0, "msg": "success"})),
        (
            "T2",
            400,
            json!({"code": 20001, "msg": "taskid is invalid"}),
        ),
        ("T3", 403, json!({"code": 30019, "msg": "system busy"})),
        ("T4", 401, json!({"code": 10002, "msg": "blacklisted"})),
        ("T5", 200, json!({"code": 1, "msg": "failure"})),
    ] {
        server.mock(move |when, then| {
            when.method(DELETE).path(format!("/v2/{APP}/task/{id}"));
            then.status(status).json_body(answer.clone());
        });
    }
    // Throttled (HTTP 429, Retry-After: 1), then done.
    let throttles = Arc::new(AtomicUsize::new(0));
    let t = throttles.clone();
    server.mock(move |when, then| {
        when.method(DELETE)
            .path(format!("/v2/{APP}/task/T6"))
            .is_true(move |_| t.fetch_add(1, Ordering::SeqCst) == 0);
        then.status(429).header("Retry-After", "1");
    });
    server.mock(|when, then| {
        when.method(DELETE).path(format!("/v2/{APP}/task/T6"));
        then.status(200)
            .json_body(json!({"code": 0, "msg": "success"}));
    });
    // Gone: a scheduled task no longer there to delete.
    server.mock(|when, then| {
        when.method(DELETE)
            .path(format!("/v2/{APP}/task/schedule/T7"));
        then.status(400)
            .json_body(json!({"code": 22002, "msg": "任务无效或定时任务时间不合法"}));
    });
    let steps = "  - name: halt\n    action: stop\n    select: { ids: [\"T1\", \"T2\", \"T3\", \"T4\", \"T5\", \"T6\"] }\n  - name: cancel\n    action: cancel_scheduled\n    select: { ids: [\"T7\"] }\n";
    let dir = campaign(
        "getui-classes",
        &server,
        steps,
        &[task("T0", "tag", json!({}))],
    );
    run(&dir).status(1).run();
    let r = read_report(&latest_run_dir(&dir));
    assert_eq!(
        r["steps"][0]["outcomes"],
        json!({"done": 2, "gone": 0, "not_corrected": 0, "skipped": 0, "failed": 3, "gave_up": 1, "not_attempted": 0})
    );
    assert_eq!(r["steps"][1]["outcomes"]["gone"], 1);
    assert_eq!(throttles.load(Ordering::SeqCst), 2);
}

#[test]
fn a_missing_app_id_is_a_located_error_before_any_request() {
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(500);
    });
    let dir = campaign(
        "getui-no-app",
        &server,
        "  - name: halt\n    action: stop\n    select: { ids: [\"T1\"] }\n",
        &[task("T1", "tag", json!({}))],
    );
    let pb = std::fs::read_to_string(dir.join("pb.yaml"))
        .unwrap()
        .replace(&format!("  app_id: {APP}\n"), "");
    std::fs::write(dir.join("pb.yaml"), pb).unwrap();
    run(&dir)
        .status(2)
        .stderr_contains("needs `provider.app_id`")
        .stderr_contains("pb.yaml:4:3")
        .run();
    any.assert_calls(0);
}

/// The stop-then-override example against `pushfix sandbox` in its own process, with 5xx,
/// timeouts and resets injected: every target ends, what pushfix counted is what the sandbox
/// received, no override went out twice (the request_id of a retry is dropped), and no revoke
/// ever carried `force: true`.
#[test]
fn faults_against_the_sandbox_end_every_target_and_nothing_twice() {
    use crate::support::{SandboxProc, examples, run_against};
    let dir = examples("getui-faults", true);
    let path = dir.join("playbooks/getui-stop-then-override.yaml");
    let pb = std::fs::read_to_string(&path).unwrap().replace(
        "  max_failures: 3\n",
        "  max_failures: 50%\n  timeout: 400ms\nretry:\n  attempts: 8\n  backoff: { initial: 20ms, max: 100ms }\n",
    );
    std::fs::write(&path, pb).unwrap();
    let as_of = "2026-11-20T19:00:00+08:00";
    let sandbox = SandboxProc::start(
        &dir,
        &[
            "--ledger",
            "ledgers/getui-tasks.jsonl",
            "--as-of",
            as_of,
            "--rate",
            "100/s",
            "--faults",
            "5xx=0.15,timeout=0.1,reset=0.1",
            "--seed",
            "11",
        ],
    );
    let out = run_against(
        &dir,
        "playbooks/getui-stop-then-override.yaml",
        &sandbox.url,
        as_of,
    );
    let code = out.code().unwrap();
    assert!(code == 0 || code == 1, "{}\n{}", out.stdout, out.stderr);
    let rd = latest_run_dir(&dir);
    let report = read_report(&rd);
    let journal = read_journal(&rd);
    let finals = journal.iter().filter(|e| e["event"] == "final").count() as u64;
    assert_eq!(finals, report["totals"]["targets"].as_u64().unwrap());
    let requests = sandbox.get("/_sandbox/requests");
    let sent: u64 = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(sent as usize, requests.as_array().unwrap().len());
    let faulted = requests
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["fault"].is_null())
        .count();
    assert!(faulted > 0, "faults were injected");
    for r in requests.as_array().unwrap() {
        assert!(never_forced_value(&r["body"]), "{r}");
    }
    // One new message per override done, never a second; nothing recalled by force.
    let messages = sandbox.get("/_sandbox/messages");
    let getui: Vec<&Value> = messages
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["provider"] == "getui")
        .collect();
    let done_overrides = journal
        .iter()
        .filter(|e| e["event"] == "final" && e["step"] == "correct" && e["outcome"] == "done")
        .count();
    assert_eq!(
        getui.iter().filter(|m| m["source"] == "sandbox").count(),
        done_overrides
    );
    for m in &getui {
        assert!(m["overridden_by"].as_array().unwrap().len() <= 1, "{m}");
        assert_eq!(m["force_recalled"], false);
    }
    let summary = sandbox.get("/_sandbox");
    assert_eq!(summary["getui_force_revokes"], 0, "{summary}");
    sandbox.stop();
}

fn never_forced_value(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .all(|(k, v)| !(k == "force" && *v != Value::Bool(false)) && never_forced_value(v)),
        Value::Array(a) => a.iter().all(never_forced_value),
        _ => true,
    }
}
