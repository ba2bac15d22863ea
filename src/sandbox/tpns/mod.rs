//! Tencent TPNS REST API v3: `POST /v3/push/app` (incl. the override push with `collapse_id`),
//! `/v3/push/stop_push_msg`, `/v3/push/revoke_push_msg`, `/v3/push/cancel_timing_task`,
//! `/v3/statistics/get_push_record`.
//!
//! Written from `reference/tpns.md` and seed 004 (终止/撤回/覆盖). Choices where those are silent
//! or unverified are marked **choice** next to the code; in sum:
//!
//! - **choice:** every answer with a `ret_code`/`retCode` is HTTP 200 (whether TPNS also uses a
//!   non-200 status is undocumented; third-party clients read the body). Only the `5xx` fault
//!   (503), a wrong method (405) and an unknown path (404) are not 200.
//! - **choice:** the push family (`/v3/push/*`) answers in snake_case (`ret_code`/`err_msg`),
//!   the statistics family in camelCase (`retCode`/`errMsg`), errors included (also the 5xx
//!   fault body). stop / revoke / cancel are undocumented; they answer
//!   `{"ret_code":0,"err_msg":""}` on success.
//! - **choice:** like a Go backend (`encoding/json`), unknown body keys are ignored, key names
//!   of `pushId` match case-insensitively (`pushId`, `pushid`), and a JSON value of the wrong
//!   type for a typed field is a parse error (1008001).
//! - Auth: a wrong access id → 1008035; any other auth problem → 1008003; `TimeStamp` must be
//!   within 10 min of the system clock.
//! - Revoke answers `{"ret_code":1008007,"err_msg":"revoke_push_msg is offline (该功能已下线)"}`
//!   unless the switch `tpns.revoke` is on (`pushfix sandbox --enable-revoke`).
//! - stop/revoke/cancel succeed again on a task already in that state; stop/revoke of a
//!   not-yet-dispatched or cancelled task is 1008007; `scheduled: true` without a time counts as
//!   not yet dispatched.
//! - Override: no task with the `collapse_id` → 1008007; the override must use the original's
//!   `audience_type`; `force_collapse` optional. A push without `collapse_id` is an ordinary
//!   push.
//! - Rate: the 1/s quota covers all/tag/account_list/package pushes; stop/revoke/cancel have a
//!   window of their own at the same rate; `get_push_record` 200/h.
//! - `get_push_record` gives `pushId` as a JSON number when numeric (as the sample does) and
//!   `pushType` = the ledger's audience_type.
//! - Ledger records are TPNS's when they have `push_id`; `audience_type`, `collapse_id` and
//!   `scheduled` are read besides the common fields. Every task gets a collapse id (the
//!   sandbox assigns one to those the ledger has none for, as TPNS does).

mod auth;
mod corrective;
mod envelope;
mod fields;
mod push_app;
mod record;
mod seed;
mod store;

#[cfg(test)]
mod tests;

use std::time::Duration;

use hyper::Method;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::config::{Credentials, random_hex};
use super::exchange::{Ctx, Reply, Req};
use super::provider::{PathKind, Routing, SandboxProvider, Setup, Summary};
use super::rate_window::{Window, describe};
use super::seed::SeedMessage;
use corrective::Action;
use envelope::{Family, INVALID, PARSE_ERROR};
use store::Tasks;

#[cfg(test)]
pub(crate) use auth::sign;
#[cfg(test)]
pub(crate) use seed::task as seed_task;
pub(crate) use seed::{audience_type, collapse_id};

/// How far a `TimeStamp` may be from the system clock. Tencent documents no window; ten
/// minutes is lenient for clock skew yet catches milliseconds sent instead of seconds.
const SIGN_TOLERANCE: Duration = Duration::from_secs(600);

/// `get_push_record`'s documented quota.
const STATISTICS_RATE: crate::domain::Rate = crate::domain::Rate::per_hour(200.0);

/// TPNS for one running sandbox: one app (access id + secret key).
pub(crate) struct Tpns {
    credentials: Credentials,
    /// None: any `TimeStamp` is accepted (tests replaying the reference's vectors).
    sign_tolerance: Option<Duration>,
    /// `revoke_push_msg` is offline at Tencent (2025); answered as offline unless this is on.
    revoke_enabled: bool,
    /// None: no ceiling (`--rate off`).
    rate: Option<crate::domain::Rate>,
    /// all / tag / account_list / package pushes.
    push_window: Window,
    /// stop / revoke / cancel.
    corrective_window: Window,
    stats_window: Window,
    tasks: Tasks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    PushApp,
    Stop,
    Revoke,
    Cancel,
    Record,
}

impl Route {
    /// The envelope its answers use.
    fn family(self) -> Family {
        Family {
            camel: self == Route::Record,
        }
    }
}

