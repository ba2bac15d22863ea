//! `journal.jsonl`: every state change of every target, appended as it happens — the intent
//! before each request, the answer after it, the final outcome — so a crash never loses track
//! of a target and the report can always be rebuilt (DESIGN §5).
//!
//! Each line is written with one `write` call before the code that depends on it runs (a
//! process crash keeps it: it is in the kernel); `fsync` happens in small groups and at step
//! boundaries, for power loss.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Mutex;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Final outcome of a target (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    Gone,
    Skipped,
    Failed,
    GaveUp,
    NotAttempted,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Done,
        Outcome::Gone,
        Outcome::Skipped,
        Outcome::Failed,
        Outcome::GaveUp,
        Outcome::NotAttempted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Gone => "gone",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::GaveUp => "gave_up",
            Outcome::NotAttempted => "not_attempted",
        }
    }

    /// Counts against the failure budget.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::GaveUp)
    }
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        at: Timestamp,
        run_id: String,
        playbook_path: String,
        playbook_name: String,
        playbook_sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        git_commit: Option<String>,
        operator: String,
        content_sha256: String,
        provider: String,
        base_url: String,
        /// The provider app (JPush app_key / TPNS access_id: identifiers, not secrets).
        app: String,
        #[serde(default)]
        sandbox: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        as_of: Option<Timestamp>,
    },
    /// `pushfix resume` picked the run up again.
    Resumed {
        at: Timestamp,
        operator: String,
        /// Targets it will (re)send.
        targets: u64,
    },
    StepStarted {
        at: Timestamp,
        step: String,
        action: String,
        targets: u64,
    },
    /// A request is about to leave.
    Intent {
        at: Timestamp,
        step: String,
        /// Empty for requests that serve several targets (a JPush cid pool).
        target: String,
        attempt: u32,
        request: String,
        family: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<String>,
    },
    /// What came back (or that nothing did).
    Answer {
        at: Timestamp,
        step: String,
        target: String,
        attempt: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        class: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        latency_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        new_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        collapse_id: Option<u32>,
    },
    /// The target's outcome; nothing more happens to it in this run.
    Final {
        at: Timestamp,
        step: String,
        target: String,
        outcome: Outcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        new_id: Option<String>,
    },
    StepFinished {
        at: Timestamp,
        step: String,
    },
    RunFinished {
        at: Timestamp,
        exit_code: i32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stopped: Option<String>,
    },
}

/// fsync after this many lines (and at step boundaries and the end).
const SYNC_EVERY: usize = 32;

pub struct Journal {
    inner: Mutex<Inner>,
    /// Strings that must never be written (credentials, auth header values).
    redact: Vec<String>,
}

struct Inner {
    file: File,
    unsynced: usize,
    failed: Option<String>,
}

impl Journal {
    pub fn create(path: &Path, redact: Vec<String>) -> std::io::Result<Journal> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Journal {
            inner: Mutex::new(Inner {
                file,
                unsynced: 0,
                failed: None,
            }),
            redact,
        })
    }

    /// Append one event. An I/O error is remembered (and reported by `close`); the run stops
    /// dispatching when the journal cannot be written.
    pub fn append(&self, event: &Event) {
        let mut line = serde_json::to_string(event).unwrap_or_default();
        for secret in &self.redact {
            if !secret.is_empty() && line.contains(secret.as_str()) {
                line = line.replace(secret.as_str(), "********");
            }
        }
        line.push('\n');
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = inner.file.write_all(line.as_bytes()) {
            inner.failed.get_or_insert(e.to_string());
            return;
        }
        inner.unsynced += 1;
        if inner.unsynced >= SYNC_EVERY {
            inner.unsynced = 0;
            if let Err(e) = inner.file.sync_data() {
                inner.failed.get_or_insert(e.to_string());
            }
        }
    }

    pub fn sync(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.unsynced = 0;
        if let Err(e) = inner.file.sync_data() {
            inner.failed.get_or_insert(e.to_string());
        }
    }

    /// The first write error, if any happened.
    pub fn error(&self) -> Option<String> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failed
            .clone()
    }
}

/// Read a journal back. A torn last line (a crash mid-write) is ignored; any other bad line is
/// an error naming its line number.
pub fn read(path: &Path) -> Result<Vec<Event>, String> {
    let file = File::open(path)
        .map_err(|e| format!("cannot read `{}`: {}", path.display(), crate::io_reason(&e)))?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let mut events = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(e) => events.push(e),
            Err(_) if i + 1 == lines.len() => break,
            Err(e) => {
                return Err(format!(
                    "{}:{}: not a journal record: {e}",
                    path.display(),
                    i + 1
                ));
            }
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_redacts_and_tolerates_a_torn_last_line() {
        let dir = std::env::temp_dir().join(format!("pushfix-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.jsonl");
        let _ = std::fs::remove_file(&path);
        let j = Journal::create(&path, vec!["s3cret".into()]).unwrap();
        let at: Timestamp = "2026-11-21T00:00:00Z".parse().unwrap();
        j.append(&Event::StepStarted {
            at,
            step: "a".into(),
            action: "recall".into(),
            targets: 2,
        });
        j.append(&Event::Final {
            at,
            step: "a".into(),
            target: "1".into(),
            outcome: Outcome::Failed,
            reason: Some("provider said s3cret".into()),
            code: Some(1004),
            new_id: None,
        });
        j.sync();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"event\":\"fin")
            .unwrap();
        let events = read(&path).unwrap();
        assert_eq!(events.len(), 2);
        let Event::Final { reason, .. } = &events[1] else {
            panic!()
        };
        assert_eq!(reason.as_deref(), Some("provider said ********"));
        assert!(!std::fs::read_to_string(&path).unwrap().contains("s3cret"));
    }
}
