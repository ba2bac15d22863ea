//! Run history and resume that finishes everything: a run refuses to start beside an unfinished
//! one and skips what earlier runs corrected; `--max-runtime` ends a run as a signal would;
//! the failure budget is the run's across resumes; a torn final line is resolved from its
//! answer; a TPNS force override whose answer was lost is re-checked on resume.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use httpmock::Method::{DELETE, POST};
use httpmock::MockServer;
use serde_json::{Value, json};

use crate::support::{Campaign, TempDir, Test, finals, read_journal, read_text, task};

fn outcomes(c: &Campaign) -> Value {
    c.report()["steps"][0]["outcomes"].clone()
}

fn run_dirs(c: &Campaign) -> usize {
    std::fs::read_dir(c.dir.join("audit"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().join("journal.jsonl").is_file())
                .count()
        })
        .unwrap_or(0)
}

/// The schedule's case: the same playbook again acts only on what is still wrong.
#[test]
fn a_second_run_skips_what_the_first_corrected_and_again_sends_it() {
    let server = MockServer::start();
    let ok = server.mock(|when, then| {
        when.method(DELETE).path_not("/v3/push/3");
        then.status(200);
    });
    let broken = server.mock(|when, then| {
        when.method(DELETE).path("/v3/push/3");
        then.status(500);
    });
    let c = Campaign::recall("history-skip", &server, "  concurrency: 2", "1, 2, 3");
    c.run_test().status(1).run();
    ok.assert_calls(2);
    let first = c.run_dir();
    let first_id = first.file_name().unwrap().to_string_lossy().to_string();

    // Only the target that failed is sent again; the plan and the record say why the rest is not.
    std::thread::sleep(Duration::from_millis(1100));
    c.run_test()
        .status(1)
        .stdout_contains("2 targets already corrected by an earlier run")
        .run();
    ok.assert_calls(2);
    assert_eq!(broken.calls(), 6, "3 attempts in each run");
    let o = outcomes(&c);
    assert_eq!(
        (o["skipped"].as_u64(), o["gave_up"].as_u64()),
        (Some(2), Some(1)),
        "{o}"
    );
    let skipped: Vec<Value> = finals(&c.journal())
        .into_iter()
        .filter(|f| f["outcome"] == "skipped")
        .collect();
    assert_eq!(skipped.len(), 2);
    for f in &skipped {
        assert_eq!(f["reason"], format!("already_done_in {first_id}"), "{f}");
    }
    // The plan says so too.
    let plan = c
        .test()
        .args([
            "plan",
            "pb.yaml",
            "--format",
            "json",
            "--audit-dir",
            "audit",
        ])
        .status(0)
        .run()
        .json();
    let done_in: Vec<&Value> = plan["steps"][0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.get("done_in"))
        .collect();
    assert_eq!(done_in.len(), 2, "{plan}");

    // --again sends to every target.
    std::thread::sleep(Duration::from_millis(1100));
    c.run_test().arg("--again").status(1).run();
    ok.assert_calls(4);
}

/// A crash leaves a run that only `resume` may finish; `run` refuses (exit 5) and says how.
#[test]
fn a_run_after_a_crash_is_refused_until_it_is_resumed() {
    let server = MockServer::start();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let slow = server.mock(move |when, then| {
        when.method(DELETE).is_true(move |_| {
            h.fetch_add(1, Ordering::SeqCst);
            true
        });
        then.status(200).delay(Duration::from_millis(300));
    });
    let ids: Vec<String> = (1..=12).map(|i| i.to_string()).collect();
    let c = Campaign::recall(
        "history-crash",
        &server,
        "  concurrency: 2\n  rate: 10/s",
        &ids.join(", "),
    );
    let child = c.run_test().spawn();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while hits.load(Ordering::SeqCst) < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.signal("KILL");
    child.wait();
    let crashed = c.run_dir();
    let sent = slow.calls();
    assert!(sent > 0 && sent < 12, "{sent}");

    let out = c
        .run_test()
        .status(5)
        .stderr_contains("did not finish")
        .stderr_contains(format!(
            "pushfix resume {}",
            crashed.strip_prefix(&*c.dir).unwrap().display()
        ))
        .run();
    assert!(
        !out.stdout.contains("Send "),
        "refused before the plan is confirmed"
    );
    assert_eq!(slow.calls(), sent, "nothing sent by the refused run");
    assert_eq!(run_dirs(&c), 1, "a refused run leaves no run directory");

    c.test()
        .arg("resume")
        .arg(&crashed)
        .arg("--yes")
        .status(0)
        .run();
    // Every target once corrected: a new run has nothing left to do.
    std::thread::sleep(Duration::from_millis(1100));
    let before = slow.calls();
    c.run_test()
        .status(0)
        .stdout_contains("12 targets already corrected")
        .run();
    assert_eq!(slow.calls(), before);
}

