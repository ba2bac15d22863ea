//! Planner tests: playbooks and ledgers written to a temp folder, planned as of a fixed instant.

use std::path::PathBuf;

use jiff::Timestamp;

use super::*;
use crate::domain::{Disposition, Verdict};

pub(crate) fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pushfix-plan-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
    dir
}

pub(crate) const NOW: &str = "2026-11-21T12:00:00Z";

pub(crate) fn now() -> Timestamp {
    NOW.parse().unwrap()
}

pub(crate) fn plan_of(name: &str, playbook: &str, ledger: &str) -> Result<Plan, PrepareError> {
    let ledger_name = if ledger.starts_with('{') || ledger.is_empty() {
        "sends.jsonl"
    } else {
        "sends.csv"
    };
    let dir = scratch(name, &[("pb.yaml", playbook), (ledger_name, ledger)]);
    prepare(&dir.join("pb.yaml"), &[], now(), now()).map(|p| p.plan)
}

pub(crate) fn jpush_pb(steps: &str) -> String {
    format!(
        "version: 1\nname: t\nprovider:\n  kind: jpush\n  credentials:\n    app_key: {{ env: K }}\n    master_secret: {{ env: S }}\nledger: sends.jsonl\nsteps:\n{steps}"
    )
}

pub(crate) fn tpns_pb(steps: &str) -> String {
    format!(
        "version: 1\nname: t\nprovider:\n  kind: tpns\n  region: guangzhou\n  credentials:\n    access_id: {{ env: K }}\n    secret_key: {{ env: S }}\nledger: sends.jsonl\nsteps:\n{steps}"
    )
}

pub(crate) fn verdicts(plan: &Plan, step: usize) -> Vec<(String, Verdict)> {
    plan.steps[step]
        .targets
        .iter()
        .map(|t| (t.id.clone(), t.verdict))
        .collect()
}

pub(crate) fn jpush_record(id: u64, sent_at: &str, platforms: &str, extra: &str) -> String {
    format!(
        r#"{{"msg_id":"{id}","sent_at":"{sent_at}","platforms":{platforms},"tags":["bf"],"title":"Sale","body":"70% off","audience":{{"tag":["bf"]}}{extra}}}"#
    )
}

pub(crate) const OVERRIDE_STEP: &str = "  - name: fix\n    action: override\n    select: { where: { tags_any: [bf] } }\n    message:\n      body: \"Fixed: {{ message.title }}\"\n";

#[test]
fn policies() {
    use Disposition::*;
    use UnsupportedPolicy as P;
    assert_eq!(disposition(Verdict::Partial, P::Skip, false), Send);
    assert_eq!(disposition(Verdict::Partial, P::Fail, false), Fail);
    assert_eq!(disposition(Verdict::Unsupported, P::Skip, false), Skip);
    assert_eq!(disposition(Verdict::Expired, P::Force, false), Send);
    assert_eq!(disposition(Verdict::Unsupported, P::Force, true), Fail);
}

#[test]
fn override_without_ledger_record_says_so() {
    let steps = "  - name: fix\n    action: override\n    select: { ids: [\"42\"] }\n    message: { body: hi }\n";
    let plan = plan_of(
        "no-record",
        &jpush_pb(steps),
        &jpush_record(1, NOW, "[\"android\"]", ""),
    )
    .unwrap();
    let t = &plan.steps[0].targets[0];
    assert_eq!(t.verdict, Verdict::Unsupported);
    assert!(
        t.reason.as_deref().unwrap().contains("not in the ledger"),
        "{t:?}"
    );
}

#[test]
fn union_and_dedup_of_ids_and_where() {
    let ledger = [
        jpush_record(1, NOW, "[\"android\"]", ""),
        jpush_record(2, NOW, "[\"android\"]", ""),
    ];
    let steps = "  - name: pull\n    action: recall\n    select:\n      ids: [2, \"3\", 2]\n      where: { tags_any: [bf] }\n";
    let plan = plan_of("union", &jpush_pb(steps), &ledger.join("\n")).unwrap();
    let ids: Vec<String> = plan.steps[0].targets.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids, ["2", "3", "1"]);
}

