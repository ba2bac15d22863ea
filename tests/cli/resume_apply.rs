//! `resume` after a hard kill, and `apply` of a saved plan (refused when stale or changed).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use httpmock::Method::{DELETE, GET, POST};
use httpmock::MockServer;
use serde_json::{Value, json};

use crate::run_jpush::{APP_KEY, Campaign, SECRET, record, record_at};
use crate::support::{pushfix, text};

fn run_resume(c: &Campaign, extra: &[&str]) -> std::process::Output {
    let dir = c.run_dir();
    let mut args = vec!["resume", dir.to_str().unwrap(), "--yes"];
    args.extend_from_slice(extra);
    pushfix(&c.dir)
        .args(&args)
        .env("JPUSH_APP_KEY", APP_KEY)
        .env("JPUSH_MASTER_SECRET", SECRET)
        .output()
        .unwrap()
}

/// Killed with SIGKILL mid-run (no drain, no report), then resumed: every target ends once,
/// requests in flight at the kill are re-sent with the same cid, so nothing is pushed twice.
#[test]
fn resume_after_a_hard_kill_finishes_without_a_second_push() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/v3/push/cid");
        then.status(200).json_body(
            json!({"cidlist": (1..=30).map(|i| format!("cid-{i:02}")).collect::<Vec<_>>()}),
        );
    });
    let seen: Arc<Mutex<Vec<(u64, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    server.mock(move |when, then| {
        when.method(POST).path("/v3/push").is_true(move |req| {
            let body: Value = serde_json::from_slice(&req.body().0).unwrap();
            s.lock().unwrap().push((
                body["options"]["override_msg_id"].as_u64().unwrap(),
                body["cid"].as_str().unwrap().to_string(),
            ));
            true
        });
        then.status(200)
            .delay(Duration::from_millis(400))
            .json_body(json!({"sendno": "0", "msg_id": "9000"}));
    });
    let ledger: Vec<String> = (1..=20)
        .map(|i| record(&format!("6755422484809{i:04}"), "[\"android\"]", ""))
        .collect();
    let steps = "  - name: fix\n    action: override\n    select: { where: { tags_any: [bf] } }\n    message: { body: fixed }\n";
    let c = Campaign::new(
        "killed",
        &server,
        "  rate: 100/s\n  concurrency: 4",
        steps,
        &ledger,
    );
    let child = pushfix(&c.dir)
        .args(["run", "pb.yaml", "--yes", "--audit-dir", "audit"])
        .env("JPUSH_APP_KEY", APP_KEY)
        .env("JPUSH_MASTER_SECRET", SECRET)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill once some pushes are out (however slowly this machine started the run).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while seen.lock().unwrap().len() < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let mut child = child;
    child.wait().unwrap();
    let before = seen.lock().unwrap().len();
    assert!(
        before > 0 && before < 20,
        "killed mid-run ({before} pushes)"
    );
    assert!(
        !c.run_dir().join("report.json").exists(),
        "a hard kill writes no report"
    );

    let out = run_resume(&c, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(c.run_dir().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(r["steps"][0]["outcomes"]["done"], 20, "{}", r["steps"][0]);
    assert_eq!(r["exit_code"], 0);
    // Per target: every push it got carried one and the same cid.
    let mut cids: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (id, cid) in seen.lock().unwrap().iter() {
        cids.entry(*id).or_default().push(cid.clone());
    }
    assert_eq!(cids.len(), 20);
    for (id, list) in &cids {
        assert!(
            list.iter().all(|c| c == &list[0]),
            "{id} pushed with different cids: {list:?}"
        );
    }
    let md = std::fs::read_to_string(c.run_dir().join("report.md")).unwrap();
    assert!(md.contains("| resumed |"), "{md}");

    // Nothing left: a second resume sends nothing and keeps the outcome.
    let n = seen.lock().unwrap().len();
    assert_eq!(run_resume(&c, &[]).status.code(), Some(0));
    assert_eq!(seen.lock().unwrap().len(), n);
}

#[test]
fn resume_refuses_other_credentials_and_sandbox_runs() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(DELETE);
        then.status(200);
    });
    let c = Campaign::recall("resume-creds", &server, "  concurrency: 1", "1");
    assert_eq!(c.run(&[]).status.code(), Some(0));
    let dir = c.run_dir();
    let out = pushfix(&c.dir)
        .args(["resume", dir.to_str().unwrap(), "--yes"])
        .env("JPUSH_APP_KEY", "another0app0key0000000000")
        .env("JPUSH_MASTER_SECRET", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("another app"),
        "{}",
        text(&out.stderr)
    );
    let out = pushfix(&c.dir)
        .args(["resume", "nowhere", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn apply_runs_exactly_a_saved_plan_and_refuses_a_changed_or_stale_one() {
    let server = MockServer::start();
    let recalls = server.mock(|when, then| {
        when.method(DELETE);
        then.status(200);
    });
    server.mock(|when, then| {
        when.method(GET).path("/v3/push/cid");
        then.status(200).json_body(json!({"cidlist": ["c1", "c2"]}));
    });
    let pushes = server.mock(|when, then| {
        when.method(POST).path("/v3/push");
        then.status(200)
            .json_body(json!({"sendno": "0", "msg_id": "1"}));
    });
    let steps = "  - name: pull\n    action: recall\n    select: { ids: [1, 2] }\n  - name: fix\n    action: override\n    select: { where: { tags_any: [bf] } }\n    message: { body: fixed }\n";
    // Fixed times: the plan and its checks are made as of given instants.
    let ledger = [record_at(
        "67554224848096790",
        "2026-11-21T03:00:00Z",
        "[\"android\"]",
        "",
    )];
    let c = Campaign::new("apply", &server, "  concurrency: 1", steps, &ledger);
    let url = server.base_url();
    let plan = |as_of: &str| {
        pushfix(&c.dir)
            .args(["plan", "pb.yaml", "--out", "plan.json", "--as-of", as_of])
            .output()
            .unwrap()
    };
    let apply = |as_of: &str| {
        pushfix(&c.dir)
            .args([
                "apply",
                "plan.json",
                "--yes",
                "--audit-dir",
                "audit",
                "--endpoint",
                &url,
                "--as-of",
                as_of,
            ])
            .env("JPUSH_APP_KEY", APP_KEY)
            .env("JPUSH_MASTER_SECRET", SECRET)
            .output()
            .unwrap()
    };
    assert_eq!(plan("2026-11-21T04:00:00Z").status.code(), Some(0));
    // A day later the override window has closed: the saved plan no longer holds.
    let out = apply("2026-11-22T04:00:00Z");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("stale") && text(&out.stderr).contains("now expired"),
        "{}",
        text(&out.stderr)
    );
    // As planned, it runs exactly that plan.
    let out = apply("2026-11-21T04:05:00Z");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    recalls.assert_calls(2);
    pushes.assert_calls(1);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(c.dir.join("plan.json")).unwrap()).unwrap();
    let copied: Value =
        serde_json::from_str(&std::fs::read_to_string(c.run_dir().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(saved["content_sha256"], copied["content_sha256"]);
    // A changed input refuses it.
    std::fs::write(
        c.dir.join("sends.jsonl"),
        record("67554224848096790", "[\"ios\"]", "") + "\n",
    )
    .unwrap();
    let out = apply("2026-11-21T04:05:00Z");
    assert_eq!(out.status.code(), Some(5));
    assert!(
        text(&out.stderr).contains("sends.jsonl` changed"),
        "{}",
        text(&out.stderr)
    );
}
