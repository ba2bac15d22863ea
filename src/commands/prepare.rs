//! What the commands share around planning: preparing (decode, scan, plan) with the command's
//! error type, warnings, and the `max_targets` guard.

use std::io::Write as _;
use std::path::Path;

use jiff::Timestamp;

pub use crate::plan::{Loaded, Prepared};

use crate::diag::Diagnostic;
use crate::error::Error;
use crate::history::{self, History};
use crate::plan::{self, AlreadyDone, Plan};
use crate::playbook::Playbook;

fn prepare_error(e: plan::PrepareError) -> Error {
    match e {
        plan::PrepareError::Input(d) => Error::Input(d),
        plan::PrepareError::Matrix(m) => Error::Internal(m),
    }
}

/// Decode, scan the ledger, plan (`plan::prepare`), without run history. Errors are located.
pub fn prepare(
    path: &Path,
    vars: &[(String, String)],
    now: Timestamp,
    started: Timestamp,
) -> Result<Prepared, Error> {
    plan::prepare(path, vars, now, started).map_err(prepare_error)
}

/// Decode and scan the ledger; the plan is built once the run history is known.
pub fn load(
    path: &Path,
    vars: &[(String, String)],
    now: Timestamp,
    started: Timestamp,
) -> Result<Loaded, Error> {
    plan::load(path, vars, now, started).map_err(prepare_error)
}

/// Build the plan, skipping what earlier runs already corrected.
pub fn build(loaded: Loaded, done: &AlreadyDone) -> Result<Prepared, Error> {
    loaded.build(done).map_err(prepare_error)
}

/// What `run`, `apply` and `plan` know of earlier runs of this playbook, for the app named by
/// the playbook's id variable, against `base_url`, in `audit_dir`. Without the variable set
/// there is no app to look up (and `run` will refuse for the missing credentials anyway).
pub fn history(pb: &Playbook, audit_dir: &Path, base_url: &str) -> Result<History, Error> {
    let Some(app) = std::env::var(&pb.provider.credentials.id_env.value)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(History::default());
    };
    let key = history::Key {
        provider: pb.provider.kind.as_str(),
        app: &app,
        playbook: &pb.name.value,
        base_url,
    };
    Ok(history::read(audit_dir, key)?)
}

/// Refuse to start beside an unfinished earlier run (exit 5): only `resume` may go on with
/// it, or its targets could get a second visible correction.
pub fn refuse_unfinished(h: &History) -> Result<(), Error> {
    match h.unfinished() {
        Some(u) => Err(Error::Refused(format!(
            "an earlier run of this playbook for this app did not finish ({}): finish it with `pushfix resume {}` \
             (or start a new run beside it anyway with --again)",
            u.why(),
            u.dir.display()
        ))),
        None => Ok(()),
    }
}

pub fn print_warnings(ws: &[Diagnostic]) {
    let mut err = std::io::stderr().lock();
    for w in ws {
        let _ = writeln!(err, "{w}");
    }
}

/// Credentials are only read by `run`; the plan says early if they are missing here.
pub fn credential_warnings(pb: &Playbook) -> Vec<String> {
    let c = &pb.provider.credentials;
    [&c.id_env.value, &c.secret_env.value]
        .into_iter()
        .filter(|name| std::env::var_os(name.as_str()).is_none_or(|v| v.is_empty()))
        .map(|name| format!("{name} is not set in this environment; `pushfix run` will need it"))
        .collect()
}

/// The max_targets guard (exit 5), checked by plan and run after printing the plan.
pub fn check_max_targets(plan: &Plan) -> Result<(), Error> {
    if let Some(max) = plan.limits.max_targets
        && plan.totals.targets > max
    {
        return Err(Error::Refused(format!(
            "the plan selects {} targets, more than limits.max_targets ({max}); narrow the selection or raise the limit",
            plan.totals.targets
        )));
    }
    Ok(())
}
