//! Residual exposure (DESIGN §5): per channel, the receivers whose devices may still show the
//! original after every step. A channel of a message counts as corrected only by a `done`
//! recall, override or cancel that reaches it; `stop` ends offline delivery but removes
//! nothing already shown, and a channel the action reaches only on a condition the plan
//! cannot check (`uncertain`) is never counted as corrected. The plan computes it as if every
//! request it sends succeeds; the report, from the outcomes. Defined in docs/exposure.md.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use serde::{Deserialize, Serialize};

use super::Plan;
use crate::domain::{Action, Disposition};
use crate::event::Outcome;
use crate::target::PlanTarget;

/// The channels a message was delivered on, with its receivers there (`None`: not counted).
pub type MessageChannels = crate::domain::ChannelMap<Option<u64>>;

/// At most this many not-corrected targets are listed (the count says how many there are).
pub const MAX_NOT_CORRECTED: usize = 1000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Exposure {
    /// Receivers (a message without counts counts 1 per channel) before any step.
    pub receivers_before: u64,
    /// The same, after every step.
    pub receivers_after: u64,
    pub by_channel: BTreeMap<String, ChannelExposure>,
    /// Channels with receivers that no step corrects at all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreached: Vec<String>,
    /// Messages whose receivers the ledger does not count (each counts 1 per channel).
    #[serde(default)]
    pub uncounted_messages: u64,
    /// Targets whose channels are unknown (not in the ledger, or platforms unknown): not in
    /// the figures.
    #[serde(default)]
    pub unknown_targets: u64,
    /// Whether a `stop` step is in the playbook (it removes nothing already shown).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub has_stop: bool,
    /// Targets a recall, override or cancel was sent for that did not end `done` (the report's;
    /// the plan's is empty), the first `MAX_NOT_CORRECTED`.
    #[serde(default)]
    pub not_corrected: Vec<NotCorrected>,
    #[serde(default)]
    pub not_corrected_total: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ChannelExposure {
    pub before: u64,
    pub after: u64,
    pub messages_before: u64,
    pub messages_after: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NotCorrected {
    pub step: String,
    pub target: String,
    pub outcome: String,
    pub reason: String,
}

/// Whether an action removes what it reaches: recall and override replace or remove a shown
/// notification; a cancelled scheduled task is never shown. `stop` removes nothing shown.
fn corrects(action: Action) -> bool {
    matches!(
        action,
        Action::Recall | Action::Override | Action::CancelScheduled
    )
}

type Originals<'p> = HashMap<&'p str, (&'p MessageChannels, u64)>;

/// Mark the channels `t` reached as corrected on its original.
fn correct(originals: &mut Originals<'_>, t: &PlanTarget) {
    if let Some((channels, mask)) = originals.get_mut(t.id.as_str()) {
        for ch in t.reached.iter() {
            if let Some(i) = channels.keys().position(|c| c == &**ch) {
                // A message has one entry per vendor channel: far fewer than 64.
                *mask |= 1u64.checked_shl(i as u32).unwrap_or(0);
            }
        }
    }
}

/// Exposure after the plan's steps, given each (step, target)'s outcome (`None`: none yet).
pub fn compute<'a>(
    plan: &Plan,
    outcome: impl Fn(&str, &str) -> Option<(Outcome, Cow<'a, str>)>,
) -> Exposure {
    let mut e = Exposure::default();
    // Each original once, with the channels on which it is corrected (bit i: its i-th
    // channel): one hash per target of a 1,000,000-target plan, no set of (id, channel) pairs.
    let mut originals: Originals<'_> = plan
        .messages
        .iter()
        .map(|(id, channels)| (id.as_str(), (channels, 0u64)))
        .collect();
    let mut unknown: HashSet<&str> = HashSet::default();
    for s in &plan.steps {
        e.has_stop |= s.action == Action::Stop;
        for t in &s.targets {
            if !originals.contains_key(t.id.as_str()) && unknown.insert(&t.id) {
                e.unknown_targets += 1;
            }
            if !corrects(s.action) {
                continue;
            }
            // Corrected by an earlier run of the playbook: not exposed any more.
            if t.done_in.is_some() {
                correct(&mut originals, t);
                continue;
            }
            if t.disposition != Disposition::Send {
                continue;
            }
            match outcome(&s.name, &t.id) {
                Some((Outcome::Done, _)) => correct(&mut originals, t),
                other => {
                    e.not_corrected_total += 1;
                    if e.not_corrected.len() < MAX_NOT_CORRECTED {
                        let (outcome, reason) = other.unwrap_or((
                            Outcome::NotAttempted,
                            Cow::Borrowed("no outcome recorded (the run did not finish)"),
                        ));
                        e.not_corrected.push(NotCorrected {
                            step: s.name.clone(),
                            target: t.id.clone(),
                            outcome: outcome.as_str().into(),
                            reason: reason.into_owned(),
                        });
                    }
                }
            }
        }
    }
    for (channels, mask) in originals.values() {
        if channels.values().any(Option::is_none) {
            e.uncounted_messages += 1;
        }
        for (i, (ch, n)) in channels.iter().enumerate() {
            let n = n.unwrap_or(1);
            let c = match e.by_channel.get_mut(ch) {
                Some(c) => c,
                None => e.by_channel.entry(ch.to_string()).or_default(),
            };
            c.before += n;
            c.messages_before += 1;
            let corrected = i < 64 && mask & (1u64 << i) != 0;
            if !corrected {
                c.after += n;
                c.messages_after += 1;
            }
        }
    }
    e.receivers_before = e.by_channel.values().map(|c| c.before).sum();
    e.receivers_after = e.by_channel.values().map(|c| c.after).sum();
    e.unreached = e
        .by_channel
        .iter()
        .filter(|(_, c)| c.before > 0 && c.after == c.before)
        .map(|(ch, _)| ch.clone())
        .collect();
    e
}

/// The plan's exposure: as if every request it sends ends `done`.
pub fn planned(plan: &Plan) -> Exposure {
    let sent: HashSet<(&str, &str)> = plan
        .steps
        .iter()
        .flat_map(|s| {
            s.targets
                .iter()
                .filter(|t| t.disposition == Disposition::Send)
                .map(move |t| (s.name.as_str(), t.id.as_str()))
        })
        .collect();
    let mut e = compute(plan, |step, target| {
        sent.contains(&(step, target))
            .then_some((Outcome::Done, Cow::Borrowed("")))
    });
    e.not_corrected.clear();
    e.not_corrected_total = 0;
    e
}

/// "1.2M", "669", "12k" for people.
pub fn approx(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{}k", (n + 500) / 1000),
        _ => {
            let m = n as f64 / 1e6;
            if m < 10.0 {
                format!("{m:.1}M")
            } else {
                format!("{m:.0}M")
            }
        }
    }
}