impl SandboxProvider for Tpns {
    const NAME: &'static str = "tpns";
    const TITLE: &'static str = "TPNS";
    const SEED_NOUN: &'static str = "tasks";
    const SEED_ID_FIELD: &'static str = "push_id";
    const CREDENTIAL_ENV: [&'static str; 2] = ["TPNS_ACCESS_ID", "TPNS_SECRET_KEY"];
    const OPTIONS: &'static [(&'static str, &'static str)] = &[(
        "revoke",
        "answer revoke_push_msg (offline at Tencent since 2025) instead of refusing it",
    )];
    const LOGGED_HEADERS: &'static [&'static str] = &["accessid", "timestamp"];

    type Route = Route;

    /// A 10-digit access id and a 32-character hex secret key.
    fn random_credentials() -> Credentials {
        use rand::RngExt;
        Credentials::new(
            format!("15{:08}", rand::rng().random_range(0..100_000_000u32)),
            random_hex(32),
        )
    }

    fn parse_seed(record: &Map<String, Value>) -> Result<SeedMessage, String> {
        seed::parse(record)
    }

    fn start(setup: Setup<'_>) -> Tpns {
        // The documented push quota.
        let rate = (!setup.config.unlimited).then(|| {
            setup
                .config
                .rate
                .unwrap_or(crate::domain::Rate::per_second(1.0))
        });
        let revoke_enabled = setup.enabled("revoke");
        Tpns {
            credentials: setup.credentials,
            sign_tolerance: setup.check_clock.then_some(SIGN_TOLERANCE),
            revoke_enabled,
            rate,
            push_window: Window::from_limit(rate),
            corrective_window: Window::from_limit(rate),
            stats_window: Window::from_rate(STATISTICS_RATE),
            tasks: Tasks::new(setup.seeds, setup.start),
        }
    }

    fn route(
        &self,
        method: &Method,
        path: &str,
        _query: Option<&str>,
    ) -> Option<(PathKind, Routing<Route>)> {
        let route = match path {
            "/v3/push/app" => Route::PushApp,
            "/v3/push/stop_push_msg" => Route::Stop,
            "/v3/push/revoke_push_msg" => Route::Revoke,
            "/v3/push/cancel_timing_task" => Route::Cancel,
            "/v3/statistics/get_push_record" => Route::Record,
            _ => return None,
        };
        // "HTTPS only, method POST only".
        Some((PathKind::Fixed, Routing::when(method, Method::POST, route)))
    }

    fn endpoint(route: &Route) -> &'static str {
        match route {
            Route::PushApp => "push_app",
            Route::Stop => "stop_push_msg",
            Route::Revoke => "revoke_push_msg",
            Route::Cancel => "cancel_timing_task",
            Route::Record => "get_push_record",
        }
    }

    fn handle(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, route: &Route) -> Reply {
        let family = route.family();
        let (auth, summary) = auth::check(&self.credentials, self.sign_tolerance, ctx, req);
        let mut reply = match auth {
            Err((code, why)) => family.err(code).note(why),
            Ok(()) => self.dispatch(ctx, req, *route, family),
        };
        reply.auth = Some(summary);
        reply
    }

    fn wrong_method(&mut self, _ctx: &Ctx<'_>, _method: &Method, _path: &str) -> Reply {
        Reply::json(
            405,
            json!({"ret_code": INVALID, "err_msg": "only POST is supported"}),
        )
    }

    /// 1008004 "invoke service error" (HTTP 503) in the endpoint's envelope.
    fn error_5xx(&mut self, _ctx: &Ctx<'_>, route: &Route) -> Reply {
        let mut r = route.family().err_msg(1008004, "invoke service error");
        r.status = 503;
        r
    }

    fn messages(&self, now: Timestamp) -> Vec<(u64, Value)> {
        self.tasks.views(now)
    }

    fn summary(&self) -> Summary {
        Summary {
            rates: vec![
                ("tpns_push_app", describe(self.rate)),
                ("tpns_stop_revoke_cancel", describe(self.rate)),
                ("tpns_statistics", describe(Some(STATISTICS_RATE))),
            ],
            fields: vec![("tpns_revoke_enabled", json!(self.revoke_enabled))],
            rate: describe(self.rate),
            notes: vec![format!(
                "TPNS revoke {}",
                if self.revoke_enabled {
                    "enabled"
                } else {
                    "offline (as at Tencent)"
                }
            )],
        }
    }
}

impl Tpns {
    fn dispatch(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, route: Route, family: Family) -> Reply {
        if route == Route::Revoke && !self.revoke_enabled {
            // **Choice:** Tencent marks the API 已下线 (offline, 2025-03-25) without saying what
            // it answers; the sandbox answers 1008007 with a message saying so, and does
            // nothing.
            return family
                .err_msg(INVALID, "revoke_push_msg is offline (该功能已下线)")
                .note("the revoke API is offline at Tencent; start the sandbox with revoke enabled to simulate it");
        }
        let obj = match serde_json::from_slice::<Value>(req.body) {
            Ok(Value::Object(o)) => o,
            Ok(_) => {
                return family
                    .err(PARSE_ERROR)
                    .note("the body is not a JSON object");
            }
            Err(e) => {
                return family
                    .err(PARSE_ERROR)
                    .note(format!("the body is not JSON: {e}"));
            }
        };
        match route {
            Route::PushApp => self.push_app(ctx, &obj),
            Route::Stop => self.corrective(ctx, &obj, Action::Stop),
            Route::Revoke => self.corrective(ctx, &obj, Action::Revoke),
            Route::Cancel => self.corrective(ctx, &obj, Action::Cancel),
            Route::Record => self.record(ctx, &obj),
        }
    }
}
