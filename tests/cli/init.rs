//! `pushfix init`: every provider × every action it offers × every kind of selection
//! scaffolds a playbook that `validate` accepts and that runs against the built-in sandbox
//! (seeded from the ledger init found); actions a provider does not offer, a missing
//! selection or message, and an existing file are refused with exit 2.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{NOW, TempDir, Test, repo_root};

/// The example ledgers a user's repository would have (the large quickstart one left out).
fn workspace(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    for e in std::fs::read_dir(repo_root().join("ledgers")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().is_some_and(|n| n == "quickstart.jsonl") {
            continue;
        }
        dir.write(
            Path::new("ledgers").join(p.file_name().unwrap()),
            std::fs::read(&p).unwrap(),
        );
    }
    // A template with no variables, and one that needs `--var`.
    dir.write(
        "templates/fix.txt",
        "Sorry: \"{{ message.title }}\" had a mistake. The corrected offer is in the app.",
    );
    dir.write(
        "templates/with-var.txt",
        "Sorry, the link was broken: {{ vars.help_url }}",
    );
    dir
}

/// The ledger init should pick for a provider and action, and that ledger's ids the action
/// can act on (scheduled tasks for cancel_scheduled).
fn expected_ledger(provider: &str, action: &str) -> &'static str {
    match (provider, action) {
        ("jpush", "cancel_scheduled") => "ledgers/jpush-schedules.jsonl",
        ("jpush", _) => "ledgers/jpush-sends.jsonl",
        ("tpns", "cancel_scheduled") => "ledgers/tpns-scheduled.csv",
        ("tpns", _) => "ledgers/tpns-tasks.jsonl",
        ("timpush", _) => "ledgers/timpush-tasks.jsonl",
        ("getui", "cancel_scheduled") => "ledgers/getui-scheduled.csv",
        ("getui", _) => "ledgers/getui-tasks.jsonl",
        _ => panic!("no expected ledger for {provider}: add one"),
    }
}

fn ids_of(ledger: &Path, scheduled_only: bool) -> Vec<String> {
    let text = std::fs::read_to_string(ledger).unwrap();
    if ledger.extension().is_some_and(|e| e == "csv") {
        // The examples' CSV ledgers have the id first.
        return text
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next())
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .collect();
    }
    let id_fields = ["schedule_id", "msg_id", "push_id", "task_id", "taskid"];
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| !scheduled_only || r.get("sched_task_id").is_some())
        .filter_map(|r| {
            id_fields
                .iter()
                .find_map(|f| r.get(*f).and_then(Value::as_str).map(str::to_string))
        })
        .collect()
}

/// The actions the matrix lists for a provider (what init must accept).
fn matrix_actions(provider: &str) -> Vec<String> {
    let out = Test::repo()
        .args(["matrix", "--provider", provider, "--format", "json"])
        .status(0)
        .run();
    let m = out.json();
    m["providers"][provider]["actions"]
        .as_object()
        .unwrap_or_else(|| panic!("no actions for {provider} in {m}"))
        .keys()
        .cloned()
        .collect()
}

/// One scaffold, written by init and validated by `pushfix validate`; returns its path.
fn scaffold_validate(
    dir: &Path,
    provider: &str,
    action: &str,
    selection: &[String],
    label: &str,
) -> String {
    let out_file = format!("playbooks/{provider}-{action}-{label}.yaml");
    let mut init = vec![
        "init".to_string(),
        "--provider".into(),
        provider.into(),
        "--action".into(),
        action.into(),
        "--rate".into(),
        "100/s".into(),
        "--out".into(),
        out_file.clone(),
    ];
    init.extend(selection.iter().cloned());
    let made = Test::in_dir(dir)
        .args(&init)
        .status(0)
        .stdout_contains(format!("wrote {out_file}: 1 step, "))
        .run();
    let text = std::fs::read_to_string(dir.join(&out_file)).unwrap();
    let want_ledger = format!("ledger: \"../{}\"", expected_ledger(provider, action));
    assert!(
        text.contains(&want_ledger),
        "{provider} {action}: not {want_ledger}\n{text}\n{}",
        made.stderr
    );
    for taught in [
        "{ env: ",
        "# Scaffolded by `pushfix init",
        "pushfix validate ",
    ] {
        assert!(text.contains(taught), "{text}");
    }
    Test::in_dir(dir)
        .args(["validate", &out_file])
        .status(0)
        .stdout_contains(format!("ok     {out_file}"))
        .run();
    out_file
}

