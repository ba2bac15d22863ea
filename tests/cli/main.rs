//! Integration tests: the real `pushfix` binary, run as a newcomer would run it.

mod e2e_sandbox;
mod invalid_inputs;
mod offline;
mod resume_apply;
mod run_jpush;
mod run_tpns;
mod support;
