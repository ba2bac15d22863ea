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

const NOW: &str = "2026-11-21T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn plan_of(name: &str, playbook: &str, ledger: &str) -> Result<Plan, PrepareError> {
    let ledger_name = if ledger.starts_with('{') || ledger.is_empty() {
        "sends.jsonl"
    } else {
        "sends.csv"
    };
    let dir = scratch(name, &[("pb.yaml", playbook), (ledger_name, ledger)]);
    prepare(&dir.join("pb.yaml"), &[], now(), now()).map(|p| p.plan)
}

fn jpush_pb(steps: &str) -> String {
    format!(
        "version: 1\nname: t\nprovider:\n  kind: jpush\n  credentials:\n    app_key: {{ env: K }}\n    master_secret: {{ env: S }}\nledger: sends.jsonl\nsteps:\n{steps}"
    )
}

fn tpns_pb(steps: &str) -> String {
    format!(
        "version: 1\nname: t\nprovider:\n  kind: tpns\n  region: guangzhou\n  credentials:\n    access_id: {{ env: K }}\n    secret_key: {{ env: S }}\nledger: sends.jsonl\nsteps:\n{steps}"
    )
}

fn verdicts(plan: &Plan, step: usize) -> Vec<(String, Verdict)> {
    plan.steps[step]
        .targets
        .iter()
        .map(|t| (t.id.clone(), t.verdict))
        .collect()
}

fn jpush_record(id: u64, sent_at: &str, platforms: &str, extra: &str) -> String {
    format!(
        r#"{{"msg_id":"{id}","sent_at":"{sent_at}","platforms":{platforms},"tags":["bf"],"title":"Sale","body":"70% off","audience":{{"tag":["bf"]}}{extra}}}"#
    )
}

const OVERRIDE_STEP: &str = "  - name: fix\n    action: override\n    select: { where: { tags_any: [bf] } }\n    message:\n      body: \"Fixed: {{ message.title }}\"\n";

/// One target per JPush channel: recall and override verdicts follow DESIGN §4 row by row.
#[test]
fn jpush_rows_of_the_matrix() {
    let channels = [
        "jpush",
        "xiaomi",
        "huawei",
        "huawei_legacy",
        "honor",
        "oppo",
        "vivo",
        "meizu",
        "fcm",
        "apns",
        "hmos",
    ];
    let ledger: Vec<String> = channels
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            jpush_record(
                100 + i as u64,
                "2026-11-21T10:00:00Z",
                "[\"android\",\"ios\",\"hmos\"]",
                &format!(r#","receivers_by_channel":{{"{ch}":10}}"#),
            )
        })
        .collect();
    let steps = format!(
        "  - name: pull\n    action: recall\n    select: {{ where: {{ tags_any: [bf] }} }}\n{OVERRIDE_STEP}"
    );
    let plan = plan_of("jpush-rows", &jpush_pb(&steps), &ledger.join("\n")).unwrap();
    let recall: Vec<Verdict> = verdicts(&plan, 0).into_iter().map(|(_, v)| v).collect();
    let over: Vec<Verdict> = verdicts(&plan, 1).into_iter().map(|(_, v)| v).collect();
    use Verdict::*;
    //                  jpush    xiaomi   huawei       huawei_legacy honor        oppo         vivo         meizu        fcm          apns         hmos
    assert_eq!(
        recall,
        [
            WillRun,
            WillRun,
            Unsupported,
            Unsupported,
            Unsupported,
            Unsupported,
            WillRun,
            Unsupported,
            Unsupported,
            Unsupported,
            Unsupported
        ]
    );
    assert_eq!(
        over,
        [
            WillRun,
            WillRun,
            WillRun,
            Unsupported,
            WillRun,
            WillRun,
            Unsupported,
            WillRun,
            WillRun,
            Unsupported,
            WillRun
        ]
    );
    // Skipped by default policy; unsupported ones carry their reason.
    let t = &plan.steps[0].targets[5];
    assert_eq!(t.disposition, Disposition::Skip);
    assert!(t.reason.as_deref().unwrap().contains("oppo"), "{t:?}");
}

