//! `pushfix apply PLAN.json`: run exactly a saved plan, refusing one whose inputs changed or
//! whose verdicts no longer hold.

use std::collections::HashMap;
use std::path::Path;

use jiff::Timestamp;

use super::campaign::{Destination, EventsTarget, Launch, launch};
use super::prepare::{build, history, load, refuse_unfinished};
use super::run::read_credentials;
use crate::cli::ApplyArgs;
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::domain::{Disposition, Verdict};
use crate::error::Error;
use crate::input_set::sha256_hex;
use crate::plan::{AlreadyDone, PLAN_SCHEMA, Plan};
use crate::provider::endpoint::{check_endpoint, is_loopback_url};
use crate::run_dir;

/// Read a saved plan, streaming (a plan of 100,000 targets is not held as text), its
/// repeated texts shared as the planner shared them.
pub fn read_plan(path: &Path) -> Result<Plan, Error> {
    let open = || {
        std::fs::File::open(path)
            .map(|f| std::io::BufReader::with_capacity(1 << 16, f))
            .map_err(|e| {
                Error::Usage(format!(
                    "cannot read `{}`: {}",
                    path.display(),
                    crate::io_reason(&e)
                ))
            })
    };
    let reader = open()?;
    let read: Result<Plan, _> = crate::domain::intern::reading(|| serde_json::from_reader(reader));
    let schema = |v: Option<serde_json::Value>| {
        Error::Usage(format!(
            "`{}` is not a {PLAN_SCHEMA} plan (schema {})",
            path.display(),
            v.unwrap_or(serde_json::Value::Null)
        ))
    };
    match read {
        Ok(plan) if plan.schema == PLAN_SCHEMA => Ok(plan),
        Ok(plan) => Err(schema(Some(plan.schema.into()))),
        Err(e) => {
            // Only the schema, read again: a plan of another version is named as such.
            #[derive(serde::Deserialize)]
            struct Head {
                schema: Option<serde_json::Value>,
            }
            match serde_json::from_reader::<_, Head>(open()?) {
                Ok(h) if h.schema.as_ref().and_then(|v| v.as_str()) != Some(PLAN_SCHEMA) => {
                    Err(schema(h.schema))
                }
                Ok(_) => Err(plan_error(path, &e, "is not a readable plan")),
                Err(e) => Err(plan_error(path, &e, "is not a plan")),
            }
        }
    }
}

/// A plan that does not read, located at serde's line and column (exit 2).
fn plan_error(path: &Path, e: &serde_json::Error, what: &str) -> Error {
    let message = e.to_string();
    // serde words the position at the end; the diagnostic shows it as file:line:col.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m);
    let d = Diagnostic::error(format!("`{}` {what}: {message}", path.display()));
    let d = match (u32::try_from(e.line()), u32::try_from(e.column())) {
        (Ok(line), Ok(col)) if line > 0 => {
            // A minified line would be quoted whole: only short lines are.
            let quoted = quoted_line(path, line);
            d.at_line(path, Span::point(line, col.max(1)), quoted.as_deref())
        }
        _ => d.in_file(path),
    };
    let mut ds = Diagnostics::new();
    ds.push(d.help(
        "plan.json is written by pushfix: restore it from the run's backup, or make a new plan",
    ));
    Error::Input(ds)
}

/// The longest plan line quoted under a location.
const MAX_QUOTED: usize = 200;

/// Line `n` of the file, when it is short enough to quote (read again: only on an error).
fn quoted_line(path: &Path, n: u32) -> Option<String> {
    use std::io::BufRead as _;
    let f = std::io::BufReader::new(std::fs::File::open(path).ok()?);
    let line = f.split(b'\n').nth(n as usize - 1)?.ok()?;
    let line = String::from_utf8(line).ok()?;
    (line.chars().count() <= MAX_QUOTED).then_some(line)
}

pub fn endpoint_or(plan: &Plan, endpoint: &Option<String>) -> Result<(String, String), Error> {
    match endpoint {
        Some(e) => Ok((
            check_endpoint(e).map_err(|e| Error::Usage(format!("--endpoint: {}", e.message)))?,
            "--endpoint".into(),
        )),
        None => Ok((
            plan.provider.base_url.clone(),
            plan.provider.base_url_source.clone(),
        )),
    }
}

