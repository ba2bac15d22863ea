//! The executor: steps in order; within a step, targets run concurrently under the family's
//! pacer, the failure budget and the stop flag; each target corrected by the provider's
//! procedure. It emits every record and note to its sink and never prints, writes files or
//! exits.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use futures::FutureExt as _;
use jiff::Timestamp;

use super::call::StepCalls;
use super::failure_budget::Budget;
use super::pacer::Pacer;
use super::retry::RetrySettings;
use super::stop::Stop;
use crate::domain::{Action, Disposition, Verdict};
use crate::event::{Event, Note, Outcome, Sink};
use crate::plan::{Plan, PlanStep, provider_quota};
use crate::provider::http::Transport;
use crate::provider::{Family, Final, Job, Provider, Resumed, Session};
use crate::target::PlanTarget;

pub struct ExecConfig {
    pub concurrency: usize,
    pub retry: RetrySettings,
    /// Failures the whole run may have (`limits.max_failures` of its full plan).
    pub max_failures: Option<u64>,
    /// Failures an earlier part of the run (before a resume) already had: the budget is the
    /// run's, not each resume's.
    pub failures_before: u64,
}

/// How the execution ended.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Outcome counts over all steps of this execution.
    pub outcomes: HashMap<Outcome, u64>,
    /// Why dispatch stopped early, if it did.
    pub stopped: Option<String>,
    pub journal_error: Option<String>,
}

impl RunResult {
    pub fn count(&self, o: Outcome) -> u64 {
        self.outcomes.get(&o).copied().unwrap_or(0)
    }
}

/// (step, target) -> what the interrupted run's journal knows about it.
pub type ResumeHints = HashMap<(String, String), Resumed>;

pub struct Executor<T: Transport> {
    pub(super) transport: Arc<T>,
    plan: Arc<Plan>,
    pub(super) provider: &'static dyn Provider,
    session: Arc<dyn Session>,
    pub(super) sink: Arc<dyn Sink>,
    pacers: HashMap<Family, Arc<Pacer>>,
    pub(super) stop: Arc<Stop>,
    budget: Arc<Budget>,
    pub(super) cfg: Arc<ExecConfig>,
    resumed: Arc<ResumeHints>,
}

impl<T: Transport> Clone for Executor<T> {
    fn clone(&self) -> Self {
        Executor {
            transport: self.transport.clone(),
            plan: self.plan.clone(),
            provider: self.provider,
            session: self.session.clone(),
            sink: self.sink.clone(),
            pacers: self.pacers.clone(),
            stop: self.stop.clone(),
            budget: self.budget.clone(),
            cfg: self.cfg.clone(),
            resumed: self.resumed.clone(),
        }
    }
}

impl<T: Transport> Executor<T> {
    pub fn new(
        transport: T,
        plan: Arc<Plan>,
        sink: Arc<dyn Sink>,
        stop: Arc<Stop>,
        cfg: ExecConfig,
    ) -> Self {
        let provider = plan.provider.provider();
        let mut pacers: HashMap<Family, Arc<Pacer>> = plan
            .limits
            .rates
            .iter()
            .map(|(f, r)| (*f, Arc::new(Pacer::new(r.parsed()))))
            .collect();
        let budget = Arc::new(Budget::resumed(cfg.max_failures, cfg.failures_before));
        // A family the plan does not list keeps one pacer at its documented quota (one per
        // family: a pacer made afresh for each call would pace nothing).
        for f in provider.families() {
            pacers
                .entry(f.family)
                .or_insert_with(|| Arc::new(Pacer::new(f.quota)));
        }
        let session: Arc<dyn Session> = Arc::from(provider.session(&plan.provider.settings));
        Executor {
            transport: Arc::new(transport),
            plan,
            provider,
            session,
            sink,
            pacers,
            stop,
            budget,
            cfg: Arc::new(cfg),
            resumed: Arc::new(ResumeHints::new()),
        }
    }

    pub fn with_resumed(mut self, hints: ResumeHints) -> Self {
        self.resumed = Arc::new(hints);
        self
    }

    /// The run's clock as dispatch begins (see `Session::run_clock`); unset, the session
    /// keeps its own idea of time.
    pub fn with_clock(self, now: jiff::Timestamp) -> Self {
        self.session.run_clock(now);
        self
    }

    pub(super) fn pacer(&self, family: Family) -> Arc<Pacer> {
        self.pacers
            .get(&family)
            .cloned()
            .unwrap_or_else(|| Arc::new(Pacer::new(provider_quota(family))))
    }

