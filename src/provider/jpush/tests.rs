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

// --- schedules (`cancel_scheduled`) ---

mod schedules {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::FutureExt as _;
    use futures::future::BoxFuture;
    use serde_json::json;

    use crate::domain::{Action, Disposition, MsgId, UnsupportedPolicy, Verdict};
    use crate::event::Outcome;
    use crate::plan::tests::{jpush_pb, jpush_record, plan_of, verdicts};
    use crate::plan::{PrepareError, target_requests};
    use crate::provider::answer::{Answer, RateHeaders};
    use crate::provider::jpush::JPUSH;
    use crate::provider::jpush::requests::{SCHEDULE, SCHEDULE_LIST};
    use crate::provider::{
        CallEnd, CallOptions, Calls, Class, Done, Final, Job, Provider, RequestSpec, Session,
    };
    use crate::target::PlanTarget;

    const DUE: &str = "0eac1b80-c2ac-4b69-948b-c65b34b96512";
    const FIRED: &str = "17349f00-0852-11e6-91b1-0021f653c902";
    const OFF: &str = "2685a52f-277a-4b6b-b1b6-308977bbca0d";
    const ELSEWHERE: &str = "a55e2a8d-61c8-4ff6-8e80-141f713c792d";

    /// A schedule record (NOW is 2026-11-21T12:00:00Z).
    fn sched(id: &str, scheduled: &str, extra: &str) -> String {
        format!(
            r#"{{"schedule_id":"{id}","name":"bf_{}","scheduled":{scheduled},"platforms":["android","ios"],"tags":["bf"],"title":"Sale","audience":{{"tag":["bf"]}}{extra}}}"#,
            &id[..4]
        )
    }

