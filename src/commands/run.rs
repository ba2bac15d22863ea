//! `pushfix run PLAYBOOK`: plan, then launch the campaign against the provider, a loopback
//! endpoint, or the built-in sandbox.

use std::path::Path;

use jiff::Timestamp;

use super::campaign::{Destination, EventsTarget, Finished, Launch, launch};
use super::prepare::{Prepared, build, history, load, print_warnings, refuse_unfinished};
use super::sandbox::{InProcess, clock_offset, parse_faults, seed_from};
use crate::atomic_file::write_json;
use crate::cli::{OutputFormat, RunArgs};
use crate::domain::Rate;
use crate::error::Error;
use crate::history::History;
use crate::plan::{AlreadyDone, Plan};
use crate::provider::endpoint::{check_endpoint, is_loopback_url};
use crate::provider::http::sandbox_clock;
use crate::provider::{AppCredentials, Secret};
use crate::sandbox::SandboxConfig;

pub fn run(a: RunArgs) -> Result<i32, Error> {
    let json = a.format == OutputFormat::Json;
    if json && a.events.as_deref().is_some_and(|p| p.as_os_str() == "-") {
        return Err(Error::Usage(
            "--format json and --events - both want stdout: write the events to a file (--events events.jsonl)"
                .into(),
        ));
    }
    let finished = campaign(&a)?;
    if json {
        print_report(&finished.run_dir)?;
    }
    Ok(finished.code)
}

/// The run as `run` makes it: plan, then launch against the endpoint or the sandbox.
fn campaign(a: &RunArgs) -> Result<Finished, Error> {
    let started = Timestamp::now();
    let as_of = super::instant("--as-of", a.as_of.as_deref())?;
    let now = as_of.unwrap_or(started);
    let loaded = load(&a.playbook, &a.vars.vars, now, started)?;
    if a.sandbox {
        // The built-in sandbox starts empty: no earlier run corrected anything in it.
        let mut pre = build(loaded, &AlreadyDone::new())?;
        print_warnings(&pre.warnings);
        pre.plan.limits.verify |= a.verify;
        super::verify::check_ledger(&pre.plan)?;
        return run_in_sandbox(a, pre, as_of);
    }
    let (base_url, source) = match &a.endpoint {
        Some(e) => (
            check_endpoint(e).map_err(|e| Error::Usage(format!("--endpoint: {}", e.message)))?,
            "--endpoint".to_string(),
        ),
        None => (
            loaded.playbook.provider.base_url.clone(),
            loaded.playbook.provider.base_url_source.clone(),
        ),
    };
    if as_of.is_some() && !is_loopback_url(&base_url) {
        return Err(Error::Usage(
            "--as-of needs --sandbox or a loopback --endpoint: a real provider's clock cannot be moved \
             (`pushfix plan --as-of` reviews a plan as of any time)"
                .into(),
        ));
    }
    if let Some(t) = as_of {
        same_clock(&base_url, t)?;
    }
    let history = if a.schedule.again {
        History::default()
    } else {
        history(&loaded.playbook, &a.audit_dir, &base_url)?
    };
    refuse_unfinished(&history)?;
    let mut pre = build(loaded, &history.settled)?;
    print_warnings(&pre.warnings);
    pre.plan.limits.verify |= a.verify;
    super::verify::check_ledger(&pre.plan)?;
    let credentials = read_credentials(&pre.plan)?;
    let destination = Destination {
        base_url,
        base_url_source: source,
        credentials,
        sandbox: false,
    };
    launch(Launch {
        playbook_path: &a.playbook,
        playbook_text: &pre.playbook.file.text,
        plan: pre.plan,
        destination,
        yes: a.yes,
        audit_dir: &a.audit_dir,
        run_id: &pre.run_id,
        note: None,
        events: events(a),
        max_runtime: a.schedule.max_runtime.max_runtime,
        verify: a.verify_options,
    })
}

fn events(a: &RunArgs) -> EventsTarget {
    EventsTarget {
        path: a.events.clone(),
        report_on_stdout: a.format == OutputFormat::Json,
    }
}

