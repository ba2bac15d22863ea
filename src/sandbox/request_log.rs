//! `GET /_sandbox/requests`: every provider request in arrival order, with what the sandbox
//! answered and why. Never a credential: only listed headers are kept, providers take
//! credentials out of queries and bodies ([`super::provider::SandboxProvider::redact_request`])
//! and answers ([`super::exchange::Reply::log_body`]).

use std::time::Duration;

use hyper::header::HeaderMap;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::PROVIDERS;
use super::exchange::Reply;
use super::faults::Fault;
use super::message::fmt_ts;

/// One line of `GET /_sandbox/requests`.
#[derive(Debug, Clone)]
pub(crate) struct LogEntry {
    pub seq: u64,
    pub time: Timestamp,
    /// Microseconds since the sandbox started, on the monotonic clock its rate windows use
    /// (fixed windows are laid end to end from 0), finer than `time`'s milliseconds.
    pub elapsed_us: u64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub provider: Option<&'static str>,
    pub endpoint: Option<&'static str>,
    /// A safe subset of the request headers ([`logged_headers`]).
    pub headers: Value,
    pub auth: Option<Value>,
    pub body: Value,
    pub status: Option<u16>,
    pub response_headers: Value,
    pub response: Value,
    pub fault: Option<&'static str>,
    /// `pending`, `answered`, `held` (timeout fault: the answer is never sent), `reset`.
    pub outcome: &'static str,
    pub latency_ms: u64,
    pub note: Option<String>,
}

impl LogEntry {
    /// The entry of a request that just arrived (nothing answered yet).
    pub fn arrived(
        seq: u64,
        time: Timestamp,
        elapsed: Duration,
        method: String,
        path: String,
    ) -> LogEntry {
        LogEntry {
            seq,
            time,
            elapsed_us: elapsed.as_micros() as u64,
            method,
            path,
            query: None,
            provider: None,
            endpoint: None,
            headers: json!({}),
            auth: None,
            body: Value::Null,
            status: None,
            response_headers: json!({}),
            response: Value::Null,
            fault: None,
            outcome: "pending",
            latency_ms: 0,
            note: None,
        }
    }

    /// What became of the request: its answer (None when the connection was reset), the fault
    /// drawn for it, and the latency added.
    pub fn finish(
        &mut self,
        reply: Option<&Reply>,
        fault: Option<Fault>,
        outcome: &'static str,
        latency: Duration,
    ) {
        if let Some(r) = reply {
            self.status = Some(r.status);
            self.response = r
                .log_body
                .clone()
                .or_else(|| r.body.clone())
                .unwrap_or(Value::Null);
            self.response_headers = Value::Object(
                r.headers
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
                    .collect(),
            );
            self.note = r.note.clone();
            self.auth = r.auth.clone();
        }
        self.fault = fault.map(Fault::name);
        self.outcome = outcome;
        self.latency_ms = latency.as_millis() as u64;
    }

    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "time": fmt_ts(self.time),
            "elapsed_us": self.elapsed_us,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "provider": self.provider,
            "endpoint": self.endpoint,
            "headers": self.headers,
            "auth": self.auth,
            "body": self.body,
            "status": self.status,
            "response_headers": self.response_headers,
            "response": self.response,
            "fault": self.fault,
            "outcome": self.outcome,
            "latency_ms": self.latency_ms,
            "note": self.note,
        })
    }
}

/// Headers worth showing whoever the request is for. `Authorization` is never among them.
const GENERIC_HEADERS: &[&str] = &["content-type", "accept", "user-agent"];

/// The logged subset of `headers`: the generic ones, then every provider's own
/// (`LOGGED_HEADERS`), whichever provider the request is for.
pub(crate) fn logged_headers(headers: &HeaderMap) -> Value {
    let names = GENERIC_HEADERS
        .iter()
        .chain(PROVIDERS.iter().flat_map(|p| p.logged_headers()));
    let mut out = serde_json::Map::new();
    for name in names {
        if let Some(v) = headers.get(*name) {
            out.insert(
                (*name).to_string(),
                Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
            );
        }
    }
    Value::Object(out)
}

/// A body as received: JSON when it parses, else text (empty: null).
pub(crate) fn body_json(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}