    fn ledger() -> String {
        [
            jpush_record(77, "2026-11-21T10:00:00Z", "[\"android\"]", ""),
            sched(DUE, "\"2026-11-22T09:00:00+08:00\"", r#","enabled":true"#),
            sched(FIRED, "\"2026-11-21T09:00:00+08:00\"", ""),
            sched(OFF, "true", r#","enabled":false"#),
        ]
        .join("\n")
    }

    const CANCEL_BY_TAG: &str = "  - name: cancel\n    action: cancel_scheduled\n    select: { where: { tags_any: [bf] } }\n";

    #[test]
    fn schedule_ids_are_uuids_kept_in_lowercase() {
        assert_eq!(
            JPUSH.parse_schedule_id(&format!(" {} ", DUE.to_uppercase())),
            Ok(MsgId::Text(DUE.into()))
        );
        let digits = JPUSH.parse_schedule_id("67554224848096790").unwrap_err();
        assert!(
            digits.contains("is a JPush msg_id, not a schedule id"),
            "{digits}"
        );
        for bad in [
            "",
            "0eac1b80c2ac4b69948bc65b34b96512",
            "0eac1b80-c2ac-4b69-948b-c65b34b9651",
            "0eac1b80-c2ac-4b69-948b-c65b34b9651g",
            "0eac1b80-c2ac-4b69-948b-c65b34b96512/x",
            "../v3/push/1",
        ] {
            assert!(JPUSH.parse_schedule_id(bad).is_err(), "{bad}");
        }
        // A step's ids are schedule ids for cancel_scheduled only.
        assert_eq!(
            JPUSH.parse_step_id(Action::Recall, "42"),
            Ok(MsgId::Num(42))
        );
        assert!(JPUSH.parse_step_id(Action::CancelScheduled, "42").is_err());
        assert!(JPUSH.parse_step_id(Action::Recall, DUE).is_err());
        assert_eq!(JPUSH.schedule_id_field(), Some("schedule_id"));
    }

    #[test]
    fn a_cancel_selects_schedules_and_a_recall_messages_from_one_ledger() {
        let steps = format!(
            "  - name: pull\n    action: recall\n    select: {{ where: {{ tags_any: [bf] }} }}\n{CANCEL_BY_TAG}"
        );
        let plan = plan_of("jpush-sched-mixed", &jpush_pb(&steps), &ledger()).unwrap();
        assert_eq!(
            verdicts(&plan, 0),
            [("77".to_string(), Verdict::Partial)],
            "the recall leaves the schedules alone"
        );
        assert_eq!(
            verdicts(&plan, 1),
            [
                (DUE.to_string(), Verdict::WillRun),
                (FIRED.to_string(), Verdict::Expired),
                (OFF.to_string(), Verdict::WillRun),
            ]
        );
        let s = &plan.steps[1];
        assert_eq!(s.api, "DELETE /v3/schedules/{schedule_id}");
        let fired = &s.targets[1];
        assert_eq!(fired.disposition, Disposition::Skip);
        assert!(
            fired
                .reason
                .as_deref()
                .unwrap()
                .contains("already dispatched"),
            "{fired:?}"
        );
        // Every channel is reached: nothing was pushed yet.
        assert!(s.targets[0].not_reached.is_empty());
        assert_eq!(s.targets[0].reached.len(), 10, "android and ios channels");
        // The schedule's own facts are in the plan; a disabled one says it is deleted anyway.
        let o = s.targets[2].original.as_ref().unwrap();
        assert_eq!(o.facts["enabled"], json!(false));
        assert_eq!(o.facts["name"], json!("bf_2685"));
        assert!(
            s.targets[2].notes.iter().any(|n| n.contains("disabled")),
            "{:?}",
            s.targets[2].notes
        );
        assert!(s.targets[0].notes.iter().all(|n| !n.contains("disabled")));
        // Paced in the Schedule API's family (100/min), not the push family's.
        assert!(
            plan.limits
                .rates
                .keys()
                .any(|f| f.as_str() == "jpush_schedule")
        );
    }

    /// A step over a ledger without its kind of record says so, not "no record meets its
    /// conditions" (records with the step's tags may well be there, of the other kind).
    #[test]
    fn a_selection_of_the_wrong_kind_of_record_says_which_kind_the_ledger_holds() {
        let messages = jpush_record(77, "2026-11-21T10:00:00Z", "[\"android\"]", "");
        let plan = plan_of("jpush-sched-none", &jpush_pb(CANCEL_BY_TAG), &messages).unwrap();
        let w = plan.steps[0].warnings.join("\n");
        assert!(
            w.contains("the ledger names no schedule (`schedule_id`), only sent messages"),
            "{w}"
        );
        assert!(!w.contains("no record meets"), "{w}");
        let recall =
            "  - name: pull\n    action: recall\n    select: { where: { tags_any: [bf] } }\n";
        let only = sched(DUE, "true", "");
        let plan = plan_of("jpush-sched-only", &jpush_pb(recall), &only).unwrap();
        let w = plan.steps[0].warnings.join("\n");
        assert!(w.contains("the ledger names only schedules"), "{w}");
        // Both kinds, none matching: the usual explanation.
        let plan = plan_of(
            "jpush-sched-both",
            &jpush_pb(&CANCEL_BY_TAG.replace("[bf]", "[other]")),
            &ledger(),
        )
        .unwrap();
        let w = plan.steps[0].warnings.join("\n");
        assert!(!w.contains("the ledger names"), "{w}");
        assert!(w.contains("no record is tagged `other`"), "{w}");
    }

    /// Periodical schedules (by the ledger's trigger) get a note and a step warning: the
    /// delete does not undo what they pushed; schedules firing for the last time while the
    /// step runs get a warning of the race.
    #[test]
    fn periodical_and_racing_schedules_are_warned_of() {
        let periodical = r#","trigger":{"periodical":{"start":"2026-11-20 00:00:00","end":"2026-11-30 20:00:00","time":"20:00:00","time_unit":"day","frequency":1}}"#;
        let ledger = [
            sched(DUE, "\"2026-11-30T20:00:00+08:00\"", periodical),
            // NOW is 12:00Z: five minutes to go.
            sched(FIRED, "\"2026-11-21T12:05:00Z\"", ""),
            sched(OFF, "\"2026-11-21T12:05:00Z\"", r#","enabled":false"#),
        ]
        .join("\n");
        let plan = plan_of("jpush-sched-race", &jpush_pb(CANCEL_BY_TAG), &ledger).unwrap();
        let s = &plan.steps[0];
        let w = s.warnings.join("\n");
        assert!(
            w.contains("1 schedule fires for the last time within the step's estimated"),
            "{w}"
        );
        assert!(w.contains("1 periodical schedule"), "{w}");
        let due = s.targets.iter().find(|t| t.id == DUE).unwrap();
        assert!(
            due.notes.iter().any(|n| n.contains("periodical")),
            "{:?}",
            due.notes
        );
        assert!(
            s.targets
                .iter()
                .filter(|t| t.id != DUE)
                .all(|t| t.notes.iter().all(|n| !n.contains("periodical")))
        );
    }

    #[test]
    fn a_schedule_named_by_id_and_not_in_the_ledger_gets_a_note() {
        let steps = format!(
            "  - name: cancel\n    action: cancel_scheduled\n    select: {{ ids: [\"{}\", \"{DUE}\"] }}\n",
            ELSEWHERE.to_uppercase()
        );
        let plan = plan_of("jpush-sched-ids", &jpush_pb(&steps), &ledger()).unwrap();
        let t = &plan.steps[0].targets;
        assert_eq!(t.len(), 2);
        let unknown = t.iter().find(|t| t.id == ELSEWHERE).unwrap();
        assert!(!unknown.in_ledger);
        assert_eq!(unknown.verdict, Verdict::WillRun);
        assert!(
            unknown
                .notes
                .iter()
                .any(|n| n.contains("cannot check that the task is still scheduled")),
            "{:?}",
            unknown.notes
        );
        assert!(t.iter().any(|t| t.id == DUE && t.in_ledger));
    }

    #[test]
    fn msg_ids_in_a_cancel_step_are_located_errors() {
        let steps = "  - name: cancel\n    action: cancel_scheduled\n    select: { ids: [67554224848096790, \"nope\"] }\n";
        let Err(PrepareError::Input(d)) =
            plan_of("jpush-sched-bad-ids", &jpush_pb(steps), &ledger())
        else {
            panic!("accepted")
        };
        let text = d.to_string();
        assert!(
            text.contains("is a JPush msg_id, not a schedule id"),
            "{text}"
        );
        assert!(text.contains("`nope` is not a JPush schedule id"), "{text}");
        assert!(text.contains("pb.yaml:12:21"), "{text}");
    }

    #[test]
    fn schedule_ledger_fields_are_checked() {
        for (record, want) in [
            (
                sched(DUE, "true", r#","enabled":"yes""#),
                "`enabled` must be true or false",
            ),
            (
                sched(DUE, "\"tomorrow\"", ""),
                "`scheduled` must be true, false or the send time",
            ),
            (
                sched(DUE, "true", r#","name":7"#),
                "`name` must be a string",
            ),
            (
                sched("0eac1b80", "true", ""),
                "`0eac1b80` is not a JPush schedule id",
            ),
            (
                format!(r#"{{"msg_id":"5","schedule_id":"{DUE}","tags":["bf"]}}"#),
                "names a message (`msg_id`) or a schedule (`schedule_id`), not both",
            ),
        ] {
            let r = plan_of("jpush-sched-fields", &jpush_pb(CANCEL_BY_TAG), &record);
            let Err(PrepareError::Input(d)) = r else {
                panic!("accepted {record}")
            };
            let text = d.to_string();
            assert!(text.contains(want), "{record}\n{text}");
            assert!(text.contains("sends.jsonl:1:"), "{text}");
        }
    }

    #[test]
    fn a_csv_ledger_of_schedules() {
        let csv = format!(
            "schedule_id,name,enabled,scheduled,platforms,tags,audience\n{DUE},bf_day1,true,2026-11-22T09:00:00+08:00,android|ios,bf,\"{{\"\"tag\"\":[\"\"bf\"\"]}}\"\n{OFF},bf_vip,false,true,ios,bf,\n"
        );
        let plan = plan_of(
            "jpush-sched-csv",
            &jpush_pb(CANCEL_BY_TAG).replace("sends.jsonl", "sends.csv"),
            &csv,
        )
        .unwrap();
        assert_eq!(
            verdicts(&plan, 0),
            [
                (DUE.to_string(), Verdict::WillRun),
                (OFF.to_string(), Verdict::WillRun)
            ]
        );
        let o = plan.steps[0].targets[1].original.as_ref().unwrap();
        assert_eq!(o.facts["enabled"], json!(false));
    }

    #[test]
    fn golden_delete_and_the_beijing_path() {
        let plan = plan_of("jpush-sched-golden", &jpush_pb(CANCEL_BY_TAG), &ledger()).unwrap();
        let t = &plan.steps[0].targets[0];
        let r = target_requests(
            &plan.provider,
            Action::CancelScheduled,
            UnsupportedPolicy::Skip,
            t,
        );
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].method, r[0].path.as_str(), &r[0].body, r[0].call),
            (
                "DELETE",
                "/v3/schedules/0eac1b80-c2ac-4b69-948b-c65b34b96512",
                &None,
                SCHEDULE
            )
        );
        let bj = jpush_pb(CANCEL_BY_TAG).replace(
            "  kind: jpush\n",
            "  kind: jpush\n  endpoint: https://bjapi.push.jiguang.cn\n",
        );
        let plan = plan_of("jpush-sched-bj", &bj, &ledger()).unwrap();
        let r = target_requests(
            &plan.provider,
            Action::CancelScheduled,
            UnsupportedPolicy::Skip,
            &plan.steps[0].targets[0],
        );
        assert_eq!(r[0].path, format!("/v3/push/schedules/{DUE}"));
    }

    fn ans(status: u16, body: &str) -> Answer {
        Answer {
            status,
            rate: RateHeaders::default(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn spec(call: &'static str) -> RequestSpec {
        RequestSpec {
            family: super::super::SCHEDULE_FAMILY,
            method: "DELETE",
            path: format!("/v3/schedules/{DUE}"),
            body: None,
            call,
        }
    }

    fn classify(status: u16, body: &str) -> Class {
        JPUSH.classify(&spec(SCHEDULE), &ans(status, body))
    }

    #[test]
    fn every_schedule_answer_class() {
        // Done: the docs' 200 with Content-Length: 0; any 2xx; 8000 inside the envelope.
        for (status, body) in [
            (200, ""),
            (204, ""),
            (200, "{}"),
            (200, r#"{"error":{"code":8000,"message":"nil"}}"#),
        ] {
            assert!(
                matches!(classify(status, body), Class::Done(_)),
                "{status} {body}"
            );
        }
        // Gone: the table's 8104, the DELETE example's 8404, 8100 "schedule request is not exist".
        for (status, body, code) in [
            (
                404,
                r#"{"error":{"code":8104,"message":"Request schedule operation doesn't exist"}}"#,
                8104,
            ),
            (404, r#"{"error":{"code":8404,"message":"..."}}"#, 8404),
            (
                400,
                r#"{"error":{"code":8100,"message":"The schedule-task is invalid: schedule request is not exist"}}"#,
                8100,
            ),
        ] {
            assert!(
                matches!(classify(status, body), Class::Gone { code: Some(c), .. } if c == code),
                "{body}"
            );
        }
        // A 404 without a code: gone pending the session's path check (code None).
        assert!(matches!(classify(404, ""), Class::Gone { code: None, .. }));
        assert!(
            matches!(classify(404, "<html>404</html>"), Class::Gone { code: None, ref message } if message.contains("<html>"))
        );
        // Fired for the last time: failed, saying so.
        let Class::Failed {
            code: Some(8100),
            message,
        } = classify(
            400,
            r#"{"error":{"code":8100,"message":"The schedule-task is invalid: has been at term; expired"}}"#,
        )
        else {
            panic!()
        };
        assert!(message.contains("already ran its course"), "{message}");
        // The error table's text for 8100 is every reason at once: read as fired, never gone.
        let all = r#"{"error":{"code":8100,"message":"The schedule-task is invalid：section is invalid;has been at term;expired;request data is not json;update target task;Delete target task;schedule request is not exist"}}"#;
        assert!(
            matches!(
                classify(400, all),
                Class::Failed {
                    code: Some(8100),
                    ..
                }
            ),
            "{:?}",
            classify(400, all)
        );
        // Other 8100s, auth (whatever the text), bad status without a code: failed.
        for (status, body, code) in [
            (
                400,
                r#"{"error":{"code":8100,"message":"section is invalid"}}"#,
                Some(8100),
            ),
            (
                401,
                r#"{"error":{"code":8101,"message":"Basic authentication failed. schedule doesn't exist"}}"#,
                Some(8101),
            ),
            (
                401,
                r#"{"error":{"code":1004,"message":"Authen failed"}}"#,
                Some(1004),
            ),
            (
                403,
                r#"{"error":{"code":2003,"message":"black list"}}"#,
                Some(2003),
            ),
            (400, "", None),
        ] {
            assert!(
                matches!(classify(status, body), Class::Failed { code: c, .. } if c == code),
                "{status} {body}"
            );
        }
        // Transient: 8200, 8203, any 5xx.
        for (status, body) in [
            (
                500,
                r#"{"error":{"code":8200,"message":"Server internal error."}}"#,
            ),
            (
                503,
                r#"{"error":{"code":8203,"message":"Execute action timeout, please try later again"}}"#,
            ),
            (502, "<html>bad gateway</html>"),
        ] {
            assert!(
                matches!(classify(status, body), Class::Transient { .. }),
                "{body}"
            );
        }
        // Throttled: 429 / 2002, pausing for X-Rate-Limit-Reset.
        let mut a = ans(
            429,
            r#"{"error":{"code":2002,"message":"Rate limit exceeded"}}"#,
        );
        a.rate.reset = Some(17);
        assert_eq!(
            JPUSH.classify(&spec(SCHEDULE), &a),
            Class::Throttled {
                code: Some(2002),
                pause: Some(std::time::Duration::from_secs(17))
            }
        );
        // The list: done with its page, else failed (a 404 there is never gone).
        let list = |status, body: &str| JPUSH.classify(&spec(SCHEDULE_LIST), &ans(status, body));
        assert!(matches!(
            list(
                200,
                r#"{"total_count":0,"total_pages":0,"page":1,"schedules":[]}"#
            ),
            Class::Done(_)
        ));
        assert!(matches!(list(200, "{}"), Class::Failed { .. }));
        assert!(matches!(list(404, ""), Class::Failed { code: None, .. }));
        assert!(matches!(
            list(404, r#"{"error":{"code":8104,"message":"x"}}"#),
            Class::Failed { .. }
        ));
    }

    // --- the procedure, against scripted calls ---

    type Script = Box<dyn Fn(&RequestSpec, usize) -> CallEnd + Send + Sync>;

    struct Scripted {
        script: Script,
        sent: Mutex<Vec<(String, bool, bool)>>,
        n: AtomicUsize,
    }

    impl Scripted {
        fn new(
            script: impl Fn(&RequestSpec, usize) -> CallEnd + Send + Sync + 'static,
        ) -> Scripted {
            Scripted {
                script: Box::new(script),
                sent: Mutex::new(Vec::new()),
                n: AtomicUsize::new(0),
            }
        }

        /// `METHOD path` of every call, with (already_sent, lookup).
        fn sent(&self) -> Vec<(String, bool, bool)> {
            self.sent.lock().unwrap().clone()
        }
    }

    impl Calls for Scripted {
        fn call<'a>(
            &'a self,
            spec: &'a RequestSpec,
            opts: CallOptions<'a>,
        ) -> BoxFuture<'a, CallEnd> {
            assert!(spec.body.is_none());
            self.sent.lock().unwrap().push((
                format!("{} {}", spec.method, spec.path),
                opts.already_sent,
                opts.lookup,
            ));
            let n = self.n.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::task::yield_now().await;
                (self.script)(spec, n)
            }
            .boxed()
        }
    }

    /// A target as a plan records it (not in the ledger).
    fn target(id: &str) -> PlanTarget {
        serde_json::from_value(json!({
            "id": id, "verdict": "will_run", "disposition": "send", "in_ledger": false
        }))
        .unwrap()
    }

    async fn cancel(s: &dyn Session, calls: &Scripted, t: &PlanTarget) -> Final {
        s.correct(
            calls,
            Job {
                step: "cancel",
                action: Action::CancelScheduled,
                policy: UnsupportedPolicy::Skip,
                target: t,
                resumed: None,
            },
        )
        .await
    }

    fn gone(code: Option<i64>) -> CallEnd {
        CallEnd::Answered(Class::Gone {
            code,
            message: "x".into(),
        })
    }

    fn session() -> Box<dyn Session> {
        JPUSH.session(&crate::provider::Settings::new())
    }

    #[tokio::test]
    async fn a_cancel_is_one_delete() {
        let s = session();
        let calls = Scripted::new(|_, _| CallEnd::Answered(Class::Done(Done::default())));
        let f = cancel(&*s, &calls, &target(DUE)).await;
        assert_eq!(f.outcome, Outcome::Done);
        assert_eq!(
            calls.sent(),
            [(format!("DELETE /v3/schedules/{DUE}"), false, false)]
        );
        // 8104: gone at once, no path check.
        let calls = Scripted::new(|_, _| gone(Some(8104)));
        let f = cancel(&*s, &calls, &target(DUE)).await;
        assert_eq!((f.outcome, f.code), (Outcome::Gone, Some(8104)));
        assert_eq!(calls.sent().len(), 1);
    }

    #[tokio::test]
    async fn a_bare_404_is_gone_once_the_list_answers_on_the_path() {
        let s = session();
        let calls = Scripted::new(|spec, _| match spec.call {
            SCHEDULE => gone(None),
            _ => CallEnd::Answered(Class::Done(Done::default())),
        });
        let f = cancel(&*s, &calls, &target(DUE)).await;
        assert_eq!(f.outcome, Outcome::Gone, "{f:?}");
        assert!(f.reason.unwrap().contains("schedule list answers"));
        // The list was asked as a lookup after the delete, and only once a run.
        let f2 = cancel(&*s, &calls, &target(OFF)).await;
        assert_eq!(f2.outcome, Outcome::Gone);
        assert_eq!(
            calls.sent(),
            [
                (format!("DELETE /v3/schedules/{DUE}"), false, false),
                ("GET /v3/schedules?page=1".to_string(), true, true),
                (format!("DELETE /v3/schedules/{OFF}"), false, false),
            ]
        );
    }

    #[tokio::test]
    async fn a_bare_404_on_a_path_without_the_list_fails() {
        let s = session();
        let calls = Scripted::new(|spec, _| match spec.call {
            SCHEDULE => gone(None),
            _ => CallEnd::Answered(Class::Failed {
                code: None,
                message: "HTTP 404: ".into(),
            }),
        });
        let f = cancel(&*s, &calls, &target(DUE)).await;
        assert_eq!(f.outcome, Outcome::Failed, "{f:?}");
        let why = f.reason.unwrap();
        assert!(why.contains("/v3/push/schedules"), "{why}");
        assert!(why.contains("unknown"), "{why}");
    }

    #[tokio::test]
    async fn a_list_that_cannot_be_asked_leaves_the_target_failed_and_asks_again() {
        let s = session();
        let calls = Scripted::new(|spec, n| match (spec.call, n) {
            (SCHEDULE, _) => gone(None),
            (_, 1) => CallEnd::GaveUp("5 attempts: HTTP 503".into()),
            _ => CallEnd::Answered(Class::Done(Done::default())),
        });
        let f = cancel(&*s, &calls, &target(DUE)).await;
        assert_eq!(f.outcome, Outcome::GaveUp, "{f:?}");
        assert!(
            f.reason
                .unwrap()
                .contains("telling an unknown schedule from a wrong path")
        );
        // Not remembered: the next target asks again, and is gone.
        let f = cancel(&*s, &calls, &target(OFF)).await;
        assert_eq!(f.outcome, Outcome::Gone);
        assert_eq!(calls.sent().len(), 4);
    }

    /// A target as a plan records it from a ledger record of a schedule.
    fn ledger_target(id: &str, facts: serde_json::Value) -> PlanTarget {
        let mut original = json!({"ledger_line": 1});
        original
            .as_object_mut()
            .unwrap()
            .extend(facts.as_object().unwrap().clone());
        serde_json::from_value(json!({
            "id": id, "verdict": "will_run", "disposition": "send", "in_ledger": true,
            "original": original
        }))
        .unwrap()
    }

    /// A schedule that fires for the last time during the run: any success after that (the
    /// run's clock counting on from where the executor set it) is a failure, whatever JPush
    /// answered; before it, the answer stands.
    #[tokio::test(start_paused = true)]
    async fn a_success_after_the_last_firing_by_the_run_clock_is_failed() {
        let s = session();
        s.run_clock("2026-11-21T00:50:00Z".parse().unwrap());
        let t = ledger_target(
            DUE,
            json!({"scheduled": "2026-11-21T01:00:00Z", "enabled": true}),
        );
        let done = Scripted::new(|_, _| CallEnd::Answered(Class::Done(Done::default())));
        let forgotten = Scripted::new(|_, _| gone(Some(8104)));
        assert_eq!(cancel(&*s, &done, &t).await.outcome, Outcome::Done);
        assert_eq!(cancel(&*s, &forgotten, &t).await.outcome, Outcome::Gone);
        // Eleven minutes on, by the run's clock (not the wall clock: this test runs in 2026
        // or any other year alike).
        tokio::time::advance(std::time::Duration::from_secs(11 * 60)).await;
        let f = cancel(&*s, &done, &t).await;
        assert_eq!(f.outcome, Outcome::Failed, "{f:?}");
        assert!(f.reason.unwrap().contains("pushes went out"));
        let f = cancel(&*s, &forgotten, &t).await;
        assert_eq!((f.outcome, f.code), (Outcome::Failed, Some(8104)), "{f:?}");
        // A disabled one does not fire: deleted is deleted.
        let off = ledger_target(
            OFF,
            json!({"scheduled": "2026-11-21T01:00:00Z", "enabled": false}),
        );
        assert_eq!(cancel(&*s, &done, &off).await.outcome, Outcome::Done);
        // Not in the ledger: nothing to weigh the answer against (the plan said so).
        assert_eq!(
            cancel(&*s, &forgotten, &target(DUE)).await.outcome,
            Outcome::Gone
        );
    }
}