/// A scaffold run against the built-in sandbox with `--format json`: the report parsed from
/// stdout, its exit code the process's.
fn run_sandbox(dir: &Path, playbook: &str) -> Value {
    let run = Test::in_dir(dir)
        .args(["run", playbook, "--sandbox", "--yes", "--as-of", NOW])
        .args(["--format", "json"])
        .spawn()
        .wait();
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "{playbook}: run --format json printed no report ({e}):\n{}\n{}",
            run.stdout, run.stderr
        )
    });
    assert_eq!(report["schema"], "pushfix.report/v1");
    assert_eq!(
        report["exit_code"].as_i64(),
        run.code().map(i64::from),
        "{}",
        run.stderr
    );
    report
}

/// The tag an action is scaffolded for: Black Friday's scheduled pushes are what
/// cancel_scheduled cancels; the price alerts were sent, so recall, stop and override reach
/// them (a stop of a TIMPush task still pending is refused, rightly: nothing to revoke yet).
fn tag_for(action: &str) -> &'static str {
    if action == "cancel_scheduled" {
        "bf-promo"
    } else {
        "price-alert"
    }
}

/// Every action the provider offers × every kind of selection (and both ways of giving an
/// override's text) through `validate`; one scaffold per action also through a sandbox run.
fn every_combination(provider: &str) {
    let dir = workspace(&format!("init-{provider}"));
    let offered = matrix_actions(provider);
    assert!(!offered.is_empty(), "{provider} offers no action");
    for action in ["recall", "stop", "override", "cancel_scheduled"] {
        let tag = tag_for(action);
        if !offered.iter().any(|a| a == action) {
            // Not offered: refused before anything is written, naming what is.
            let out = Test::in_dir(&dir)
                .args(["init", "--provider", provider, "--action", action])
                .args(["--tag", tag])
                .status(2)
                .stderr_contains("offers: ")
                .run();
            assert!(out.stdout.is_empty());
            continue;
        }
        let ledger: PathBuf = dir.join(expected_ledger(provider, action));
        let ids = ids_of(
            &ledger,
            provider == "timpush" && action == "cancel_scheduled",
        );
        assert!(ids.len() >= 2, "{}: {ids:?}", ledger.display());
        let ids_file = format!("ids-{action}.txt");
        std::fs::write(
            dir.join(&ids_file),
            format!("# two of the ledger's\n{}\n{}\n", ids[0], ids[1]),
        )
        .unwrap();
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<String>>();
        let mut selections: Vec<(&str, Vec<String>)> = vec![
            ("tag", s(&["--tag", tag])),
            ("tag-within", s(&["--tag", tag, "--since", "48h"])),
            (
                "since-instant",
                s(&["--since", "2026-11-20T00:00:00+08:00"]),
            ),
            ("ids-file", s(&["--ids-file", &ids_file])),
            ("id", s(&["--id", &ids[0]])),
            (
                "tags-and-ids",
                s(&[
                    "--tag",
                    tag,
                    "--tag",
                    "console-test",
                    "--ids-file",
                    &ids_file,
                ]),
            ),
        ];
        if action == "override" {
            for (_, sel) in &mut selections {
                sel.extend(s(&["--message-file", "templates/fix.txt"]));
            }
            selections.push((
                "tag-body",
                s(&[
                    "--tag",
                    tag,
                    "--body",
                    "Sorry: \"{{ message.title }}\" was wrong.",
                ]),
            ));
        }
        // Rehearsed: the tag in a window, or for cancel_scheduled every scheduled one of the
        // tag (a schedule not yet fired has no send time to window).
        let rehearse = if action == "cancel_scheduled" {
            "tag"
        } else {
            "tag-within"
        };
        let mut rehearsed = None;
        for (label, selection) in &selections {
            let file = scaffold_validate(&dir, provider, action, selection, label);
            if *label == rehearse {
                rehearsed = Some(file);
            }
        }
        let report = run_sandbox(&dir, &rehearsed.expect("a rehearsed scaffold"));
        let o = &report["totals"];
        assert!(o["targets"].as_u64().unwrap_or(0) > 0, "{report}");
        let code = report["exit_code"].as_i64().unwrap();
        if provider == "tpns" && action == "recall" {
            // TPNS took revoke_push_msg offline: the sandbox answers as TPNS does, the run
            // records it and stops at the failure budget.
            assert!(code == 1 || code == 3, "{report}");
            assert!(o["failed"].as_i64().unwrap_or(0) > 0, "{report}");
        } else {
            assert!(
                code == 0 || (code == 1 && o["not_corrected"].as_i64().unwrap_or(0) > 0),
                "{provider} {action}: exit {code}\n{report}"
            );
        }
    }
}

