//! One request as a provider handler sees it, and its answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hyper::header::HeaderMap;
use jiff::Timestamp;
use serde_json::Value;

/// The moment a request is handled.
pub(crate) struct Ctx<'a> {
    /// The sandbox clock.
    pub now: Timestamp,
    /// The system clock (signature checks: a client signs with its real clock).
    pub real_now: Timestamp,
    /// Since the sandbox started (rate-limit windows).
    pub elapsed: Duration,
    /// This request's `seq` in the request log.
    pub seq: u64,
    /// The `ineffective` fault drew this request: a correction it makes answers success and
    /// changes nothing.
    pub ineffective: bool,
    /// Shared by all providers, so that `/_sandbox/messages` lists every provider's messages in
    /// the one order the sandbox learnt of them.
    pub(crate) ordinals: &'a AtomicU64,
}

impl Ctx<'_> {
    /// The ordinal of a message created now.
    pub fn next_ordinal(&self) -> u64 {
        self.ordinals.fetch_add(1, Ordering::Relaxed)
    }
}

/// A request as the provider handlers see it.
pub(crate) struct Req<'a> {
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// An answer, before faults and latency.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    /// None: an empty body.
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
    /// Why the sandbox answered so (request log only).
    pub note: Option<String>,
    /// Which credentials were presented (never a secret; request log only).
    pub auth: Option<Value>,
    /// What the request log shows instead of `body` when the answer itself holds a credential
    /// (an issued token). None: the body as sent.
    pub log_body: Option<Value>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
            note: None,
            auth: None,
            log_body: None,
        }
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
            note: None,
            auth: None,
            log_body: None,
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Reply {
        self.note = Some(note.into());
        self
    }
}
