//! GeTui's rows of the channel matrix and its planning rules (playbooks and ledgers planned as
//! of a fixed instant), its golden requests, and its procedures against a scripted `Calls`:
//! the token asked for once, refreshed on 10001 with the refused request sent once more, the
//! revoke never forced, list pushes, the 22001 fallback and the daily quotas.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::requests::{self, forces_a_full_recall};
use super::session::{GetuiSession, requests_for};
use super::{GETUI, GROUP_FAMILY, PUSH_FAMILY};
use crate::domain::{Action, Disposition, MsgId, Platform, UnsupportedPolicy, Verdict};
use crate::event::Outcome;
use crate::plan::target_requests;
use crate::plan::tests::{plan_of, verdicts};
use crate::provider::{
    CallEnd, CallOptions, Calls, Class, Done, Final, Job, Provider, RequestSpec, Resumed, Session,
};
use crate::target::{Original, PlanTarget, RenderedMessage};

const APP: &str = "demoApp01";

fn pb(steps: &str) -> String {
    format!(
        "version: 1\nname: t\nprovider:\n  kind: getui\n  app_id: {APP}\n  credentials:\n    app_key: {{ env: K }}\n    master_secret: {{ env: S }}\nledger: sends.jsonl\nsteps:\n{steps}"
    )
}

fn rec(id: &str, audience_type: &str, platforms: &str, extra: &str) -> String {
    let audience = match audience_type {
        "all" => r#""all""#.to_string(),
        "tag" => r#"{"tag":[{"key":"custom_tag","values":["bf"],"opt_type":"and"}]}"#.into(),
        "fast_custom_tag" => r#"{"fast_custom_tag":"bf"}"#.into(),
        "single" => r#"{"cid":["c1"]}"#.into(),
        _ => r#"{"cid":["c1","c2"]}"#.into(),
    };
    format!(
        r#"{{"taskid":"{id}","sent_at":"2026-11-21T10:00:00Z","platforms":{platforms},"tags":["bf"],"title":"Sale","body":"70% off","audience_type":"{audience_type}","audience":{audience}{extra}}}"#
    )
}

const OVERRIDE: &str = "  - name: fix\n    action: override\n    select: { where: { tags_any: [bf] } }\n    message:\n      title: \"{{ message.title }}\"\n      body: \"Fixed\"\n";

