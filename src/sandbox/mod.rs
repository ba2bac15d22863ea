//! The built-in provider simulator (DESIGN §7): a local HTTP server that answers JPush's and
//! TPNS's corrective endpoints on one port, keeps the state of every message it was seeded with
//! (or that was sent through it), injects faults, and shows what it received.
//!
//! It is a second, independent implementation of the provider protocols, written from
//! `reference/jpush.md`, `reference/tpns.md` and the Chinese originals, not from pushfix's client
//! code, so that the client and the sandbox cannot share one wrong assumption unnoticed. Where
//! the references are silent or unverified, the choice made is marked **choice** next to the
//! code; the list below sums them up.
//!
//! Endpoints (paths do not collide, so both providers share one port):
//!
//! | provider | endpoint | |
//! | --- | --- | --- |
//! | JPush | `POST /v3/push` | push; the override push (`options.override_msg_id`) |
//! | JPush | `POST /v3/push/validate` | same checks, sends nothing |
//! | JPush | `GET /v3/push/cid?count=n&type=push` | cid pool |
//! | JPush | `DELETE /v3/push/{msg_id}` | recall |
//! | TPNS | `POST /v3/push/app` | push; the override push (`collapse_id`) |
//! | TPNS | `POST /v3/push/stop_push_msg`, `/revoke_push_msg`, `/cancel_timing_task` | |
//! | TPNS | `POST /v3/statistics/get_push_record` | one task, or tasks in a date range |
//! | — | `GET /_sandbox/requests`, `GET /_sandbox/messages`, `GET /_sandbox` | debug, no auth, no faults |
//!
//! Debug endpoints: `/_sandbox/requests` is a JSON array, one object per provider request in
//! arrival order (`seq`, `time` on the sandbox clock, RFC 3339 UTC with milliseconds, `method`,
//! `path`, `query`, `provider`, `endpoint`, a safe subset of `headers`, an `auth` summary, `body`
//! as received (JSON, else text), `status`, `response_headers`, `response`, `fault`, `outcome`
//! = pending/answered/held/reset, `latency_ms`, and a `note` saying why the sandbox answered so).
//! It never holds the `Authorization` or `Sign` header, a master secret or a secret key; an app
//! key or access id appears only when it is the sandbox's own. `/_sandbox/messages` is a JSON
//! array of every message (seeded, then sent through the sandbox) with its `state`
//! (delivered, scheduled, stopped, overridden, recalled, cancelled), TPNS `status`, the times of
//! the changes, `overridden_by`, `overrides`, `events`, and for sandbox-sent pushes a `sent`
//! object (request seq, cid, payload, and informational `checks` against the original).
//!
//! Protocol choices where the references are silent or unverified:
//!
//! - JPush recall: 200 with an empty body; unknown, malformed and already-recalled ids all get
//!   HTTP 400 `{"error":{"code":1003,"message":"msgid doesn't exist"}}` (seed 000's failure
//!   sample). No recall time window is enforced (none is documented).
//! - JPush override: 1003 (HTTP 400, nothing sent) for an unknown, recalled or more than 24 h
//!   old `override_msg_id` (sandbox clock); a ledger record without `sent_at` counts as sent at
//!   sandbox start. A body that is not JSON is 1003; a cid not issued by the sandbox (or older
//!   than a day) is 1003; a repeated cid returns the first success verbatim, without pushing. The
//!   10-broadcasts-a-day limit (2008) is not enforced, but broadcast pushes are marked. Auth is
//!   checked before the rate limit (failed auth does not use the window). `/v3/push/validate`
//!   answers `{"sendno":…,"msg_id":"0"}`.
//! - JPush rate: fixed windows laid end to end from the sandbox start; headers
//!   `X-Rate-Limit-Limit`/`-Remaining`/`-Reset` (not `-Quota`) on every JPush answer.
//! - TPNS: every `ret_code` answer is HTTP 200; push family snake_case, statistics camelCase,
//!   errors included (also the 5xx fault body). Wrong access id → 1008035; any other auth
//!   problem → 1008003; `TimeStamp` must be within 10 min of the system clock. Revoke answers
//!   `{"ret_code":1008007,"err_msg":"revoke_push_msg is offline (该功能已下线)"}` unless
//!   enabled. stop/revoke/cancel succeed again on a task already in that state; stop/revoke of a
//!   not-yet-dispatched or cancelled task is 1008007; `scheduled: true` without a time counts as
//!   not yet dispatched. Override: no task with the `collapse_id` → 1008007; the override must
//!   use the original's `audience_type`; `force_collapse` optional. A push without `collapse_id`
//!   is an ordinary push. The 1/s quota covers all/tag/account_list/package pushes; stop/revoke/
//!   cancel have a window of their own at the same rate. `get_push_record` gives `pushId` as a
//!   JSON number when numeric (as the sample does) and `pushType` = the ledger's audience_type.
//!
//! The server is hyper 1 on raw connections (not axum) because the `reset` fault must close a
//! connection without any response and the `timeout` fault must hold one without answering,
//! and both must still let a graceful shutdown finish promptly.

