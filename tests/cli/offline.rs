//! The offline commands end to end: validate, plan, matrix, schema, completions.

use std::path::PathBuf;

use crate::support::{pushfix, run, snapshot, text};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn snap(name: &str) -> PathBuf {
    root().join("tests/snapshots").join(name)
}

#[test]
fn every_example_playbook_validates() {
    let out = run(&root(), &["validate", "playbooks"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        6,
        "{stdout}"
    );
}

#[test]
fn quickstart_plan_text() {
    let out = run(
        &root(),
        &[
            "plan",
            "playbooks/quickstart.yaml",
            "--as-of",
            "2026-11-20T12:30:00+08:00",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    snapshot(&snap("quickstart-plan.txt"), &text(&out.stdout)).unwrap();
}

#[test]
fn plan_json_is_versioned_and_written_to_out() {
    let dir = tempdir("plan-json");
    let out_file = dir.join("plan.json");
    let out = run(
        &root(),
        &[
            "plan",
            "playbooks/tpns-stop-then-override.yaml",
            "--as-of",
            "2026-11-20T18:30:00+08:00",
            "--format",
            "json",
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(stdout, saved);
    assert_eq!(saved["schema"], "pushfix.plan/v1");
    let stop = &saved["steps"][0];
    assert_eq!(stop["action"], "stop");
    let sent = stop["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["disposition"] == "send")
        .unwrap();
    let req = &sent["requests"][0];
    assert_eq!(
        req["url"],
        "https://api.tpns.tencent.com/v3/push/stop_push_msg"
    );
    assert_eq!(req["body"]["pushId"], sent["id"]);
    assert_eq!(
        req["headers"]["Sign"],
        "<redacted: base64(hex(HMAC-SHA256))>"
    );
}

#[test]
fn plan_never_prints_credentials() {
    let secret = "5e987ac6d2e04d95a9d8f0d1";
    let out = pushfix(&root())
        .args([
            "plan",
            "playbooks/jpush-override-by-tag.yaml",
            "--format",
            "json",
            "--as-of",
            "2026-11-20T19:00:00+08:00",
        ])
        .env("JPUSH_APP_KEY", "7d431e42dfa6a6d693ac2d04")
        .env("JPUSH_MASTER_SECRET", secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(secret));
    assert!(!all.contains("N2Q0MzFlNDJkZmE2YTZkNjkzYWMyZDA0OjVlOTg3YWM2ZDJlMDRkOTVhOWQ4ZjBkMQ=="));
    assert!(
        all.contains("\"override_msg_id\": 67554224848"),
        "override_msg_id must be an exact integer"
    );
}

#[test]
fn max_targets_guard_refuses_with_exit_5() {
    let dir = tempdir("guard");
    let pb = std::fs::read_to_string(root().join("playbooks/quickstart.yaml")).unwrap();
    let pb = pb
        .replace("max_targets: 3000", "max_targets: 10")
        .replace("../ledgers/", &format!("{}/ledgers/", root().display()));
    let pb = pb
        .replace("../templates/", &format!("{}/templates/", root().display()))
        .replace(
            "ids/console-tests.txt",
            &format!("{}/playbooks/ids/console-tests.txt", root().display()),
        );
    std::fs::write(dir.join("pb.yaml"), pb).unwrap();
    let out = run(
        &dir,
        &["plan", "pb.yaml", "--as-of", "2026-11-20T12:30:00+08:00"],
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("more than limits.max_targets (10)"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("Total: 860 targets"),
        "the plan is still shown"
    );
}

#[test]
fn matrix_text_and_json() {
    let out = run(&root(), &["matrix"]);
    assert_eq!(out.status.code(), Some(0));
    snapshot(&snap("matrix.txt"), &text(&out.stdout)).unwrap();
    let out = run(
        &root(),
        &["matrix", "--provider", "tpns", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "pushfix.matrix/v1");
    assert!(v["providers"].get("jpush").is_none());
    assert_eq!(
        v["providers"]["tpns"]["actions"]["stop"]["audience_types"],
        serde_json::json!(["all", "tag", "account_list"])
    );
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let out = run(&root(), &["schema"]);
    assert_eq!(
        text(&out.stdout),
        std::fs::read_to_string(root().join("playbook.schema.json")).unwrap()
    );
}

#[test]
fn completions_for_bash_and_zsh() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(&root(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        assert!(text(&out.stdout).contains("validate"), "{shell}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&root(), &["plan"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(
        &root(),
        &["plan", "playbooks/quickstart.yaml", "--as-of", "yesterday"],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = run(&root(), &["validate", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&root(), &["--help"]);
    assert_eq!(out.status.code(), Some(0));
}

pub fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pushfix-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
