//! TIMPush's planning rules: one revoke per TaskId across the whole plan (a located error),
//! the scheduled-task lookups a step adds, and what its warnings say.

use std::collections::BTreeMap;

use super::{REVOKE_FAMILY, SCHED_FAMILY, SCHED_TASK_ID};
use crate::domain::{Action, Disposition};
use crate::provider::{Estimate, PlanWarnings, StepConflict, StepContext, StepSummary};
use crate::target::PlanTarget;

/// At most this many TaskIds named in one conflict's message.
const SHOWN: usize = 5;

/// Whether the step spends the target's one revoke (stop and override are both a revoke).
fn revokes(action: Action) -> bool {
    matches!(action, Action::Stop | Action::Override)
}

fn sends(t: &PlanTarget) -> bool {
    t.disposition == Disposition::Send
}

/// TIMPush revokes a task once (a second revoke answers 90050, §0.3): a TaskId that two
/// revoking steps would both send to is refused. **Choice:** a located error at the later
/// step, not a planned failure — the playbook cannot do what it says (a stop then an
/// override would leave the stop's terminate-only revoke and no correction), so it is fixed
/// before anything is sent, as any other invalid playbook.
pub fn step_conflicts(steps: &[StepSummary<'_>]) -> Vec<StepConflict> {
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        if !revokes(s.action) {
            continue;
        }
        let mut again: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for t in s.targets.iter().filter(|t| sends(t)) {
            match first.get(t.id.as_str()) {
                Some(&j) => again.entry(j).or_default().push(&t.id),
                None => {
                    first.insert(&t.id, i);
                }
            }
        }
        for (j, ids) in again {
            let earlier = &steps[j];
            let shown: Vec<&str> = ids.iter().take(SHOWN).copied().collect();
            let more = if ids.len() > SHOWN {
                format!(" and {} more", ids.len() - SHOWN)
            } else {
                String::new()
            };
            out.push(StepConflict {
                step: i,
                message: format!(
                    "step `{}` would revoke {} task{} that step `{}` already revokes: TIMPush revokes a task once (a second revoke is refused with 90050)",
                    s.name,
                    ids.len(),
                    if ids.len() == 1 { "" } else { "s" },
                    earlier.name
                ),
                label: format!("{}{more}", shown.join(", ")),
                help: if earlier.action == Action::Stop && s.action == Action::Override {
                    "one `override` step does both: its revoke terminates undelivered accounts and replaces the delivered notification; drop the stop step for these tasks".into()
                } else {
                    "correct each task in one step only: narrow one of the selections".into()
                },
            });
        }
    }
    out
}

/// The lookups: every cancel asks `get_sched_task` first; a stop or override of a record with
/// a `sched_task_id` asks it for the push TaskId.
pub fn estimate(cx: &StepContext<'_>) -> Estimate {
    let mut e = Estimate::default();
    let lookups = cx
        .targets
        .iter()
        .filter(|t| sends(t))
        .filter(|t| {
            cx.action == Action::CancelScheduled
                || t.original
                    .as_ref()
                    .is_some_and(|o| o.fact_u64(SCHED_TASK_ID).is_some())
        })
        .count() as u64;
    if lookups > 0 {
        e.requests.push((SCHED_FAMILY, lookups));
    }
    e
}

pub fn step_warnings(cx: &StepContext<'_>) -> Vec<String> {
    let mut w = Vec::new();
    if cx.send == 0 {
        return w;
    }
    if revokes(cx.action) {
        w.push(format!(
            "TIMPush revokes a task once: this {} uses up each task's revoke, and no later correction of it is possible",
            cx.action
        ));
        if let Some(r) = cx.rates.get(&REVOKE_FAMILY)
            && r.per_second > 1.0
        {
            w.push(format!(
                "revoke is paced at {}, above TIMPush's 1/s: expect 90051 answers and pauses",
                r.rate
            ));
        }
    }
    if cx.action == Action::Stop {
        w.push("stop is sent as revoke with OfflinePushInfo {\"PushFlag\": 1} (terminate, overwrite nothing): the 2024 docs define that form, the 2025 docs only say OfflinePushInfo is required; a backend that refuses it answers 90053 and the target is recorded failed, with nothing else sent".into());
    }
    if cx.action == Action::Override {
        w.push("the override replaces delivered notifications on APNs, FCM (notification mode), Huawei and Honor only, and not where the app is in the foreground".into());
    }
    w
}

pub fn plan_warnings(defaulted: &[&'static str], _steps: &[StepSummary<'_>]) -> PlanWarnings {
    let mut w = PlanWarnings::default();
    if defaulted.contains(&"identifier") {
        w.plan.push("provider.identifier is not set: requests are signed for `administrator`, the default App admin (a non-admin answers 90009)".into());
    }
    w
}
