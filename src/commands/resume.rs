//! `pushfix resume RUN_DIR`: finish an interrupted run from its saved plan and its journal.

use std::sync::Arc;

use jiff::Timestamp;

use super::apply::{endpoint_or, read_plan};
use super::campaign::{
    BudgetSoFar, Destination, Drive, EventsTarget, allowed_failures, confirm, drive, take_lock,
};
use super::output;
use super::run::read_credentials;
use crate::atomic_file::WriteError;
use crate::cli::ResumeArgs;
use crate::error::Error;
use crate::event::{Event, Started};
use crate::exec::recovery::{Scanner, recover, trim_torn_tail};
use crate::journal::{self, Journal};
use crate::plan;
use crate::report::ReportBuilder;
use crate::run_dir;

pub fn resume(a: ResumeArgs) -> Result<i32, Error> {
    let (plan_path, journal_path) = (a.run_dir.join("plan.json"), a.run_dir.join("journal.jsonl"));
    if !journal_path.is_file() {
        return Err(Error::Usage(if a.run_dir.join("playbook.yaml").is_file() {
            format!(
                "nothing was sent from `{}`: the run stopped before it started its journal; run the playbook again",
                a.run_dir.display()
            )
        } else {
            format!(
                "`{}` is not a run directory (it needs plan.json and journal.jsonl)",
                a.run_dir.display()
            )
        }));
    }
    // One pass over the journal: what each target came to, and the report so far (the
    // interrupted run's events count in the resumed run's report). The plan is read on a
    // thread of its own meanwhile: for a 1,000,000-line journal each takes about as long as
    // the other.
    let mut started = None;
    let mut scanner = Scanner::default();
    let mut report = ReportBuilder::new();
    let (plan, read) = std::thread::scope(|scope| {
        let plan = scope.spawn(|| read_plan(&plan_path));
        let read = journal::read_each(&journal_path, |e| {
            if started.is_none() {
                started = e.started();
            }
            scanner.see(&e);
            report.record(&e);
        });
        let plan = plan
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (plan, read)
    });
    // The plan's error first: it is what the run directory is resumed from.
    // Shared with the report, not copied: a 1,000,000-target plan is hundreds of megabytes.
    let plan = Arc::new(plan?);
    read?;
    let mut report = report.with_plan(plan.clone());
    // Only now is the journal changed: a torn last line (read_each ignored it) is cut so the
    // resumed run's records start on a line of their own.
    trim_torn_tail(&journal_path).map_err(|e| WriteError::new(&journal_path, e))?;
    let Some(Started {
        run_id,
        app,
        base_url,
        sandbox,
    }) = started
    else {
        return Err(Error::Usage(format!(
            "nothing was sent from `{}`: its journal has no run_started record (the run stopped before its first request); run the playbook again",
            a.run_dir.display()
        )));
    };
    if sandbox && a.endpoint.is_none() {
        return Err(Error::Usage(
            "this was a sandbox run: its sandbox, and what it knew, ended with it; resume against another with --endpoint".into(),
        ));
    }
    let recovery = recover(&plan, &scanner);
    drop(scanner);
    eprintln!(
        "run {run_id}: {} targets settled, {} to send ({} in flight when it stopped{}){}",
        recovery.settled,
        recovery.to_send,
        recovery.in_flight,
        match recovery.to_recheck {
            0 => String::new(),
            n => format!(", {n} to re-check after a lost answer"),
        },
        match recovery.resolved.len() {
            0 => String::new(),
            n => format!(
                "; {n} final record(s) cut off by the interruption resolved from their answers"
            ),
        }
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
    let destination = Destination {
        base_url: url,
        base_url_source: source,
        credentials,
        sandbox: false,
    };
    let operator = run_dir::operator();
    let holder = format!(
        "resume of {run_id} by {operator}, pid {}, since {}",
        std::process::id(),
        Timestamp::now()
    );
    let _lock = take_lock(&plan, &destination, &holder)?;
    if recovery.to_send == 0 && reduced.steps.is_empty() {
        eprintln!("nothing to resume: every target has its outcome; rebuilding the report");
    } else if !a.yes {
        output::print(&plan::render_text(&reduced))?;
        confirm(&reduced, &destination)?;
    }
    let auth = reduced
        .provider
        .provider()
        .auth(&reduced.provider.settings, destination.credentials.clone());
    let journal = Arc::new(
        Journal::create(&journal_path, auth.redactions())
            .map_err(|e| WriteError::new(&journal_path, e))?,
    );
    let budget = BudgetSoFar {
        planned: Some(plan.totals.send),
        failures: recovery.failures_before,
    };
    let resumed = Event::Resumed {
        at: Timestamp::now(),
        operator,
        targets: recovery.to_send,
        failures_before: budget.failures,
        max_failures: allowed_failures(&plan, budget),
    };
    let append = |e: &Event| {
        journal
            .append(e)
            .map_err(|err| WriteError::new(&journal_path, std::io::Error::other(err)))
    };
    append(&resumed)?;
    report.record(&resumed);
    for f in &recovery.resolved {
        append(f)?;
        report.record(f);
    }
    journal.sync();
    drive(Drive {
        run_dir: &a.run_dir,
        plan: Arc::new(reduced),
        destination: &destination,
        auth,
        journal,
        report,
        hints: recovery.hints,
        events: EventsTarget::default(),
        max_runtime: a.max_runtime.max_runtime,
        budget,
        verify: a.verify_options,
        full_plan: plan.clone(),
    })
}
