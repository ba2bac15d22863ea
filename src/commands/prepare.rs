//! Everything before the first request: decode the playbook, scan the ledger, plan. Shared by
//! validate, plan, run and apply; every problem is a located diagnostic.

use std::io::Write as _;
use std::path::Path;

use jiff::Timestamp;

use crate::diag::Diagnostic;
use crate::error::Error;
use crate::input_set::InputSet;
use crate::ledger;
use crate::matrix::Matrix;
use crate::plan::{self, Plan, PlanContext};
use crate::playbook::{self, Playbook};

/// A playbook read, its ledger scanned and its plan built.
pub struct Prepared {
    pub playbook: Playbook,
    pub plan: Plan,
    pub inputs: InputSet,
    /// Warnings from reading the inputs (printed to stderr by commands).
    pub warnings: Vec<Diagnostic>,
    /// `<UTC start>-<playbook name>`: the run directory's name.
    pub run_id: String,
}

/// Decode, scan the ledger, plan. Errors are located.
pub fn prepare(
    path: &Path,
    vars: &[(String, String)],
    now: Timestamp,
    started: Timestamp,
) -> Result<Prepared, Error> {
    let matrix = Matrix::builtin().map_err(Error::Internal)?;
    let mut inputs = InputSet::new();
    for (k, v) in vars {
        inputs.record_extra("var", &format!("{k}={v}"));
    }
    let (pb, mut diags) = playbook::load(path, vars, &mut inputs);
    let Some(pb) = pb else {
        return Err(Error::Input(diags));
    };
    let provider = pb.provider.provider();
    let scan = match &pb.ledger {
        Some(l) => {
            let queries = plan::ledger_queries(&pb, now);
            match ledger::scan(
                &l.value,
                provider,
                matrix.provider(pb.provider.kind),
                &queries,
            ) {
                Ok(s) => {
                    inputs.record(&l.value, &s.sha256);
                    Some(s)
                }
                Err(d) => {
                    diags.extend(d);
                    return Err(Error::Input(diags));
                }
            }
        }
        None => None,
    };
    let path_text = path.display().to_string();
    // The id the run directory will have, so `{{ run.id }}` in a template names it.
    let run_id = crate::run_dir::run_id(started, &pb.name.value);
    let ctx = PlanContext {
        playbook: &pb,
        playbook_path: &path_text,
        matrix: &matrix,
        scan: scan.as_ref(),
        inputs: &inputs,
        now,
        run_id: &run_id,
    };
    let plan = match plan::build(&ctx) {
        Ok(p) => p,
        Err(d) => {
            diags.extend(d);
            return Err(Error::Input(diags));
        }
    };
    let mut warnings = diags.into_warnings();
    if let Some(s) = scan {
        warnings.extend(s.warnings.into_warnings());
    }
    Ok(Prepared {
        playbook: pb,
        plan,
        inputs,
        warnings,
        run_id,
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
