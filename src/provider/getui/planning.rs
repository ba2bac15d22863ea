//! What the plan says about GeTui steps: where an override configures vendor channels, the
//! requests beyond one per target (list messages), and the group-push budget a campaign
//! spends (5 a minute and 100 a day per app, shared with everything else the app sends).

use std::time::Duration;

use super::requests::Audience;
use super::{
    AUDIENCE_TYPE, GROUP_FAMILY, GROUP_PUSHES_PER_DAY, GROUP_PUSHES_PER_DAY_LOW, NOTIFY_ID,
    PUSH_FAMILY,
};
use crate::domain::{Action, Disposition, UnsupportedPolicy, format_duration};
use crate::provider::{Estimate, Family, PlanWarnings, StepContext, StepSummary, TargetContext};
use crate::target::{Original, PlanTarget};

/// GeTui's limits on a notification's text (reference §3, `GTNotification`).
const TITLE_MAX_CHARS: usize = 50;
const BODY_MAX_CHARS: usize = 256;

/// The original's audience type, from the plan.
fn audience_type(t: &PlanTarget) -> Option<&str> {
    t.original.as_ref()?.fact_str(AUDIENCE_TYPE)
}

/// An override goes out as the original did: single and list tasks by the push family, group
/// tasks by the group family.
pub fn override_family(t: &PlanTarget) -> Family {
    match audience_type(t) {
        Some("single" | "list") => PUSH_FAMILY,
        _ => GROUP_FAMILY,
    }
}

/// Whether a target's correction is a group push (it spends the group budget).
fn group_push(action: Action, t: &PlanTarget) -> bool {
    match action {
        Action::Recall => true,
        Action::Override => override_family(t) == GROUP_FAMILY,
        _ => false,
    }
}

fn group_pushes(action: Action, targets: &[PlanTarget]) -> u64 {
    targets
        .iter()
        .filter(|t| t.disposition == Disposition::Send && group_push(action, t))
        .count() as u64
}

/// An override configures a vendor channel only on platforms where it replaces the original:
/// elsewhere a second notification would show. `unsupported: force` configures all.
pub fn plan_target(cx: &TargetContext<'_>, o: &mut Original, notes: &mut Vec<String>) {
    if cx.action != Action::Override {
        return;
    }
    if o.fact_u64(NOTIFY_ID).is_none() {
        notes.push(
            "no notify_id in the ledger: the GeTui channel gets the correction as a silent transmission, not a notification (one would show beside the original)"
                .into(),
        );
    }
    if let Err(why) = Audience::of(o.fact_str(AUDIENCE_TYPE), o.audience.as_deref()) {
        notes.push(format!("cannot be addressed again: {why}"));
    }
    if cx
        .message
        .is_some_and(|m| m.title.as_deref().is_none_or(str::is_empty))
    {
        notes.push("no title: GeTui refuses a notification without one".into());
    }
    if cx.policy == UnsupportedPolicy::Force {
        return;
    }
    let Some(reached) = cx.reached_platforms else {
        return;
    };
    o.push_platforms = o
        .platforms
        .iter()
        .copied()
        .filter(|p| reached.contains(p))
        .collect();
    for p in o.platforms.iter().filter(|p| !reached.contains(p)) {
        notes.push(format!(
            "no {p} channel configured: nothing there can replace the original"
        ));
    }
}

/// A list override creates its message first: one more push-family request.
pub fn estimate(cx: &StepContext<'_>) -> Estimate {
    let mut e = Estimate::default();
    if cx.action != Action::Override {
        return e;
    }
    let lists = cx
        .targets
        .iter()
        .filter(|t| t.disposition == Disposition::Send && audience_type(t) == Some("list"))
        .count() as u64;
    if lists > 0 {
        e.requests.push((PUSH_FAMILY, lists));
    }
    e
}

