//! The report from the run's stream: a builder fed one event at a time — live, as a sink of
//! the run, or from journal.jsonl by `pushfix report` (and by `resume`, before the run goes on),
//! through the same code. Given the plan, it also computes the residual exposure and knows
//! each step's policies and each family's pace.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use super::{
    Bucket, CodeGroup, Details, Listed, MAX_LISTED, Outcomes, REPORT_SCHEMA, Report,
    ReportPlaybook, ReportStep, Totals, Verification, VerifyCounts, VerifyListed,
};
use crate::event::{Event, Outcome, Sink, SinkError, VerifyVerdict};
use crate::plan::{Plan, exposure};

/// A journal that does not start the way every run's does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotARun;

impl std::fmt::Display for NotARun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the journal does not start with a run_started record")
    }
}

/// The timeline has at most about this many buckets (one second each, or wider).
const MAX_BUCKETS: i64 = 600;

/// A target's last word.
#[derive(Debug, Clone)]
struct Last {
    outcome: Outcome,
    /// Shared between targets with the same reason (runs repeat a few reasons many times).
    reason: Arc<str>,
    code: Option<i64>,
}

/// What a `run_finished` record adds to a report: a report built before it (for the exit code)
/// and finished with this is the report built after it, without going over every target again.
pub fn finish(
    report: &mut Report,
    details: &mut Details,
    at: Timestamp,
    exit_code: i32,
    stopped: Option<&String>,
) {
    report.finished_at = Some(at);
    report.exit_code = Some(exit_code);
    report.stopped = stopped.cloned();
    details.stopped = stopped.cloned();
}

/// A value per (step, target), in step then target order, looked up without building a key:
/// the report asks once per target of a 1,000,000-target plan.
struct ByStep<V>(BTreeMap<String, BTreeMap<String, V>>);

impl<V> Default for ByStep<V> {
    fn default() -> Self {
        ByStep(BTreeMap::new())
    }
}

impl<V> ByStep<V> {
    fn get(&self, step: &str, target: &str) -> Option<&V> {
        self.0.get(step)?.get(target)
    }

    fn insert(&mut self, step: &str, target: &str, v: V) {
        match self.0.get_mut(step) {
            Some(m) => m.insert(target.to_string(), v),
            None => self
                .0
                .entry(step.to_string())
                .or_default()
                .insert(target.to_string(), v),
        };
    }

    fn remove(&mut self, step: &str, target: &str) {
        if let Some(m) = self.0.get_mut(step) {
            m.remove(target);
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&String, &String, &V)> {
        self.0
            .iter()
            .flat_map(|(s, m)| m.iter().map(move |(t, v)| (s, t, v)))
    }
}

#[derive(Default)]
pub struct ReportBuilder {
    report: Option<Report>,
    details: Details,
    plan: Option<Arc<Plan>>,
    index: BTreeMap<String, usize>,
    /// Per step: when it started and ended.
    windows: Vec<(Option<Timestamp>, Option<Timestamp>)>,
    /// Per step: its first request, and its last request or answer (the dispatch time).
    dispatch: Vec<(Option<Timestamp>, Option<Timestamp>)>,
    /// Per step: its last request.
    last_request: Vec<Option<Timestamp>>,
    /// Targets with a request and no outcome yet.
    open: ByStep<()>,
    /// The last word on each target (a resumed run may have re-sent it).
    finals: ByStep<Last>,
    reasons: HashMap<String, Arc<str>>,
    /// Unix second -> (requests, throttled answers).
    seconds: BTreeMap<i64, (u64, u64)>,
    verify: VerifyState,
}

/// What verification passes recorded.
#[derive(Default)]
struct VerifyState {
    passes: u64,
    requests: u64,
    /// Steps some pass covered.
    steps: std::collections::BTreeSet<String>,
    /// (step, target) -> verdict, reason, evidence (compact JSON).
    verdicts: ByStep<(VerifyVerdict, Arc<str>, String)>,
    last_pass: Option<(Timestamp, Option<String>)>,
}

impl ReportBuilder {
    pub fn new() -> ReportBuilder {
        ReportBuilder::default()
    }

