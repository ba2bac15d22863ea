//! What is left of an interrupted run, from its saved plan and its journal (DESIGN §5):
//! terminal targets are skipped; targets in flight at the interruption are handed to the
//! provider with what the journal knows (the cid it used, that a request was in flight), which
//! re-sends idempotently or re-checks first.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::executor::ResumeHints;
use crate::domain::Disposition;
use crate::event::{Event, Outcome};
use crate::plan::Plan;
use crate::provider::Resumed;

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
}

/// The journal's verdict on each (step, target).
struct Seen {
    last_final: BTreeMap<(String, String), (Outcome, String)>,
    /// A request left after the last final record (or with none).
    open: BTreeSet<(String, String)>,
    cids: BTreeMap<(String, String), String>,
}

fn scan(events: &[Event]) -> Seen {
    let mut seen = Seen {
        last_final: BTreeMap::new(),
        open: BTreeSet::new(),
        cids: BTreeMap::new(),
    };
    for e in events {
        match e {
            Event::Intent {
                step, target, cid, ..
            } if !target.is_empty() => {
                let key = (step.clone(), target.clone());
                if let Some(c) = cid {
                    seen.cids.insert(key.clone(), c.clone());
                }
                seen.open.insert(key);
            }
            Event::Final {
                step,
                target,
                outcome,
                reason,
                ..
            } => {
                let key = (step.clone(), target.clone());
                seen.open.remove(&key);
                seen.last_final
                    .insert(key, (*outcome, reason.clone().unwrap_or_default()));
            }
            _ => {}
        }
    }
    seen
}

/// Whether a target with this last outcome must not be sent again.
fn settled(outcome: Outcome, reason: &str) -> bool {
    match outcome {
        Outcome::Done
        | Outcome::Gone
        | Outcome::NotCorrected
        | Outcome::Skipped
        | Outcome::Failed => true,
        // Given up because a resend could show twice: never resend.
        Outcome::GaveUp => reason.contains("not retried"),
        Outcome::NotAttempted => false,
    }
}

pub fn recover(plan: &Plan, events: &[Event]) -> Recovery {
    let seen = scan(events);
    let mut reduced = plan.clone();
    let mut hints = ResumeHints::new();
    let (mut settled_n, mut in_flight, mut to_send) = (0u64, 0u64, 0u64);
    for step in &mut reduced.steps {
        let mut keep = Vec::new();
        for t in std::mem::take(&mut step.targets) {
            let key = (step.name.clone(), t.id.clone());
            let is_open = seen.open.contains(&key);
            match seen.last_final.get(&key) {
                Some((o, why)) if !is_open && settled(*o, why) => {
                    settled_n += 1;
                    continue;
                }
                // Planned skips and failures only need their record written.
                None if t.disposition != Disposition::Send => {}
                Some(_) if t.disposition != Disposition::Send => {
                    settled_n += 1;
                    continue;
                }
                _ => {}
            }
            if t.disposition == Disposition::Send {
                to_send += 1;
                if is_open {
                    in_flight += 1;
                }
                let cid = seen.cids.get(&key).cloned();
                if is_open || cid.is_some() {
                    hints.insert(
                        key,
                        Resumed {
                            cid,
                            in_flight: is_open,
                        },
                    );
                }
            }
            keep.push(t);
        }
        step.targets = keep;
        step.dispositions.send = step
            .targets
            .iter()
            .filter(|t| t.disposition == Disposition::Send)
            .count() as u64;
        step.dispositions.skip = step
            .targets
            .iter()
            .filter(|t| t.disposition == Disposition::Skip)
            .count() as u64;
        step.dispositions.fail = step
            .targets
            .iter()
            .filter(|t| t.disposition == Disposition::Fail)
            .count() as u64;
    }
    reduced.steps.retain(|s| !s.targets.is_empty());
    reduced.totals.targets = reduced.steps.iter().map(|s| s.targets.len() as u64).sum();
    reduced.totals.send = reduced.steps.iter().map(|s| s.dispositions.send).sum();
    reduced.totals.skip = reduced.steps.iter().map(|s| s.dispositions.skip).sum();
    reduced.totals.fail = reduced.steps.iter().map(|s| s.dispositions.fail).sum();
    Recovery {
        plan: reduced,
        hints,
        settled: settled_n,
        in_flight,
        to_send,
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
