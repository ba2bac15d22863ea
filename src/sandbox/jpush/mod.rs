//! JPush REST API v3, push family: `POST /v3/push` (incl. the override push), `POST
//! /v3/push/validate`, `GET /v3/push/cid`, `DELETE /v3/push/{msg_id}` (recall).
//!
//! Written from `reference/jpush.md` and seed 000 (消息覆盖和撤回). Choices where those are
//! silent or unverified are marked **choice** next to the code; in sum:
//!
//! - Recall: 200 with an empty body; unknown, malformed and already-recalled ids all get
//!   HTTP 400 `{"error":{"code":1003,"message":"msgid doesn't exist"}}` (seed 000's failure
//!   sample). No recall time window is enforced (none is documented).
//! - Override: 1003 (HTTP 400, nothing sent) for an unknown, recalled or more than 24 h old
//!   `override_msg_id` (sandbox clock); a ledger record without `sent_at` counts as sent at
//!   sandbox start. A body that is not JSON is 1003, and so is a `Content-Type` other than
//!   `application/json` on `/v3/push` and `/v3/push/validate` (the reference documents no code
//!   for it; none at all is let through); a cid not issued by the sandbox (or older
//!   than a day) is 1003; a repeated cid returns the first success verbatim, without pushing.
//!   The 10-broadcasts-a-day limit (2008) is not enforced, but broadcast pushes are marked.
//!   Auth is checked before the rate limit (failed auth does not use the window).
//!   `/v3/push/validate` answers `{"sendno":…,"msg_id":"0"}`. `options.sendno` is an unsigned
//!   32-bit integer other than 0, echoed as a string (absent: `"0"`).
//! - Rate: fixed windows laid end to end from the sandbox start; headers
//!   `X-Rate-Limit-Limit`/`-Remaining`/`-Reset` (not `-Quota`) on every JPush answer, the 405
//!   and the `5xx` fault's 503 included.
//! - Ledger records are JPush's when they have `msg_id` (a positive integer); `apns_collapse_id`,
//!   `receivers_by_channel`, `time_to_live` and `sample_registration_ids` are read besides the
//!   common fields.
//! - Report API (`report.rs`, figures from `delivery.rs`): `GET /v3/received/detail` and
//!   `POST /v3/status/message`, same Basic auth (a failure is HTTP 401, code 3001), their own
//!   window (2400/min, the free tier's) with the same `X-Rate-Limit-*` headers.
//! - The `ineffective` fault: a recall or override answered as done that changes nothing
//!   (the message goes on being delivered; no new message goes out).
//! - Schedule API (`schedule.rs`): `DELETE /v3/schedules/{schedule_id}` and `GET
//!   /v3/schedules?page=` over the ledger's records with `schedule_id` (a UUID), same Basic
//!   auth (a failure is HTTP 401, code 8101), their own window (100/min, the documented limit);
//!   unknown ids are 404 8104 (or an empty 404 with `jpush.schedule_bare_404`), schedules past
//!   their last firing 400 8100 (or unknown with `jpush.schedule_fired_forgotten`), the `5xx`
//!   fault 503 8203.

mod auth;
mod cid;
mod delivery;
mod envelope;
mod payload;
mod push;
mod recall;
mod report;
mod schedule;
mod seed;
mod store;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use hyper::Method;
use jiff::Timestamp;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Map, Value};

use super::config::{Credentials, random_hex};
use super::exchange::{Ctx, Reply, Req};
use super::provider::{PathKind, Routing, SandboxProvider, Setup, Summary};
use super::rate_window::{Window, describe};
use super::seed::SeedMessage;
use cid::CidEntry;
use envelope::{error, error_body, rate_headers};
use schedule::Schedules;
use store::Messages;

#[cfg(test)]
pub(crate) use schedule::seed_schedule;
pub(crate) use seed::apns_collapse_id;
#[cfg(test)]
pub(crate) use seed::message as seed_message;

