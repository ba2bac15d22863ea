//! `run --events FILE|-`: the run's stream as JSON Lines, live — every journal record (as the
//! journal writes it) and every note (`{"note": "throttled", …}`), for log pipelines and
//! dashboards. Secrets are scrubbed as in the journal; a write error ends the stream, never
//! the run.

use std::io::Write;
use std::sync::Mutex;

use crate::event::{Event, Note, Sink, SinkError};
use crate::redact::Redactor;

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
