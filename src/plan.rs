//! The planner: a pure function from playbook + ledger + matrix + templates (+ "now") to a
//! `Plan` saying, per step and target, what will happen and why. No network, no clock.

mod summary;

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use summary::render_text;

use crate::diag::{Diagnostic, Diagnostics};
use crate::domain::{Action, MsgId, Platform, ProviderKind};
use crate::domain::{Rate, format_duration};
use crate::input_set::InputSet;
use crate::ledger::{LedgerRecord, Scan, StepQuery};
use crate::matrix::{Matrix, TargetFacts, Verdict};
use crate::playbook::{Playbook, Step, TpnsAuth, TpnsEnvironment, UnsupportedPolicy};
use crate::provider::{Family, RenderedMessage, RequestSpec, jpush, tpns};
use crate::template::{CompiledTree, RenderError, StepTemplates, TemplateId};

pub const PLAN_SCHEMA: &str = "pushfix.plan/v1";

/// JPush's daily allowance of broadcast pushes (reference/jpush.md §1, error 2008).
const BROADCASTS_PER_DAY: usize = 10;

/// Minutes added to a step's estimated duration when warning about override windows closing.
const RACE_MARGIN_MINUTES: i64 = 10;

/// Everything a run needs, and everything a reviewer needs to see before it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub schema: String,
    pub pushfix_version: String,
    /// The instant time windows were evaluated at.
    pub as_of: Timestamp,
    pub playbook: PlanPlaybook,
    /// sha256 over every input (playbook, ledger, ids files, templates, --var values).
    pub content_sha256: String,
    pub inputs: Vec<PlanInput>,
    pub provider: PlanProvider,
    pub limits: PlanLimits,
    pub retry: PlanRetry,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<PlanLedger>,
    pub steps: Vec<PlanStep>,
    pub totals: Totals,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanPlaybook {
    pub path: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanInput {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanProvider {
    pub kind: ProviderKind,
    pub base_url: String,
    pub base_url_source: String,
    /// Environment variable names (never values).
    pub id_env: String,
    pub secret_env: String,
    /// JPush only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apns_production: Option<bool>,
    /// TPNS only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<TpnsAuth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<TpnsEnvironment>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanLimits {
    pub concurrency: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_targets: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<String>,
    /// How long to wait for an answer.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The pacing rate of each API family this plan uses.
    pub rates: BTreeMap<Family, PlanRate>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanRate {
    pub rate: String,
    pub per_second: f64,
    /// `playbook` (limits.rate) or `provider quota`.
    pub source: String,
}

impl PlanRate {
    pub fn parsed(&self) -> Rate {
        Rate::parse(&self.rate).unwrap_or(Rate::per_second(self.per_second))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanRetry {
    pub attempts: u32,
    pub initial_ms: u64,
    pub max_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanLedger {
    pub path: String,
    pub sha256: String,
    pub records: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// A request will be sent.
    Send,
    /// Not sent; reported as `skipped` with the verdict's reason.
    Skip,
    /// Not sent; reported as `failed` (the step says `unsupported: fail`).
    Fail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanStep {
    pub name: String,
    pub action: Action,
    pub unsupported: UnsupportedPolicy,
    pub api: String,
    pub counts: VerdictCounts,
    pub dispositions: DispositionCounts,
    /// Channel -> number of targets with receivers there that the action cannot reach.
    pub channels_not_reached: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receivers: Option<ReceiverEstimate>,
    pub estimated_requests: u64,
    pub estimated_seconds: f64,
    pub warnings: Vec<String>,
    pub targets: Vec<PlanTarget>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerdictCounts {
    pub will_run: u64,
    pub partial: u64,
    pub unsupported: u64,
    pub expired: u64,
}

impl VerdictCounts {
    fn add(&mut self, v: Verdict) {
        *match v {
            Verdict::WillRun => &mut self.will_run,
            Verdict::Partial => &mut self.partial,
            Verdict::Unsupported => &mut self.unsupported,
            Verdict::Expired => &mut self.expired,
        } += 1;
    }

    pub fn get(&self, v: Verdict) -> u64 {
        match v {
            Verdict::WillRun => self.will_run,
            Verdict::Partial => self.partial,
            Verdict::Unsupported => self.unsupported,
            Verdict::Expired => self.expired,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct DispositionCounts {
    pub send: u64,
    pub skip: u64,
    pub fail: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReceiverEstimate {
    pub reached: u64,
    pub total: u64,
    /// Targets whose ledger record has no receivers_by_channel (not in the estimate).
    pub unknown_targets: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Totals {
    pub targets: u64,
    pub send: u64,
    pub skip: u64,
    pub fail: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlanTarget {
    pub id: String,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_reached: Vec<String>,
    pub disposition: Disposition,
    pub in_ledger: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receivers: Option<[u64; 2]>,
    /// What the request is built from (override targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Original>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<RenderedMessage>,
}

/// Facts about the original message an override needs, copied from its ledger record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Original {
    pub ledger_line: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Value>,
    /// TPNS only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience_type: Option<String>,
    /// TPNS only; when absent the run looks it up with get_push_record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collapse_id: Option<u32>,
    /// JPush: the platforms the override is pushed to — the original's, less those where no
    /// channel can replace it (a new notification there would show beside the wrong one),
    /// unless the step says `unsupported: force`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push_platforms: Vec<Platform>,
}

impl Original {
    /// Platforms an override push targets.
    pub fn push_targets(&self) -> &[Platform] {
        if self.push_platforms.is_empty() {
            &self.platforms
        } else {
            &self.push_platforms
        }
    }
}

/// The inputs of the pure planner.
pub struct PlanContext<'a> {
    pub playbook: &'a Playbook,
    /// The playbook path as given (for the plan record).
    pub playbook_path: &'a str,
    pub matrix: &'a Matrix,
    pub scan: Option<&'a Scan>,
    pub inputs: &'a InputSet,
    pub now: Timestamp,
    pub run_id: &'a str,
}

/// The ledger queries for a playbook's steps (what `ledger::scan` should collect).
pub fn ledger_queries(pb: &Playbook, now: Timestamp) -> Vec<StepQuery<'_>> {
    pb.steps
        .iter()
        .map(|s| StepQuery {
            ids: s
                .select
                .ids
                .iter()
                .map(|l| l.value.clone())
                .chain(s.select.file_ids.iter().cloned())
                .collect(),
            filter: s.select.filter.as_ref().map(|f| &f.value),
            range: s
                .select
                .filter
                .as_ref()
                .map_or((None, None), |f| f.value.time_range(now)),
        })
        .collect()
}

/// The default client-side rate of each family (reference/jpush.md §4, reference/tpns.md §6).
pub fn provider_quota(family: Family) -> Rate {
    match family {
        Family::JpushPush => Rate::per_minute(600.0),
        Family::TpnsPush => Rate::per_second(1.0),
        // Undocumented; the reference advises pacing these like pushes.
        Family::TpnsTask => Rate::per_second(1.0),
        Family::TpnsStatistics => Rate::per_hour(200.0),
    }
}

/// The family each step's main request belongs to.
pub fn step_family(kind: ProviderKind, action: Action) -> Family {
    match (kind, action) {
        (ProviderKind::Jpush, _) => Family::JpushPush,
        (ProviderKind::Tpns, Action::Override) => Family::TpnsPush,
        (ProviderKind::Tpns, _) => Family::TpnsTask,
    }
}

/// Build the plan. Errors are template render failures (located, grouped per template).
pub fn build(ctx: &PlanContext<'_>) -> Result<Plan, Diagnostics> {
    let pb = ctx.playbook;
    let kind = pb.provider.kind;
    let pm = ctx.matrix.provider(kind);
    let mut diags = Diagnostics::new();
    let limits = plan_limits(pb);
    let mut steps = Vec::new();
    let mut totals = Totals::default();

    for (i, step) in pb.steps.iter().enumerate() {
        let ids = step_targets(step, ctx.scan.map(|s| &s.matches[i]));
        let rule = pm.rule(step.action);
        let api = rule.map_or_else(|| step.action.to_string(), |r| r.api.clone());
        let mut renderer = match &step.message {
            Some(_) => match StepRenderer::new(ctx, step) {
                Ok(r) => Some(r),
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            },
            None => None,
        };
        let mut ps = PlanStep {
            name: step.name.value.clone(),
            action: step.action,
            unsupported: step.unsupported,
            api,
            counts: VerdictCounts::default(),
            dispositions: DispositionCounts::default(),
            channels_not_reached: BTreeMap::new(),
            receivers: None,
            estimated_requests: 0,
            estimated_seconds: 0.0,
            warnings: Vec::new(),
            targets: Vec::with_capacity(ids.len()),
        };
        let mut receivers = ReceiverEstimate::default();
        let mut has_receivers = false;
        let mut not_in_ledger = 0u64;
        let mut lookups = 0u64;
        for id in ids {
            let record = ctx.scan.and_then(|s| s.records.get(&id));
            let rendered = match (&mut renderer, record) {
                (Some(r), Some(rec)) => match r.render(rec) {
                    Ok(m) => Some(m),
                    Err(e) => {
                        r.fail(e, &id);
                        None
                    }
                },
                _ => None,
            };
            let apns_collapse_id = rendered
                .as_ref()
                .and_then(|m| m.apns_collapse_id.as_deref());
            let facts = facts_of(record, apns_collapse_id);
            let a = pm.assess(kind, step.action, &facts, ctx.now);
            let disposition = disposition(a.verdict, step.unsupported, a.impossible);
            ps.counts.add(a.verdict);
            match disposition {
                Disposition::Send => ps.dispositions.send += 1,
                Disposition::Skip => ps.dispositions.skip += 1,
                Disposition::Fail => ps.dispositions.fail += 1,
            }
            for (ch, _) in &a.not_reached {
                *ps.channels_not_reached.entry(ch.clone()).or_default() += 1;
            }
            match a.receivers {
                Some((r, t)) => {
                    has_receivers = true;
                    if disposition == Disposition::Send {
                        receivers.reached += r;
                    }
                    receivers.total += t;
                }
                None => receivers.unknown_targets += 1,
            }
            if record.is_none() {
                not_in_ledger += 1;
            }
            let mut notes = a.notes.clone();
            notes.extend(a.not_reached.iter().map(|(c, why)| format!("{c}: {why}")));
            let mut original = (step.action == Action::Override)
                .then(|| record.map(original_of))
                .flatten();
            if let Some(o) = original.as_mut()
                && kind == ProviderKind::Jpush
                && step.unsupported != UnsupportedPolicy::Force
                && !(a.reached.is_empty() && a.not_reached.is_empty())
            {
                // Push only where a channel can replace the original.
                let reached: Vec<Platform> = a
                    .reached
                    .iter()
                    .filter_map(|c| pm.channel(c).map(|c| c.platform))
                    .collect();
                o.push_platforms = o
                    .platforms
                    .iter()
                    .copied()
                    .filter(|p| reached.contains(p))
                    .collect();
                for p in o.platforms.iter().filter(|p| !reached.contains(p)) {
                    notes.push(format!(
                        "not pushed to {p}: no channel there can replace the original"
                    ));
                }
            }
            if kind == ProviderKind::Tpns
                && step.action == Action::Override
                && disposition == Disposition::Send
                && original.as_ref().is_some_and(|o| o.collapse_id.is_none())
            {
                lookups += 1;
            }
            ps.targets.push(PlanTarget {
                id: id.to_string(),
                verdict: a.verdict,
                reason: a.reason.clone(),
                not_reached: a.not_reached.iter().map(|(c, _)| c.clone()).collect(),
                disposition,
                in_ledger: record.is_some(),
                notes,
                receivers: a.receivers.map(|(r, t)| [r, t]),
                original,
                message: if disposition == Disposition::Skip {
                    None
                } else {
                    rendered
                },
            });
        }
        if let Some(r) = renderer {
            diags.extend(r.into_diagnostics());
        }
        if has_receivers {
            ps.receivers = Some(receivers);
        }
        // Requests and time, at the family's pace.
        let family = step_family(kind, step.action);
        let per_target = 1u64;
        let mut requests = ps.dispositions.send * per_target;
        if kind == ProviderKind::Jpush
            && step.action == Action::Override
            && ps.dispositions.send > 0
        {
            requests += ps.dispositions.send.div_ceil(1000);
        }
        ps.estimated_requests = requests + lookups;
        let main_rate = limits.rates.get(&family).map_or(1.0, |r| r.per_second);
        let mut seconds = requests as f64 / main_rate;
        if lookups > 0 {
            let stats = limits
                .rates
                .get(&Family::TpnsStatistics)
                .map_or(200.0 / 3600.0, |r| r.per_second);
            seconds = seconds.max(lookups as f64 / stats);
            ps.warnings.push(format!(
                "{lookups} targets have no collapse_id in the ledger: each needs a get_push_record lookup (statistics API, {}), about {}",
                limits.rates.get(&Family::TpnsStatistics).map_or("200/h".to_string(), |r| r.rate.clone()),
                format_duration(std::time::Duration::from_secs_f64(lookups as f64 / stats))
            ));
        }
        ps.estimated_seconds = (seconds * 1000.0).round() / 1000.0;
        step_warnings(
            &mut ps,
            step,
            pb,
            rule.and_then(|r| r.offline.clone()),
            not_in_ledger,
            ctx.now,
        );
        totals.targets += ps.targets.len() as u64;
        totals.send += ps.dispositions.send;
        totals.skip += ps.dispositions.skip;
        totals.fail += ps.dispositions.fail;
        steps.push(ps);
    }
    if diags.has_errors() {
        return Err(diags);
    }

    recall_before_override(&mut steps, kind);
    let mut warnings = Vec::new();
    if kind == ProviderKind::Jpush
        && !pb.provider.apns_production_explicit
        && pb.steps.iter().any(|s| s.action == Action::Override)
    {
        warnings.push("provider.apns_production is not set: override pushes will send apns_production: true (production APNs)".into());
    }
    if let Some(b) = pb.limits.max_failures {
        let allowed = b.allowed(totals.send);
        if allowed == 0 && totals.send > 0 {
            warnings.push(format!(
                "limits.max_failures ({b}) allows no failure among {} targets to send: the run would stop before sending anything",
                totals.send
            ));
        } else if allowed < u64::from(pb.limits.concurrency) && totals.send > allowed {
            warnings.push(format!(
                "limits.max_failures ({b}) allows {allowed} failures, so at most {allowed} requests run at once (concurrency {}): \
                 more could not be in flight without risking the budget",
                pb.limits.concurrency
            ));
        }
    }
    if pb.provider.base_url_source.starts_with("default region") {
        warnings.push("provider.region is not set: using the guangzhou access point (a wrong region answers 1008035)".into());
    }
    let playbook_sha = ctx
        .inputs
        .files()
        .find(|(p, _)| *p == pb.file.path.as_path())
        .map_or(String::new(), |(_, h)| h.to_string());
    Ok(Plan {
        schema: PLAN_SCHEMA.into(),
        pushfix_version: env!("CARGO_PKG_VERSION").into(),
        as_of: ctx.now,
        playbook: PlanPlaybook {
            path: ctx.playbook_path.to_string(),
            name: pb.name.value.clone(),
            description: pb.description.clone(),
            sha256: playbook_sha,
        },
        content_sha256: ctx.inputs.content_hash(),
        inputs: ctx
            .inputs
            .files()
            .map(|(p, h)| PlanInput {
                path: p.display().to_string(),
                sha256: h.to_string(),
            })
            .collect(),
        provider: PlanProvider {
            kind,
            base_url: pb.provider.base_url.clone(),
            base_url_source: pb.provider.base_url_source.clone(),
            id_env: pb.provider.credentials.id_env.value.clone(),
            secret_env: pb.provider.credentials.secret_env.value.clone(),
            apns_production: (kind == ProviderKind::Jpush).then_some(pb.provider.apns_production),
            auth: (kind == ProviderKind::Tpns).then_some(pb.provider.tpns_auth),
            environment: (kind == ProviderKind::Tpns).then_some(pb.provider.tpns_environment),
        },
        limits,
        retry: PlanRetry {
            attempts: pb.retry.attempts,
            initial_ms: pb.retry.initial.as_millis() as u64,
            max_ms: pb.retry.max.as_millis() as u64,
        },
        ledger: pb.ledger.as_ref().zip(ctx.scan).map(|(l, s)| PlanLedger {
            path: l.value.display().to_string(),
            sha256: s.sha256.clone(),
            records: s.records_read,
        }),
        steps,
        totals,
        warnings,
    })
}

/// JPush answers 1003 to an override of a recalled message and sends nothing: an override
/// step whose targets an earlier recall step already recalled will do nothing for them.
fn recall_before_override(steps: &mut [PlanStep], kind: ProviderKind) {
    if kind != ProviderKind::Jpush {
        return;
    }
    let mut recalled: HashMap<&str, &str> = HashMap::new();
    let mut warnings: Vec<(usize, String)> = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let sends = s
            .targets
            .iter()
            .filter(|t| t.disposition == Disposition::Send);
        match s.action {
            Action::Recall => {
                for t in sends {
                    recalled.entry(t.id.as_str()).or_insert(s.name.as_str());
                }
            }
            Action::Override => {
                let hit: Vec<&str> = sends
                    .filter_map(|t| recalled.get(t.id.as_str()).copied())
                    .collect();
                if let Some(first) = hit.first() {
                    warnings.push((
                        i,
                        format!(
                            "{} targets are recalled by the earlier step `{first}`: JPush answers 1003 to an override of a \
                             recalled message and sends nothing; override first, then recall",
                            hit.len()
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    for (i, w) in warnings {
        steps[i].warnings.push(w);
    }
}

/// Target ids of a step in order: `ids`, then `ids_file`, then `where` matches; no duplicates.
fn step_targets(step: &Step, matches: Option<&Vec<MsgId>>) -> Vec<MsgId> {
    let mut seen = HashSet::new();
    let explicit = step
        .select
        .ids
        .iter()
        .map(|l| &l.value)
        .chain(step.select.file_ids.iter());
    let mut out = Vec::new();
    for id in explicit.chain(matches.into_iter().flatten()) {
        if seen.insert(id.clone()) {
            out.push(id.clone());
        }
    }
    out
}

fn facts_of<'a>(
    record: Option<&'a LedgerRecord>,
    apns_collapse_id: Option<&'a str>,
) -> TargetFacts<'a> {
    match record {
        None => TargetFacts::default(),
        Some(r) => TargetFacts {
            in_ledger: true,
            platforms: r.platforms.as_deref(),
            sent_at: r.sent_at,
            receivers_by_channel: r.receivers_by_channel.as_ref(),
            apns_collapse_id: apns_collapse_id.or(r.apns_collapse_id.as_deref()),
            has_audience: r.has_audience(),
            audience_type: r.audience_type.as_deref(),
            scheduled: r.scheduled,
        },
    }
}

fn original_of(r: &LedgerRecord) -> Original {
    Original {
        ledger_line: r.line,
        sent_at: r.sent_at,
        platforms: r.platforms.clone().unwrap_or_default(),
        audience: r.audience.clone(),
        audience_type: r.audience_type.clone(),
        collapse_id: r.collapse_id,
        push_platforms: Vec::new(),
    }
}

/// The step's `unsupported:` policy applied to a verdict.
pub fn disposition(verdict: Verdict, policy: UnsupportedPolicy, impossible: bool) -> Disposition {
    match (verdict, policy) {
        (Verdict::WillRun, _) => Disposition::Send,
        (Verdict::Partial, UnsupportedPolicy::Fail) => Disposition::Fail,
        (Verdict::Partial, _) => Disposition::Send,
        (_, UnsupportedPolicy::Skip) => Disposition::Skip,
        (_, UnsupportedPolicy::Fail) => Disposition::Fail,
        // `force` cannot build a request without the ledger facts it needs.
        (_, UnsupportedPolicy::Force) if impossible => Disposition::Fail,
        (_, UnsupportedPolicy::Force) => Disposition::Send,
    }
}

fn plan_limits(pb: &Playbook) -> PlanLimits {
    let families: &[Family] = match pb.provider.kind {
        ProviderKind::Jpush => &[Family::JpushPush],
        ProviderKind::Tpns => &[Family::TpnsPush, Family::TpnsTask, Family::TpnsStatistics],
    };
    let mut rates = BTreeMap::new();
    for f in families {
        let (rate, source) = match (&pb.limits.rate, f) {
            // limits.rate paces the corrective calls; statistics keep their hourly quota.
            (Some(r), Family::JpushPush | Family::TpnsPush | Family::TpnsTask) => {
                (r.value, "playbook")
            }
            _ => (provider_quota(*f), "provider quota"),
        };
        rates.insert(
            *f,
            PlanRate {
                rate: rate.to_string(),
                per_second: rate.per_sec(),
                source: source.into(),
            },
        );
    }
    PlanLimits {
        concurrency: pb.limits.concurrency,
        max_targets: pb.limits.max_targets,
        max_failures: pb.limits.max_failures.map(|b| b.to_string()),
        timeout_ms: pb.limits.timeout.as_millis() as u64,
        rates,
    }
}

fn default_timeout_ms() -> u64 {
    crate::playbook::DEFAULT_TIMEOUT.as_millis() as u64
}

fn step_warnings(
    ps: &mut PlanStep,
    step: &Step,
    pb: &Playbook,
    offline: Option<String>,
    not_in_ledger: u64,
    now: Timestamp,
) {
    if let Some(o) = offline {
        ps.warnings.push(o);
    }
    if not_in_ledger > 0 && step.action != Action::Override {
        ps.warnings.push(format!(
            "{not_in_ledger} of {} targets are not in the ledger: their channels{} were not checked",
            ps.targets.len(),
            if step.action == Action::CancelScheduled { " and schedules" } else { "" }
        ));
    }
    if ps.dispositions.fail > 0 {
        ps.warnings.push(format!(
            "{} targets will fail without a request (`unsupported: fail` or impossible to force)",
            ps.dispositions.fail
        ));
    }
    if ps.targets.is_empty() {
        ps.warnings
            .push("no targets: the selection matches nothing".into());
    }
    let future = ps
        .targets
        .iter()
        .filter(|t| {
            t.original
                .as_ref()
                .and_then(|o| o.sent_at)
                .is_some_and(|s| s > now)
        })
        .count();
    if future > 0 {
        ps.warnings.push(format!(
            "{future} targets were sent after {now} by the ledger: check the ledger's clock or time zone (or --as-of)"
        ));
    }
    // JPush limits broadcasts (audience "all") to 10 a day (2008 past that, reference/jpush.md §1);
    // an override goes to the original audience, so overriding a broadcast is a broadcast.
    if pb.provider.kind == ProviderKind::Jpush && step.action == Action::Override {
        let broadcasts = ps
            .targets
            .iter()
            .filter(|t| t.disposition == Disposition::Send)
            .filter(|t| {
                t.original
                    .as_ref()
                    .and_then(|o| o.audience.as_ref())
                    .is_some_and(|a| a == "all")
            })
            .count();
        if broadcasts > 0 {
            ps.warnings.push(format!(
                "{broadcasts} override{} broadcast (audience: all){}: JPush allows 10 broadcasts a day and answers 2008 past that",
                if broadcasts == 1 { " is a" } else { "s are" },
                if broadcasts > BROADCASTS_PER_DAY { ", more than a day's allowance" } else { "" }
            ));
        }
    }
    // Overrides racing the JPush one-day window: targets that will be past it by the time the
    // step is estimated to reach them, allowing some minutes for review and earlier steps.
    if pb.provider.kind == ProviderKind::Jpush
        && step.action == Action::Override
        && ps.estimated_seconds > 0.0
    {
        let margin = jiff::SignedDuration::from_mins(RACE_MARGIN_MINUTES);
        let horizon = now + jiff::SignedDuration::from_secs_f64(ps.estimated_seconds) + margin;
        let racing = ps
            .targets
            .iter()
            .filter(|t| t.disposition == Disposition::Send && t.verdict != Verdict::Expired)
            .filter_map(|t| t.original.as_ref()?.sent_at)
            .filter(|s| horizon.duration_since(*s) >= jiff::SignedDuration::from_hours(24))
            .count();
        if racing > 0 {
            ps.warnings.push(format!(
                "{racing} targets leave the 1-day override window within the step's estimated {} (+{RACE_MARGIN_MINUTES} min); JPush answers 1003 for those it reaches too late",
                format_duration(std::time::Duration::from_secs_f64(ps.estimated_seconds))
            ));
        }
    }
}

/// Renders one override step's templates for each target, grouping errors.
struct StepRenderer<'a> {
    templates: StepTemplates,
    title: Option<TemplateId>,
    body: TemplateId,
    extras: Option<CompiledTree>,
    apns_collapse_id: Option<TemplateId>,
    intent: Option<TemplateId>,
    base: tera::Context,
    /// error -> (first target, further targets with the same error)
    errors: Vec<(RenderError, String, usize)>,
    index: HashMap<RenderError, usize>,
    /// Targets rendered from a ledger record so far.
    rendered: usize,
    _pb: &'a Playbook,
}

impl<'a> StepRenderer<'a> {
    fn new(ctx: &PlanContext<'a>, step: &Step) -> Result<Self, Diagnostic> {
        let m = step
            .message
            .as_ref()
            .expect("override steps have a message");
        let mut templates = StepTemplates::new();
        let title = m.title.as_ref().map(|t| templates.add(t)).transpose()?;
        let body = templates.add(&m.body)?;
        let extras = m
            .extras
            .as_ref()
            .map(|t| CompiledTree::compile(t, &mut templates))
            .transpose()?;
        let apns_collapse_id = m
            .apns_collapse_id
            .as_ref()
            .map(|t| templates.add(t))
            .transpose()?;
        let intent = m.intent.as_ref().map(|t| templates.add(t)).transpose()?;
        let mut base = tera::Context::new();
        base.insert("vars", &ctx.playbook.vars);
        base.insert(
            "step",
            &serde_json::json!({ "name": step.name.value, "action": step.action.as_str() }),
        );
        base.insert(
            "run",
            &serde_json::json!({ "id": ctx.run_id, "started_at": ctx.now.to_string() }),
        );
        Ok(StepRenderer {
            templates,
            title,
            body,
            extras,
            apns_collapse_id,
            intent,
            base,
            errors: Vec::new(),
            index: HashMap::new(),
            rendered: 0,
            _pb: ctx.playbook,
        })
    }

    fn render(&mut self, record: &LedgerRecord) -> Result<RenderedMessage, RenderError> {
        self.rendered += 1;
        let mut ctx = self.base.clone();
        ctx.insert("message", &record.raw);
        let t = &self.templates;
        let title = match self.title {
            Some(id) => Some(t.render(id, &ctx)?),
            None => record.title.clone(),
        };
        Ok(RenderedMessage {
            title,
            body: t.render(self.body, &ctx)?,
            extras: self
                .extras
                .as_ref()
                .map(|e| e.render(t, &ctx))
                .transpose()?,
            apns_collapse_id: match self.apns_collapse_id {
                Some(id) => Some(t.render(id, &ctx)?).filter(|s| !s.is_empty()),
                None => record.apns_collapse_id.clone(),
            },
            intent: self.intent.map(|id| t.render(id, &ctx)).transpose()?,
        })
    }

    fn fail(&mut self, e: RenderError, target: &MsgId) {
        match self.index.get(&e) {
            Some(&i) => self.errors[i].2 += 1,
            None => {
                self.index.insert(e.clone(), self.errors.len());
                self.errors.push((e, target.to_string(), 0));
            }
        }
    }

    fn into_diagnostics(mut self) -> Diagnostics {
        if self.rendered == 0 {
            self.check_without_targets();
        }
        let mut d = Diagnostics::new();
        for (e, target, more) in &self.errors {
            d.push(self.templates.diagnostic(e, target, *more));
        }
        d
    }

    /// With no target to render (nothing selected today, or no ledger record), still render
    /// once against a stand-in record so a broken template fails CI now rather than on the
    /// day it matters. Only errors about `message.*` fields are ignored: real records may
    /// have fields the stand-in lacks.
    fn check_without_targets(&mut self) {
        let stub = LedgerRecord {
            id: MsgId::Tpns("0".into()),
            line: 0,
            sent_at: None,
            platforms: None,
            tags: Vec::new(),
            title: Some(String::new()),
            body: Some(String::new()),
            apns_collapse_id: None,
            audience: None,
            audience_type: None,
            collapse_id: None,
            scheduled: None,
            receivers_by_channel: None,
            raw: serde_json::json!({"id": "0", "title": "", "body": "", "tags": [], "platforms": [], "extras": {}})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        if let Err(e) = self.render(&stub)
            && !e.message.contains("Variable `message.")
        {
            self.fail(e, &MsgId::Tpns(String::new()));
        }
    }
}

/// The requests one target would send, with placeholders where values come at run time
/// (the cid, a looked-up collapse id). Used for previews; the run builds the same with real values.
pub fn target_requests(
    plan_provider: &PlanProvider,
    action: Action,
    policy: UnsupportedPolicy,
    t: &PlanTarget,
) -> Vec<RequestSpec> {
    match plan_provider.kind {
        ProviderKind::Jpush => {
            let Ok(id) = t.id.parse::<u64>() else {
                return Vec::new();
            };
            match action {
                Action::Override => {
                    let (Some(o), Some(m)) = (&t.original, &t.message) else {
                        return Vec::new();
                    };
                    let audience = o.audience.clone().unwrap_or(Value::Null);
                    vec![
                        jpush::cid_pool(1),
                        jpush::override_push(
                            &jpush::OverrideInput {
                                msg_id: id,
                                platforms: o.push_targets(),
                                audience: &audience,
                                message: m,
                                apns_production: plan_provider.apns_production.unwrap_or(true),
                            },
                            Value::String(
                                "<cid from GET /v3/push/cid, taken before the first attempt>"
                                    .into(),
                            ),
                        ),
                    ]
                }
                _ => vec![jpush::recall(id)],
            }
        }
        ProviderKind::Tpns => match action {
            Action::Override => {
                let (Some(o), Some(m)) = (&t.original, &t.message) else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                let collapse = match o.collapse_id {
                    Some(c) => Value::from(c),
                    None => {
                        out.push(tpns::get_push_record(&t.id));
                        Value::String("<collapseID from get_push_record>".into())
                    }
                };
                out.push(tpns::override_push(
                    &tpns::OverrideInput {
                        audience_type: o.audience_type.as_deref().unwrap_or("all"),
                        audience: o.audience.as_ref(),
                        message: m,
                        environment: plan_provider
                            .environment
                            .unwrap_or(TpnsEnvironment::Product),
                        force_collapse: policy == UnsupportedPolicy::Force,
                    },
                    collapse,
                ));
                out
            }
            _ => vec![tpns::task_op(action, &t.id)],
        },
    }
}

/// Auth headers as a preview shows them: names of the variables, never values.
pub fn redacted_headers(p: &PlanProvider) -> BTreeMap<String, String> {
    let mut h = BTreeMap::new();
    h.insert("Content-Type".into(), "application/json".into());
    match (p.kind, p.auth) {
        (ProviderKind::Tpns, Some(TpnsAuth::Sign)) => {
            h.insert("AccessId".into(), format!("${}", p.id_env));
            h.insert("TimeStamp".into(), "<unix seconds at send time>".into());
            h.insert("Sign".into(), "<redacted: base64(hex(HMAC-SHA256))>".into());
        }
        _ => {
            h.insert(
                "Authorization".into(),
                format!("Basic <redacted: base64(${}:${})>", p.id_env, p.secret_env),
            );
        }
    }
    h
}

/// The plan as JSON, with a redacted request preview for every target that will send.
pub fn to_json(plan: &Plan) -> Value {
    let mut v = serde_json::to_value(plan).unwrap_or(Value::Null);
    let headers = serde_json::to_value(redacted_headers(&plan.provider)).unwrap_or(Value::Null);
    if let Some(steps) = v.get_mut("steps").and_then(Value::as_array_mut) {
        for (ps, sv) in plan.steps.iter().zip(steps.iter_mut()) {
            let Some(targets) = sv.get_mut("targets").and_then(Value::as_array_mut) else {
                continue;
            };
            for (t, tv) in ps.targets.iter().zip(targets.iter_mut()) {
                if t.disposition != Disposition::Send {
                    continue;
                }
                let reqs: Vec<Value> =
                    target_requests(&plan.provider, ps.action, ps.unsupported, t)
                        .into_iter()
                        .map(|r| {
                            serde_json::json!({
                                "method": r.method,
                                "url": format!("{}{}", plan.provider.base_url, r.path),
                                "headers": headers,
                                "body": r.body,
                            })
                        })
                        .collect();
                if let Some(obj) = tv.as_object_mut() {
                    obj.insert("requests".into(), Value::Array(reqs));
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests;
