//! What the commands share around planning: preparing (decode, scan, plan) with the command's
//! error type, warnings, and the `max_targets` guard.

use std::io::Write as _;
use std::path::Path;

use jiff::Timestamp;

pub use crate::plan::Prepared;

use crate::diag::Diagnostic;
use crate::error::Error;
use crate::plan::{self, Plan};
use crate::playbook::Playbook;

/// Decode, scan the ledger, plan (`plan::prepare`). Errors are located.
pub fn prepare(
    path: &Path,
    vars: &[(String, String)],
    now: Timestamp,
    started: Timestamp,
) -> Result<Prepared, Error> {
    plan::prepare(path, vars, now, started).map_err(|e| match e {
        plan::PrepareError::Input(d) => Error::Input(d),
        plan::PrepareError::Matrix(m) => Error::Internal(m),
    })
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
