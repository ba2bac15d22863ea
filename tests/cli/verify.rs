//! Verification end to end: the real binary against `pushfix sandbox` in a separate process.
//! Every action of both providers is verified; silently ineffective corrections (the sandbox's
//! `ineffective` fault) never come out `verified`; the report's counts are the journal's
//! verdicts counted by hand; a killed `verify` goes on without asking twice; no secret leaks.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    BASIC, Output, SECRET, SandboxProc, TPNS_BASIC, TPNS_SECRET_KEY, TempDir, all_files,
    latest_run_dir, pushfix, read_journal, read_report, read_text, record_at, task,
};

fn ago(secs: i64) -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(secs)).to_string()
}

const JPUSH_PROVIDER: &str = "provider:\n  kind: jpush\n  credentials:\n    app_key: { env: JPUSH_APP_KEY }\n    master_secret: { env: JPUSH_MASTER_SECRET }\n";
const TPNS_PROVIDER: &str = "provider:\n  kind: tpns\n  region: guangzhou\n  credentials:\n    access_id: { env: TPNS_ACCESS_ID }\n    secret_key: { env: TPNS_SECRET_KEY }\n";

fn setup(name: &str, provider: &str, limits: &str, steps: &str, ledger: &[String]) -> TempDir {
    let dir = TempDir::new(name);
    dir.write(
        "pb.yaml",
        format!(
            "version: 1\nname: {name}\n{provider}ledger: ledger.jsonl\nlimits:\n{limits}\nsteps:\n{steps}"
        ),
    );
    dir.write("ledger.jsonl", ledger.join("\n") + "\n");
    dir
}

fn run(dir: &Path, url: &str, extra: &[&str], code: i32) -> Output {
    pushfix(dir)
        .args([
            "run",
            "pb.yaml",
            "--endpoint",
            url,
            "--yes",
            "--audit-dir",
            "audit",
        ])
        .args(extra)
        .status(code)
        .run()
}

fn verify(dir: &Path, extra: &[&str], code: i32) -> Output {
    let rd = latest_run_dir(dir);
    pushfix(dir)
        .arg("verify")
        .arg(&rd)
        .args(extra)
        .status(code)
        .run()
}

/// target -> verdict, from the journal; a target verified twice fails the test.
fn verdicts(journal: &[Value]) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for e in journal.iter().filter(|e| e["event"] == "verified") {
        let t = e["target"].as_str().unwrap().to_string();
        let v = e["verdict"].as_str().unwrap().to_string();
        assert!(m.insert(t.clone(), v).is_none(), "{t} verified twice");
    }
    m
}

/// report.json's verification counts equal the journal's verdicts counted by hand (over the
/// targets that ended `done`).
fn assert_hand_count(run_dir: &Path) {
    let journal = read_journal(run_dir);
    let report = read_report(run_dir);
    let mut done = HashSet::new();
    for e in journal.iter().filter(|e| e["event"] == "final") {
        let k = (
            e["step"].as_str().unwrap().to_string(),
            e["target"].as_str().unwrap().to_string(),
        );
        if e["outcome"] == "done" {
            done.insert(k);
        } else {
            done.remove(&k);
        }
    }
    let mut hand: BTreeMap<&str, u64> = BTreeMap::new();
    let mut with_verdict = HashSet::new();
    for e in journal.iter().filter(|e| e["event"] == "verified") {
        *hand.entry(e["verdict"].as_str().unwrap()).or_default() += 1;
        with_verdict.insert((
            e["step"].as_str().unwrap().to_string(),
            e["target"].as_str().unwrap().to_string(),
        ));
    }
    let v = &report["verification"];
    for k in ["verified", "not_effective", "unknown"] {
        assert_eq!(
            v[k].as_u64().unwrap(),
            hand.get(k).copied().unwrap_or(0),
            "{k}: {v}"
        );
    }
    let checked: u64 = hand.values().sum();
    assert_eq!(v["checked"].as_u64().unwrap(), checked);
    assert_eq!(
        v["unchecked"].as_u64().unwrap(),
        done.difference(&with_verdict).count() as u64
    );
    let requests = journal
        .iter()
        .filter(|e| e["event"] == "verify_request")
        .count() as u64;
    assert_eq!(v["requests"].as_u64().unwrap(), requests);
    // Per step, the same.
    for s in report["steps"].as_array().unwrap() {
        let Some(sv) = s.get("verification") else {
            continue;
        };
        let name = s["name"].as_str().unwrap();
        let n = |verdict: &str| {
            journal
                .iter()
                .filter(|e| {
                    e["event"] == "verified" && e["step"] == name && e["verdict"] == verdict
                })
                .count() as u64
        };
        for k in ["verified", "not_effective", "unknown"] {
            assert_eq!(sv[k].as_u64().unwrap(), n(k), "{name} {k}");
        }
    }
}

