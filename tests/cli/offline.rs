//! The offline commands end to end: validate, plan, matrix, schema, completions.

use crate::support::{APP_KEY, SECRET, TempDir, Test, repo_root, snapshot_path};

#[test]
fn every_example_playbook_validates() {
    let out = Test::repo()
        .args(["validate", "playbooks"])
        .status(0)
        .stderr("")
        .run();
    // Every example, however many there are.
    let examples = std::fs::read_dir(repo_root().join("playbooks"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        })
        .count();
    assert!(examples >= 10);
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        examples,
        "{}",
        out.stdout
    );
}

#[test]
fn quickstart_plan_text() {
    Test::repo()
        .args([
            "plan",
            "playbooks/quickstart.yaml",
            "--as-of",
            "2026-11-20T12:30:00+08:00",
        ])
        .status(0)
        .stderr("")
        .stdout_snapshot(snapshot_path("quickstart-plan.txt"))
        .run();
}

#[test]
fn plan_json_is_versioned_and_written_to_out() {
    let dir = TempDir::new("plan-json");
    let out_file = dir.join("plan.json");
    let out = Test::repo()
        .args([
            "plan",
            "playbooks/tpns-stop-then-override.yaml",
            "--as-of",
            "2026-11-20T18:30:00+08:00",
            "--format",
            "json",
            "--out",
        ])
        .arg(&out_file)
        .status(0)
        .run();
    let stdout = out.json();
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
    let out = Test::repo()
        .args([
            "plan",
            "playbooks/jpush-override-by-tag.yaml",
            "--format",
            "json",
            "--as-of",
            "2026-11-20T19:00:00+08:00",
        ])
        .env("JPUSH_APP_KEY", APP_KEY)
        .env("JPUSH_MASTER_SECRET", SECRET)
        .status(0)
        .run();
    let all = out.all();
    assert!(!all.contains(SECRET));
    assert!(!all.contains("N2Q0MzFlNDJkZmE2YTZkNjkzYWMyZDA0OjVlOTg3YWM2ZDJlMDRkOTVhOWQ4ZjBkMQ=="));
    assert!(
        all.contains("\"override_msg_id\": 67554224848"),
        "override_msg_id must be an exact integer"
    );
}

#[test]
fn max_targets_guard_refuses_with_exit_5() {
    let root = repo_root();
    let pb = std::fs::read_to_string(root.join("playbooks/quickstart.yaml")).unwrap();
    let pb = pb
        .replace("max_targets: 3000", "max_targets: 10")
        .replace("../ledgers/", &format!("{}/ledgers/", root.display()));
    let pb = pb
        .replace("../templates/", &format!("{}/templates/", root.display()))
        .replace(
            "ids/console-tests.txt",
            &format!("{}/playbooks/ids/console-tests.txt", root.display()),
        );
    Test::new("guard")
        .playbook(&pb)
        .args(["plan", "pb.yaml", "--as-of", "2026-11-20T12:30:00+08:00"])
        .status(5)
        .stderr_contains("more than limits.max_targets (10)")
        // The plan is still shown.
        .stdout_contains("Total: 860 targets")
        .run();
}

#[test]
fn matrix_text_and_json() {
    Test::repo()
        .arg("matrix")
        .status(0)
        .stderr("")
        .stdout_snapshot(snapshot_path("matrix.txt"))
        .run();
    let v = Test::repo()
        .args(["matrix", "--provider", "tpns", "--format", "json"])
        .run()
        .json();
    assert_eq!(v["schema"], "pushfix.matrix/v1");
    assert!(v["providers"].get("jpush").is_none());
    assert_eq!(
        v["providers"]["tpns"]["actions"]["stop"]["audience_types"],
        serde_json::json!(["all", "tag", "account_list"])
    );
}

/// The committed schema is a snapshot of `pushfix schema` (`PUSHFIX_BLESS=1` rewrites it).
#[test]
fn schema_command_prints_the_committed_schema() {
    Test::repo()
        .arg("schema")
        .stderr("")
        .stdout_snapshot(repo_root().join("playbook.schema.json"))
        .run();
}

#[test]
fn completions_for_bash_and_zsh() {
    for shell in ["bash", "zsh", "fish"] {
        Test::repo()
            .args(["completions", shell])
            .status(0)
            .stdout_contains("validate")
            .run();
    }
}

#[test]
fn usage_errors_exit_2() {
    Test::repo().arg("plan").status(2).run();
    Test::repo()
        .args(["plan", "playbooks/quickstart.yaml", "--as-of", "yesterday"])
        .status(2)
        .run();
    Test::repo()
        .args(["validate", "no/such/dir"])
        .status(2)
        .run();
    Test::repo().arg("--help").status(0).run();
}
