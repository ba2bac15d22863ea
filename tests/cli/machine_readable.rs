//! What scripts and CI read: `run --format json` (the report on stdout, the human text on
//! stderr), the versioned `--events` stream's header, and `plan --format md` (a CI job summary).

use serde_json::Value;

use crate::support::{Test, examples, latest_run_dir, read_report};

/// The examples' JPush recall by ids, rehearsed in the sandbox as of the incident.
const AS_OF: &str = "2026-11-20T19:00:00+08:00";

#[test]
fn run_format_json_prints_the_report_alone_on_stdout() {
    let dir = examples("json-report", true);
    let out = Test::in_dir(&dir)
        .args([
            "run",
            "playbooks/jpush-recall-by-ids.yaml",
            "--sandbox",
            "--yes",
        ])
        .args(["--as-of", AS_OF, "--format", "json"])
        .status(0)
        .run();
    // One JSON document, nothing else: a script parses stdout as it is.
    let printed: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", out.stdout));
    assert_eq!(printed["schema"], "pushfix.report/v1");
    assert_eq!(printed["exit_code"], 0);
    assert!(printed["totals"]["done"].as_u64().unwrap() > 0, "{printed}");
    // The record itself, not a second rendering of it.
    let run_dir = latest_run_dir(&dir);
    assert_eq!(printed, read_report(&run_dir));
    // The plan, the progress and the summary went to stderr.
    for human in ["Plan: ", "step ", "exit 0", "audit: "] {
        assert!(
            out.stderr.contains(human),
            "no {human:?} in\n{}",
            out.stderr
        );
    }
}

#[test]
fn run_format_json_reports_a_failing_run_with_its_exit_code() {
    // TPNS answers revoke_push_msg as it does since it was taken offline: every recall fails.
    let dir = examples("json-report-failed", true);
    dir.write(
        "playbooks/tpns-recall.yaml",
        "version: 1\nname: tpns-recall\nprovider:\n  kind: tpns\n  region: guangzhou\n  credentials:\n    access_id: { env: TPNS_ACCESS_ID }\n    secret_key: { env: TPNS_SECRET_KEY }\nledger: ../ledgers/tpns-tasks.jsonl\nlimits: { rate: 50/s, max_failures: 1 }\nsteps:\n  - name: recall\n    action: recall\n    select: { where: { tags_any: [price-alert] } }\n",
    );
    let out = Test::in_dir(&dir)
        .args(["run", "playbooks/tpns-recall.yaml", "--sandbox", "--yes"])
        .args(["--as-of", AS_OF, "--format", "json"])
        .spawn()
        .wait();
    let code = out.code().expect("an exit code");
    assert!(code == 1 || code == 3, "exit {code}\n{}", out.stderr);
    let printed: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(printed["exit_code"].as_i64(), Some(i64::from(code)));
    assert!(
        printed["totals"]["failed"].as_u64().unwrap() > 0,
        "{printed}"
    );
}

#[test]
fn run_format_json_and_events_on_stdout_are_refused_before_anything_runs() {
    let dir = examples("json-and-events", true);
    Test::in_dir(&dir)
        .args([
            "run",
            "playbooks/jpush-recall-by-ids.yaml",
            "--sandbox",
            "--yes",
        ])
        .args(["--as-of", AS_OF, "--format", "json", "--events", "-"])
        .status(2)
        .stderr_contains("--events events.jsonl")
        .run();
    assert!(!dir.join("audit").exists(), "nothing ran");
}

#[test]
fn events_stream_starts_with_its_versioned_header() {
    let dir = examples("events-header", true);
    let out = Test::in_dir(&dir)
        .args([
            "run",
            "playbooks/jpush-recall-by-ids.yaml",
            "--sandbox",
            "--yes",
        ])
        .args([
            "--as-of",
            AS_OF,
            "--events",
            "events.jsonl",
            "--format",
            "json",
        ])
        .status(0)
        .run();
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let header = &lines[0];
    assert_eq!(header["schema"], "pushfix.events/v1");
    assert_eq!(header["run_id"], report["run_id"]);
    assert_eq!(header["provider"], "jpush");
    assert_eq!(header["sandbox"], true);
    assert_eq!(header["pushfix_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        dir.join(header["run_dir"].as_str().unwrap())
            .join("journal.jsonl")
            .is_file(),
        "the header names the run directory: {header}"
    );
    // After it, every line is a record (`event`) or a note (`note`), never both, never neither.
    for l in &lines[1..] {
        assert!(
            l.get("event").is_some() != l.get("note").is_some(),
            "neither or both: {l}"
        );
        assert!(l.get("schema").is_none(), "one header only: {l}");
        assert_eq!(
            l["run_id"], header["run_id"],
            "each line names its run: {l}"
        );
    }
    assert_eq!(lines.last().unwrap()["event"], "run_finished");
    assert_eq!(lines.last().unwrap()["exit_code"], 0);
}

#[test]
fn plan_format_md_summarises_the_plan_as_json_has_it() {
    let dir = examples("plan-md", false);
    let plan = |format: &str| {
        Test::in_dir(&dir)
            .args([
                "plan",
                "playbooks/jpush-override-by-tag.yaml",
                "--as-of",
                AS_OF,
            ])
            .args(["--format", format])
            .status(0)
            .run()
    };
    let json = plan("json").json();
    let md = plan("md");
    let t = &json["totals"];
    let headline = format!(
        "**{} targets in 1 step: {} to send, {} to skip, {} to fail**",
        t["targets"], t["send"], t["skip"], t["fail"]
    );
    for part in [
        "### pushfix plan: `jpush-override-broken-link`",
        headline.as_str(),
        "| # | step | action | targets |",
        "| 1 | `correct-link` | `override` |",
        "#### Residual exposure",
        "<details>",
        "pushfix.plan/v1",
    ] {
        assert!(md.stdout.contains(part), "no {part:?} in\n{}", md.stdout);
    }
    // Markdown only: no ANSI colour, no text-plan layout, nothing on stderr but warnings.
    assert!(!md.stdout.contains('\u{1b}'));
    assert!(!md.stdout.contains("Plan: "));
}

#[test]
fn plan_format_md_escapes_what_the_playbook_says() {
    // A description and a name a reviewer must see as written, not as markup.
    let t = Test::new("plan-md-escape")
        .file("ids.txt", "1\n")
        .playbook(
            "version: 1\nname: md-escape\ndescription: \"a | b <script>alert(1)</script> **bold**\"\nprovider:\n  kind: jpush\n  credentials:\n    app_key: { env: JPUSH_APP_KEY }\n    master_secret: { env: JPUSH_MASTER_SECRET }\nsteps:\n  - name: recall\n    action: recall\n    select: { ids_file: ids.txt }\n",
        );
    let out = t
        .args(["plan", "pb.yaml", "--format", "md"])
        .status(0)
        .run();
    assert!(!out.stdout.contains("<script>"), "{}", out.stdout);
    assert!(!out.stdout.contains(" **bold**"), "{}", out.stdout);
    assert!(!out.stdout.contains("a | b"), "{}", out.stdout);
}

#[test]
fn plan_format_md_of_an_invalid_playbook_prints_no_summary() {
    let out = Test::new("plan-md-invalid")
        .playbook("version: 1\nname: Bad Name\n")
        .args(["plan", "pb.yaml", "--format", "md"])
        .status(2)
        .stderr_contains("pb.yaml:2:")
        .run();
    assert_eq!(out.stdout, "", "a summary of nothing would read as a plan");
}