pub fn apply(a: ApplyArgs) -> Result<i32, Error> {
    let plan = read_plan(&a.plan)?;
    // The inputs must be exactly those the plan was made from.
    for input in &plan.inputs {
        let now = std::fs::read(&input.path).map(|b| sha256_hex(&b));
        match now {
            Ok(h) if h == input.sha256 => {}
            Ok(_) => {
                return Err(Error::Refused(format!(
                    "`{}` changed since the plan was made; make a new plan",
                    input.path
                )));
            }
            Err(e) => {
                return Err(Error::Refused(format!(
                    "`{}` cannot be read ({}): apply from the folder the plan was made in",
                    input.path,
                    crate::io_reason(&e)
                )));
            }
        }
    }
    let (url, source) = endpoint_or(&plan, &a.endpoint)?;
    let as_of = super::instant("--as-of", a.as_of.as_deref())?;
    if as_of.is_some() && !is_loopback_url(&url) {
        return Err(Error::Usage(
            "--as-of needs a loopback --endpoint: a real provider's clock cannot be moved".into(),
        ));
    }
    // The verdicts must still hold now (a JPush override window may have closed since).
    let playbook = Path::new(&plan.playbook.path).to_path_buf();
    let now = as_of.unwrap_or_else(Timestamp::now);
    let loaded = load(&playbook, &a.vars.vars, now, Timestamp::now())?;
    // Run history as `run` reads it; with --again, the targets the saved plan itself skipped
    // as already done (a plan is applied exactly as reviewed).
    let done = if a.schedule.again {
        planned_done(&plan)
    } else {
        let h = history(&loaded.playbook, &a.audit_dir, &url)?;
        refuse_unfinished(&h)?;
        h.settled
    };
    let fresh = build(loaded, &done)?.plan;
    if fresh.content_sha256 != plan.content_sha256 {
        return Err(Error::Refused(
            "the plan's inputs hash differs from its files (were other --var values used?); make a new plan".into(),
        ));
    }
    let changed = changed_targets(&plan, &fresh);
    if !changed.is_empty() {
        return Err(Error::Refused(format!(
            "the plan is stale: {} target{} would be treated differently now (made as of {}):\n  {}",
            changed.len(),
            if changed.len() == 1 { "" } else { "s" },
            plan.as_of,
            changed
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n  ")
        )));
    }
    let credentials = read_credentials(&plan)?;
    let destination = Destination {
        base_url: url,
        base_url_source: source,
        credentials,
        sandbox: false,
    };
    let text = std::fs::read_to_string(&playbook).map_err(|e| {
        Error::Usage(format!(
            "cannot read `{}`: {}",
            playbook.display(),
            crate::io_reason(&e)
        ))
    })?;
    let run_id = run_dir::run_id(Timestamp::now(), &plan.playbook.name);
    super::verify::check_ledger(&plan)?;
    launch(Launch {
        playbook_path: &playbook,
        playbook_text: &text,
        plan,
        destination,
        yes: a.yes,
        audit_dir: &a.audit_dir,
        run_id: &run_id,
        note: None,
        events: EventsTarget::default(),
        max_runtime: a.schedule.max_runtime.max_runtime,
        verify: Default::default(),
    })
    .map(|f| f.code)
}

/// What a saved plan skipped as already done by earlier runs.
fn planned_done(plan: &Plan) -> AlreadyDone {
    plan.steps
        .iter()
        .flat_map(|s| {
            s.targets.iter().filter_map(|t| {
                let run = t.done_in.clone()?;
                Some(((s.name.clone(), t.id.clone()), run))
            })
        })
        .collect()
}

/// Targets whose verdict or disposition differs between a saved plan and a fresh one.
fn changed_targets(saved: &Plan, fresh: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for (s, f) in saved.steps.iter().zip(&fresh.steps) {
        type Now<'a> = (Verdict, Disposition, Option<&'a String>);
        let now: HashMap<&str, Now<'_>> = f
            .targets
            .iter()
            .map(|t| {
                (
                    t.id.as_str(),
                    (t.verdict, t.disposition, t.done_in.as_ref()),
                )
            })
            .collect();
        for t in &s.targets {
            match now.get(t.id.as_str()) {
                Some((_, d, Some(run))) if t.done_in.is_none() && *d != t.disposition => {
                    out.push(format!(
                        "{}: {} was corrected by run {run} since the plan was made",
                        s.name, t.id
                    ))
                }
                Some((v, d, _)) if *v == t.verdict && *d == t.disposition => {}
                Some((v, _, _)) => out.push(format!(
                    "{}: {} was {}, is now {}",
                    s.name,
                    t.id,
                    t.verdict.as_str(),
                    v.as_str()
                )),
                None => out.push(format!("{}: {} is no longer selected", s.name, t.id)),
            }
        }
        if f.targets.len() > s.targets.len() {
            out.push(format!(
                "{}: {} more targets are selected now",
                s.name,
                f.targets.len() - s.targets.len()
            ));
        }
    }
    if saved.steps.len() != fresh.steps.len() {
        out.push("the playbook's steps changed".into());
    }
    out
}
