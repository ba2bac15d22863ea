//! `journal.jsonl`: every state change of every target, appended as it happens — the intent
//! before each request, the answer after it, the final outcome — so a crash never loses track
//! of a target and the report can always be rebuilt (DESIGN §5).
//!
//! Lines are written in order, in batches. An intent (and a run or step boundary) is written
//! before `append` returns, in one `write` together with every line queued before it: a
//! process crash keeps it (it is in the kernel) and everything before it, so the request that
//! depends on it never leaves unrecorded. Answers and outcomes are queued for the next write:
//! the next intent's, the writer thread's (every 10 ms) or a step boundary's; a crash can lose
//! the last few milliseconds of them, and `resume` treats those targets as in flight (it
//! re-checks or re-sends them idempotently). One `write` per request instead of three, and no
//! disk wait: `fsync` happens in groups (every 100 ms at most, on the writer thread, outside
//! the lock) and at step boundaries, for power loss.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Read as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::event::{Event, Sink, SinkError};
use crate::redact::Redactor;

/// How long a queued answer or outcome waits for a write at most.
const WRITE_EVERY: Duration = Duration::from_millis(10);

/// How often the writer thread flushes written lines to disk.
const SYNC_EVERY: Duration = Duration::from_millis(100);

/// Queued lines beyond this many bytes are written at once.
const MAX_QUEUED: usize = 64 << 10;

pub struct Journal {
    shared: Arc<Shared>,
    /// Strings that must never be written (credentials, auth header values).
    redact: Redactor,
}

struct Shared {
    inner: Mutex<Inner>,
    /// The writer thread stops when this flips.
    done: AtomicBool,
}

struct Inner {
    file: File,
    /// Lines appended and not yet written, in order.
    queued: Vec<u8>,
    /// Written since the last fsync.
    dirty: bool,
    failed: Option<String>,
}

impl Inner {
    /// Write every queued line in one `write` (a short write is continued).
    fn write_queued(&mut self) -> Result<(), String> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.queued.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.queued);
        self.queued.clear();
        match result {
            Ok(()) => {
                self.dirty = true;
                Ok(())
            }
            Err(e) => {
                self.failed = Some(e.to_string());
                Err(e.to_string())
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether the code after `append` may depend on the line being written: an intent precedes
/// its request; boundaries are rare and mark what `resume` and `report` rely on.
fn written_at_once(event: &Event) -> bool {
    !matches!(event, Event::Answer { .. } | Event::Final { .. })
}

impl Journal {
    /// `redact`: credentials to scrub from every line (see `Redactor`).
    pub fn create(path: &Path, redact: Vec<String>) -> std::io::Result<Journal> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let handle = file.try_clone()?;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                file,
                queued: Vec::with_capacity(MAX_QUEUED),
                dirty: false,
                failed: None,
            }),
            done: AtomicBool::new(false),
        });
        let s = shared.clone();
        std::thread::Builder::new()
            .name("pushfix-journal".into())
            .spawn(move || {
                let mut since_sync = Duration::ZERO;
                loop {
                    std::thread::sleep(WRITE_EVERY);
                    let done = s.done.load(Ordering::SeqCst);
                    since_sync += WRITE_EVERY;
                    let dirty = {
                        let mut inner = s.lock();
                        let _ = inner.write_queued();
                        let sync = (done || since_sync >= SYNC_EVERY) && inner.dirty;
                        if sync {
                            inner.dirty = false;
                        }
                        sync
                    };
                    // The disk wait happens outside the lock: appends go on meanwhile.
                    if dirty {
                        since_sync = Duration::ZERO;
                        let _ = handle.sync_data();
                    }
                    if done {
                        break;
                    }
                }
            })?;
        Ok(Journal {
            shared,
            redact: Redactor::new(redact),
        })
    }

    /// Append one event. Intents and boundaries are written (with everything queued before
    /// them) before this returns, so a crash of the process keeps them; answers and outcomes
    /// are queued for the next write. An error is also remembered (see `error`); a request
    /// whose intent cannot be written is not sent.
    pub fn append(&self, event: &Event) -> Result<(), String> {
        self.append_json(event, serde_json::to_string(event).unwrap_or_default())
    }

    /// [`Journal::append`] of `event` serialized as `json`.
    pub fn append_json(&self, event: &Event, json: String) -> Result<(), String> {
        let line = self.redact.scrub(json);
        self.queue(event, &line)
    }

    /// Queue `line` (scrubbed) and write it now if `event` must be.
    fn queue(&self, event: &Event, line: &str) -> Result<(), String> {
        let mut inner = self.shared.lock();
        if let Some(e) = &inner.failed {
            return Err(e.clone());
        }
        inner.queued.extend_from_slice(line.as_bytes());
        inner.queued.push(b'\n');
        if written_at_once(event) || inner.queued.len() >= MAX_QUEUED {
            inner.write_queued()?;
        }
        Ok(())
    }

    /// Write what is queued and fsync it (step boundaries, the end of a run).
    pub fn sync(&self) {
        let mut inner = self.shared.lock();
        if inner.write_queued().is_err() {
            return;
        }
        match inner.file.sync_data() {
            Ok(()) => inner.dirty = false,
            Err(e) => {
                inner.failed.get_or_insert(e.to_string());
            }
        }
    }

    /// The first write error, if any happened.
    pub fn error(&self) -> Option<String> {
        self.shared.lock().failed.clone()
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.shared.lock().write_queued();
        // The writer thread fsyncs once more and ends.
        self.shared.done.store(true, Ordering::SeqCst);
    }
}

