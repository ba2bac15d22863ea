//! The verification pass (async): a provider's `Verifier` run over the corrections a pass
//! checks, its requests paced in their own family's quota (with the family's earlier requests
//! remembered: `QuotaGuard`), journaled before they leave (`verify_request`) and after
//! (`verify_answer`), retried while transient, paused while throttled; each verdict journaled
//! as it is found (`verified`). Emits events only; never prints.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use jiff::Timestamp;
use tokio::time::Instant;

use super::pacer::Pacer;
use super::quota::QuotaGuard;
use super::retry::{MAX_PAUSE, MAX_THROTTLES, RetrySettings, default_throttle_pause};
use super::stop::Stop;
use crate::domain::Rate;
use crate::event::{Event, Note, Sink, VerifyVerdict};
use crate::provider::http::Transport;
use crate::provider::{CallEnd, Check, Class, Finding, Probes, Provider, RequestSpec, Verifier};

pub struct PassConfig {
    /// The verifier family's pace (its documented quota, or what `--rate` says).
    pub rate: Rate,
    pub retry: RetrySettings,
    pub observe: Duration,
    /// How long ago the family's earlier requests left (from the journal).
    pub history: Vec<Duration>,
}

/// What a pass came to.
#[derive(Debug, Default)]
pub struct PassResult {
    pub found: Vec<(String, String, VerifyVerdict)>,
    /// Corrections that could not be checked, and why.
    pub missed: Vec<(String, String, String)>,
    pub requests: u64,
    /// Why the pass stopped early, if it did.
    pub stopped: Option<String>,
}

impl PassResult {
    pub fn count(&self, v: VerifyVerdict) -> u64 {
        self.found.iter().filter(|(_, _, x)| *x == v).count() as u64
    }
}

struct PassProbes<T: Transport> {
    transport: T,
    provider: &'static dyn Provider,
    family: String,
    pacer: Pacer,
    guard: QuotaGuard,
    retry: RetrySettings,
    sink: Arc<dyn Sink>,
    stop: Arc<Stop>,
    found: Mutex<HashSet<(String, String)>>,
    result: Mutex<PassResult>,
}

