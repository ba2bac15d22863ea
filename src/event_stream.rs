//! `run --events FILE|-`: the run's stream as JSON Lines, live — every journal record (as the
//! journal writes it) and every note (`{"note": "throttled", …}`), for log pipelines and
//! dashboards. Secrets are scrubbed as in the journal; a write error ends the stream, never
//! the run. The first line is a header naming the format's version (`SCHEMA`) and the run;
//! every line after it carries the run's id too (`run_id`), so a pipeline that merges the
//! streams of many runs (a cluster's log collector) keeps each line's run without state. The
//! format is documented in docs/events-format.md.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

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
    /// The header's run id, added to every line after it.
    run_id: OnceLock<String>,
}

impl EventStream {
    pub fn new(out: Box<dyn Write + Send>, secrets: Vec<String>) -> EventStream {
        EventStream {
            out: Mutex::new(Some(out)),
            redact: Redactor::new(secrets),
            run_id: OnceLock::new(),
        }
    }

    /// Write the header line; before any record.
    pub fn header(&self, h: &Header<'_>) {
        let _ = self.run_id.set(h.run_id.to_string());
        if let Ok(json) = serde_json::to_string(h) {
            self.write(json);
        }
    }

    /// A record or a note as its line: its own fields, then the run's id.
    fn line(&self, value: impl Serialize) -> Option<String> {
        let mut v = serde_json::to_value(value).ok()?;
        if let (Some(obj), Some(id)) = (v.as_object_mut(), self.run_id.get()) {
            obj.insert("run_id".into(), id.as_str().into());
        }
        serde_json::to_string(&v).ok()
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
        if let Some(json) = self.line(event) {
            self.write(json);
        }
        Ok(())
    }

    fn note(&self, note: &Note) {
        if let Some(json) = self.line(note) {
            self.write(json);
        }
    }

    fn in_journal_order(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use jiff::Timestamp;

    use super::{EventStream, Header, SCHEMA};
    use crate::event::{Event, Note, Sink};

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(buf: &Buf) -> Vec<serde_json::Value> {
        String::from_utf8(buf.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn every_line_after_the_header_carries_the_run_id_and_no_secret() {
        let buf = Buf::default();
        let s = EventStream::new(Box::new(buf.clone()), vec!["s3cr3t-value".into()]);
        s.header(&Header {
            schema: SCHEMA,
            pushfix_version: "0",
            run_id: "20261120T000000Z-p",
            run_dir: "audit/20261120T000000Z-p",
            playbook: "p",
            provider: "jpush",
            sandbox: false,
        });
        s.event(&Event::Final {
            at: Timestamp::UNIX_EPOCH,
            step: "recall".into(),
            target: "1".into(),
            outcome: crate::event::Outcome::Failed,
            reason: Some("the provider said s3cr3t-value".into()),
            code: Some(1011),
            new_id: None,
        })
        .unwrap();
        s.note(&Note::Stopping {
            reason: "failure budget".into(),
        });
        let l = lines(&buf);
        assert_eq!(l[0]["schema"], SCHEMA);
        assert!(l[0].get("sandbox").is_none(), "false is left out");
        assert_eq!(l[1]["event"], "final");
        assert_eq!(l[1]["run_id"], "20261120T000000Z-p");
        assert_eq!(l[1]["reason"], "the provider said ********");
        assert_eq!(l[2]["note"], "stopping");
        assert_eq!(l[2]["run_id"], "20261120T000000Z-p");
    }

    const DOC: &str = include_str!("../docs/events-format.md");

    /// Whether the doc's tables have a row for this kind.
    fn documented(kind: &str) -> bool {
        DOC.lines().any(|l| l.starts_with(&format!("| `{kind}` |")))
    }

    #[test]
    fn every_record_kind_is_documented() {
        // serde names every kind it knows when it is given one it does not.
        let err = serde_json::from_str::<Event>(r#"{"event":"?"}"#)
            .unwrap_err()
            .to_string();
        let kinds: Vec<&str> = err
            .split("expected one of ")
            .nth(1)
            .expect("serde lists the kinds")
            .split(',')
            .filter_map(|k| k.trim().split('`').nth(1))
            .collect();
        assert!(kinds.contains(&"final") && kinds.len() > 10, "{err}");
        for k in kinds.iter().filter(|k| **k != "run_started") {
            assert!(
                documented(k),
                "docs/events-format.md has no row for the record `{k}`"
            );
        }
    }

    #[test]
    fn every_note_kind_is_documented() {
        // A new note fails to compile here until it is named, and then until it is documented.
        fn kind(n: &Note) -> &'static str {
            match n {
                Note::Dispatching { .. } => "dispatching",
                Note::Dispatched { .. } => "dispatched",
                Note::Throttled { .. } => "throttled",
                Note::Stopping { .. } => "stopping",
            }
        }
        let samples = [
            Note::Dispatching {
                step: "s".into(),
                action: "recall".into(),
                to_send: 1,
            },
            Note::Dispatched {
                step: "s".into(),
                target: "1".into(),
            },
            Note::Throttled {
                family: "f".into(),
                pause: std::time::Duration::from_millis(5),
            },
            Note::Stopping { reason: "r".into() },
        ];
        for n in &samples {
            let v = serde_json::to_value(n).unwrap();
            assert_eq!(v["note"], kind(n));
            assert!(documented(kind(n)), "no row for the note `{}`", kind(n));
        }
    }
}