#[test]
fn init_jpush_every_action_and_selection() {
    every_combination("jpush");
}

#[test]
fn init_tpns_every_action_and_selection() {
    every_combination("tpns");
}

#[test]
fn init_timpush_every_action_and_selection() {
    every_combination("timpush");
}

#[test]
fn init_getui_every_action_and_selection() {
    every_combination("getui");
}

#[test]
fn init_covers_every_provider_of_the_registry() {
    // A provider added to the registry without a scaffold test here fails this, not silently.
    let out = Test::repo()
        .args(["matrix", "--format", "json"])
        .status(0)
        .run();
    let mut kinds: Vec<String> = out.json()["providers"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["getui", "jpush", "timpush", "tpns"],
        "add an init_<provider>_ test"
    );
}

#[test]
fn init_selects_and_corrects_what_the_flags_say() {
    // The selection reaches the sandbox: the tag's messages, sent in the window, are the ones
    // recalled (JPush ledger: bf-promo records of the last 48 h).
    let dir = workspace("init-effect");
    let out = Test::in_dir(&dir)
        .args([
            "init",
            "--provider",
            "jpush",
            "--action",
            "recall",
            "--tag",
            "price-alert",
            "--since",
            "48h",
            "--rate",
            "100/s",
            "--name",
            "wrong-price",
        ])
        .status(0)
        .stdout_contains("wrote playbooks/wrong-price.yaml")
        .stderr_contains("ledger: ledgers/jpush-sends.jsonl")
        .run();
    let planned: u64 = out
        .stdout
        .split("1 step, ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(planned > 0, "{}", out.stdout);
    let run = Test::in_dir(&dir)
        .args(["run", "playbooks/wrong-price.yaml", "--sandbox", "--yes"])
        .args(["--as-of", NOW, "--format", "json"])
        .status(0)
        .run();
    let report = run.json();
    assert_eq!(report["totals"]["targets"].as_u64(), Some(planned));
    // Every target the run recalled is a price alert of the window, by the ledger.
    let ledger = std::fs::read_to_string(dir.join("ledgers/jpush-sends.jsonl")).unwrap();
    let alerts: Vec<Value> = ledger
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| {
            r["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "price-alert")
        })
        .collect();
    let journal = std::fs::read_dir(dir.join("audit"))
        .unwrap()
        .map(|e| e.unwrap().path().join("journal.jsonl"))
        .next()
        .unwrap();
    let finals: Vec<Value> = std::fs::read_to_string(journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "final")
        .collect();
    assert_eq!(finals.len() as u64, planned);
    for f in &finals {
        let id = f["target"].as_str().unwrap();
        assert!(
            alerts.iter().any(|r| r["msg_id"] == id),
            "{id} is not a price alert"
        );
    }
}

#[test]
fn init_refuses_to_overwrite_and_force_replaces() {
    let dir = workspace("init-overwrite");
    let args = [
        "init",
        "--provider",
        "tpns",
        "--action",
        "stop",
        "--tag",
        "bf-promo",
        "--out",
        "pb.yaml",
    ];
    Test::in_dir(&dir).args(args).status(0).run();
    std::fs::write(dir.join("pb.yaml"), "# edited by hand\n").unwrap();
    Test::in_dir(&dir)
        .args(args)
        .status(2)
        .stderr_contains("error: `pb.yaml` exists")
        .stderr_contains("--> pb.yaml")
        .stderr_contains("--force")
        .run();
    assert_eq!(
        std::fs::read_to_string(dir.join("pb.yaml")).unwrap(),
        "# edited by hand\n",
        "left as it was"
    );
    Test::in_dir(&dir).args(args).arg("--force").status(0).run();
    assert!(
        std::fs::read_to_string(dir.join("pb.yaml"))
            .unwrap()
            .contains("action: stop")
    );
}

#[test]
fn init_refuses_what_cannot_make_a_playbook() {
    let dir = workspace("init-refusals");
    let init = || Test::in_dir(&dir).arg("init");
    // No selection.
    init()
        .args(["--provider", "jpush", "--action", "recall"])
        .status(2)
        .stderr_contains("select the messages to correct")
        .run();
    // An override without its text; a message for an action that sends none.
    init()
        .args(["--provider", "jpush", "--action", "override", "--tag", "x"])
        .status(2)
        .stderr_contains("--message-file")
        .run();
    init()
        .args(["--provider", "tpns", "--action", "stop", "--tag", "x"])
        .args(["--message-file", "templates/fix.txt"])
        .status(2)
        .stderr_contains("sends no message")
        .run();
    // A bad --since, a bad name, a missing file, an unknown provider.
    init()
        .args([
            "--provider",
            "jpush",
            "--action",
            "recall",
            "--since",
            "yesterday",
        ])
        .status(2)
        .stderr_contains("--since `yesterday`")
        .run();
    init()
        .args(["--provider", "jpush", "--action", "recall", "--since"])
        .arg("2026-11-40T00:00:00Z")
        .status(2)
        .stderr_contains("--since")
        .run();
    init()
        .args(["--provider", "jpush", "--action", "recall", "--tag", "x"])
        .args(["--name", "Not A Name"])
        .status(2)
        .stderr_contains("--name")
        .run();
    init()
        .args(["--provider", "jpush", "--action", "recall"])
        .args(["--ids-file", "no/such.txt"])
        .status(2)
        .stderr_contains("--ids-file `no/such.txt`")
        .run();
    init()
        .args(["--provider", "apns", "--action", "recall", "--tag", "x"])
        .status(2)
        .run();
    // Selecting by tag needs a ledger: none in an empty folder.
    let empty = TempDir::new("init-no-ledger");
    Test::in_dir(&empty)
        .args(["init", "--provider", "getui", "--action", "stop"])
        .args(["--tag", "x"])
        .status(2)
        .stderr_contains("pass --ledger FILE")
        .run();
    assert!(!empty.join("playbooks").exists(), "nothing written");
    // A template that needs a variable validates once --var gives it, and not before: init
    // says so, located, with exit 2.
    init()
        .args([
            "--provider",
            "tpns",
            "--action",
            "override",
            "--tag",
            "bf-promo",
        ])
        .args([
            "--message-file",
            "templates/with-var.txt",
            "--out",
            "v.yaml",
        ])
        .status(2)
        .stderr_contains("templates/with-var.txt:1:")
        .stderr_contains("does not validate")
        .run();
    init()
        .args([
            "--provider",
            "tpns",
            "--action",
            "override",
            "--tag",
            "bf-promo",
        ])
        .args([
            "--message-file",
            "templates/with-var.txt",
            "--out",
            "v.yaml",
        ])
        .args(["--var", "help_url=https://example.com/help", "--force"])
        .status(0)
        .run();
}

#[test]
fn init_scaffold_teaches_and_holds_no_secret() {
    let dir = workspace("init-text");
    Test::in_dir(&dir)
        .args(["init", "--provider", "getui", "--action", "override"])
        .args(["--tag", "bf-promo", "--body", "Sorry: the link is fixed."])
        .args(["--out", "pb.yaml"])
        .env("GETUI_APP_KEY", "an-app-key-from-the-env")
        .env("GETUI_MASTER_SECRET", "a-secret-that-must-not-be-written")
        .status(0)
        .stderr_contains("replace it with your GeTui AppID")
        .run();
    let text = std::fs::read_to_string(dir.join("pb.yaml")).unwrap();
    assert!(!text.contains("a-secret-that-must-not-be-written"));
    assert!(!text.contains("an-app-key-from-the-env"));
    for taught in [
        "app_key: { env: GETUI_APP_KEY }",
        "master_secret: { env: GETUI_MASTER_SECRET }",
        "pushfix validate pb.yaml",
        "pushfix matrix --provider getui",
        "unsupported: skip",
        "body: \"Sorry: the link is fixed.\"",
        "# url: …",
    ] {
        assert!(text.contains(taught), "no {taught:?} in\n{text}");
    }
}
