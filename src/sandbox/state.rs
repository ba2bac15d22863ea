//! The sandbox's memory: every message (seeded or sent through the sandbox) with its state, and
//! the rate-limit windows.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::seed::{Provider, Scheduled, SeedMessage};
use crate::domain::Rate;

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
pub(crate) struct Msg {
    pub provider: Provider,
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
    pub apns_collapse_id: Option<String>,
    pub audience_type: Option<String>,
    pub collapse_id: Option<u32>,
    /// True when the sandbox made the collapse id up (the ledger had none).
    pub collapse_id_assigned: bool,
    pub scheduled: Scheduled,
    pub recalled_at: Option<Timestamp>,
    pub stopped_at: Option<Timestamp>,
    pub cancelled_at: Option<Timestamp>,
    pub overridden_by: Vec<String>,
    /// Sandbox-sent messages: the message this one overrides.
    pub overrides: Option<String>,
    /// Sandbox-sent messages: details of the push (request seq, cid, body as received, checks).
    pub sent: Option<Value>,
    pub events: Vec<Event>,
}

impl Msg {
    fn from_seed(s: SeedMessage, start: Timestamp) -> Msg {
        Msg {
            provider: s.provider,
            id: s.id,
            source: "ledger",
            effective_sent: s.sent_at.unwrap_or(start),
            sent_at: s.sent_at,
            platforms: s.platforms,
            tags: s.tags,
            title: s.title,
            body: s.body,
            audience: s.audience,
            apns_collapse_id: s.apns_collapse_id,
            audience_type: s.audience_type,
            collapse_id: s.collapse_id,
            collapse_id_assigned: false,
            scheduled: s.scheduled,
            recalled_at: None,
            stopped_at: None,
            cancelled_at: None,
            overridden_by: Vec::new(),
            overrides: None,
            sent: None,
            events: Vec::new(),
        }
    }

    pub fn new_sent(provider: Provider, id: String, now: Timestamp) -> Msg {
        Msg {
            provider,
            id,
            source: "sandbox",
            sent_at: Some(now),
            effective_sent: now,
            platforms: Vec::new(),
            tags: Vec::new(),
            title: None,
            body: None,
            audience: None,
            apns_collapse_id: None,
            audience_type: None,
            collapse_id: None,
            collapse_id_assigned: false,
            scheduled: Scheduled::No,
            recalled_at: None,
            stopped_at: None,
            cancelled_at: None,
            overridden_by: Vec::new(),
            overrides: None,
            sent: None,
            events: Vec::new(),
        }
    }

    /// A scheduled task the sandbox clock has not reached yet.
    pub fn pending(&self, now: Timestamp) -> bool {
        match self.scheduled {
            Scheduled::No => false,
            Scheduled::Yes => true,
            Scheduled::At(t) => t > now,
        }
    }

    /// The sandbox's own state name (same vocabulary for both providers).
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

