//! `pushfix apply PLAN.json`: run exactly a saved plan, refusing one whose inputs changed or
//! whose verdicts no longer hold.

use std::path::Path;

use jiff::Timestamp;

use super::campaign::{Destination, EventsTarget, Launch, launch};
use super::prepare::prepare;
use super::run::read_credentials;
use crate::cli::ApplyArgs;
use crate::error::Error;
use crate::input_set::sha256_hex;
use crate::plan::{PLAN_SCHEMA, Plan};
use crate::provider::endpoint::{check_endpoint, is_loopback_url};
use crate::run_dir;

pub fn read_plan(path: &Path) -> Result<Plan, Error> {
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
    })
    .map(|f| f.code)
}

/// Targets whose verdict or disposition differs between a saved plan and a fresh one.
fn changed_targets(saved: &Plan, fresh: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for (s, f) in saved.steps.iter().zip(&fresh.steps) {
        let now: std::collections::HashMap<
            &str,
            (crate::domain::Verdict, crate::domain::Disposition),
        > = f
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
