//! GeTui (个推) RestAPI V2: `POST /v2/{appId}/auth`, the pushes (`push/all`, `push/tag`,
//! `push/fast_custom_tag`, `push/single/cid|alias`, `push/list/message`, `push/list/cid|alias`;
//! a push may be a notification, a transmission or a revoke), `DELETE /v2/{appId}/task/
//! {taskid}` (stop), `GET|DELETE /v2/{appId}/task/schedule/{taskid}`.
//!
//! Written from `reference/getui.md` (its §7 conformance pairs first). Choices where it is
//! silent or unverified are marked **choice** next to the code; in sum:
//!
//! - One app, known by its app key and master secret (the sign proves them). **Choice:** any
//!   app id in the path is taken for it (an in-process `run --sandbox` has throwaway keys
//!   while the playbook names the real app id); a token works only under the app id it was
//!   issued for, and a ledger record with `app_id` belongs to that app only.
//! - Auth: the sign over the timestamp as sent (string or integer), lowercase hex only;
//!   timestamp within ten minutes of the system clock; a wrong appkey, sign or timestamp is
//!   20001; tokens live a day on the sandbox clock (a second with `getui.short_tokens`); a
//!   missing, unknown, other app's or expired token is HTTP 401 code 10001. 100 auths a
//!   minute (10003).
//! - Codes come with the HTTP status of their class (200, 401 for 10xxx, 400 for 2xxxx, 403
//!   for 3xxxx). A body that is not JSON is code 1.
//! - Pushes: `request_id` of 10-32 characters; a repeated one (same app) gets the first
//!   answer again and sends nothing ("如果request_id重复，会导致消息丢失"). `push_message`
//!   holds exactly one of notification / transmission / revoke (20001 "please choose one of
//!   notification and transmission and revoke"). Group pushes (all, tag, fast_custom_tag; a
//!   revoke sent as one too) share 5 a minute (30014) and 100 a day (30007 for all, 30010 for
//!   tag and fast_custom_tag), fixed windows from the sandbox start.
//! - Recall: a revoke of a task of the app marks it recalled; of an unknown task with
//!   `force: false`, nothing; with `force: true`, **every** notification of the app is marked
//!   recalled (`force_recalled`), as the reference warns — counted in the summary
//!   (`getui_force_revokes`) so tests can prove a client never sends one. A revoke is no new
//!   message.
//! - Override: a notification push replaces a task's notification on each channel where the
//!   ids match what the original carried (the ledger's `notify_id` for GeTui, vendors and
//!   HarmonyOS; `apns_collapse_id` for iOS); matching ids is all there is, no server-side
//!   lookup (reference §4.3). A `push/list/message` is not listed in the messages view until
//!   it is pushed to its list.
//! - Stop: batch and group tasks only (a single task, or an unknown one, is 20001);
//!   stopping again succeeds. Delete-schedule: 22002 for an unknown or unscheduled task,
//!   22001 once it fired or within a minute of firing, success again on a deleted one.
//! - Ledger records are GeTui's when they have `taskid`.

mod auth;
mod envelope;
mod fields;
mod push;
mod seed;
mod store;
mod task;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::Duration;

use hyper::Method;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::config::Credentials;
use super::exchange::{Ctx, Reply, Req};
use super::provider::{PathKind, Routing, SandboxProvider, Setup, Summary};
use super::rate_window::{Window, describe};
use super::seed::SeedMessage;
use crate::domain::Rate;
use store::Tasks;

#[cfg(test)]
pub(crate) use auth::sign;
#[cfg(test)]
pub(crate) use seed::task as seed_task;

/// The group-push limits (reference §5, DCloud copy).
const GROUP_PER_MINUTE: Rate = Rate::per_minute(5.0);
const GROUP_PER_DAY: Rate = Rate {
    count: 100.0,
    per: Duration::from_secs(86_400),
};
const AUTH_PER_MINUTE: Rate = Rate::per_minute(100.0);
const AUTH_PER_DAY: Rate = Rate {
    count: 100_000.0,
    per: Duration::from_secs(86_400),
};
/// **Choice:** stop, delete-schedule and single/list pushes have no documented limit; the
/// sandbox applies the configured corrective rate, else this.
const DEFAULT_RATE: Rate = Rate::per_second(10.0);

/// GeTui for one running sandbox: one app (app key + master secret).
pub(crate) struct Getui {
    credentials: Credentials,
    /// None: any timestamp is accepted (tests replaying the reference's fixed vectors).
    sign_tolerance: Option<Duration>,
    token_ttl: SignedDuration,
    tokens: HashMap<String, auth::Token>,
    tokens_issued: u64,
    auth_minute: Window,
    auth_day: Window,
    group_minute: Window,
    group_day: Window,
    /// None: no ceiling (`--rate off`).
    rate: Option<Rate>,
    /// stop / delete-schedule / schedule query.
    task_window: Window,
    /// toSingle and toList pushes.
    push_window: Window,
    tasks: Tasks,
    /// (app id, request_id) → the first answer.
    request_ids: HashMap<(String, String), Value>,
    /// Revokes received with `force: true`.
    force_revokes: u64,
}

