//! `run --events FILE|-`: the run's stream as JSON Lines, live — every journal record (as the
//! journal writes it) and every note (`{"note": "throttled", …}`), for log pipelines and
//! dashboards. Secrets are scrubbed as in the journal; a write error ends the stream, never
//! the run. The first line is a header naming the format's version (`SCHEMA`) and the run;
//! the format is documented in docs/events-format.md.

use std::io::Write;
use std::sync::Mutex;

use serde::Serialize;

use crate::event::{Event, Note, Sink, SinkError};
use crate::redact::Redactor;

/// The stream's format and version: the header line's `schema`. A reader checks it; a
/// change that could break a reader (a renamed or removed field, a changed meaning) gets a
/// new version, new fields and new event kinds do not (docs/events-format.md).
pub const SCHEMA: &str = "pushfix.events/v1";

/// The stream's first line: which format, which run. Journal records and notes follow.
#[derive(Debug, Serialize)]
pub struct Header<'a> {
    pub schema: &'static str,
    pub pushfix_version: &'static str,
    pub run_id: &'a str,
    /// The run directory, where the journal and reports are.
    pub run_dir: &'a str,
    pub playbook: &'a str,
    pub provider: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

pub struct EventStream {
    out: Mutex<Option<Box<dyn Write + Send>>>,
    redact: Redactor,
}

impl EventStream {
    pub fn new(out: Box<dyn Write + Send>, secrets: Vec<String>) -> EventStream {
        EventStream {
            out: Mutex::new(Some(out)),
            redact: Redactor::new(secrets),
        }
    }

    /// Write the header line; before any record.
    pub fn header(&self, h: &Header<'_>) {
        if let Ok(json) = serde_json::to_string(h) {
            self.write(json);
        }
    }

    fn write(&self, json: String) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let Some(w) = out.as_mut() else { return };
        let mut line = self.redact.scrub(json);
        line.push('\n');
        // Lines go out as they happen (a reader tails them); a closed pipe ends the stream.
        if w.write_all(line.as_bytes())
            .and_then(|()| w.flush())
            .is_err()
        {
            *out = None;
        }
    }
}

impl Sink for EventStream {
    fn event(&self, event: &Event) -> Result<(), SinkError> {
        if let Ok(json) = serde_json::to_string(event) {
            self.write(json);
        }
        Ok(())
    }

    fn note(&self, note: &Note) {
        if let Ok(json) = serde_json::to_string(note) {
            self.write(json);
        }
    }
}