#[test]
fn jpush_override_window_both_sides_of_the_edge() {
    let ledger = [
        jpush_record(
            1,
            "2026-11-20T12:00:01Z",
            "[\"android\"]",
            r#","receivers_by_channel":{"jpush":1}"#,
        ), // 23:59:59 old
        jpush_record(
            2,
            "2026-11-20T12:00:00Z",
            "[\"android\"]",
            r#","receivers_by_channel":{"jpush":1}"#,
        ), // exactly 1 day
        jpush_record(
            3,
            "2026-11-20T11:59:59Z",
            "[\"android\"]",
            r#","receivers_by_channel":{"jpush":1}"#,
        ), // 1 day + 1s
    ];
    let plan = plan_of("window", &jpush_pb(OVERRIDE_STEP), &ledger.join("\n")).unwrap();
    let v = verdicts(&plan, 0);
    assert_eq!(
        v,
        [
            ("1".into(), Verdict::WillRun),
            ("2".into(), Verdict::Expired),
            ("3".into(), Verdict::Expired)
        ]
    );
    assert_eq!(plan.steps[0].targets[1].disposition, Disposition::Skip);
    // The 23:59:59 one leaves the window during the run: the plan warns.
    assert!(
        plan.steps[0]
            .warnings
            .iter()
            .any(|w| w.contains("leave the 1-day override window")),
        "{:?}",
        plan.steps[0].warnings
    );
}

#[test]
fn apns_collapse_id_length() {
    let ok = "c".repeat(64);
    let long = "c".repeat(65);
    let ledger = [
        jpush_record(
            1,
            "2026-11-21T10:00:00Z",
            "[\"ios\"]",
            &format!(r#","apns_collapse_id":"{ok}""#),
        ),
        jpush_record(
            2,
            "2026-11-21T10:00:00Z",
            "[\"ios\"]",
            &format!(r#","apns_collapse_id":"{long}""#),
        ),
        jpush_record(3, "2026-11-21T10:00:00Z", "[\"ios\"]", ""),
    ];
    let plan = plan_of("collapse", &jpush_pb(OVERRIDE_STEP), &ledger.join("\n")).unwrap();
    assert_eq!(
        verdicts(&plan, 0)
            .into_iter()
            .map(|(_, v)| v)
            .collect::<Vec<_>>(),
        [Verdict::WillRun, Verdict::Unsupported, Verdict::Unsupported]
    );
    assert!(
        plan.steps[0].targets[1]
            .notes
            .iter()
            .any(|n| n.contains("65 bytes"))
    );
    // The request carries the collapse id and apns_production explicitly.
    let reqs = target_requests(
        &plan.provider,
        Action::Override,
        UnsupportedPolicy::Skip,
        &plan.steps[0].targets[0],
    );
    let body = reqs[1].body.as_ref().unwrap();
    assert_eq!(body["options"]["apns_collapse_id"], ok.as_str());
    assert_eq!(body["options"]["apns_production"], true);
    assert_eq!(body["options"]["override_msg_id"], 1);
}

#[test]
fn a_step_collapse_id_over_64_bytes_is_a_validation_error() {
    let steps = format!(
        "{OVERRIDE_STEP}      apns_collapse_id: \"{}\"\n",
        "x".repeat(65)
    );
    let err = plan_of(
        "collapse-literal",
        &jpush_pb(&steps),
        &jpush_record(1, NOW, "[\"ios\"]", ""),
    )
    .unwrap_err();
    let PrepareError::Input(d) = err else {
        panic!()
    };
    assert!(
        d.items[0].message.contains("65 bytes"),
        "{}",
        d.items[0].message
    );
    assert!(
        d.items[0].location().unwrap().ends_with("pb.yaml:15:25"),
        "{:?}",
        d.items[0].location()
    );
}

fn tpns_record(id: &str, audience_type: &str, platforms: &str) -> String {
    format!(
        r#"{{"push_id":"{id}","sent_at":"2026-11-21T10:00:00Z","platforms":{platforms},"tags":["bf"],"title":"Sale","audience_type":"{audience_type}","audience":{{"tag_rules":[],"account_list":["a"],"token_list":["t"],"upload_id":1}},"collapse_id":7}}"#
    )
}

#[test]
fn tpns_audience_types_for_stop_and_override() {
    let types = [
        "all",
        "tag",
        "account_list",
        "token",
        "token_list",
        "account",
        "package_account_push",
    ];
    let ledger: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| tpns_record(&format!("9{i}"), t, "[\"android\"]"))
        .collect();
    let steps = format!(
        "  - name: halt\n    action: stop\n    select: {{ where: {{ tags_any: [bf] }} }}\n{}",
        OVERRIDE_STEP
    );
    let plan = plan_of("tpns-aud", &tpns_pb(&steps), &ledger.join("\n")).unwrap();
    use Verdict::*;
    let stop: Vec<Verdict> = verdicts(&plan, 0).into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        stop,
        [
            WillRun,
            WillRun,
            WillRun,
            Unsupported,
            Unsupported,
            Unsupported,
            Unsupported
        ]
    );
    // Android without receiver counts: OPPO, vivo, old Huawei, Honor and FCM cannot be overridden.
    let over: Vec<Verdict> = verdicts(&plan, 1).into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        over,
        [
            Partial,
            Partial,
            Partial,
            Unsupported,
            Unsupported,
            Unsupported,
            Unsupported
        ]
    );
    assert!(
        plan.steps[0].targets[3]
            .reason
            .as_deref()
            .unwrap()
            .contains("`token`")
    );
}

