//! The run's vocabulary: what happened, as one stream (DESIGN §5, §6). The executor emits
//! `Event`s (the journal's records) and `Note`s (what a display wants to know besides) to one
//! `Sink`; the journal, the progress display, the report builder and the `--events` stream are
//! sinks. Synchronous and free of I/O, so reports and tests use it without a runtime.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::redact::Redactor;

/// Final outcome of a target (DESIGN §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    Gone,
    /// An override the provider refused to send (too late, the original unknown): nothing
    /// replaced the wrong content.
    NotCorrected,
    Skipped,
    Failed,
    GaveUp,
    NotAttempted,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Done,
        Outcome::Gone,
        Outcome::NotCorrected,
        Outcome::Skipped,
        Outcome::Failed,
        Outcome::GaveUp,
        Outcome::NotAttempted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Gone => "gone",
            Outcome::NotCorrected => "not_corrected",
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

/// What verification made of a correction (docs/verification.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum VerifyVerdict {
    /// The provider's records show the correction's effect.
    Verified,
    /// The provider's records show it did not take effect (the evidence says how).
    NotEffective,
    /// The provider's records cannot tell.
    Unknown,
}

impl VerifyVerdict {
    pub const ALL: [VerifyVerdict; 3] = [
        VerifyVerdict::Verified,
        VerifyVerdict::NotEffective,
        VerifyVerdict::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VerifyVerdict::Verified => "verified",
            VerifyVerdict::NotEffective => "not_effective",
            VerifyVerdict::Unknown => "unknown",
        }
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
        /// Failures the run had before this resume that stand: the budget is the run's.
        #[serde(default)]
        failures_before: u64,
        /// Failures the whole run may have (`limits.max_failures` of its full plan).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_failures: Option<u64>,
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
        /// A lookup (a TPNS collapse-id query): its `done` answer does not settle the target.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        lookup: bool,
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
        /// Facts the answer carried (a looked-up TPNS `collapse_id`), under their ledger names.
        #[serde(flatten)]
        facts: serde_json::Map<String, serde_json::Value>,
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
    /// A verification pass began (`pushfix verify`, `run --verify`): the steps it covers, the
    /// corrections it will check and those it leaves for a later pass (the quota's).
    VerifyStarted {
        at: Timestamp,
        operator: String,
        #[serde(default)]
        steps: Vec<String>,
        to_check: u64,
        #[serde(default)]
        left: u64,
    },
    /// A verification request is about to leave: what the quota of its family counts, across
    /// passes and processes.
    VerifyRequest {
        at: Timestamp,
        family: String,
        request: String,
        /// Corrections it is for (a JPush report request covers up to 100 messages).
        #[serde(default)]
        targets: u64,
        attempt: u32,
    },
    /// What came back to a verification request.
    VerifyAnswer {
        at: Timestamp,
        family: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        class: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        latency_ms: u64,
    },
    /// A correction's verdict, with the provider's evidence; a target gets one, never two.
    Verified {
        at: Timestamp,
        step: String,
        target: String,
        verdict: VerifyVerdict,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        evidence: serde_json::Map<String, serde_json::Value>,
    },
    /// A verification pass ended.
    VerifyFinished {
        at: Timestamp,
        checked: u64,
        /// Corrections of the covered steps still without a verdict.
        unchecked: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stopped: Option<String>,
    },
}

/// What a journal's `run_started` says about where the run went: the resuming and verifying
/// commands need it before anything else.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    pub run_id: String,
    pub app: String,
    pub base_url: String,
    pub sandbox: bool,
}

impl Event {
    /// The run's start, when this is its `run_started` record.
    pub fn started(&self) -> Option<Started> {
        match self {
            Event::RunStarted {
                run_id,
                app,
                base_url,
                sandbox,
                ..
            } => Some(Started {
                run_id: run_id.clone(),
                app: app.clone(),
                base_url: base_url.clone(),
                sandbox: *sandbox,
            }),
            _ => None,
        }
    }
}