    /// With the run's full plan: step policies, paces, and the residual exposure.
    pub fn with_plan(mut self, plan: Arc<Plan>) -> ReportBuilder {
        self.details.rate_limits = plan
            .limits
            .rates
            .iter()
            .map(|(f, r)| (f.as_str().to_string(), r.per_second))
            .collect();
        self.plan = Some(plan);
        self
    }

    fn reason(&mut self, r: Option<&String>) -> Arc<str> {
        let r = r.map_or("", String::as_str);
        if let Some(a) = self.reasons.get(r) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(r);
        self.reasons.insert(r.to_string(), a.clone());
        a
    }

    pub fn record(&mut self, e: &Event) {
        match e {
            Event::RunStarted {
                at,
                run_id,
                playbook_path,
                playbook_name,
                playbook_sha256,
                git_commit,
                operator,
                sandbox,
                base_url,
                provider,
                app,
                as_of,
                ..
            } => {
                // Only the first: a journal has one.
                if self.report.is_some() {
                    return;
                }
                self.report = Some(Report {
                    schema: REPORT_SCHEMA.into(),
                    run_id: run_id.clone(),
                    playbook: ReportPlaybook {
                        path: playbook_path.clone(),
                        name: playbook_name.clone(),
                        sha256: playbook_sha256.clone(),
                        git_commit: git_commit.clone(),
                    },
                    operator: operator.clone(),
                    started_at: *at,
                    finished_at: None,
                    exit_code: None,
                    sandbox: *sandbox,
                    provider: provider.clone(),
                    stopped: None,
                    steps: Vec::new(),
                    totals: Totals::default(),
                    exposure: None,
                    verification: None,
                });
                self.details.base_url = base_url.clone();
                self.details.provider = provider.clone();
                self.details.app = app.clone();
                self.details.as_of = *as_of;
            }
            Event::StepStarted {
                at,
                step,
                action,
                targets,
            } => {
                let Some(report) = self.report.as_mut() else {
                    return;
                };
                // A resumed run starts its steps again: still one row per step.
                if self.index.contains_key(step) {
                    return;
                }
                let not_corrected_ok = self.plan.as_ref().is_some_and(|p| {
                    p.steps
                        .iter()
                        .any(|s| s.name == *step && !s.on_not_corrected.is_fail())
                });
                self.index.insert(step.clone(), report.steps.len());
                report.steps.push(ReportStep {
                    name: step.clone(),
                    action: action.clone(),
                    targets: *targets,
                    outcomes: Outcomes::default(),
                    requests: 0,
                    retries: 0,
                    throttled: 0,
                    achieved_rate_per_s: 0.0,
                    not_corrected_ok,
                    verification: None,
                });
                self.windows.push((Some(*at), None));
                self.dispatch.push((None, None));
                self.last_request.push(None);
            }
            Event::Resumed { at, operator, .. } => {
                self.details.resumed.push((*at, operator.clone()))
            }
            Event::Intent {
                at,
                step,
                target,
                attempt,
                ..
            } => {
                if let (Some(&i), Some(report)) = (self.index.get(step), self.report.as_mut()) {
                    report.steps[i].requests += 1;
                    self.dispatch[i].0.get_or_insert(*at);
                    self.dispatch[i].1 = self.dispatch[i].1.max(Some(*at));
                    self.last_request[i] = self.last_request[i].max(Some(*at));
                    if *attempt > 1 {
                        report.steps[i].retries += 1;
                    }
                }
                self.seconds.entry(at.as_second()).or_default().0 += 1;
                if !target.is_empty() {
                    self.open.insert(step, target, ());
                }
            }
            Event::Answer {
                at, step, class, ..
            } => {
                if let Some(&i) = self.index.get(step) {
                    self.dispatch[i].1 = self.dispatch[i].1.max(Some(*at));
                    if class == "throttled"
                        && let Some(report) = self.report.as_mut()
                    {
                        report.steps[i].throttled += 1;
                    }
                }
                if class == "throttled" {
                    self.seconds.entry(at.as_second()).or_default().1 += 1;
                }
            }
            Event::Final {
                step,
                target,
                outcome,
                reason,
                code,
                ..
            } => {
                self.open.remove(step, target);
                let reason = self.reason(reason.as_ref());
                self.finals.insert(
                    step,
                    target,
                    Last {
                        outcome: *outcome,
                        reason,
                        code: *code,
                    },
                );
            }
            Event::StepFinished { at, step } => {
                if let Some(&i) = self.index.get(step) {
                    self.windows[i].1 = Some(*at);
                }
            }
            Event::RunFinished {
                at,
                exit_code,
                stopped,
            } => {
                if let Some(r) = self.report.as_mut() {
                    finish(r, &mut self.details, *at, *exit_code, stopped.as_ref());
                }
                self.details.stopped = stopped.clone();
            }
            Event::VerifyStarted { steps, .. } => {
                self.verify.passes += 1;
                self.verify.steps.extend(steps.iter().cloned());
            }
            // Not in the timeline: a pass days after the campaign would squeeze its chart.
            Event::VerifyRequest { .. } => self.verify.requests += 1,
            Event::VerifyAnswer { .. } => {}
            Event::Verified {
                step,
                target,
                verdict,
                reason,
                evidence,
                ..
            } => {
                let reason = self.reason(reason.as_ref());
                let evidence = if *verdict == VerifyVerdict::Verified {
                    String::new()
                } else {
                    serde_json::to_string(evidence).unwrap_or_default()
                };
                self.verify
                    .verdicts
                    .insert(step, target, (*verdict, reason, evidence));
            }
            Event::VerifyFinished { at, stopped, .. } => {
                self.verify.last_pass = Some((*at, stopped.clone()));
            }
        }
    }

