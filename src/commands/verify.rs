//! `pushfix verify RUN_DIR`: ask the provider whether each correction of a run took effect
//! (docs/verification.md), and the same pass after a campaign that asks for it (`run
//! --verify`, `verify: true`, and `resume` of such a run). A pass reads the run's plan and
//! journal, checks the corrections without a verdict (most receivers first) as far as the
//! report API's quota allows, journals each verdict, rewrites the reports and says what is
//! left for the next pass.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::apply::{endpoint_or, read_plan};
use super::campaign::{Destination, take_lock};
use super::output;
use super::run::read_credentials;
use crate::atomic_file::WriteError;
use crate::cli::{OutputFormat, VerifyArgs, VerifyOptions};
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::domain::{Disposition, Rate};
use crate::error::Error;
use crate::event::{Event, Fanout, Sink, Started, VerifyVerdict};
use crate::exec::RetrySettings;
use crate::exec::recovery::trim_torn_tail;
use crate::exec::signals;
use crate::exec::stop::Stop;
use crate::exec::verify::{PassConfig, PassResult, run_pass};
use crate::exit;
use crate::journal::{self, Journal};
use crate::ledger::{self, StepQuery};
use crate::matrix::Matrix;
use crate::plan::Plan;
use crate::provider::http::HttpTransport;
use crate::provider::{AppCredentials, Check, Verifier};
use crate::redact::Redactor;
use crate::report::{self, Details, Report, ReportBuilder, ReportSink};
use crate::run_dir;
use crate::verify::{self, Candidate, Scan};

/// What one pass did.
#[derive(Debug, Default)]
pub struct PassOutcome {
    pub result: PassResult,
    /// `not_effective` verdicts of the whole run (earlier passes included).
    pub not_effective: u64,
}

impl PassOutcome {
    /// A campaign's exit code, once it verified: a correction that did not take effect fails
    /// the run (1) like one that failed; an interrupted pass leaves it unfinished (3).
    pub fn adjust(&self, code: i32) -> i32 {
        if code != exit::OK {
            code
        } else if self.result.stopped.is_some() {
            exit::ABORTED
        } else if self.not_effective > 0 {
            exit::FAILURES
        } else {
            code
        }
    }
}

/// A pass about to start: the corrections it checks, in order.
struct Pending {
    verifier: Box<dyn Verifier>,
    steps: Vec<String>,
    candidates: Vec<Candidate>,
    /// Ledger records of the originals, by id (verifiers that read them).
    ledger: HashMap<String, Map<String, Value>>,
    rate: Rate,
    rate_source: &'static str,
    history: Vec<Duration>,
    earlier_not_effective: u64,
}

/// Read what a pass needs: the verifier, the corrections without a verdict (of every step when
/// `all`, else of those the playbook asks to verify), the family's earlier requests, the
/// originals' ledger records.
fn pending(
    run_dir: &Path,
    plan: &Plan,
    rate: Option<Rate>,
    all: bool,
) -> Result<Option<Pending>, Error> {
    let provider = plan.provider.provider();
    let Some(verifier) = provider.verifier(&plan.provider.settings) else {
        return Ok(None);
    };
    let spec = verifier.family();
    let (rate, rate_source) = match rate {
        Some(r) => (r, "--rate"),
        None => match plan.limits.rates.get(&spec.family) {
            Some(r) => (r.parsed(), "the plan's"),
            None => (spec.quota, "documented quota"),
        },
    };
    let mut scan = Scan::new(spec.family.as_str(), rate.count.max(1.0) as usize);
    journal::read_each(&run_dir.join("journal.jsonl"), |e| scan.see(&e))?;
    if scan.repeated > 0 {
        eprintln!(
            "warning: the journal holds {} verdict(s) recorded twice for one correction; the last one counts",
            scan.repeated
        );
    }
    let steps = verify::steps(plan, all);
    let candidates = verify::candidates(plan, &scan, &steps);
    let ledger = if verifier.reads_ledger() && !candidates.is_empty() {
        let ids: HashSet<&str> = candidates
            .iter()
            .map(|c| plan.steps[c.step].targets[c.target].id.as_str())
            .collect();
        ledger_records(plan, verifier.as_ref(), &ids)?
    } else {
        HashMap::new()
    };
    let now = Timestamp::now();
    let history = scan
        .history()
        .filter_map(|t| Duration::try_from(now.duration_since(t)).ok())
        .collect();
    Ok(Some(Pending {
        verifier,
        steps,
        candidates,
        ledger,
        rate,
        rate_source,
        history,
        earlier_not_effective: scan.count(VerifyVerdict::NotEffective),
    }))
}

