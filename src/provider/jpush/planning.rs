//! What the plan says about JPush steps: where an override is pushed, the cid requests it
//! costs, broadcasts, overrides racing the one-day window, overrides of recalled messages, and
//! schedules to delete: disabled, periodical, or racing their last firing.

use std::collections::HashMap;
use std::time::Duration;

use super::{PUSH_FAMILY, schedule};
use crate::domain::{Action, Disposition, Platform, UnsupportedPolicy, Verdict, format_duration};
use crate::provider::{Estimate, PlanWarnings, StepContext, StepSummary, TargetContext};
use crate::target::Original;

/// JPush's daily allowance of broadcast pushes (reference/jpush.md §1, error 2008).
const BROADCASTS_PER_DAY: usize = 10;

/// Minutes added to a step's estimated duration when warning about override windows closing.
const RACE_MARGIN_MINUTES: i64 = 10;

/// An override is pushed only to platforms where a channel can replace the original: a new
/// notification elsewhere would show beside the wrong one. `unsupported: force` sends to all.
pub fn push_platforms(cx: &TargetContext<'_>, o: &mut Original, notes: &mut Vec<String>) {
    if cx.action != Action::Override || cx.policy == UnsupportedPolicy::Force {
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
            "not pushed to {p}: no channel there can replace the original"
        ));
    }
    if o.push_targets().contains(&Platform::Hmos)
        && cx
            .message
            .is_some_and(|m| m.field(super::HMOS_CATEGORY).is_none())
    {
        notes.push(format!(
            "HarmonyOS category unknown (neither the step nor the ledger gives `{}`): {} is sent, the class every app may use and the one vendor quotas cap",
            super::HMOS_CATEGORY,
            super::DEFAULT_HMOS_CATEGORY
        ));
    }
}

/// What the ledger says of a schedule to delete beyond its fire time (which the matrix reads).
pub fn schedule_notes(cx: &TargetContext<'_>, o: &Original, notes: &mut Vec<String>) {
    if cx.action != Action::CancelScheduled {
        return;
    }
    if schedule::disabled(o) {
        notes.push(
            "disabled (`enabled: false` in the ledger): it does not fire unless enabled again; deleted all the same, so that it cannot be"
                .into(),
        );
    }
    if schedule::periodical(o) {
        notes.push(
            "periodical (the ledger's trigger): the delete stops the firings still to come; what earlier firings pushed stays (GET /v3/schedules/{schedule_id}/msg_ids lists their msg_ids, before the delete, for a recall)"
                .into(),
        );
    }
}

/// Overrides take their cids from the pool, 1,000 per request.
pub fn estimate(cx: &StepContext<'_>) -> Estimate {
    let mut e = Estimate::default();
    if cx.action == Action::Override && cx.send > 0 {
        e.requests.push((PUSH_FAMILY, cx.send.div_ceil(1000)));
    }
    e
}

pub fn step_warnings(cx: &StepContext<'_>, estimated_seconds: f64) -> Vec<String> {
    let mut out = Vec::new();
    if cx.action == Action::CancelScheduled {
        return schedule_warnings(cx, estimated_seconds);
    }
    if cx.action != Action::Override {
        return out;
    }
    // JPush limits broadcasts (audience "all") to 10 a day (2008 past that); an override goes
    // to the original audience, so overriding a broadcast is a broadcast.
    let broadcasts = cx
        .targets
        .iter()
        .filter(|t| t.disposition == Disposition::Send)
        .filter(|t| {
            t.original
                .as_ref()
                .and_then(|o| o.audience.as_deref())
                .is_some_and(|a| a == "all")
        })
        .count();
    if broadcasts > 0 {
        out.push(format!(
            "{broadcasts} override{} broadcast (audience: all){}: JPush allows 10 broadcasts a day and answers 2008 past that",
            if broadcasts == 1 { " is a" } else { "s are" },
            if broadcasts > BROADCASTS_PER_DAY { ", more than a day's allowance" } else { "" }
        ));
    }
    // Overrides racing the one-day window: targets that will be past it by the time the step
    // is estimated to reach them, allowing some minutes for review and earlier steps.
    if estimated_seconds > 0.0 {
        let margin = jiff::SignedDuration::from_mins(RACE_MARGIN_MINUTES);
        let horizon = cx.now + jiff::SignedDuration::from_secs_f64(estimated_seconds) + margin;
        let racing = cx
            .targets
            .iter()
            .filter(|t| t.disposition == Disposition::Send && t.verdict != Verdict::Expired)
            .filter_map(|t| t.original.as_ref()?.sent_at)
            .filter(|s| horizon.duration_since(*s) >= jiff::SignedDuration::from_hours(24))
            .count();
        if racing > 0 {
            out.push(format!(
                "{racing} targets leave the 1-day override window within the step's estimated {} (+{RACE_MARGIN_MINUTES} min); JPush answers 1003 for those it reaches too late",
                format_duration(Duration::from_secs_f64(estimated_seconds))
            ));
        }
    }
    out
}

