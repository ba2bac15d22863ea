//! Execution (async): pacing, retries, concurrency, the journal, locks and signals.

pub mod failure_budget;

pub mod lock;
pub mod pacer;
pub mod progress;
pub mod resume;
pub mod runner;
pub mod signals;
pub mod stop;

pub use runner::{ExecConfig, Executor, Hints, RetrySettings, RunResult};
