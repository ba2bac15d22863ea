//! `pushfix run` against an httpmock TIMPush: the common query parameters and a UserSig that
//! verifies (checked here independently of pushfix), exact bodies for revoke (override and
//! stop) and the scheduled-task calls, the answer classes, and no secret anywhere — neither
//! the key nor a UserSig.

use std::io::Read as _;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use httpmock::Method::POST;
use httpmock::MockServer;
use httpmock::prelude::HttpMockRequest;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{
    TIMPUSH_SDKAPPID as APPID, TIMPUSH_SECRET_KEY as KEY, TempDir, Test, all_files, ledger_text,
};

/// reference/timpush.md §2.2, written here: undo the map, base64, inflate, check the fields
/// and the HMAC over them. Returns the document.
fn verified(usersig: &str, identifier: &str) -> Option<Value> {
    let std: String = usersig
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect();
    let z = base64::engine::general_purpose::STANDARD.decode(std).ok()?;
    let mut json = String::new();
    flate2::read::ZlibDecoder::new(&z[..])
        .read_to_string(&mut json)
        .ok()?;
    let d: Value = serde_json::from_str(&json).ok()?;
    let (time, expire) = (d["TLS.time"].as_u64()?, d["TLS.expire"].as_u64()?);
    let now = jiff::Timestamp::now().as_second() as u64;
    if d["TLS.ver"] != "2.0"
        || d["TLS.sdkappid"].as_u64()? != APPID.parse::<u64>().unwrap()
        || d["TLS.identifier"] != identifier
        || now > time + expire
        || time.abs_diff(now) > 60
    {
        return None;
    }
    let content = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{APPID}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(content.as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (d["TLS.sig"] == want).then_some(d)
}

/// A matcher for the common query parameters (269/1519) and a valid UserSig, recording each
/// UserSig it accepted.
fn authed(
    sigs: Arc<Mutex<Vec<String>>>,
) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static {
    move |req| {
        let q = req.query_params();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let names: Vec<&str> = q.iter().map(|(n, _)| n.as_str()).collect();
        let ok = names == ["sdkappid", "identifier", "usersig", "random", "contenttype"]
            && get("sdkappid").as_deref() == Some(APPID)
            && get("identifier").as_deref() == Some("administrator")
            && get("random").is_some_and(|r| r.parse::<u32>().is_ok())
            && get("contenttype").as_deref() == Some("json")
            && get("usersig").is_some_and(|s| verified(&s, "administrator").is_some())
            && req.headers().get("Authorization").is_none();
        if ok {
            sigs.lock().unwrap().push(get("usersig").unwrap());
        }
        ok
    }
}

fn rec(id: &str, audience_type: &str, extra: &str) -> String {
    let sent = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2);
    format!(
        r#"{{"task_id":"{id}","sent_at":"{sent}","platforms":["android","ios"],"tags":["bf"],"title":"Sale","body":"70% off","audience_type":"{audience_type}"{extra}}}"#
    )
}

/// `pb.yaml` against `server`, the ledger in `tasks.jsonl`.
fn campaign(name: &str, server: &MockServer, steps: &str, ledger: &[String]) -> TempDir {
    let pb = format!(
        "version: 1\nname: {name}\nprovider:\n  kind: timpush\n  endpoint: {}\n  identifier: administrator\n  credentials:\n    sdkappid: {{ env: TIMPUSH_SDKAPPID }}\n    secret_key: {{ env: TIMPUSH_SECRET_KEY }}\nledger: tasks.jsonl\nlimits:\n  rate: 50/s\n  concurrency: 1\nretry:\n  attempts: 2\n  backoff: {{ initial: 10ms, max: 20ms }}\nsteps:\n{steps}",
        server.base_url()
    );
    let dir = TempDir::new(name);
    dir.write("tasks.jsonl", ledger_text(ledger));
    dir.write("pb.yaml", pb);
    dir
}

fn run(dir: &TempDir) -> Test {
    Test::in_dir(dir).timpush_credentials().args([
        "run",
        "pb.yaml",
        "--yes",
        "--audit-dir",
        "audit",
    ])
}

const OK: &str = r#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;

