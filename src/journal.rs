//! `journal.jsonl`: every state change of every target, appended as it happens — the intent
//! before each request, the answer after it, the final outcome — so a crash never loses track
//! of a target and the report can always be rebuilt (DESIGN §5).
//!
//! Each line is written with one `write` call before the code that depends on it runs (a
//! process crash keeps it: it is in the kernel); `fsync` happens in small groups (every 100 ms
//! at most, on a thread of its own) and at step boundaries, for power loss.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Read as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::event::{Event, Sink, SinkError};
use crate::redact::Redactor;

/// How often the background syncer flushes written lines to disk.
const SYNC_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

pub struct Journal {
    inner: Mutex<Inner>,
    /// Strings that must never be written (credentials, auth header values).
    redact: Redactor,
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
    /// `redact`: credentials to scrub from every line (see `Redactor`).
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
        let redact = Redactor::new(redact);
        Ok(Journal {
            inner: Mutex::new(Inner { file, failed: None }),
            redact,
            syncer: Syncer { dirty, done },
        })
    }

    /// Append one event (one `write`, so a crash of the process keeps it). An error is also
    /// remembered (see `error`); a request whose intent cannot be written is not sent.
    pub fn append(&self, event: &Event) -> Result<(), String> {
        let mut line = self
            .redact
            .scrub(serde_json::to_string(event).unwrap_or_default());
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

impl Sink for Journal {
    fn event(&self, event: &Event) -> Result<(), SinkError> {
        self.append(event).map_err(SinkError)
    }

    fn flush(&self) {
        self.sync();
    }

    fn failed(&self) -> Option<SinkError> {
        self.error().map(SinkError)
    }
}

/// A journal that cannot be read back.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalError {
    pub path: PathBuf,
    /// The 1-based line, when one line is the problem.
    pub line: Option<u64>,
    pub message: String,
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(
                f,
                "{}:{l}: not a journal record: {}",
                self.path.display(),
                self.message
            ),
            None => write!(f, "cannot read `{}`: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for JournalError {}

/// The longest journal line read back (a record is a few hundred bytes).
const MAX_LINE: usize = 1 << 20;

/// Read a journal back, one event at a time, without holding it in memory. A torn last line
/// (a crash mid-write) is ignored; any other bad line is an error naming its line number.
pub fn read_each(path: &Path, mut f: impl FnMut(Event)) -> Result<(), JournalError> {
    let err = |line: Option<u64>, message: String| JournalError {
        path: path.to_path_buf(),
        line,
        message,
    };
    let file = File::open(path).map_err(|e| err(None, crate::io_reason(&e)))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    // A line is parsed once the next one is read, so the last line is known as the last.
    let mut pending: Option<(u64, String)> = None;
    let mut line_no = 0u64;
    loop {
        let mut line = String::new();
        // Bounded: a corrupt journal without newlines must not be read into memory whole.
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_line(&mut line)
            .map_err(|e| err(Some(line_no + 1), e.to_string()))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if n > MAX_LINE && !line.ends_with('\n') {
            return Err(err(
                Some(line_no),
                format!(
                    "the line is longer than {} KiB, which no record is",
                    MAX_LINE >> 10
                ),
            ));
        }
        if let Some((at, text)) = pending.take() {
            match serde_json::from_str::<Event>(&text) {
                Ok(e) => f(e),
                Err(e) => return Err(err(Some(at), e.to_string())),
            }
        }
        if !line.trim().is_empty() {
            pending = Some((line_no, line));
        }
    }
    if let Some((_, text)) = pending
        && let Ok(e) = serde_json::from_str::<Event>(&text)
    {
        f(e);
    }
    Ok(())
}

/// Read a whole journal back (see `read_each`).
pub fn read(path: &Path) -> Result<Vec<Event>, JournalError> {
    let mut events = Vec::new();
    read_each(path, |e| events.push(e))?;
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
