//! TIMPush's rows of the channel matrix and its planning rules, as the planner applies them,
//! and its procedures against scripted calls.

use std::collections::VecDeque;
use std::sync::Mutex;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::{Map, Value, json};

use super::session::TimpushSession;
use crate::domain::{Action, Disposition, UnsupportedPolicy, Verdict};
use crate::event::Outcome;
use crate::plan::target_requests;
use crate::plan::tests::{plan_of, verdicts};
use crate::provider::{
    CallEnd, CallOptions, Calls, Class, Done, Final, Job, RequestSpec, Resumed, Session,
};
use crate::target::{Original, PlanTarget, RenderedMessage};

fn pb(steps: &str) -> String {
    format!(
        "version: 1\nname: t\nprovider:\n  kind: timpush\n  region: singapore\n  identifier: ops_admin\n  credentials:\n    sdkappid: {{ env: K }}\n    secret_key: {{ env: S }}\nledger: sends.jsonl\nsteps:\n{steps}"
    )
}

fn rec(id: &str, sent_at: &str, audience_type: &str, platforms: &str, extra: &str) -> String {
    format!(
        r#"{{"task_id":"{id}","sent_at":"{sent_at}","platforms":{platforms},"tags":["bf"],"title":"Sale","body":"70% off","audience_type":"{audience_type}"{extra}}}"#
    )
}

const FRESH: &str = "2026-11-21T10:00:00Z"; // 2 h before the plans' now
const OLD: &str = "2026-11-20T11:00:00Z"; // 25 h before

const STOP: &str = "  - name: halt\n    action: stop\n    select: { where: { tags_any: [bf] } }\n";
const FIX: &str = "  - name: fix\n    action: override\n    select: { where: { tags_any: [bf] } }\n    message:\n      title: \"Fixed: {{ message.title }}\"\n      body: Sorry, wrong price\n      extras: { url: \"app://sale\" }\n";

