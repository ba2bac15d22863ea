//! `pushfix validate [PATH...]`: every playbook under the paths, every problem at once.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::output;
use super::prepare::{check_max_targets, prepare};
use crate::cli::ValidateArgs;
use crate::diag::{Diagnostic, Diagnostics};
use crate::error::Error;
use crate::exit;
use crate::playbook;

pub fn validate(a: ValidateArgs) -> Result<i32, Error> {
    let now = super::now(&a.as_of)?;
    let paths: Vec<PathBuf> = if a.paths.is_empty() {
        if Path::new("playbooks").is_dir() {
            vec![PathBuf::from("playbooks")]
        } else {
            return Err(Error::Usage(
                "no playbook given, and there is no ./playbooks folder".into(),
            ));
        }
    } else {
        a.paths
    };
    let mut files = Vec::new();
    let mut all = Diagnostics::new();
    for p in &paths {
        if !p.exists() {
            all.push(Diagnostic::error(format!("`{}` does not exist", p.display())).in_file(p));
            continue;
        }
        match playbook::discover(p) {
            Ok(found) if found.is_empty() => {
                all.push(
                    Diagnostic::error(format!("no .yaml or .yml files in `{}`", p.display()))
                        .in_file(p),
                );
            }
            Ok(found) => files.extend(found),
            Err(e) => all.push(
                Diagnostic::error(format!(
                    "cannot list `{}`: {}",
                    p.display(),
                    crate::io_reason(&e)
                ))
                .in_file(p),
            ),
        }
    }
    let mut failed = 0;
    for f in &files {
        match prepare(f, &a.vars.vars, now, Timestamp::now()) {
            Ok(p) => {
                let t = &p.plan.totals;
                output::print(&format!(
                    "ok     {}: {} step{}, {} targets ({} to send)\n",
                    f.display(),
                    p.plan.steps.len(),
                    if p.plan.steps.len() == 1 { "" } else { "s" },
                    t.targets,
                    t.send
                ))?;
                all.items.extend(p.warnings);
                if let Err(Error::Refused(m)) = check_max_targets(&p.plan) {
                    all.push(
                        Diagnostic::warning(format!("plan and run would refuse: {m}")).in_file(f),
                    );
                }
            }
            Err(Error::Input(d)) => {
                failed += 1;
                output::print(&format!(
                    "error  {}: {} problem{}\n",
                    f.display(),
                    d.error_count(),
                    if d.error_count() == 1 { "" } else { "s" }
                ))?;
                all.extend(d);
            }
            Err(e) => return Err(e),
        }
    }
    let errors = all.error_count();
    if !all.items.is_empty() {
        eprintln!("{all}");
    }
    if errors > 0 || failed > 0 {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let summary = if files.is_empty() {
            format!("no playbook checked; {} found", plural(errors, "problem"))
        } else {
            format!(
                "{failed} of {} invalid; {} found",
                plural(files.len(), "playbook"),
                plural(errors, "problem")
            )
        };
        eprintln!("{summary}");
        return Ok(exit::INVALID_INPUT);
    }
    Ok(exit::OK)
}