/// The ledger records of `ids` as written, each checked by the verifier (a located error for
/// a bad one, before any request). A ledger that is gone only loses what it would add.
fn ledger_records(
    plan: &Plan,
    verifier: &dyn Verifier,
    ids: &HashSet<&str>,
) -> Result<HashMap<String, Map<String, Value>>, Error> {
    let Some(l) = &plan.ledger else {
        return Ok(HashMap::new());
    };
    let path = Path::new(&l.path);
    if !path.is_file() {
        eprintln!(
            "warning: the ledger `{}` is not there any more: verification goes without what it adds (sample devices)",
            l.path
        );
        return Ok(HashMap::new());
    }
    let provider = plan.provider.provider();
    let matrix = Matrix::builtin().map_err(Error::Internal)?;
    let query = StepQuery {
        ids: ids
            .iter()
            .filter_map(|i| provider.parse_id(i).ok())
            .collect(),
        filter: None,
        range: (None, None),
        // Keep each record whole: a verifier reads fields beyond the plan.
        templates: true,
        schedules: false,
    };
    let scan = ledger::scan(
        path,
        provider,
        matrix.provider(plan.provider.kind),
        &[query],
    )
    .map_err(Error::Input)?;
    let mut diags = Diagnostics::new();
    let mut out = HashMap::new();
    for (id, rec) in scan.records {
        let serde_json::Value::Object(raw) = rec.raw_value() else {
            continue;
        };
        if let Some((field, message)) = verifier.ledger_problem(&raw) {
            diags.push(
                Diagnostic::error(format!("`{field}` of {id}: {message}"))
                    .at_line(path, Span::point(rec.line as u32, 1), None)
                    .help(
                        "verification reads this field of the ledger: correct it, or leave it out",
                    ),
            );
            continue;
        }
        out.insert(id.to_string(), raw);
    }
    if diags.has_errors() {
        return Err(Error::Input(diags));
    }
    Ok(out)
}

/// Before a campaign that verifies: the ledger fields verification will read, checked now,
/// so a bad one is an input error before the first request, not after the last.
pub fn check_ledger(plan: &Plan) -> Result<(), Error> {
    if !verify::requested(plan) {
        return Ok(());
    }
    let Some(verifier) = plan.provider.provider().verifier(&plan.provider.settings) else {
        return Ok(());
    };
    if !verifier.reads_ledger() {
        return Ok(());
    }
    let steps = verify::steps(plan, false);
    let ids: HashSet<&str> = plan
        .steps
        .iter()
        .filter(|s| steps.contains(&s.name))
        .flat_map(|s| s.targets.iter())
        .filter(|t| t.disposition == Disposition::Send)
        .map(|t| t.id.as_str())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    ledger_records(plan, verifier.as_ref(), &ids).map(|_| ())
}

/// What a pass runs with.
struct Run<'a> {
    plan: &'a Plan,
    base_url: &'a str,
    credentials: &'a AppCredentials,
    sink: Arc<dyn Sink>,
    stop: Arc<Stop>,
    options: VerifyOptions,
    runtime: &'a tokio::runtime::Runtime,
}

