//! JPush's rows of the channel matrix and its planning rules, as the planner applies them:
//! playbooks and ledgers in a temp folder, planned as of a fixed instant.

use crate::domain::UnsupportedPolicy;
use crate::domain::{Action, Disposition, Fact, Platform::*, Verdict};
use crate::matrix::TargetFacts;
use crate::matrix::tests::{JPUSH, facts, m, now, on, set};
use crate::plan::PrepareError;
use crate::plan::target_requests;
use crate::plan::tests::{NOW, OVERRIDE_STEP, jpush_pb, jpush_record, plan_of, verdicts};
use crate::provider;
use jiff::Timestamp;

#[test]
fn jpush_recall_on_android_and_ios_is_partial() {
    let m = m();
    let a = m.providers["jpush"].assess(
        provider::get(JPUSH),
        Action::Recall,
        &facts(&[Android, Ios], None),
        now(),
    );
    assert_eq!(a.verdict, Verdict::Partial);
    let names: Vec<&str> = a.not_reached.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        names,
        ["huawei", "huawei_legacy", "honor", "oppo", "meizu", "fcm"]
    );
    // iOS: cancelled only while still queued at JPush; the plan says so instead of skipping.
    let uncertain: Vec<&str> = a.uncertain.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(uncertain, ["apns"]);
    assert!(
        a.reason.as_deref().unwrap().contains("uncertain: apns"),
        "{a:?}"
    );
    // An iOS-only message is partial too (sent, uncertain), not unsupported.
    let ios = m.providers["jpush"].assess(
        provider::get(JPUSH),
        Action::Recall,
        &facts(&[Ios], None),
        now(),
    );
    assert_eq!(ios.verdict, Verdict::Partial, "{ios:?}");
    assert!(
        ios.reason.as_deref().unwrap().contains("still queued"),
        "{ios:?}"
    );
}

#[test]
fn jpush_override_window_edge() {
    let m = m();
    let mut f = facts(&[Android], None);
    let sent: Timestamp = "2026-11-20T12:00:01Z".parse().unwrap(); // 23:59:59 before now
    f.sent_at = Some(sent);
    let a = m
        .provider(JPUSH)
        .assess(provider::get(JPUSH), Action::Override, &f, now());
    assert_eq!(a.verdict, Verdict::Partial, "{a:?}");
    f.sent_at = Some("2026-11-20T12:00:00Z".parse().unwrap()); // exactly 24h
    let a = m
        .provider(JPUSH)
        .assess(provider::get(JPUSH), Action::Override, &f, now());
    assert_eq!(a.verdict, Verdict::Expired);
    assert!(a.reason.unwrap().contains("1003"));
    f.sent_at = Some("2026-11-20T11:59:59Z".parse().unwrap());
    assert_eq!(
        m.providers["jpush"]
            .assess(provider::get(JPUSH), Action::Override, &f, now())
            .verdict,
        Verdict::Expired
    );
}

#[test]
fn ios_override_needs_a_short_enough_collapse_id() {
    let m = m();
    let r = on(&["apns"]);
    let mut f = facts(&[Ios], Some(&r));
    assert_eq!(
        m.providers["jpush"]
            .assess(provider::get(JPUSH), Action::Override, &f, now())
            .verdict,
        Verdict::Unsupported
    );
    let ok = "a".repeat(64);
    set(&mut f, "apns_collapse_id", Fact::Text(ok.to_string()));
    assert_eq!(
        m.providers["jpush"]
            .assess(provider::get(JPUSH), Action::Override, &f, now())
            .verdict,
        Verdict::WillRun
    );
    let long = "a".repeat(65);
    set(&mut f, "apns_collapse_id", Fact::Text(long.to_string()));
    let a = m
        .provider(JPUSH)
        .assess(provider::get(JPUSH), Action::Override, &f, now());
    assert_eq!(a.verdict, Verdict::Unsupported);
    assert!(a.not_reached[0].1.contains("65 bytes"));
}

#[test]
fn missing_ledger_record() {
    let m = m();
    let f = TargetFacts::default();
    let a = m
        .provider(JPUSH)
        .assess(provider::get(JPUSH), Action::Override, &f, now());
    assert_eq!(a.verdict, Verdict::Unsupported);
    assert!(a.impossible);
    let a = m
        .provider(JPUSH)
        .assess(provider::get(JPUSH), Action::Recall, &f, now());
    assert_eq!(a.verdict, Verdict::WillRun);
    assert!(a.notes[0].contains("not in the ledger"));
}

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
            Partial, // apns: only while still queued at JPush
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
    // iOS only: replaced by the collapse id, so no `override_msg_id` (an Android and
    // HarmonyOS option, with its own one-day window).
    assert!(body["options"].get("override_msg_id").is_none(), "{body}");
}

/// Past the one-day window, an override still replaces iOS notifications (apns_collapse_id
/// has no window): an iOS-only original is not expired; a mixed one is partial and pushed to
/// iOS only, without `override_msg_id`.
#[test]
fn the_one_day_window_limits_android_and_harmonyos_only() {
    let old = "2026-11-20T06:00:00Z"; // 30 h before NOW
    let c = r#","apns_collapse_id":"bf-1""#;
    let ledger = [
        jpush_record(1, old, "[\"ios\"]", c),
        jpush_record(2, old, "[\"android\",\"ios\"]", c),
        jpush_record(3, old, "[\"android\"]", c),
        jpush_record(
            4,
            "2026-11-21T10:00:00Z",
            "[\"android\",\"ios\"]",
            r#","apns_collapse_id":"bf-1","receivers_by_channel":{"jpush":5,"apns":7}"#,
        ),
    ];
    let plan = plan_of("window-ios", &jpush_pb(OVERRIDE_STEP), &ledger.join("\n")).unwrap();
    let v: Vec<Verdict> = verdicts(&plan, 0).into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        v,
        [
            Verdict::WillRun,
            Verdict::Partial,
            Verdict::Expired,
            Verdict::WillRun
        ]
    );
    let body = |i: usize| {
        let r = target_requests(
            &plan.provider,
            Action::Override,
            UnsupportedPolicy::Skip,
            &plan.steps[0].targets[i],
        );
        r[1].body.clone().unwrap()
    };
    for i in [0, 1] {
        let b = body(i);
        assert_eq!(b["platform"], serde_json::json!(["ios"]), "{b}");
        assert!(b["options"].get("override_msg_id").is_none(), "{b}");
        assert_eq!(b["options"]["apns_collapse_id"], "bf-1");
    }
    assert!(
        plan.steps[0].targets[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("not reached: jpush"),
        "{:?}",
        plan.steps[0].targets[1].reason
    );
    // Within the day, one push carries both options: each platform uses its own.
    let b = body(3);
    assert_eq!(b["platform"], serde_json::json!(["android", "ios"]));
    assert_eq!(b["options"]["override_msg_id"], 4);
    assert_eq!(b["options"]["apns_collapse_id"], "bf-1");
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
            .any(|n| &**n == "not pushed to ios: no channel there can replace the original"),
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
