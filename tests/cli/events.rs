//! `run --events FILE|-`: the live stream as JSON Lines — every journal record, and notes —
//! with the human output moved to stderr when the stream takes stdout.

use httpmock::Method::DELETE;
use httpmock::MockServer;
use serde_json::Value;

use crate::support::{Campaign, SECRET};

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn events_stream_to_stdout_carries_the_journal_and_notes() {
    let server = MockServer::start();
    // The provider echoes the secret back: the stream must not.
    let recall = server.mock(|when, then| {
        when.method(DELETE).path_matches("^/v3/push/[0-9]+$");
        then.status(400).json_body(serde_json::json!({
            "error": {"code": 1011, "message": format!("bad request for {SECRET}")}
        }));
    });
    let c = Campaign::recall(
        "events-stdout",
        &server,
        "  rate: 50/s\n  concurrency: 2",
        "1, 2",
    );
    let out = c.run_test().args(["--events", "-"]).status(1).run();
    recall.assert_calls(2);
    let stream = lines(&out.stdout);
    let kinds: Vec<&str> = stream
        .iter()
        .filter_map(|e| e.get("event").or_else(|| e.get("note")))
        .filter_map(Value::as_str)
        .collect();
    for k in [
        "step_started",
        "dispatching",
        "dispatched",
        "intent",
        "answer",
        "final",
        "step_finished",
        "run_finished",
    ] {
        assert!(kinds.contains(&k), "no {k} in {kinds:?}");
    }
    // The same records as the journal, in the same order.
    let journal: Vec<Value> = c.journal();
    let records: Vec<&Value> = stream.iter().filter(|e| e.get("event").is_some()).collect();
    assert_eq!(
        records.len() + 1,
        journal.len(),
        "all but run_started, which precedes the stream"
    );
    for (a, b) in records.iter().zip(&journal[1..]) {
        assert_eq!(a["event"], b["event"]);
    }
    assert!(!out.stdout.contains(SECRET), "the stream scrubs the secret");
    assert!(out.stdout.contains("********"));
    // The plan and the summary went to stderr.
    assert!(out.stderr.contains("Plan: events-stdout"), "{}", out.stderr);
    assert!(out.stderr.contains("exit 1:"), "{}", out.stderr);
}

#[test]
fn events_stream_to_a_file_leaves_stdout_to_the_plan() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(DELETE).path_matches("^/v3/push/[0-9]+$");
        then.status(200).body("");
    });
    let c = Campaign::recall("events-file", &server, "  rate: 50/s", "1");
    let out = c
        .run_test()
        .args(["--events", "events.jsonl"])
        .status(0)
        .run();
    assert!(out.stdout.contains("Plan: events-file"));
    let stream = lines(&std::fs::read_to_string(c.dir.join("events.jsonl")).unwrap());
    let finals: Vec<&Value> = stream.iter().filter(|e| e["event"] == "final").collect();
    assert_eq!(finals.len(), 1);
    assert_eq!(finals[0]["outcome"], "done");
    assert_eq!(stream.last().unwrap()["event"], "run_finished");
}
