//! The executor: steps in order; within a step, targets run concurrently under the family's
//! pacer, the failure budget and the stop signal; every request journaled before it leaves.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::FutureExt as _;
use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::Mutex as AsyncMutex;
use tokio::time::Instant;

use super::failure_budget::Budget;
use super::pacer::Pacer;
use super::progress::Progress;
use super::stop::Stop;
use crate::domain::FailureBudget;
use crate::domain::{Action, ProviderKind};
use crate::event::{Event, Outcome};
use crate::journal::Journal;
use crate::matrix::Verdict;
use crate::plan::{Disposition, Plan, PlanStep, PlanTarget};
use crate::playbook::{TpnsEnvironment, UnsupportedPolicy};
use crate::provider::answer::{Answer, Call, Class, Done, classify_jpush, classify_tpns};
use crate::provider::http::{Transport, TransportError};
use crate::provider::{Family, RequestSpec, jpush, tpns};

/// Throttled answers tolerated per request before giving up on it.
const MAX_THROTTLES: u32 = 20;

/// Longest pause a throttling answer can impose (a wild `Retry-After` must not freeze a run).
const MAX_PAUSE: Duration = Duration::from_secs(15 * 60);

/// Pause after a throttling answer that names no reset: doubles per repeat, up to a minute.
fn default_throttle_pause(throttles: u32) -> Duration {
    Duration::from_secs(1u64 << throttles.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

#[derive(Debug, Clone, Copy)]
pub struct RetrySettings {
    /// Attempts per request, the first included.
    pub attempts: u32,
    pub initial: Duration,
    pub max: Duration,
}

impl RetrySettings {
    /// Capped exponential backoff with full jitter: uniform in [0, min(max, initial·2^(n-1))].
    pub fn backoff(&self, failed_attempts: u32) -> Duration {
        let exp = self
            .initial
            .saturating_mul(1u32 << failed_attempts.saturating_sub(1).min(20));
        let cap = exp.min(self.max);
        let nanos = cap.as_nanos().min(u64::MAX as u128) as u64;
        Duration::from_nanos(if nanos == 0 {
            0
        } else {
            rand::random_range(0..=nanos)
        })
    }
}

/// What a resumed run knows from the journal of the interrupted one.
#[derive(Debug, Default, Clone)]
pub struct Hints {
    /// (step, target) -> the cid journaled before the interruption: reused, so JPush
    /// de-duplicates a push that did go out.
    pub cids: HashMap<(String, String), String>,
    /// (step, target) of TPNS `force_collapse` overrides in flight at the interruption: look
    /// first whether the original was already collapsed, rather than push a second time.
    pub recheck: std::collections::HashSet<(String, String)>,
}

pub struct ExecConfig {
    pub concurrency: usize,
    pub retry: RetrySettings,
    pub max_failures: Option<FailureBudget>,
}

/// The result of executing a plan.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Outcome counts over all steps.
    pub outcomes: HashMap<Outcome, u64>,
    /// Why dispatch stopped early, if it did.
    pub stopped: Option<String>,
    pub journal_error: Option<String>,
}

impl RunResult {
    /// DESIGN §1: 3 when stopped early, 1 when targets failed or gave up, else 0.
    pub fn exit_code(&self) -> i32 {
        exit_code(
            self.stopped.is_some()
                || self.journal_error.is_some()
                || self.count(Outcome::NotAttempted) > 0,
            self.count(Outcome::Failed) + self.count(Outcome::GaveUp),
        )
    }

    pub fn count(&self, o: Outcome) -> u64 {
        self.outcomes.get(&o).copied().unwrap_or(0)
    }
}

/// DESIGN §1: 3 when the run did not finish (stopped, or targets left without an outcome),
/// 1 when targets failed or gave up, else 0.
pub fn exit_code(unfinished: bool, failures: u64) -> i32 {
    if unfinished {
        crate::exit::ABORTED
    } else if failures > 0 {
        crate::exit::FAILURES
    } else {
        crate::exit::OK
    }
}

pub struct Executor<T: Transport> {
    transport: Arc<T>,
    plan: Arc<Plan>,
    journal: Arc<Journal>,
    pacers: HashMap<Family, Arc<Pacer>>,
    stop: Arc<Stop>,
    budget: Arc<Budget>,
    progress: Arc<Progress>,
    cfg: Arc<ExecConfig>,
    cids: Arc<CidPool>,
    hints: Arc<Hints>,
}

impl<T: Transport> Clone for Executor<T> {
    fn clone(&self) -> Self {
        Executor {
            transport: self.transport.clone(),
            plan: self.plan.clone(),
            journal: self.journal.clone(),
            pacers: self.pacers.clone(),
            stop: self.stop.clone(),
            budget: self.budget.clone(),
            progress: self.progress.clone(),
            cfg: self.cfg.clone(),
            cids: self.cids.clone(),
            hints: self.hints.clone(),
        }
    }
}

/// What one call (a request and its retries) came to.
#[derive(Debug)]
enum CallEnd {
    Answered(Class),
    GaveUp(String),
    /// Stopped before a retry (or before the first request when `sent` is false).
    Interrupted {
        sent: bool,
    },
}

/// A target's final record.
struct Final {
    outcome: Outcome,
    reason: Option<String>,
    code: Option<i64>,
    new_id: Option<String>,
}

impl Final {
    fn new(outcome: Outcome, reason: impl Into<Option<String>>) -> Final {
        Final {
            outcome,
            reason: reason.into(),
            code: None,
            new_id: None,
        }
    }
}

impl<T: Transport> Executor<T> {
    pub fn new(
        transport: T,
        plan: Plan,
        journal: Arc<Journal>,
        stop: Arc<Stop>,
        progress: Arc<Progress>,
        cfg: ExecConfig,
    ) -> Self {
        let pacers = plan
            .limits
            .rates
            .iter()
            .map(|(f, r)| (*f, Arc::new(Pacer::new(r.parsed()))))
            .collect();
        let to_send: u64 = plan.steps.iter().map(|s| s.dispositions.send).sum();
        let budget = Arc::new(Budget::new(cfg.max_failures.map(|b| b.allowed(to_send))));
        Executor {
            transport: Arc::new(transport),
            plan: Arc::new(plan),
            journal,
            pacers,
            stop,
            budget,
            progress,
            cfg: Arc::new(cfg),
            cids: Arc::new(CidPool::default()),
            hints: Arc::new(Hints::default()),
        }
    }

    pub fn with_hints(mut self, hints: Hints) -> Self {
        self.hints = Arc::new(hints);
        self
    }

    fn pacer(&self, family: Family) -> Arc<Pacer> {
        self.pacers
            .get(&family)
            .cloned()
            .unwrap_or_else(|| Arc::new(Pacer::new(crate::plan::provider_quota(family))))
    }

    /// Run every step. Journals everything; returns the outcome counts.
    pub async fn run(&self) -> RunResult {
        let mut result = RunResult::default();
        if self.budget.exceeded() && self.plan.totals.send > 0 {
            self.stop.trigger(
                "limits.max_failures allows no failure among these targets, so nothing can be sent without risking one",
            );
        }
        for (index, step) in self.plan.steps.iter().enumerate() {
            let outcomes = self.run_step(index, step).await;
            for (o, n) in outcomes {
                *result.outcomes.entry(o).or_default() += n;
            }
            self.journal.sync();
        }
        result.stopped = self.stop.reason();
        result.journal_error = self.journal.error();
        result
    }

    async fn run_step(&self, index: usize, step: &PlanStep) -> HashMap<Outcome, u64> {
        let mut counts: HashMap<Outcome, u64> = HashMap::new();
        let _ = self.journal.append(&Event::StepStarted {
            at: Timestamp::now(),
            step: step.name.clone(),
            action: step.action.to_string(),
            targets: step.targets.len() as u64,
        });
        // Targets the plan already decided are recorded without a request.
        for t in &step.targets {
            let (outcome, reason) = match t.disposition {
                Disposition::Send => continue,
                Disposition::Skip => (Outcome::Skipped, planned_reason(t)),
                Disposition::Fail => (
                    Outcome::Failed,
                    format!(
                        "not sent (`unsupported: {}`): {}",
                        step.unsupported.as_str(),
                        planned_reason(t)
                    ),
                ),
            };
            self.finish(step, t, Final::new(outcome, Some(reason)));
            *counts.entry(outcome).or_default() += 1;
        }
        let queue: VecDeque<usize> = step
            .targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.disposition == Disposition::Send)
            .map(|(i, _)| i)
            .collect();
        self.progress
            .step_started(&step.name, step.action.as_str(), queue.len() as u64);
        self.cids.reset(queue.len() as u64);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        let workers = self
            .cfg
            .concurrency
            .clamp(1, 256)
            .min(queue.lock().map_or(1, |q| q.len()).max(1));
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (me, q) = (self.clone(), queue.clone());
            handles.push(tokio::spawn(async move { me.worker(index, q).await }));
        }
        for h in handles {
            if let Ok(c) = h.await {
                for (o, n) in c {
                    *counts.entry(o).or_default() += n;
                }
            }
        }
        // Whatever is left was never dispatched.
        let left: Vec<usize> = queue
            .lock()
            .map(|mut q| q.drain(..).collect())
            .unwrap_or_default();
        let why = self.stop.reason().unwrap_or_else(|| "stopped".into());
        for i in left {
            self.finish(
                step,
                &step.targets[i],
                Final::new(
                    Outcome::NotAttempted,
                    Some(format!("not dispatched: {why}")),
                ),
            );
            *counts.entry(Outcome::NotAttempted).or_default() += 1;
        }
        self.progress.step_finished();
        let _ = self.journal.append(&Event::StepFinished {
            at: Timestamp::now(),
            step: step.name.clone(),
        });
        counts
    }

    async fn worker(
        &self,
        step_index: usize,
        queue: Arc<std::sync::Mutex<VecDeque<usize>>>,
    ) -> HashMap<Outcome, u64> {
        let step = &self.plan.steps[step_index];
        let mut counts: HashMap<Outcome, u64> = HashMap::new();
        loop {
            if self.stop.is_set() {
                break;
            }
            let reserved = tokio::select! {
                ok = self.budget.reserve() => ok,
                _ = self.stop.wait() => false,
            };
            if !reserved {
                break;
            }
            let Some(i) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
                self.budget.unreserve();
                break;
            };
            let target = &step.targets[i];
            self.progress.in_flight(1);
            // A bug must not lose a target: a panic becomes its outcome, and the run stops.
            let fin = match std::panic::AssertUnwindSafe(self.process(step, target))
                .catch_unwind()
                .await
            {
                Ok(f) => f,
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    self.stop.trigger(format!("internal error: {what}"));
                    Final::new(
                        Outcome::GaveUp,
                        Some(format!("internal error (a bug in pushfix): {what}")),
                    )
                }
            };
            self.progress.in_flight(-1);
            let outcome = fin.outcome;
            // An interrupted target that never sent anything is not a failure.
            let failed = outcome.is_failure();
            self.finish(step, target, fin);
            *counts.entry(outcome).or_default() += 1;
            let work_left = queue.lock().is_ok_and(|q| !q.is_empty())
                || self.plan.steps[step_index + 1..]
                    .iter()
                    .any(|s| s.dispositions.send > 0);
            if self.budget.release(failed) && work_left {
                let allowed = self.budget.allowed().unwrap_or(0);
                self.stop.trigger(format!(
                    "failure budget used up: {} failures, limits.max_failures allows {allowed}; the rest was not dispatched",
                    self.budget.failures()
                ));
                self.progress.note(&format!(
                    "stopping: {allowed} failures reached (limits.max_failures)"
                ));
            }
            if let Some(e) = self.journal.error() {
                self.stop
                    .trigger(format!("the journal cannot be written: {e}"));
            }
        }
        counts
    }

    fn finish(&self, step: &PlanStep, t: &PlanTarget, f: Final) {
        let _ = self.journal.append(&Event::Final {
            at: Timestamp::now(),
            step: step.name.clone(),
            target: t.id.clone(),
            outcome: f.outcome,
            reason: f.reason,
            code: f.code,
            new_id: f.new_id,
        });
        if t.disposition == Disposition::Send {
            self.progress.target_finished(f.outcome);
        }
    }

    /// One target: its request(s), retries and outcome.
    async fn process(&self, step: &PlanStep, t: &PlanTarget) -> Final {
        let kind = self.plan.provider.kind;
        match (kind, step.action) {
            (ProviderKind::Jpush, Action::Override) => self.jpush_override(step, t).await,
            (ProviderKind::Jpush, _) => {
                let Ok(id) = t.id.parse::<u64>() else {
                    return Final::new(
                        Outcome::Failed,
                        Some(format!("`{}` is not a JPush msg_id", t.id)),
                    );
                };
                let end = self
                    .call(
                        step,
                        &t.id,
                        &jpush::recall(id),
                        Call::JpushRecall,
                        None,
                        true,
                        false,
                    )
                    .await;
                end_to_final(end, false)
            }
            (ProviderKind::Tpns, Action::Override) => self.tpns_override(step, t).await,
            (ProviderKind::Tpns, action) => {
                let end = self
                    .call(
                        step,
                        &t.id,
                        &tpns::task_op(action, &t.id),
                        Call::TpnsTask,
                        None,
                        true,
                        false,
                    )
                    .await;
                end_to_final(end, false)
            }
        }
    }

    async fn jpush_override(&self, step: &PlanStep, t: &PlanTarget) -> Final {
        let (Some(o), Some(m), Ok(id)) = (&t.original, &t.message, t.id.parse::<u64>()) else {
            return Final::new(
                Outcome::Failed,
                Some("the plan has no ledger facts or message for this override".to_string()),
            );
        };
        // The cid is taken before the first attempt and reused by every retry: a repeated cid
        // returns the first result and pushes nothing (reference/jpush.md §1).
        let known = self
            .hints
            .cids
            .get(&(step.name.clone(), t.id.clone()))
            .cloned();
        let cid = match known {
            Some(c) => c,
            None => match self.cids.take(self, step).await {
                Ok(c) => c,
                Err(fin) => return fin,
            },
        };
        let audience = o.audience.clone().unwrap_or(Value::Null);
        let spec = jpush::override_push(
            &jpush::OverrideInput {
                msg_id: id,
                platforms: o.push_targets(),
                audience: &audience,
                message: m,
                apns_production: self.plan.provider.apns_production.unwrap_or(true),
            },
            Value::String(cid.clone()),
        );
        let end = self
            .call(step, &t.id, &spec, Call::JpushPush, Some(&cid), true, false)
            .await;
        end_to_final(end, true)
    }

    async fn tpns_override(&self, step: &PlanStep, t: &PlanTarget) -> Final {
        let (Some(o), Some(m)) = (&t.original, &t.message) else {
            return Final::new(
                Outcome::Failed,
                Some("the plan has no ledger facts or message for this override".to_string()),
            );
        };
        let mut sent = false;
        let mut looked_up = None;
        let force = step.unsupported == UnsupportedPolicy::Force;
        if force
            && self
                .hints
                .recheck
                .contains(&(step.name.clone(), t.id.clone()))
        {
            // Interrupted mid-push: if the original is already collapsed, that push went out.
            match self
                .call(
                    step,
                    &t.id,
                    &tpns::get_push_record(&t.id),
                    Call::TpnsRecord,
                    None,
                    true,
                    false,
                )
                .await
            {
                CallEnd::Answered(Class::Done(d))
                    if d.status.as_deref() == Some("PUSH_COLLAPSED") =>
                {
                    return Final::new(
                        Outcome::Done,
                        Some(
                            "re-checked after the interruption: the original is already collapsed (by this run's \
                             interrupted push, or an earlier override); not pushed again, which would show twice"
                                .to_string(),
                        ),
                    );
                }
                CallEnd::Answered(Class::Done(d)) => {
                    sent = true;
                    looked_up = d.collapse_id;
                }
                other => {
                    let mut f = end_to_final(other, false);
                    f.reason = f
                        .reason
                        .map(|r| format!("re-checking the interrupted override: {r}"));
                    return f;
                }
            }
        }
        let collapse = match o.collapse_id.or(looked_up) {
            Some(c) => c,
            None => match self
                .call(
                    step,
                    &t.id,
                    &tpns::get_push_record(&t.id),
                    Call::TpnsRecord,
                    None,
                    true,
                    false,
                )
                .await
            {
                CallEnd::Answered(Class::Done(Done {
                    collapse_id: Some(c),
                    ..
                })) => {
                    sent = true;
                    c
                }
                other => {
                    let mut f = end_to_final(other, false);
                    if f.outcome == Outcome::Done {
                        f = Final::new(
                            Outcome::Failed,
                            Some("get_push_record returned no collapseID".into()),
                        );
                    }
                    f.reason = f.reason.map(|r| format!("looking up the collapse id: {r}"));
                    return f;
                }
            },
        };
        let spec = tpns::override_push(
            &tpns::OverrideInput {
                audience_type: o.audience_type.as_deref().unwrap_or("all"),
                audience: o.audience.as_ref(),
                message: m,
                environment: self
                    .plan
                    .provider
                    .environment
                    .unwrap_or(TpnsEnvironment::Product),
                force_collapse: force,
            },
            Value::from(collapse),
        );
        // With the same collapse_id a repeated push replaces the first one; with
        // force_collapse it would show twice on OPPO/vivo, so a lost answer is not retried.
        let end = self
            .call(step, &t.id, &spec, Call::TpnsPush, None, !force, sent)
            .await;
        end_to_final(end, true)
    }

    /// Send one request with pacing, throttle pauses and retries. `retry_lost` says whether a
    /// request whose answer was lost may be sent again (it must be idempotent).
    #[allow(clippy::too_many_arguments)]
    async fn call(
        &self,
        step: &PlanStep,
        target: &str,
        spec: &RequestSpec,
        kind: Call,
        cid: Option<&str>,
        retry_lost: bool,
        already_sent: bool,
    ) -> CallEnd {
        let pacer = self.pacer(spec.family);
        let retry = self.cfg.retry;
        let mut failed_attempts = 0u32;
        let mut throttles = 0u32;
        // Attempts of this request (journaled); whether anything for this target left at all.
        let mut attempt = 0u32;
        let mut sent = already_sent;
        // An answer lost earlier in this call may have been acted on: a later "gone" (or TPNS
        // "Push repeat") can be the echo of our own success, and the outcome says so.
        let mut lost_before = false;
        loop {
            let got_slot = tokio::select! {
                _ = pacer.acquire() => true,
                _ = self.stop.wait() => false,
            };
            if !got_slot {
                return CallEnd::Interrupted { sent };
            }
            attempt += 1;
            // Intent before the request: if it cannot be written, the request is not sent.
            let intent = Event::Intent {
                at: Timestamp::now(),
                step: step.name.clone(),
                target: target.to_string(),
                attempt,
                request: format!(
                    "{} {}",
                    spec.method,
                    spec.path.split('?').next().unwrap_or("")
                ),
                family: spec.family.as_str().to_string(),
                cid: cid.map(String::from),
            };
            if let Err(e) = self.journal.append(&intent) {
                self.stop
                    .trigger(format!("the journal cannot be written: {e}"));
                return CallEnd::Interrupted { sent };
            }
            sent = true;
            self.progress.request_sent();
            let started = Instant::now();
            let result = self.transport.send(spec).await;
            let latency_ms = started.elapsed().as_millis() as u64;
            let class = match &result {
                Ok(a) => self.classify(kind, a, &pacer),
                Err(e) => Class::Transient {
                    code: None,
                    message: e.message().to_string(),
                },
            };
            // An answer of 502-504 comes from a gateway: the provider may have acted on it.
            let ambiguous = match &result {
                Err(TransportError::Lost(_)) => true,
                Ok(a) => (502..=504).contains(&a.status),
                Err(TransportError::NotSent(_)) => false,
            };
            let (new_id, collapse_id) = match &class {
                Class::Done(d) => (d.new_id.clone(), d.collapse_id),
                _ => (None, None),
            };
            let _ = self.journal.append(&Event::Answer {
                at: Timestamp::now(),
                step: step.name.clone(),
                target: target.to_string(),
                attempt,
                status: result.as_ref().ok().map(|a| a.status),
                class: class.name().to_string(),
                code: class.code(),
                message: class.message().map(String::from),
                latency_ms,
                new_id,
                collapse_id,
            });
            match class {
                Class::Throttled { pause, .. } => {
                    throttles += 1;
                    let wait = pause
                        .unwrap_or_else(|| default_throttle_pause(throttles))
                        .min(MAX_PAUSE);
                    pacer.pause_until(
                        Instant::now()
                            .checked_add(wait)
                            .unwrap_or_else(Instant::now),
                    );
                    self.progress.note(&format!(
                        "throttled by the provider: pausing the {} family for {}",
                        spec.family.as_str(),
                        crate::domain::format_duration(wait)
                    ));
                    if throttles > MAX_THROTTLES {
                        return CallEnd::GaveUp(format!("throttled {throttles} times in a row"));
                    }
                }
                Class::Transient { message, .. } => {
                    lost_before |= ambiguous;
                    if ambiguous && !retry_lost {
                        return CallEnd::GaveUp(format!(
                            "{message}; not retried: the push may have gone out, and with force_collapse a second one would show twice"
                        ));
                    }
                    failed_attempts += 1;
                    if failed_attempts >= retry.attempts {
                        return CallEnd::GaveUp(format!("{message} ({failed_attempts} attempts)"));
                    }
                    let wait = retry.backoff(failed_attempts);
                    let slept = tokio::select! {
                        _ = tokio::time::sleep(wait) => true,
                        _ = self.stop.wait() => false,
                    };
                    if !slept {
                        return CallEnd::Interrupted { sent: true };
                    }
                }
                Class::Gone { code, message } if lost_before => {
                    return CallEnd::Answered(Class::Gone {
                        code,
                        message: format!(
                            "{message} (an earlier attempt's answer was lost; that attempt may have done it)"
                        ),
                    });
                }
                Class::Failed {
                    code: Some(crate::provider::answer::TPNS_PUSH_REPEAT),
                    message,
                } if lost_before => {
                    // TPNS refused a repeat of a push whose first answer we lost: it went out.
                    let _ = message;
                    return CallEnd::Answered(Class::Done(Done::default()));
                }
                other => return CallEnd::Answered(other),
            }
        }
    }

    /// Classify and apply rate-limit headers (`X-Rate-Limit-Remaining: 0` pauses the family).
    fn classify(&self, kind: Call, a: &Answer, pacer: &Pacer) -> Class {
        let class = match self.plan.provider.kind {
            ProviderKind::Jpush => classify_jpush(kind, a),
            ProviderKind::Tpns => classify_tpns(kind, a),
        };
        if a.rate.exhausted()
            && !matches!(class, Class::Throttled { .. })
            && let Some(p) = a.rate.pause()
        {
            pacer.pause_until(
                Instant::now()
                    .checked_add(p.min(MAX_PAUSE))
                    .unwrap_or_else(Instant::now),
            );
        }
        class
    }
}