/// No credential anywhere: outputs, the run directory, the sandbox's logs.
fn assert_no_secrets(dir: &Path, outputs: &[&Output], sandbox: &SandboxProc) {
    let secrets = [
        SECRET,
        TPNS_SECRET_KEY,
        BASIC,
        TPNS_BASIC,
        "MTUwMDAwMTA0ODoxNDUy",
    ];
    let mut texts: Vec<(String, String)> = all_files(&dir.join("audit"))
        .into_iter()
        .map(|(p, t)| (p.display().to_string(), t))
        .collect();
    for (i, o) in outputs.iter().enumerate() {
        texts.push((format!("output {i}"), o.all()));
    }
    texts.push((
        "sandbox requests".into(),
        sandbox.get("/_sandbox/requests").to_string(),
    ));
    for (name, text) in &texts {
        for s in secrets {
            assert!(!text.contains(s), "{name} holds a secret");
        }
    }
}

/// Messages the sandbox says ignored a correction (the `ineffective` fault).
fn ignored(sandbox: &SandboxProc) -> HashSet<String> {
    sandbox
        .get("/_sandbox/messages")
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["ignores_corrections"] == true)
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

fn jpush_ledger() -> Vec<String> {
    vec![
        // Recall: delivered long ago over a minute's time_to_live, three sample devices.
        record_at(
            "101",
            &ago(3600),
            r#"["android"]"#,
            r#","receivers_by_channel":{"jpush":2000},"time_to_live":60,"sample_registration_ids":["s1","s2","s3"]"#,
        ),
        // Overrides: one with receivers counted per channel, one without.
        record_at(
            "102",
            &ago(3600),
            r#"["android"]"#,
            r#","receivers_by_channel":{"jpush":3000,"xiaomi":1000}"#,
        ),
        record_at("103", &ago(3600), r#"["android"]"#, ""),
    ]
}

const JPUSH_STEPS: &str = "  - name: pull\n    action: recall\n    select: { ids: [\"101\"] }\n  - name: fix\n    action: override\n    select: { ids: [\"102\", \"103\"] }\n    message: { title: \"Fixed\", body: \"The right link\" }\n";

#[test]
fn jpush_recall_and_override_are_verified_against_the_report_api() {
    let dir = setup(
        "verify-jpush",
        JPUSH_PROVIDER,
        "  verify: true",
        JPUSH_STEPS,
        &jpush_ledger(),
    );
    let sb = SandboxProc::start(dir.path(), &["--ledger", "ledger.jsonl"]);
    let out = run(dir.path(), &sb.url, &["--observe", "1s"], 0);
    assert!(
        out.stdout.contains(
            "verification: 3 of 3 corrections checked: 1 verified, 0 not effective, 2 unknown"
        ),
        "{}",
        out.all()
    );
    let rd = latest_run_dir(dir.path());
    let v = verdicts(&read_journal(&rd));
    assert_eq!(v["101"], "unknown", "a recall is never verified");
    assert_eq!(v["102"], "verified");
    assert_eq!(
        v["103"], "unknown",
        "no receivers in the ledger to expect any"
    );
    let journal = read_journal(&rd);
    let why = |t: &str| {
        journal
            .iter()
            .find(|e| e["event"] == "verified" && e["target"] == t)
            .unwrap()
            .clone()
    };
    assert!(
        why("101")["reason"]
            .as_str()
            .unwrap()
            .contains("no API shows a recall took effect")
    );
    let evidence = &why("102")["evidence"];
    assert_eq!(
        evidence["new_msg_id"].as_str().map(str::len),
        Some(17),
        "{evidence}"
    );
    assert!(
        evidence["new_received"]["jpush"].as_u64().unwrap() > 0,
        "{evidence}"
    );
    let report = read_report(&rd);
    assert_eq!(report["verification"]["passes"], 1);
    assert_eq!(report["steps"][0]["verification"]["unknown"], 1);
    assert_eq!(report["steps"][1]["verification"]["verified"], 1);
    assert_hand_count(&rd);
    // The verification pass is before the run's end, so the run's exit code includes it.
    let last = journal.last().unwrap();
    assert_eq!(last["event"], "run_finished");
    // What the Report API received: two readings, msg_id an exact JSON integer.
    let reqs = sb.get("/_sandbox/requests");
    let reqs = reqs.as_array().unwrap();
    let detail: Vec<&Value> = reqs
        .iter()
        .filter(|r| r["path"] == "/v3/received/detail")
        .collect();
    assert_eq!(detail.len(), 2);
    assert!(detail.iter().all(|r| r["status"] == 200));
    let status: Vec<&Value> = reqs
        .iter()
        .filter(|r| r["path"] == "/v3/status/message")
        .collect();
    assert_eq!(status.len(), 2);
    assert_eq!(status[0]["body"]["msg_id"], 101);
    assert_eq!(
        status[0]["body"]["registration_ids"],
        serde_json::json!(["s1", "s2", "s3"])
    );
    assert!(status[0]["body"]["date"].is_string());
    let md = read_text(&rd.join("report.md"));
    assert!(
        md.contains("## Verification") && md.contains("| pull | recall | 1 | 0 | 0 | 1 | 0 |"),
        "{md}"
    );
    assert!(read_text(&rd.join("report.html")).contains("id=\"verification\""));
    // `pushfix verify` again: nothing left, nothing asked.
    let before = sb.requests();
    let again = verify(dir.path(), &[], 0);
    assert!(
        again.stderr.contains("verifying 0 corrections"),
        "{}",
        again.all()
    );
    assert_eq!(
        sb.requests(),
        before,
        "what has a verdict is not asked again"
    );
    assert_no_secrets(dir.path(), &[&out, &again], &sb);
    sb.stop();
}

#[test]
fn jpush_ineffective_corrections_are_caught() {
    let ledger = vec![
        // Still being delivered (sent now, ten minutes' time_to_live): ~800 receipts a second.
        record_at(
            "201",
            &ago(0),
            r#"["android"]"#,
            r#","receivers_by_channel":{"jpush":1000000},"time_to_live":600"#,
        ),
        record_at(
            "202",
            &ago(3600),
            r#"["android"]"#,
            r#","receivers_by_channel":{"jpush":3000}"#,
        ),
        record_at("203", &ago(3600), r#"["android"]"#, ""),
    ];
    let steps = "  - name: pull\n    action: recall\n    select: { ids: [\"201\"] }\n  - name: fix\n    action: override\n    select: { ids: [\"202\", \"203\"] }\n    message: { title: \"Fixed\", body: \"The right link\" }\n";
    let dir = setup(
        "verify-jpush-ineffective",
        JPUSH_PROVIDER,
        "  max_targets: 10",
        steps,
        &ledger,
    );
    let sb = SandboxProc::start(
        dir.path(),
        &["--ledger", "ledger.jsonl", "--faults", "ineffective=1"],
    );
    let out = run(dir.path(), &sb.url, &["--verify", "--observe", "1s"], 1);
    assert!(
        out.stdout
            .contains("exit 1: a correction did not take effect"),
        "{}",
        out.all()
    );
    let rd = latest_run_dir(dir.path());
    let v = verdicts(&read_journal(&rd));
    assert_eq!(
        v["201"], "not_effective",
        "delivery went on after the recall"
    );
    assert_eq!(v["202"], "not_effective", "the correction reached nobody");
    assert_eq!(v["203"], "unknown");
    let ig = ignored(&sb);
    assert_eq!(
        ig,
        ["201", "202", "203"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let report = read_report(&rd);
    assert_eq!(report["exit_code"], 1);
    // A correction that did not take effect corrects nothing in the residual exposure.
    let nc = report["exposure"]["not_corrected"].as_array().unwrap();
    assert!(
        nc.iter().any(
            |n| n["target"] == "202" && n["reason"].as_str().unwrap().contains("not effective")
        ),
        "{nc:?}"
    );
    assert_hand_count(&rd);
    assert_no_secrets(dir.path(), &[&out], &sb);
    sb.stop();
}

/// As the held-back runs do: a share of corrections silently ineffective, at random. Every one
/// comes out not_effective or unknown; the report counts what the journal says.
#[test]
fn random_ineffective_overrides_are_never_verified() {
    let ledger: Vec<String> = (1..=30)
        .map(|i| {
            record_at(
                &format!("3{i:03}"),
                &ago(3600),
                r#"["android","ios"]"#,
                r#","receivers_by_channel":{"jpush":500,"xiaomi":300,"vivo":40,"apns":900},"apns_collapse_id":"c1""#,
            )
        })
        .collect();
    let steps = "  - name: fix\n    action: override\n    select: { where: { tags_any: [bf] } }\n    message: { title: \"Fixed\", body: \"The right link\" }\n";
    let dir = setup(
        "verify-random",
        JPUSH_PROVIDER,
        "  concurrency: 4",
        steps,
        &ledger,
    );
    let sb = SandboxProc::start(
        dir.path(),
        &[
            "--ledger",
            "ledger.jsonl",
            "--faults",
            "ineffective=0.4",
            "--seed",
            "11",
        ],
    );
    let first = run(dir.path(), &sb.url, &[], 0);
    let out = verify(dir.path(), &["--observe", "1s"], 1);
    let rd = latest_run_dir(dir.path());
    let v = verdicts(&read_journal(&rd));
    let ig = ignored(&sb);
    assert!(ig.len() >= 3 && ig.len() <= 27, "{} ignored", ig.len());
    for id in &ig {
        let got = v.get(id).map(String::as_str);
        assert!(
            matches!(got, Some("not_effective" | "unknown")),
            "{id}: {got:?}"
        );
    }
    // The others went out and were received where the ledger says the original was.
    for (id, verdict) in &v {
        if !ig.contains(id) {
            assert_eq!(verdict, "verified", "{id}");
        }
    }
    assert_eq!(v.len(), 30);
    assert_hand_count(&rd);
    assert!(out.stdout.contains("not effective:"), "{}", out.stdout);
    assert_no_secrets(dir.path(), &[&first, &out], &sb);
    sb.stop();
}

fn tpns_ledger() -> Vec<String> {
    vec![
        task("5001", "tag", r#","collapse_id":2001"#),
        task("5002", "tag", r#","collapse_id":2002"#),
        task("5003", "tag", r#","collapse_id":2003"#),
        task(
            "5004",
            "tag",
            r#","collapse_id":2004,"scheduled":"2099-01-01T00:00:00+08:00""#,
        ),
    ]
}

const TPNS_STEPS: &str = "  - name: halt\n    action: stop\n    select: { ids: [\"5001\"] }\n  - name: pull\n    action: recall\n    select: { ids: [\"5002\"] }\n  - name: fix\n    action: override\n    select: { ids: [\"5003\"] }\n    message: { title: \"Fixed\", body: \"The right link\" }\n  - name: cancel\n    action: cancel_scheduled\n    select: { ids: [\"5004\"] }\n";

#[test]
fn tpns_every_action_is_verified_by_its_task_status() {
    let dir = setup(
        "verify-tpns",
        TPNS_PROVIDER,
        "  rate: 20/s",
        TPNS_STEPS,
        &tpns_ledger(),
    );
    let sb = SandboxProc::start(
        dir.path(),
        &[
            "--ledger",
            "ledger.jsonl",
            "--rate",
            "20/s",
            "--enable-revoke",
        ],
    );
    let first = run(dir.path(), &sb.url, &[], 0);
    let out = verify(
        dir.path(),
        &["--rate", "20/s", "--observe", "0s", "--format", "json"],
        0,
    );
    let j = out.json();
    assert_eq!(j["verification"]["verified"], 4, "{j}");
    assert_eq!(j["verification"]["checked"], 4);
    assert_eq!(j["exit_code"], 0);
    assert_eq!(j["steps"].as_array().unwrap().len(), 4);
    let rd = latest_run_dir(dir.path());
    let journal = read_journal(&rd);
    for (t, status) in [
        ("5001", "PUSH_DELETED_PUSH_MSG"),
        ("5002", "PUSH_REVOKED"),
        ("5003", "PUSH_COLLAPSED"),
        ("5004", "PUSH_CANCELED"),
    ] {
        let e = journal
            .iter()
            .find(|e| e["event"] == "verified" && e["target"] == t)
            .unwrap();
        assert_eq!(e["verdict"], "verified", "{e}");
        assert_eq!(e["evidence"]["status"], status, "{e}");
    }
    // One get_push_record per task, in the statistics family.
    let reqs: Vec<Value> = journal
        .iter()
        .filter(|e| e["event"] == "verify_request")
        .cloned()
        .collect();
    assert_eq!(reqs.len(), 4);
    assert!(reqs.iter().all(|r| r["family"] == "tpns_statistics"
        && r["request"] == "POST /v3/statistics/get_push_record"));
    assert_hand_count(&rd);
    assert_no_secrets(dir.path(), &[&first, &out], &sb);
    sb.stop();
}

#[test]
fn tpns_ineffective_corrections_are_caught() {
    let dir = setup(
        "verify-tpns-ineffective",
        TPNS_PROVIDER,
        "  rate: 20/s",
        TPNS_STEPS,
        &tpns_ledger(),
    );
    let sb = SandboxProc::start(
        dir.path(),
        &[
            "--ledger",
            "ledger.jsonl",
            "--rate",
            "20/s",
            "--enable-revoke",
            "--faults",
            "ineffective=1",
        ],
    );
    run(dir.path(), &sb.url, &[], 0);
    let out = verify(dir.path(), &["--rate", "20/s", "--observe", "0s"], 1);
    assert!(
        out.stdout.contains("0 verified, 4 not effective"),
        "{}",
        out.all()
    );
    let rd = latest_run_dir(dir.path());
    let v = verdicts(&read_journal(&rd));
    assert!(v.values().all(|x| x == "not_effective"), "{v:?}");
    assert_eq!(ignored(&sb).len(), 4);
    assert_hand_count(&rd);
    sb.stop();
}

/// Kill `verify` mid-pass, run it again: every task gets exactly one verdict, and the second
/// pass asks only about the rest.
#[test]
fn verify_goes_on_after_a_kill_without_asking_twice() {
    let ledger: Vec<String> = (1..=8)
        .map(|i| {
            task(
                &format!("60{i:02}"),
                "tag",
                &format!(r#","collapse_id":{}"#, 3000 + i),
            )
        })
        .collect();
    let steps = "  - name: halt\n    action: stop\n    select: { where: { tags_any: [bf] } }\n";
    let dir = setup("verify-kill", TPNS_PROVIDER, "  rate: 20/s", steps, &ledger);
    let sb = SandboxProc::start(dir.path(), &["--ledger", "ledger.jsonl", "--rate", "20/s"]);
    run(dir.path(), &sb.url, &[], 0);
    let rd = latest_run_dir(dir.path());
    let mut child = pushfix(dir.path())
        .arg("verify")
        .arg(&rd)
        .args(["--rate", "2/s", "--observe", "0s"])
        .spawn();
    let count = || {
        std::fs::read_to_string(rd.join("journal.jsonl"))
            .unwrap()
            .matches("\"event\":\"verified\"")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while count() < 3 {
        if child.has_exited() {
            panic!("verify ended early: {}", child.wait().all());
        }
        assert!(Instant::now() < deadline, "verify did not get going");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(child.signal("KILL"));
    let _ = child.wait();
    let done_first = count();
    assert!(done_first < 8, "killed before the end ({done_first})");
    let asked_before = sb.requests();
    let out = verify(dir.path(), &["--rate", "2/s", "--observe", "0s"], 0);
    assert!(
        out.stderr
            .contains(&format!("verifying {} corrections", 8 - done_first)),
        "{}",
        out.all()
    );
    // Each request of the second pass is for a task still without a verdict.
    assert_eq!(sb.requests() - asked_before, 8 - done_first);
    let journal = read_journal(&rd);
    let v = verdicts(&journal);
    assert_eq!(v.len(), 8);
    assert!(v.values().all(|x| x == "verified"));
    let report = read_report(&rd);
    assert_eq!(report["verification"]["verified"], 8);
    assert_eq!(report["verification"]["passes"], 2);
    assert_hand_count(&rd);
    sb.stop();
}

/// A pass checks what its budget allows and says how to go on; the next pass goes on.
#[test]
fn a_pass_leaves_the_rest_for_the_next_and_says_so() {
    let ledger: Vec<String> = (1..=3)
        .map(|i| {
            task(
                &format!("70{i:02}"),
                "tag",
                &format!(r#","collapse_id":{}"#, 4000 + i),
            )
        })
        .collect();
    let steps = "  - name: halt\n    action: stop\n    select: { where: { tags_any: [bf] } }\n";
    let dir = setup(
        "verify-budget",
        TPNS_PROVIDER,
        "  rate: 20/s",
        steps,
        &ledger,
    );
    let sb = SandboxProc::start(dir.path(), &["--ledger", "ledger.jsonl", "--rate", "20/s"]);
    run(dir.path(), &sb.url, &[], 0);
    let out = verify(
        dir.path(),
        &["--rate", "20/s", "--observe", "0s", "--max-checks", "1"],
        0,
    );
    assert!(
        out.stdout.contains(
            "1 of 3 corrections checked: 1 verified, 0 not effective, 0 unknown; 2 unchecked"
        ),
        "{}",
        out.all()
    );
    assert!(
        out.stdout.contains("unchecked: 2: `pushfix verify "),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("2 left for the next pass"),
        "{}",
        out.stderr
    );
    let rd = latest_run_dir(dir.path());
    let md = read_text(&rd.join("report.md"));
    assert!(md.contains("### Unchecked (2)"), "{md}");
    let out = verify(dir.path(), &["--rate", "20/s", "--observe", "0s"], 0);
    assert!(
        out.stdout
            .contains("3 of 3 corrections checked: 3 verified"),
        "{}",
        out.all()
    );
    assert_hand_count(&rd);
    sb.stop();
}

#[test]
fn verify_true_per_step_and_in_limits() {
    let steps = "  - name: pull\n    action: recall\n    select: { ids: [\"101\"] }\n    verify: false\n  - name: fix\n    action: override\n    select: { ids: [\"102\"] }\n    message: { title: \"Fixed\", body: \"The right link\" }\n";
    let dir = setup(
        "verify-steps",
        JPUSH_PROVIDER,
        "  verify: true",
        steps,
        &jpush_ledger(),
    );
    let sb = SandboxProc::start(dir.path(), &["--ledger", "ledger.jsonl"]);
    run(dir.path(), &sb.url, &["--observe", "0s"], 0);
    let rd = latest_run_dir(dir.path());
    let report = read_report(&rd);
    assert!(
        report["steps"][0].get("verification").is_none(),
        "{}",
        report["steps"][0]
    );
    assert_eq!(report["steps"][1]["verification"]["verified"], 1);
    assert_eq!(report["verification"]["checked"], 1);
    let plan: Value = serde_json::from_str(&read_text(&rd.join("plan.json"))).unwrap();
    assert_eq!(plan["limits"]["verify"], true);
    assert_eq!(plan["steps"][0]["verify"], false);
    sb.stop();
}

#[test]
fn bad_sample_devices_are_refused_before_the_first_request() {
    let ledger = vec![record_at(
        "101",
        &ago(3600),
        r#"["android"]"#,
        r#","sample_registration_ids":[17,"ok"]"#,
    )];
    let steps = "  - name: pull\n    action: recall\n    select: { ids: [\"101\"] }\n";
    let dir = setup(
        "verify-bad-samples",
        JPUSH_PROVIDER,
        "  verify: true",
        steps,
        &ledger,
    );
    // The sandbox, strict about its own seeds, is not given this ledger: nothing reaches it.
    let sb = SandboxProc::start(dir.path(), &[]);
    let out = run(dir.path(), &sb.url, &[], 2);
    assert!(
        out.stderr.contains("ledger.jsonl:1") && out.stderr.contains("sample_registration_ids"),
        "{}",
        out.stderr
    );
    assert_eq!(sb.requests(), 0, "nothing was sent");
    sb.stop();
}

#[test]
fn verify_refuses_what_it_cannot_do() {
    let t = TempDir::new("verify-refusals");
    pushfix(t.path())
        .args(["verify", "nowhere"])
        .status(2)
        .stderr_contains("is not a run directory")
        .run();
    // A sandbox run's sandbox ended with it.
    let dir = setup(
        "verify-sandbox-run",
        JPUSH_PROVIDER,
        "  max_targets: 10",
        JPUSH_STEPS,
        &jpush_ledger(),
    );
    pushfix(dir.path())
        .args([
            "run",
            "pb.yaml",
            "--sandbox",
            "--yes",
            "--audit-dir",
            "audit",
        ])
        .status(0)
        .run();
    let rd = latest_run_dir(dir.path());
    pushfix(dir.path())
        .arg("verify")
        .arg(&rd)
        .status(2)
        .stderr_contains("this was a sandbox run")
        .run();
    pushfix(dir.path())
        .arg("verify")
        .arg(&rd)
        .args(["--rate", "fast"])
        .status(2)
        .stderr_contains("--rate")
        .run();
}

/// `run --verify` killed in its observation window: `resume` finishes the run by verifying,
/// once each, and records its end.
#[test]
fn resume_finishes_a_run_killed_while_verifying() {
    let dir = setup(
        "verify-resume",
        JPUSH_PROVIDER,
        "  verify: true",
        JPUSH_STEPS,
        &jpush_ledger(),
    );
    let sb = SandboxProc::start(dir.path(), &["--ledger", "ledger.jsonl"]);
    let mut child = pushfix(dir.path())
        .args([
            "run",
            "pb.yaml",
            "--endpoint",
            &sb.url,
            "--yes",
            "--audit-dir",
            "audit",
            "--observe",
            "60s",
        ])
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    // The run directory appears once the run starts; its journal grows from there.
    let journal_text = || {
        let runs = std::fs::read_dir(dir.path().join("audit")).ok()?;
        let rd = runs
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.join("journal.jsonl").is_file())?;
        std::fs::read_to_string(rd.join("journal.jsonl")).ok()
    };
    // The first reading is in: the pass now waits out its window.
    while journal_text()
        .unwrap_or_default()
        .matches("\"event\":\"verify_answer\"")
        .count()
        < 2
    {
        if child.has_exited() {
            panic!("the run ended early: {}", child.wait().all());
        }
        assert!(Instant::now() < deadline, "the run did not start verifying");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(child.signal("KILL"));
    let _ = child.wait();
    let rd = latest_run_dir(dir.path());
    let journal = read_journal(&rd);
    assert!(journal.iter().any(|e| e["event"] == "verify_started"));
    assert!(
        !journal
            .iter()
            .any(|e| e["event"] == "verified" || e["event"] == "run_finished")
    );
    let out = pushfix(dir.path())
        .arg("resume")
        .arg(&rd)
        .args(["--yes", "--observe", "1s"])
        .status(0)
        .run();
    assert!(
        out.stdout
            .contains("verification: 3 of 3 corrections checked"),
        "{}",
        out.all()
    );
    let journal = read_journal(&rd);
    assert_eq!(verdicts(&journal).len(), 3);
    assert_eq!(journal.last().unwrap()["event"], "run_finished");
    assert_eq!(read_report(&rd)["verification"]["passes"], 2);
    assert_hand_count(&rd);
    sb.stop();
}

/// JPush schedule deletes under `verify: true`: the Report API counts messages, and a deleted
/// schedule never became one, so each delete is `unknown` with that reason, and no report
/// request is made for them (none would see anything).
#[test]
fn jpush_deleted_schedules_are_unknown_and_cost_no_report_request() {
    let ledger = [
        r#"{"schedule_id":"0eac1b80-c2ac-4b69-948b-c65b34b96512","name":"bf_a","enabled":true,"scheduled":"2099-01-01T09:00:00+08:00","platforms":["android","ios"],"tags":["bf"],"audience":"all"}"#.to_string(),
        r#"{"schedule_id":"17349f00-0852-11e6-91b1-0021f653c902","name":"bf_b","enabled":true,"scheduled":"2099-01-02T09:00:00+08:00","platforms":["android"],"tags":["bf"],"audience":"all"}"#.to_string(),
    ];
    let steps = "  - name: cancel\n    action: cancel_scheduled\n    select: { where: { tags_any: [bf] } }\n";
    let dir = setup(
        "verify-jpush-schedules",
        JPUSH_PROVIDER,
        "  verify: true",
        steps,
        &ledger,
    );
    let sb = SandboxProc::start(dir.path(), &["--ledger", "ledger.jsonl"]);
    let out = run(dir.path(), &sb.url, &["--observe", "1s"], 0);
    assert!(
        out.stdout.contains(
            "verification: 2 of 2 corrections checked: 0 verified, 0 not effective, 2 unknown"
        ),
        "{}",
        out.all()
    );
    let rd = latest_run_dir(dir.path());
    let journal = read_journal(&rd);
    let v = verdicts(&journal);
    assert_eq!(v.len(), 2);
    assert!(v.values().all(|v| v == "unknown"), "{v:?}");
    for e in journal.iter().filter(|e| e["event"] == "verified") {
        assert!(
            e["reason"]
                .as_str()
                .unwrap()
                .contains("a deleted schedule never became one"),
            "{e}"
        );
    }
    let reqs = sb.get("/_sandbox/requests");
    let paths: Vec<&str> = reqs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert!(
        paths.iter().all(|p| p.starts_with("/v3/schedules/")),
        "only the deletes: {paths:?}"
    );
    assert_hand_count(&rd);
    sb.stop();
}
