//! `pushfix report RUN_DIR`: rebuild a run's reports from its journal (after a crash too),
//! write them, and print one.

use super::apply::read_plan;
use super::output;
use crate::cli::{ReportArgs, ReportFormat};
use crate::error::Error;
use crate::exit;
use crate::journal;
use crate::report::{self, ReportBuilder};

pub fn report(a: ReportArgs) -> Result<i32, Error> {
    let path = a.run_dir.join("journal.jsonl");
    if !path.is_file() {
        return Err(Error::Usage(format!(
            "`{}` is not a run directory (no journal.jsonl)",
            a.run_dir.display()
        )));
    }
    // One pass over the journal, through the builder a live run uses; with the run's plan, for
    // the exposure and the steps' policies.
    let mut builder = ReportBuilder::new();
    let plan_path = a.run_dir.join("plan.json");
    if plan_path.is_file() {
        // Without its plan the report still counts every outcome; it says what it lacks.
        match read_plan(&plan_path) {
            Ok(plan) => builder = builder.with_plan(std::sync::Arc::new(plan)),
            Err(e) => eprintln!(
                "warning: the report is made without the plan (no exposure, no step policies):\n{e}"
            ),
        }
    }
    journal::read_each(&path, |e| builder.record(&e))?;
    let (r, d) = builder
        .report()
        .map_err(|e| Error::Usage(format!("`{}`: {e}", path.display())))?;
    report::write_reports(&a.run_dir, &r, &d)?;
    let text = match a.format {
        ReportFormat::Md => report::to_markdown(&r, &d),
        ReportFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&report::to_json(&r))
                .map_err(|e| Error::Internal(e.to_string()))?
        ),
        ReportFormat::Html => report::to_html(&r, &d),
    };
    output::print(&text)?;
    Ok(exit::OK)
}
