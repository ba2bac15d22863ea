//! `pushfix plan PLAYBOOK`: the dry run.

use jiff::Timestamp;

use super::output;
use super::prepare::{
    build, check_max_targets, credential_warnings, history, load, print_warnings,
};
use crate::atomic_file::write_json;
use crate::cli::{PlanArgs, PlanFormat};
use crate::error::Error;
use crate::exit;
use crate::plan as planner;

pub fn plan(a: PlanArgs) -> Result<i32, Error> {
    let now = super::now(&a.as_of)?;
    let loaded = load(&a.playbook, &a.vars.vars, now, Timestamp::now())?;
    // What `run` would skip as already done, and whether it would refuse to start.
    let base_url = loaded.playbook.provider.base_url.clone();
    let history = history(&loaded.playbook, &a.audit_dir, &base_url)?;
    let p = build(loaded, &history.settled)?;
    print_warnings(&p.warnings);
    let mut plan = p.plan;
    plan.warnings.extend(credential_warnings(&p.playbook));
    if let Some(u) = history.unfinished() {
        plan.warnings.push(format!(
            "an earlier run did not finish ({}): `pushfix run` will refuse to start until `pushfix resume {}` finishes it",
            u.why(),
            u.dir.display()
        ));
    }
    if let Some(out) = &a.out {
        write_json(out, &planner::PlanJson::new(&plan))?;
    }
    match a.format {
        PlanFormat::Text => output::print(&planner::render_text(&plan))?,
        PlanFormat::Json => output::print_json(&planner::PlanJson::new(&plan))?,
        PlanFormat::Md => output::print(&planner::render_markdown(&plan))?,
    }
    check_max_targets(&plan)?;
    Ok(exit::OK)
}