fn execute(p: Pending, r: Run<'_>) -> Result<PassOutcome, Error> {
    let plan = r.plan;
    let checks: Vec<Check<'_>> = p
        .candidates
        .iter()
        .map(|c| {
            let step = &plan.steps[c.step];
            let t = &step.targets[c.target];
            Check {
                step: &step.name,
                action: step.action,
                target: t,
                new_id: c.corrected.new_id.as_deref(),
                corrected_at: c.corrected.at,
                channels: plan.messages.get(&t.id),
                ledger: p.ledger.get(&t.id),
            }
        })
        .collect();
    // An hour of the quota per pass unless told otherwise (TPNS: 200 checks): a pass ends in
    // about an hour at most, and the next pass picks up where it stopped.
    let n = match r.options.max_checks {
        Some(m) => (m as usize).min(checks.len()),
        None => {
            let budget = (p.rate.per_sec() * 3600.0)
                .max(p.rate.count)
                .floor()
                .max(1.0) as u64;
            verify::fitting(checks.len(), budget, |k| p.verifier.cost(&checks[..k]))
        }
    };
    let (now, later) = checks.split_at(n);
    let family = p.verifier.family();
    let requests = p.verifier.cost(now);
    eprintln!(
        "verifying {n} correction{} of {} ({} request{} in {} at {} ({}), about {}; observing {}){}",
        if n == 1 { "" } else { "s" },
        if p.steps.is_empty() {
            "no step".to_string()
        } else {
            p.steps.join(", ")
        },
        requests,
        if requests == 1 { "" } else { "s" },
        family.family,
        p.rate,
        p.rate_source,
        crate::domain::format_duration(Duration::from_secs_f64(
            requests.saturating_sub(1) as f64 / p.rate.per_sec()
        )),
        crate::domain::format_duration(r.options.observe),
        match later.len() {
            0 => String::new(),
            k => format!("; {k} left for the next pass (the quota's)"),
        }
    );
    let started = Event::VerifyStarted {
        at: Timestamp::now(),
        operator: run_dir::operator(),
        steps: p.steps.clone(),
        to_check: n as u64,
        left: later.len() as u64,
    };
    r.sink.event(&started).map_err(|e| {
        Error::Write(WriteError::new(
            Path::new("journal.jsonl"),
            std::io::Error::other(e.0),
        ))
    })?;
    let provider = plan.provider.provider();
    let auth = provider.auth(&plan.provider.settings, r.credentials.clone());
    let transport = HttpTransport::new(
        &p.verifier.base_url(r.base_url),
        auth,
        Duration::from_millis(plan.limits.timeout_ms),
    )
    .map_err(Error::Internal)?;
    let cfg = PassConfig {
        rate: p.rate,
        retry: RetrySettings {
            attempts: plan.retry.attempts,
            initial: Duration::from_millis(plan.retry.initial_ms),
            max: Duration::from_millis(plan.retry.max_ms),
        },
        observe: r.options.observe,
        history: p.history.clone(),
    };
    let result = r.runtime.block_on(run_pass(
        transport,
        provider,
        p.verifier.as_ref(),
        now,
        r.sink.clone(),
        r.stop.clone(),
        cfg,
    ));
    let unchecked = (checks.len() - result.found.len()) as u64;
    let _ = r.sink.event(&Event::VerifyFinished {
        at: Timestamp::now(),
        checked: result.found.len() as u64,
        unchecked,
        stopped: result.stopped.clone(),
    });
    r.sink.flush();
    for (step, target, why) in result.missed.iter().take(5) {
        eprintln!("not checked: {step}: {target}: {why}");
    }
    if result.missed.len() > 5 {
        eprintln!("not checked: … and {} more", result.missed.len() - 5);
    }
    Ok(PassOutcome {
        not_effective: p.earlier_not_effective + result.count(VerifyVerdict::NotEffective),
        result,
    })
}

