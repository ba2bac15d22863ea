//! Verification, the plain part (docs/verification.md): which corrections of a run still need
//! a verdict, read from its plan and journal; which of them one pass checks, by receivers,
//! within its family's quota; and what the quota's earlier requests were, so a pass started
//! right after another (or after the campaign's own lookups) stays inside it. The requests
//! themselves are the executor's (`exec::verify`); what they prove is each provider's
//! (`provider::Verifier`).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use jiff::Timestamp;

use crate::event::{Event, Outcome, VerifyVerdict};
use crate::plan::{Plan, PlanStep};

type Key = (String, String);

/// A `done` correction, as the journal records it.
#[derive(Debug, Clone)]
pub struct Corrected {
    pub at: Timestamp,
    pub new_id: Option<String>,
}

/// What a run's journal says about verification, read one event at a time.
#[derive(Debug, Default)]
pub struct Scan {
    /// The family whose requests are remembered.
    family: String,
    /// The last `keep` requests of that family (campaign lookups and verification requests).
    history: VecDeque<Timestamp>,
    keep: usize,
    /// The last final record of each target, when it is `done`.
    done: HashMap<Key, Corrected>,
    /// Targets with a verdict.
    verdicts: HashMap<Key, VerifyVerdict>,
    /// Verdicts recorded twice (a bug, or two passes at once without the lock).
    pub repeated: u64,
}

impl Scan {
    /// Remember the last `keep` requests of `family` (its quota's count).
    pub fn new(family: &str, keep: usize) -> Scan {
        Scan {
            family: family.to_string(),
            keep: keep.max(1),
            ..Scan::default()
        }
    }

    pub fn see(&mut self, e: &Event) {
        match e {
            Event::Intent { at, family, .. } | Event::VerifyRequest { at, family, .. }
                if *family == self.family =>
            {
                if self.history.len() == self.keep {
                    self.history.pop_front();
                }
                self.history.push_back(*at);
            }
            Event::Final {
                at,
                step,
                target,
                outcome,
                new_id,
                ..
            } => {
                let key = (step.clone(), target.clone());
                if *outcome == Outcome::Done {
                    self.done.insert(
                        key,
                        Corrected {
                            at: *at,
                            new_id: new_id.clone(),
                        },
                    );
                } else {
                    self.done.remove(&key);
                }
            }
            Event::Verified {
                step,
                target,
                verdict,
                ..
            } => {
                let before = self
                    .verdicts
                    .insert((step.clone(), target.clone()), *verdict);
                self.repeated += u64::from(before.is_some());
            }
            _ => {}
        }
    }

    /// When the family's remembered requests left, oldest first.
    pub fn history(&self) -> impl Iterator<Item = Timestamp> + '_ {
        self.history.iter().copied()
    }

    pub fn verdict(&self, step: &str, target: &str) -> Option<VerifyVerdict> {
        self.verdicts
            .get(&(step.to_string(), target.to_string()))
            .copied()
    }

    pub fn corrected(&self, step: &str, target: &str) -> Option<&Corrected> {
        self.done.get(&(step.to_string(), target.to_string()))
    }

    /// Verdicts recorded so far, by kind.
    pub fn count(&self, v: VerifyVerdict) -> u64 {
        self.verdicts.values().filter(|x| **x == v).count() as u64
    }
}

/// The steps a verification covers. `all`: every step but those that say `verify: false`
/// (`pushfix verify`); else the ones the playbook asks for (`verify: true` on the step, or
/// in `limits` unless the step says false; `run --verify` sets the latter).
pub fn steps(plan: &Plan, all: bool) -> Vec<String> {
    plan.steps
        .iter()
        .filter(|s| match s.verify {
            Some(v) => v,
            None => all || plan.limits.verify,
        })
        .map(|s| s.name.clone())
        .collect()
}

/// Whether a run of this plan verifies after its campaign.
pub fn requested(plan: &Plan) -> bool {
    !steps(plan, false).is_empty()
}

/// A correction without a verdict: where it is in the plan, and its final record.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub step: usize,
    pub target: usize,
    pub corrected: Corrected,
    /// The original's receivers (what a pass checks first).
    pub receivers: u64,
}

/// The corrections of `steps` that ended `done` and have no verdict yet, most receivers first
/// (then in plan order).
pub fn candidates(plan: &Plan, scan: &Scan, steps: &[String]) -> Vec<Candidate> {
    let wanted: HashSet<&str> = steps.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for (si, s) in plan.steps.iter().enumerate() {
        if !wanted.contains(s.name.as_str()) {
            continue;
        }
        for (ti, t) in s.targets.iter().enumerate() {
            let Some(c) = scan.corrected(&s.name, &t.id) else {
                continue;
            };
            if scan.verdict(&s.name, &t.id).is_some() {
                continue;
            }
            out.push(Candidate {
                step: si,
                target: ti,
                corrected: c.clone(),
                receivers: receivers(plan, s, &t.id, t.receivers),
            });
        }
    }
    out.sort_by(|a, b| {
        b.receivers
            .cmp(&a.receivers)
            .then(a.step.cmp(&b.step))
            .then(a.target.cmp(&b.target))
    });
    out
}