/// `run --format json`: the final report, exactly as the run directory's report.json has it
/// (written by the run's end, so it is the record and not a second rendering of it).
fn print_report(run_dir: &Path) -> Result<(), Error> {
    let path = run_dir.join("report.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::Internal(format!(
            "the run ended but its report cannot be read from `{}`: {}; `pushfix report {} --format json` rebuilds it",
            path.display(),
            crate::io_reason(&e),
            run_dir.display()
        ))
    })?;
    // A closed stdout only stops the printing: the run is over and recorded.
    super::output::print_after_start(&text);
    Ok(())
}

/// `run --sandbox`: the simulator in this process, seeded from the playbook's ledger, with
/// throwaway credentials and the playbook's rate; what it recorded is saved beside the report.
fn run_in_sandbox(a: &RunArgs, pre: Prepared, as_of: Option<Timestamp>) -> Result<Finished, Error> {
    let pb = &pre.playbook;
    let mut config = SandboxConfig::with_random_credentials();
    config.rate = pb.limits.rate.as_ref().map(|r| sandbox_quota(r.value));
    config.faults = parse_faults(a.sandbox_faults.as_deref())?;
    config.clock_offset = clock_offset(as_of);
    let credentials = sandbox_credentials(&config, pre.plan.provider.kind.as_str())?;
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
        as_of
            .map(|t| format!(", clock as of {t}"))
            .unwrap_or_default()
    );
    let destination = Destination {
        base_url: url,
        base_url_source: "sandbox".into(),
        credentials,
        sandbox: true,
    };
    let result = launch(Launch {
        playbook_path: &a.playbook,
        playbook_text: &pb.file.text,
        plan: pre.plan,
        destination,
        yes: a.yes,
        audit_dir: &a.audit_dir,
        run_id: &pre.run_id,
        note: Some(note),
        events: events(a),
        max_runtime: a.schedule.max_runtime.max_runtime,
        verify: a.verify_options,
    });
    let record = sandbox.stop();
    // Keep the sandbox's own record of what it received and changed, for comparison.
    let finished = result?;
    write_json(&finished.run_dir.join("sandbox.json"), &record)?;
    Ok(finished)
}

/// A rehearsal `--as-of T` against a sandbox started apart: the plan judges windows as of T,
/// the sandbox by its own clock; refuse unless they agree (within `CLOCK_TOLERANCE`).
fn same_clock(base_url: &str, as_of: Timestamp) -> Result<(), Error> {
    let clock = sandbox_clock(base_url).map_err(|e| {
        Error::Usage(format!(
            "--as-of needs the sandbox's clock to agree, and it cannot be read: {e}"
        ))
    })?;
    let apart = clock.duration_since(as_of).unsigned_abs();
    if apart > CLOCK_TOLERANCE {
        return Err(Error::Usage(format!(
            "the sandbox at {base_url} runs its clock at {clock}, {} from --as-of {as_of}: time windows would be judged on two clocks. \
             Start it with `pushfix sandbox --as-of {as_of}`, or run with `--as-of {clock:.0}`",
            crate::domain::format_duration(apart)
        )));
    }
    Ok(())
}

/// How far apart the plan's "now" and a sandbox's clock may be (the sandbox's clock runs on
/// from its start; a rehearsal takes minutes to set up).
const CLOCK_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// The sandbox's throwaway credentials for the playbook's provider.
fn sandbox_credentials(config: &SandboxConfig, kind: &str) -> Result<AppCredentials, Error> {
    let c = config
        .credentials(kind)
        .ok_or_else(|| Error::Internal(format!("the sandbox does not simulate `{kind}`")))?;
    Ok(AppCredentials {
        id: c.id.clone(),
        secret: Secret::new(c.secret.clone()),
    })
}

/// The sandbox app's quota for a playbook that paces at `rate`: like a real app, whose quota
/// the playbook stays under, it has 20% headroom (a quota equal to the pace would answer
/// `X-Rate-Limit-Remaining: 0` every window, and pushfix rightly pauses on that). Small rates
/// are the providers' documented quotas (TPNS 1/s) and stay exact.
fn sandbox_quota(rate: Rate) -> Rate {
    if rate.count >= 5.0 {
        Rate {
            count: (rate.count * 1.2).ceil(),
            per: rate.per,
        }
    } else {
        rate
    }
}

/// Read the credentials the plan names from the environment (exit 2 when missing).
pub fn read_credentials(plan: &Plan) -> Result<AppCredentials, Error> {
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