    fn budget_used_up(&self) -> String {
        let allowed = self.cfg.max_failures.unwrap_or(0);
        match self.cfg.failures_before {
            0 => format!("failure budget used up (limits.max_failures allows {allowed})"),
            n => format!(
                "failure budget used up (limits.max_failures allows {allowed}; {n} before this resume)"
            ),
        }
    }

    /// Stop dispatching (the first reason is the one reported).
    pub(super) fn stop_dispatch(&self, reason: String) {
        self.stop.trigger(reason);
    }

    /// Run every step; every record goes to the sink.
    pub async fn execute(&self) -> RunResult {
        let mut result = RunResult::default();
        // Whatever stops dispatch (a signal, the budget, the journal), the display hears it once.
        let (sink, stop) = (self.sink.clone(), self.stop.clone());
        let announcer = tokio::spawn(async move {
            stop.wait().await;
            if let Some(reason) = stop.reason() {
                sink.note(&Note::Stopping { reason });
            }
        });
        if self.budget.exceeded() && self.plan.totals.send > 0 {
            let why = if self.cfg.failures_before > 0 {
                self.budget_used_up()
            } else {
                "limits.max_failures allows no failure among these targets, so nothing can be sent without risking one"
                    .into()
            };
            self.stop_dispatch(why);
        }
        for (index, step) in self.plan.steps.iter().enumerate() {
            let outcomes = self.run_step(index, step).await;
            for (o, n) in outcomes {
                *result.outcomes.entry(o).or_default() += n;
            }
            self.sink.flush();
        }
        // Let the announcement through if a stop came, else end the watcher.
        if self.stop.is_set() {
            let _ = announcer.await;
        } else {
            announcer.abort();
        }
        result.stopped = self.stop.reason();
        result.journal_error = self.sink.failed().map(|e| e.0);
        result
    }

    async fn run_step(&self, index: usize, step: &PlanStep) -> HashMap<Outcome, u64> {
        let mut counts: HashMap<Outcome, u64> = HashMap::new();
        let _ = self.sink.event(&Event::StepStarted {
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
        self.sink.note(&Note::Dispatching {
            step: step.name.clone(),
            action: step.action.to_string(),
            to_send: queue.len() as u64,
        });
        self.session.step_started(queue.len() as u64);
        let workers = self.cfg.concurrency.clamp(1, 256).min(queue.len().max(1));
        let queue = Arc::new(Mutex::new(queue));
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
        let _ = self.sink.event(&Event::StepFinished {
            at: Timestamp::now(),
            step: step.name.clone(),
        });
        counts
    }

    async fn worker(
        &self,
        step_index: usize,
        queue: Arc<Mutex<VecDeque<usize>>>,
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
            // A target that failed before this resume already counts against the budget.
            let counted = self
                .resumed
                .get(&(step.name.clone(), target.id.clone()))
                .is_some_and(|r| r.failed);
            if counted {
                self.budget.counted_already();
            }
            self.sink.note(&Note::Dispatched {
                step: step.name.clone(),
                target: target.id.clone(),
            });
            // A bug must not lose a target: a panic becomes its outcome, and the run stops. An
            // abort abandons the request in flight: its intent is journaled without an answer,
            // so `resume` re-checks it.
            let processed = tokio::select! {
                r = std::panic::AssertUnwindSafe(self.process(step, target)).catch_unwind() => r,
                _ = self.stop.aborted() => break,
            };
            let fin = match processed {
                Ok(f) => f,
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    self.stop_dispatch(format!("internal error: {what}"));
                    Final::new(
                        Outcome::GaveUp,
                        Some(format!("internal error (a bug in pushfix): {what}")),
                    )
                }
            };
            let outcome = fin.outcome;
            let failed = outcome.is_failure();
            self.finish(step, target, fin);
            *counts.entry(outcome).or_default() += 1;
            let work_left = queue.lock().is_ok_and(|q| !q.is_empty())
                || self.plan.steps[step_index + 1..]
                    .iter()
                    .any(|s| s.dispositions.send > 0);
            if counted {
                self.budget.release_counted(failed);
            } else if self.budget.release(failed) && work_left {
                self.stop_dispatch(self.budget_used_up());
            }
            if let Some(e) = self.sink.failed() {
                self.stop_dispatch(format!("the journal cannot be written: {e}"));
            }
        }
        counts
    }

