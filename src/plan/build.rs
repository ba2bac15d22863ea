//! The planner: playbook + ledger scan + matrix + templates + "now" → `Plan`. Pure: no network,
//! no clock. What is provider-specific (where an override goes, extra requests, warnings, the
//! request previews) it asks the playbook's provider.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Map;

use super::exposure::{self, Exposure, MessageChannels};
use super::render::StepRenderer;
use super::{
    DispositionCounts, Plan, PlanInput, PlanLedger, PlanLimits, PlanPlaybook, PlanProvider,
    PlanRetry, PlanStep, ReceiverEstimate, Totals, VerdictCounts,
};
use crate::diag::{Diagnostic, Diagnostics, did_you_mean};
use crate::domain::intern::Interner;
use crate::domain::{Action, Disposition, MsgId, Platform, Rate, UnsupportedPolicy, Verdict};
use crate::input_set::InputSet;
use crate::ledger::{Filter, LedgerRecord, Scan, StepQuery};
use crate::matrix::{Matrix, TargetFacts};
use crate::playbook::{Playbook, Step};
use crate::provider::{self, Family, PlanRate, Provider, StepContext, StepSummary, TargetContext};
use crate::target::{Original, PlanTarget, RenderedMessage};

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
    /// Targets earlier runs of this playbook already corrected (run history): skipped.
    pub done: &'a super::AlreadyDone,
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
            templates: s.message.is_some(),
            schedules: s.action == Action::CancelScheduled
                && pb.provider.provider().schedule_id_field().is_some(),
        })
        .collect()
}

/// The documented quota of a family (any provider's), the default pace.
pub fn provider_quota(family: Family) -> Rate {
    provider::all()
        .iter()
        .flat_map(|p| p.families())
        .find(|f| f.family == family)
        .map_or(Rate::per_second(1.0), |f| f.quota)
}