/// After a campaign (`run`, `apply`, `resume`): verify if its plan asks to. None when it does
/// not, or when its provider cannot be asked (said on stderr).
pub(super) fn after_campaign(
    run_dir: &Path,
    destination: &Destination,
    sink: Arc<dyn Sink>,
    stop: Arc<Stop>,
    options: VerifyOptions,
    runtime: &tokio::runtime::Runtime,
    plan: &Plan,
) -> Result<Option<PassOutcome>, Error> {
    if !verify::requested(plan) {
        return Ok(None);
    }
    let Some(p) = pending(run_dir, plan, None, false)? else {
        eprintln!(
            "{} cannot be asked whether corrections took effect: nothing verified",
            plan.provider.provider().display_name()
        );
        return Ok(None);
    };
    execute(
        p,
        Run {
            plan,
            base_url: &destination.base_url,
            credentials: &destination.credentials,
            sink,
            stop,
            options,
            runtime,
        },
    )
    .map(Some)
}

pub fn verify(a: VerifyArgs) -> Result<i32, Error> {
    let (plan_path, journal_path) = (a.run_dir.join("plan.json"), a.run_dir.join("journal.jsonl"));
    if !journal_path.is_file() || !plan_path.is_file() {
        return Err(Error::Usage(format!(
            "`{}` is not a run directory (it needs plan.json and journal.jsonl)",
            a.run_dir.display()
        )));
    }
    let rate = a
        .rate
        .as_deref()
        .map(|r| Rate::parse(r).map_err(|e| Error::Usage(format!("--rate: {e}"))))
        .transpose()?;
    let plan = Arc::new(read_plan(&plan_path)?);
    trim_torn_tail(&journal_path).map_err(|e| WriteError::new(&journal_path, e))?;
    let mut started = None;
    let mut builder = ReportBuilder::new().with_plan(plan.clone());
    journal::read_each(&journal_path, |e| {
        if started.is_none() {
            started = e.started();
        }
        builder.record(&e);
    })?;
    let Some(Started {
        run_id,
        app,
        base_url,
        sandbox,
    }) = started
    else {
        return Err(Error::Usage(format!(
            "`{}`: its journal has no run_started record: nothing was sent, so nothing can be verified",
            a.run_dir.display()
        )));
    };
    if sandbox && a.endpoint.is_none() {
        return Err(Error::Usage(
            "this was a sandbox run: its sandbox, and what it knew, ended with it; verify against another with --endpoint".into(),
        ));
    }
    let (url, source) = match &a.endpoint {
        Some(_) => endpoint_or(&plan, &a.endpoint)?,
        None => (base_url, "the run's endpoint".to_string()),
    };
    let credentials = read_credentials(&plan)?;
    if credentials.id != app {
        return Err(Error::Usage(format!(
            "{} names another app than the run's; verify with the credentials the run used",
            plan.provider.id_env
        )));
    }
    let provider = plan.provider.provider();
    let Some(p) = pending(&a.run_dir, &plan, rate, true)? else {
        return Err(Error::Usage(format!(
            "{} cannot be asked whether corrections took effect",
            provider.display_name()
        )));
    };
    let destination = Destination {
        base_url: url.clone(),
        base_url_source: source,
        credentials,
        sandbox: false,
    };
    let holder = format!(
        "verify of {run_id} by {}, pid {}, since {}",
        run_dir::operator(),
        std::process::id(),
        Timestamp::now()
    );
    // One pass at a time, and never beside a resume of the run: a verdict is written once.
    let _lock = take_lock(&plan, &destination, &holder)?;
    let auth = provider.auth(&plan.provider.settings, destination.credentials.clone());
    let journal = Arc::new(
        Journal::create(&journal_path, auth.redactions())
            .map_err(|e| WriteError::new(&journal_path, e))?,
    );
    let report = Arc::new(ReportSink::new(builder));
    let sink: Arc<dyn Sink> = Arc::new(Fanout::new(
        vec![journal.clone() as Arc<dyn Sink>, report.clone()],
        Redactor::new(auth.redactions()),
    ));
    let stop = Arc::new(Stop::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        signals::install(stop.clone());
        if let Some(limit) = a.max_runtime.max_runtime {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                stop.trigger(format!(
                    "--max-runtime {} reached",
                    crate::domain::format_duration(limit)
                ));
            });
        }
    });
    eprintln!("run {run_id}: verifying against {url}");
    let outcome = execute(
        p,
        Run {
            plan: &plan,
            base_url: &destination.base_url,
            credentials: &destination.credentials,
            sink,
            stop,
            options: a.options,
            runtime: &runtime,
        },
    )?;
    runtime.shutdown_background();
    let (r, d) = report
        .report()
        .map_err(|e| Error::Internal(e.to_string()))?;
    if let Err(e) = report::write_reports(&a.run_dir, &r, &d) {
        eprintln!(
            "error: {e}; `pushfix report {}` rebuilds them",
            a.run_dir.display()
        );
    }
    let code = outcome.adjust(exit::OK);
    match a.format {
        OutputFormat::Json => {
            let v = serde_json::json!({
                "run_id": r.run_id,
                "verification": r.verification,
                "steps": r.steps.iter().filter(|s| s.verification.is_some()).map(|s| {
                    serde_json::json!({"name": s.name, "action": s.action, "verification": s.verification})
                }).collect::<Vec<_>>(),
                "stopped": outcome.result.stopped,
                "exit_code": code,
            });
            output::print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&v).map_err(|e| Error::Internal(e.to_string()))?
            ))?;
        }
        OutputFormat::Text => {
            let mut o = summary(&r, &d, &a.run_dir);
            if let Some(s) = &outcome.result.stopped {
                o.push_str(&format!("stopped: {s}\n"));
            }
            o.push_str(&format!("\nexit {code}: {}\n", meaning(code)));
            let shown = std::fs::canonicalize(&a.run_dir).unwrap_or_else(|_| a.run_dir.clone());
            o.push_str(&format!("audit: {}\n", shown.display()));
            output::print(&o)?;
        }
    }
    Ok(code)
}

