//! Run history (DESIGN §5): what earlier runs of the same playbook for the same provider app,
//! in the same audit directory, did — so a new run refuses to start beside an unfinished one,
//! and skips targets an earlier run already corrected. This is what a schedule needs: the same
//! playbook every 15 minutes acts on each new message once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::event::{Event, Outcome};
use crate::journal::{self, JournalError};
use crate::plan::AlreadyDone;
use crate::provider::call::NOT_RETRIED;
use crate::provider::endpoint::is_loopback_url;

/// Whose runs count: the same playbook for the same provider app, against a provider of the
/// same kind of place (a rehearsal against a loopback sandbox never settles a production
/// target, and the reverse). Runs against the built-in sandbox are never history: their
/// sandbox ended with them.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub provider: &'a str,
    pub app: &'a str,
    pub playbook: &'a str,
    pub base_url: &'a str,
}

impl Key<'_> {
    fn matches(
        &self,
        provider: &str,
        app: &str,
        playbook: &str,
        base_url: &str,
        sandbox: bool,
    ) -> bool {
        !sandbox
            && provider == self.provider
            && app == self.app
            && playbook == self.playbook
            && is_loopback_url(base_url) == is_loopback_url(self.base_url)
    }
}

/// An earlier run of this playbook and app.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlierRun {
    pub dir: PathBuf,
    pub run_id: String,
    /// It recorded its end.
    pub finished: bool,
    /// Requests left for these targets without an outcome (killed mid-request).
    pub in_flight: u64,
    /// Targets given up because a lost answer may have been acted on: only `resume` re-checks
    /// them with the provider; a new run would push them a second time.
    pub to_recheck: u64,
}

impl EarlierRun {
    /// A run whose end is not recorded, or that left requests in flight: only `resume` may go
    /// on with it, or a second visible correction could go out.
    pub fn unfinished(&self) -> bool {
        !self.finished || self.in_flight > 0 || self.to_recheck > 0
    }

    /// Why it is unfinished, for the refusal.
    pub fn why(&self) -> String {
        let mut why = Vec::new();
        if !self.finished {
            why.push("its end is not recorded".to_string());
        }
        if self.in_flight > 0 {
            why.push(format!(
                "{} request(s) were in flight without an answer",
                self.in_flight
            ));
        }
        if self.to_recheck > 0 {
            why.push(format!(
                "{} target(s) lost their answer and must be re-checked before anything is sent again",
                self.to_recheck
            ));
        }
        why.join("; ")
    }
}

#[derive(Debug, Default)]
pub struct History {
    pub runs: Vec<EarlierRun>,
    /// (step, target) -> the run that brought it to `done` or `gone` (the latest such run).
    pub settled: AlreadyDone,
}

impl History {
    pub fn unfinished(&self) -> Option<&EarlierRun> {
        self.runs.iter().find(|r| r.unfinished())
    }
}