mod faults;
mod jpush;
mod seed;
mod state;
mod tpns;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jiff::{SignedDuration, Timestamp};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use faults::{Faults, HOLD};
pub use seed::{Provider, Scheduled, SeedMessage, load_ledger};

use faults::Fault;
use state::{Store, Window, fmt_ts};

/// How the sandbox behaves. Build one with [`SandboxConfig::with_random_credentials`] and change
/// what you need. `Debug` redacts the master secret and the secret key.
#[derive(Clone)]
pub struct SandboxConfig {
    /// 24 alphanumeric characters each.
    pub jpush_app_key: String,
    pub jpush_master_secret: String,
    pub tpns_access_id: String,
    pub tpns_secret_key: String,
    /// Limit for the corrective API families (JPush push family: push, validate, recall, cid;
    /// TPNS `/v3/push/app` all/tag/account_list/package pushes, and separately
    /// stop/revoke/cancel). None = provider defaults: JPush 600/min (per-minute window), TPNS
    /// 1/s. TPNS statistics (`get_push_record`) are always 200/h.
    pub rate: Option<crate::domain::Rate>,
    pub faults: Faults,
    /// `revoke_push_msg` is offline at Tencent (2025); answer as offline unless this is true.
    pub tpns_revoke_enabled: bool,
    /// The sandbox clock = system clock + this offset (to rehearse a past incident; the 1-day
    /// JPush override window and TPNS scheduled-task dispatch use it).
    pub clock_offset: SignedDuration,
    /// Fault-injection RNG seed (deterministic for a given order of requests).
    pub seed: u64,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("jpush_app_key", &self.jpush_app_key)
            .field("jpush_master_secret", &"<redacted>")
            .field("tpns_access_id", &self.tpns_access_id)
            .field("tpns_secret_key", &"<redacted>")
            .field("rate", &self.rate)
            .field("faults", &self.faults)
            .field("tpns_revoke_enabled", &self.tpns_revoke_enabled)
            .field("clock_offset", &self.clock_offset)
            .field("seed", &self.seed)
            .finish()
    }
}

impl SandboxConfig {
    /// The throwaway credentials of a provider's app (`jpush`, `tpns`).
    pub fn credentials(&self, provider: &str) -> Option<(&str, &str)> {
        match provider {
            "jpush" => Some((&self.jpush_app_key, &self.jpush_master_secret)),
            "tpns" => Some((&self.tpns_access_id, &self.tpns_secret_key)),
            _ => None,
        }
    }