#[test]
fn tpns_stop_on_ios() {
    let ledger = [
        tpns_record("1", "all", "[\"ios\"]"),
        tpns_record("2", "all", "[\"android\",\"ios\"]"),
    ];
    let steps = "  - name: halt\n    action: stop\n    select: { where: { tags_any: [bf] } }\n";
    let plan = plan_of("tpns-ios", &tpns_pb(steps), &ledger.join("\n")).unwrap();
    assert_eq!(
        verdicts(&plan, 0),
        [
            ("1".into(), Verdict::Unsupported),
            ("2".into(), Verdict::Partial)
        ]
    );
    assert_eq!(plan.steps[0].targets[1].not_reached, ["apns"]);
}

#[test]
fn tpns_recall_warns_that_the_api_is_offline() {
    let steps = "  - name: pull\n    action: recall\n    select: { ids: [\"1\"] }\n";
    let plan = plan_of(
        "tpns-recall",
        &tpns_pb(steps),
        &tpns_record("1", "tag", "[\"android\"]"),
    )
    .unwrap();
    assert!(
        plan.steps[0].warnings.iter().any(|w| w.contains("offline")),
        "{:?}",
        plan.steps[0].warnings
    );
}

#[test]
fn tpns_override_force_sets_force_collapse_and_lookups_are_planned() {
    let rec = r#"{"push_id":"5","sent_at":"2026-11-21T10:00:00Z","platforms":["android"],"tags":["bf"],"title":"T","audience_type":"tag","audience":{"tag_rules":[]},"receivers_by_channel":{"tpns":5,"oppo":3}}"#;
    let steps = OVERRIDE_STEP.replace("    message:", "    unsupported: force\n    message:");
    let plan = plan_of("tpns-force", &tpns_pb(&steps), rec).unwrap();
    let t = &plan.steps[0].targets[0];
    assert_eq!(
        (t.verdict, t.disposition),
        (Verdict::Partial, Disposition::Send)
    );
    let reqs = target_requests(
        &plan.provider,
        Action::Override,
        UnsupportedPolicy::Force,
        t,
    );
    assert_eq!(reqs[0].path, "/v3/statistics/get_push_record");
    assert_eq!(reqs[1].body.as_ref().unwrap()["force_collapse"], true);
    assert!(
        plan.steps[0]
            .warnings
            .iter()
            .any(|w| w.contains("get_push_record"))
    );
}