#[test]
fn templates_render_per_target_and_errors_are_grouped() {
    let ledger = [
        jpush_record(1, NOW, "[\"android\"]", ""),
        jpush_record(2, NOW, "[\"android\"]", ""),
    ];
    let steps = OVERRIDE_STEP.replace("{{ message.title }}", "{{ message.titel }}");
    let PrepareError::Input(d) =
        plan_of("render", &jpush_pb(&steps), &ledger.join("\n")).unwrap_err()
    else {
        panic!()
    };
    assert_eq!(d.error_count(), 1);
    assert!(
        d.items[0].message.contains("for target 1") && d.items[0].message.contains("1 more target"),
        "{}",
        d.items[0].message
    );
    let plan = plan_of("render-ok", &jpush_pb(OVERRIDE_STEP), &ledger.join("\n")).unwrap();
    assert_eq!(
        plan.steps[0].targets[0].message.as_ref().unwrap().body,
        "Fixed: Sale"
    );
    assert_eq!(
        plan.steps[0].targets[0]
            .message
            .as_ref()
            .unwrap()
            .title
            .as_deref(),
        Some("Sale")
    );
}

/// A template file's final newline is not pushed to devices.
#[test]
fn template_files_lose_their_trailing_newline() {
    let steps = "  - name: fix\n    action: override\n    select: { ids: [1] }\n    message:\n      body_template: body.txt\n";
    let dir = scratch(
        "trailing-newline",
        &[
            ("pb.yaml", &jpush_pb(steps)),
            ("sends.jsonl", &jpush_record(1, NOW, "[\"android\"]", "")),
            ("body.txt", "Sorry for the mix-up.\n\n"),
        ],
    );
    let plan = prepare(&dir.join("pb.yaml"), &[], now(), now())
        .unwrap()
        .plan;
    assert_eq!(
        plan.steps[0].targets[0].message.as_ref().unwrap().body,
        "Sorry for the mix-up."
    );
}

#[test]
fn plan_is_pure_and_hash_covers_inputs() {
    let ledger = jpush_record(1, NOW, "[\"android\"]", "");
    let a = plan_of("pure-a", &jpush_pb(OVERRIDE_STEP), &ledger).unwrap();
    let b = plan_of("pure-b", &jpush_pb(OVERRIDE_STEP), &ledger).unwrap();
    assert_eq!(
        serde_json::to_value(&a.steps).unwrap(),
        serde_json::to_value(&b.steps).unwrap()
    );
    let c = plan_of(
        "pure-c",
        &jpush_pb(OVERRIDE_STEP),
        &jpush_record(1, NOW, "[\"ios\"]", ""),
    )
    .unwrap();
    assert_ne!(a.inputs[1].sha256, c.inputs[1].sha256);
}

/// A plan with sends and skips, an override and a recall, for format tests.
pub(crate) fn sample_plan() -> Plan {
    let steps = format!(
        "{OVERRIDE_STEP}  - name: pull\n    action: recall\n    select: {{ ids: [\"1\", \"2\", \"99\"] }}\n"
    );
    let ledger = [
        jpush_record(
            1,
            "2026-11-21T10:00:00Z",
            r#"["android","ios"]"#,
            r#","receivers_by_channel":{"jpush":5,"vivo":2}"#,
        ),
        jpush_record(2, "2026-11-19T10:00:00Z", r#"["android"]"#, ""),
    ];
    plan_of("sample", &jpush_pb(&steps), &ledger.join("\n")).unwrap()
}

/// Targets whose templates render the same text share one message; others get their own.
#[test]
fn equal_renderings_are_stored_once() {
    let ledger = [
        jpush_record(1, "2026-11-21T10:00:00Z", r#"["android"]"#, ""),
        jpush_record(2, "2026-11-21T10:00:00Z", r#"["android"]"#, ""),
        jpush_record(3, "2026-11-21T10:00:00Z", r#"["android"]"#, "")
            .replace("\"Sale\"", "\"Other\""),
    ];
    let plan = plan_of(
        "shared-messages",
        &jpush_pb(OVERRIDE_STEP),
        &ledger.join("\n"),
    )
    .unwrap();
    let m = |i: usize| plan.steps[0].targets[i].message.clone().unwrap();
    assert!(std::sync::Arc::ptr_eq(&m(0), &m(1)));
    assert!(!std::sync::Arc::ptr_eq(&m(0), &m(2)));
    assert_eq!(m(2).body, "Fixed: Other");
}
