//! `pushfix resume RUN_DIR` and `pushfix apply PLAN.json`: running a plan that was saved.

use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;

use super::prepare;
use super::run::{Target, confirm, drive, execute, read_credentials, redactions, take_lock};
use crate::cli::{ApplyArgs, ResumeArgs};
use crate::error::Error;
use crate::event::Event;
use crate::exec::resume::{recover, trim_torn_tail};
use crate::input_set::sha256_hex;
use crate::journal::{self, Journal};
use crate::plan::{self, PLAN_SCHEMA, Plan};
use crate::provider::endpoint::{check_endpoint, is_loopback_url};
use crate::run_dir;

fn read_plan(path: &Path) -> Result<Plan, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read `{}`: {}",
            path.display(),
            crate::io_reason(&e)
        ))
    })?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("`{}` is not a plan: {e}", path.display())))?;
    if v["schema"] != PLAN_SCHEMA {
        return Err(Error::Usage(format!(
            "`{}` is not a {PLAN_SCHEMA} plan (schema {})",
            path.display(),
            v["schema"]
        )));
    }
    serde_json::from_value(v)
        .map_err(|e| Error::Usage(format!("`{}` is not a readable plan: {e}", path.display())))
}

fn endpoint_or(plan: &Plan, endpoint: &Option<String>) -> Result<(String, String), Error> {
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

pub fn resume(a: ResumeArgs) -> Result<i32, Error> {
    let (plan_path, journal_path) = (a.run_dir.join("plan.json"), a.run_dir.join("journal.jsonl"));
    if !plan_path.is_file() || !journal_path.is_file() {
        return Err(Error::Usage(format!(
            "`{}` is not a run directory (it needs plan.json and journal.jsonl)",
            a.run_dir.display()
        )));
    }
    let plan = read_plan(&plan_path)?;
    trim_torn_tail(&journal_path)
        .map_err(|e| Error::Other(format!("cannot repair the journal: {e}")))?;
    let events = journal::read(&journal_path).map_err(Error::Other)?;
    let Some(Event::RunStarted {
        run_id,
        app,
        base_url,
        sandbox,
        ..
    }) = events.first().cloned()
    else {
        return Err(Error::Usage(
            "the journal does not start with a run_started record".into(),
        ));
    };
    if sandbox && a.endpoint.is_none() {
        return Err(Error::Usage(
            "this was a sandbox run: its sandbox, and what it knew, ended with it; resume against another with --endpoint".into(),
        ));
    }
    let recovery = recover(&plan, &events);
    eprintln!(
        "run {run_id}: {} targets settled, {} to send ({} in flight when it stopped)",
        recovery.settled, recovery.to_send, recovery.in_flight
    );
    let mut reduced = recovery.plan;
    let (url, source) = match &a.endpoint {
        Some(_) => endpoint_or(&plan, &a.endpoint)?,
        None => (base_url, "the run's endpoint".to_string()),
    };
    let credentials = read_credentials(&plan)?;
    if credentials.id != app {
        return Err(Error::Usage(format!(
            "{} names another app than the run's; resume with the credentials the run used",
            plan.provider.id_env
        )));
    }
    reduced.provider.base_url = url.clone();
    reduced.provider.base_url_source = source.clone();
    let target = Target {
        base_url: url,
        base_url_source: source,
        credentials,
        sandbox: false,
    };
    let audit_dir = a.run_dir.parent().unwrap_or(Path::new("."));
    let operator = run_dir::operator();
    let holder = format!(
        "resume of {run_id} by {operator}, pid {}, since {}",
        std::process::id(),
        Timestamp::now()
    );
    let _lock = take_lock(audit_dir, &plan, &target, &holder)?;
    if recovery.to_send == 0 && reduced.steps.is_empty() {
        eprintln!("nothing to resume: every target has its outcome; rebuilding the report");
    } else if !a.yes {
        print!("{}", plan::render_text(&reduced));
        confirm(&reduced, &target)?;
    }
    let redact = redactions(&target.credentials);
    let journal =
        Arc::new(Journal::create(&journal_path, redact).map_err(|e| Error::Other(e.to_string()))?);
    journal
        .append(&Event::Resumed {
            at: Timestamp::now(),
            operator,
            targets: recovery.to_send,
        })
        .map_err(|e| Error::Other(format!("cannot write the journal: {e}")))?;
    journal.sync();
    drive(&a.run_dir, journal, &reduced, target, recovery.hints)
}

pub fn apply(a: ApplyArgs) -> Result<i32, Error> {
    let mut plan = read_plan(&a.plan)?;
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
    if a.as_of.is_some() && !is_loopback_url(&url) {
        return Err(Error::Usage(
            "--as-of needs a loopback --endpoint: a real provider's clock cannot be moved".into(),
        ));
    }
    // The verdicts must still hold now (a JPush override window may have closed since).
    let playbook = Path::new(&plan.playbook.path).to_path_buf();
    let now = a.as_of.unwrap_or_else(Timestamp::now);
    let fresh = prepare(&playbook, &a.vars.vars, now, Timestamp::now())?.plan;
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
    let target = Target {
        base_url: url,
        base_url_source: source,
        credentials,
        sandbox: false,
    };
    let text = std::fs::read_to_string(&playbook).map_err(|e| Error::Other(e.to_string()))?;
    let run_id = run_dir::run_id(Timestamp::now(), &plan.playbook.name);
    execute(
        &playbook,
        &text,
        &mut plan,
        target,
        a.yes,
        &a.audit_dir,
        &run_id,
        None,
    )
    .map(|f| f.code)
}

/// Targets whose verdict or disposition differs between a saved plan and a fresh one.
fn changed_targets(saved: &Plan, fresh: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for (s, f) in saved.steps.iter().zip(&fresh.steps) {
        let now: std::collections::HashMap<&str, (crate::matrix::Verdict, plan::Disposition)> = f
            .targets
            .iter()
            .map(|t| (t.id.as_str(), (t.verdict, t.disposition)))
            .collect();
        for t in &s.targets {
            match now.get(t.id.as_str()) {
                Some((v, d)) if *v == t.verdict && *d == t.disposition => {}
                Some((v, _)) => out.push(format!(
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
