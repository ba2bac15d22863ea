//! `pushfix sandbox` and `pushfix run --sandbox`: the built-in provider simulator.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};

use crate::cli::SandboxArgs;
use crate::domain::Rate;
use crate::error::Error;
use crate::exit;
use crate::sandbox::{
    Faults, Sandbox, SandboxConfig, SeedMessage, load_ledger, serve_until_signal,
};

/// The sandbox clock's offset from the system clock for a rehearsal "as of" `as_of`.
pub fn clock_offset(as_of: Option<Timestamp>) -> SignedDuration {
    as_of.map_or(SignedDuration::ZERO, |t| t.duration_since(Timestamp::now()))
}

pub fn parse_faults(spec: Option<&str>) -> Result<Faults, Error> {
    match spec {
        Some(s) => Faults::parse(s).map_err(|e| Error::Usage(format!("--faults: {e}"))),
        None => Ok(Faults::none()),
    }
}

pub fn seed_from(paths: &[&Path]) -> Result<Vec<SeedMessage>, Error> {
    let mut seed = Vec::new();
    for p in paths {
        seed.extend(load_ledger(p).map_err(|e| {
            Error::Usage(format!(
                "cannot seed the sandbox from `{}`: {e}",
                p.display()
            ))
        })?);
    }
    Ok(seed)
}

pub fn sandbox(a: SandboxArgs) -> Result<i32, Error> {
    let mut config = SandboxConfig::with_random_credentials();
    // `off` removes the ceiling (throughput benchmarks: the sandbox must not be the limit).
    config.unlimited = a
        .rate
        .as_deref()
        .is_some_and(|r| r.trim().eq_ignore_ascii_case("off"));
    if !config.unlimited {
        config.rate = a
            .rate
            .as_deref()
            .map(Rate::parse)
            .transpose()
            .map_err(|e| Error::Usage(format!("--rate: {e}")))?;
    }
    config.faults = parse_faults(a.faults.as_deref())?;
    if a.enable_revoke {
        config.enable("tpns.revoke").map_err(Error::Internal)?;
    }
    config.clock_offset = clock_offset(super::instant("--as-of", a.as_of.as_deref())?);
    config.seed = a.seed;
    let paths: Vec<&Path> = a.ledger.iter().map(|p| p.as_path()).collect();
    let seed = seed_from(&paths)?;
    if !a.listen.ip().is_loopback() {
        eprintln!(
            "warning: listening on {} (not loopback): anyone who can reach it can use the sandbox",
            a.listen
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))?;
    runtime
        .block_on(serve_until_signal(config, seed, a.listen))
        .map_err(|e| Error::Usage(format!("cannot serve on {}: {e}", a.listen)))?;
    Ok(exit::OK)
}

/// A sandbox running in this process for `run --sandbox`, on its own runtime thread so it keeps
/// answering while the run blocks on its own runtime.
pub struct InProcess {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
}

impl InProcess {
    pub fn start(config: SandboxConfig, seed: Vec<SeedMessage>) -> Result<InProcess, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pushfix-sandbox")
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))?;
        let sandbox = runtime
            .block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                Sandbox::start(config, seed, listener).await
            })
            .map_err(|e| Error::Usage(format!("cannot start the sandbox: {e}")))?;
        Ok(InProcess {
            runtime,
            sandbox: Some(sandbox),
        })
    }

    pub fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("running")
    }

    /// Stop serving; returns what the sandbox recorded ({"requests": …, "messages": …}).
    pub fn stop(mut self) -> serde_json::Value {
        let Some(s) = self.sandbox.take() else {
            return serde_json::Value::Null;
        };
        let record = serde_json::json!({ "requests": s.requests(), "messages": s.messages() });
        self.runtime.block_on(s.shutdown());
        record
    }
}
