//! What every provider's messages have in common: where they came from, what they said, and
//! what corrective calls did to them, in one vocabulary (delivered, scheduled, stopped,
//! overridden, recalled, cancelled). Providers wrap a [`Message`] in their own type for what
//! is theirs alone (collapse ids, audience types, …).

use jiff::Timestamp;
use serde_json::{Value, json};

use super::exchange::Ctx;
use super::seed::SeedMessage;

/// Whether a message was a scheduled push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheduled {
    /// Sent at once.
    #[default]
    No,
    /// Scheduled, dispatch time unknown: the sandbox treats it as not yet dispatched.
    Yes,
    /// Scheduled for this time: dispatched once the sandbox clock passes it.
    At(Timestamp),
}

/// One state change of a message.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub time: Timestamp,
    pub action: &'static str,
    /// The other message involved (the override that replaced this one).
    pub by: Option<String>,
    /// The request (`seq` in `/_sandbox/requests`) that caused it.
    pub request: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Message {
    /// Its place among all providers' messages: seeded ones in ledger order, then the ones sent
    /// through the sandbox as they were made.
    pub ordinal: u64,
    pub id: String,
    /// `ledger` or `sandbox` (sent through the sandbox).
    pub source: &'static str,
    /// As the ledger says (None: unknown).
    pub sent_at: Option<Timestamp>,
    /// What the sandbox uses: `sent_at`, or the sandbox start when unknown.
    pub effective_sent: Timestamp,
    pub platforms: Vec<String>,
    pub tags: Vec<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub audience: Option<Value>,
    pub scheduled: Scheduled,
    pub recalled_at: Option<Timestamp>,
    pub stopped_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub overridden_by: Vec<String>,
    /// Sandbox-sent messages: the message this one overrides.
    pub overrides: Option<String>,
    /// Sandbox-sent messages: details of the push (request seq, body as received, checks).
    pub sent: Option<Value>,
    pub events: Vec<Event>,
    /// The `ineffective` fault swallowed a correction of this message: every later one is
    /// swallowed too (answered as success, nothing changes).
    pub ignores_corrections: bool,
}

impl Message {
    pub fn from_seed(s: &SeedMessage, ordinal: u64, start: Timestamp) -> Message {
        Message {
            ordinal,
            id: s.id.clone(),
            source: "ledger",
            effective_sent: s.sent_at.unwrap_or(start),
            sent_at: s.sent_at,
            platforms: s.platforms.clone(),
            tags: s.tags.clone(),
            title: s.title.clone(),
            body: s.body.clone(),
            audience: s.audience.clone(),
            scheduled: s.scheduled,
            recalled_at: None,
            stopped_at: None,
            cancelled_at: None,
            overridden_by: Vec::new(),
            overrides: None,
            sent: None,
            events: Vec::new(),
            ignores_corrections: false,
        }
    }

    /// A message sent through the sandbox by the request of `ctx`.
    pub fn sent(id: String, ctx: &Ctx<'_>) -> Message {
        Message {
            ordinal: ctx.next_ordinal(),
            id,
            source: "sandbox",
            sent_at: Some(ctx.now),
            effective_sent: ctx.now,
            platforms: Vec::new(),
            tags: Vec::new(),
            title: None,
            body: None,
            audience: None,
            scheduled: Scheduled::No,
            recalled_at: None,
            stopped_at: None,
            cancelled_at: None,
            overridden_by: Vec::new(),
            overrides: None,
            sent: None,
            events: Vec::new(),
            ignores_corrections: false,
        }
    }

    /// A scheduled push the sandbox clock has not reached yet.
    pub fn pending(&self, now: Timestamp) -> bool {
        match self.scheduled {
            Scheduled::No => false,
            Scheduled::Yes => true,
            Scheduled::At(t) => t > now,
        }
    }