    /// The report as of the events recorded so far.
    pub fn report(&self) -> Result<(Report, Details), NotARun> {
        let mut report = self.report.clone().ok_or(NotARun)?;
        let mut details = self.details.clone();
        details.unresolved = self
            .open
            .iter()
            .map(|(step, target, _)| (step.to_string(), target.to_string()))
            .collect();
        let mut codes: BTreeMap<Option<i64>, CodeGroup> = BTreeMap::new();
        for (step, target, last) in self.finals.iter() {
            if let Some(&i) = self.index.get(step) {
                report.steps[i].outcomes.add(last.outcome);
            }
            if last.outcome == Outcome::Done {
                continue;
            }
            let list = details.lists.entry(last.outcome).or_default();
            list.total += 1;
            if list.items.len() < MAX_LISTED {
                list.items.push(Listed {
                    step: step.clone(),
                    target: target.clone(),
                    code: last.code,
                    reason: last.reason.to_string(),
                });
            }
            match last.outcome {
                Outcome::Failed | Outcome::GaveUp | Outcome::NotCorrected => {
                    let g = codes.entry(last.code).or_insert_with(|| CodeGroup {
                        code: last.code,
                        count: 0,
                        message: last.reason.to_string(),
                        examples: Vec::new(),
                    });
                    g.count += 1;
                    if g.examples.len() < 5 {
                        g.examples.push(format!("{step}: {target}"));
                    }
                }
                Outcome::Skipped => {
                    let key = last.reason.split(": ").next().unwrap_or("").to_string();
                    *details
                        .skipped
                        .entry(step.clone())
                        .or_default()
                        .entry(key)
                        .or_default() += 1;
                }
                _ => {}
            }
        }
        let mut codes: Vec<CodeGroup> = codes.into_values().collect();
        codes.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
        details.codes = codes;
        for (((s, (start, end)), (first, last)), last_request) in report
            .steps
            .iter_mut()
            .zip(&self.windows)
            .zip(&self.dispatch)
            .zip(&self.last_request)
        {
            // The pace the requests went out at, comparable with `limits.rate`: N requests
            // over the N-1 intervals from the first to the last. (N over that span would
            // show a run paced exactly at its quota above it.) A step of one request, or of
            // requests sent within one instant, falls back to its requests over its dispatch
            // time: from the first request to the last answer, else the step's own start and end.
            let paced = match (first, last_request) {
                (Some(a), Some(b)) if b > a && s.requests > 1 => {
                    Some((s.requests - 1) as f64 / b.duration_since(*a).as_secs_f64())
                }
                _ => None,
            };
            let span = match (first, last) {
                (Some(a), Some(b)) if b > a => Some(b.duration_since(*a)),
                _ => match (start, end) {
                    (Some(a), Some(b)) if b > a => Some(b.duration_since(*a)),
                    _ => None,
                },
            };
            let rate = match (paced, span) {
                (Some(r), _) => r,
                (None, Some(d)) if s.requests > 0 => s.requests as f64 / d.as_secs_f64(),
                _ => 0.0,
            };
            s.achieved_rate_per_s = (rate * 10.0).round() / 10.0;
        }
        let mut t = Totals::default();
        for s in &report.steps {
            t.targets += s.targets;
            for o in Outcome::ALL {
                *t.outcomes.slot(o) += s.outcomes.get(o);
            }
        }
        report.totals = t;
        if let Some(plan) = &self.plan {
            report.exposure = Some(exposure::compute(plan, |step, target| {
                // A correction the provider says did not take effect corrects nothing.
                if let Some((VerifyVerdict::NotEffective, reason, _)) =
                    self.verify.verdicts.get(step, target)
                {
                    return Some((
                        Outcome::NotCorrected,
                        format!("verification: not effective: {reason}").into(),
                    ));
                }
                self.finals
                    .get(step, target)
                    .map(|l| (l.outcome, Cow::Borrowed(&*l.reason)))
            }));
        }
        self.verification(&mut report, &mut details);
        self.timeline(&report, &mut details);
        Ok((report, details))
    }

