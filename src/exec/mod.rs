//! Execution (async): the executor and its calls, pacing, retries, the failure budget, the
//! stop flag, signals, the run lock, and recovery of an interrupted run.

mod call;
pub mod executor;
pub mod failure_budget;
pub mod lock;
pub mod pacer;
pub mod quota;
pub mod recovery;
pub mod retry;
pub mod signals;
pub mod stop;
pub mod verify;

pub use executor::{ExecConfig, Executor, ResumeHints, RunResult};
pub use retry::RetrySettings;
