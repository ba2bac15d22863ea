//! `pushfix run`: plan, show, confirm, lock, execute, journal, report.

use std::io::{BufRead, IsTerminal, Write as _};
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;

use super::{check_max_targets, prepare, write_atomic, write_json};
use crate::audit;
use crate::cli::RunArgs;
use crate::error::Error;
use crate::exec::budget::Stop;
use crate::exec::journal::{Event, Journal};
use crate::exec::lock::{LockError, RunLock};
use crate::exec::progress::{Mode, Progress};
use crate::exec::{ExecConfig, Executor, RetrySettings, signals};
use crate::plan::{self, Plan};
use crate::playbook::{ProviderKind, TpnsAuth, check_endpoint};
use crate::provider::auth::{AppCredentials, Secret, basic_header};
use crate::provider::http::{AuthScheme, HttpTransport};
use crate::report;

/// Where a run sends its requests and with which credentials.
pub struct Target {
    pub base_url: String,
    pub base_url_source: String,
    pub credentials: AppCredentials,
    pub sandbox: bool,
}

pub fn run(a: RunArgs) -> Result<i32, Error> {
    if a.as_of.is_some() {
        return Err(Error::Usage(
            "--as-of needs --sandbox: a real provider's clock cannot be moved (use `pushfix plan --as-of` to review)".into(),
        ));
    }
    let started = Timestamp::now();
    let now = a.as_of.unwrap_or(started);
    let pre = prepare(
        &a.playbook,
        &a.vars.vars,
        now,
        &audit::run_id(started, "run"),
    )?;
    for w in &pre.warnings {
        eprintln!("{w}");
    }
    let mut plan = pre.plan;
    let pb = pre.playbook;

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
        None,
    )
}

/// Read the credentials the plan names from the environment (exit 2 when missing).
fn read_credentials(plan: &Plan) -> Result<AppCredentials, Error> {
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

/// Everything after the plan is made: shared by `run` and `run --sandbox`.
pub fn execute(
    playbook_path: &Path,
    playbook_text: &str,
    plan: &mut Plan,
    target: Target,
    yes: bool,
    audit_dir: &Path,
    sandbox_note: Option<&str>,
) -> Result<i32, Error> {
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
    let (run_dir, run_id) =
        audit::create_run_dir(audit_dir, &audit::run_id(started, &plan.playbook.name))
            .map_err(Error::Other)?;
    let operator = audit::operator();
    let _lock = RunLock::acquire(
        audit_dir,
        plan.provider.kind.as_str(),
        &target.credentials.id,
        &plan.playbook.name,
        &format!(
            "run {run_id} by {operator}, pid {}, since {started}",
            std::process::id()
        ),
    )
    .map_err(|e| match e {
        LockError::Held(m) => {
            let _ = std::fs::remove_dir(&run_dir);
            Error::Locked(m)
        }
        LockError::Io(m) => Error::Other(m),
    })?;
    write_atomic(&run_dir.join("playbook.yaml"), playbook_text.as_bytes())?;
    write_json(&run_dir.join("plan.json"), &plan::to_json(plan))?;

    // Every string that could reveal a credential is scrubbed from the journal.
    let redact = vec![
        target.credentials.secret.expose().to_string(),
        basic_header(&target.credentials)
            .trim_start_matches("Basic ")
            .to_string(),
    ];
    let journal = Arc::new(
        Journal::create(&run_dir.join("journal.jsonl"), redact)
            .map_err(|e| Error::Other(e.to_string()))?,
    );
    journal.append(&Event::RunStarted {
        at: started,
        run_id: run_id.clone(),
        playbook_path: playbook_path.display().to_string(),
        playbook_name: plan.playbook.name.clone(),
        playbook_sha256: plan.playbook.sha256.clone(),
        git_commit: audit::git_commit(playbook_path),
        operator,
        content_sha256: plan.content_sha256.clone(),
        provider: plan.provider.kind.as_str().into(),
        base_url: target.base_url.clone(),
        app: target.credentials.id.clone(),
        sandbox: target.sandbox,
        as_of: target.sandbox.then_some(plan.as_of),
    });
    journal.sync();
    if let Some(note) = sandbox_note {
        eprintln!("{note}");
    }
    eprintln!(
        "run {run_id}: journal at {}",
        run_dir.join("journal.jsonl").display()
    );

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
            .and_then(|b| crate::units::FailureBudget::parse(b).ok()),
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
        .run()
        .await
    });
    let code = result.exit_code();
    journal.append(&Event::RunFinished {
        at: Timestamp::now(),
        exit_code: code,
        stopped: result.stopped.clone(),
    });
    journal.sync();
    runtime.shutdown_background();

    let (r, _) = audit::write_reports(&run_dir).map_err(Error::Other)?;
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
fn confirm(plan: &Plan, target: &Target) -> Result<(), Error> {
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