/// Schedules racing their last firing (a delete that reaches one too late finds its pushes
/// gone out), and periodical schedules (a delete does not undo their past firings).
fn schedule_warnings(cx: &StepContext<'_>, estimated_seconds: f64) -> Vec<String> {
    let mut out = Vec::new();
    let sent: Vec<&Original> = cx
        .targets
        .iter()
        .filter(|t| t.disposition == Disposition::Send)
        .filter_map(|t| t.original.as_deref())
        .collect();
    let margin = jiff::SignedDuration::from_mins(RACE_MARGIN_MINUTES);
    let horizon = cx.now + jiff::SignedDuration::from_secs_f64(estimated_seconds.max(0.0)) + margin;
    let racing = sent
        .iter()
        .filter(|o| !schedule::disabled(o))
        .filter(|o| schedule::last_firing(o).is_some_and(|t| t <= horizon))
        .count();
    if racing > 0 {
        out.push(format!(
            "{racing} schedule{} fire{} for the last time within the step's estimated {} (+{RACE_MARGIN_MINUTES} min): one the delete reaches too late has pushed already, and is reported failed whatever JPush answers",
            if racing == 1 { "" } else { "s" },
            if racing == 1 { "s" } else { "" },
            format_duration(Duration::from_secs_f64(estimated_seconds.max(0.0)))
        ));
    }
    let periodical = sent.iter().filter(|o| schedule::periodical(o)).count();
    if periodical > 0 {
        out.push(format!(
            "{periodical} periodical schedule{}: the delete stops firings still to come, not what earlier firings pushed (recall those by msg_id)",
            if periodical == 1 { "" } else { "s" }
        ));
    }
    out
}

pub fn plan_warnings(defaulted: &[&'static str], steps: &[StepSummary<'_>]) -> PlanWarnings {
    let mut w = PlanWarnings::default();
    if defaulted.contains(&"apns_production") && steps.iter().any(|s| s.action == Action::Override)
    {
        w.plan.push("provider.apns_production is not set: override pushes will send apns_production: true (production APNs)".into());
    }
    w.steps = recall_before_override(steps);
    w
}

/// JPush answers 1003 to an override of a recalled message and sends nothing: an override
/// step whose targets an earlier recall step already recalled will do nothing for them.
fn recall_before_override(steps: &[StepSummary<'_>]) -> Vec<(usize, String)> {
    let mut recalled: HashMap<&str, &str> = HashMap::new();
    let mut warnings = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let sends = s
            .targets
            .iter()
            .filter(|t| t.disposition == Disposition::Send);
        match s.action {
            Action::Recall => {
                for t in sends {
                    recalled.entry(t.id.as_str()).or_insert(s.name);
                }
            }
            Action::Override => {
                let hit: Vec<&str> = sends
                    .filter_map(|t| recalled.get(t.id.as_str()).copied())
                    .collect();
                if let Some(first) = hit.first() {
                    warnings.push((
                        i,
                        format!(
                            "{} targets are recalled by the earlier step `{first}`: JPush answers 1003 to an override of a \
                             recalled message and sends nothing; override first, then recall",
                            hit.len()
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    warnings
}
