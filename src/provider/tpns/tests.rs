//! TPNS's rows of the channel matrix and its planning rules, as the planner applies them:
//! playbooks and ledgers in a temp folder, planned as of a fixed instant.

use crate::domain::UnsupportedPolicy;
use crate::domain::{Action, Disposition, Fact, Platform::*, Scheduled, Verdict};
use crate::matrix::tests::{TPNS, facts, m, now, set};
use crate::plan::target_requests;
use crate::plan::tests::{OVERRIDE_STEP, plan_of, tpns_pb, verdicts};
use crate::provider;

#[test]
fn tpns_audience_types() {
    let m = m();
    for (t, action, expect) in [
        ("all", Action::Stop, Verdict::WillRun),
        ("tag", Action::Override, Verdict::Partial),
        ("account_list", Action::Stop, Verdict::WillRun),
        ("token", Action::Stop, Verdict::Unsupported),
        ("token_list", Action::Override, Verdict::Unsupported),
        ("account", Action::Recall, Verdict::Unsupported),
        ("package_account_push", Action::Stop, Verdict::Unsupported),
    ] {
        let mut f = facts(&[Android], None);
        set(&mut f, "audience_type", Fact::Text(t.to_string()));
        let a = m.providers["tpns"].assess(provider::get(TPNS), action, &f, now());
        assert_eq!(a.verdict, expect, "{t} {action}: {a:?}");
    }
}

#[test]
fn tpns_stop_on_ios() {
    let m = m();
    assert_eq!(
        m.providers["tpns"]
            .assess(
                provider::get(TPNS),
                Action::Stop,
                &facts(&[Ios], None),
                now()
            )
            .verdict,
        Verdict::Unsupported
    );
    let a = m.providers["tpns"].assess(
        provider::get(TPNS),
        Action::Stop,
        &facts(&[Android, Ios], None),
        now(),
    );
    assert_eq!(a.verdict, Verdict::Partial);
    assert_eq!(a.not_reached[0].0, "apns");
}

#[test]
fn cancel_scheduled_states() {
    let m = m();
    let mut f = facts(&[Android], None);
    set(&mut f, "audience_type", Fact::Text("all".to_string()));
    set(
        &mut f,
        "scheduled",
        Fact::Scheduled(Scheduled::At("2026-11-21T11:00:00Z".parse().unwrap())),
    );
    assert_eq!(
        m.providers["tpns"]
            .assess(provider::get(TPNS), Action::CancelScheduled, &f, now())
            .verdict,
        Verdict::Expired
    );
    set(&mut f, "scheduled", Fact::Scheduled(Scheduled::No));
    assert_eq!(
        m.providers["tpns"]
            .assess(provider::get(TPNS), Action::CancelScheduled, &f, now())
            .verdict,
        Verdict::Unsupported
    );
    set(&mut f, "scheduled", Fact::Scheduled(Scheduled::Yes));
    assert_eq!(
        m.providers["tpns"]
            .assess(provider::get(TPNS), Action::CancelScheduled, &f, now())
            .verdict,
        Verdict::WillRun
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
fn tpns_stop_on_ios_is_planned_per_target() {
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
    assert_eq!(
        &*plan.steps[0].targets[1].not_reached,
        [std::sync::Arc::<str>::from("apns")]
    );
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
