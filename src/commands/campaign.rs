//! A campaign, from a plan to its audit record: show and confirm, lock, create the run
//! directory and journal, execute with every sink attached (journal, report, progress,
//! `--events`), then the run's end, its reports and its summary. Shared by `run`,
//! `run --sandbox`, `apply` and `resume`.

use std::io::{BufRead, IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use super::output;
use super::prepare::check_max_targets;
use crate::atomic_file::{write_atomic, write_json_compact};
use crate::cli::VerifyOptions;
use crate::domain::FailureBudget;
use crate::error::Error;
use crate::event::Outcome;
use crate::event::{Event, Fanout, Sink};
use crate::event_stream::EventStream;
use crate::exec::lock::{LockError, LockKey, RunLock};
use crate::exec::stop::Stop;
use crate::exec::{ExecConfig, Executor, ResumeHints, RetrySettings, signals};
use crate::exit;
use crate::journal::Journal;
use crate::plan::exposure::approx;
use crate::plan::{self, Plan};
use crate::progress::{Mode, Progress};
use crate::provider::http::HttpTransport;
use crate::provider::{AppCredentials, Auth};
use crate::redact::Redactor;
use crate::report::{self, Details, Report, ReportBuilder, ReportSink};
use crate::run_dir;

/// Where a run sends its requests, and with which credentials.
pub struct Destination {
    pub base_url: String,
    pub base_url_source: String,
    pub credentials: AppCredentials,
    pub sandbox: bool,
}

/// Where the human-readable output goes: stdout, unless `--events -` took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HumanOut {
    Stdout,
    Stderr,
}

impl HumanOut {
    pub fn print(self, text: &str) -> Result<(), Error> {
        match self {
            HumanOut::Stdout => output::print(text),
            HumanOut::Stderr => {
                eprint!("{text}");
                Ok(())
            }
        }
    }
}

/// `--events FILE|-`, and whether stdout is taken by `run --format json`.
#[derive(Debug, Clone, Default)]
pub struct EventsTarget {
    pub path: Option<PathBuf>,
    /// `run --format json`: stdout carries the final report, so the human text goes to stderr.
    pub report_on_stdout: bool,
}

impl EventsTarget {
    pub fn human(&self) -> HumanOut {
        match &self.path {
            Some(p) if p.as_os_str() == "-" => HumanOut::Stderr,
            _ if self.report_on_stdout => HumanOut::Stderr,
            _ => HumanOut::Stdout,
        }
    }

    fn open(&self, secrets: Vec<String>) -> Result<Option<EventStream>, Error> {
        let Some(p) = &self.path else { return Ok(None) };
        let out: Box<dyn std::io::Write + Send> = if p.as_os_str() == "-" {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                std::fs::File::create(p).map_err(|e| crate::atomic_file::WriteError::new(p, e))?,
            )
        };
        Ok(Some(EventStream::new(out, secrets)))
    }
}

/// A campaign about to start.
pub struct Launch<'a> {
    pub playbook_path: &'a Path,
    pub playbook_text: &'a str,
    pub plan: Plan,
    pub destination: Destination,
    pub yes: bool,
    pub audit_dir: &'a Path,
    /// The run directory's name (`-2` is added if another run took it this second).
    pub run_id: &'a str,
    /// Said before the run starts (the sandbox's address and seed).
    pub note: Option<String>,
    pub events: EventsTarget,
    /// `--max-runtime`: stop dispatching after this long.
    pub max_runtime: Option<Duration>,
    /// How the run verifies, when its plan asks (`--verify`, `verify: true`).
    pub verify: VerifyOptions,
}

/// A run that went through: its exit code and where its audit record is.
pub struct Finished {
    pub code: i32,
    pub run_dir: PathBuf,
}