    /// The verdicts of the corrections of the steps verification covered.
    fn verification(&self, report: &mut Report, details: &mut Details) {
        let v = &self.verify;
        if v.passes == 0 {
            return;
        }
        let mut total = VerifyCounts::default();
        let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
        let d = &mut details.verification;
        for (step, target, last) in self.finals.iter() {
            if last.outcome != Outcome::Done || !v.steps.contains(step) {
                continue;
            }
            let found = v.verdicts.get(step, target);
            total.add(found.map(|f| f.0));
            if let Some(&i) = self.index.get(step) {
                report.steps[i]
                    .verification
                    .get_or_insert_with(VerifyCounts::default)
                    .add(found.map(|f| f.0));
            }
            let listed = |(verdict, reason, evidence): &(VerifyVerdict, Arc<str>, String)| {
                let _ = verdict;
                VerifyListed {
                    step: step.clone(),
                    target: target.clone(),
                    reason: reason.to_string(),
                    evidence: evidence.clone(),
                }
            };
            match found {
                None if d.unchecked.len() < MAX_LISTED => {
                    d.unchecked.push((step.clone(), target.clone()))
                }
                Some(f)
                    if f.0 == VerifyVerdict::NotEffective && d.not_effective.len() < MAX_LISTED =>
                {
                    d.not_effective.push(listed(f))
                }
                Some(f) if f.0 == VerifyVerdict::Unknown => {
                    let head = f.1.split(':').next().unwrap_or("").trim().to_string();
                    *reasons.entry(head).or_default() += 1;
                    if d.unknown.len() < MAX_LISTED {
                        d.unknown.push(listed(f));
                    }
                }
                _ => {}
            }
        }
        // Steps covered with no correction to check still show their (zero) counts.
        for s in &v.steps {
            if let Some(&i) = self.index.get(s) {
                report.steps[i]
                    .verification
                    .get_or_insert_with(VerifyCounts::default);
            }
        }
        let mut reasons: Vec<(String, u64)> = reasons.into_iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        d.unknown_reasons = reasons;
        d.last_pass = v.last_pass.clone();
        report.verification = Some(Verification {
            counts: total,
            requests: v.requests,
            passes: v.passes,
        });
    }