/// Run `verifier` over `checks`.
pub async fn run_pass<T: Transport>(
    transport: T,
    provider: &'static dyn Provider,
    verifier: &dyn Verifier,
    checks: &[Check<'_>],
    sink: Arc<dyn Sink>,
    stop: Arc<Stop>,
    cfg: PassConfig,
) -> PassResult {
    let probes = PassProbes {
        transport,
        provider,
        family: verifier.family().family.as_str().to_string(),
        pacer: Pacer::new(cfg.rate),
        guard: QuotaGuard::new(cfg.rate, cfg.history),
        retry: cfg.retry,
        sink,
        stop: stop.clone(),
        found: Mutex::new(HashSet::new()),
        result: Mutex::new(PassResult::default()),
    };
    if !checks.is_empty() {
        verifier.verify(&probes, checks, cfg.observe).await;
    }
    probes.sink.flush();
    let mut r = probes
        .result
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    r.stopped = stop.reason();
    r
}

impl<T: Transport> PassProbes<T> {
    async fn slot(&self) -> bool {
        tokio::select! {
            _ = async {
                self.guard.admit().await;
                self.pacer.acquire().await;
            } => {
                self.guard.record().await;
                true
            }
            _ = self.stop.wait() => false,
        }
    }

    async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = self.stop.wait() => false,
        }
    }

    async fn request(&self, spec: &RequestSpec, targets: u64) -> CallEnd {
        let (mut failed, mut throttles, mut attempt) = (0u32, 0u32, 0u32);
        loop {
            if !self.slot().await {
                return CallEnd::Interrupted { sent: attempt > 0 };
            }
            attempt += 1;
            let intent = Event::VerifyRequest {
                at: Timestamp::now(),
                family: self.family.clone(),
                request: spec.summary(),
                targets,
                attempt,
            };
            // A request the journal cannot record does not leave: the quota's memory is there.
            if let Err(e) = self.sink.event(&intent) {
                self.stop
                    .trigger(format!("the journal cannot be written: {e}"));
                return CallEnd::Interrupted { sent: attempt > 1 };
            }
            self.result
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .requests += 1;
            let started = Instant::now();
            let answer = self.transport.send(spec).await;
            let latency_ms = started.elapsed().as_millis() as u64;
            let class = match &answer {
                Ok(a) => {
                    let c = self.provider.classify(spec, a);
                    if a.rate.exhausted()
                        && !matches!(c, Class::Throttled { .. })
                        && let Some(p) = a.rate.pause()
                    {
                        self.pause(p);
                    }
                    c
                }
                Err(e) => Class::Transient {
                    code: None,
                    message: e.message().to_string(),
                },
            };
            let _ = self.sink.event(&Event::VerifyAnswer {
                at: Timestamp::now(),
                family: self.family.clone(),
                status: answer.as_ref().ok().map(|a| a.status),
                class: class.name().to_string(),
                code: class.code(),
                message: class.message().map(String::from),
                latency_ms,
            });
            match class {
                Class::Throttled { pause, .. } => {
                    throttles += 1;
                    let wait = pause
                        .unwrap_or_else(|| default_throttle_pause(throttles))
                        .min(MAX_PAUSE);
                    self.pause(wait);
                    self.sink.note(&Note::Throttled {
                        family: self.family.clone(),
                        pause: wait,
                    });
                    if throttles > MAX_THROTTLES {
                        return CallEnd::GaveUp(format!("throttled {throttles} times in a row"));
                    }
                }
                Class::Transient { message, .. } => {
                    // Reads: a lost answer is safe to ask again.
                    failed += 1;
                    if failed >= self.retry.attempts {
                        return CallEnd::GaveUp(format!("{message} ({failed} attempts)"));
                    }
                    if !self.sleep(self.retry.backoff(failed)).await {
                        return CallEnd::Interrupted { sent: true };
                    }
                }
                other => return CallEnd::Answered(other),
            }
        }
    }

    fn pause(&self, d: Duration) {
        self.pacer.pause_until(
            Instant::now()
                .checked_add(d.min(MAX_PAUSE))
                .unwrap_or_else(Instant::now),
        );
    }
}

impl<T: Transport> Probes for PassProbes<T> {
    fn call<'a>(&'a self, spec: &'a RequestSpec, targets: u64) -> BoxFuture<'a, CallEnd> {
        self.request(spec, targets).boxed()
    }