pub fn launch(l: Launch<'_>) -> Result<Finished, Error> {
    let Launch {
        playbook_path,
        playbook_text,
        mut plan,
        destination,
        yes,
        audit_dir,
        run_id,
        note,
        events,
        max_runtime,
        verify,
    } = l;
    plan.provider.base_url = destination.base_url.clone();
    plan.provider.base_url_source = destination.base_url_source.clone();
    let human = events.human();
    human.print(&plan::render_text(&plan))?;
    check_max_targets(&plan)?;
    if plan.totals.send == 0 {
        let why: Vec<&str> = plan
            .steps
            .iter()
            .flat_map(|s| s.warnings.iter())
            .filter(|w| w.starts_with("no targets"))
            .map(String::as_str)
            .collect();
        eprintln!(
            "nothing to send: every target is skipped or fails by the plan; recording the run anyway{}",
            if why.is_empty() {
                String::new()
            } else {
                format!("\n  {}", why.join("\n  "))
            }
        );
    }
    if !yes {
        confirm(&plan, &destination)?;
    }

    let started = Timestamp::now();
    let operator = run_dir::operator();
    // The lock comes first: a refused run leaves nothing behind.
    let _lock = take_lock(
        &plan,
        &destination,
        &format!(
            "run {run_id} by {operator}, pid {}, since {started}",
            std::process::id()
        ),
    )?;
    let (run_dir, run_id) = run_dir::create_run_dir(audit_dir, run_id)?;
    write_atomic(&run_dir.join("playbook.yaml"), playbook_text.as_bytes())?;
    write_json_compact(
        &run_dir.join("plan.json"),
        &plan::PlanJson::without_previews(&plan),
    )?;

    let provider = plan.provider.provider();
    let auth = provider.auth(&plan.provider.settings, destination.credentials.clone());
    let journal_path = run_dir.join("journal.jsonl");
    let journal = Arc::new(
        Journal::create(&journal_path, auth.redactions())
            .map_err(|e| crate::atomic_file::WriteError::new(&journal_path, e))?,
    );
    let started_event = Event::RunStarted {
        at: started,
        run_id: run_id.clone(),
        playbook_path: playbook_path.display().to_string(),
        playbook_name: plan.playbook.name.clone(),
        playbook_sha256: plan.playbook.sha256.clone(),
        git_commit: run_dir::git_commit(playbook_path),
        operator,
        content_sha256: plan.content_sha256.clone(),
        provider: plan.provider.kind.as_str().into(),
        base_url: destination.base_url.clone(),
        app: destination.credentials.id.clone(),
        sandbox: destination.sandbox,
        as_of: destination.sandbox.then_some(plan.as_of),
    };
    journal.append(&started_event).map_err(|e| {
        crate::atomic_file::WriteError::new(&journal_path, std::io::Error::other(e))
    })?;
    journal.sync();
    // One plan for the report and the executor: a 100,000-target plan is not copied.
    let plan = Arc::new(plan);
    let mut report = ReportBuilder::new().with_plan(plan.clone());
    report.record(&started_event);
    if let Some(n) = note {
        eprintln!("{n}");
    }
    eprintln!("run {run_id}: journal at {}", journal_path.display());
    let code = drive(Drive {
        run_dir: &run_dir,
        plan: plan.clone(),
        destination: &destination,
        auth,
        journal,
        report,
        hints: ResumeHints::new(),
        events,
        max_runtime,
        budget: BudgetSoFar::default(),
        verify,
        full_plan: plan.clone(),
    })?;
    Ok(Finished { code, run_dir })
}

/// Take the run lock for this provider app and playbook (exit 4 when another run holds it).
/// It lives in the per-user state directory, not the audit directory, so another
/// `--audit-dir` or working directory does not start a second run beside the first.
pub fn take_lock(plan: &Plan, destination: &Destination, holder: &str) -> Result<RunLock, Error> {
    RunLock::acquire(
        LockKey {
            provider: plan.provider.kind.as_str(),
            app: &destination.credentials.id,
            playbook: &plan.playbook.name,
        },
        holder,
    )
    .map_err(|e| match e {
        LockError::Held(m) => Error::Locked(m),
        LockError::Io(m) => Error::Usage(m),
    })
}

/// A plan with an open journal, ready to execute.
pub struct Drive<'a> {
    pub run_dir: &'a Path,
    pub plan: Arc<Plan>,
    pub destination: &'a Destination,
    pub auth: Box<dyn Auth>,
    pub journal: Arc<Journal>,
    /// The report so far (a resumed run's earlier events included).
    pub report: ReportBuilder,
    pub hints: ResumeHints,
    pub events: EventsTarget,
    pub max_runtime: Option<Duration>,
    /// What earlier parts of this run (before a resume) used of its failure budget.
    pub budget: BudgetSoFar,
    /// How the run verifies once its campaign is done, when its plan asks.
    pub verify: VerifyOptions,
    /// The run's full plan (the same as `plan` for a new run): a resume drives a plan reduced
    /// to what is left to send, and verification covers every step of the run.
    pub full_plan: Arc<Plan>,
}

/// The run's clock: the wall clock against a provider; against a loopback endpoint (a sandbox,
/// perhaps rehearsing `--as-of` another day) the plan's `as_of`, which is then the sandbox's
/// time give or take the minutes since the plan was made.
fn run_clock(plan: &Plan, destination: &Destination) -> Timestamp {
    if crate::provider::endpoint::is_loopback_url(&destination.base_url) {
        plan.as_of
    } else {
        Timestamp::now()
    }
}

/// The failure budget is the run's, across resumes: what the run may fail in all (computed
/// from its full plan) and what its journal already records.
#[derive(Debug, Clone, Copy, Default)]
pub struct BudgetSoFar {
    /// Targets to send in the run's full plan (a percentage budget is of these); `None`: the
    /// plan being driven is the full one.
    pub planned: Option<u64>,
    /// Failures the journal records for targets that will not be sent again.
    pub failures: u64,
}

