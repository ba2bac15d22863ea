//! `resume` after a hard kill, and `apply` of a saved plan (refused when stale or changed).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use httpmock::Method::{DELETE, GET, POST};
use httpmock::MockServer;
use serde_json::{Value, json};

use crate::support::{
    Campaign, SECRET, Test, ledger_text, read_json, read_text, record, record_at,
};

/// `pushfix resume <the run dir> --yes` with the campaign's credentials.
fn resume(c: &Campaign) -> Test {
    c.test().arg("resume").arg(c.run_dir()).arg("--yes")
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
    let child = c.run_test().spawn();
    // Kill once some pushes are out (however slowly this machine started the run).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while seen.lock().unwrap().len() < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.signal("KILL");
    child.wait();
    let before = seen.lock().unwrap().len();
    assert!(
        before > 0 && before < 20,
        "killed mid-run ({before} pushes)"
    );
    assert!(
        !c.run_dir().join("report.json").exists(),
        "a hard kill writes no report"
    );

    resume(&c).status(0).run();
    let r = c.report();
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
    let md = read_text(&c.run_dir().join("report.md"));
    assert!(md.contains("| resumed |"), "{md}");

    // Nothing left: a second resume sends nothing and keeps the outcome.
    let n = seen.lock().unwrap().len();
    resume(&c).status(0).run();
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
    c.run_test().status(0).run();
    Test::in_dir(&c.dir)
        .arg("resume")
        .arg(c.run_dir())
        .arg("--yes")
        .env("JPUSH_APP_KEY", "another0app0key0000000000")
        .env("JPUSH_MASTER_SECRET", SECRET)
        .status(2)
        .stderr_contains("another app")
        .run();
    Test::in_dir(&c.dir)
        .args(["resume", "nowhere", "--yes"])
        .status(2)
        .run();
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
        Test::in_dir(&c.dir).args(["plan", "pb.yaml", "--out", "plan.json", "--as-of", as_of])
    };
    let apply = |as_of: &str| {
        c.test().args([
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
    };
    plan("2026-11-21T04:00:00Z").status(0).run();
    // A day later the override window has closed: the saved plan no longer holds.
    apply("2026-11-22T04:00:00Z")
        .status(5)
        .stderr_contains("stale")
        .stderr_contains("now expired")
        .run();
    // As planned, it runs exactly that plan.
    apply("2026-11-21T04:05:00Z").status(0).run();
    recalls.assert_calls(2);
    pushes.assert_calls(1);
    let saved = read_json(&c.dir.join("plan.json"));
    let copied = read_json(&c.run_dir().join("plan.json"));
    assert_eq!(saved["content_sha256"], copied["content_sha256"]);
    // A changed input refuses it.
    c.dir.write(
        "sends.jsonl",
        ledger_text(&[record("67554224848096790", "[\"ios\"]", "")]),
    );
    apply("2026-11-21T04:05:00Z")
        .status(5)
        .stderr_contains("sends.jsonl` changed")
        .run();
}

/// JPush schedule deletes killed mid-run, then resumed: a delete is sent again only for a
/// schedule whose delete had no outcome; JPush then no longer knows it (the first delete went
/// through), which is `gone` and says whose doing that likely was. No schedule is deleted
/// more than twice, and every one ends deleted or gone.
#[test]
fn resume_finishes_schedule_deletes_and_says_a_repeat_found_its_own_work() {
    let server = MockServer::start();
    let seen: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let ids: Vec<String> = (1..=8)
        .map(|i| format!("0eac1b80-c2ac-4b69-948b-c65b34b965{i:02}"))
        .collect();
    // The first delete of a schedule is answered slowly (so the kill finds one in flight),
    // any later one as JPush answers for a schedule already deleted.
    let first = seen.clone();
    server.mock(move |when, then| {
        when.method(DELETE).is_true(move |req| {
            let id = req.uri().path().rsplit('/').next().unwrap().to_string();
            let mut s = first.lock().unwrap();
            let repeat = s.contains(&id);
            s.push(id);
            !repeat
        });
        then.status(200).delay(Duration::from_millis(900)).body("");
    });
    server.mock(|when, then| {
        when.method(DELETE);
        then.status(404).json_body(
            json!({"error": {"code": 8104, "message": "Request schedule operation doesn't exist"}}),
        );
    });
    let ledger: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                r#"{{"schedule_id":"{id}","name":"bf","enabled":true,"scheduled":"2099-01-01T09:00:00+08:00","platforms":["android"],"tags":["bf"]}}"#
            )
        })
        .collect();
    let steps = "  - name: cancel\n    action: cancel_scheduled\n    select: { where: { tags_any: [bf] } }\n";
    let c = Campaign::new("sched-killed", &server, "  concurrency: 2", steps, &ledger);
    let child = c.run_test().spawn();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while seen.lock().unwrap().len() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.signal("KILL");
    child.wait();
    let before = seen.lock().unwrap().clone();
    assert!(
        !before.is_empty() && before.len() < ids.len(),
        "killed mid-run: {before:?}"
    );
    let journal = c.journal();
    let settled: Vec<String> = journal
        .iter()
        .filter(|e| e["event"] == "final")
        .map(|e| e["target"].as_str().unwrap().to_string())
        .collect();

    resume(&c).status(0).run();
    let r = c.report();
    let o = &r["steps"][0]["outcomes"];
    assert_eq!(
        o["done"].as_u64().unwrap() + o["gone"].as_u64().unwrap(),
        ids.len() as u64,
        "{o}"
    );
    let all = seen.lock().unwrap().clone();
    let finals = crate::support::finals(&c.journal());
    for id in &ids {
        let n = all.iter().filter(|s| *s == id).count();
        assert!((1..=2).contains(&n), "{id} deleted {n} times");
        // Settled before the kill: never sent again.
        if settled.contains(id) {
            assert_eq!(n, 1, "{id} was settled and sent again");
        }
        let f = finals
            .iter()
            .rev()
            .find(|f| f["target"] == *id.as_str())
            .unwrap();
        if n == 2 {
            assert_eq!(f["outcome"], "gone", "{f}");
            assert!(
                f["reason"].as_str().unwrap().contains("may have done it"),
                "{f}"
            );
        } else {
            assert_eq!(f["outcome"], "done", "{f}");
        }
    }
    assert!(
        all.len() > ids.len(),
        "a delete in flight at the kill was sent again: {all:?}"
    );
}