/// Read the earlier runs in `audit_dir` that `key` names, oldest first. Directories without a
/// journal (a run killed before it started one) sent nothing: skipped.
pub fn read(audit_dir: &Path, key: Key<'_>) -> Result<History, JournalError> {
    let mut h = History::default();
    let Ok(entries) = std::fs::read_dir(audit_dir) else {
        return Ok(h);
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("journal.jsonl").is_file())
        .collect();
    // Run ids start with their UTC start time: the name orders them.
    dirs.sort();
    for dir in dirs {
        let mut run: Option<EarlierRun> = None;
        let mut open: HashMap<(String, String), ()> = HashMap::new();
        // The last outcome of each target, and whether it awaits a re-check.
        let mut finals: HashMap<(String, String), (Outcome, bool)> = HashMap::new();
        let mut matches = true;
        journal::read_each(&dir.join("journal.jsonl"), |e| {
            if !matches {
                return;
            }
            match e {
                Event::RunStarted {
                    run_id,
                    playbook_name,
                    provider,
                    app,
                    base_url,
                    sandbox,
                    ..
                } => {
                    matches = key.matches(&provider, &app, &playbook_name, &base_url, sandbox);
                    run = Some(EarlierRun {
                        dir: dir.clone(),
                        run_id,
                        finished: false,
                        in_flight: 0,
                        to_recheck: 0,
                    });
                }
                Event::Intent { step, target, .. } if !target.is_empty() => {
                    open.insert((step, target), ());
                }
                Event::Final {
                    step,
                    target,
                    outcome,
                    reason,
                    ..
                } => {
                    let k = (step, target);
                    open.remove(&k);
                    let recheck = outcome == Outcome::GaveUp
                        && reason.is_some_and(|r| r.contains(NOT_RETRIED));
                    finals.insert(k, (outcome, recheck));
                }
                Event::RunFinished { .. } => {
                    if let Some(r) = run.as_mut() {
                        r.finished = true;
                    }
                }
                _ => {}
            }
        })?;
        let Some(mut run) = run.filter(|_| matches) else {
            continue;
        };
        run.in_flight = open.len() as u64;
        for (k, (outcome, recheck)) in finals {
            run.to_recheck += u64::from(recheck);
            // A later run's other outcome does not undo an earlier correction.
            if matches!(outcome, Outcome::Done | Outcome::Gone) {
                h.settled.insert(k, run.run_id.clone());
            }
        }
        h.runs.push(run);
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::journal::Journal;

    fn started(id: &str, name: &str, app: &str) -> Event {
        Event::RunStarted {
            at: Timestamp::UNIX_EPOCH,
            run_id: id.into(),
            playbook_path: "p.yaml".into(),
            playbook_name: name.into(),
            playbook_sha256: String::new(),
            git_commit: None,
            operator: "o".into(),
            content_sha256: String::new(),
            provider: "jpush".into(),
            base_url: "https://api.jpush.cn".into(),
            app: app.into(),
            sandbox: false,
            as_of: None,
        }
    }

    fn fin(target: &str, outcome: Outcome) -> Event {
        Event::Final {
            at: Timestamp::UNIX_EPOCH,
            step: "s".into(),
            target: target.into(),
            outcome,
            reason: None,
            code: None,
            new_id: None,
        }
    }

    fn intent(target: &str) -> Event {
        Event::Intent {
            at: Timestamp::UNIX_EPOCH,
            step: "s".into(),
            target: target.into(),
            attempt: 1,
            request: "DELETE /v3/push/1".into(),
            family: "jpush_push".into(),
            cid: None,
            lookup: false,
        }
    }

    fn key<'a>(playbook: &'a str, app: &'a str) -> Key<'a> {
        Key {
            provider: "jpush",
            app,
            playbook,
            base_url: "https://api.jpush.cn",
        }
    }

    fn write(dir: &Path, id: &str, events: &[Event]) {
        let d = dir.join(id);
        std::fs::create_dir_all(&d).unwrap();
        let j = Journal::create(&d.join("journal.jsonl"), Vec::new()).unwrap();
        for e in events {
            j.append(e).unwrap();
        }
        j.sync();
    }

    #[test]
    fn finished_runs_settle_targets_and_unfinished_ones_block() {
        let dir = std::env::temp_dir().join(format!("pushfix-history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let finished = Event::RunFinished {
            at: Timestamp::UNIX_EPOCH,
            exit_code: 1,
            stopped: None,
        };
        write(
            &dir,
            "20261120T000000Z-p",
            &[
                started("20261120T000000Z-p", "p", "app"),
                fin("1", Outcome::Done),
                fin("2", Outcome::Failed),
                fin("3", Outcome::Gone),
                finished.clone(),
            ],
        );
        // Another playbook, and another app: not this history.
        write(
            &dir,
            "20261120T000001Z-q",
            &[started("x", "q", "app"), fin("4", Outcome::Done)],
        );
        write(
            &dir,
            "20261120T000002Z-p",
            &[started("y", "p", "other"), fin("5", Outcome::Done)],
        );
        // Killed before its journal: nothing to read.
        std::fs::create_dir_all(dir.join("20261120T000003Z-p")).unwrap();
        let h = read(&dir, key("p", "app")).unwrap();
        assert_eq!(h.runs.len(), 1);
        assert!(h.unfinished().is_none());
        let mut settled: Vec<&str> = h.settled.keys().map(|(_, t)| t.as_str()).collect();
        settled.sort();
        assert_eq!(settled, ["1", "3"]);
        // A crashed run (no end, a request in flight) blocks.
        write(
            &dir,
            "20261120T000004Z-p",
            &[started("z", "p", "app"), intent("6")],
        );
        let h = read(&dir, key("p", "app")).unwrap();
        let u = h.unfinished().unwrap();
        assert_eq!(u.run_id, "z");
        assert_eq!(u.in_flight, 1);
        // A run that recorded its end but was stopped with nothing in flight does not block.
        write(
            &dir,
            "20261120T000005Z-p",
            &[
                started("w", "p", "app"),
                fin("7", Outcome::NotAttempted),
                finished,
            ],
        );
        let h = read(&dir, key("p", "app")).unwrap();
        assert_eq!(h.runs.iter().filter(|r| r.unfinished()).count(), 1);
    }
}