/// `--max-runtime` stops dispatch as Ctrl-C would: requests in flight finish, the rest is not
/// attempted, exit 3; the next tick of the schedule sends the rest.
#[test]
fn max_runtime_ends_a_run_gracefully_and_the_next_run_sends_the_rest() {
    let server = MockServer::start();
    let ok = server.mock(|when, then| {
        when.method(DELETE);
        then.status(200);
    });
    let ids: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    let c = Campaign::recall(
        "history-runtime",
        &server,
        "  concurrency: 1\n  rate: 5/s",
        &ids.join(", "),
    );
    c.run_test()
        .args(["--max-runtime", "1s"])
        .status(3)
        .stdout_contains("not attempted: --max-runtime 1s reached")
        .run();
    let first = ok.calls();
    let o = outcomes(&c);
    assert_eq!(o["done"].as_u64().unwrap() as usize, first, "{o}");
    assert_eq!(o["not_attempted"].as_u64().unwrap() as usize, 20 - first);
    assert!(first > 0 && first < 20, "{first}");

    std::thread::sleep(Duration::from_millis(1100));
    c.run_test().status(0).run();
    assert_eq!(ok.calls(), 20, "each target once over both runs");

    c.test()
        .args(["run", "pb.yaml", "--yes", "--max-runtime", "0s"])
        .status(2)
        .stderr_contains("above zero")
        .run();
}

/// Three resumes get one budget: the run never records more failures than max_failures.
#[test]
fn the_failure_budget_is_the_runs_across_resumes() {
    let server = MockServer::start();
    let failing = server.mock(|when, then| {
        when.method(DELETE);
        then.status(401)
            .delay(Duration::from_millis(150))
            .json_body(json!({"error": {"code": 1004, "message": "Authen failed"}}));
    });
    let ids: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    let c = Campaign::recall(
        "history-budget",
        &server,
        "  concurrency: 1\n  max_failures: 3",
        &ids.join(", "),
    );
    c.run_test()
        .args(["--max-runtime", "200ms"])
        .status(3)
        .run();
    let dir = c.run_dir();
    for _ in 0..3 {
        c.test()
            .arg("resume")
            .arg(&dir)
            .args(["--yes", "--max-runtime", "200ms"])
            .status(3)
            .run();
    }
    let o = outcomes(&c);
    assert_eq!(o["failed"], 3, "{o}");
    assert_eq!(failing.calls(), 3);
    let journal = read_journal(&dir);
    let resumed: Vec<&Value> = journal.iter().filter(|e| e["event"] == "resumed").collect();
    assert_eq!(resumed.len(), 3);
    assert_eq!(resumed[2]["max_failures"], 3);
    assert_eq!(resumed[2]["failures_before"], 3);
    assert!(
        read_text(&dir.join("report.md")).contains("failure budget used up"),
        "the last resume says why it sent nothing"
    );
}

/// A crash between a `done` answer and its final record: resume writes the outcome from the
/// answer instead of sending again.
#[test]
fn a_torn_final_line_is_resolved_from_its_journaled_answer() {
    let server = MockServer::start();
    let ok = server.mock(|when, then| {
        when.method(DELETE);
        then.status(200);
    });
    let c = Campaign::recall("history-torn", &server, "  concurrency: 1", "1, 2, 3");
    c.run_test().status(0).run();
    let dir = c.run_dir();
    let path = dir.join("journal.jsonl");
    // Cut the journal after the last target's answer, half-way through its final record.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let last_final = lines
        .iter()
        .rposition(|l| l.contains("\"event\":\"final\""))
        .unwrap();
    let mut torn = lines[..last_final].join("\n");
    torn.push('\n');
    torn.push_str(&lines[last_final][..20]);
    std::fs::write(&path, torn).unwrap();
    for f in ["report.json", "report.md", "report.html"] {
        let _ = std::fs::remove_file(dir.join(f));
    }

    c.test()
        .arg("resume")
        .arg(&dir)
        .arg("--yes")
        .status(0)
        .stderr_contains(
            "1 final record(s) cut off by the interruption resolved from their answers",
        )
        .run();
    ok.assert_calls(3);
    assert_eq!(outcomes(&c)["done"], 3);
    let resolved = finals(&c.journal())
        .into_iter()
        .filter(|f| {
            f["reason"]
                .as_str()
                .is_some_and(|r| r.contains("resolved on resume"))
        })
        .count();
    assert_eq!(resolved, 1);
}