/// Execute, then record the run's end, write the reports and print the summary; the exit code
/// counts every target of the run (a resumed run's earlier ones too).
pub fn drive(d: Drive<'_>) -> Result<i32, Error> {
    let Drive {
        run_dir,
        plan,
        destination,
        auth,
        journal,
        report,
        hints,
        events,
        max_runtime,
        budget,
        verify,
        full_plan,
    } = d;
    let redactions = auth.redactions();
    let timeout = Duration::from_millis(plan.limits.timeout_ms);
    let transport =
        HttpTransport::new(&destination.base_url, auth, timeout).map_err(Error::Internal)?;
    let mode = if std::io::stderr().is_terminal() {
        Mode::Bar
    } else {
        Mode::Lines
    };
    let report = Arc::new(ReportSink::new(report));
    let mut sinks = Fanout::new(
        vec![
            journal.clone() as Arc<dyn Sink>,
            report.clone(),
            Arc::new(Progress::new(mode)),
        ],
        Redactor::new(redactions.clone()),
    );
    if let Some(stream) = events.open(redactions)? {
        let run_id = run_dir.file_name().map(|n| n.to_string_lossy());
        stream.header(&crate::event_stream::Header {
            schema: crate::event_stream::SCHEMA,
            pushfix_version: env!("CARGO_PKG_VERSION"),
            run_id: run_id.as_deref().unwrap_or(""),
            run_dir: &run_dir.display().to_string(),
            playbook: &plan.playbook.name,
            provider: plan.provider.kind.as_str(),
            sandbox: destination.sandbox,
        });
        sinks.push(Arc::new(stream));
    }
    let sinks = Arc::new(sinks);
    let stop = Arc::new(Stop::default());
    let cfg = ExecConfig {
        concurrency: plan.limits.concurrency as usize,
        retry: RetrySettings {
            attempts: plan.retry.attempts,
            initial: Duration::from_millis(plan.retry.initial_ms),
            max: Duration::from_millis(plan.retry.max_ms),
        },
        max_failures: allowed_failures(&plan, budget),
        failures_before: budget.failures,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(async {
        signals::install(stop.clone());
        if let Some(limit) = max_runtime {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                stop.trigger(format!(
                    "--max-runtime {} reached",
                    crate::domain::format_duration(limit)
                ));
            });
        }
        Executor::new(transport, plan.clone(), sinks.clone(), stop.clone(), cfg)
            .with_resumed(hints)
            .with_clock(run_clock(&plan, destination))
            .execute()
            .await
    });
    // A campaign that finished verifies before its end is recorded, so the run's exit code
    // and reports include the verdicts (docs/verification.md).
    let verified = if result.stopped.is_none() && result.journal_error.is_none() {
        // The pass reads the campaign's final records back from the journal.
        sinks.flush();
        match super::verify::after_campaign(
            run_dir,
            destination,
            sinks.clone(),
            stop.clone(),
            verify,
            &runtime,
            &full_plan,
        ) {
            Ok(v) => v,
            Err(e) => {
                eprintln!(
                    "verification not done: {e}; `pushfix verify {}` does it",
                    run_dir.display()
                );
                None
            }
        }
    } else {
        None
    };
    runtime.shutdown_background();

    let (mut r, mut d) = report
        .report()
        .map_err(|e| Error::Internal(e.to_string()))?;
    let (so_far, details) = (&r, &d);
    let failures: u64 = so_far.steps.iter().map(|s| s.failures()).sum();
    // Targets never dispatched, or in flight without an outcome, mean the run did not finish.
    let unfinished = so_far.totals.outcomes.not_attempted > 0 || !details.unresolved.is_empty();
    let stopped = result.stopped.is_some() || result.journal_error.is_some();
    let mut code = exit::for_run(stopped || unfinished, failures);
    if let Some(v) = &verified {
        code = v.adjust(code);
    }
    let stopped_why = result
        .stopped
        .clone()
        .or_else(|| verified.as_ref().and_then(|v| v.result.stopped.clone()));
    let at = Timestamp::now();
    report::finish(&mut r, &mut d, at, code, stopped_why.as_ref());
    let _ = sinks.event(&Event::RunFinished {
        at,
        exit_code: code,
        stopped: stopped_why,
    });
    sinks.flush();
    if let Err(e) = report::write_reports(run_dir, &r, &d) {
        // The journal holds everything; `pushfix report` can write them later.
        eprintln!(
            "error: {e}; `pushfix report {}` rebuilds them",
            run_dir.display()
        );
    }
    let summary = summary(&r, &d, run_dir, result.journal_error.as_deref());
    match events.human() {
        HumanOut::Stdout => output::print_after_start(&summary),
        HumanOut::Stderr => eprint!("{summary}"),
    }
    Ok(code)
}