pub fn step_warnings(cx: &StepContext<'_>, _estimated_seconds: f64) -> Vec<String> {
    let mut out = Vec::new();
    let sending = || {
        cx.targets
            .iter()
            .filter(|t| t.disposition == Disposition::Send)
    };
    let group = group_pushes(cx.action, cx.targets);
    if group > 0 {
        let per_second = cx
            .rates
            .get(&GROUP_FAMILY)
            .map_or(5.0 / 60.0, |r| r.per_second);
        let mut w = format!(
            "{group} group push{} (push/all, push/tag, push/fast_custom_tag): GeTui allows an app 5 a minute and {GROUP_PUSHES_PER_DAY} a day, shared with every other group push it sends today; at 5 a minute this takes about {}",
            if group == 1 { "" } else { "es" },
            format_duration(Duration::from_secs_f64(group as f64 / per_second))
        );
        if group > GROUP_PUSHES_PER_DAY {
            w.push_str(
                "; more than a day's quota: past it GeTui answers 30007/30010 and the rest are given up, for `pushfix resume` the next day",
            );
        } else if group > GROUP_PUSHES_PER_DAY_LOW {
            w.push_str(&format!(
                "; some apps are given only {GROUP_PUSHES_PER_DAY_LOW} a day (30007 past it)"
            ));
        }
        out.push(w);
    }
    match cx.action {
        Action::Stop => {
            // The prefix tells the kind only by convention (reference §3, UNVERIFIED), so it
            // warns and does not refuse.
            let single = sending().filter(|t| t.id.starts_with("RASS")).count();
            if single > 0 {
                out.push(format!(
                    "{single} task id{} start{} with RASS (a single push): GeTui stops only batch and group tasks, and will likely refuse {}",
                    if single == 1 { "" } else { "s" },
                    if single == 1 { "s" } else { "" },
                    if single == 1 { "it" } else { "them" }
                ));
            }
        }
        Action::CancelScheduled if cx.send > 0 => out.push(
            "a scheduled task due within about a minute cannot be deleted (22001): pushfix then stops it, which ends its GeTui-channel offline delivery only, and the target fails"
                .into(),
        ),
        Action::Override => {
            let (mut untitled, mut long_title, mut long_body) = (0, 0, 0);
            for m in sending().filter_map(|t| t.message.as_ref()) {
                match m.title.as_deref() {
                    None | Some("") => untitled += 1,
                    Some(t) if t.chars().count() > TITLE_MAX_CHARS => long_title += 1,
                    _ => {}
                }
                if m.body.chars().count() > BODY_MAX_CHARS {
                    long_body += 1;
                }
            }
            if untitled > 0 {
                out.push(format!(
                    "{untitled} correction{} no title: GeTui refuses a notification without one (set message.title)",
                    if untitled == 1 { " has" } else { "s have" }
                ));
            }
            if long_title > 0 {
                out.push(format!(
                    "{long_title} title{} longer than GeTui's {TITLE_MAX_CHARS} characters",
                    if long_title == 1 { " is" } else { "s are" }
                ));
            }
            if long_body > 0 {
                out.push(format!(
                    "{long_body} bod{} longer than GeTui's {BODY_MAX_CHARS} characters",
                    if long_body == 1 { "y is" } else { "ies are" }
                ));
            }
        }
        _ => {}
    }
    out
}

/// The whole campaign against the daily group budget.
pub fn plan_warnings(steps: &[StepSummary<'_>]) -> PlanWarnings {
    let mut w = PlanWarnings::default();
    let total: u64 = steps
        .iter()
        .map(|s| group_pushes(s.action, s.targets))
        .sum();
    let in_steps = steps
        .iter()
        .filter(|s| group_pushes(s.action, s.targets) > 0)
        .count();
    if in_steps > 1 && total > GROUP_PUSHES_PER_DAY_LOW {
        w.plan.push(format!(
            "the campaign sends {total} group pushes in all: GeTui allows an app {GROUP_PUSHES_PER_DAY} a day ({GROUP_PUSHES_PER_DAY_LOW} for some apps), shared with everything else it sends today"
        ));
    }
    w
}