/// What a display wants to know besides the journal's records. Not journaled.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum Note {
    /// The step's planned skips and failures are recorded; dispatch of the rest begins.
    Dispatching {
        step: String,
        action: String,
        to_send: u64,
    },
    /// A worker took a target: its first request is about to be paced.
    Dispatched { step: String, target: String },
    /// The provider throttled: the whole family waits.
    Throttled {
        family: String,
        #[serde(with = "millis")]
        pause: Duration,
    },
    /// Dispatch stops early (failure budget, signal, deadline, journal); requests in flight
    /// finish.
    Stopping { reason: String },
}

mod millis {
    use std::time::Duration;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

/// The journal could not record an event: nothing that depends on it may happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkError(pub String);

impl std::fmt::Display for SinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Something that receives the run's stream as it happens.
pub trait Sink: Send + Sync {
    /// A record. An error means it was not durably kept (the journal), so whatever depends on
    /// it (the request an intent announces) must not happen.
    fn event(&self, event: &Event) -> Result<(), SinkError>;

    /// A record with its JSON (as `serde_json::to_string` writes it), for a sink that writes
    /// the text: [`Fanout`] serializes each record once to check it for secrets. `clean_of`:
    /// the fingerprint of the redactor that found the text clean ([`Redactor::clean_json`]);
    /// a sink scrubbing the same secrets need not look again.
    fn event_json(&self, event: &Event, _json: &str, _clean_of: u64) -> Result<(), SinkError> {
        self.event(event)
    }

    fn note(&self, _note: &Note) {}

    /// Push what was kept to disk (step boundaries, the end).
    fn flush(&self) {}

    /// The first error this sink had, if any.
    fn failed(&self) -> Option<SinkError> {
        None
    }

    /// Whether this sink must see the records in the journal's order (the `--events` stream
    /// promises it): the fan-out then hands each record to every sink before the next.
    fn in_journal_order(&self) -> bool {
        false
    }
}

/// Several sinks as one, in order: the journal first, so a record it could not keep reaches
/// no other sink either. Credentials are scrubbed before any sink sees a record, even when a
/// provider echoed them back in an answer.
#[derive(Clone, Default)]
pub struct Fanout {
    sinks: Vec<Arc<dyn Sink>>,
    redact: Redactor,
    /// Held while a record goes to every sink, when one needs the journal's order; without
    /// one, workers hand their records on side by side.
    order: Option<Arc<std::sync::Mutex<()>>>,
}

impl Fanout {
    pub fn new(sinks: Vec<Arc<dyn Sink>>, redact: Redactor) -> Fanout {
        let mut f = Fanout {
            sinks: Vec::new(),
            redact,
            order: None,
        };
        for s in sinks {
            f.push(s);
        }
        f
    }

    pub fn push(&mut self, sink: Arc<dyn Sink>) {
        if sink.in_journal_order() && self.order.is_none() {
            self.order = Some(Arc::default());
        }
        self.sinks.push(sink);
    }
}

impl Sink for Fanout {
    fn event(&self, event: &Event) -> Result<(), SinkError> {
        // The record's text holds every string of it, JSON-escaped, and the redactor knows
        // each secret's forms escaped: a record whose text holds none (nearly all) goes on as
        // it is, with its text for the journal; only one that may is scrubbed value by value.
        let json = serde_json::to_string(event).unwrap_or_default();
        let _order = self
            .order
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
        if self.redact.clean_json(&json) {
            let clean_of = self.redact.fingerprint();
            for s in &self.sinks {
                s.event_json(event, &json, clean_of)?;
            }
            return Ok(());
        }
        let clean = self.redact.scrub_value(event);
        let event = clean.as_ref().unwrap_or(event);
        for s in &self.sinks {
            s.event(event)?;
        }
        Ok(())
    }

    fn note(&self, note: &Note) {
        // Notes are not read back: their strings are scrubbed one by one.
        let clean = match note {
            Note::Stopping { reason } => self
                .redact
                .scrub_str(reason)
                .map(|reason| Note::Stopping { reason }),
            _ => None,
        };
        let note = clean.as_ref().unwrap_or(note);
        for s in &self.sinks {
            s.note(note);
        }
    }

    fn flush(&self) {
        for s in &self.sinks {
            s.flush();
        }
    }

    fn failed(&self) -> Option<SinkError> {
        self.sinks.iter().find_map(|s| s.failed())
    }
}