#[test]
fn revoke_and_cancel_send_exact_requests_with_a_verified_usersig_and_no_secret_anywhere() {
    let server = MockServer::start();
    let sigs = Arc::new(Mutex::new(Vec::new()));
    let (s1, s2, s3, s4) = (sigs.clone(), sigs.clone(), sigs.clone(), sigs.clone());
    // Golden bodies, from reference/timpush.md §4 and §7 (C1, C2, C4).
    let fix = server.mock(move |when, then| {
        when.method(POST)
            .path("/v4/timpush/revoke")
            .header("Content-Type", "application/json")
            .json_body(json!({"TaskId": "660cc447_537ed82a_a", "OfflinePushInfo": {"PushFlag": 0, "Title": "Fixed: Sale", "Desc": "Sorry, the right price is 299", "Ext": "{\"url\":\"app://sale\"}"}}))
            .is_true(authed(s1));
        then.status(200).body(OK);
    });
    let halt = server.mock(move |when, then| {
        when.method(POST)
            .path("/v4/timpush/revoke")
            .json_body(json!({"TaskId": "660cc447_537ed82a_b", "OfflinePushInfo": {"PushFlag": 1}}))
            .is_true(authed(s2));
        then.status(200).body(OK);
    });
    let get = server.mock(move |when, then| {
        when.method(POST)
            .path("/v4/timpush/get_sched_task")
            .json_body(json!({"Sdkappid": 1400000000u64, "TaskID": 1234567890u64}))
            .is_true(authed(s3));
        then.status(200).json_body(json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "TaskInfo": {"TaskID": 1234567890u64, "Sdkappid": 1400000000u64, "Type": "All", "SchedAt": "2026-12-02 10:00:00", "Status": "pending", "PushTaskID": ""}}));
    });
    let delete = server.mock(move |when, then| {
        when.method(POST)
            .path("/v4/timpush/delete_sched_task")
            .json_body(json!({"Sdkappid": 1400000000u64, "TaskID": 1234567890u64, "Type": "All"}))
            .is_true(authed(s4));
        then.status(200).json_body(
            json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, "TaskID": 1234567890u64}),
        );
    });
    let steps = "  - name: fix\n    action: override\n    select: { ids: [\"660cc447_537ed82a_a\"] }\n    message:\n      title: \"Fixed: {{ message.title }}\"\n      body: Sorry, the right price is 299\n      extras: { url: \"app://sale\" }\n  - name: halt\n    action: stop\n    select: { ids: [\"660cc447_537ed82a_b\"] }\n  - name: cancel\n    action: cancel_scheduled\n    select: { ids: [\"sched-1234567890\"] }\n";
    let ledger = [
        rec("660cc447_537ed82a_a", "tag", ""),
        rec("660cc447_537ed82a_b", "all", ""),
        r#"{"task_id":"sched-1234567890","sched_task_id":1234567890,"scheduled":"2099-01-01T00:00:00Z","audience_type":"all","platforms":["android"],"tags":["bf"]}"#.to_string(),
    ];
    let dir = campaign("timpush-wire", &server, steps, &ledger);
    let out = run(&dir).status(0).run();
    for m in [&fix, &halt, &get, &delete] {
        m.assert_calls(1);
    }
    let rd = crate::support::latest_run_dir(&dir);
    let report = crate::support::read_report(&rd);
    assert_eq!(report["totals"]["done"], 3, "{report}");
    // Every request carried a UserSig of its own making; none of them, nor the key, is written
    // anywhere.
    let sigs = sigs.lock().unwrap().clone();
    assert_eq!(sigs.len(), 4);
    let mut secrets = sigs.clone();
    secrets.push(KEY.to_string());
    for s in &secrets {
        assert!(!out.stdout.contains(s.as_str()) && !out.stderr.contains(s.as_str()));
    }
    for (path, text) in all_files(&dir.join("audit")) {
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{} holds a secret",
                path.display()
            );
        }
        // Only the plan's preview names the parameter, with a placeholder.
        for (i, _) in text.match_indices("usersig=") {
            assert!(
                text[i..].starts_with("usersig=<redacted"),
                "{}",
                path.display()
            );
        }
    }
    // The journal names the path alone, without the query.
    let journal = std::fs::read_to_string(rd.join("journal.jsonl")).unwrap();
    assert!(journal.contains("POST /v4/timpush/revoke\""), "{journal}");
}