/// JPush for one running sandbox: one app (app key + master secret).
pub(crate) struct Jpush {
    credentials: Credentials,
    /// The push family's window (push, validate, recall, cid).
    window: Window,
    /// The Report API's window.
    report_window: Window,
    /// The Schedule API's window.
    schedule_window: Window,
    /// None: no ceiling (`--rate off`).
    rate: Option<crate::domain::Rate>,
    messages: Messages,
    schedules: Schedules,
    /// `jpush.schedule_bare_404`: unknown schedule ids get an empty 404, not 8104.
    schedule_bare_404: bool,
    /// `jpush.schedule_fired_forgotten`: a schedule past its last firing is unknown, not 8100.
    schedule_fired_forgotten: bool,
    /// Issued cids.
    cids: HashMap<String, CidEntry>,
    /// For cids: deterministic for a given config seed.
    id_rng: StdRng,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Push,
    Validate,
    Cid,
    Recall(String),
    ReceivedDetail,
    StatusMessage,
    DeleteSchedule(String),
    ListSchedules,
}

impl Route {
    fn is_report(&self) -> bool {
        matches!(self, Route::ReceivedDetail | Route::StatusMessage)
    }

    fn is_schedule(&self) -> bool {
        matches!(self, Route::DeleteSchedule(_) | Route::ListSchedules)
    }
}

/// The Schedule API's documented limit: 100 calls a minute (rest_api_push_schedule.md).
const SCHEDULE_RATE: crate::domain::Rate = crate::domain::Rate::per_minute(100.0);

/// The Report API's free-tier quota (reference/jpush.md §4).
const REPORT_RATE: crate::domain::Rate = crate::domain::Rate::per_minute(2400.0);