/// Which push endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushKind {
    All,
    Tag,
    FastCustomTag,
    SingleCid,
    SingleAlias,
    ListMessage,
    ListCid,
    ListAlias,
}

impl PushKind {
    /// toApp: under the group limits.
    fn is_group(self) -> bool {
        matches!(
            self,
            PushKind::All | PushKind::Tag | PushKind::FastCustomTag
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Auth { app: String },
    Push { app: String, kind: PushKind },
    Stop { app: String, taskid: String },
    ScheduleGet { app: String, taskid: String },
    ScheduleDelete { app: String, taskid: String },
}

impl Route {
    fn app(&self) -> &str {
        match self {
            Route::Auth { app }
            | Route::Push { app, .. }
            | Route::Stop { app, .. }
            | Route::ScheduleGet { app, .. }
            | Route::ScheduleDelete { app, .. } => app,
        }
    }
}

impl SandboxProvider for Getui {
    const NAME: &'static str = "getui";
    const TITLE: &'static str = "GeTui";
    const SEED_NOUN: &'static str = "tasks";
    const SEED_ID_FIELD: &'static str = "taskid";
    const CREDENTIAL_ENV: [&'static str; 2] = ["GETUI_APP_KEY", "GETUI_MASTER_SECRET"];
    const OPTIONS: &'static [(&'static str, &'static str)] = &[(
        "short_tokens",
        "issue tokens that expire after one second (a client must refresh them on 10001)",
    )];

    type Route = Route;

    /// 22 alphanumerics each, like the console's keys.
    fn random_credentials() -> Credentials {
        Credentials::new(random_alnum(22), random_alnum(22))
    }

    fn parse_seed(record: &Map<String, Value>) -> Result<SeedMessage, String> {
        seed::parse(record)
    }

    fn start(setup: Setup<'_>) -> Getui {
        // `--rate off` lifts the corrective quota (the auth and group caps stay).
        let rate = (!setup.config.unlimited).then(|| setup.config.rate.unwrap_or(DEFAULT_RATE));
        Getui {
            credentials: setup.credentials.clone(),
            sign_tolerance: setup.check_clock.then_some(auth::SIGN_TOLERANCE),
            token_ttl: auth::token_ttl(setup.enabled("short_tokens")),
            tokens: HashMap::new(),
            tokens_issued: 0,
            auth_minute: Window::from_rate(AUTH_PER_MINUTE),
            auth_day: Window::from_rate(AUTH_PER_DAY),
            group_minute: Window::from_rate(GROUP_PER_MINUTE),
            group_day: Window::from_rate(GROUP_PER_DAY),
            rate,
            task_window: Window::from_limit(rate),
            push_window: Window::from_limit(rate),
            tasks: Tasks::new(setup.seeds, setup.start),
            request_ids: HashMap::new(),
            force_revokes: 0,
        }
    }

    fn route(
        &self,
        method: &Method,
        path: &str,
        _query: Option<&str>,
    ) -> Option<(PathKind, Routing<Route>)> {
        let rest = path.strip_prefix("/v2/")?;
        let (app, rest) = rest.split_once('/')?;
        if app.is_empty() || app.len() > 64 || !app.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let app = app.to_string();
        let push = |kind| Route::Push {
            app: app.clone(),
            kind,
        };
        let routing = match rest {
            "auth" => Routing::when(method, Method::POST, Route::Auth { app: app.clone() }),
            "push/all" => Routing::when(method, Method::POST, push(PushKind::All)),
            "push/tag" => Routing::when(method, Method::POST, push(PushKind::Tag)),
            "push/fast_custom_tag" => {
                Routing::when(method, Method::POST, push(PushKind::FastCustomTag))
            }
            "push/single/cid" => Routing::when(method, Method::POST, push(PushKind::SingleCid)),
            "push/single/alias" => Routing::when(method, Method::POST, push(PushKind::SingleAlias)),
            "push/list/message" => Routing::when(method, Method::POST, push(PushKind::ListMessage)),
            "push/list/cid" => Routing::when(method, Method::POST, push(PushKind::ListCid)),
            "push/list/alias" => Routing::when(method, Method::POST, push(PushKind::ListAlias)),
            _ => {
                if let Some(id) = rest.strip_prefix("task/schedule/") {
                    if id.is_empty() || id.contains('/') {
                        return None;
                    }
                    let taskid = id.to_string();
                    match *method {
                        Method::GET => Routing::Endpoint(Route::ScheduleGet { app, taskid }),
                        Method::DELETE => Routing::Endpoint(Route::ScheduleDelete { app, taskid }),
                        _ => Routing::WrongMethod,
                    }
                } else if let Some(id) = rest.strip_prefix("task/") {
                    if id.is_empty() || id.contains('/') {
                        return None;
                    }
                    Routing::when(
                        method,
                        Method::DELETE,
                        Route::Stop {
                            app,
                            taskid: id.to_string(),
                        },
                    )
                } else {
                    return None;
                }
            }
        };
        Some((PathKind::Pattern, routing))
    }

    fn endpoint(route: &Route) -> &'static str {
        match route {
            Route::Auth { .. } => "auth",
            Route::Push { kind, .. } => match kind {
                PushKind::All => "push_all",
                PushKind::Tag => "push_tag",
                PushKind::FastCustomTag => "push_fast_custom_tag",
                PushKind::SingleCid => "push_single_cid",
                PushKind::SingleAlias => "push_single_alias",
                PushKind::ListMessage => "push_list_message",
                PushKind::ListCid => "push_list_cid",
                PushKind::ListAlias => "push_list_alias",
            },
            Route::Stop { .. } => "stop",
            Route::ScheduleGet { .. } => "schedule_query",
            Route::ScheduleDelete { .. } => "schedule_delete",
        }
    }