#[test]
fn override_reaches_apns_fcm_huawei_honor_only() {
    let ledger = [
        rec("t_all", FRESH, "all", r#"["android","ios"]"#, ""),
        rec(
            "t_tag",
            FRESH,
            "tag",
            r#"["android"]"#,
            r#","receivers_by_channel":{"huawei":10,"honor":5,"xiaomi":7,"fcm":3}"#,
        ),
        rec("t_user", FRESH, "user", r#"["android"]"#, ""),
        rec("t_attr", FRESH, "attribute", r#"["ios"]"#, ""),
        rec("t_old", OLD, "all", r#"["ios"]"#, ""),
    ];
    let plan = plan_of("tim-override", &pb(FIX), &ledger.join("\n")).unwrap();
    use Verdict::*;
    assert_eq!(
        verdicts(&plan, 0),
        [
            ("t_all".into(), Partial),
            ("t_tag".into(), Partial),
            ("t_user".into(), Unsupported),
            ("t_attr".into(), Unsupported),
            ("t_old".into(), Expired),
        ]
    );
    let t = &plan.steps[0].targets;
    assert_eq!(
        *t[0].reached,
        ["apns", "fcm", "huawei", "honor"].map(std::sync::Arc::<str>::from)
    );
    assert_eq!(
        *t[0].not_reached,
        ["fcm_data", "xiaomi", "oppo", "vivo", "meizu"].map(std::sync::Arc::<str>::from)
    );
    assert_eq!(t[1].receivers, Some([18, 25]));
    assert!(
        t[2].reason.as_deref().unwrap().contains("all, tag"),
        "{t:?}"
    );
    assert!(t[4].reason.as_deref().unwrap().contains("24 h"), "{t:?}");
    // The request: revoke with the correction as OfflinePushInfo, the query without a secret.
    let reqs = target_requests(
        &plan.provider,
        Action::Override,
        UnsupportedPolicy::Skip,
        &t[0],
    );
    assert_eq!(reqs.len(), 1);
    assert!(
        reqs[0].path.starts_with(
            "/v4/timpush/revoke?sdkappid=<SDKAppID>&identifier=ops_admin&usersig=<redacted"
        ),
        "{}",
        reqs[0].path
    );
    assert_eq!(
        reqs[0].body.as_ref().unwrap(),
        &json!({"TaskId": "t_all", "OfflinePushInfo": {"PushFlag": 0, "Title": "Fixed: Sale", "Desc": "Sorry, wrong price", "Ext": "{\"url\":\"app://sale\"}"}})
    );
    assert_eq!(plan.provider.base_url, "https://adminapisgp.im.qcloud.com");
    assert!(
        plan.steps[0]
            .warnings
            .iter()
            .any(|w| w.contains("revokes a task once")),
        "{:?}",
        plan.steps[0].warnings
    );
}

#[test]
fn stop_reaches_every_channel_within_the_window() {
    let ledger = [
        rec("a", FRESH, "tag", r#"["android","ios"]"#, ""),
        rec("b", OLD, "tag", r#"["android"]"#, ""),
    ];
    let plan = plan_of("tim-stop", &pb(STOP), &ledger.join("\n")).unwrap();
    assert_eq!(
        verdicts(&plan, 0),
        [
            ("a".into(), Verdict::WillRun),
            ("b".into(), Verdict::Expired)
        ]
    );
    let reqs = target_requests(
        &plan.provider,
        Action::Stop,
        UnsupportedPolicy::Skip,
        &plan.steps[0].targets[0],
    );
    assert_eq!(
        reqs[0].body.as_ref().unwrap(),
        &json!({"TaskId": "a", "OfflinePushInfo": {"PushFlag": 1}})
    );
    assert!(
        plan.steps[0]
            .warnings
            .iter()
            .any(|w| w.contains("PushFlag") && w.contains("90053"))
    );
}

#[test]
fn a_second_correction_of_a_task_is_a_located_error() {
    let ledger = [
        rec("a", FRESH, "tag", r#"["android"]"#, ""),
        rec("b", FRESH, "tag", r#"["android"]"#, ""),
    ];
    let steps = format!("{STOP}{FIX}");
    let Err(crate::plan::PrepareError::Input(d)) =
        plan_of("tim-twice", &pb(&steps), &ledger.join("\n"))
    else {
        panic!("planned a second revoke")
    };
    let e = d.errors().next().unwrap();
    assert!(
        e.message
            .contains("step `fix` would revoke 2 tasks that step `halt` already revokes"),
        "{e:?}"
    );
    assert_eq!(e.label.as_deref(), Some("a, b"));
    assert!(e.help[0].contains("one `override` step does both"), "{e:?}");
    // At the later step's `action:` (line 16 of the playbook).
    assert_eq!(e.span.unwrap().line, 16, "{e:?}");

    // Targets the first step does not send (expired, skipped) leave the revoke to the second;
    // steps on different tasks are fine; cancels are not revokes.
    let ledger = [
        rec("old", OLD, "tag", r#"["android"]"#, ""),
        rec("a", FRESH, "tag", r#"["android"]"#, ""),
    ];
    let split = "  - name: halt\n    action: stop\n    select: { ids: [\"old\"] }\n  - name: fix\n    action: override\n    select: { ids: [\"a\"] }\n    message: { body: Sorry }\n  - name: again\n    action: stop\n    select: { ids: [\"old\"] }\n";
    let plan = plan_of("tim-distinct", &pb(split), &ledger.join("\n")).unwrap();
    assert_eq!(plan.steps[0].targets[0].disposition, Disposition::Skip);
}

#[test]
fn scheduled_tasks_carry_their_integer_id() {
    let ledger = [
        rec(
            "sched-41",
            FRESH,
            "all",
            r#"["android"]"#,
            r#","sched_task_id":41,"scheduled":"2026-11-22T08:00:00Z""#,
        ),
        rec(
            "sched-42",
            FRESH,
            "tag",
            r#"["android"]"#,
            r#","sched_task_id":"42","scheduled":"2026-11-21T08:00:00Z""#,
        ),
        rec(
            "sched-43",
            FRESH,
            "tag",
            r#"["android"]"#,
            r#","scheduled":true"#,
        ),
        rec("now", FRESH, "all", r#"["android"]"#, ""),
    ];
    let steps = "  - name: cancel\n    action: cancel_scheduled\n    select: { where: { tags_any: [bf] } }\n";
    let plan = plan_of("tim-sched", &pb(steps), &ledger.join("\n")).unwrap();
    use Verdict::*;
    assert_eq!(
        verdicts(&plan, 0),
        [
            ("sched-41".into(), WillRun),
            ("sched-42".into(), Expired),
            ("sched-43".into(), Unsupported),
            ("now".into(), Unsupported),
        ]
    );
    let t = &plan.steps[0].targets[0];
    assert_eq!(
        t.original.as_ref().unwrap().fact_u64("sched_task_id"),
        Some(41)
    );
    let reqs = target_requests(
        &plan.provider,
        Action::CancelScheduled,
        UnsupportedPolicy::Skip,
        t,
    );
    let paths: Vec<&str> = reqs
        .iter()
        .map(|r| r.path.split('?').next().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/v4/timpush/get_sched_task",
            "/v4/timpush/delete_sched_task"
        ]
    );
    assert_eq!(reqs[0].body.as_ref().unwrap()["TaskID"], 41);
    // Two requests per cancel, both in the scheduled-task family.
    assert_eq!(plan.steps[0].estimated_requests, 2);
    assert!(
        plan.steps[0].targets[2]
            .reason
            .as_deref()
            .unwrap()
            .contains("sched_task_id"),
        "{:?}",
        plan.steps[0].targets[2]
    );

    // A stop of a dispatched scheduled task looks up its push TaskId first.
    let stop = "  - name: halt\n    action: stop\n    select: { ids: [\"sched-42\"] }\n";
    let plan = plan_of("tim-sched-stop", &pb(stop), &ledger.join("\n")).unwrap();
    let reqs = target_requests(
        &plan.provider,
        Action::Stop,
        UnsupportedPolicy::Skip,
        &plan.steps[0].targets[0],
    );
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[1].body.as_ref().unwrap()["TaskId"],
        "<PushTaskID from get_sched_task>"
    );
}

#[test]
fn recall_is_refused_and_ids_are_strings() {
    let p = crate::provider::find("timpush").unwrap();
    assert!(p.refuse_action(Action::Recall).is_some());
    assert!(
        p.id_from_int(1234567890)
            .unwrap_err()
            .contains("sched_task_id")
    );
    assert!(p.parse_id("a b").is_err());
    assert!(p.parse_id("1234567890").is_err());
    assert!(p.parse_id("").is_err());
    assert_eq!(
        p.parse_id(" 660cc447_537ed82a ").unwrap().to_string(),
        "660cc447_537ed82a"
    );
}

/// Calls answered from a script, recording what was asked.
struct Script {
    answers: Mutex<VecDeque<CallEnd>>,
    seen: Mutex<Vec<(RequestSpec, bool, bool)>>,
}

impl Script {
    fn new(answers: Vec<CallEnd>) -> Script {
        Script {
            answers: Mutex::new(answers.into()),
            seen: Mutex::new(Vec::new()),
        }
    }

    fn paths(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(s, _, _)| s.path.clone())
            .collect()
    }

    fn body(&self, i: usize) -> Value {
        self.seen.lock().unwrap()[i].0.body.clone().unwrap()
    }
}

impl Calls for Script {
    fn call<'a>(&'a self, spec: &'a RequestSpec, opts: CallOptions<'a>) -> BoxFuture<'a, CallEnd> {
        self.seen
            .lock()
            .unwrap()
            .push((spec.clone(), opts.lookup, opts.retry_lost));
        let end = self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .expect("a scripted answer");
        async move { end }.boxed()
    }
}

fn target(id: &str, facts: Value, message: bool) -> PlanTarget {
    let facts: Map<String, Value> = facts.as_object().cloned().unwrap_or_default();
    PlanTarget {
        id: id.into(),
        verdict: Verdict::WillRun,
        reason: None,
        not_reached: Default::default(),
        reached: Default::default(),
        uncertain: Default::default(),
        disposition: Disposition::Send,
        done_in: None,
        in_ledger: true,
        notes: Default::default(),
        receivers: None,
        original: Some(Box::new(Original {
            facts,
            ..Original::default()
        })),
        message: message.then(|| {
            std::sync::Arc::new(RenderedMessage {
                title: Some("T".into()),
                body: "B".into(),
                ..Default::default()
            })
        }),
    }
}

fn run(
    s: &TimpushSession,
    calls: &Script,
    step: &str,
    action: Action,
    t: &PlanTarget,
    resumed: Option<&Resumed>,
) -> Final {
    futures::executor::block_on(s.correct(
        calls,
        Job {
            step,
            action,
            policy: UnsupportedPolicy::Skip,
            target: t,
            resumed,
        },
    ))
}

fn done(data: Option<Value>) -> CallEnd {
    CallEnd::Answered(Class::Done(Done {
        data,
        ..Done::default()
    }))
}

fn repeat() -> CallEnd {
    CallEnd::Answered(Class::Repeat {
        code: Some(90050),
        message: "already revoked: TIMPush revokes a task once (90050: x)".into(),
    })
}

#[test]
fn revoke_procedures() {
    let s = TimpushSession::new();
    let t = target("t1", json!({"audience_type": "tag"}), true);
    let c = Script::new(vec![done(None)]);
    let f = run(&s, &c, "fix", Action::Override, &t, None);
    assert_eq!(f.outcome, Outcome::Done);
    assert_eq!(c.paths(), ["/v4/timpush/revoke"]);
    assert_eq!(c.body(0)["OfflinePushInfo"]["Desc"], "B");
    // Idempotent: a lost answer may be sent again (the repeat answers 90050).
    assert!(c.seen.lock().unwrap()[0].2);

    // The same TaskId again in this run: refused without a request.
    let c = Script::new(vec![]);
    let f = run(&s, &c, "again", Action::Stop, &t, None);
    assert_eq!(f.outcome, Outcome::Failed);
    assert!(f.reason.unwrap().contains("step `fix`"));
    assert!(c.paths().is_empty());

    // 90050 from TIMPush: recorded as already revoked, never retried.
    let t2 = target("t2", json!({}), false);
    let c = Script::new(vec![repeat()]);
    let f = run(&s, &c, "halt", Action::Stop, &t2, None);
    assert_eq!((f.outcome, f.code), (Outcome::Gone, Some(90050)));
    assert!(
        f.reason.as_deref().unwrap().contains("already terminated"),
        "{f:?}"
    );
    assert_eq!(c.paths().len(), 1);
    assert_eq!(c.body(0)["OfflinePushInfo"], json!({"PushFlag": 1}));
    // For an override it says the correction was not sent (the executor makes it not_corrected).
    let t3 = target("t3", json!({}), true);
    let f = run(
        &s,
        &Script::new(vec![repeat()]),
        "fix",
        Action::Override,
        &t3,
        None,
    );
    assert_eq!(f.outcome, Outcome::Gone);
    assert!(f.reason.unwrap().contains("was not sent"));
    // Resumed after an interruption mid-revoke: the 90050 is the interrupted attempt's.
    let t4 = target("t4", json!({}), true);
    let r = Resumed {
        in_flight: true,
        ..Resumed::default()
    };
    let f = run(
        &s,
        &Script::new(vec![repeat()]),
        "fix",
        Action::Override,
        &t4,
        Some(&r),
    );
    assert_eq!(f.outcome, Outcome::Done);
    // Too old: an override is not corrected.
    let t5 = target("t5", json!({}), true);
    let expired = CallEnd::Answered(Class::Failed {
        code: Some(90052),
        message: "older than 24 h".into(),
    });
    let f = run(
        &s,
        &Script::new(vec![expired]),
        "fix",
        Action::Override,
        &t5,
        None,
    );
    assert_eq!(f.outcome, Outcome::NotCorrected);
}

#[test]
fn a_scheduled_task_is_revoked_by_its_push_task_id() {
    let s = TimpushSession::new();
    let t = target("sched-9", json!({"sched_task_id": 9}), false);
    let c = Script::new(vec![
        done(Some(
            json!({"Type": "All", "Status": "done", "PushTaskID": "6a_9"}),
        )),
        done(None),
    ]);
    let f = run(&s, &c, "halt", Action::Stop, &t, None);
    assert_eq!(f.outcome, Outcome::Done, "{f:?}");
    assert!(f.reason.unwrap().contains("6a_9"));
    assert_eq!(
        c.paths(),
        ["/v4/timpush/get_sched_task", "/v4/timpush/revoke"]
    );
    assert!(c.seen.lock().unwrap()[0].1, "the lookup is a lookup");
    assert_eq!(c.body(0), json!({"Sdkappid": null, "TaskID": 9}));
    assert_eq!(c.body(1)["TaskId"], "6a_9");
    // Not dispatched yet: nothing to revoke.
    let t = target("sched-10", json!({"sched_task_id": 10}), false);
    let c = Script::new(vec![done(Some(
        json!({"Type": "All", "Status": "pending", "PushTaskID": null}),
    ))]);
    let f = run(&s, &c, "halt", Action::Stop, &t, None);
    assert_eq!(f.outcome, Outcome::Failed);
    assert!(f.reason.unwrap().contains("cancel_scheduled"));
    assert_eq!(c.paths().len(), 1);
}

#[test]
fn cancel_procedures() {
    let s = TimpushSession::new();
    let t = target(
        "sched-1",
        json!({"sched_task_id": 1, "audience_type": "tag"}),
        false,
    );
    let pending = || {
        done(Some(
            json!({"Type": "Tag", "Status": "pending", "PushTaskID": null}),
        ))
    };
    let c = Script::new(vec![pending(), done(None)]);
    let f = run(&s, &c, "cancel", Action::CancelScheduled, &t, None);
    assert_eq!(f.outcome, Outcome::Done);
    assert_eq!(
        c.paths(),
        [
            "/v4/timpush/get_sched_task",
            "/v4/timpush/delete_sched_task"
        ]
    );
    assert_eq!(
        c.body(1),
        json!({"Sdkappid": null, "TaskID": 1, "Type": "Tag"})
    );
    // Dispatched: reported with its push TaskId, no delete.
    let c = Script::new(vec![done(Some(
        json!({"Type": "Tag", "Status": "done", "PushTaskID": "6a_1"}),
    ))]);
    let f = run(&s, &c, "cancel", Action::CancelScheduled, &t, None);
    assert_eq!(f.outcome, Outcome::Failed);
    assert!(f.reason.unwrap().contains("TaskId 6a_1"));
    assert_eq!(c.paths().len(), 1);
    // Unknown to TIMPush: gone; after an interruption mid-delete: our own delete.
    let gone = || {
        CallEnd::Answered(Class::Gone {
            code: Some(90104),
            message: "no such scheduled task".into(),
        })
    };
    let f = run(
        &s,
        &Script::new(vec![gone()]),
        "cancel",
        Action::CancelScheduled,
        &t,
        None,
    );
    assert_eq!(f.outcome, Outcome::Gone);
    let r = Resumed {
        in_flight: true,
        ..Resumed::default()
    };
    let f = run(
        &s,
        &Script::new(vec![gone()]),
        "cancel",
        Action::CancelScheduled,
        &t,
        Some(&r),
    );
    assert_eq!(f.outcome, Outcome::Done);
    // Deleted between the lookup and the delete.
    let vanished = CallEnd::Answered(Class::Repeat {
        code: Some(90104),
        message: "refused".into(),
    });
    let f = run(
        &s,
        &Script::new(vec![pending(), vanished]),
        "cancel",
        Action::CancelScheduled,
        &t,
        None,
    );
    assert_eq!(f.outcome, Outcome::Gone);
    // The Type falls back to the ledger's audience type.
    let c = Script::new(vec![done(Some(json!({"Status": "pending"}))), done(None)]);
    run(&s, &c, "cancel", Action::CancelScheduled, &t, None);
    assert_eq!(c.body(1)["Type"], "Tag");
    // No sched_task_id: nothing can be sent.
    let bare = target("x", json!({}), false);
    let c = Script::new(vec![]);
    let f = run(&s, &c, "cancel", Action::CancelScheduled, &bare, None);
    assert_eq!(f.outcome, Outcome::Failed);
    assert!(c.paths().is_empty());
}
