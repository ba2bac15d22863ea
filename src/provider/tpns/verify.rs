//! TPNS verification (docs/verification.md): the task's `status` from `POST
//! /v3/statistics/get_push_record`, one task a request, in the statistics quota (200/h). Each
//! corrective action has its own status (reference/tpns.md §5.1, §10): stop →
//! `PUSH_DELETED_PUSH_MSG`, revoke → `PUSH_REVOKED`, override → `PUSH_COLLAPSED` (the
//! original's), cancel → `PUSH_CANCELED`.

use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::FAMILIES;
use super::requests;
use crate::domain::Action;
use crate::event::VerifyVerdict;
use crate::provider::spec::FamilySpec;
use crate::provider::{CallEnd, Check, Class, Finding, Probes, Verifier};

pub struct TpnsVerifier;

/// Statuses of a task still going out, or still waiting to (reference/tpns.md §5.1).
const LIVE: &[&str] = &["PUSH_INIT", "PUSH_WAIT", "PUSH_STARTED", "PUSH_FINISHED"];
/// Statuses a corrective call leaves.
const CORRECTED: &[&str] = &[
    "PUSH_DELETED_PUSH_MSG",
    "PUSH_REVOKED",
    "PUSH_COLLAPSED",
    "PUSH_CANCELED",
    "PUSH_DELETED",
];

/// The status a `done` action leaves on the task it was made on.
pub fn expected_status(action: Action) -> &'static str {
    match action {
        Action::Stop => "PUSH_DELETED_PUSH_MSG",
        Action::Recall => "PUSH_REVOKED",
        Action::Override => "PUSH_COLLAPSED",
        Action::CancelScheduled => "PUSH_CANCELED",
    }
}

impl Verifier for TpnsVerifier {
    fn family(&self) -> FamilySpec {
        // The statistics family, as the provider declares it (get_push_record, 200/h).
        FAMILIES[2]
    }

    fn cost(&self, checks: &[Check<'_>]) -> u64 {
        checks.len() as u64
    }

    fn verify<'a>(
        &'a self,
        probes: &'a dyn Probes,
        checks: &'a [Check<'a>],
        observe: Duration,
    ) -> BoxFuture<'a, ()> {
        run(probes, checks, observe).boxed()
    }
}

async fn run(probes: &dyn Probes, checks: &[Check<'_>], observe: Duration) {
    for (i, c) in checks.iter().enumerate() {
        // Give the provider the observation window to record the change before reading it.
        let ready = c.corrected_at + jiff::SignedDuration::try_from(observe).unwrap_or_default();
        let wait = Duration::try_from(ready.duration_since(Timestamp::now())).unwrap_or_default();
        if !wait.is_zero() && !probes.wait(wait).await {
            for c in &checks[i..] {
                probes.missed(c, "interrupted".into());
            }
            return;
        }
        let spec = requests::push_status(&c.target.id);
        match probes.call(&spec, 1).await {
            CallEnd::Answered(Class::Done(d)) => {
                let status = d
                    .data
                    .as_ref()
                    .and_then(|v| v.get("status"))
                    .and_then(Value::as_str);
                probes.found(c, judge(c.action, status));
            }
            CallEnd::Answered(Class::Gone { code, message }) => probes.found(
                c,
                Finding::new(
                    VerifyVerdict::Unknown,
                    format!(
                        "TPNS has no record of the task ({message}): it answers only for the last month"
                    ),
                )
                .with("code", json!(code)),
            ),
            CallEnd::Interrupted { .. } => {
                for c in &checks[i..] {
                    probes.missed(c, "interrupted".into());
                }
                return;
            }
            CallEnd::Answered(other) => {
                let code = other.code().map(|c| format!("{c} ")).unwrap_or_default();
                probes.missed(
                    c,
                    format!("get_push_record: {code}{}", other.message().unwrap_or("")),
                );
            }
            CallEnd::GaveUp(why) => probes.missed(c, format!("get_push_record: {why}")),
        }
    }
}

/// What the task's status says about `action`.
pub fn judge(action: Action, status: Option<&str>) -> Finding {
    let expected = expected_status(action);
    let Some(status) = status else {
        return Finding::new(VerifyVerdict::Unknown, "the task's record has no status");
    };
    let f = |v, reason: String| {
        Finding::new(v, reason)
            .with("status", json!(status))
            .with("expected", json!(expected))
    };
    if status == expected {
        f(
            VerifyVerdict::Verified,
            format!("TPNS shows the task {status}"),
        )
    } else if LIVE.contains(&status) {
        f(
            VerifyVerdict::NotEffective,
            format!(
                "TPNS still shows the task {status} after the {action} was accepted (expected {expected})"
            ),
        )
    } else if CORRECTED.contains(&status) {
        f(
            VerifyVerdict::Unknown,
            format!(
                "TPNS shows the task {status}: another correction ended it, so whether this {action} took effect cannot be told"
            ),
        )
    } else {
        f(
            VerifyVerdict::Unknown,
            format!("TPNS shows the task {status}, which says nothing about the {action}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_per_action() {
        let v = |a, s| judge(a, Some(s)).verdict;
        assert_eq!(
            v(Action::Stop, "PUSH_DELETED_PUSH_MSG"),
            VerifyVerdict::Verified
        );
        assert_eq!(
            v(Action::Stop, "PUSH_FINISHED"),
            VerifyVerdict::NotEffective
        );
        assert_eq!(v(Action::Stop, "PUSH_COLLAPSED"), VerifyVerdict::Unknown);
        assert_eq!(v(Action::Recall, "PUSH_REVOKED"), VerifyVerdict::Verified);
        assert_eq!(
            v(Action::Recall, "PUSH_DELETED_PUSH_MSG"),
            VerifyVerdict::Unknown
        );
        assert_eq!(
            v(Action::Override, "PUSH_COLLAPSED"),
            VerifyVerdict::Verified
        );
        assert_eq!(
            v(Action::Override, "PUSH_STARTED"),
            VerifyVerdict::NotEffective
        );
        assert_eq!(
            v(Action::CancelScheduled, "PUSH_CANCELED"),
            VerifyVerdict::Verified
        );
        assert_eq!(
            v(Action::CancelScheduled, "PUSH_WAIT"),
            VerifyVerdict::NotEffective
        );
        assert_eq!(
            v(Action::CancelScheduled, "PUSH_FAILED"),
            VerifyVerdict::Unknown
        );
        assert_eq!(judge(Action::Stop, None).verdict, VerifyVerdict::Unknown);
        let f = judge(Action::Stop, Some("PUSH_FINISHED"));
        assert_eq!(f.evidence["status"], "PUSH_FINISHED");
        assert_eq!(f.evidence["expected"], "PUSH_DELETED_PUSH_MSG");
    }
}
