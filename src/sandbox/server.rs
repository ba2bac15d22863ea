//! The running sandbox: its listener, connections, shared state and shutdown.
//!
//! The server is hyper 1 on raw connections (not axum) because the `reset` fault must close a
//! connection without any response and the `timeout` fault must hold one without answering,
//! and both must still let a graceful shutdown finish promptly.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jiff::Timestamp;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::PROVIDERS;
use super::config::SandboxConfig;
use super::delay::Delays;
use super::handler::handle;
use super::provider::{Running, Summary};
use super::request_log::LogEntry;
use super::seed::SeedMessage;

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
        Sandbox::start_with(config, seed, listener, true).await
    }

    /// `check_clock`: whether signed timestamps are checked against the system clock (false
    /// only for replaying a reference's fixed signature vectors).
    pub(crate) async fn start_with(
        config: SandboxConfig,
        seed: Vec<SeedMessage>,
        listener: TcpListener,
        check_clock: bool,
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
        // Each provider gets its own records, numbered in ledger order across providers.
        let seeded = seed.len() as u64;
        let mut per_provider: Vec<Vec<(u64, SeedMessage)>> = vec![Vec::new(); PROVIDERS.len()];
        for (i, s) in seed.into_iter().enumerate() {
            // A seed is made by a registered provider's `parse_seed` (or its tests), so it
            // always finds its provider.
            if let Some(p) = PROVIDERS.iter().position(|p| p.name() == s.provider) {
                per_provider[p].push((i as u64, s));
            }
        }
        let providers = PROVIDERS
            .iter()
            .zip(per_provider)
            .map(|(p, seeds)| p.start(&config, seeds, start_ts, check_clock))
            .collect();
        let inner = Inner {
            fault_rng: StdRng::seed_from_u64(config.seed),
            ineffective_rng: StdRng::seed_from_u64(config.seed ^ 0x1e_ffec_7172_0000),
            providers,
        };
        let shared = Arc::new(Shared {
            config,
            started: Instant::now(),
            start_ts,
            ordinals: AtomicU64::new(seeded),
            inner: Mutex::new(inner),
            log: Mutex::new(Vec::new()),
            delays: Delays::new(),
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

    /// Each provider's summary, in registry order.
    pub(crate) fn summaries(&self) -> Vec<Summary> {
        self.shared.summaries()
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

/// Largest request body read (bigger ones get HTTP 413).
pub(crate) const MAX_BODY: usize = 8 << 20;

pub(crate) fn sandbox_clock(config: &SandboxConfig) -> Timestamp {
    let now = Timestamp::now();
    now.checked_add(config.clock_offset).unwrap_or(now)
}

pub(crate) struct Shared {
    pub config: SandboxConfig,
    pub started: Instant,
    pub start_ts: Timestamp,
    /// The next message ordinal (after the seeded ones): see [`super::exchange::Ctx`].
    pub ordinals: AtomicU64,
    inner: Mutex<Inner>,
    log: Mutex<Vec<LogEntry>>,
    /// The `latency` fault's timer.
    pub delays: Delays,
    pub shutdown: watch::Sender<bool>,
}

/// Everything mutable but the log, behind one lock (never held across an await).
pub(crate) struct Inner {
    pub fault_rng: StdRng,
    /// For the `ineffective` fault (a stream of its own).
    pub ineffective_rng: StdRng,
    /// One per registered provider, in registry order.
    pub providers: Vec<Box<dyn Running>>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn log(&self) -> MutexGuard<'_, Vec<LogEntry>> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn requests_json(&self) -> Value {
        Value::Array(self.log().iter().map(LogEntry::to_json).collect())
    }

    /// Every provider's messages, in the order the sandbox learnt of them.
    pub fn messages_json(&self) -> Value {
        let now = sandbox_clock(&self.config);
        let inner = self.lock();
        let mut all: Vec<(u64, Value)> = inner
            .providers
            .iter()
            .flat_map(|p| p.messages(now))
            .collect();
        all.sort_by_key(|(ordinal, _)| *ordinal);
        Value::Array(all.into_iter().map(|(_, m)| m).collect())
    }

    pub fn summaries(&self) -> Vec<Summary> {
        self.lock().providers.iter().map(|p| p.summary()).collect()
    }
}

/// Resolves once the sandbox is shutting down.
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
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