    /// TPNS `status` as `get_push_record` reports it.
    pub fn tpns_status(&self, now: Timestamp) -> &'static str {
        match self.state(now) {
            "cancelled" => "PUSH_CANCELED",
            "recalled" => "PUSH_REVOKED",
            "overridden" => "PUSH_COLLAPSED",
            "stopped" => "PUSH_DELETED_PUSH_MSG",
            "scheduled" => "PUSH_WAIT",
            _ => "PUSH_FINISHED",
        }
    }

    pub fn event(
        &mut self,
        time: Timestamp,
        action: &'static str,
        by: Option<String>,
        request: u64,
    ) {
        self.events.push(Event {
            time,
            action,
            by,
            request,
        });
    }

    pub fn to_json(&self, now: Timestamp) -> Value {
        let ts = |t: &Option<Timestamp>| t.map(|t| Value::String(fmt_ts(t)));
        let mut v = json!({
            "provider": self.provider.name(),
            "id": self.id,
            "source": self.source,
            "sent_at": ts(&self.sent_at),
            "state": self.state(now),
        });
        let o = v.as_object_mut().expect("object");
        if self.provider == Provider::Tpns {
            o.insert("status".into(), self.tpns_status(now).into());
        }
        o.insert("recalled_at".into(), ts(&self.recalled_at).into());
        if self.provider == Provider::Tpns {
            o.insert("stopped_at".into(), ts(&self.stopped_at).into());
            o.insert("cancelled_at".into(), ts(&self.cancelled_at).into());
        }
        o.insert("overridden_by".into(), json!(self.overridden_by));
        o.insert("overrides".into(), json!(self.overrides));
        o.insert("platforms".into(), json!(self.platforms));
        o.insert("tags".into(), json!(self.tags));
        o.insert("title".into(), json!(self.title));
        o.insert("body".into(), json!(self.body));
        o.insert("audience".into(), json!(self.audience));
        match self.provider {
            Provider::Jpush => {
                o.insert("apns_collapse_id".into(), json!(self.apns_collapse_id));
            }
            Provider::Tpns => {
                o.insert("audience_type".into(), json!(self.audience_type));
                o.insert("collapse_id".into(), json!(self.collapse_id));
                o.insert(
                    "collapse_id_assigned".into(),
                    json!(self.collapse_id_assigned),
                );
                o.insert(
                    "scheduled".into(),
                    match self.scheduled {
                        Scheduled::No => json!(false),
                        Scheduled::Yes => json!(true),
                        Scheduled::At(t) => json!(fmt_ts(t)),
                    },
                );
            }
        }
        o.insert(
            "events".into(),
            Value::Array(
                self.events
                    .iter()
                    .map(|e| {
                        json!({"time": fmt_ts(e.time), "action": e.action, "by": e.by, "request": e.request})
                    })
                    .collect(),
            ),
        );
        if let Some(sent) = &self.sent {
            o.insert("sent".into(), sent.clone());
        }
        v
    }
}

/// RFC 3339, UTC, millisecond precision.
pub(crate) fn fmt_ts(t: Timestamp) -> String {
    format!("{t:.3}")
}

/// All messages of both providers, in seeding/creation order.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub msgs: Vec<Msg>,
    jpush: HashMap<u64, usize>,
    tpns: HashMap<String, usize>,
    /// TPNS collapse id → tasks carrying it, oldest first.
    collapse: HashMap<u32, Vec<usize>>,
    next_jpush: u64,
    next_tpns: u64,
    next_collapse: u32,
}

impl Store {
    pub fn new(seed: Vec<SeedMessage>, start: Timestamp) -> Store {
        let mut s = Store {
            // Above 2^54 and odd: not exactly representable as an f64, so a client that lets a
            // msg_id pass through a float corrupts it visibly.
            next_jpush: 67_554_999_000_000_001,
            next_tpns: 3_999_000_001,
            next_collapse: 1,
            ..Store::default()
        };
        let mut max_collapse = 0u32;
        for m in seed {
            if let Some(c) = m.collapse_id {
                max_collapse = max_collapse.max(c);
            }
            let dup = match m.provider {
                Provider::Jpush => {
                    m.id.parse::<u64>()
                        .map_or(true, |n| s.jpush.contains_key(&n))
                }
                Provider::Tpns => s.tpns.contains_key(&m.id),
            };
            if !dup {
                s.insert(Msg::from_seed(m, start));
            }
        }
        s.next_collapse = max_collapse.saturating_add(1).max(1);
        // TPNS gives every task a collapse id; give one to the tasks the ledger has none for.
        for i in 0..s.msgs.len() {
            if s.msgs[i].provider == Provider::Tpns && s.msgs[i].collapse_id.is_none() {
                let c = s.new_collapse_id();
                s.msgs[i].collapse_id = Some(c);
                s.msgs[i].collapse_id_assigned = true;
                s.collapse.entry(c).or_default().push(i);
            }
        }
        s
    }

    pub fn insert(&mut self, m: Msg) -> usize {
        let i = self.msgs.len();
        match m.provider {
            Provider::Jpush => {
                if let Ok(n) = m.id.parse::<u64>() {
                    self.jpush.insert(n, i);
                }
            }
            Provider::Tpns => {
                self.tpns.insert(m.id.clone(), i);
                if let Some(c) = m.collapse_id {
                    self.collapse.entry(c).or_default().push(i);
                }
            }
        }
        self.msgs.push(m);
        i
    }

