//! Tencent Cloud IM Push (TIMPush) REST API: `POST /v4/timpush/push` (an all-user or tag
//! push, which creates a task), `/v4/timpush/revoke`, and the scheduled tasks'
//! `/v4/timpush/add_sched_task`, `get_sched_task` and `delete_sched_task`.
//!
//! Written from `reference/timpush.md`. Choices where it is silent or unverified are marked
//! **choice** next to the code; in sum:
//!
//! - Auth is the query string (`sdkappid`, `identifier`, `usersig`, `random`, `contenttype`),
//!   checked in that order: a missing `sdkappid` is 60012, another app's 70020, a missing
//!   `identifier` 60004, a missing `usersig` 60005, a `random` that is not a u32 or a
//!   `contenttype` other than `json` 60002; the UserSig is verified (not compared: see
//!   `usersig.rs`) against the system clock: 70003 unreadable, 70014 / 70013 another
//!   SDKAppID / identifier, 70001 expired, 70009 bad signature; then an identifier that is
//!   not the app's admin (the credentials' `identifier`, default `administrator`) is 90009.
//! - Every answer is HTTP 200 with `{ActionStatus, ErrorInfo, ErrorCode}` (269/117847); only
//!   the `5xx` fault (502, as a gateway would), a wrong method (405) and an unknown path
//!   (404) are not. Unknown body keys are accepted and kept.
//! - Revoke: unknown TaskId (or a scheduled task not dispatched yet) 90049; not an all-user or
//!   tag task 90049; a second revoke 90050 (before any other check of the task); older than
//!   24 h from the task's start (a scheduled task's dispatch time) 90052; no OfflinePushInfo
//!   90053. `OfflinePushInfo.PushFlag: 1` terminates without overriding (the 2024 reading);
//!   with the switch `timpush.strict_2025` a PushFlag-only OfflinePushInfo is 90053 too (the
//!   2025 "required" read strictly), so that both readings can be rehearsed. A revoke
//!   terminates the task (`stopped_at`); an override also replaces the notification in
//!   place (`overridden_at`, `override`): no new message.
//! - Rates: revoke 1/s (90051) in fixed one-second windows, or the configured corrective
//!   rate; pushes 1/s (90024) and 100 a day (90047); the scheduled-task APIs 5/s (60018),
//!   or a configured rate above that.
//! - Scheduled tasks are pending until their time, dispatching for 10 s, then dispatched;
//!   `get_sched_task` reports `PushTaskID` once dispatched (the task's own id: the ledger
//!   record's `task_id`); delete answers 90106 / 90107 past pending, 90104 for an unknown
//!   TaskID, a `Type` other than the task's, or a body `Sdkappid` other than the URL's.

mod envelope;
mod push;
mod revoke;
mod sched;
mod seed;
mod store;
mod usersig;

#[cfg(test)]
mod tests;

use hyper::Method;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::config::{Credentials, random_hex};
use super::exchange::{Ctx, Reply, Req};
use super::provider::{PathKind, Routing, SandboxProvider, Setup, Summary};
use super::rate_window::{Window, describe};
use super::seed::SeedMessage;
use crate::domain::Rate;
use envelope::{
    ACCOUNT_IN_URL, ADMIN_ONLY, HTTP_PARSE, JSON_PARSE, SDKAPPID_MISSING, SDKAPPID_UNKNOWN,
    SIG_IN_URL, fail,
};
use store::Tasks;

#[cfg(test)]
pub(crate) use seed::task as seed_task;
#[cfg(test)]
pub(crate) use usersig::mint_stored;

/// The admin account of the sandbox's app unless `TIMPUSH_IDENTIFIER` says another.
pub(crate) const DEFAULT_ADMIN: &str = "administrator";

const SCHED_RATE: Rate = Rate::per_second(5.0);

/// The scheduled-task APIs' 5/s, or a configured rate above it (**choice:** a sandbox sped up
/// for tests speeds them up too; a slower configured rate leaves them at their quota).
fn sched_rate(configured: Option<Rate>) -> Rate {
    match configured {
        Some(r) if r.per_sec() > SCHED_RATE.per_sec() => r,
        _ => SCHED_RATE,
    }
}
/// Pushes per day ("标准版和高级版每天最多调用100次").
const DAILY_PUSHES: u64 = 100;