    fn handle(&mut self, ctx: &Ctx<'_>, req: &Req<'_>, route: &Route) -> Reply {
        if let Route::Auth { app } = route {
            let (mut reply, summary) = self.issue(ctx, req, app);
            reply.auth = Some(summary);
            return reply;
        }
        let (checked, summary) = self.check_token(ctx, req, route.app());
        let mut reply = match checked {
            Err(r) => r,
            Ok(()) => match route {
                Route::Auth { .. } => unreachable!("answered above"),
                Route::Push { app, kind } => self.push(ctx, req, app, *kind),
                Route::Stop { app, taskid } => self.stop(ctx, app, taskid),
                Route::ScheduleGet { app, taskid } => self.schedule_get(ctx, app, taskid),
                Route::ScheduleDelete { app, taskid } => self.schedule_delete(ctx, app, taskid),
            },
        };
        reply.auth = Some(summary);
        reply
    }

    /// **Choice:** `{"code":405,…}` with HTTP 405 (rest_v2/code lists 405 for a wrong method).
    fn wrong_method(&mut self, _ctx: &Ctx<'_>, method: &Method, _path: &str) -> Reply {
        Reply::json(
            405,
            json!({"code": 405, "msg": format!("method {method} is not allowed here")}),
        )
    }

    /// Code 2 "service is starting" with HTTP 503: nothing is done.
    fn error_5xx(&mut self, _ctx: &Ctx<'_>, _route: &Route) -> Reply {
        Reply::json(
            503,
            json!({"code": envelope::STARTING, "msg": "service is starting, retry later"}),
        )
    }

    fn messages(&self, now: Timestamp) -> Vec<(u64, Value)> {
        self.tasks.views(now)
    }

    fn summary(&self) -> Summary {
        Summary {
            rates: vec![
                ("getui_auth", describe(Some(AUTH_PER_MINUTE))),
                ("getui_group_per_minute", describe(Some(GROUP_PER_MINUTE))),
                ("getui_group_per_day", describe(Some(GROUP_PER_DAY))),
                ("getui_task_and_push", describe(self.rate)),
            ],
            fields: vec![
                ("getui_force_revokes", json!(self.force_revokes)),
                ("getui_tokens_issued", json!(self.tokens_issued)),
            ],
            rate: describe(self.rate),
            notes: vec!["GeTui group pushes 5 a minute, 100 a day".into()],
        }
    }

    /// The sign of an auth body never reaches the request log.
    fn redact_request(&self, route: Option<&Route>, _query: &mut Option<String>, body: &mut Value) {
        if matches!(route, Some(Route::Auth { .. }) | None)
            && let Some(o) = body.as_object_mut()
            && o.contains_key("sign")
        {
            o.insert("sign".into(), json!("<redacted>"));
        }
    }
}

#[cfg(test)]
impl Getui {
    /// The sandbox's GeTui with default limits and no tasks, for unit tests of its windows.
    fn for_test() -> Getui {
        Getui {
            credentials: Credentials::new("k", "s"),
            sign_tolerance: None,
            token_ttl: auth::token_ttl(false),
            tokens: HashMap::new(),
            tokens_issued: 0,
            auth_minute: Window::from_rate(AUTH_PER_MINUTE),
            auth_day: Window::from_rate(AUTH_PER_DAY),
            group_minute: Window::from_rate(GROUP_PER_MINUTE),
            group_day: Window::from_rate(GROUP_PER_DAY),
            rate: Some(DEFAULT_RATE),
            task_window: Window::from_rate(DEFAULT_RATE),
            push_window: Window::from_rate(DEFAULT_RATE),
            tasks: Tasks::default(),
            request_ids: HashMap::new(),
            force_revokes: 0,
        }
    }
}

fn random_alnum(n: usize) -> String {
    use rand::RngExt;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}
