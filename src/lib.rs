//! pushfix: corrective push-notification campaigns as reviewed YAML playbooks.
//!
//! The layers, lowest first (each uses only those before it): `domain` (shared vocabulary);
//! `diag`, `yaml`, `input_set`, `atomic_file`, `redact`, `template`, `event`, `target`;
//! `provider` (the Provider trait, its registry and one folder per provider); `ledger`,
//! `ids_file`, `matrix`; `playbook`; `plan`; `journal`, `report`, `progress`, `event_stream`,
//! `run_dir`; `exec` (async); `sandbox` (async, independent of the client); `commands` and
//! `cli`. The offline half (parse, validate, plan) is plain synchronous code; only `exec` and
//! `sandbox` are async.

// Located diagnostics are large, but they only travel on the error path of input checking,
// once per problem; boxing them would add noise without saving anything measurable.
#![allow(clippy::result_large_err)]

pub mod atomic_file;
pub mod cli;
pub mod commands;
pub mod diag;
pub mod domain;
pub mod error;
pub mod event;
pub mod event_stream;
pub mod exec;
pub mod exit;
pub mod history;
pub mod ids_file;
pub mod input_set;
pub mod journal;
pub mod ledger;
pub mod matrix;
pub mod plan;
pub mod playbook;
pub mod progress;
#[cfg(test)]
mod properties;
pub mod provider;
pub mod redact;
pub mod report;
pub mod run_dir;
pub mod sandbox;
pub mod scaffold;
pub mod target;
pub mod template;
pub mod verify;
pub mod yaml;

/// An I/O error as a short reason ("no such file or directory").
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}