impl SandboxProvider for Jpush {
    const NAME: &'static str = "jpush";
    const TITLE: &'static str = "JPush";
    const SEED_NOUN: &'static str = "messages";
    const SEED_ID_FIELD: &'static str = "msg_id";
    const SEED_MORE_ID_FIELDS: &'static [&'static str] = &[schedule::SCHEDULE_ID_FIELD];
    const OPTIONS: &'static [(&'static str, &'static str)] = &[
        (
            "schedule_bare_404",
            "answer an unknown schedule id with an empty 404 (the docs' DELETE example) instead of 8104",
        ),
        (
            "schedule_fired_forgotten",
            "forget a schedule once it fired for the last time (its delete answers as for an unknown id) instead of 8100 \"expired\"",
        ),
    ];
    const CREDENTIAL_ENV: [&'static str; 2] = ["JPUSH_APP_KEY", "JPUSH_MASTER_SECRET"];
    const LOGGED_HEADERS: &'static [&'static str] = &["x-encrypt-type"];

    type Route = Route;

    /// 24 lowercase hex characters each, like real keys (which are 24 alphanumerics).
    fn random_credentials() -> Credentials {
        Credentials::new(random_hex(24), random_hex(24))
    }

    fn parse_seed(record: &Map<String, Value>) -> Result<SeedMessage, String> {
        if record.contains_key(schedule::SCHEDULE_ID_FIELD) {
            schedule::parse_seed(record)
        } else {
            seed::parse(record)
        }
    }

    fn start(setup: Setup<'_>) -> Jpush {
        // The documented free-tier Push quota.
        let rate = (!setup.config.unlimited).then(|| {
            setup
                .config
                .rate
                .unwrap_or(crate::domain::Rate::per_minute(600.0))
        });
        let schedule_bare_404 = setup.enabled("schedule_bare_404");
        let schedule_fired_forgotten = setup.enabled("schedule_fired_forgotten");
        let (schedules, messages): (Vec<_>, Vec<_>) = setup
            .seeds
            .into_iter()
            .partition(|(_, s)| schedule::is_schedule(s));
        Jpush {
            credentials: setup.credentials,
            window: Window::from_limit(rate),
            report_window: Window::from_rate(REPORT_RATE),
            schedule_window: Window::from_rate(SCHEDULE_RATE),
            rate,
            messages: Messages::new(messages, setup.start),
            schedules: Schedules::new(schedules, setup.start),
            schedule_bare_404,
            schedule_fired_forgotten,
            cids: HashMap::new(),
            id_rng: StdRng::seed_from_u64(setup.config.seed ^ 0x5eed_c1d5_0000_0000),
        }
    }

    fn route(
        &self,
        method: &Method,
        path: &str,
        _query: Option<&str>,
    ) -> Option<(PathKind, Routing<Route>)> {
        let (kind, want, route) = match path {
            "/v3/push" => (PathKind::Fixed, Method::POST, Route::Push),
            "/v3/push/validate" => (PathKind::Fixed, Method::POST, Route::Validate),
            "/v3/push/cid" => (PathKind::Fixed, Method::GET, Route::Cid),
            // report.jpush.cn's paths, on the sandbox's one port.
            "/v3/received/detail" => (PathKind::Fixed, Method::GET, Route::ReceivedDetail),
            "/v3/status/message" => (PathKind::Fixed, Method::POST, Route::StatusMessage),
            "/v3/schedules" => (PathKind::Fixed, Method::GET, Route::ListSchedules),
            _ if path.starts_with("/v3/schedules/") => match path.strip_prefix("/v3/schedules/") {
                // Any one segment: a malformed id is the delete's own 404.
                Some(id) if !id.is_empty() && !id.contains('/') => (
                    PathKind::Pattern,
                    Method::DELETE,
                    Route::DeleteSchedule(id.to_string()),
                ),
                _ => return None,
            },
            _ => match path.strip_prefix("/v3/push/") {
                // Any one segment: a malformed msg_id is the recall's own error (1003).
                Some(id) if !id.is_empty() && !id.contains('/') => (
                    PathKind::Pattern,
                    Method::DELETE,
                    Route::Recall(id.to_string()),
                ),
                _ => return None,
            },
        };
        Some((kind, Routing::when(method, want, route)))
    }

    fn endpoint(route: &Route) -> &'static str {
        match route {
            Route::Push => "push",
            Route::Validate => "validate",
            Route::Cid => "cid",
            Route::Recall(_) => "recall",
            Route::ReceivedDetail => "received_detail",
            Route::StatusMessage => "status_message",
            Route::DeleteSchedule(_) => "delete_schedule",
            Route::ListSchedules => "list_schedules",
        }
    }

    fn handle(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, route: &Route) -> Reply {
        let auth = auth::check(&self.credentials, req.headers);
        if route.is_report() {
            // The Report API: its own window and its own auth code (3001).
            let mut r = if !auth.ok {
                let w = self.report_window.peek(ctx.elapsed);
                let mut r = error(401, 3001, "Basic authentication failed");
                r.headers = rate_headers(&w);
                r
            } else {
                let w = self.report_window.take(ctx.elapsed);
                let mut r = if !w.allowed {
                    error(429, 2002, "Rate limit exceeded")
                } else if *route == Route::ReceivedDetail {
                    self.received_detail(ctx, req.query)
                } else {
                    self.status_message(ctx, req)
                };
                r.headers.extend(rate_headers(&w));
                r
            };
            r.auth = Some(auth.summary);
            return r;
        }
        if route.is_schedule() {
            // The Schedule API: its own window and its own auth code (8101).
            let mut r = if !auth.ok {
                let w = self.schedule_window.peek(ctx.elapsed);
                let mut r = error(401, 8101, "Basic authentication failed.");
                r.headers = rate_headers(&w);
                r
            } else {
                let w = self.schedule_window.take(ctx.elapsed);
                let mut r = if !w.allowed {
                    error(429, 2002, "Rate limit exceeded")
                } else {
                    match route {
                        Route::DeleteSchedule(id) => self.delete_schedule(ctx, id),
                        _ => self.list_schedules(ctx, req.query),
                    }
                };
                r.headers.extend(rate_headers(&w));
                r
            };
            r.auth = Some(auth.summary);
            return r;
        }
        let mut reply = if !auth.ok {
            // **Choice:** authentication comes before the rate limit (the limit is per AppKey),
            // so a rejected call does not use the window.
            let w = self.window.peek(ctx.elapsed);
            let mut r = error(401, 1004, "Authen failed");
            r.headers = rate_headers(&w);
            r
        } else {
            let w = self.window.take(ctx.elapsed);
            let mut r = if !w.allowed {
                error(429, 2002, "Rate limit exceeded")
            } else {
                match route {
                    Route::Push => self.push(ctx, req, false),
                    Route::Validate => self.push(ctx, req, true),
                    Route::Cid => self.cid(ctx, req.query),
                    Route::Recall(id) => self.recall(ctx, id),
                    // Answered above; kept total so a change cannot leave a route unanswered.
                    Route::ReceivedDetail => self.received_detail(ctx, req.query),
                    Route::StatusMessage => self.status_message(ctx, req),
                    Route::DeleteSchedule(id) => self.delete_schedule(ctx, id),
                    Route::ListSchedules => self.list_schedules(ctx, req.query),
                }
            };
            r.headers.extend(rate_headers(&w));
            r
        };
        reply.auth = Some(auth.summary);
        reply
    }

    /// "1001: only POST supported" (HTTP 405), with the window headers every JPush answer
    /// carries.
    fn wrong_method(&mut self, ctx: &Ctx<'_>, method: &Method, path: &str) -> Reply {
        if path.starts_with("/v3/schedules") {
            // **Choice:** the Schedule API's "invalid" code; the sandbox implements only
            // DELETE of one schedule and GET of the list (JPush also creates, reads and updates).
            let w = self.schedule_window.peek(ctx.elapsed);
            let mut r = Reply::json(
                405,
                error_body(
                    8100,
                    &format!(
                        "The schedule-task is invalid: {method} is not served on this path by the sandbox"
                    ),
                ),
            );
            r.headers = rate_headers(&w);
            return r;
        }
        let w = self.window.peek(ctx.elapsed);
        let mut r = Reply::json(
            405,
            error_body(1001, "the method is not supported on this path"),
        );
        r.headers = rate_headers(&w);
        r
    }

    /// 1030 "internal service timeout" (HTTP 503), with the window headers.
    fn error_5xx(&mut self, ctx: &Ctx<'_>, route: &Route) -> Reply {
        if route.is_schedule() {
            // "与 schedule-server 通信错误" (8203, HTTP 503), the docs' retry-later code.
            let w = self.schedule_window.peek(ctx.elapsed);
            let mut r = Reply::json(
                503,
                error_body(8203, "Execute action timeout, please try later again"),
            );
            r.headers = rate_headers(&w);
            return r;
        }
        if route.is_report() {
            // The Report API's own "internal error" (reference/jpush.md §3).
            let w = self.report_window.peek(ctx.elapsed);
            let mut r = Reply::json(503, error_body(10, "internal error"));
            r.headers = rate_headers(&w);
            return r;
        }
        let w = self.window.peek(ctx.elapsed);
        let mut r = Reply::json(
            503,
            error_body(1030, "Internal service timeout, please retry later"),
        );
        r.headers = rate_headers(&w);
        r
    }

    fn messages(&self, now: Timestamp) -> Vec<(u64, Value)> {
        let mut v = self.messages.views(now);
        v.extend(self.schedules.views(now));
        v
    }

    fn summary(&self) -> Summary {
        Summary {
            rates: vec![
                ("jpush_push_family", describe(self.rate)),
                ("jpush_report_family", describe(Some(REPORT_RATE))),
                ("jpush_schedule_family", describe(Some(SCHEDULE_RATE))),
            ],
            fields: Vec::new(),
            rate: describe(self.rate),
            notes: Vec::new(),
        }
    }
}