    /// Requests and throttles over the run, in buckets of a whole number of seconds.
    fn timeline(&self, report: &Report, details: &mut Details) {
        let (Some(first), Some(last)) = (self.seconds.keys().next(), self.seconds.keys().last())
        else {
            return;
        };
        let start = report.started_at.as_second().min(*first);
        let span = last - start + 1;
        let width = (span + MAX_BUCKETS - 1) / MAX_BUCKETS;
        let width = width.max(1);
        let n = (span + width - 1) / width;
        let mut buckets: Vec<Bucket> = (0..n)
            .map(|i| Bucket {
                at: (i * width) as f64,
                requests: 0,
                throttled: 0,
            })
            .collect();
        for (sec, (req, thr)) in &self.seconds {
            let i = ((sec - start) / width) as usize;
            if let Some(b) = buckets.get_mut(i) {
                b.requests += req;
                b.throttled += thr;
            }
        }
        details.timeline = buckets;
        details.bucket_seconds = width as f64;
    }
}

/// Rebuild the report from journal events.
pub fn build(events: &[Event]) -> Result<(Report, Details), NotARun> {
    let mut b = ReportBuilder::new();
    for e in events {
        b.record(e);
    }
    b.report()
}

/// The builder as a sink of a live run.
#[derive(Default)]
pub struct ReportSink(Mutex<ReportBuilder>);

impl ReportSink {
    pub fn new(builder: ReportBuilder) -> ReportSink {
        ReportSink(Mutex::new(builder))
    }

    pub fn report(&self) -> Result<(Report, Details), NotARun> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).report()
    }
}