fn planned_reason(t: &PlanTarget) -> String {
    let verdict = match t.verdict {
        Verdict::WillRun => "will_run",
        Verdict::Partial => "partial",
        Verdict::Unsupported => "unsupported",
        Verdict::Expired => "expired",
    };
    match &t.reason {
        Some(r) => format!("{verdict}: {r}"),
        None => verdict.to_string(),
    }
}

fn end_to_final(end: CallEnd, push: bool) -> Final {
    match end {
        CallEnd::Answered(Class::Done(d)) => Final {
            outcome: Outcome::Done,
            reason: None,
            code: None,
            new_id: d.new_id,
        },
        CallEnd::Answered(Class::Gone { code, message }) => Final {
            outcome: Outcome::Gone,
            reason: Some(if push && code == Some(1003) {
                format!(
                    "{message} (the original no longer exists or is past the 1-day window; nothing was sent)"
                )
            } else {
                message
            }),
            code,
            new_id: None,
        },
        CallEnd::Answered(Class::Failed { code, message }) => Final {
            outcome: Outcome::Failed,
            reason: Some(message),
            code,
            new_id: None,
        },
        // Throttled and transient answers never end a call; keep the compiler honest anyway.
        CallEnd::Answered(other) => Final::new(
            Outcome::GaveUp,
            Some(format!("unexpected {} answer", other.name())),
        ),
        CallEnd::GaveUp(why) => Final::new(Outcome::GaveUp, Some(why)),
        CallEnd::Interrupted { sent: false } => Final::new(
            Outcome::NotAttempted,
            Some("stopped before the first request".to_string()),
        ),
        CallEnd::Interrupted { sent: true } => Final::new(
            Outcome::GaveUp,
            Some("stopped before a retry (interrupted)".to_string()),
        ),
    }
}