    /// Throwaway credentials (JPush: 24 lowercase hex characters each, like real keys; TPNS: a
    /// 10-digit access id and a 32-character hex secret), provider-default rates, no faults,
    /// revoke offline, no clock offset, seed 0.
    pub fn with_random_credentials() -> Self {
        use rand::RngExt;
        let mut rng = rand::rng();
        let mut hex = |n: usize| -> String {
            (0..n)
                .map(|_| char::from_digit(rng.random_range(0..16u32), 16).expect("hex digit"))
                .collect()
        };
        let jpush_app_key = hex(24);
        let jpush_master_secret = hex(24);
        let tpns_secret_key = hex(32);
        let tpns_access_id = format!("15{:08}", rand::rng().random_range(0..100_000_000u32));
        SandboxConfig {
            jpush_app_key,
            jpush_master_secret,
            tpns_access_id,
            tpns_secret_key,
            rate: None,
            faults: Faults::none(),
            tpns_revoke_enabled: false,
            clock_offset: SignedDuration::ZERO,
            seed: 0,
        }
    }

    fn jpush_rate(&self) -> crate::domain::Rate {
        self.rate.unwrap_or(crate::domain::Rate::per_minute(600.0))
    }

    fn tpns_rate(&self) -> crate::domain::Rate {
        self.rate.unwrap_or(crate::domain::Rate::per_second(1.0))
    }
}