    fn wait(&self, d: Duration) -> BoxFuture<'_, bool> {
        self.sleep(d).boxed()
    }

    fn found(&self, check: &Check<'_>, finding: Finding) {
        let key = (check.step.to_string(), check.target.id.clone());
        // One verdict per correction, whatever a verifier does.
        if !self
            .found
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone())
        {
            return;
        }
        let e = Event::Verified {
            at: Timestamp::now(),
            step: key.0.clone(),
            target: key.1.clone(),
            verdict: finding.verdict,
            reason: Some(finding.reason).filter(|r| !r.is_empty()),
            evidence: finding.evidence,
        };
        match self.sink.event(&e) {
            Ok(()) => self
                .result
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .found
                .push((key.0, key.1, finding.verdict)),
            Err(err) => self
                .stop
                .trigger(format!("the journal cannot be written: {err}")),
        }
    }

    fn missed(&self, check: &Check<'_>, why: String) {
        self.result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .missed
            .push((check.step.to_string(), check.target.id.clone(), why));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Action, Disposition, Verdict};
    use crate::event::Fanout;
    use crate::provider::answer::{Answer, RateHeaders};
    use crate::provider::http::TransportError;
    use crate::redact::Redactor;
    use crate::target::PlanTarget;

    /// TPNS get_push_record answers, recording when each request arrived.
    struct Records {
        seen: Arc<Mutex<Vec<Instant>>>,
        status: &'static str,
    }

    impl Transport for Records {
        async fn send(&self, _spec: &RequestSpec) -> Result<Answer, TransportError> {
            self.seen.lock().unwrap().push(Instant::now());
            Ok(Answer {
                status: 200,
                rate: RateHeaders::default(),
                body: format!(
                    r#"{{"retCode":0,"errMsg":"NO_ERROR","pushRecordData":[{{"pushId":"1","status":"{}"}}]}}"#,
                    self.status
                )
                .into_bytes(),
            })
        }
    }

    #[derive(Default)]
    struct Collect(Mutex<Vec<Event>>);

    impl Sink for Collect {
        fn event(&self, e: &Event) -> Result<(), crate::event::SinkError> {
            self.0.lock().unwrap().push(e.clone());
            Ok(())
        }
    }

    fn target(id: usize) -> PlanTarget {
        PlanTarget {
            id: id.to_string(),
            verdict: Verdict::WillRun,
            reason: None,
            not_reached: Default::default(),
            reached: [std::sync::Arc::<str>::from("tpns")].into(),
            uncertain: Default::default(),
            disposition: Disposition::Send,
            done_in: None,
            in_ledger: true,
            notes: Default::default(),
            receivers: None,
            original: None,
            message: None,
        }
    }

    /// TPNS statistics at its documented 200/h, 40 of them used by the campaign in the last ten
    /// minutes: 250 corrections to verify never make more than 200 requests in any hour, and
    /// every one gets exactly one verdict.
    #[tokio::test(start_paused = true)]
    async fn tpns_verification_stays_inside_200_an_hour() {
        let tpns = crate::provider::find("tpns").unwrap();
        let verifier = tpns.verifier(&Default::default()).unwrap();
        let family = verifier.family();
        assert_eq!(family.quota.count, 200.0);
        let targets: Vec<PlanTarget> = (1..=250).map(target).collect();
        let old = "2020-01-01T00:00:00Z".parse().unwrap();
        let checks: Vec<Check<'_>> = targets
            .iter()
            .map(|t| Check {
                step: "stop-offline",
                action: Action::Stop,
                target: t,
                new_id: None,
                corrected_at: old,
                channels: None,
                ledger: None,
            })
            .collect();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let transport = Records {
            seen: seen.clone(),
            status: "PUSH_DELETED_PUSH_MSG",
        };
        let events = Arc::new(Collect::default());
        let sink = Arc::new(Fanout::new(
            vec![events.clone() as Arc<dyn Sink>],
            Redactor::default(),
        ));
        let history: Vec<Duration> = (0..40).map(|i| Duration::from_secs(600 - i * 15)).collect();
        let start = Instant::now();
        let cfg = PassConfig {
            rate: family.quota,
            retry: RetrySettings {
                attempts: 3,
                initial: Duration::from_millis(100),
                max: Duration::from_secs(1),
            },
            observe: Duration::ZERO,
            history: history.clone(),
        };
        let r = run_pass(
            transport,
            tpns,
            verifier.as_ref(),
            &checks,
            sink,
            Arc::new(Stop::default()),
            cfg,
        )
        .await;
        assert_eq!(r.found.len(), 250);
        assert!(
            r.found
                .iter()
                .all(|(_, _, v)| *v == VerifyVerdict::Verified)
        );
        // Every request, the campaign's earlier ones included, on one time line.
        let mut times: Vec<Instant> = history
            .iter()
            .map(|a| start.checked_sub(*a).unwrap())
            .collect();
        times.extend(seen.lock().unwrap().iter().copied());
        assert_eq!(times.len(), 290);
        for (i, t) in times.iter().enumerate() {
            let in_hour = times[i..]
                .iter()
                .filter(|u| u.duration_since(*t) < Duration::from_secs(3600))
                .count();
            assert!(
                in_hour <= 200,
                "{in_hour} requests in the hour from request {i}"
            );
        }
        let verified = events
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, Event::Verified { .. }))
            .count();
        assert_eq!(verified, 250);
    }
}