#[test]
fn stop_is_for_batch_and_group_tasks() {
    let ledger: Vec<String> = ["list", "all", "tag", "fast_custom_tag", "single"]
        .iter()
        .enumerate()
        .map(|(i, t)| rec(&format!("RASA_{i}"), t, r#"["android"]"#, ""))
        .collect();
    let steps = "  - name: halt\n    action: stop\n    select: { where: { tags_any: [bf] } }\n";
    let plan = plan_of("getui-stop", &pb(steps), &ledger.join("\n")).unwrap();
    let v: Vec<Verdict> = verdicts(&plan, 0).into_iter().map(|(_, v)| v).collect();
    use Verdict::*;
    // Android: GeTui's channel only, never the vendors' offline messages.
    assert_eq!(v, [Partial, Partial, Partial, Partial, Unsupported]);
    let t = &plan.steps[0].targets[0];
    assert_eq!(names(&t.reached), ["getui"]);
    assert!(
        plan.steps[0].targets[4]
            .reason
            .as_deref()
            .unwrap()
            .contains("`single`")
    );
}

#[test]
fn override_reaches_each_channel_only_with_the_original_ids() {
    let all = r#"["android","ios","hmos"]"#;
    let ledger = [
        rec(
            "RASA_1",
            "tag",
            all,
            r#","notify_id":7,"apns_collapse_id":"c-1""#,
        ),
        rec("RASA_2", "tag", all, r#","notify_id":8"#),
        rec("RASA_3", "tag", all, r#","apns_collapse_id":"c-3""#),
        rec("RASA_4", "tag", all, ""),
        rec("RASA_5", "tag", all, r#","notify_id":0"#),
    ];
    let plan = plan_of("getui-ids", &pb(OVERRIDE), &ledger.join("\n")).unwrap();
    let s = &plan.steps[0];
    let reached = |i: usize| names(&s.targets[i].reached);
    assert_eq!(
        reached(0),
        [
            "getui", "xiaomi", "huawei", "honor", "oppo", "vivo", "apns", "harmony"
        ]
    );
    assert_eq!(
        reached(1),
        [
            "getui", "xiaomi", "huawei", "honor", "oppo", "vivo", "harmony"
        ]
    );
    assert_eq!(reached(2), ["apns"]);
    assert_eq!(s.targets[3].verdict, Verdict::Unsupported);
    assert_eq!(s.targets[3].disposition, Disposition::Skip);
    // notify_id 0 is an id (the range is 0 to 2147483647).
    assert_eq!(reached(4).len(), 7);
    // Meizu is never counted on (the two GeTui pages disagree).
    assert!(s.targets[0].not_reached.iter().any(|c| &**c == "meizu"));
    // No platform without an id is configured: iOS needs the collapse id.
    let o = s.targets[1].original.as_ref().unwrap();
    assert_eq!(o.push_platforms, [Platform::Android, Platform::Hmos]);
    let reqs = target_requests(
        &plan.provider,
        Action::Override,
        UnsupportedPolicy::Skip,
        &s.targets[1],
    );
    let ch = &reqs[0].body.as_ref().unwrap()["push_channel"];
    assert!(ch.get("ios").is_none() && ch.get("android").is_some() && ch.get("harmony").is_some());
    // Without notify_id: a silent transmission on GeTui's channel, iOS by its collapse id.
    let reqs = target_requests(
        &plan.provider,
        Action::Override,
        UnsupportedPolicy::Skip,
        &s.targets[2],
    );
    let b = reqs[0].body.as_ref().unwrap();
    assert!(b["push_message"]["transmission"].is_string(), "{b}");
    assert_eq!(b["push_channel"]["ios"]["apns-collapse-id"], "c-3");
    assert!(b["push_channel"].get("android").is_none());
    assert!(
        s.targets[2]
            .notes
            .iter()
            .any(|n| n.contains("silent transmission"))
    );
}

#[test]
fn recall_reaches_harmonyos_only_with_the_notify_id() {
    let p = r#"["android","hmos"]"#;
    let ledger = [
        rec("RASA_1", "tag", p, r#","notify_id":7"#),
        rec("RASA_2", "tag", p, ""),
    ];
    let steps = "  - name: pull\n    action: recall\n    select: { where: { tags_any: [bf] } }\n";
    let plan = plan_of("getui-recall", &pb(steps), &ledger.join("\n")).unwrap();
    let s = &plan.steps[0];
    assert_eq!(
        names(&s.targets[0].reached),
        ["getui", "xiaomi", "vivo", "harmony"]
    );
    assert_eq!(names(&s.targets[1].reached), ["getui", "xiaomi", "vivo"]);
    assert!(s.targets[1].not_reached.iter().any(|c| &**c == "harmony"));
    assert!(
        s.warnings.iter().any(|w| w.contains("2 group pushes")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn ledger_ids_are_checked() {
    let bad = rec(
        "RASA_1",
        "tag",
        r#"["android"]"#,
        r#","notify_id":2147483648"#,
    );
    let e = plan_of("getui-bad-id", &pb(OVERRIDE), &bad).unwrap_err();
    assert!(format!("{e:?}").contains("at most 2147483647"), "{e:?}");
    let bad = rec("RASA_1", "broadcast", r#"["android"]"#, "");
    assert!(plan_of("getui-bad-type", &pb(OVERRIDE), &bad).is_err());
}

#[test]
fn the_group_budget_is_shown() {
    let ledger: Vec<String> = (0..101)
        .map(|i| rec(&format!("RASA_{i}"), "all", r#"["android"]"#, ""))
        .collect();
    let steps = "  - name: pull\n    action: recall\n    select: { where: { tags_any: [bf] } }\n";
    let plan = plan_of("getui-budget", &pb(steps), &ledger.join("\n")).unwrap();
    let w = plan.steps[0].warnings.join("\n");
    assert!(
        w.contains("101 group pushes") && w.contains("more than a day's quota"),
        "{w}"
    );
    // About 101 / (5 a minute): 20 minutes.
    assert!(plan.steps[0].estimated_seconds >= 1200.0);
    let plan = plan_of("getui-budget-25", &pb(steps), &ledger[..25].join("\n")).unwrap();
    assert!(plan.steps[0].warnings.join("\n").contains("only 20 a day"));
    // Across steps.
    let two = format!("{steps}{}", steps.replace("name: pull", "name: again"));
    let plan = plan_of("getui-budget-2", &pb(&two), &ledger[..30].join("\n")).unwrap();
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("60 group pushes in all")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn overrides_of_single_and_list_tasks_are_not_group_pushes() {
    let a = r#"["android"]"#;
    let ledger = [
        rec("RASS_1", "single", a, r#","notify_id":1"#),
        rec("RASL_2", "list", a, r#","notify_id":2"#),
        rec("RASA_3", "tag", a, r#","notify_id":3"#),
    ];
    let plan = plan_of("getui-families", &pb(OVERRIDE), &ledger.join("\n")).unwrap();
    let s = &plan.steps[0];
    assert_eq!(
        GETUI.target_family(Action::Override, &s.targets[0]),
        PUSH_FAMILY
    );
    assert_eq!(
        GETUI.target_family(Action::Override, &s.targets[1]),
        PUSH_FAMILY
    );
    assert_eq!(
        GETUI.target_family(Action::Override, &s.targets[2]),
        GROUP_FAMILY
    );
    // single + list message + list push + tag push.
    assert_eq!(s.estimated_requests, 4);
    assert!(
        s.warnings.iter().any(|w| w.starts_with("1 group push ")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn ids() {
    assert_eq!(
        GETUI.parse_id(" RASA_1120_ab-9 ").unwrap(),
        MsgId::Text("RASA_1120_ab-9".into())
    );
    for bad in ["", "RASA 1", "RASA/1", "../x", &"x".repeat(65)] {
        assert!(GETUI.parse_id(bad).is_err(), "{bad}");
    }
    assert!(GETUI.id_from_int(42).is_err());
    assert!(GETUI.id_from_float("1.5").is_err());
}

// --- golden requests ---

fn target(id: &str, audience_type: &str, audience: Value, facts: &[(&str, Value)]) -> PlanTarget {
    let mut f = serde_json::Map::new();
    f.insert("audience_type".into(), json!(audience_type));
    for (k, v) in facts {
        f.insert((*k).into(), v.clone());
    }
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
            ledger_line: 1,
            sent_at: None,
            platforms: vec![Platform::Android, Platform::Ios],
            audience: Some(std::sync::Arc::new(audience)),
            facts: f,
            push_platforms: Vec::new(),
        })),
        message: Some(std::sync::Arc::new(RenderedMessage {
            title: Some("Sale".into()),
            body: "Fixed".into(),
            ..RenderedMessage::default()
        })),
    }
}

fn reqs(action: Action, t: &PlanTarget, rid: &str, list: &str) -> Vec<RequestSpec> {
    requests_for(APP, action, t, rid, list).unwrap()
}

fn tag_audience() -> Value {
    json!({"tag": [{"key": "custom_tag", "values": ["bf"], "opt_type": "and"}]})
}

#[test]
fn golden_stop_cancel_and_recall() {
    let t = target("RASA_1", "tag", tag_audience(), &[]);
    let stop = reqs(Action::Stop, &t, "rid", "");
    assert_eq!(
        (stop[0].method, stop[0].path.as_str(), &stop[0].body),
        ("DELETE", "/v2/demoApp01/task/RASA_1", &None)
    );
    let cancel = reqs(Action::CancelScheduled, &t, "rid", "");
    assert_eq!(cancel[0].path, "/v2/demoApp01/task/schedule/RASA_1");
    assert_eq!(cancel[0].method, "DELETE");
    let recall = reqs(Action::Recall, &t, "0123456789abcdef0123456789abcdef", "");
    assert_eq!(
        (recall[0].method, recall[0].path.as_str()),
        ("POST", "/v2/demoApp01/push/all")
    );
    assert_eq!(
        serde_json::to_string(recall[0].body.as_ref().unwrap()).unwrap(),
        r#"{"request_id":"0123456789abcdef0123456789abcdef","audience":"all","push_message":{"revoke":{"old_task_id":"RASA_1","force":false}},"push_channel":{"android":{"ups":{"revoke":{"old_task_id":"RASA_1"}}},"harmony":{"revoke":{"old_task_id":"RASA_1"}}}}"#
    );
    assert_eq!(recall[0].family, GROUP_FAMILY);
}

#[test]
fn golden_override_of_a_tag_task() {
    let mut t = target(
        "RASA_1",
        "tag",
        tag_audience(),
        &[
            ("notify_id", json!(4242)),
            ("apns_collapse_id", json!("bf-1")),
        ],
    );
    t.original.as_mut().unwrap().platforms.push(Platform::Hmos);
    std::sync::Arc::make_mut(t.message.as_mut().unwrap())
        .fields
        .insert("url".into(), "https://example.com/bf".into());
    let r = reqs(Action::Override, &t, "rid-0123456789", "");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].path, "/v2/demoApp01/push/tag");
    let n = json!({"title": "Sale", "body": "Fixed", "click_type": "url", "url": "https://example.com/bf", "notify_id": 4242});
    assert_eq!(
        r[0].body.as_ref().unwrap(),
        &json!({
            "request_id": "rid-0123456789",
            "push_message": {"notification": n},
            "push_channel": {
                "android": {"ups": {"notification": n}},
                "harmony": {
                    "notification": {"title": "Sale", "body": "Fixed", "click_type": "startapp", "notify_id": 4242},
                    "options": {"HW": {"/payload/notification/notifyId": 4242}},
                },
                "ios": {"type": "notify", "aps": {"alert": {"title": "Sale", "body": "Fixed"}, "content-available": 0}, "apns-collapse-id": "bf-1"},
            },
            "audience": tag_audience(),
        })
    );
}

#[test]
fn golden_override_of_all_single_list_and_fast_custom_tag_tasks() {
    let id = [("notify_id", json!(9))];
    let r = reqs(
        Action::Override,
        &target("RASA_1", "all", json!("all"), &id),
        "r",
        "",
    );
    assert_eq!(
        (r[0].path.as_str(), &r[0].body.as_ref().unwrap()["audience"]),
        ("/v2/demoApp01/push/all", &json!("all"))
    );
    let r = reqs(
        Action::Override,
        &target(
            "RASA_1",
            "fast_custom_tag",
            json!({"fast_custom_tag": "vip"}),
            &id,
        ),
        "r",
        "",
    );
    assert_eq!(r[0].path, "/v2/demoApp01/push/fast_custom_tag");
    assert_eq!(
        r[0].body.as_ref().unwrap()["audience"],
        json!({"fast_custom_tag": "vip"})
    );
    let r = reqs(
        Action::Override,
        &target("RASS_1", "single", json!({"alias": ["u1"]}), &id),
        "r",
        "",
    );
    assert_eq!(
        (r[0].path.as_str(), r[0].family),
        ("/v2/demoApp01/push/single/alias", PUSH_FAMILY)
    );
    assert_eq!(
        r[0].body.as_ref().unwrap()["audience"],
        json!({"alias": ["u1"]})
    );
    let r = reqs(
        Action::Override,
        &target("RASL_1", "list", json!({"cid": ["a", "b"]}), &id),
        "r",
        "RASL_new",
    );
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].path, "/v2/demoApp01/push/list/message");
    assert!(r[0].body.as_ref().unwrap().get("audience").is_none());
    assert_eq!(r[1].path, "/v2/demoApp01/push/list/cid");
    assert_eq!(
        r[1].body.as_ref().unwrap(),
        &json!({"audience": {"cid": ["a", "b"]}, "taskid": "RASL_new", "is_async": false})
    );
    // A single task to two cids cannot be addressed again.
    assert!(
        requests_for(
            APP,
            Action::Override,
            &target("RASS_1", "single", json!({"cid": ["a", "b"]}), &id),
            "r",
            ""
        )
        .is_err()
    );
}

#[test]
fn no_request_ever_forces_a_full_recall() {
    // What the detector sees.
    assert!(forces_a_full_recall(
        &json!({"push_message": {"revoke": {"old_task_id": "x", "force": true}}})
    ));
    assert!(forces_a_full_recall(&json!([{"a": {"force": "true"}}])));
    assert!(!forces_a_full_recall(&json!({"revoke": {"force": false}})));
    // Every builder, for every kind of task and action.
    let kinds = [
        ("all", json!("all")),
        ("tag", tag_audience()),
        ("fast_custom_tag", json!({"fast_custom_tag": "v"})),
        ("single", json!({"cid": ["c"]})),
        ("list", json!({"cid": ["c", "d"]})),
    ];
    let mut bodies = 0;
    for (kind, audience) in kinds {
        for facts in [
            vec![],
            vec![("notify_id", json!(1)), ("apns_collapse_id", json!("x"))],
        ] {
            let t = target("RASA_1", kind, audience.clone(), &facts);
            for action in [
                Action::Stop,
                Action::Recall,
                Action::Override,
                Action::CancelScheduled,
            ] {
                for spec in requests_for(APP, action, &t, "rid-0123456789", "RASL_x").unwrap() {
                    if let Some(b) = &spec.body {
                        bodies += 1;
                        assert!(!forces_a_full_recall(b), "{b}");
                        if let Some(r) = b.get("push_message").and_then(|p| p.get("revoke")) {
                            assert_eq!(r["force"], json!(false), "force is always sent, as false");
                        }
                    }
                }
            }
        }
    }
    assert!(bodies >= 20);
}

// --- procedures against a scripted `Calls` ---

/// One call as the session made it.
#[derive(Debug, Clone)]
struct Sent {
    spec: RequestSpec,
    target: String,
    cid: Option<String>,
    already_sent: bool,
    lookup: bool,
}

type Script = Box<dyn Fn(&RequestSpec, usize) -> CallEnd + Send + Sync>;

/// Answers from a script (by request and its index among all calls), recording every call;
/// no body ever forces a full recall.
struct Scripted {
    script: Script,
    sent: Mutex<Vec<Sent>>,
    n: AtomicUsize,
}

impl Scripted {
    fn new(script: impl Fn(&RequestSpec, usize) -> CallEnd + Send + Sync + 'static) -> Scripted {
        Scripted {
            script: Box::new(script),
            sent: Mutex::new(Vec::new()),
            n: AtomicUsize::new(0),
        }
    }

    fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    fn paths(&self) -> Vec<String> {
        self.sent().iter().map(|s| s.spec.summary()).collect()
    }
}

impl Calls for Scripted {
    fn call<'a>(&'a self, spec: &'a RequestSpec, opts: CallOptions<'a>) -> BoxFuture<'a, CallEnd> {
        if let Some(b) = &spec.body {
            assert!(!forces_a_full_recall(b), "{b}");
        }
        self.sent.lock().unwrap().push(Sent {
            spec: spec.clone(),
            target: opts.target.to_string(),
            cid: opts.cid.map(String::from),
            already_sent: opts.already_sent,
            lookup: opts.lookup,
        });
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        async move {
            // Let other targets interleave, as the executor's pacing would.
            tokio::task::yield_now().await;
            (self.script)(spec, n)
        }
        .boxed()
    }
}

fn done() -> CallEnd {
    CallEnd::Answered(Class::Done(Done::default()))
}

/// The /auth answer: a token for a day from now (the session refreshes an hour before).
fn token_ok() -> CallEnd {
    let expire = jiff::Timestamp::now().as_millisecond() + 24 * 3600 * 1000;
    CallEnd::Answered(Class::Done(Done {
        data: Some(json!({"expire_time": expire})),
        ..Done::default()
    }))
}

fn failed(code: i64) -> CallEnd {
    CallEnd::Answered(Class::Failed {
        code: Some(code),
        message: format!("code {code}"),
    })
}

fn job<'a>(action: Action, t: &'a PlanTarget, resumed: Option<&'a Resumed>) -> Job<'a> {
    Job {
        step: "s",
        action,
        policy: UnsupportedPolicy::Skip,
        target: t,
        resumed,
    }
}

fn bare(id: &str) -> PlanTarget {
    PlanTarget {
        original: None,
        message: None,
        ..target(id, "all", json!("all"), &[])
    }
}

async fn correct(s: &GetuiSession, calls: &Scripted, action: Action, t: &PlanTarget) -> Final {
    s.correct(calls, job(action, t, None)).await
}

#[tokio::test]
async fn the_token_is_asked_for_once_and_kept() {
    let calls = Scripted::new(|spec, _| {
        if spec.call == requests::AUTH {
            token_ok()
        } else {
            done()
        }
    });
    let s = GetuiSession::new(APP);
    for id in ["RASA_1", "RASA_2", "RASA_3"] {
        assert_eq!(
            correct(&s, &calls, Action::Stop, &bare(id)).await.outcome,
            Outcome::Done
        );
    }
    assert_eq!(
        calls.paths(),
        [
            "POST /v2/demoApp01/auth",
            "DELETE /v2/demoApp01/task/RASA_1",
            "DELETE /v2/demoApp01/task/RASA_2",
            "DELETE /v2/demoApp01/task/RASA_3"
        ]
    );
    let sent = calls.sent();
    // The auth serves every target; it is no target's request.
    assert_eq!(sent[0].target, "");
    assert_eq!(sent[1].target, "RASA_1");
}

#[tokio::test]
async fn a_refused_token_is_refreshed_and_the_request_sent_once_more() {
    // The first stop is refused (10001); after a new token, it goes through.
    let calls = Scripted::new(|spec, n| match (spec.call, n) {
        (requests::AUTH, _) => token_ok(),
        (_, 1) => failed(10001),
        _ => done(),
    });
    let s = GetuiSession::new(APP);
    let f = correct(&s, &calls, Action::Stop, &bare("RASA_1")).await;
    assert_eq!(f.outcome, Outcome::Done, "{f:?}");
    assert_eq!(
        calls.paths(),
        [
            "POST /v2/demoApp01/auth",
            "DELETE /v2/demoApp01/task/RASA_1",
            "POST /v2/demoApp01/auth",
            "DELETE /v2/demoApp01/task/RASA_1"
        ]
    );
    let sent = calls.sent();
    // The same target's request, the same spec, journaled as already sent once.
    assert_eq!(sent[3].target, "RASA_1");
    assert_eq!(sent[3].spec, sent[1].spec);
    assert!(sent[3].already_sent && !sent[1].already_sent);
    // The next target uses the new token without asking again.
    correct(&s, &calls, Action::Stop, &bare("RASA_2")).await;
    assert_eq!(calls.paths().len(), 5);
}

#[tokio::test]
async fn a_token_refused_twice_fails_the_target_after_one_resend() {
    let calls = Scripted::new(|spec, _| {
        if spec.call == requests::AUTH {
            token_ok()
        } else {
            failed(10001)
        }
    });
    let s = GetuiSession::new(APP);
    let f = correct(&s, &calls, Action::Stop, &bare("RASA_1")).await;
    assert_eq!((f.outcome, f.code), (Outcome::Failed, Some(10001)));
    assert!(f.reason.unwrap().contains("again with a fresh token"));
    let stops = calls
        .paths()
        .iter()
        .filter(|p| p.starts_with("DELETE"))
        .count();
    assert_eq!(stops, 2, "sent once more only");
}

#[tokio::test]
async fn targets_refused_at_once_share_one_refresh() {
    // Every business call's first answer under the first token is 10001.
    let calls = Scripted::new(|spec, n| match (spec.call, n) {
        (requests::AUTH, _) => token_ok(),
        (_, 1 | 2) => failed(10001),
        _ => done(),
    });
    let s = GetuiSession::new(APP);
    let (a, b) = (bare("RASA_1"), bare("RASA_2"));
    let (fa, fb) = futures::join!(
        correct(&s, &calls, Action::Stop, &a),
        correct(&s, &calls, Action::Stop, &b)
    );
    assert_eq!((fa.outcome, fb.outcome), (Outcome::Done, Outcome::Done));
    let auths = calls
        .paths()
        .iter()
        .filter(|p| p.ends_with("/auth"))
        .count();
    assert_eq!(auths, 2, "{:?}", calls.paths());
}

#[tokio::test(start_paused = true)]
async fn a_token_is_refreshed_an_hour_before_it_expires() {
    let calls = Scripted::new(|spec, _| {
        if spec.call == requests::AUTH {
            token_ok()
        } else {
            done()
        }
    });
    let s = GetuiSession::new(APP);
    correct(&s, &calls, Action::Stop, &bare("RASA_1")).await;
    tokio::time::advance(std::time::Duration::from_secs(22 * 3600)).await;
    correct(&s, &calls, Action::Stop, &bare("RASA_2")).await;
    assert_eq!(
        calls
            .paths()
            .iter()
            .filter(|p| p.ends_with("/auth"))
            .count(),
        1
    );
    // 23 h after it was issued, a day's token is renewed.
    tokio::time::advance(std::time::Duration::from_secs(3600 + 1)).await;
    correct(&s, &calls, Action::Stop, &bare("RASA_3")).await;
    assert_eq!(
        calls
            .paths()
            .iter()
            .filter(|p| p.ends_with("/auth"))
            .count(),
        2
    );
}

#[tokio::test(start_paused = true)]
async fn an_expiry_the_clock_cannot_place_is_used_until_refused() {
    // A sandbox rehearsing another day answers an expiry in the past.
    let calls = Scripted::new(|spec, _| {
        if spec.call == requests::AUTH {
            CallEnd::Answered(Class::Done(Done {
                data: Some(json!({"expire_time": 1_600_000_000_000i64})),
                ..Done::default()
            }))
        } else {
            done()
        }
    });
    let s = GetuiSession::new(APP);
    correct(&s, &calls, Action::Stop, &bare("RASA_1")).await;
    tokio::time::advance(std::time::Duration::from_secs(48 * 3600)).await;
    correct(&s, &calls, Action::Stop, &bare("RASA_2")).await;
    assert_eq!(
        calls
            .paths()
            .iter()
            .filter(|p| p.ends_with("/auth"))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_refused_auth_fails_every_target_without_asking_again() {
    let calls = Scripted::new(|_, _| failed(20001));
    let s = GetuiSession::new(APP);
    let f = correct(&s, &calls, Action::Stop, &bare("RASA_1")).await;
    assert_eq!(f.outcome, Outcome::Failed);
    assert!(
        f.reason
            .as_deref()
            .unwrap()
            .starts_with("getting a GeTui token"),
        "{f:?}"
    );
    let g = correct(&s, &calls, Action::Recall, &bare("RASA_2")).await;
    assert_eq!(g, f.clone());
    assert_eq!(calls.paths(), ["POST /v2/demoApp01/auth"]);
}

#[tokio::test]
async fn an_interrupted_auth_leaves_the_target_not_attempted() {
    let calls = Scripted::new(|spec, n| match (spec.call, n) {
        (requests::AUTH, 0) => CallEnd::Interrupted { sent: false },
        (requests::AUTH, _) => token_ok(),
        _ => done(),
    });
    let s = GetuiSession::new(APP);
    let f = correct(&s, &calls, Action::Stop, &bare("RASA_1")).await;
    assert_eq!(f.outcome, Outcome::NotAttempted);
    assert_eq!(
        correct(&s, &calls, Action::Stop, &bare("RASA_2"))
            .await
            .outcome,
        Outcome::Done
    );
}

#[tokio::test]
async fn a_recall_carries_its_request_id_and_a_resume_reuses_it() {
    let calls = Scripted::new(|spec, _| {
        if spec.call == requests::AUTH {
            token_ok()
        } else {
            done()
        }
    });
    let s = GetuiSession::new(APP);
    let t = bare("RASA_1");
    correct(&s, &calls, Action::Recall, &t).await;
    let sent = calls.sent();
    let rid = sent[1].cid.clone().unwrap();
    assert_eq!(rid.len(), 32);
    assert!(rid.bytes().all(|b| b.is_ascii_hexdigit()));
    let body = sent[1].spec.body.as_ref().unwrap();
    assert_eq!(body["request_id"], json!(rid));
    assert_eq!(
        body["push_message"]["revoke"],
        json!({"old_task_id": "RASA_1", "force": false})
    );
    // A resumed run sends the same request_id: GeTui drops a repeat.
    let resumed = Resumed {
        cid: Some("feedfacefeedfacefeedfacefeedface".into()),
        in_flight: true,
        failed: false,
    };
    s.correct(&calls, job(Action::Recall, &t, Some(&resumed)))
        .await;
    let last = calls.sent().pop().unwrap();
    assert_eq!(
        last.spec.body.unwrap()["request_id"],
        "feedfacefeedfacefeedfacefeedface"
    );
    // Another target gets another one.
    correct(&s, &calls, Action::Recall, &bare("RASA_2")).await;
    assert_ne!(calls.sent().pop().unwrap().cid.unwrap(), rid);
}

#[tokio::test]
async fn a_list_override_makes_the_message_then_pushes_it() {
    let calls = Scripted::new(|spec, _| match spec.call {
        requests::AUTH => token_ok(),
        requests::LIST_MESSAGE => CallEnd::Answered(Class::Done(Done {
            data: Some(json!({"taskid": "RASL_new"})),
            ..Done::default()
        })),
        _ => CallEnd::Answered(Class::Done(Done {
            new_id: Some("RASL_new".into()),
            ..Done::default()
        })),
    });
    let s = GetuiSession::new(APP);
    let t = target(
        "RASL_1",
        "list",
        json!({"cid": ["a", "b"]}),
        &[("notify_id", json!(3))],
    );
    let f = correct(&s, &calls, Action::Override, &t).await;
    assert_eq!(
        (f.outcome, f.new_id.as_deref()),
        (Outcome::Done, Some("RASL_new"))
    );
    let sent = calls.sent();
    assert_eq!(sent[1].spec.path, "/v2/demoApp01/push/list/message");
    // Its `done` settles nothing on resume: nothing was sent to the list yet.
    assert!(sent[1].lookup);
    assert_eq!(sent[2].spec.path, "/v2/demoApp01/push/list/cid");
    assert_eq!(sent[2].spec.body.as_ref().unwrap()["taskid"], "RASL_new");
    assert!(sent[2].already_sent && !sent[2].lookup);
    assert_eq!(sent[1].cid, sent[2].cid);
}

#[tokio::test]
async fn an_override_without_a_title_is_not_sent() {
    let calls = Scripted::new(|_, _| done());
    let s = GetuiSession::new(APP);
    let mut t = target("RASA_1", "tag", tag_audience(), &[("notify_id", json!(1))]);
    std::sync::Arc::make_mut(t.message.as_mut().unwrap()).title = None;
    let f = correct(&s, &calls, Action::Override, &t).await;
    assert_eq!(f.outcome, Outcome::Failed);
    assert!(calls.paths().is_empty());
}

#[tokio::test]
async fn a_schedule_that_fired_is_stopped_instead() {
    let calls = Scripted::new(|spec, _| match spec.call {
        requests::AUTH => token_ok(),
        requests::SCHEDULE => failed(22001),
        _ => done(),
    });
    let s = GetuiSession::new(APP);
    let f = correct(&s, &calls, Action::CancelScheduled, &bare("RASA_1")).await;
    assert_eq!((f.outcome, f.code), (Outcome::Failed, Some(22001)));
    assert!(f.reason.unwrap().contains("stopped instead"));
    let sent = calls.sent();
    assert_eq!(sent[2].spec.summary(), "DELETE /v2/demoApp01/task/RASA_1");
    assert!(sent[2].lookup && sent[2].already_sent);
    // Deleted in time: done, one request.
    let calls = Scripted::new(|spec, _| {
        if spec.call == requests::AUTH {
            token_ok()
        } else {
            done()
        }
    });
    let s = GetuiSession::new(APP);
    assert_eq!(
        correct(&s, &calls, Action::CancelScheduled, &bare("RASA_2"))
            .await
            .outcome,
        Outcome::Done
    );
    assert_eq!(calls.paths().len(), 2);
}

#[tokio::test]
async fn a_spent_daily_quota_stops_that_kind_of_push_for_the_day() {
    let calls = Scripted::new(|spec, _| match spec.call {
        requests::AUTH => token_ok(),
        requests::REVOKE => failed(30007),
        _ => done(),
    });
    let s = GetuiSession::new(APP);
    let f = correct(&s, &calls, Action::Recall, &bare("RASA_1")).await;
    assert_eq!(f.outcome, Outcome::GaveUp, "resumable: {f:?}");
    let g = correct(&s, &calls, Action::Recall, &bare("RASA_2")).await;
    assert_eq!(g.outcome, Outcome::GaveUp);
    assert!(g.reason.unwrap().contains("not sent"));
    assert_eq!(calls.paths().len(), 2, "the second recall was not sent");
    // Stops and single pushes still go.
    assert_eq!(
        correct(&s, &calls, Action::Stop, &bare("RASA_3"))
            .await
            .outcome,
        Outcome::Done
    );
    let single = target(
        "RASS_1",
        "single",
        json!({"cid": ["c"]}),
        &[("notify_id", json!(1))],
    );
    assert_eq!(
        correct(&s, &calls, Action::Override, &single).await.outcome,
        Outcome::Done
    );
}

#[test]
fn the_preview_shows_no_secret() {
    let settings = serde_json::Map::from_iter([("app_id".to_string(), json!(APP))]);
    let h = GETUI.preview_headers(&settings, "GETUI_APP_KEY", "GETUI_MASTER_SECRET");
    assert!(h["token"].contains("$GETUI_APP_KEY") && h["token"].starts_with("<redacted"));
    let auth = requests::auth(APP);
    assert!(
        auth.body.unwrap()["sign"]
            .as_str()
            .unwrap()
            .starts_with('<')
    );
}

/// A shared list's names, for comparisons.
fn names(l: &[std::sync::Arc<str>]) -> Vec<&str> {
    l.iter().map(|c| &**c).collect()
}