/// A verification's exit code in words.
fn meaning(code: i32) -> &'static str {
    match code {
        exit::FAILURES => "a correction did not take effect (not_effective)",
        exit::ABORTED => "verification was interrupted; `pushfix verify` goes on",
        exit::OK => "no correction found not effective",
        c => exit::meaning(c),
    }
}

/// The verification lines of a summary (the run's, `verify`'s): the counts, the corrections
/// that did not take effect, why others could not be told, and how to check the rest.
pub fn summary(r: &Report, d: &Details, run_dir: &Path) -> String {
    let Some(v) = &r.verification else {
        return String::new();
    };
    let c = v.counts;
    let mut o = format!(
        "\nverification: {} of {} correction{} checked: {} verified, {} not effective, {} unknown{}\n",
        c.checked,
        c.checked + c.unchecked,
        if c.checked + c.unchecked == 1 {
            ""
        } else {
            "s"
        },
        c.verified,
        c.not_effective,
        c.unknown,
        match c.unchecked {
            0 => String::new(),
            n => format!("; {n} unchecked"),
        }
    );
    for i in d.verification.not_effective.iter().take(5) {
        o.push_str(&format!(
            "  not effective: {}: {}: {}\n",
            i.step,
            i.target,
            short(&i.reason)
        ));
    }
    if c.not_effective > 5 {
        o.push_str(&format!(
            "  not effective: … and {} more (report.md)\n",
            c.not_effective - 5
        ));
    }
    for (reason, n) in d.verification.unknown_reasons.iter().take(3) {
        o.push_str(&format!("  unknown ×{n}: {}\n", short(reason)));
    }
    if c.unchecked > 0 {
        o.push_str(&format!(
            "  unchecked: {}: `pushfix verify {}` checks them (a pass checks what the report API's quota allows; what has a verdict is not asked again)\n",
            c.unchecked,
            run_dir.display()
        ));
    }
    o
}

fn short(s: &str) -> String {
    if s.chars().count() > 110 {
        format!("{}…", s.chars().take(110).collect::<String>())
    } else {
        s.to_string()
    }
}
