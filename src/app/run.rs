//! `pushfix run`: plan, show, confirm, lock, execute, journal, report.

use std::io::{BufRead, IsTerminal, Write as _};
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;

use super::{check_max_targets, prepare};
use crate::atomic_file::{write_atomic, write_json};
use crate::cli::RunArgs;
use crate::domain::ProviderKind;
use crate::error::Error;
use crate::event::Event;
use crate::exec::lock::{LockError, RunLock};
use crate::exec::progress::{Mode, Progress};
use crate::exec::stop::Stop;
use crate::exec::{ExecConfig, Executor, Hints, RetrySettings, signals};
use crate::journal::Journal;
use crate::plan::{self, Plan};
use crate::playbook::TpnsAuth;
use crate::provider::auth::{AppCredentials, Secret, basic_header};
use crate::provider::endpoint::{check_endpoint, is_loopback_url};
use crate::provider::http::{AuthScheme, HttpTransport};
use crate::report;
use crate::run_dir;

/// Where a run sends its requests and with which credentials.
pub struct Target {
    pub base_url: String,
    pub base_url_source: String,
    pub credentials: AppCredentials,
    pub sandbox: bool,
}

pub fn run(a: RunArgs) -> Result<i32, Error> {
    let started = Timestamp::now();
    let now = a.as_of.unwrap_or(started);
    let pre = prepare(&a.playbook, &a.vars.vars, now, started)?;
    for w in &pre.warnings {
        eprintln!("{w}");
    }
    let mut plan = pre.plan;
    let pb = pre.playbook;
    let run_id = pre.run_id;

    if a.sandbox {
        return run_in_sandbox(&a, &pb, plan, &run_id);
    }
    let (base_url, source) = match &a.endpoint {
        Some(e) => (
            check_endpoint(e).map_err(|e| Error::Usage(format!("--endpoint: {}", e.message)))?,
            "--endpoint".to_string(),
        ),
        None => (
            pb.provider.base_url.clone(),
            pb.provider.base_url_source.clone(),
        ),
    };
    if a.as_of.is_some() && !is_loopback_url(&base_url) {
        return Err(Error::Usage(
            "--as-of needs --sandbox or a loopback --endpoint: a real provider's clock cannot be moved \
             (`pushfix plan --as-of` reviews a plan as of any time)"
                .into(),
        ));
    }
    let credentials = read_credentials(&plan)?;
    let target = Target {
        base_url,
        base_url_source: source,
        credentials,
        sandbox: false,
    };
    execute(
        &a.playbook,
        &pb.file.text,
        &mut plan,
        target,
        a.yes,
        &a.audit_dir,
        &run_id,
        None,
    )
    .map(|f| f.code)
}

/// `run --sandbox`: the simulator in this process, seeded from the playbook's ledger, with
/// throwaway credentials and the playbook's rate; what it recorded is saved beside the report.
fn run_in_sandbox(
    a: &RunArgs,
    pb: &crate::playbook::Playbook,
    mut plan: Plan,
    run_id: &str,
) -> Result<i32, Error> {
    use super::sandbox::{InProcess, clock_offset, parse_faults, seed_from};
    let mut config = crate::sandbox::SandboxConfig::with_random_credentials();
    config.rate = pb.limits.rate.as_ref().map(|r| sandbox_quota(r.value));
    config.faults = parse_faults(a.sandbox_faults.as_deref())?;
    config.clock_offset = clock_offset(a.as_of);
    let kind = plan.provider.kind;
    let sandbox_credentials = config.credentials(kind.as_str()).ok_or_else(|| {
        Error::Usage(format!(
            "the sandbox does not simulate {}",
            kind.display_name()
        ))
    })?;
    let credentials = AppCredentials {
        id: sandbox_credentials.id.clone(),
        secret: Secret::new(sandbox_credentials.secret.clone()),
    };
    let ledgers: Vec<&Path> = pb.ledger.iter().map(|l| l.value.as_path()).collect();
    let seed = seed_from(&ledgers)?;
    let seeded = seed.len();
    let faults = config.faults.to_string();
    let rate = config
        .rate
        .map_or("the provider's default quota".to_string(), |r| {
            r.to_string()
        });
    let sandbox = InProcess::start(config, seed)?;
    let url = sandbox.sandbox().url();
    let note = format!(
        "sandbox at {url}: {seeded} messages seeded from the ledger, rate {rate}, faults: {faults}{}",
        a.as_of
            .map(|t| format!(", clock as of {t}"))
            .unwrap_or_default()
    );
    let target = Target {
        base_url: url,
        base_url_source: "sandbox".into(),
        credentials,
        sandbox: true,
    };
    let result = execute(
        &a.playbook,
        &pb.file.text,
        &mut plan,
        target,
        a.yes,
        &a.audit_dir,
        run_id,
        Some(&note),
    );
    let record = sandbox.stop();
    // Keep the sandbox's own record of what it received and changed, for comparison.
    let finished = result?;
    write_json(&finished.run_dir.join("sandbox.json"), &record)?;
    Ok(finished.code)
}