/// Build the plan. Errors are template render failures (located, grouped per template).
pub fn build(ctx: &PlanContext<'_>) -> Result<Plan, Diagnostics> {
    let pb = ctx.playbook;
    let p = pb.provider.provider();
    let kind = p.kind();
    let pm = ctx.matrix.provider(kind);
    let mut diags = Diagnostics::new();
    let limits = plan_limits(pb, p);
    let mut steps = Vec::new();
    let mut totals = Totals::default();
    let mut messages: BTreeMap<String, MessageChannels> = BTreeMap::new();
    // What many targets say alike is stored once (a 100,000-target plan repeats its reasons).
    let mut shared = Interner::default();
    let mut shared_messages = SharedMessages::default();

    for (i, step) in pb.steps.iter().enumerate() {
        let ids = step_targets(step, ctx.scan.map(|s| &s.matches[i]));
        let rule = pm.rule(step.action);
        let api = rule.map_or_else(|| step.action.to_string(), |r| r.api.clone());
        let mut renderer = match &step.message {
            Some(m) => match StepRenderer::new(ctx, step, m, p.message_fields()) {
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
            on_not_corrected: step.on_not_corrected,
            api,
            counts: VerdictCounts::default(),
            dispositions: DispositionCounts::default(),
            channels_not_reached: BTreeMap::new(),
            receivers: None,
            estimated_requests: 0,
            estimated_seconds: 0.0,
            warnings: Vec::new(),
            targets: Vec::with_capacity(ids.len()),
            verify: step.verify,
        };
        let mut receivers = ReceiverEstimate::default();
        let mut has_receivers = false;
        let mut not_in_ledger = 0u64;
        // Earlier run -> targets of this step it already corrected.
        let mut already_done: BTreeMap<String, u64> = BTreeMap::new();
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
            let facts = facts_of(p, record, rendered.as_ref());
            if record.is_some()
                && !messages.contains_key(&id.to_string())
                && let Some(channels) = pm.target_channels(&facts)
            {
                messages.insert(id.to_string(), channels.into_iter().collect());
            }
            let a = pm.assess(p, step.action, &facts, ctx.now);
            let done_in = if ctx.done.is_empty() {
                None
            } else {
                ctx.done
                    .get(&(step.name.value.clone(), id.to_string()))
                    .cloned()
            };
            let disposition = match done_in {
                Some(_) => Disposition::Skip,
                None => disposition(a.verdict, step.unsupported, a.impossible),
            };
            if let Some(run) = &done_in {
                *already_done.entry(run.clone()).or_default() += 1;
            }
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
            notes.extend(
                a.uncertain
                    .iter()
                    .map(|(c, why)| format!("{c}: may be reached {why}")),
            );
            let mut original = p
                .keeps_original(step.action)
                .then(|| record.map(|r| original_of(p, r)))
                .flatten();
            if let Some(o) = original.as_mut() {
                // The matrix checked channels unless it knew no platform.
                let checked = !(a.reached.is_empty() && a.not_reached.is_empty());
                let reached: Vec<Platform> = a
                    .reached
                    .iter()
                    .filter_map(|c| pm.channel(c).map(|c| c.platform))
                    .collect();
                let cx = TargetContext {
                    action: step.action,
                    policy: step.unsupported,
                    reached_platforms: checked.then_some(reached.as_slice()),
                    message: rendered.as_ref(),
                };
                p.plan_target(&cx, o, &mut notes);
            }
            ps.targets.push(PlanTarget {
                id: id.to_string(),
                verdict: a.verdict,
                reason: a.reason.as_deref().map(|r| shared.text(r)),
                not_reached: shared.list(a.not_reached.iter().map(|(c, _)| c)),
                reached: shared.list(&a.reached),
                uncertain: shared.list(a.uncertain.iter().map(|(c, _)| c)),
                disposition,
                done_in,
                in_ledger: record.is_some(),
                notes: shared.list(&notes),
                receivers: a.receivers.map(|(r, t)| [r, t]),
                original: original.map(Box::new),
                message: if disposition == Disposition::Skip {
                    None
                } else {
                    rendered.map(|m| shared_messages.get(m))
                },
            });
        }
        if let Some(r) = renderer {
            diags.extend(r.into_diagnostics());
        }
        if has_receivers {
            ps.receivers = Some(receivers);
        }
        estimate(&mut ps, p, &limits, ctx.now);
        step_warnings(
            &mut ps,
            rule.and_then(|r| r.offline.clone()),
            not_in_ledger,
            ctx.now,
        );
        if let Some(w) = already_done_warning(&already_done) {
            ps.warnings.push(w);
        }
        if ps.targets.is_empty()
            && let (Some(f), Some(scan)) = (&step.select.filter, ctx.scan)
        {
            // No record of the kind the step reads: its conditions are beside the point.
            let why = match kind_missing(ps.action, p, scan) {
                Some(w) => vec![w],
                None => nothing_selected(&f.value, scan, ctx.now),
            };
            if let Some(w) = ps.warnings.iter_mut().find(|w| w.starts_with("no targets")) {
                w.push_str(": ");
                w.push_str(&why.join("; "));
            }
        }
        let cx = StepContext {
            action: ps.action,
            policy: ps.unsupported,
            targets: &ps.targets,
            send: ps.dispositions.send,
            rates: &limits.rates,
            now: ctx.now,
        };
        let more = p.step_warnings(&cx, ps.estimated_seconds);
        ps.warnings.extend(more);
        totals.targets += ps.targets.len() as u64;
        totals.send += ps.dispositions.send;
        totals.skip += ps.dispositions.skip;
        totals.fail += ps.dispositions.fail;
        steps.push(ps);
    }
    if !diags.has_errors() {
        // Steps line up with the playbook's only when none failed to build.
        let summaries: Vec<StepSummary<'_>> = steps
            .iter()
            .map(|s| StepSummary {
                name: &s.name,
                action: s.action,
                targets: &s.targets,
            })
            .collect();
        for c in p.step_conflicts(&summaries) {
            if let Some(s) = pb.steps.get(c.step) {
                diags.push(
                    Diagnostic::error(c.message)
                        .at(&pb.file, s.action_span)
                        .label(c.label)
                        .help(c.help),
                );
            }
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }

    let summaries: Vec<StepSummary<'_>> = steps
        .iter()
        .map(|s| StepSummary {
            name: &s.name,
            action: s.action,
            targets: &s.targets,
        })
        .collect();
    let provider_warnings = p.plan_warnings(&pb.provider.defaulted, &summaries);
    for (i, w) in provider_warnings.steps {
        if let Some(s) = steps.get_mut(i) {
            s.warnings.push(w);
        }
    }
    let mut warnings = provider_warnings.plan;
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
    let playbook_sha = ctx
        .inputs
        .files()
        .find(|(p, _)| *p == pb.file.path.as_path())
        .map_or(String::new(), |(_, h)| h.to_string());
    let mut plan = Plan {
        schema: super::PLAN_SCHEMA.into(),
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
            settings: pb.provider.settings.clone(),
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
        messages,
        exposure: Exposure::default(),
    };
    plan.exposure = exposure::planned(&plan);
    for ch in &plan.exposure.unreached {
        let c = &plan.exposure.by_channel[ch];
        plan.warnings.push(format!(
            "{ch}: ~{} message{}, {} receivers, reached by no step: their devices keep the original",
            exposure::approx(c.messages_before),
            if c.messages_before == 1 { "" } else { "s" },
            exposure::approx(c.before)
        ));
    }
    Ok(plan)
}

/// Requests and time, each family at its pace: one request per target to send in the step's
/// family, plus what the provider adds (cids, lookups). The step takes as long as its slowest
/// family.
fn estimate(ps: &mut PlanStep, p: &dyn Provider, limits: &PlanLimits, now: Timestamp) {
    let cx = StepContext {
        action: ps.action,
        policy: ps.unsupported,
        targets: &ps.targets,
        send: ps.dispositions.send,
        rates: &limits.rates,
        now,
    };
    let extra = p.estimate(&cx);
    let mut per_family: BTreeMap<Family, u64> = BTreeMap::new();
    for t in ps
        .targets
        .iter()
        .filter(|t| t.disposition == Disposition::Send)
    {
        *per_family.entry(p.target_family(ps.action, t)).or_default() += 1;
    }
    for (f, n) in extra.requests {
        *per_family.entry(f).or_default() += n;
    }
    let main = p.step_family(ps.action);
    let mut seconds: f64 = 0.0;
    for (f, n) in &per_family {
        let default = if *f == main {
            1.0
        } else {
            provider_quota(*f).per_sec()
        };
        let rate = limits.rates.get(f).map_or(default, |r| r.per_second);
        seconds = seconds.max(*n as f64 / rate);
    }
    ps.estimated_requests = per_family.values().sum();
    ps.estimated_seconds = (seconds * 1000.0).round() / 1000.0;
    ps.warnings.extend(extra.warnings);
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
    p: &dyn Provider,
    record: Option<&'a LedgerRecord>,
    message: Option<&'a RenderedMessage>,
) -> TargetFacts<'a> {
    match record {
        None => TargetFacts::default(),
        Some(r) => TargetFacts {
            in_ledger: true,
            platforms: r.platforms.as_deref(),
            sent_at: r.sent_at,
            receivers_by_channel: r.receivers_by_channel.as_ref(),
            has_audience: p.has_audience(r.audience.as_deref(), &r.facts),
            facts: Some(&r.facts),
            message,
        },
    }
}