    /// The sandbox's own state name (the same vocabulary for every provider).
    pub fn state(&self, now: Timestamp) -> &'static str {
        if self.cancelled_at.is_some() {
            "cancelled"
        } else if self.recalled_at.is_some() {
            "recalled"
        } else if !self.overridden_by.is_empty() {
            "overridden"
        } else if self.stopped_at.is_some() {
            "stopped"
        } else if self.pending(now) {
            "scheduled"
        } else {
            "delivered"
        }
    }

    /// Record a state change caused by the request of `ctx`.
    pub fn event(&mut self, ctx: &Ctx<'_>, action: &'static str, by: Option<String>) {
        self.events.push(Event {
            time: ctx.now,
            action,
            by,
            request: ctx.seq,
        });
    }

    // Every corrective change goes through the methods below, never through the fields, so
    // that what a correction does (or, under a fault, silently fails to do) is decided in one
    // place for every provider.

    /// Whether a correction (`what`: recall, stop, cancel, override) of this message by
    /// `ctx`'s request takes effect. Under the `ineffective` fault it does not, now or ever
    /// after: the provider answers success, and the message's events say `<what>_ignored`.
    pub fn takes(&mut self, ctx: &Ctx<'_>, what: &'static str) -> bool {
        if !(ctx.ineffective || self.ignores_corrections) {
            return true;
        }
        self.ignores_corrections = true;
        let action = match what {
            "recall" => "recall_ignored",
            "stop" => "stop_ignored",
            "cancel" => "cancel_ignored",
            _ => "override_ignored",
        };
        self.event(ctx, action, None);
        false
    }

    pub fn recall(&mut self, ctx: &Ctx<'_>) {
        if !self.takes(ctx, "recall") {
            return;
        }
        self.recalled_at = Some(ctx.now);
        self.event(ctx, "recalled", None);
    }

    /// A recall that also stops what is still undelivered (one event, `recalled`).
    pub fn recall_and_stop(&mut self, ctx: &Ctx<'_>) {
        if !self.takes(ctx, "recall") {
            return;
        }
        if self.stopped_at.is_none() {
            self.stopped_at = Some(ctx.now);
        }
        self.recalled_at = Some(ctx.now);
        self.event(ctx, "recalled", None);
    }

    pub fn stop(&mut self, ctx: &Ctx<'_>) {
        if !self.takes(ctx, "stop") {
            return;
        }
        self.stopped_at = Some(ctx.now);
        self.event(ctx, "stopped", None);
    }

    pub fn cancel(&mut self, ctx: &Ctx<'_>) {
        if !self.takes(ctx, "cancel") {
            return;
        }
        self.cancelled_at = Some(ctx.now);
        self.event(ctx, "cancelled", None);
    }

    /// Replaced by the message `by` (an override push; whether it takes effect is decided
    /// before the push is made: `takes(ctx, "override")`).
    pub fn overridden(&mut self, by: &str, ctx: &Ctx<'_>) {
        self.overridden_by.push(by.to_string());
        self.event(ctx, "overridden", Some(by.to_string()));
    }

    /// `events` for `/_sandbox/messages`.
    pub fn events_json(&self) -> Value {
        Value::Array(
            self.events
                .iter()
                .map(|e| {
                    json!({"time": fmt_ts(e.time), "action": e.action, "by": e.by, "request": e.request})
                })
                .collect(),
        )
    }
}

/// RFC 3339, UTC, millisecond precision.
pub(crate) fn fmt_ts(t: Timestamp) -> String {
    format!("{t:.3}")
}

/// A time for the debug views (null when unset).
pub(crate) fn ts_json(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(fmt_ts(t)))
}

/// `scheduled` for the debug views: false, true, or the dispatch time.
pub(crate) fn scheduled_json(s: Scheduled) -> Value {
    match s {
        Scheduled::No => json!(false),
        Scheduled::Yes => json!(true),
        Scheduled::At(t) => json!(fmt_ts(t)),
    }
}
