//! One call: a request paced in its family, journaled before it leaves (intent) and after
//! (answer), retried with backoff while transient, paused while throttled. Providers make their
//! calls through this, as `provider::Calls`.

use futures::FutureExt as _;
use futures::future::BoxFuture;
use jiff::Timestamp;
use tokio::time::Instant;

use super::executor::Executor;
use super::pacer::{Dispatch, Pacer};
use super::retry::{MAX_PAUSE, MAX_THROTTLES, default_throttle_pause};
use crate::event::{Event, Note};
use crate::provider::call::NOT_RETRIED;
use crate::provider::http::{Transport, TransportError};
use crate::provider::{Answer, CallEnd, CallOptions, Calls, Class, Done, RequestSpec};

/// The calls of one step, as a provider's procedures see them.
pub(super) struct StepCalls<'e, T: Transport> {
    pub exec: &'e Executor<T>,
    pub step: &'e str,
}

impl<T: Transport> Calls for StepCalls<'_, T> {
    fn call<'a>(&'a self, spec: &'a RequestSpec, opts: CallOptions<'a>) -> BoxFuture<'a, CallEnd> {
        self.exec.call(self.step, spec, opts).boxed()
    }
}

impl<T: Transport> Executor<T> {
    /// Send one request with pacing, throttle pauses and retries.
    pub(super) async fn call(
        &self,
        step: &str,
        spec: &RequestSpec,
        opts: CallOptions<'_>,
    ) -> CallEnd {
        let pacer = self.pacer(spec.family);
        let retry = self.cfg.retry;
        let mut failed_attempts = 0u32;
        let mut throttles = 0u32;
        // Attempts of this request (journaled); whether anything for this target left at all.
        let mut attempt = 0u32;
        let mut sent = opts.already_sent;
        // An answer lost earlier in this call may have been acted on: a later "gone" (or a
        // refused repeat) can be the echo of our own success, and the outcome says so.
        let mut lost_before = false;
        loop {
            let dispatched = tokio::select! {
                d = pacer.dispatch() => d,
                _ = self.stop.wait() => return CallEnd::Interrupted { sent },
            };
            attempt += 1;
            // Intent before the request: if it cannot be written, the request is not sent.
            let intent = Event::Intent {
                at: Timestamp::now(),
                step: step.to_string(),
                target: opts.target.to_string(),
                attempt,
                request: spec.summary(),
                family: spec.family.as_str().to_string(),
                cid: opts.cid.map(String::from),
                lookup: opts.lookup,
            };
            if let Err(e) = self.sink.event(&intent) {
                self.stop_dispatch(format!("the journal cannot be written: {e}"));
                return CallEnd::Interrupted { sent };
            }
            sent = true;
            let started = Instant::now();
            let result = self.transport.send(spec).await;
            let latency_ms = started.elapsed().as_millis() as u64;
            if let Ok(a) = &result {
                // From the pacer's slot to the answer: how late this request may have reached
                // the provider, which the guard waits out for the dispatch N after it; the
                // headers show whether anyone else uses the quota.
                pacer.observe(dispatched, &a.rate);
            }
            let class = match &result {
                Ok(a) => self.classify(spec, a, &pacer, dispatched),
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
            let (new_id, facts) = match &class {
                Class::Done(d) => (d.new_id.clone(), d.facts.clone()),
                _ => (None, serde_json::Map::new()),
            };
            let _ = self.sink.event(&Event::Answer {
                at: Timestamp::now(),
                step: step.to_string(),
                target: opts.target.to_string(),
                attempt,
                status: result.as_ref().ok().map(|a| a.status),
                class: class.name().to_string(),
                code: class.code(),
                message: class.message().map(String::from),
                latency_ms,
                new_id,
                facts,
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
                    self.sink.note(&Note::Throttled {
                        family: spec.family.as_str().to_string(),
                        pause: wait,
                    });
                    if throttles > MAX_THROTTLES {
                        return CallEnd::GaveUp(format!("throttled {throttles} times in a row"));
                    }
                }
                Class::Transient { message, .. } => {
                    lost_before |= ambiguous;
                    if ambiguous && !opts.retry_lost {
                        return CallEnd::GaveUp(format!(
                            "{message}; {NOT_RETRIED}; `pushfix resume` re-checks it"
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
                // The provider refused a repeat of a request whose first answer we lost: it
                // went through.
                Class::Repeat { .. } if lost_before => {
                    return CallEnd::Answered(Class::Done(Done::default()));
                }
                other => return CallEnd::Answered(other),
            }
        }
    }

    /// Classify and apply rate-limit headers: `X-Rate-Limit-Remaining: 0` pauses the family
    /// until the reset, unless the pacer's own dispatches used the window up and its guard
    /// already keeps the next one out of it (a well-paced run reaches 0 at every window's end).
    fn classify(
        &self,
        spec: &RequestSpec,
        a: &Answer,
        pacer: &Pacer,
        dispatched: Dispatch,
    ) -> Class {
        let class = self.provider.classify(spec, a);
        if a.rate.exhausted()
            && !matches!(class, Class::Throttled { .. })
            && !pacer.exhausted_by_own_pace(dispatched.at, a.rate.limit)
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