/// A running sandbox. Dropping it without [`Sandbox::shutdown`] stops it too (without waiting).
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sandbox {
    /// Serve on `listener` (already bound; use port 0 for a free one), seeded with `seed`.
    pub async fn start(
        config: SandboxConfig,
        seed: Vec<SeedMessage>,
        listener: TcpListener,
    ) -> std::io::Result<Sandbox> {
        Sandbox::start_with(config, seed, listener, Some(SIGN_TOLERANCE)).await
    }

    /// `sign_tolerance`: how far a TPNS `TimeStamp` may be from the system clock (None: any).
    pub(crate) async fn start_with(
        config: SandboxConfig,
        seed: Vec<SeedMessage>,
        listener: TcpListener,
        sign_tolerance: Option<Duration>,
    ) -> std::io::Result<Sandbox> {
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let (tx, rx) = watch::channel(false);
        let start_ts = sandbox_clock(&config);
        let inner = Inner {
            store: Store::new(seed, start_ts),
            fault_rng: StdRng::seed_from_u64(config.seed),
            id_rng: StdRng::seed_from_u64(config.seed ^ 0x5eed_c1d5_0000_0000),
            jpush_window: Window::from_rate(config.jpush_rate()),
            tpns_push_window: Window::from_rate(config.tpns_rate()),
            tpns_corrective_window: Window::from_rate(config.tpns_rate()),
            tpns_stats_window: Window::from_rate(crate::domain::Rate::per_hour(200.0)),
            cids: HashMap::new(),
        };
        let shared = Arc::new(Shared {
            config,
            started: Instant::now(),
            start_ts,
            sign_tolerance,
            inner: Mutex::new(inner),
            log: Mutex::new(Vec::new()),
            shutdown: tx,
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone(), rx));
        Ok(Sandbox {
            shared,
            addr,
            task: Some(task),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:43127`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.shared.config
    }

    /// The same JSON as `GET /_sandbox/requests`.
    pub fn requests(&self) -> Value {
        self.shared.requests_json()
    }

    /// The same JSON as `GET /_sandbox/messages`.
    pub fn messages(&self) -> Value {
        self.shared.messages_json()
    }

    /// Stop accepting, let in-flight requests finish (held `timeout`-fault connections are
    /// dropped at once), and return when every connection is closed.
    pub async fn shutdown(mut self) {
        let _ = self.shared.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shared.shutdown.send(true);
    }
}

/// For `pushfix sandbox`: bind `listen`, print the URL and the credentials as `export NAME=value`
/// lines on stdout, serve until Ctrl-C / SIGTERM, then shut down cleanly.
///
/// Credentials already set in the environment (`JPUSH_APP_KEY`, `JPUSH_MASTER_SECRET`,
/// `TPNS_ACCESS_ID`, `TPNS_SECRET_KEY`) are used instead of the random ones; their values are
/// then *not* printed (they may be real secrets; DESIGN §6), a comment says they are in use.
pub async fn serve_until_signal(
    mut config: SandboxConfig,
    seed: Vec<SeedMessage>,
    listen: SocketAddr,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut from_env = Vec::new();
    for (name, field) in [
        ("JPUSH_APP_KEY", &mut config.jpush_app_key),
        ("JPUSH_MASTER_SECRET", &mut config.jpush_master_secret),
        ("TPNS_ACCESS_ID", &mut config.tpns_access_id),
        ("TPNS_SECRET_KEY", &mut config.tpns_secret_key),
    ] {
        if let Ok(v) = std::env::var(name)
            && !v.is_empty()
        {
            *field = v;
            from_env.push(name);
        }
    }
    let (jpush_n, tpns_n) = seed.iter().fold((0, 0), |(j, t), m| match m.provider {
        Provider::Jpush => (j + 1, t),
        Provider::Tpns => (j, t + 1),
    });
    let listener = TcpListener::bind(listen).await?;
    let sandbox = Sandbox::start(config, seed, listener).await?;
    let url = sandbox.url();
    let c = sandbox.config();
    let mut out = String::new();
    out.push_str(&format!(
        "# pushfix sandbox (JPush and TPNS) listening on {url}; Ctrl-C stops it\n"
    ));
    out.push_str(&format!("export PUSHFIX_SANDBOX_URL={url}\n"));
    for (name, value) in [
        ("JPUSH_APP_KEY", &c.jpush_app_key),
        ("JPUSH_MASTER_SECRET", &c.jpush_master_secret),
        ("TPNS_ACCESS_ID", &c.tpns_access_id),
        ("TPNS_SECRET_KEY", &c.tpns_secret_key),
    ] {
        if from_env.contains(&name) {
            out.push_str(&format!(
                "# {name} is already set in the environment; the sandbox accepts that value\n"
            ));
        } else {
            out.push_str(&format!("export {name}={value}\n"));
        }
    }
    {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
    }
    let now = sandbox_clock(c);
    eprintln!(
        "sandbox: {jpush_n} JPush messages, {tpns_n} TPNS tasks; clock {}; rates: JPush {}, TPNS {}; faults: {}; TPNS revoke {}",
        fmt_ts(now),
        Window::describe(c.jpush_rate()),
        Window::describe(c.tpns_rate()),
        c.faults,
        if c.tpns_revoke_enabled {
            "enabled"
        } else {
            "offline (as at Tencent)"
        },
    );
    wait_for_signal().await;
    eprintln!("sandbox: shutting down");
    sandbox.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// How far a TPNS `TimeStamp` may be from the system clock. Tencent documents no window; ten
/// minutes is lenient for clock skew yet catches milliseconds sent instead of seconds.
const SIGN_TOLERANCE: Duration = Duration::from_secs(600);

/// Largest request body read (bigger ones get HTTP 413).
const MAX_BODY: usize = 8 << 20;

fn sandbox_clock(config: &SandboxConfig) -> Timestamp {
    let now = Timestamp::now();
    now.checked_add(config.clock_offset).unwrap_or(now)
}

pub(crate) struct Shared {
    pub config: SandboxConfig,
    pub started: Instant,
    pub start_ts: Timestamp,
    pub sign_tolerance: Option<Duration>,
    pub inner: Mutex<Inner>,
    log: Mutex<Vec<LogEntry>>,
    shutdown: watch::Sender<bool>,
}

/// Everything mutable, behind one lock (never held across an await).
pub(crate) struct Inner {
    pub store: Store,
    fault_rng: StdRng,
    pub id_rng: StdRng,
    pub jpush_window: Window,
    pub tpns_push_window: Window,
    pub tpns_corrective_window: Window,
    pub tpns_stats_window: Window,
    /// Issued JPush cids.
    pub cids: HashMap<String, jpush::CidEntry>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn log(&self) -> MutexGuard<'_, Vec<LogEntry>> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn requests_json(&self) -> Value {
        Value::Array(self.log().iter().map(LogEntry::to_json).collect())
    }

    fn messages_json(&self) -> Value {
        let now = sandbox_clock(&self.config);
        let inner = self.lock();
        Value::Array(inner.store.msgs.iter().map(|m| m.to_json(now)).collect())
    }
}

/// The moment a request is handled.
pub(crate) struct Ctx {
    /// The sandbox clock.
    pub now: Timestamp,
    /// The system clock (TPNS `TimeStamp` checks: the client signs with its real clock).
    pub real_now: Timestamp,
    /// Since the sandbox started (rate-limit windows).
    pub elapsed: Duration,
    /// This request's `seq` in the request log.
    pub seq: u64,
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
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
            note: None,
            auth: None,
        }
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
            note: None,
            auth: None,
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Reply {
        self.note = Some(note.into());
        self
    }
}

/// Which handler a provider request goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    JpushPush,
    JpushValidate,
    JpushCid,
    JpushRecall(String),
    TpnsPushApp,
    TpnsStop,
    TpnsRevoke,
    TpnsCancel,
    TpnsRecord,
}

impl Route {
    fn provider(&self) -> Provider {
        match self {
            Route::JpushPush | Route::JpushValidate | Route::JpushCid | Route::JpushRecall(_) => {
                Provider::Jpush
            }
            _ => Provider::Tpns,
        }
    }

    fn endpoint(&self) -> &'static str {
        match self {
            Route::JpushPush => "push",
            Route::JpushValidate => "validate",
            Route::JpushCid => "cid",
            Route::JpushRecall(_) => "recall",
            Route::TpnsPushApp => "push_app",
            Route::TpnsStop => "stop_push_msg",
            Route::TpnsRevoke => "revoke_push_msg",
            Route::TpnsCancel => "cancel_timing_task",
            Route::TpnsRecord => "get_push_record",
        }
    }
}

enum Routing {
    Ok(Route),
    /// A known path, the wrong method.
    Method(Provider),
    NotFound,
}

fn route(method: &Method, path: &str) -> Routing {
    let tpns = match path {
        "/v3/push/app" => Some(Route::TpnsPushApp),
        "/v3/push/stop_push_msg" => Some(Route::TpnsStop),
        "/v3/push/revoke_push_msg" => Some(Route::TpnsRevoke),
        "/v3/push/cancel_timing_task" => Some(Route::TpnsCancel),
        "/v3/statistics/get_push_record" => Some(Route::TpnsRecord),
        _ => None,
    };
    if let Some(r) = tpns {
        // TPNS: "HTTPS only, method POST only".
        return if method == Method::POST {
            Routing::Ok(r)
        } else {
            Routing::Method(Provider::Tpns)
        };
    }
    let (want, r) = match path {
        "/v3/push" => (Method::POST, Route::JpushPush),
        "/v3/push/validate" => (Method::POST, Route::JpushValidate),
        "/v3/push/cid" => (Method::GET, Route::JpushCid),
        _ => match path.strip_prefix("/v3/push/") {
            Some(id) if !id.is_empty() && !id.contains('/') => {
                (Method::DELETE, Route::JpushRecall(id.to_string()))
            }
            _ => return Routing::NotFound,
        },
    };
    if *method == want {
        Routing::Ok(r)
    } else {
        Routing::Method(Provider::Jpush)
    }
}

/// One line of `GET /_sandbox/requests`.
#[derive(Debug, Clone)]
struct LogEntry {
    seq: u64,
    time: Timestamp,
    method: String,
    path: String,
    query: Option<String>,
    provider: Option<&'static str>,
    endpoint: Option<&'static str>,
    /// A safe subset of the request headers (never `Authorization` or `Sign`).
    headers: Value,
    auth: Option<Value>,
    body: Value,
    status: Option<u16>,
    response_headers: Value,
    response: Value,
    fault: Option<&'static str>,
    /// `pending`, `answered`, `held` (timeout fault: the answer is never sent), `reset`.
    outcome: &'static str,
    latency_ms: u64,
    note: Option<String>,
}

impl LogEntry {
    fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "time": fmt_ts(self.time),
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

/// The request headers worth showing. `Authorization` and `Sign` are never logged.
const LOGGED_HEADERS: &[&str] = &[
    "content-type",
    "accept",
    "user-agent",
    "accessid",
    "timestamp",
    "x-encrypt-type",
];

fn body_json(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// Closes the connection without an answer (the `reset` and `timeout` faults).
#[derive(Debug)]
struct Hangup;

impl std::fmt::Display for Hangup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Hangup {}

type Resp = Response<Full<Bytes>>;

/// Resolves once the sandbox is shutting down.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    let conn_stop = stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // EMFILE and friends: back off a little instead of spinning.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                conns.spawn(serve_connection(stream, shared.clone(), conn_stop.clone()));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    // In-flight requests finish; held connections were released by the same signal.
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(10), drain)
        .await
        .is_err()
    {
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let svc_shared = shared.clone();
    let svc = service_fn(move |req| handle(svc_shared.clone(), req));
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stopped(&mut stop) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

fn respond(status: u16, body: Option<&Value>, headers: &[(&'static str, String)]) -> Resp {
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

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Hangup> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    if path == "/_sandbox" || path.starts_with("/_sandbox/") {
        // Drain the body; debug endpoints ignore it.
        let _ = Limited::new(body, MAX_BODY).collect().await;
        return Ok(debug_endpoint(&shared, &parts.method, &path));
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
    let routing = route(&parts.method, &path);
    let (provider, endpoint) = match &routing {
        Routing::Ok(r) => (Some(r.provider()), Some(r.endpoint())),
        Routing::Method(p) => (Some(*p), None),
        Routing::NotFound => (None, None),
    };

    // Reserve the log slot at arrival, so the log is in the order requests came in.
    let seq = {
        let mut headers = serde_json::Map::new();
        for name in LOGGED_HEADERS {
            if let Some(v) = parts.headers.get(*name) {
                headers.insert(
                    (*name).to_string(),
                    Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
                );
            }
        }
        let mut log = shared.log();
        let seq = log.len() as u64 + 1;
        log.push(LogEntry {
            seq,
            time: sandbox_clock(&shared.config),
            method: parts.method.to_string(),
            path: path.clone(),
            query: query.clone(),
            provider: provider.map(Provider::name),
            endpoint,
            headers: Value::Object(headers),
            auth: None,
            body: body_json(&bytes),
            status: None,
            response_headers: json!({}),
            response: Value::Null,
            fault: None,
            outcome: "pending",
            latency_ms: 0,
            note: None,
        });
        seq
    };
    let finish =
        |reply: Option<&Reply>, fault: Option<Fault>, outcome: &'static str, latency: Duration| {
            let mut log = shared.log();
            let e = &mut log[(seq - 1) as usize];
            if let Some(r) = reply {
                e.status = Some(r.status);
                e.response = r.body.clone().unwrap_or(Value::Null);
                e.response_headers = Value::Object(
                    r.headers
                        .iter()
                        .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
                        .collect(),
                );
                e.note = r.note.clone();
                e.auth = r.auth.clone();
            }
            e.fault = fault.map(Fault::name);
            e.outcome = outcome;
            e.latency_ms = latency.as_millis() as u64;
        };

    let route = match routing {
        Routing::Ok(r) => r,
        Routing::Method(p) => {
            let reply = match p {
                Provider::Jpush => {
                    // "1001: only POST supported" (HTTP 405), with the window headers every JPush
                    // answer carries.
                    let elapsed = shared.started.elapsed();
                    let w = shared.lock().jpush_window.peek(elapsed);
                    let mut r = Reply::json(
                        405,
                        jpush::error_body(1001, "the method is not supported on this path"),
                    );
                    r.headers = jpush::rate_headers(&w);
                    r
                }
                Provider::Tpns => Reply::json(
                    405,
                    json!({"ret_code": 1008007, "err_msg": "only POST is supported"}),
                ),
            };
            finish(Some(&reply), None, "answered", Duration::ZERO);
            return Ok(respond(reply.status, reply.body.as_ref(), &reply.headers));
        }
        Routing::NotFound => {
            let reply = Reply::json(
                404,
                json!({"error": {"code": 404, "message": format!("the pushfix sandbox has no endpoint {} {path}", parts.method)}}),
            );
            finish(Some(&reply), None, "answered", Duration::ZERO);
            return Ok(respond(reply.status, reply.body.as_ref(), &reply.headers));
        }
    };

    let ctx = Ctx {
        now: sandbox_clock(&shared.config),
        real_now: Timestamp::now(),
        elapsed: shared.started.elapsed(),
        seq,
    };
    let req = Req {
        query: query.as_deref(),
        headers: &parts.headers,
        body: &bytes,
    };
    let (fault, delay) = {
        let mut inner = shared.lock();
        let inner = &mut *inner;
        shared.config.faults.draw(&mut inner.fault_rng)
    };
    let reply = match fault {
        Some(Fault::Reset) => {
            finish(None, fault, "reset", delay);
            tokio::time::sleep(delay).await;
            return Err(Hangup);
        }
        Some(Fault::Error5xx) => {
            let mut inner = shared.lock();
            match route.provider() {
                Provider::Jpush => {
                    let w = inner.jpush_window.peek(ctx.elapsed);
                    let mut r = Reply::json(
                        503,
                        jpush::error_body(1030, "Internal service timeout, please retry later"),
                    );
                    r.headers = jpush::rate_headers(&w);
                    r
                }
                Provider::Tpns if route == Route::TpnsRecord => Reply::json(
                    503,
                    json!({"retCode": 1008004, "errMsg": "invoke service error"}),
                ),
                Provider::Tpns => Reply::json(
                    503,
                    json!({"ret_code": 1008004, "err_msg": "invoke service error"}),
                ),
            }
            .note("fault injection: 5xx (nothing was done)")
        }
        Some(Fault::Timeout) | None => {
            let mut inner = shared.lock();
            match route.provider() {
                Provider::Jpush => jpush::handle(&shared, &mut inner, &ctx, &req, &route),
                Provider::Tpns => tpns::handle(&shared, &mut inner, &ctx, &req, &route),
            }
        }
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
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Ok(respond(reply.status, reply.body.as_ref(), &reply.headers))
}

fn debug_endpoint(shared: &Shared, method: &Method, path: &str) -> Resp {
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
        "/_sandbox" => {
            let c = &shared.config;
            let body = json!({
                "clock": fmt_ts(sandbox_clock(c)),
                "started_at": fmt_ts(shared.start_ts),
                "clock_offset_seconds": c.clock_offset.as_secs(),
                "rates": {
                    "jpush_push_family": Window::describe(c.jpush_rate()),
                    "tpns_push_app": Window::describe(c.tpns_rate()),
                    "tpns_stop_revoke_cancel": Window::describe(c.tpns_rate()),
                    "tpns_statistics": "200 per 3600s",
                },
                "faults": c.faults.to_string(),
                "tpns_revoke_enabled": c.tpns_revoke_enabled,
                "endpoints": ["/_sandbox/requests", "/_sandbox/messages"],
            });
            respond(200, Some(&body), &[])
        }
        _ => respond(
            404,
            Some(&json!({"error": "unknown /_sandbox endpoint"})),
            &[],
        ),
    }
}

impl Window {
    fn describe(rate: crate::domain::Rate) -> String {
        let w = Window::from_rate(rate);
        format!("{} per {}s", w.limit, w.len.as_secs_f64())
    }
}