    fn finish(&self, step: &PlanStep, t: &PlanTarget, f: Final) {
        let _ = self.sink.event(&Event::Final {
            at: Timestamp::now(),
            step: step.name.clone(),
            target: t.id.clone(),
            outcome: f.outcome,
            reason: f.reason,
            code: f.code,
            new_id: f.new_id,
        });
    }

    /// One target: the provider's procedure, through this executor's calls.
    async fn process(&self, step: &PlanStep, t: &PlanTarget) -> Final {
        let calls = StepCalls {
            exec: self,
            step: &step.name,
        };
        let resumed = self.resumed.get(&(step.name.clone(), t.id.clone()));
        let job = Job {
            step: &step.name,
            action: step.action,
            policy: step.unsupported,
            target: t,
            resumed,
        };
        let mut fin = self.session.correct(&calls, job).await;
        // An override the provider refused to send ("the original is gone or too old") is not
        // a success: the wrong content is still where it was.
        if step.action == Action::Override && fin.outcome == Outcome::Gone {
            fin.outcome = Outcome::NotCorrected;
        }
        fin
    }
}

fn planned_reason(t: &PlanTarget) -> String {
    if let Some(run) = &t.done_in {
        return format!("already_done_in {run}");
    }
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::domain::{Rate, UnsupportedPolicy};
    use crate::event::Fanout;
    use crate::exec::retry::MAX_PAUSE;
    use crate::exit;
    use crate::journal::Journal;
    use crate::plan::{
        DispositionCounts, PlanLimits, PlanPlaybook, PlanProvider, PlanRetry, PlanStep, Totals,
        VerdictCounts,
    };
    use crate::provider::answer::RateHeaders;
    use crate::provider::http::TransportError;
    use crate::provider::{Answer, PlanRate, RequestSpec};
    use crate::redact::Redactor;

    fn exit_code(r: &RunResult) -> i32 {
        exit::for_run(
            r.stopped.is_some() || r.journal_error.is_some() || r.count(Outcome::NotAttempted) > 0,
            r.count(Outcome::Failed) + r.count(Outcome::GaveUp),
        )
    }

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
                not_reached: Default::default(),
                reached: Default::default(),
                uncertain: Default::default(),
                disposition: Disposition::Send,
                done_in: None,
                in_ledger: false,
                notes: Default::default(),
                receivers: None,
                original: None,
                message: None,
            })
            .collect::<Vec<_>>();
        let r = Rate::parse(rate).unwrap();
        let mut rates = BTreeMap::new();
        rates.insert(
            crate::provider::jpush::PUSH_FAMILY,
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
                kind: crate::provider::find("jpush").unwrap().kind(),
                base_url: "http://127.0.0.1:1".into(),
                base_url_source: "test".into(),
                id_env: "K".into(),
                secret_env: "S".into(),
                settings: [("apns_production".to_string(), serde_json::Value::Bool(true))]
                    .into_iter()
                    .collect(),
            },
            limits: PlanLimits {
                concurrency,
                max_targets: None,
                max_failures: None,
                timeout_ms: 1000,
                rates,
                verify: false,
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
                on_not_corrected: Default::default(),
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
                verify: None,
            }],
            totals: Totals {
                targets: n as u64,
                send: n as u64,
                skip: 0,
                fail: 0,
            },
            warnings: Vec::new(),
            messages: Default::default(),
            exposure: Default::default(),
        }
    }

    fn executor<T: Transport>(plan: Plan, t: T, stop: Arc<Stop>) -> (Executor<T>, Arc<Journal>) {
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
            failures_before: 0,
        };
        let sink = Arc::new(Fanout::new(
            vec![journal.clone() as Arc<dyn Sink>],
            Redactor::default(),
        ));
        let e = Executor::new(t, Arc::new(plan), sink, stop, cfg);
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
        let r = e.execute().await;
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
        let r = e.execute().await;
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
        let r = e.execute().await;
        assert_eq!(r.count(Outcome::GaveUp), 2);
        assert_eq!(e.transport.seen.lock().unwrap().len(), 6, "3 attempts each");
        assert_eq!(exit_code(&r), crate::exit::FAILURES);
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
        let r = e.execute().await;
        assert_eq!(
            r.count(Outcome::Done),
            5,
            "the request that saw the stop still completes"
        );
        assert_eq!(r.count(Outcome::NotAttempted), 45);
        assert_eq!(exit_code(&r), crate::exit::ABORTED);
    }

    /// A provider's rate limit, the two ways providers keep it: a fixed window (laid end to
    /// end from some instant before the run, `X-Rate-Limit-*` on every answer) or a sliding
    /// one, counting arrivals; each request travels a pseudo-random one-way delay there and
    /// back. Everything on tokio's paused clock.
    #[derive(Clone, Copy, Debug)]
    enum WindowKind {
        /// The provider's windows started this long before the run.
        Fixed {
            phase: Duration,
        },
        Sliding,
    }

    struct FakeProvider {
        kind: WindowKind,
        quota: usize,
        window: Duration,
        /// One-way delay, each way: uniform in [lo, hi) µs.
        delay_us: (u64, u64),
        /// Requests of another client of the same app, at the start of every fixed window.
        foreign_per_window: usize,
        origin: Instant,
        st: Mutex<FakeState>,
    }

    #[derive(Default)]
    struct FakeState {
        n: u64,
        window_idx: Option<u128>,
        used: usize,
        accepted: VecDeque<Instant>,
        arrivals: Vec<Instant>,
        throttled: usize,
    }

    impl FakeProvider {
        fn new(kind: WindowKind, rate: Rate, delay_us: (u64, u64)) -> FakeProvider {
            FakeProvider {
                kind,
                quota: rate.count as usize,
                window: rate.per,
                delay_us,
                foreign_per_window: 0,
                origin: Instant::now(),
                st: Mutex::new(FakeState::default()),
            }
        }

        /// A deterministic pseudo-random delay for request `n`, leg `leg`.
        fn delay(&self, n: u64, leg: u64) -> Duration {
            let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                ^ (leg + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            x ^= x >> 31;
            x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
            x ^= x >> 29;
            let (lo, hi) = self.delay_us;
            Duration::from_micros(lo + x % (hi - lo).max(1))
        }

        /// Whether the request arriving now is within the quota, and the headers it gets.
        fn admit(&self, st: &mut FakeState, now: Instant) -> (bool, RateHeaders) {
            let secs = |d: Duration| d.as_secs() + u64::from(d.subsec_nanos() > 0);
            match self.kind {
                WindowKind::Fixed { phase } => {
                    let e = now - self.origin + phase;
                    let idx = e.as_nanos() / self.window.as_nanos();
                    if st.window_idx != Some(idx) {
                        st.window_idx = Some(idx);
                        st.used = self.foreign_per_window;
                    }
                    let ok = st.used < self.quota;
                    if ok {
                        st.used += 1;
                    }
                    let end = Duration::from_nanos(((idx + 1) * self.window.as_nanos()) as u64);
                    let h = RateHeaders {
                        limit: Some(self.quota as u64),
                        remaining: Some((self.quota - st.used) as u64),
                        reset: Some(secs(end - e)),
                        retry_after: None,
                    };
                    (ok, h)
                }
                WindowKind::Sliding => {
                    while st.accepted.front().is_some_and(|t| *t + self.window <= now) {
                        st.accepted.pop_front();
                    }
                    let ok = st.accepted.len() < self.quota;
                    if ok {
                        st.accepted.push_back(now);
                    }
                    let reset = st
                        .accepted
                        .front()
                        .map_or(0, |t| secs(*t + self.window - now));
                    let h = RateHeaders {
                        limit: Some(self.quota as u64),
                        remaining: Some((self.quota - st.accepted.len()) as u64),
                        reset: Some(reset),
                        retry_after: None,
                    };
                    (ok, h)
                }
            }
        }

        /// The most arrivals in one window of the provider's own kind.
        fn most_in_a_window(&self) -> usize {
            let st = self.st.lock().unwrap();
            let t = &st.arrivals;
            match self.kind {
                WindowKind::Fixed { phase } => {
                    let mut counts: HashMap<u128, usize> = HashMap::new();
                    for a in t {
                        let idx = (*a - self.origin + phase).as_nanos() / self.window.as_nanos();
                        *counts.entry(idx).or_default() += 1;
                    }
                    counts.values().copied().max().unwrap_or(0) + self.foreign_per_window
                }
                WindowKind::Sliding => {
                    let (mut best, mut first) = (0, 0);
                    for (i, a) in t.iter().enumerate() {
                        while t[first] + self.window <= *a {
                            first += 1;
                        }
                        best = best.max(i + 1 - first);
                    }
                    best
                }
            }
        }

        /// Arrivals per second, first to last (N requests, N-1 intervals).
        fn achieved(&self) -> f64 {
            let st = self.st.lock().unwrap();
            let (first, last) = (st.arrivals[0], *st.arrivals.last().unwrap());
            (st.arrivals.len() - 1) as f64 / (last - first).as_secs_f64()
        }
    }

    impl Transport for FakeProvider {
        async fn send(&self, _spec: &RequestSpec) -> Result<Answer, TransportError> {
            let n = {
                let mut st = self.st.lock().unwrap();
                st.n += 1;
                st.n
            };
            tokio::time::sleep(self.delay(n, 0)).await;
            let (ok, rate) = {
                let mut st = self.st.lock().unwrap();
                let now = Instant::now();
                st.arrivals.push(now);
                let (ok, rate) = self.admit(&mut st, now);
                if !ok {
                    st.throttled += 1;
                }
                (ok, rate)
            };
            tokio::time::sleep(self.delay(n, 1)).await;
            if ok {
                Ok(Answer {
                    status: 200,
                    rate,
                    body: Vec::new(),
                })
            } else {
                throttled(rate)
            }
        }
    }

    /// Run `n` recalls at `rate` against `provider`, all done; the provider after the run.
    async fn paced_run(provider: FakeProvider, rate: &str, n: usize, conc: u32) -> FakeProvider {
        let e = executor(
            recall_plan(n, rate, conc),
            provider,
            Arc::new(Stop::default()),
        )
        .0;
        let r = e.execute().await;
        assert_eq!(r.count(Outcome::Done), n as u64, "{rate}");
        let t = e.transport.clone();
        drop(e);
        Arc::try_unwrap(t).ok().expect("the run is over")
    }

    /// Never more than the quota in any window of the provider's own kind, fixed (with
    /// `Remaining: 0` at the end of every window) or sliding, with 1-4 ms of network each
    /// way, at 1/s, 10/s, 200/s, 600/min and 10,000/s — and at least 98% of the quota used.
    #[tokio::test(start_paused = true)]
    async fn the_whole_quota_and_not_a_request_more() {
        let cases = [
            ("1/s", 30, 4),
            ("10/s", 250, 8),
            ("200/s", 2500, 16),
            ("600/min", 1300, 8),
            // 2-8 ms round trips: 128 requests in flight to keep up with 10,000/s.
            ("10000/s", 15000, 128),
        ];
        for (rate, n, conc) in cases {
            let r = Rate::parse(rate).unwrap();
            for kind in [
                WindowKind::Fixed {
                    phase: r.per.mul_f64(0.37),
                },
                WindowKind::Sliding,
            ] {
                let p = paced_run(FakeProvider::new(kind, r, (1000, 4000)), rate, n, conc).await;
                let st_throttled = p.st.lock().unwrap().throttled;
                assert_eq!(st_throttled, 0, "{rate} {kind:?}: throttled");
                let most = p.most_in_a_window();
                assert!(most <= p.quota, "{rate} {kind:?}: {most} in one window");
                let achieved = p.achieved() / r.per_sec();
                assert!(
                    achieved >= 0.98,
                    "{rate} {kind:?}: {achieved:.4} of the quota"
                );
            }
        }
    }

    /// With 5-60 ms of network each way (55 ms of jitter) the guard widens by what it measures
    /// and the quota still holds in every sliding window.
    #[tokio::test(start_paused = true)]
    async fn jitter_widens_the_guard_not_the_quota() {
        for (rate, n, conc) in [("10/s", 200, 8), ("200/s", 2000, 32)] {
            let r = Rate::parse(rate).unwrap();
            let p = paced_run(
                FakeProvider::new(WindowKind::Sliding, r, (5000, 60_000)),
                rate,
                n,
                conc,
            )
            .await;
            assert_eq!(p.st.lock().unwrap().throttled, 0, "{rate}");
            assert!(p.most_in_a_window() <= p.quota, "{rate}");
            let achieved = p.achieved() / r.per_sec();
            assert!(achieved >= 0.85, "{rate}: {achieved:.3}");
        }
    }

    /// `Remaining: 0` that the run's own requests do not account for (another client of the
    /// app used 3 of every window's 10) pauses the family until the reset: nothing throttled.
    #[tokio::test(start_paused = true)]
    async fn remaining_zero_of_someone_else_pauses() {
        let r = Rate::parse("10/s").unwrap();
        let mut p = FakeProvider::new(
            WindowKind::Fixed {
                phase: Duration::from_millis(370),
            },
            r,
            (1000, 4000),
        );
        p.foreign_per_window = 3;
        let p = paced_run(p, "10/s", 100, 8).await;
        assert_eq!(p.st.lock().unwrap().throttled, 0);
        assert!(p.most_in_a_window() <= 10);
    }
}