fn original_of(p: &dyn Provider, r: &LedgerRecord) -> Original {
    let mut facts = Map::new();
    for f in p.ledger_fields().iter().filter(|f| f.in_original) {
        if let Some(v) = r.facts.get(f.name) {
            facts.insert(f.name.to_string(), v.to_json());
        }
    }
    Original {
        ledger_line: r.line,
        sent_at: r.sent_at,
        platforms: r.platforms.clone().unwrap_or_default(),
        audience: r.audience.clone(),
        facts,
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

fn plan_limits(pb: &Playbook, p: &dyn Provider) -> PlanLimits {
    let mut rates = BTreeMap::new();
    for f in p.families() {
        // limits.rate paces the corrective calls; statistics keep their own quota.
        let (rate, source) = match &pb.limits.rate {
            Some(r) if f.paced_by_limits_rate => (r.value, "playbook"),
            _ => (f.quota, "provider quota"),
        };
        rates.insert(
            f.family,
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
        verify: pb.limits.verify,
    }
}

/// A step reading one kind of record (schedules, where the provider names them apart from
/// messages) over a ledger holding only the other kind.
fn kind_missing(action: Action, provider: &dyn Provider, scan: &Scan) -> Option<String> {
    let field = provider.schedule_id_field()?;
    let schedules = scan.stats.schedules;
    let messages = scan
        .records_read
        .saturating_sub(scan.duplicates)
        .saturating_sub(schedules);
    match action {
        Action::CancelScheduled if schedules == 0 && messages > 0 => Some(format!(
            "the ledger names no schedule (`{field}`), only sent messages (`{}`): `cancel_scheduled` deletes schedules; sent messages are corrected with `recall` or `override`",
            provider.id_field()
        )),
        Action::CancelScheduled => None,
        _ if messages == 0 && schedules > 0 => Some(format!(
            "the ledger names only schedules (`{field}`), no sent message (`{}`): schedules are deleted with `cancel_scheduled`",
            provider.id_field()
        )),
        _ => None,
    }
}

/// Why a `where` selected nothing: the ledger's send times against the step's window, and
/// tags no record carries with the nearest ones it has.
fn nothing_selected(f: &Filter, scan: &Scan, now: Timestamp) -> Vec<String> {
    let stats = &scan.stats;
    let mut why = Vec::new();
    if scan.records_read == 0 {
        why.push("the ledger holds no records".to_string());
        return why;
    }
    let (lo, hi) = f.time_range(now);
    if lo.is_some() || hi.is_some() {
        let asked = match (lo, hi) {
            (Some(a), Some(b)) => format!("records sent from {a:.0} to {b:.0}"),
            (Some(a), None) => format!("records sent from {a:.0} on"),
            (None, Some(b)) => format!("records sent before {b:.0}"),
            (None, None) => String::new(),
        };
        let relative = match (f.sent_within, f.older_than) {
            (Some(w), _) => format!(" (`sent_within: {}` as of {now:.0})", written(w)),
            (None, Some(o)) => format!(" (`older_than: {}` as of {now:.0})", written(o)),
            _ => String::new(),
        };
        why.push(match (stats.oldest, stats.newest) {
            (Some(o), Some(n)) => format!(
                "the ledger's records were sent from {o:.0} to {n:.0}; the step asks for {asked}{relative}"
            ),
            _ => format!("no ledger record has a send time; the step asks for {asked}{relative}"),
        });
    }
    for tag in f.tags_any.iter().chain(&f.tags_all) {
        if stats.tags.contains_key(tag) {
            continue;
        }
        let nearest = did_you_mean(tag, stats.tags.keys().map(String::as_str));
        why.push(match nearest {
            Some(n) => format!(
                "no record is tagged `{tag}` (nearest: `{n}`, {} records)",
                stats.tags[n]
            ),
            None => {
                let mut common: Vec<(&String, &u64)> = stats.tags.iter().collect();
                common.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let list: Vec<String> = common
                    .iter()
                    .take(5)
                    .map(|(t, n)| format!("`{t}` ({n})"))
                    .collect();
                if list.is_empty() {
                    format!("no record is tagged `{tag}`: the ledger's records carry no tags")
                } else {
                    format!(
                        "no record is tagged `{tag}`; the ledger's most used tags: {}",
                        list.join(", ")
                    )
                }
            }
        });
    }
    if why.is_empty() {
        why.push("no record meets all of its conditions at once".into());
    }
    why
}

/// A duration as a playbook would write it (`2h`, `90m`, `45s`).
fn written(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if d.subsec_millis() != 0 => format!("{}ms", d.as_millis()),
        _ if s.is_multiple_of(86_400) && s > 0 => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3600) && s > 0 => format!("{}h", s / 3600),
        _ if s.is_multiple_of(60) && s > 0 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// Warnings every provider's steps share.
/// Rendered messages by content: targets whose templates render alike share one. Keyed by a
/// hash of the message's JSON (written into the hasher, never held as text), equal messages
/// compared in full.
#[derive(Default)]
struct SharedMessages(HashMap<u64, Vec<Arc<RenderedMessage>>>);

impl SharedMessages {
    fn get(&mut self, m: RenderedMessage) -> Arc<RenderedMessage> {
        use std::hash::Hasher as _;
        struct HashWriter(std::collections::hash_map::DefaultHasher);
        impl std::io::Write for HashWriter {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.write(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut h = HashWriter(Default::default());
        let _ = serde_json::to_writer(&mut h, &m);
        let same = self.0.entry(h.0.finish()).or_default();
        if let Some(found) = same.iter().find(|x| ***x == m) {
            return found.clone();
        }
        let shared = Arc::new(m);
        same.push(shared.clone());
        shared
    }
}

/// "N targets already corrected by run X": skipped, and how to send them anyway.
fn already_done_warning(by_run: &BTreeMap<String, u64>) -> Option<String> {
    let n: u64 = by_run.values().sum();
    if n == 0 {
        return None;
    }
    let runs: Vec<&str> = by_run.keys().map(String::as_str).collect();
    let shown = if runs.len() > 3 {
        format!(
            "{}, … ({} runs)",
            runs[runs.len() - 3..].join(", "),
            runs.len()
        )
    } else {
        runs.join(", ")
    };
    Some(format!(
        "{n} target{} already corrected by an earlier run ({shown}): skipped (`already_done_in`); `--again` sends {} again",
        if n == 1 { "" } else { "s" },
        if n == 1 { "it" } else { "them" },
    ))
}

fn step_warnings(ps: &mut PlanStep, offline: Option<String>, not_in_ledger: u64, now: Timestamp) {
    if let Some(o) = offline {
        ps.warnings.push(o);
    }
    if not_in_ledger > 0 && ps.action != Action::Override {
        ps.warnings.push(format!(
            "{not_in_ledger} of {} targets are not in the ledger: their channels{} were not checked",
            ps.targets.len(),
            if ps.action == Action::CancelScheduled { " and schedules" } else { "" }
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
}