impl Sink for Journal {
    fn event(&self, event: &Event) -> Result<(), SinkError> {
        self.append(event).map_err(SinkError)
    }

    fn event_json(&self, event: &Event, json: &str, clean_of: u64) -> Result<(), SinkError> {
        if clean_of == self.redact.fingerprint() {
            // Found clean of these very secrets, in both layers, by the fan-out.
            return self.queue(event, json).map_err(SinkError);
        }
        self.append_json(event, json.to_string()).map_err(SinkError)
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

/// Events parsed ahead of the caller, per hand-over (a few hundred KB of records).
const BATCH: usize = 1024;

/// Read a journal back, one event at a time, without holding it in memory. A torn last line
/// (a crash mid-write) is ignored; any other bad line is an error naming its line number.
///
/// The lines are parsed on a thread of their own, a batch ahead of `f`: for a journal of a
/// million lines, parsing and what the caller does with each event take about as long as
/// each other, and the machine has a second core.
pub fn read_each(path: &Path, mut f: impl FnMut(Event)) -> Result<(), JournalError> {
    std::thread::scope(|scope| {
        // A few batches in flight at most: memory stays bounded whatever the journal's size.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Event>>(4);
        let parser = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            parse_each(path, |e| {
                batch.push(e);
                if batch.len() == BATCH {
                    // The receiver only hangs up after this thread is done.
                    let _ = tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                }
            })?;
            let _ = tx.send(batch);
            Ok(())
        });
        for batch in rx {
            batch.into_iter().for_each(&mut f);
        }
        parser
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// [`read_each`] on the calling thread.
fn parse_each(path: &Path, mut f: impl FnMut(Event)) -> Result<(), JournalError> {
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

    fn answer(target: &str) -> Event {
        Event::Answer {
            at: "2026-11-21T00:00:00Z".parse().unwrap(),
            step: "a".into(),
            target: target.into(),
            attempt: 1,
            status: Some(200),
            class: "done".into(),
            code: None,
            message: None,
            latency_ms: 3,
            new_id: None,
            facts: Default::default(),
        }
    }

    fn intent(target: &str) -> Event {
        Event::Intent {
            at: "2026-11-21T00:00:00Z".parse().unwrap(),
            step: "a".into(),
            target: target.into(),
            attempt: 1,
            request: "DELETE /v3/push/1".into(),
            family: "jpush_push".into(),
            cid: Some("cid-1".into()),
            lookup: false,
        }
    }

    /// An intent is in the file when `append` returns, with every line queued before it, in
    /// order; answers may wait for it (or the writer thread), and nothing is lost at the end.
    #[test]
    fn an_intent_is_written_with_everything_before_it() {
        let dir = std::env::temp_dir().join(format!("pushfix-journal-b-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.jsonl");
        let _ = std::fs::remove_file(&path);
        let j = Journal::create(&path, Vec::new()).unwrap();
        j.append(&answer("1")).unwrap();
        j.append(&answer("2")).unwrap();
        j.append(&intent("3")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let targets: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["target"].to_string())
            .collect();
        assert_eq!(targets, [r#""1""#, r#""2""#, r#""3""#]);
        j.append(&answer("3")).unwrap();
        drop(j);
        assert_eq!(read(&path).unwrap().len(), 4);
    }

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
