//! Integration tests: the real `pushfix` binary, run as a newcomer would run it.

mod invalid_inputs;
mod offline;
mod run_jpush;
mod run_tpns;
mod support;