#[test]
fn cancel_scheduled() {
    let rec = |id: &str, sched: &str| {
        format!(
            r#"{{"push_id":"{id}","sent_at":"2026-11-21T10:00:00Z","platforms":["android"],"tags":["bf"],"audience_type":"all","scheduled":{sched}}}"#
        )
    };
    let ledger = [
        rec("1", "\"2026-11-22T08:00:00+08:00\""),
        rec("2", "\"2026-11-21T08:00:00Z\""),
        rec("3", "false"),
    ];
    let steps = "  - name: cancel\n    action: cancel_scheduled\n    select: { where: { tags_any: [bf] } }\n";
    let plan = plan_of("cancel", &tpns_pb(steps), &ledger.join("\n")).unwrap();
    assert_eq!(
        verdicts(&plan, 0)
            .into_iter()
            .map(|(_, v)| v)
            .collect::<Vec<_>>(),
        [Verdict::WillRun, Verdict::Expired, Verdict::Unsupported]
    );
}

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

#[test]
fn overriding_broadcasts_warns_about_the_daily_limit() {
    let rec = |id: u64| {
        format!(
            r#"{{"msg_id":"{id}","sent_at":"2026-11-21T10:00:00Z","platforms":["android"],"tags":["bf"],"title":"T","audience":"all"}}"#
        )
    };
    let ledger: Vec<String> = (1..=12).map(rec).collect();
    let plan = plan_of("broadcast", &jpush_pb(OVERRIDE_STEP), &ledger.join("\n")).unwrap();
    let w = plan.steps[0].warnings.join("\n");
    assert!(
        w.contains("12 overrides are broadcast") && w.contains("2008"),
        "{w}"
    );
}

#[test]
fn recalling_before_overriding_is_flagged() {
    let ledger = [jpush_record(1, "2026-11-21T10:00:00Z", "[\"android\"]", "")];
    let steps =
        format!("  - name: pull\n    action: recall\n    select: {{ ids: [1] }}\n{OVERRIDE_STEP}");
    let plan = plan_of("recall-first", &jpush_pb(&steps), &ledger.join("\n")).unwrap();
    assert!(
        plan.steps[1]
            .warnings
            .iter()
            .any(|w| w.contains("recalled by the earlier step `pull`")),
        "{:?}",
        plan.steps[1].warnings
    );
    let steps =
        format!("{OVERRIDE_STEP}  - name: pull\n    action: recall\n    select: {{ ids: [1] }}\n");
    let plan = plan_of("override-first", &jpush_pb(&steps), &ledger.join("\n")).unwrap();
    assert!(
        plan.steps
            .iter()
            .all(|s| s.warnings.iter().all(|w| !w.contains("recalled by")))
    );
}

#[test]
fn jpush_override_is_not_pushed_where_nothing_can_replace_it() {
    let ledger = [jpush_record(
        1,
        "2026-11-21T10:00:00Z",
        "[\"android\",\"ios\",\"quickapp\"]",
        "",
    )];
    let plan = plan_of(
        "push-platforms",
        &jpush_pb(OVERRIDE_STEP),
        &ledger.join("\n"),
    )
    .unwrap();
    let t = &plan.steps[0].targets[0];
    let reqs = target_requests(&plan.provider, Action::Override, UnsupportedPolicy::Skip, t);
    assert_eq!(
        reqs[1].body.as_ref().unwrap()["platform"],
        serde_json::json!(["android"])
    );
    assert!(
        t.notes
            .iter()
            .any(|n| n == "not pushed to ios: no channel there can replace the original"),
        "{:?}",
        t.notes
    );
    // `force` sends to the original platforms, as asked.
    let forced = OVERRIDE_STEP.replace("    message:", "    unsupported: force\n    message:");
    let plan = plan_of(
        "push-platforms-force",
        &jpush_pb(&forced),
        &ledger.join("\n"),
    )
    .unwrap();
    let reqs = target_requests(
        &plan.provider,
        Action::Override,
        UnsupportedPolicy::Force,
        &plan.steps[0].targets[0],
    );
    assert_eq!(
        reqs[1].body.as_ref().unwrap()["platform"],
        serde_json::json!(["android", "ios", "quickapp"])
    );
}