/// TIMPush for one running sandbox: one app (SDKAppID, secret key, admin identifier).
pub(crate) struct Timpush {
    sdkappid: u64,
    key: String,
    admin: String,
    /// Whether UserSig expiry is checked (off only for tests replaying the fixed vector).
    check_clock: bool,
    /// `timpush.strict_2025`: a PushFlag-only OfflinePushInfo is refused (90053).
    strict_2025: bool,
    /// None: no ceiling (`--rate off`).
    rate: Option<Rate>,
    revoke_window: Window,
    push_window: Window,
    daily: Window,
    sched_rate: Option<Rate>,
    sched_window: Window,
    tasks: Tasks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Push,
    Revoke,
    AddSched,
    GetSched,
    DeleteSched,
}

impl SandboxProvider for Timpush {
    const NAME: &'static str = "timpush";
    const TITLE: &'static str = "TIMPush";
    const SEED_NOUN: &'static str = "tasks";
    const SEED_ID_FIELD: &'static str = "task_id";
    const CREDENTIAL_ENV: [&'static str; 2] = ["TIMPUSH_SDKAPPID", "TIMPUSH_SECRET_KEY"];
    const EXTRA_CREDENTIAL_ENV: &'static [(&'static str, &'static str)] =
        &[("identifier", "TIMPUSH_IDENTIFIER")];
    const OPTIONS: &'static [(&'static str, &'static str)] = &[(
        "strict_2025",
        "refuse a revoke whose OfflinePushInfo is only {\"PushFlag\":1} (the 2025 docs read strictly)",
    )];

    type Route = Route;

    /// A 10-digit SDKAppID (`14…`), a 64-hex-digit key, the default admin.
    fn random_credentials() -> Credentials {
        use rand::RngExt;
        let mut c = Credentials::new(
            format!("14{:08}", rand::rng().random_range(0..100_000_000u32)),
            random_hex(64),
        );
        c.set_extra("identifier", DEFAULT_ADMIN);
        c
    }

    fn parse_seed(record: &Map<String, Value>) -> Result<SeedMessage, String> {
        seed::parse(record)
    }

    fn start(setup: Setup<'_>) -> Timpush {
        // `--rate off` lifts the revoke, push and scheduled-task quotas (the daily cap stays).
        let unlimited = setup.config.unlimited;
        let rate = (!unlimited).then(|| setup.config.rate.unwrap_or(Rate::per_second(1.0)));
        let sched = (!unlimited).then(|| sched_rate(setup.config.rate));
        let c = &setup.credentials;
        Timpush {
            // **Choice:** an SDKAppID that is not a number (set by hand) matches no request.
            sdkappid: c.id.trim().parse().unwrap_or(0),
            key: c.secret.clone(),
            admin: c.extra("identifier").unwrap_or(DEFAULT_ADMIN).to_string(),
            check_clock: setup.check_clock,
            strict_2025: setup.enabled("strict_2025"),
            rate,
            revoke_window: Window::from_limit(rate),
            push_window: Window::from_limit(rate),
            daily: Window::from_rate(Rate {
                count: DAILY_PUSHES as f64,
                per: std::time::Duration::from_secs(86_400),
            }),
            sched_rate: sched,
            sched_window: Window::from_limit(sched),
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
            "/v4/timpush/push" => Route::Push,
            "/v4/timpush/revoke" => Route::Revoke,
            "/v4/timpush/add_sched_task" => Route::AddSched,
            "/v4/timpush/get_sched_task" => Route::GetSched,
            "/v4/timpush/delete_sched_task" => Route::DeleteSched,
            _ => return None,
        };
        // "HTTPS only, method POST".
        Some((PathKind::Fixed, Routing::when(method, Method::POST, route)))
    }

    fn endpoint(route: &Route) -> &'static str {
        match route {
            Route::Push => "push",
            Route::Revoke => "revoke",
            Route::AddSched => "add_sched_task",
            Route::GetSched => "get_sched_task",
            Route::DeleteSched => "delete_sched_task",
        }
    }

    fn handle(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, route: &Route) -> Reply {
        let (auth, summary) = self.check_auth(ctx, req.query);
        let mut reply = match auth {
            Err((code, why)) => fail(code).note(why),
            Ok(()) => self.dispatch(ctx, req, *route),
        };
        reply.auth = Some(summary);
        reply
    }

    fn wrong_method(&mut self, _ctx: &Ctx<'_>, _method: &Method, _path: &str) -> Reply {
        let mut r = fail(HTTP_PARSE).note("TIMPush REST APIs take POST only");
        r.status = 405;
        r
    }

    /// A gateway error (TIMPush answers 200 except when the network fails, "例如502错误").
    fn error_5xx(&mut self, _ctx: &Ctx<'_>, _route: &Route) -> Reply {
        let mut r = Reply::empty(502);
        r.body = Some(Value::String("502 Bad Gateway".into()));
        r
    }

    fn messages(&self, now: Timestamp) -> Vec<(u64, Value)> {
        self.tasks.views(now)
    }

    fn summary(&self) -> Summary {
        Summary {
            rates: vec![
                ("timpush_revoke", describe(self.rate)),
                ("timpush_push", describe(self.rate)),
                ("timpush_sched", describe(self.sched_rate)),
            ],
            fields: vec![("timpush_strict_2025", json!(self.strict_2025))],
            rate: describe(self.rate),
            notes: if self.strict_2025 {
                vec!["TIMPush stop-only revoke refused (strict 2025 reading)".into()]
            } else {
                Vec::new()
            },
        }
    }

    /// The UserSig is a credential: kept out of the request log.
    fn redact_request(
        &self,
        _route: Option<&Route>,
        query: &mut Option<String>,
        _body: &mut Value,
    ) {
        if let Some(q) = query.as_mut() {
            *q = q
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("usersig") => format!("{k}=<redacted>"),
                    _ => p.to_string(),
                })
                .collect::<Vec<_>>()
                .join("&");
        }
    }
}