/// JPush idempotency keys, fetched in batches of up to 1000 from `GET /v3/push/cid`.
#[derive(Default)]
struct CidPool {
    cids: std::sync::Mutex<VecDeque<String>>,
    fetching: AsyncMutex<()>,
    /// Override targets of the current step not yet given a cid.
    remaining: AtomicU64,
}

impl CidPool {
    fn reset(&self, targets: u64) {
        self.remaining.store(targets, Ordering::SeqCst);
    }

    fn pop(&self) -> Option<String> {
        let c = self.cids.lock().ok()?.pop_front();
        if c.is_some() {
            let _ = self
                .remaining
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |r| {
                    Some(r.saturating_sub(1))
                });
        }
        c
    }

    async fn take<T: Transport>(
        &self,
        exec: &Executor<T>,
        step: &PlanStep,
    ) -> Result<String, Final> {
        loop {
            if let Some(c) = self.pop() {
                return Ok(c);
            }
            let _guard = self.fetching.lock().await;
            if let Some(c) = self.pop() {
                return Ok(c);
            }
            let count = self.remaining.load(Ordering::SeqCst).clamp(1, 1000) as usize;
            match exec
                .call(
                    step,
                    "",
                    &jpush::cid_pool(count),
                    Call::JpushCid,
                    None,
                    true,
                    false,
                )
                .await
            {
                CallEnd::Answered(Class::Done(d)) => {
                    if let Ok(mut q) = self.cids.lock() {
                        q.extend(d.cids);
                    }
                }
                other => {
                    let mut f = end_to_final(other, false);
                    if f.outcome == Outcome::Gone {
                        f.outcome = Outcome::Failed;
                    }
                    if f.outcome != Outcome::NotAttempted {
                        f.reason = f.reason.map(|r| format!("could not take a cid: {r}"));
                    }
                    return Err(f);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;
    use crate::exec::progress::Mode;
    use crate::plan::{
        DispositionCounts, PlanLimits, PlanPlaybook, PlanProvider, PlanRate, PlanRetry, Totals,
        VerdictCounts,
    };
    use crate::provider::answer::RateHeaders;

    type Script = Box<dyn Fn(usize, &RequestSpec) -> Result<Answer, TransportError> + Send + Sync>;

    /// Answers from a script, recording when each request arrived (tokio's clock).
    struct Scripted {
        script: Script,
        seen: Mutex<Vec<(Instant, String)>>,
    }

    impl Transport for Scripted {
        async fn send(&self, spec: &RequestSpec) -> Result<Answer, TransportError> {
            let n = {
                let mut seen = self.seen.lock().unwrap();
                seen.push((Instant::now(), spec.path.clone()));
                seen.len() - 1
            };
            tokio::time::sleep(Duration::from_millis(20)).await;
            (self.script)(n, spec)
        }
    }

    /// JPush's throttling answer (429 + 2002) with these rate-limit headers.
    fn throttled(rate: RateHeaders) -> Result<Answer, TransportError> {
        Ok(Answer {
            status: 429,
            rate,
            body: br#"{"error":{"code":2002,"message":"Rate limit exceeded"}}"#.to_vec(),
        })
    }

    fn ok() -> Result<Answer, TransportError> {
        Ok(Answer {
            status: 200,
            rate: RateHeaders::default(),
            body: Vec::new(),
        })
    }

    fn recall_plan(n: usize, rate: &str, concurrency: u32) -> Plan {
        let targets = (1..=n)
            .map(|i| PlanTarget {
                id: i.to_string(),
                verdict: Verdict::WillRun,
                reason: None,
                not_reached: Vec::new(),
                disposition: Disposition::Send,
                in_ledger: false,
                notes: Vec::new(),
                receivers: None,
                original: None,
                message: None,
            })
            .collect::<Vec<_>>();
        let r = crate::domain::Rate::parse(rate).unwrap();
        let mut rates = BTreeMap::new();
        rates.insert(
            Family::JpushPush,
            PlanRate {
                rate: rate.into(),
                per_second: r.per_sec(),
                source: "playbook".into(),
            },
        );
        Plan {
            schema: crate::plan::PLAN_SCHEMA.into(),
            pushfix_version: "test".into(),
            as_of: "2026-11-21T00:00:00Z".parse().unwrap(),
            playbook: PlanPlaybook {
                path: "p.yaml".into(),
                name: "p".into(),
                description: None,
                sha256: String::new(),
            },
            content_sha256: String::new(),
            inputs: Vec::new(),
            provider: PlanProvider {
                kind: ProviderKind::Jpush,
                base_url: "http://127.0.0.1:1".into(),
                base_url_source: "test".into(),
                id_env: "K".into(),
                secret_env: "S".into(),
                apns_production: Some(true),
                auth: None,
                environment: None,
            },
            limits: PlanLimits {
                concurrency,
                max_targets: None,
                max_failures: None,
                timeout_ms: 1000,
                rates,
            },
            retry: PlanRetry {
                attempts: 3,
                initial_ms: 100,
                max_ms: 1000,
            },
            ledger: None,
            steps: vec![PlanStep {
                name: "pull".into(),
                action: Action::Recall,
                unsupported: UnsupportedPolicy::Skip,
                api: "DELETE".into(),
                counts: VerdictCounts::default(),
                dispositions: DispositionCounts {
                    send: n as u64,
                    skip: 0,
                    fail: 0,
                },
                channels_not_reached: BTreeMap::new(),
                receivers: None,
                estimated_requests: n as u64,
                estimated_seconds: 0.0,
                warnings: Vec::new(),
                targets,
            }],
            totals: Totals {
                targets: n as u64,
                send: n as u64,
                skip: 0,
                fail: 0,
            },
            warnings: Vec::new(),
        }
    }

    fn executor(plan: Plan, t: Scripted, stop: Arc<Stop>) -> (Executor<Scripted>, Arc<Journal>) {
        let dir = std::env::temp_dir().join(format!(
            "pushfix-exec-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let journal = Arc::new(Journal::create(&dir.join("journal.jsonl"), Vec::new()).unwrap());
        let cfg = ExecConfig {
            concurrency: plan.limits.concurrency as usize,
            retry: RetrySettings {
                attempts: 3,
                initial: Duration::from_millis(100),
                max: Duration::from_secs(1),
            },
            max_failures: None,
        };
        let e = Executor::new(
            t,
            plan,
            journal.clone(),
            stop,
            Arc::new(Progress::new(Mode::Quiet)),
            cfg,
        );
        (e, journal)
    }

    /// A 429 with `X-Rate-Limit-Reset: 30` holds every worker of the family for 30 s.
    #[tokio::test(start_paused = true)]
    async fn a_throttle_with_a_reset_pauses_all_workers() {
        let t = Scripted {
            script: Box::new(|n, _| {
                if n == 3 {
                    return throttled(RateHeaders {
                        limit: Some(600),
                        remaining: Some(0),
                        reset: Some(30),
                        retry_after: None,
                    });
                }
                ok()
            }),
            seen: Mutex::new(Vec::new()),
        };
        let (e, _) = executor(recall_plan(12, "100/s", 6), t, Arc::new(Stop::default()));
        let start = Instant::now();
        let r = e.run().await;
        assert_eq!(r.count(Outcome::Done), 12);
        let seen = e.transport.seen.lock().unwrap().clone();
        let throttled_at = seen[3].0;
        let later: Vec<Duration> = seen[4..]
            .iter()
            .map(|(t, _)| t.duration_since(start))
            .collect();
        // Requests already on the wire when the 429 came back may land; nothing new leaves
        // until the reset.
        let gap = seen[4..]
            .iter()
            .filter(|(t, _)| *t > throttled_at + Duration::from_millis(30))
            .map(|(t, _)| t.duration_since(throttled_at))
            .collect::<Vec<_>>();
        assert!(!gap.is_empty());
        assert!(
            gap.iter().all(|g| *g >= Duration::from_secs(30)),
            "{later:?}"
        );
        assert_eq!(seen.len(), 13, "one retry for the throttled target");
    }

    /// A wild `X-Rate-Limit-Reset` (u64::MAX seconds) is capped, never overflows the clock.
    #[tokio::test(start_paused = true)]
    async fn an_absurd_reset_is_capped() {
        let t = Scripted {
            script: Box::new(|n, _| {
                if n == 0 {
                    // A success that says the window is used up, then a throttle: both absurd.
                    return Ok(Answer {
                        status: 200,
                        rate: RateHeaders {
                            limit: None,
                            remaining: Some(0),
                            reset: Some(u64::MAX),
                            retry_after: None,
                        },
                        body: Vec::new(),
                    });
                }
                if n == 1 {
                    return throttled(RateHeaders {
                        limit: None,
                        remaining: Some(0),
                        reset: None,
                        retry_after: Some(u64::MAX),
                    });
                }
                ok()
            }),
            seen: Mutex::new(Vec::new()),
        };
        let (e, _) = executor(recall_plan(3, "100/s", 2), t, Arc::new(Stop::default()));
        let start = Instant::now();
        let r = e.run().await;
        assert_eq!(r.count(Outcome::Done), 3);
        let waited = Instant::now() - start;
        assert!(
            waited >= MAX_PAUSE && waited < 2 * MAX_PAUSE + Duration::from_secs(5),
            "{waited:?}"
        );
    }

    /// Transient failures retry with backoff and give up after `attempts`.
    #[tokio::test(start_paused = true)]
    async fn transient_failures_retry_then_give_up() {
        let t = Scripted {
            script: Box::new(|_, spec| {
                if spec.path.ends_with("/2") {
                    Err(TransportError::NotSent("connection refused".into()))
                } else {
                    Ok(Answer {
                        status: 503,
                        rate: RateHeaders::default(),
                        body: br#"{"error":{"code":1030,"message":"timeout"}}"#.to_vec(),
                    })
                }
            }),
            seen: Mutex::new(Vec::new()),
        };
        let (e, _) = executor(recall_plan(2, "100/s", 2), t, Arc::new(Stop::default()));
        let r = e.run().await;
        assert_eq!(r.count(Outcome::GaveUp), 2);
        assert_eq!(e.transport.seen.lock().unwrap().len(), 6, "3 attempts each");
        assert_eq!(r.exit_code(), crate::exit::FAILURES);
    }

    /// A stop lets in-flight requests finish and marks the rest not attempted.
    #[tokio::test(start_paused = true)]
    async fn a_stop_drains_and_leaves_the_rest_not_attempted() {
        let stop = Arc::new(Stop::default());
        let s2 = stop.clone();
        let t = Scripted {
            script: Box::new(move |n, _| {
                if n == 4 {
                    s2.trigger("interrupted by a signal");
                }
                ok()
            }),
            seen: Mutex::new(Vec::new()),
        };
        let (e, _) = executor(recall_plan(50, "10/s", 4), t, stop);
        let r = e.run().await;
        assert_eq!(
            r.count(Outcome::Done),
            5,
            "the request that saw the stop still completes"
        );
        assert_eq!(r.count(Outcome::NotAttempted), 45);
        assert_eq!(r.exit_code(), crate::exit::ABORTED);
    }

    #[test]
    fn backoff_is_full_jitter_under_the_cap() {
        let r = RetrySettings {
            attempts: 5,
            initial: Duration::from_millis(250),
            max: Duration::from_secs(2),
        };
        for n in 1..10 {
            let cap = Duration::from_millis(250 * (1 << (n - 1))).min(Duration::from_secs(2));
            for _ in 0..50 {
                assert!(r.backoff(n) <= cap);
            }
        }
    }
}