/// TPNS `force_collapse` overrides are not retried when their answer is lost (a second push
/// would show twice); resume asks get_push_record first, then marks done or pushes again.
#[test]
fn a_lost_force_override_is_rechecked_on_resume() {
    let server = MockServer::start();
    let mut lost = server.mock(|when, then| {
        when.method(POST).path("/v3/push/app");
        then.status(200)
            .delay(Duration::from_millis(1500))
            .json_body(json!({"ret_code": 0, "push_id": "900"}));
    });
    let steps = "  - name: fix\n    action: override\n    unsupported: force\n    select: { ids: [\"77\", \"78\"] }\n    message: { body: fixed }\n";
    let ledger = [
        task(
            "77",
            "tag",
            r#","collapse_id":4242,"receivers_by_channel":{"tpns":10,"oppo":5}"#,
        ),
        task(
            "78",
            "tag",
            r#","collapse_id":4243,"receivers_by_channel":{"tpns":10,"oppo":5}"#,
        ),
    ];
    let c = Campaign::tpns("history-force", &server, "sign", steps, &ledger);
    let pb = read_text(&c.dir.join("pb.yaml"))
        .replace("  concurrency: 2", "  concurrency: 2\n  timeout: 300ms");
    std::fs::write(c.dir.join("pb.yaml"), pb).unwrap();
    c.run_test().status(1).stdout_contains("not retried").run();
    assert_eq!(lost.calls(), 2);
    let dir = c.run_dir();
    assert_eq!(outcomes(&c)["gave_up"], 2);

    // A new run would push them a second time: refused.
    std::thread::sleep(Duration::from_millis(1100));
    c.run_test()
        .status(5)
        .stderr_contains("2 target(s) lost their answer and must be re-checked")
        .run();

    // The provider says 77 was collapsed (our push went out) and 78 was not.
    lost.delete();
    let record = |id: &'static str, status: &'static str| {
        server.mock(move |when, then| {
            when.method(POST)
                .path("/v3/statistics/get_push_record")
                .json_body(json!({"pushId": id}));
            then.status(200).json_body(json!({"retCode": 0, "pushRecordData": [
                {"pushId": id.parse::<u64>().unwrap(), "status": status, "pushType": "tag", "collapseID": 4242}
            ]}));
        })
    };
    let r77 = record("77", "PUSH_COLLAPSED");
    let r78 = record("78", "PUSH_FINISHED");
    let push = server.mock(|when, then| {
        when.method(POST).path("/v3/push/app");
        then.status(200)
            .json_body(json!({"ret_code": 0, "push_id": "901"}));
    });
    Test::in_dir(&c.dir)
        .tpns_credentials()
        .arg("resume")
        .arg(&dir)
        .arg("--yes")
        .status(0)
        .stderr_contains("2 to re-check after a lost answer")
        .run();
    r77.assert_calls(1);
    r78.assert_calls(1);
    push.assert_calls(1);
    assert_eq!(outcomes(&c)["done"], 2);
}

/// A kill in the first moments leaves a directory without a journal: nothing was sent.
#[test]
fn resume_of_a_run_that_never_started_says_nothing_was_sent() {
    let tmp = TempDir::new("history-never-started");
    tmp.write("audit/20261121T040000Z-x/playbook.yaml", "version: 1\n");
    Test::in_dir(&tmp)
        .args(["resume", "audit/20261121T040000Z-x", "--yes"])
        .status(2)
        .stderr_contains("nothing was sent from")
        .stderr_contains("run the playbook again")
        .run();
}

/// A corrupt plan.json is located (file:line:col, exit 2); a corrupt journal names its line.
#[test]
fn corrupt_plans_and_journals_are_located_and_exit_2() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(DELETE);
        then.status(200);
    });
    let c = Campaign::recall("history-corrupt", &server, "  concurrency: 1", "1, 2");
    c.run_test().status(0).run();
    let dir = c.run_dir();
    let plan = read_text(&dir.join("plan.json"));
    std::fs::write(
        dir.join("plan.json"),
        plan.replacen("\"steps\"", "\"steps\" 7", 1),
    )
    .unwrap();
    let out = c
        .test()
        .arg("resume")
        .arg(&dir)
        .arg("--yes")
        .status(2)
        .run();
    let line = plan.lines().position(|l| l.contains("\"steps\"")).unwrap() + 1;
    assert!(
        out.stderr.contains(&format!("plan.json:{line}:")),
        "{}",
        out.stderr
    );
    std::fs::write(dir.join("plan.json"), &plan).unwrap();
    let journal = read_text(&dir.join("journal.jsonl"));
    let mut lines: Vec<&str> = journal.lines().collect();
    lines.insert(2, "{\"event\":\"nonsense\"}");
    std::fs::write(dir.join("journal.jsonl"), lines.join("\n") + "\n").unwrap();
    for (cmd, more) in [("report", None), ("resume", Some("--yes"))] {
        c.test()
            .arg(cmd)
            .arg(&dir)
            .args(more)
            .status(2)
            .stderr_contains("journal.jsonl:3: not a journal record")
            .run();
    }
}