    pub fn jpush(&self, id: u64) -> Option<usize> {
        self.jpush.get(&id).copied()
    }

    pub fn tpns(&self, id: &str) -> Option<usize> {
        self.tpns.get(id).copied()
    }

    pub fn by_collapse(&self, c: u32) -> &[usize] {
        self.collapse.get(&c).map_or(&[], Vec::as_slice)
    }

    pub fn new_jpush_id(&mut self) -> u64 {
        loop {
            let id = self.next_jpush;
            self.next_jpush += 2;
            if !self.jpush.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn new_tpns_id(&mut self) -> String {
        loop {
            let id = self.next_tpns.to_string();
            self.next_tpns += 1;
            if !self.tpns.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn new_collapse_id(&mut self) -> u32 {
        loop {
            let c = self.next_collapse;
            self.next_collapse = self.next_collapse.checked_add(1).unwrap_or(1);
            if !self.collapse.contains_key(&c) {
                return c;
            }
        }
    }
}

/// A fixed rate-limit window (`limit` calls per `len`), windows laid end to end from the
/// sandbox start. This is how both providers describe their limits ("600 per minute", "1 per
/// second") and what `X-Rate-Limit-Reset` (seconds until the window resets) presumes.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub limit: u64,
    pub len: Duration,
    idx: u64,
    used: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WindowState {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Whole seconds until the current window ends (at least 1 while it runs).
    pub reset_secs: u64,
}

impl Window {
    /// `count` per `per`; a fractional count (`2.5/s`) is turned into a whole number of calls
    /// over a longer window (`5 per 2 s`).
    pub fn from_rate(rate: Rate) -> Window {
        let mut mult = 1u32;
        while mult < 1000 {
            let scaled = rate.count * f64::from(mult);
            if scaled >= 1.0 && (scaled - scaled.round()).abs() < 1e-6 {
                break;
            }
            mult += 1;
        }
        let limit = (rate.count * f64::from(mult)).round().max(1.0) as u64;
        Window {
            limit,
            len: rate.per * mult,
            idx: 0,
            used: 0,
        }
    }

    fn roll(&mut self, elapsed: Duration) -> Duration {
        let len = self.len.as_nanos().max(1);
        let idx = (elapsed.as_nanos() / len) as u64;
        if idx != self.idx {
            self.idx = idx;
            self.used = 0;
        }
        let end = Duration::from_nanos(((u128::from(idx) + 1) * len) as u64);
        end.saturating_sub(elapsed)
    }

    fn state(&self, allowed: bool, left: Duration) -> WindowState {
        WindowState {
            allowed,
            limit: self.limit,
            remaining: self.limit.saturating_sub(self.used),
            reset_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
        }
    }

    /// The window as it stands, without using a call.
    pub fn peek(&mut self, elapsed: Duration) -> WindowState {
        let left = self.roll(elapsed);
        let allowed = self.used < self.limit;
        self.state(allowed, left)
    }

    /// Use one call if the window has room.
    pub fn take(&mut self, elapsed: Duration) -> WindowState {
        let left = self.roll(elapsed);
        let allowed = self.used < self.limit;
        if allowed {
            self.used += 1;
        }
        self.state(allowed, left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        let mut w = Window::from_rate(Rate::per_minute(600.0));
        assert_eq!((w.limit, w.len), (600, Duration::from_secs(60)));
        let s = w.take(Duration::from_millis(500));
        assert_eq!((s.allowed, s.remaining, s.reset_secs), (true, 599, 60));
        let w2 = Window::from_rate(Rate::per_second(2.5));
        assert_eq!((w2.limit, w2.len), (5, Duration::from_secs(2)));
        let w3 = Window::from_rate(Rate::per_second(0.5));
        assert_eq!((w3.limit, w3.len), (1, Duration::from_secs(2)));

        let mut w = Window::from_rate(Rate::per_second(1.0));
        assert!(w.take(Duration::from_millis(10)).allowed);
        let s = w.take(Duration::from_millis(900));
        assert!(!s.allowed);
        assert_eq!((s.remaining, s.reset_secs), (0, 1));
        assert!(w.take(Duration::from_millis(1001)).allowed);
        assert!(!w.peek(Duration::from_millis(1500)).allowed);
    }
}
