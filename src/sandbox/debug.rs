//! The debug endpoints: `GET /_sandbox/requests`, `GET /_sandbox/messages` and `GET /_sandbox`
//! (clock, rates, faults, switches). No auth, no faults, no latency.

use hyper::Method;
use serde_json::{Map, Value, json};

use super::handler::{Resp, respond};
use super::message::fmt_ts;
use super::server::{Shared, sandbox_clock};

pub(crate) fn answer(shared: &Shared, method: &Method, path: &str) -> Resp {
    if method != Method::GET {
        return respond(
            405,
            Some(&json!({"error": "the /_sandbox endpoints are GET only"})),
            &[],
        );
    }
    match path.trim_end_matches('/') {
        "/_sandbox/requests" => respond(200, Some(&shared.requests_json()), &[]),
        "/_sandbox/messages" => respond(200, Some(&shared.messages_json()), &[]),
        "/_sandbox" => respond(200, Some(&index(shared)), &[]),
        _ => respond(
            404,
            Some(&json!({"error": "unknown /_sandbox endpoint"})),
            &[],
        ),
    }
}

/// `GET /_sandbox`: the clock, every provider's rates and switches, the faults.
fn index(shared: &Shared) -> Value {
    let c = &shared.config;
    let summaries = shared.summaries();
    let mut rates = Map::new();
    for s in &summaries {
        for (k, v) in &s.rates {
            rates.insert((*k).to_string(), Value::String(v.clone()));
        }
    }
    let mut body = Map::new();
    body.insert("clock".into(), json!(fmt_ts(sandbox_clock(c))));
    body.insert("started_at".into(), json!(fmt_ts(shared.start_ts)));
    body.insert(
        "clock_offset_seconds".into(),
        json!(c.clock_offset.as_secs()),
    );
    body.insert("rates".into(), Value::Object(rates));
    body.insert("faults".into(), json!(c.faults.to_string()));
    for s in &summaries {
        for (k, v) in &s.fields {
            body.insert((*k).to_string(), v.clone());
        }
    }
    body.insert(
        "endpoints".into(),
        json!(["/_sandbox/requests", "/_sandbox/messages"]),
    );
    Value::Object(body)
}