/// The sandbox app's quota for a playbook that paces at `rate`: like a real app, whose quota
/// the playbook stays under, it has 20% headroom (a quota equal to the pace would answer
/// `X-Rate-Limit-Remaining: 0` every window, and pushfix rightly pauses on that). Small rates
/// are the providers' documented quotas (TPNS 1/s) and stay exact.
fn sandbox_quota(rate: crate::domain::Rate) -> crate::domain::Rate {
    if rate.count >= 5.0 {
        crate::domain::Rate {
            count: (rate.count * 1.2).ceil(),
            per: rate.per,
        }
    } else {
        rate
    }
}

/// Read the credentials the plan names from the environment (exit 2 when missing).
pub(super) fn read_credentials(plan: &Plan) -> Result<AppCredentials, Error> {
    let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let (id_env, secret_env) = (&plan.provider.id_env, &plan.provider.secret_env);
    match (get(id_env), get(secret_env)) {
        (Some(id), Some(secret)) => Ok(AppCredentials {
            id: id.trim().to_string(),
            secret: Secret::new(secret.trim()),
        }),
        (id, secret) => {
            let missing: Vec<&str> = [
                (id.is_none(), id_env.as_str()),
                (secret.is_none(), secret_env.as_str()),
            ]
            .into_iter()
            .filter(|(m, _)| *m)
            .map(|(_, n)| n)
            .collect();
            Err(Error::Usage(format!(
                "credentials missing: {} {} not set; export {} before running",
                missing.join(" and "),
                if missing.len() == 1 { "is" } else { "are" },
                if missing.len() == 1 { "it" } else { "them" }
            )))
        }
    }
}

/// Everything after the plan is made: shared by `run`, `run --sandbox` and `apply`.
/// `run_id` names the run directory (`-2` is added if another run took that name).
#[allow(clippy::too_many_arguments)]
pub fn execute(
    playbook_path: &Path,
    playbook_text: &str,
    plan: &mut Plan,
    target: Target,
    yes: bool,
    audit_dir: &Path,
    run_id: &str,
    sandbox_note: Option<&str>,
) -> Result<Finished, Error> {
    plan.provider.base_url = target.base_url.clone();
    plan.provider.base_url_source = target.base_url_source.clone();
    let mut stdout = std::io::stdout().lock();
    let _ = write!(stdout, "{}", plan::render_text(plan));
    let _ = stdout.flush();
    drop(stdout);
    check_max_targets(plan)?;
    if plan.totals.send == 0 {
        eprintln!(
            "nothing to send: every target is skipped or fails by the plan; recording the run anyway"
        );
    }
    if !yes {
        confirm(plan, &target)?;
    }

    let started = Timestamp::now();
    let operator = run_dir::operator();
    // The lock comes first: a refused run leaves nothing behind.
    let _lock = take_lock(
        audit_dir,
        plan,
        &target,
        &format!(
            "run {run_id} by {operator}, pid {}, since {started}",
            std::process::id()
        ),
    )?;
    let (run_dir, run_id) = run_dir::create_run_dir(audit_dir, run_id).map_err(Error::Other)?;
    write_atomic(&run_dir.join("playbook.yaml"), playbook_text.as_bytes())?;
    write_json(&run_dir.join("plan.json"), &plan::to_json(plan))?;

    let redact = redactions(&target.credentials);
    let journal = Arc::new(
        Journal::create(&run_dir.join("journal.jsonl"), redact)
            .map_err(|e| Error::Other(e.to_string()))?,
    );
    journal
        .append(&Event::RunStarted {
            at: started,
            run_id: run_id.clone(),
            playbook_path: playbook_path.display().to_string(),
            playbook_name: plan.playbook.name.clone(),
            playbook_sha256: plan.playbook.sha256.clone(),
            git_commit: run_dir::git_commit(playbook_path),
            operator,
            content_sha256: plan.content_sha256.clone(),
            provider: plan.provider.kind.as_str().into(),
            base_url: target.base_url.clone(),
            app: target.credentials.id.clone(),
            sandbox: target.sandbox,
            as_of: target.sandbox.then_some(plan.as_of),
        })
        .map_err(|e| Error::Other(format!("cannot write the journal: {e}")))?;
    journal.sync();
    if let Some(note) = sandbox_note {
        eprintln!("{note}");
    }
    eprintln!(
        "run {run_id}: journal at {}",
        run_dir.join("journal.jsonl").display()
    );

    let code = drive(&run_dir, journal, plan, target, Hints::default())?;
    Ok(Finished { code, run_dir })
}

/// A run that went through: its exit code and where its audit record is.
pub struct Finished {
    pub code: i32,
    pub run_dir: std::path::PathBuf,
}

