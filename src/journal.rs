//! `journal.jsonl`: every state change of every target, appended as it happens — the intent
//! before each request, the answer after it, the final outcome — so a crash never loses track
//! of a target and the report can always be rebuilt (DESIGN §5).
//!
//! Each line is written with one `write` call before the code that depends on it runs (a
//! process crash keeps it: it is in the kernel); `fsync` happens in small groups (every 100 ms
//! at most, on a thread of its own) and at step boundaries, for power loss.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Mutex;

use crate::event::Event;

/// Shortest credential scrubbed from journal lines.
const MIN_REDACTED: usize = 8;

/// How often the background syncer flushes written lines to disk.
const SYNC_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

pub struct Journal {
    inner: Mutex<Inner>,
    /// Strings that must never be written (credentials, auth header values).
    redact: Vec<String>,
    syncer: Syncer,
}

struct Inner {
    file: File,
    failed: Option<String>,
}

/// fsync in small groups on a thread of its own, so a request never waits for the disk
/// between its pacer slot and its send; `sync` forces one at step boundaries and the end.
struct Syncer {
    dirty: std::sync::Arc<std::sync::atomic::AtomicBool>,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Journal {
    /// `redact`: credentials to scrub from every line. Strings under 8 characters are not
    /// scrubbed (replacing them would mangle the JSON); real keys are 24 characters or more.
    pub fn create(path: &Path, redact: Vec<String>) -> std::io::Result<Journal> {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let handle = file.try_clone()?;
        let dirty = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (d, f) = (dirty.clone(), done.clone());
        std::thread::Builder::new()
            .name("pushfix-journal-sync".into())
            .spawn(move || {
                while !f.load(Ordering::SeqCst) {
                    std::thread::sleep(SYNC_EVERY);
                    if d.swap(false, Ordering::SeqCst) {
                        let _ = handle.sync_data();
                    }
                }
                let _ = handle.sync_data();
            })?;
        let redact = redact
            .into_iter()
            .filter(|s| s.len() >= MIN_REDACTED)
            .collect();
        Ok(Journal {
            inner: Mutex::new(Inner { file, failed: None }),
            redact,
            syncer: Syncer { dirty, done },
        })
    }

    /// Append one event (one `write`, so a crash of the process keeps it). An error is also
    /// remembered (see `error`); a request whose intent cannot be written is not sent.
    pub fn append(&self, event: &Event) -> Result<(), String> {
        let mut line = serde_json::to_string(event).unwrap_or_default();
        for secret in &self.redact {
            // As written, and as JSON escapes it inside a string.
            let escaped = serde_json::to_string(secret).unwrap_or_default();
            for form in [secret.as_str(), escaped.trim_matches('"')] {
                if line.contains(form) {
                    line = line.replace(form, "********");
                }
            }
        }
        line.push('\n');
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = &inner.failed {
            return Err(e.clone());
        }
        if let Err(e) = inner.file.write_all(line.as_bytes()) {
            inner.failed = Some(e.to_string());
            return Err(e.to_string());
        }
        self.syncer
            .dirty
            .store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    pub fn sync(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
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
    use jiff::Timestamp;

    use super::*;
    use crate::event::Outcome;

    #[test]
    fn round_trip_redacts_and_tolerates_a_torn_last_line() {
        let dir = std::env::temp_dir().join(format!("pushfix-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.jsonl");
        let _ = std::fs::remove_file(&path);
        let j = Journal::create(&path, vec!["s3cret-value".into(), "ab".into()]).unwrap();
        let at: Timestamp = "2026-11-21T00:00:00Z".parse().unwrap();
        let _ = j.append(&Event::StepStarted {
            at,
            step: "a".into(),
            action: "recall".into(),
            targets: 2,
        });
        let _ = j.append(&Event::Final {
            at,
            step: "a".into(),
            target: "1".into(),
            outcome: Outcome::Failed,
            reason: Some("provider said s3cret-value, ab".into()),
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
        assert_eq!(reason.as_deref(), Some("provider said ********, ab"));
        assert!(
            !std::fs::read_to_string(&path)
                .unwrap()
                .contains("s3cret-value")
        );
    }
}