/// How many failures the whole run may have: `limits.max_failures` of its full plan.
pub fn allowed_failures(plan: &Plan, so_far: BudgetSoFar) -> Option<u64> {
    let b = FailureBudget::parse(plan.limits.max_failures.as_deref()?).ok()?;
    Some(b.allowed(so_far.planned.unwrap_or(plan.totals.send)))
}

/// The end of a run: the table (fitted to the terminal), who may still see the original,
/// what was not corrected and why, why dispatch stopped, the exit status, and where the
/// record is.
fn summary(r: &Report, d: &Details, run_dir: &Path, journal_error: Option<&str>) -> String {
    let width = if std::io::stdout().is_terminal() {
        terminal_size::terminal_size().map_or(usize::MAX, |(w, _)| w.0 as usize)
    } else {
        usize::MAX
    };
    let mut o = String::from("\n");
    o.push_str(&report::table_for_width(r, width));
    let top_codes = |outcomes: &[Outcome]| -> String {
        let groups: Vec<String> = d
            .codes
            .iter()
            .filter(|g| {
                d.lists
                    .iter()
                    .any(|(o, l)| outcomes.contains(o) && l.items.iter().any(|i| i.code == g.code))
            })
            .take(3)
            .map(|g| {
                let code = g.code.map(|c| format!("{c} ")).unwrap_or_default();
                format!("{code}{} ×{}", short(&g.message), g.count)
            })
            .collect();
        groups.join(", ")
    };
    if let Some(e) = &r.exposure
        && e.receivers_before > 0
    {
        o.push_str(&format!(
            "\nexposure: {} of {} receivers may still see the original",
            approx(e.receivers_after),
            approx(e.receivers_before)
        ));
        if !e.unreached.is_empty() {
            o.push_str(&format!(" ({} reached by no step)", e.unreached.join(", ")));
        }
        o.push('\n');
    }
    if let Some(l) = d.list(Outcome::NotCorrected) {
        let ids: Vec<&str> = l.items.iter().take(5).map(|i| i.target.as_str()).collect();
        o.push_str(&format!(
            "not corrected: {} target{} the provider refused to send the override for ({}): {}{}\n",
            l.total,
            if l.total == 1 { "" } else { "s" },
            top_codes(&[Outcome::NotCorrected]),
            ids.join(", "),
            if l.total > ids.len() as u64 {
                ", …"
            } else {
                ""
            }
        ));
    }
    let failed = [Outcome::Failed, Outcome::GaveUp];
    let failures = r.totals.outcomes.failed + r.totals.outcomes.gave_up;
    if failures > 0 {
        o.push_str(&format!("failed: {failures} ({})\n", top_codes(&failed)));
    }
    if let Some(s) = &r.stopped {
        let n = r.totals.outcomes.not_attempted;
        let by = if s.starts_with("failure budget") && failures > 0 {
            format!(" by {}", top_codes(&failed))
        } else {
            String::new()
        };
        o.push_str(&format!("stopped: {n} not attempted: {s}{by}\n"));
    }
    if let Some(e) = journal_error {
        o.push_str(&format!("journal error: {e}\n"));
    }
    o.push_str(&super::verify::summary(r, d, run_dir));
    if let Some(c) = r.exit_code {
        let not_effective = r
            .verification
            .as_ref()
            .is_some_and(|v| v.counts.not_effective > 0);
        let meaning = if c == exit::FAILURES && failures == 0 && not_effective {
            "a correction did not take effect (verification: not_effective)"
        } else {
            exit::meaning(c)
        };
        o.push_str(&format!("\nexit {c}: {meaning}\n"));
    }
    let shown = std::fs::canonicalize(run_dir).unwrap_or_else(|_| run_dir.to_path_buf());
    o.push_str(&format!("audit: {}\n", shown.display()));
    o
}

/// A reason cut for one line.
fn short(s: &str) -> String {
    if s.chars().count() > 70 {
        format!("{}…", s.chars().take(70).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Ask on a terminal; refuse without one unless `--yes`.
pub fn confirm(plan: &Plan, destination: &Destination) -> Result<(), Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage("stdin is not a terminal, so the run cannot be confirmed: pass --yes to run without asking".into()));
    }
    eprint!(
        "\nSend {} target{} ({} step{}) to {}{}? Type `yes` to run: ",
        plan.totals.send,
        if plan.totals.send == 1 { "" } else { "s" },
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" },
        destination.base_url,
        if destination.sandbox {
            " (the sandbox)"
        } else {
            ""
        }
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Usage(format!("cannot read the answer: {e}")))?;
    if answer.trim() != "yes" {
        return Err(Error::Usage("not confirmed; nothing was sent".into()));
    }
    Ok(())
}
