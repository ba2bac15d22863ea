//! What is left of an interrupted run, from its saved plan and its journal (DESIGN §5):
//! terminal targets are skipped; targets in flight at the interruption are handed to the
//! provider with what the journal knows (the cid it used, that a request was in flight), which
//! re-sends idempotently or re-checks first.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use jiff::Timestamp;
// Keyed by (step, target) for every record of a journal of a million lines.
use rustc_hash::FxHashMap as HashMap;

use super::executor::ResumeHints;
use crate::domain::Disposition;
use crate::event::{Event, Outcome};
use crate::plan::Plan;
use crate::provider::Resumed;
use crate::provider::call::NOT_RETRIED;

/// The plan reduced to what still needs doing, with what the journal knows about it.
#[derive(Debug)]
pub struct Recovery {
    pub plan: Plan,
    pub hints: ResumeHints,
    /// Targets that already have their outcome.
    pub settled: u64,
    /// Targets with a request in flight when the run stopped.
    pub in_flight: u64,
    /// Targets to (re)send.
    pub to_send: u64,
    /// Targets given up after a lost answer, which the provider re-checks before any resend.
    pub to_recheck: u64,
    /// Final records the interruption cut off, resolved from the answer journaled before them
    /// (a `done` answer to the target's correcting request): written on resume, not re-sent.
    pub resolved: Vec<Event>,
    /// Failures of dispatched targets recorded so far (those sent again included, until they
    /// succeed): the part of the run's failure budget already used.
    pub failures_before: u64,
}

type Key = (String, String);

/// The last request journaled for a target still without an outcome.
#[derive(Debug)]
struct Open {
    attempt: u32,
    lookup: bool,
    /// Its answer was `done` (with the new message id, if any).
    done: Option<Option<String>>,
}

/// The journal's verdict on each (step, target), read one event at a time.
#[derive(Debug, Default)]
pub struct Scanner {
    /// The last outcome, and whether it was given up after a lost answer (re-check on resume).
    last_final: HashMap<Key, (Outcome, bool)>,
    /// A request left after the last final record (or with none).
    open: HashMap<Key, Open>,
    cids: HashMap<Key, String>,
}

impl Scanner {
    pub fn see(&mut self, e: &Event) {
        match e {
            Event::Intent {
                step,
                target,
                cid,
                attempt,
                lookup,
                ..
            } if !target.is_empty() => {
                let key = (step.clone(), target.clone());
                if let Some(c) = cid {
                    self.cids.insert(key.clone(), c.clone());
                }
                self.open.insert(
                    key,
                    Open {
                        attempt: *attempt,
                        lookup: *lookup,
                        done: None,
                    },
                );
            }
            Event::Answer {
                step,
                target,
                attempt,
                class,
                new_id,
                ..
            } if class == "done" => {
                if let Some(o) = self.open.get_mut(&(step.clone(), target.clone()))
                    && o.attempt == *attempt
                    && !o.lookup
                {
                    o.done = Some(new_id.clone());
                }
            }
            Event::Final {
                step,
                target,
                outcome,
                reason,
                ..
            } => {
                let key = (step.clone(), target.clone());
                self.open.remove(&key);
                let recheck = *outcome == Outcome::GaveUp
                    && reason.as_deref().is_some_and(|r| r.contains(NOT_RETRIED));
                self.last_final.insert(key, (*outcome, recheck));
            }
            _ => {}
        }
    }
}

/// Whether a target with this last outcome must not be sent again.
fn settled(outcome: Outcome) -> bool {
    match outcome {
        Outcome::Done
        | Outcome::Gone
        | Outcome::NotCorrected
        | Outcome::Skipped
        | Outcome::Failed => true,
        // Given up: sent again; after a lost answer, re-checked with the provider first.
        Outcome::GaveUp | Outcome::NotAttempted => false,
    }
}

pub fn recover(plan: &Plan, seen: &Scanner) -> Recovery {
    // Only the targets still to do are copied into the plan the resumed run executes.
    let mut reduced = plan.without_targets();
    let mut hints = ResumeHints::new();
    let mut resolved = Vec::new();
    let (mut settled_n, mut in_flight, mut to_send) = (0u64, 0u64, 0u64);
    let (mut to_recheck, mut failures_before) = (0u64, 0u64);
    for (step, full) in reduced.steps.iter_mut().zip(&plan.steps) {
        let mut keep = Vec::new();
        for t in &full.targets {
            let key = (step.name.clone(), t.id.clone());
            let open = seen.open.get(&key);
            let last = seen.last_final.get(&key);
            match (open, last) {
                // The final record was cut off after a `done` answer: that is the outcome.
                (
                    Some(Open {
                        done: Some(new_id), ..
                    }),
                    _,
                ) if t.disposition == Disposition::Send => {
                    resolved.push(Event::Final {
                        at: Timestamp::now(),
                        step: step.name.clone(),
                        target: t.id.clone(),
                        outcome: Outcome::Done,
                        reason: Some(
                            "resolved on resume from its journaled `done` answer (the interruption cut off its final record)"
                                .into(),
                        ),
                        code: None,
                        new_id: new_id.clone(),
                    });
                    settled_n += 1;
                    continue;
                }
                (None, Some((o, _))) if settled(*o) => {
                    if o.is_failure() && t.disposition == Disposition::Send {
                        failures_before += 1;
                    }
                    settled_n += 1;
                    continue;
                }
                // Planned skips and failures only need their record written.
                (_, Some(_)) if t.disposition != Disposition::Send => {
                    settled_n += 1;
                    continue;
                }
                _ => {}
            }
            if t.disposition == Disposition::Send {
                to_send += 1;
                let recheck = open.is_none() && last.is_some_and(|(_, r)| *r);
                to_recheck += u64::from(recheck);
                in_flight += u64::from(open.is_some());
                let cid = seen.cids.get(&key).cloned();
                // A lost answer is as good as a request in flight: the provider re-checks.
                let in_flight = open.is_some() || recheck;
                // Given up before: its failure stands in the budget until it succeeds.
                let failed = last.is_some_and(|(o, _)| o.is_failure());
                failures_before += u64::from(failed);
                if in_flight || failed || cid.is_some() {
                    hints.insert(
                        key,
                        Resumed {
                            cid,
                            in_flight,
                            failed,
                        },
                    );
                }
            }
            keep.push(t.clone());
        }
        step.targets = keep;
    }
    reduced.steps.retain(|s| !s.targets.is_empty());
    reduced.recount();
    Recovery {
        plan: reduced,
        hints,
        settled: settled_n,
        in_flight,
        to_send,
        to_recheck,
        resolved,
        failures_before,
    }
}

/// A crash can leave half a line at the end of the journal; cut it off before appending.
pub fn trim_torn_tail(path: &Path) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let tail_len = len.min(1 << 20);
    f.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = Vec::new();
    f.take(tail_len).read_to_end(&mut tail)?;
    if tail.last() == Some(&b'\n') {
        return Ok(());
    }
    let keep = tail
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(len - tail_len, |i| len - tail_len + i as u64 + 1);
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.set_len(keep)?;
    f.sync_data()
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn torn_tail_is_cut() {
        let p = std::env::temp_dir().join(format!("pushfix-torn-{}", std::process::id()));
        std::fs::write(&p, "{\"a\":1}\n{\"b\":").unwrap();
        trim_torn_tail(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\"a\":1}\n");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"c\":3}\n")
            .unwrap();
        trim_torn_tail(&p).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\"a\":1}\n{\"c\":3}\n"
        );
    }
}
