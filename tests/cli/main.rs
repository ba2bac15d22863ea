//! Integration tests: the real `pushfix` binary, run as a newcomer would run it. Every test
//! goes through `support::Test` (see `support/test.rs`). The invalid-input fixtures are a
//! target of their own: `tests/invalid_inputs/main.rs`.

mod browser;
mod deploy;
mod e2e_sandbox;
mod events;
mod faults;
mod history;
mod init;
mod install;
mod machine_readable;
mod offline;
mod resume_apply;
mod run_getui;
mod run_jpush;
mod run_timpush;
mod run_tpns;
mod secrets;
mod support;
mod truth;
mod verify;
