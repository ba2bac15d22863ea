//! From a playbook file to a plan: decode, scan the ledger once, build.

use std::path::Path;

use jiff::Timestamp;

use super::{AlreadyDone, Plan, PlanContext, build, ledger_queries};
use crate::diag::{Diagnostic, Diagnostics};
use crate::input_set::InputSet;
use crate::ledger::{self, Scan};
use crate::matrix::Matrix;
use crate::playbook::{self, Playbook};

/// Why no plan could be made.
#[derive(Debug)]
pub enum PrepareError {
    /// The inputs have problems, each located.
    Input(Diagnostics),
    /// The built-in channel matrix does not load (a bug the test suite catches).
    Matrix(String),
}

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

/// A playbook read and its ledger scanned: everything the plan is built from except the run
/// history, which needs to know where the run goes (its app and audit directory).
pub struct Loaded {
    pub playbook: Playbook,
    matrix: Matrix,
    scan: Option<Scan>,
    pub inputs: InputSet,
    diags: Diagnostics,
    path_text: String,
    now: Timestamp,
    /// `<UTC start>-<playbook name>`: the run directory's name.
    pub run_id: String,
}

/// Decode the playbook and scan its ledger once; every problem is a located diagnostic.
pub fn load(
    path: &Path,
    vars: &[(String, String)],
    now: Timestamp,
    started: Timestamp,
) -> Result<Loaded, PrepareError> {
    let matrix = Matrix::builtin().map_err(PrepareError::Matrix)?;
    let mut inputs = InputSet::new();
    for (k, v) in vars {
        inputs.record_extra("var", &format!("{k}={v}"));
    }
    let (pb, mut diags) = playbook::load(path, vars, &mut inputs);
    let Some(pb) = pb else {
        return Err(PrepareError::Input(diags));
    };
    let provider = pb.provider.provider();
    let scan = match &pb.ledger {
        Some(l) => {
            let queries = ledger_queries(&pb, now);
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
                    return Err(PrepareError::Input(diags));
                }
            }
        }
        None => None,
    };
    // The id the run directory will have, so `{{ run.id }}` in a template names it.
    let run_id = crate::run_dir::run_id(started, &pb.name.value);
    Ok(Loaded {
        playbook: pb,
        matrix,
        scan,
        inputs,
        diags,
        path_text: path.display().to_string(),
        now,
        run_id,
    })
}

impl Loaded {
    /// Build the plan, skipping what earlier runs already corrected (`done`).
    pub fn build(self, done: &AlreadyDone) -> Result<Prepared, PrepareError> {
        let Loaded {
            playbook: pb,
            matrix,
            scan,
            inputs,
            mut diags,
            path_text,
            now,
            run_id,
        } = self;
        let ctx = PlanContext {
            playbook: &pb,
            playbook_path: &path_text,
            matrix: &matrix,
            scan: scan.as_ref(),
            inputs: &inputs,
            now,
            run_id: &run_id,
            done,
        };
        let plan = match build(&ctx) {
            Ok(p) => p,
            Err(d) => {
                diags.extend(d);
                return Err(PrepareError::Input(diags));
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
}

/// Everything before the first request, without run history: decode the playbook, scan its
/// ledger, plan. Every problem is a located diagnostic.
pub fn prepare(
    path: &Path,
    vars: &[(String, String)],
    now: Timestamp,
    started: Timestamp,
) -> Result<Prepared, PrepareError> {
    load(path, vars, now, started)?.build(&AlreadyDone::new())
}