#[test]
fn already_revoked_is_recorded_never_retried_and_other_answers_read_as_documented() {
    let server = MockServer::start();
    let answer = |id: &'static str, body: &'static str| {
        server.mock(move |when, then| {
            when.method(POST)
                .path("/v4/timpush/revoke")
                .json_body_includes(format!(r#"{{"TaskId": "{id}"}}"#));
            then.status(200).body(body);
        })
    };
    let fail = |c: u32| -> &'static str {
        Box::leak(
            format!(r#"{{"ActionStatus":"FAIL","ErrorInfo":"x","ErrorCode":{c}}}"#)
                .into_boxed_str(),
        )
    };
    let stop_again = answer("t_stop", fail(90050));
    let fix_again = answer("t_fix", fail(90050));
    let unknown = answer("t_gone", fail(90049));
    let old = answer("t_old", fail(90052));
    let bad_key = answer("t_auth", fail(70009));
    let steps = "  - name: halt\n    action: stop\n    select: { ids: [\"t_stop\", \"t_gone\", \"t_auth\"] }\n  - name: fix\n    action: override\n    select: { ids: [\"t_fix\", \"t_old\"] }\n    on_not_corrected: ok\n    message: { body: Sorry }\n";
    let ledger: Vec<String> = ["t_stop", "t_gone", "t_auth", "t_fix", "t_old"]
        .iter()
        .map(|id| rec(id, "tag", ""))
        .collect();
    let dir = campaign("timpush-classes", &server, steps, &ledger);
    let pb = std::fs::read_to_string(dir.join("pb.yaml"))
        .unwrap()
        .replace("concurrency: 1", "concurrency: 1\n  max_failures: 5");
    dir.write("pb.yaml", pb);
    run(&dir).status(1).run();
    for m in [&stop_again, &fix_again, &unknown, &old, &bad_key] {
        m.assert_calls(1);
    }
    let journal = crate::support::read_journal(&crate::support::latest_run_dir(&dir));
    let fin = |t: &str| {
        journal
            .iter()
            .find(|e| e["event"] == "final" && e["target"] == t)
            .cloned()
            .unwrap()
    };
    let f = fin("t_stop");
    assert_eq!(
        (f["outcome"].as_str(), f["code"].as_i64()),
        (Some("gone"), Some(90050))
    );
    assert!(
        f["reason"]
            .as_str()
            .unwrap()
            .contains("revokes a task once"),
        "{f}"
    );
    assert_eq!(fin("t_fix")["outcome"], "not_corrected");
    assert!(
        fin("t_fix")["reason"]
            .as_str()
            .unwrap()
            .contains("not sent")
    );
    assert_eq!(fin("t_gone")["outcome"], "gone");
    assert_eq!(fin("t_old")["outcome"], "not_corrected");
    assert_eq!(fin("t_auth")["outcome"], "failed");
    assert!(
        fin("t_auth")["reason"]
            .as_str()
            .unwrap()
            .contains("UserSig")
    );
}

#[test]
fn a_second_correction_of_a_task_is_refused_at_plan_time() {
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.method(POST);
        then.status(200).body(OK);
    });
    let steps = "  - name: halt\n    action: stop\n    select: { where: { tags_any: [bf] } }\n  - name: fix\n    action: override\n    select: { ids: [\"t2\"] }\n    message: { body: Sorry }\n";
    let dir = campaign(
        "timpush-twice",
        &server,
        steps,
        &[rec("t1", "tag", ""), rec("t2", "all", "")],
    );
    run(&dir)
        .status(2)
        .stderr_contains("step `fix` would revoke 1 task that step `halt` already revokes")
        .stderr_contains("pb.yaml:")
        .run();
    any.assert_calls(0);
}

/// A scheduled task still pending has no push TaskId to revoke: the plan says so and
/// nothing is sent for it (cancel_scheduled is the way).
#[test]
fn a_stop_or_override_of_a_pending_scheduled_task_is_planned_unsupported() {
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.method(POST);
        then.status(200).body(OK);
    });
    // After the tests' fixed clock (support: 2026-11-21T04:00:00Z).
    let pending = r#"{"task_id":"sched-7","scheduled":"2026-11-22T09:00:00Z","sched_task_id":7,"platforms":["android"],"tags":["bf"],"title":"Sale","body":"70% off","audience_type":"all"}"#.to_string();
    for action in ["stop", "override"] {
        let message = if action == "override" {
            "\n    message: { body: Sorry }"
        } else {
            ""
        };
        let steps = format!(
            "  - name: halt\n    action: {action}\n    select: {{ where: {{ tags_any: [bf] }} }}{message}\n"
        );
        let dir = campaign(
            &format!("timpush-pending-{action}"),
            &server,
            &steps,
            &[rec("t1", "tag", ""), pending.clone()],
        );
        Test::in_dir(&dir)
            .timpush_credentials()
            .args(["plan", "pb.yaml"])
            .status(0)
            .stdout_contains(format!(
                "sched-7 [skip]: scheduled for 2026-11-22T09:00:00Z and not dispatched yet: there is nothing to {action} (use cancel_scheduled for a pending task)"
            ))
            .run();
    }
    any.assert_calls(0);
}
