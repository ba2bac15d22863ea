//! The report from the run's stream: a builder fed one event at a time — live, as a sink of
//! the run, or from journal.jsonl by `pushfix report` (and by `resume`, before the run goes on),
//! through the same code.

use std::collections::BTreeMap;
use std::sync::Mutex;

use jiff::Timestamp;

use super::{Details, Outcomes, REPORT_SCHEMA, Report, ReportPlaybook, ReportStep, Totals};
use crate::event::{Event, Outcome, Sink, SinkError};

/// A journal that does not start the way every run's does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotARun;

impl std::fmt::Display for NotARun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the journal does not start with a run_started record")
    }
}

#[derive(Default)]
pub struct ReportBuilder {
    report: Option<Report>,
    details: Details,
    index: BTreeMap<String, usize>,
    /// Per step: when it started and ended.
    windows: Vec<(Option<Timestamp>, Option<Timestamp>)>,
    /// Per step: its first and last dispatch (the achieved rate is measured between them).
    dispatch: Vec<(Option<Timestamp>, Option<Timestamp>)>,
    /// Targets with a request and no outcome yet.
    open: BTreeMap<(String, String), ()>,
    /// The last word on each target (a resumed run may have re-sent it).
    finals: BTreeMap<(String, String), (Outcome, String, Option<i64>)>,
}

impl ReportBuilder {
    pub fn new() -> ReportBuilder {
        ReportBuilder::default()
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
                    steps: Vec::new(),
                    totals: Totals::default(),
                });
                self.details.base_url = base_url.clone();
                self.details.provider = provider.clone();
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
                });
                self.windows.push((Some(*at), None));
                self.dispatch.push((None, None));
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
                    self.dispatch[i].1 = Some(*at);
                    if *attempt > 1 {
                        report.steps[i].retries += 1;
                    }
                }
                if !target.is_empty() {
                    self.open.insert((step.clone(), target.clone()), ());
                }
            }
            Event::Answer { step, class, .. } => {
                if class == "throttled"
                    && let (Some(&i), Some(report)) = (self.index.get(step), self.report.as_mut())
                {
                    report.steps[i].throttled += 1;
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
                let key = (step.clone(), target.clone());
                self.open.remove(&key);
                self.finals
                    .insert(key, (*outcome, reason.clone().unwrap_or_default(), *code));
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
                    r.finished_at = Some(*at);
                    r.exit_code = Some(*exit_code);
                }
                self.details.stopped = stopped.clone();
            }
        }
    }

    /// The report as of the events recorded so far.
    pub fn report(&self) -> Result<(Report, Details), NotARun> {
        let mut report = self.report.clone().ok_or(NotARun)?;
        let mut details = self.details.clone();
        details.unresolved = self.open.keys().cloned().collect();
        for ((step, target), (outcome, why, code)) in &self.finals {
            if let Some(&i) = self.index.get(step) {
                report.steps[i].outcomes.add(*outcome);
            }
            match outcome {
                Outcome::Failed | Outcome::GaveUp => details.failures.push((
                    step.clone(),
                    target.clone(),
                    *outcome,
                    *code,
                    why.clone(),
                )),
                Outcome::Skipped => {
                    let key = why.split(": ").next().unwrap_or("").to_string();
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
        for ((s, (start, end)), (first, last)) in report
            .steps
            .iter_mut()
            .zip(&self.windows)
            .zip(&self.dispatch)
        {
            // N requests span N-1 intervals between the first and the last dispatch (as vegeta
            // reports rate); a single request has no rate beyond the step's duration.
            let rate = match (first, last) {
                (Some(a), Some(b)) if s.requests > 1 && b > a => {
                    (s.requests - 1) as f64 / b.duration_since(*a).as_secs_f64()
                }
                _ => match (start, end) {
                    (Some(a), Some(b)) if b > a && s.requests > 0 => {
                        s.requests as f64 / b.duration_since(*a).as_secs_f64()
                    }
                    _ => 0.0,
                },
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
        Ok((report, details))
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
            "3 dispatches over 1 s between the first and the last"
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
                "steps",
                "totals"
            ]
        );
    }
}