/// The original's receivers: the plan's estimate for the target, else its channels' counts.
fn receivers(plan: &Plan, _step: &PlanStep, id: &str, estimate: Option<[u64; 2]>) -> u64 {
    if let Some([_, total]) = estimate {
        return total;
    }
    plan.messages
        .get(id)
        .map(|m| m.values().flatten().sum())
        .unwrap_or(0)
}

/// How many of `candidates` (a prefix: they are in priority order) fit in `budget` requests,
/// by `cost` of a prefix (non-decreasing in its length).
pub fn fitting(len: usize, budget: u64, cost: impl Fn(usize) -> u64) -> usize {
    // The largest n with cost(n) <= budget, by bisection (cost is monotone).
    let (mut lo, mut hi) = (0usize, len);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if cost(mid) <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// Verdict counts of one step or a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub verified: u64,
    pub not_effective: u64,
    pub unknown: u64,
    pub unchecked: u64,
}

impl Tally {
    pub fn add(&mut self, v: Option<VerifyVerdict>) {
        match v {
            Some(VerifyVerdict::Verified) => self.verified += 1,
            Some(VerifyVerdict::NotEffective) => self.not_effective += 1,
            Some(VerifyVerdict::Unknown) => self.unknown += 1,
            None => self.unchecked += 1,
        }
    }

    pub fn checked(&self) -> u64 {
        self.verified + self.not_effective + self.unknown
    }
}

/// Per covered step, its corrections' verdicts (for summaries without a report at hand).
pub fn tally(plan: &Plan, scan: &Scan, steps: &[String]) -> BTreeMap<String, Tally> {
    let mut out = BTreeMap::new();
    for s in plan.steps.iter().filter(|s| steps.contains(&s.name)) {
        let t: &mut Tally = out.entry(s.name.clone()).or_default();
        for target in &s.targets {
            if scan.corrected(&s.name, &target.id).is_some() {
                t.add(scan.verdict(&s.name, &target.id));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn fin(step: &str, target: &str, outcome: Outcome) -> Event {
        Event::Final {
            at: t("2026-11-21T00:00:00Z"),
            step: step.into(),
            target: target.into(),
            outcome,
            reason: None,
            code: None,
            new_id: None,
        }
    }

    #[test]
    fn the_scan_keeps_done_targets_their_verdicts_and_the_family_history() {
        let mut s = Scan::new("tpns_statistics", 2);
        for (i, fam) in [
            "tpns_statistics",
            "tpns_push",
            "tpns_statistics",
            "tpns_statistics",
        ]
        .iter()
        .enumerate()
        {
            s.see(&Event::VerifyRequest {
                at: t(&format!("2026-11-21T00:00:0{i}Z")),
                family: fam.to_string(),
                request: "POST /x".into(),
                targets: 1,
                attempt: 1,
            });
        }
        let h: Vec<Timestamp> = s.history().collect();
        assert_eq!(
            h,
            vec![t("2026-11-21T00:00:02Z"), t("2026-11-21T00:00:03Z")]
        );
        s.see(&fin("a", "1", Outcome::Done));
        s.see(&fin("a", "2", Outcome::GaveUp));
        s.see(&fin("a", "3", Outcome::GaveUp));
        s.see(&fin("a", "3", Outcome::Done));
        s.see(&Event::Verified {
            at: t("2026-11-21T00:00:09Z"),
            step: "a".into(),
            target: "3".into(),
            verdict: VerifyVerdict::Verified,
            reason: None,
            evidence: Default::default(),
        });
        assert!(s.corrected("a", "1").is_some());
        assert!(s.corrected("a", "2").is_none());
        assert_eq!(s.verdict("a", "3"), Some(VerifyVerdict::Verified));
        assert_eq!(s.verdict("a", "1"), None);
        assert_eq!(s.repeated, 0);
    }

    #[test]
    fn fitting_is_the_longest_affordable_prefix() {
        assert_eq!(fitting(10, 4, |n| n as u64), 4);
        assert_eq!(fitting(3, 100, |n| n as u64), 3);
        assert_eq!(fitting(10, 0, |n| n as u64), 0);
        // JPush-like: two readings per 100 ids.
        assert_eq!(fitting(1000, 4, |n| 2 * n.div_ceil(100) as u64), 200);
    }
}
