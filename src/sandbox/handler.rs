//! One HTTP request: the debug endpoints, or routing to a provider, the request log, fault
//! injection and latency around the provider's answer.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::PROVIDERS;
use super::debug;
use super::exchange::{Ctx, Reply, Req};
use super::faults::{Fault, HOLD};
use super::provider::{ErasedRoute, PathKind, Routing, Running};
use super::request_log::{LogEntry, body_json, logged_headers};
use super::server::{MAX_BODY, Shared, sandbox_clock, stopped};

pub(crate) type Resp = Response<Full<Bytes>>;

/// Closes the connection without an answer (the `reset` and `timeout` faults).
#[derive(Debug)]
pub(crate) struct Hangup;

impl std::fmt::Display for Hangup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Hangup {}

pub(crate) fn respond(
    status: u16,
    body: Option<&Value>,
    headers: &[(&'static str, String)],
) -> Resp {
    let bytes = match body {
        Some(v) => Bytes::from(serde_json::to_vec(v).expect("JSON")),
        None => Bytes::new(),
    };
    let len = bytes.len();
    let mut r = Response::new(Full::new(bytes));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CONTENT_LENGTH, HeaderValue::from(len));
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(*name, v);
        }
    }
    r
}

/// The provider (index in the registry) whose path this is, and which of its endpoints. A
/// fixed-path match beats a pattern match; among equals, the first in the registry wins.
fn route(
    providers: &[Box<dyn Running>],
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> Option<(usize, Routing<ErasedRoute>)> {
    let mut by_pattern = None;
    for (i, p) in providers.iter().enumerate() {
        match p.route(method, path, query) {
            Some((PathKind::Fixed, r)) => return Some((i, r)),
            Some((PathKind::Pattern, r)) if by_pattern.is_none() => by_pattern = Some((i, r)),
            _ => {}
        }
    }
    by_pattern
}

pub(crate) async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Hangup> {
    // Injected latency counts from here, so the sandbox's own handling is not added to it.
    let arrived = std::time::Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    if path == "/_sandbox" || path.starts_with("/_sandbox/") {
        // Drain the body; debug endpoints ignore it.
        let _ = Limited::new(body, MAX_BODY).collect().await;
        return Ok(debug::answer(&shared, &parts.method, &path));
    }
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return Ok(respond(
                413,
                Some(&json!({"error": "request body too large or unreadable"})),
                &[],
            ));
        }
    };
    let query = parts.uri.query().map(str::to_string);
    let mut logged_query = query.clone();
    let mut logged_body = body_json(&bytes);
    let routed = {
        let inner = shared.lock();
        let routed = route(&inner.providers, &parts.method, &path, query.as_deref());
        match &routed {
            Some((i, r)) => {
                let endpoint = match r {
                    Routing::Endpoint(e) => Some(e),
                    Routing::WrongMethod => None,
                };
                inner.providers[*i].redact_request(endpoint, &mut logged_query, &mut logged_body);
            }
            // A mistyped path may still carry some provider's credentials.
            None => {
                for p in &inner.providers {
                    p.redact_request(None, &mut logged_query, &mut logged_body);
                }
            }
        }
        routed
    };

    // Reserve the log slot at arrival, so the log is in the order requests came in.
    let seq = {
        let mut log = shared.log();
        let seq = log.len() as u64 + 1;
        let mut e = LogEntry::arrived(
            seq,
            sandbox_clock(&shared.config),
            shared.started.elapsed(),
            parts.method.to_string(),
            path.clone(),
        );
        e.query = logged_query;
        e.provider = routed.as_ref().map(|(i, _)| PROVIDERS[*i].name());
        e.endpoint = match &routed {
            Some((_, Routing::Endpoint(r))) => Some(r.endpoint),
            _ => None,
        };
        e.headers = logged_headers(&parts.headers);
        e.body = logged_body;
        log.push(e);
        seq
    };
    let finish =
        |reply: Option<&Reply>, fault: Option<Fault>, outcome: &'static str, latency: Duration| {
            shared.log()[(seq - 1) as usize].finish(reply, fault, outcome, latency);
        };
    let answered = |reply: Reply| {
        finish(Some(&reply), None, "answered", Duration::ZERO);
        Ok(respond(reply.status, reply.body.as_ref(), &reply.headers))
    };

    let Some((index, routing)) = routed else {
        // No provider's path: the sandbox's own answer.
        return answered(Reply::json(
            404,
            json!({"error": {"code": 404, "message": format!("the pushfix sandbox has no endpoint {} {path}", parts.method)}}),
        ));
    };
    let mut ctx = Ctx {
        now: sandbox_clock(&shared.config),
        real_now: Timestamp::now(),
        elapsed: shared.started.elapsed(),
        seq,
        ineffective: false,
        ordinals: &shared.ordinals,
    };
    let route = match routing {
        Routing::Endpoint(r) => r,
        Routing::WrongMethod => {
            let reply = shared.lock().providers[index].wrong_method(&ctx, &parts.method, &path);
            return answered(reply);
        }
    };

    let req = Req {
        query: query.as_deref(),
        headers: &parts.headers,
        body: &bytes,
    };
    let (fault, delay) = {
        let mut inner = shared.lock();
        ctx.ineffective = shared
            .config
            .faults
            .draw_ineffective(&mut inner.ineffective_rng);
        shared.config.faults.draw(&mut inner.fault_rng)
    };
    let reply = match fault {
        Some(Fault::Reset) => {
            finish(None, fault, "reset", delay);
            shared.delays.after(arrived, delay).await;
            return Err(Hangup);
        }
        Some(Fault::Error5xx) => shared.lock().providers[index]
            .error_5xx(&ctx, &route)
            .note("fault injection: 5xx (nothing was done)"),
        Some(Fault::Timeout) | None => shared.lock().providers[index].handle(&ctx, &req, &route),
    };
    if fault == Some(Fault::Timeout) {
        finish(Some(&reply), fault, "held", delay);
        let mut stop = shared.shutdown.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(HOLD) => {}
            _ = stopped(&mut stop) => {}
        }
        return Err(Hangup);
    }
    finish(Some(&reply), fault, "answered", delay);
    shared.delays.after(arrived, delay).await;
    Ok(respond(reply.status, reply.body.as_ref(), &reply.headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::provider::Summary;

    /// A provider that claims one path, fixed or as a pattern.
    struct Claims(&'static str, PathKind);

    impl Running for Claims {
        fn route(
            &self,
            _: &Method,
            path: &str,
            _: Option<&str>,
        ) -> Option<(PathKind, Routing<ErasedRoute>)> {
            (path == self.0).then_some((self.1, Routing::WrongMethod))
        }
        fn handle(&mut self, _: &Ctx<'_>, _: &Req<'_>, _: &ErasedRoute) -> Reply {
            unreachable!()
        }
        fn wrong_method(&mut self, _: &Ctx<'_>, _: &Method, _: &str) -> Reply {
            unreachable!()
        }
        fn error_5xx(&mut self, _: &Ctx<'_>, _: &ErasedRoute) -> Reply {
            unreachable!()
        }
        fn messages(&self, _: Timestamp) -> Vec<(u64, Value)> {
            Vec::new()
        }
        fn summary(&self) -> Summary {
            Summary::default()
        }
        fn redact_request(&self, _: Option<&ErasedRoute>, _: &mut Option<String>, _: &mut Value) {}
    }

    #[test]
    fn a_fixed_path_beats_a_pattern_whatever_the_registry_order() {
        let which = |providers: Vec<Box<dyn Running>>, path: &str| {
            route(&providers, &Method::GET, path, None).map(|(i, _)| i)
        };
        let pattern = || Box::new(Claims("/a", PathKind::Pattern)) as Box<dyn Running>;
        let fixed = || Box::new(Claims("/a", PathKind::Fixed)) as Box<dyn Running>;
        assert_eq!(which(vec![pattern(), fixed()], "/a"), Some(1));
        assert_eq!(which(vec![fixed(), pattern()], "/a"), Some(0));
        assert_eq!(which(vec![pattern(), pattern()], "/a"), Some(0));
        assert_eq!(which(vec![pattern(), fixed()], "/b"), None);
    }
}