/// `%XX` and `+` decoded (query values).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query's parameters (names are case-sensitive, 269/1519); the first of a repeated one.
fn params(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

impl Timpush {
    fn check_auth(&self, ctx: &Ctx<'_>, query: Option<&str>) -> (Result<(), (u32, String)>, Value) {
        let ps = params(query);
        let get = |k: &str| ps.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let mut summary = json!({"scheme": "usersig", "ok": false});
        let result = (|| {
            let Some(appid) = get("sdkappid") else {
                return Err((SDKAPPID_MISSING, "no sdkappid in the query".to_string()));
            };
            if appid.trim().parse::<u64>().ok() != Some(self.sdkappid) {
                return Err((
                    SDKAPPID_UNKNOWN,
                    "sdkappid is not the sandbox's app (or not this data centre's)".to_string(),
                ));
            }
            summary["sdkappid"] = json!(self.sdkappid);
            let Some(identifier) = get("identifier").filter(|s| !s.is_empty()) else {
                return Err((ACCOUNT_IN_URL, "no identifier in the query".to_string()));
            };
            summary["identifier"] = json!(identifier);
            let Some(sig) = get("usersig").filter(|s| !s.is_empty()) else {
                return Err((SIG_IN_URL, "no usersig in the query".to_string()));
            };
            if get("random").and_then(|r| r.parse::<u32>().ok()).is_none() {
                return Err((
                    HTTP_PARSE,
                    "random must be an unsigned 32-bit integer".to_string(),
                ));
            }
            if get("contenttype") != Some("json") {
                return Err((HTTP_PARSE, "contenttype must be json".to_string()));
            }
            let now = self
                .check_clock
                .then(|| u64::try_from(ctx.real_now.as_second()).unwrap_or(0));
            let d = usersig::verify(sig, self.sdkappid, identifier, &self.key, now)?;
            summary["usersig_time"] = json!(d.time);
            summary["usersig_expire"] = json!(d.expire);
            if identifier != self.admin {
                return Err((
                    ADMIN_ONLY,
                    format!("`{identifier}` is not an App admin of the sandbox's app"),
                ));
            }
            Ok(())
        })();
        summary["ok"] = json!(result.is_ok());
        (result, summary)
    }

    fn dispatch(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, route: Route) -> Reply {
        let obj = match serde_json::from_slice::<Value>(req.body) {
            Ok(Value::Object(o)) => o,
            Ok(_) => return fail(JSON_PARSE).note("the body is not a JSON object"),
            Err(e) => return fail(JSON_PARSE).note(format!("the body is not JSON: {e}")),
        };
        match route {
            Route::Push => self.push(ctx, req.body.len(), &obj),
            Route::Revoke => self.revoke(ctx, &obj),
            Route::AddSched => self.add_sched(ctx, &obj),
            Route::GetSched => self.get_sched(ctx, &obj),
            Route::DeleteSched => self.delete_sched(ctx, &obj),
        }
    }
}