impl Sink for ReportSink {
    fn event(&self, event: &Event) -> Result<(), SinkError> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(event);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{to_json, to_markdown};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn counts_requests_retries_throttles_and_rate() {
        let ev = vec![
            Event::RunStarted {
                at: t("2026-11-21T00:00:00Z"),
                run_id: "20261121T000000Z-x".into(),
                playbook_path: "p.yaml".into(),
                playbook_name: "x".into(),
                playbook_sha256: "ab".into(),
                git_commit: None,
                operator: "ops@host".into(),
                content_sha256: "cd".into(),
                provider: "jpush".into(),
                base_url: "https://api.jpush.cn".into(),
                app: "k".into(),
                sandbox: false,
                as_of: None,
            },
            Event::StepStarted {
                at: t("2026-11-21T00:00:00Z"),
                step: "s".into(),
                action: "recall".into(),
                targets: 3,
            },
            Event::Intent {
                at: t("2026-11-21T00:00:00Z"),
                step: "s".into(),
                target: "1".into(),
                attempt: 1,
                request: "DELETE /v3/push/1".into(),
                family: "jpush_push".into(),
                cid: None,
                lookup: false,
            },
            Event::Answer {
                at: t("2026-11-21T00:00:00Z"),
                step: "s".into(),
                target: "1".into(),
                attempt: 1,
                status: Some(429),
                class: "throttled".into(),
                code: Some(2002),
                message: None,
                latency_ms: 3,
                new_id: None,
                facts: Default::default(),
            },
            Event::Intent {
                at: t("2026-11-21T00:00:01Z"),
                step: "s".into(),
                target: "1".into(),
                attempt: 2,
                request: "DELETE /v3/push/1".into(),
                family: "jpush_push".into(),
                cid: None,
                lookup: false,
            },
            Event::Final {
                at: t("2026-11-21T00:00:01Z"),
                step: "s".into(),
                target: "1".into(),
                outcome: Outcome::Done,
                reason: None,
                code: None,
                new_id: None,
            },
            Event::Final {
                at: t("2026-11-21T00:00:01Z"),
                step: "s".into(),
                target: "2".into(),
                outcome: Outcome::Skipped,
                reason: Some("unsupported: x".into()),
                code: None,
                new_id: None,
            },
            Event::Intent {
                at: t("2026-11-21T00:00:01Z"),
                step: "s".into(),
                target: "3".into(),
                attempt: 1,
                request: "DELETE /v3/push/3".into(),
                family: "jpush_push".into(),
                cid: None,
                lookup: false,
            },
            Event::StepFinished {
                at: t("2026-11-21T00:00:02Z"),
                step: "s".into(),
            },
        ];
        let (r, d) = build(&ev).unwrap();
        let s = &r.steps[0];
        assert_eq!((s.requests, s.retries, s.throttled), (3, 1, 1));
        assert_eq!(
            s.achieved_rate_per_s, 2.0,
            "3 requests, 2 intervals over 1 s from the first request to the last"
        );
        assert_eq!((r.totals.outcomes.done, r.totals.outcomes.skipped), (1, 1));
        assert_eq!(d.unresolved, vec![("s".to_string(), "3".to_string())]);
        assert!(r.exit_code.is_none());
        let md = to_markdown(&r, &d);
        assert!(md.contains("did not finish") && md.contains("`3`"), "{md}");
        let json = to_json(&r);
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "schema",
                "run_id",
                "playbook",
                "operator",
                "started_at",
                "provider",
                "steps",
                "totals"
            ]
        );
    }

    #[test]
    fn verification_counts_the_done_targets_of_covered_steps() {
        let at = t("2026-11-21T00:00:00Z");
        let fin = |step: &str, target: &str, outcome| Event::Final {
            at,
            step: step.into(),
            target: target.into(),
            outcome,
            reason: None,
            code: None,
            new_id: None,
        };
        let verdict = |target: &str, v| Event::Verified {
            at,
            step: "s".into(),
            target: target.into(),
            verdict: v,
            reason: Some("why: details".into()),
            evidence: [("status".to_string(), serde_json::json!("PUSH_FINISHED"))]
                .into_iter()
                .collect(),
        };
        let mut ev = vec![
            Event::RunStarted {
                at,
                run_id: "r".into(),
                playbook_path: "p.yaml".into(),
                playbook_name: "x".into(),
                playbook_sha256: "ab".into(),
                git_commit: None,
                operator: "ops@host".into(),
                content_sha256: "cd".into(),
                provider: "tpns".into(),
                base_url: "https://api.tpns.tencent.com".into(),
                app: "k".into(),
                sandbox: false,
                as_of: None,
            },
            Event::StepStarted {
                at,
                step: "s".into(),
                action: "stop".into(),
                targets: 4,
            },
            Event::StepStarted {
                at,
                step: "other".into(),
                action: "stop".into(),
                targets: 1,
            },
            fin("s", "1", Outcome::Done),
            fin("s", "2", Outcome::Done),
            fin("s", "3", Outcome::Done),
            fin("s", "4", Outcome::Failed),
            fin("other", "9", Outcome::Done),
        ];
        let (r, _) = build(&ev).unwrap();
        assert!(r.verification.is_none(), "no pass, no verification object");
        ev.extend([
            Event::VerifyStarted {
                at,
                operator: "ops@host".into(),
                steps: vec!["s".into()],
                to_check: 3,
                left: 0,
            },
            Event::VerifyRequest {
                at,
                family: "tpns_statistics".into(),
                request: "POST /v3/statistics/get_push_record".into(),
                targets: 1,
                attempt: 1,
            },
            verdict("1", VerifyVerdict::Verified),
            verdict("2", VerifyVerdict::NotEffective),
        ]);
        let (r, d) = build(&ev).unwrap();
        let v = r.verification.clone().unwrap();
        assert_eq!(
            (
                v.counts.checked,
                v.counts.verified,
                v.counts.not_effective,
                v.counts.unknown,
                v.counts.unchecked
            ),
            (2, 1, 1, 0, 1)
        );
        assert_eq!((v.requests, v.passes), (1, 1));
        assert_eq!(r.steps[0].verification, Some(v.counts));
        assert!(r.steps[1].verification.is_none(), "not covered");
        assert_eq!(d.verification.not_effective[0].target, "2");
        assert!(
            d.verification.not_effective[0]
                .evidence
                .contains("PUSH_FINISHED")
        );
        assert_eq!(
            d.verification.unchecked,
            vec![("s".to_string(), "3".to_string())]
        );
        let md = to_markdown(&r, &d);
        assert!(
            md.contains("### Not effective (1)") && md.contains("### Unchecked (1)"),
            "{md}"
        );
        let json = to_json(&r);
        assert_eq!(json["verification"]["not_effective"], 1);
        assert_eq!(json["steps"][0]["verification"]["unchecked"], 1);
    }
}