/// Take the run lock for this provider app and playbook (exit 4 when another run holds it).
pub(super) fn take_lock(
    audit_dir: &Path,
    plan: &Plan,
    target: &Target,
    holder: &str,
) -> Result<RunLock, Error> {
    RunLock::acquire(
        audit_dir,
        plan.provider.kind.as_str(),
        &target.credentials.id,
        &plan.playbook.name,
        holder,
    )
    .map_err(|e| match e {
        LockError::Held(m) => Error::Locked(m),
        LockError::Io(m) => Error::Other(m),
    })
}

/// Every form of the credentials that could reveal them, to scrub from the journal.
pub(super) fn redactions(c: &AppCredentials) -> Vec<String> {
    vec![
        c.secret.expose().to_string(),
        basic_header(c).trim_start_matches("Basic ").to_string(),
    ]
}

/// Run the executor on a plan with an open journal, then write the run's end, the reports,
/// and the summary. Shared by `run`, `apply` and `resume`.
pub fn drive(
    run_dir: &Path,
    journal: Arc<Journal>,
    plan: &Plan,
    target: Target,
    hints: Hints,
) -> Result<i32, Error> {
    let auth = match (plan.provider.kind, plan.provider.auth) {
        (ProviderKind::Tpns, Some(TpnsAuth::Sign)) => AuthScheme::TpnsSign,
        _ => AuthScheme::Basic,
    };
    let timeout = std::time::Duration::from_millis(plan.limits.timeout_ms);
    let transport = HttpTransport::new(&target.base_url, target.credentials, auth, timeout)
        .map_err(Error::Other)?;
    let mode = if std::io::stderr().is_terminal() {
        Mode::Bar
    } else {
        Mode::Lines
    };
    let progress = Arc::new(Progress::new(mode));
    let stop = Arc::new(Stop::default());
    let cfg = ExecConfig {
        concurrency: plan.limits.concurrency as usize,
        retry: RetrySettings {
            attempts: plan.retry.attempts,
            initial: std::time::Duration::from_millis(plan.retry.initial_ms),
            max: std::time::Duration::from_millis(plan.retry.max_ms),
        },
        max_failures: plan
            .limits
            .max_failures
            .as_deref()
            .and_then(|b| crate::domain::FailureBudget::parse(b).ok()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(e.to_string()))?;
    let result = runtime.block_on(async {
        let j = journal.clone();
        signals::install(stop.clone(), progress.clone(), move || j.sync());
        Executor::new(
            transport,
            plan.clone(),
            journal.clone(),
            stop.clone(),
            progress.clone(),
            cfg,
        )
        .with_hints(hints)
        .run()
        .await
    });
    runtime.shutdown_background();
    // The exit code counts every target of the run (a resumed run included), from the journal.
    let events = crate::journal::read(&run_dir.join("journal.jsonl")).map_err(Error::Other)?;
    let (so_far, details) = report::build(&events).map_err(Error::Other)?;
    let failures = so_far.totals.outcomes.failed + so_far.totals.outcomes.gave_up;
    // Targets never dispatched, or in flight without an outcome, mean the run did not finish.
    let unfinished = so_far.totals.outcomes.not_attempted > 0 || !details.unresolved.is_empty();
    let stopped = result.stopped.is_some() || result.journal_error.is_some();
    let code = crate::exec::runner::exit_code(stopped || unfinished, failures);
    let _ = journal.append(&Event::RunFinished {
        at: Timestamp::now(),
        exit_code: code,
        stopped: result.stopped.clone(),
    });
    journal.sync();

    let (r, _) = crate::report::write_reports(run_dir).map_err(Error::Other)?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out);
    let _ = write!(out, "{}", report::table(&r));
    let _ = writeln!(out, "\nexit {code}: {}", report::exit_meaning(code));
    let _ = writeln!(out, "audit: {}", run_dir.display());
    if let Some(s) = &result.stopped {
        let _ = writeln!(out, "stopped: {s}");
    }
    if let Some(e) = &result.journal_error {
        let _ = writeln!(out, "journal error: {e}");
    }
    Ok(code)
}

/// Ask on a terminal; refuse without one unless `--yes`.
pub(super) fn confirm(plan: &Plan, target: &Target) -> Result<(), Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage("stdin is not a terminal, so the run cannot be confirmed: pass --yes to run without asking".into()));
    }
    eprint!(
        "\nSend {} target{} ({} step{}) to {}{}? Type `yes` to run: ",
        plan.totals.send,
        if plan.totals.send == 1 { "" } else { "s" },
        plan.steps.len(),
        if plan.steps.len() == 1 { "" } else { "s" },
        target.base_url,
        if target.sandbox { " (the sandbox)" } else { "" }
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Other(e.to_string()))?;
    if answer.trim() != "yes" {
        return Err(Error::Usage("not confirmed; nothing was sent".into()));
    }
    Ok(())
}
