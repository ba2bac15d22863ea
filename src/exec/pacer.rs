//! Client-side pacing: one pacer per provider app and API family (DESIGN §5).
//!
//! Requests leave at most once per interval (burst 1: no token bucket head start), measured
//! from the actual previous dispatch, so no window of any length sees more than its share even
//! when a wake-up comes late. A throttling answer pauses the whole family, not one worker.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use crate::units::Rate;

/// Pace this fraction under the quota, to absorb jitter between our clock and the provider's.
pub const SAFETY_MARGIN: f64 = 0.01;

pub struct Pacer {
    interval: Duration,
    /// The earliest instant the next request may leave; held while a worker waits its turn, so
    /// workers go one at a time, first come first served.
    next: tokio::sync::Mutex<Option<Instant>>,
    paused_until: Mutex<Option<Instant>>,
}

impl Pacer {
    pub fn new(rate: Rate) -> Self {
        let interval = rate.interval().mul_f64(1.0 + SAFETY_MARGIN);
        Pacer {
            interval,
            next: tokio::sync::Mutex::new(None),
            paused_until: Mutex::new(None),
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Wait for this family's next slot; returns the dispatch instant.
    pub async fn acquire(&self) -> Instant {
        let mut next = self.next.lock().await;
        loop {
            let now = Instant::now();
            let mut at = next.unwrap_or(now).max(now);
            if let Some(p) = self.paused() {
                at = at.max(p);
            }
            if at > now {
                sleep_until(at).await;
                // A throttle may have arrived while we slept: look again.
                continue;
            }
            *next = Some(now + self.interval);
            return now;
        }
    }

    /// Pause the family until `until` (a throttling answer); never shortens a longer pause.
    pub fn pause_until(&self, until: Instant) {
        let mut p = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_none_or(|cur| until > cur) {
            *p = Some(until);
        }
    }

    pub fn paused(&self) -> Option<Instant> {
        let p = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        p.filter(|t| *t > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    async fn dispatch_times(pacer: Arc<Pacer>, n: usize, workers: usize) -> Vec<Duration> {
        let start = Instant::now();
        let times = Arc::new(Mutex::new(Vec::new()));
        let per = n / workers;
        let mut handles = Vec::new();
        for _ in 0..workers {
            let (p, t) = (pacer.clone(), times.clone());
            handles.push(tokio::spawn(async move {
                for _ in 0..per {
                    let at = p.acquire().await;
                    t.lock().unwrap().push(at - start);
                    // Some requests take a while; the pacer must not care.
                    tokio::time::sleep(Duration::from_millis(37)).await;
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let mut v = times.lock().unwrap().clone();
        v.sort();
        v
    }

    /// At most `rate` dispatches in any one-second window, with 8 workers racing.
    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_rate_in_any_window() {
        let pacer = Arc::new(Pacer::new(Rate::per_second(10.0)));
        let t = dispatch_times(pacer, 80, 8).await;
        for (i, a) in t.iter().enumerate() {
            let in_window = t[i..]
                .iter()
                .take_while(|b| **b < *a + Duration::from_secs(1))
                .count();
            assert!(in_window <= 10, "{in_window} dispatches within 1s of {a:?}");
        }
        // And it does not dawdle: 80 requests at 10/s take about 8 s.
        let last = *t.last().unwrap();
        assert!(last < Duration::from_secs_f64(8.0 * 1.02), "{last:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn per_minute_quota() {
        let pacer = Arc::new(Pacer::new(Rate::per_minute(600.0)));
        let t = dispatch_times(pacer, 1200, 8).await;
        for (i, a) in t.iter().enumerate() {
            let in_minute = t[i..]
                .iter()
                .take_while(|b| **b < *a + Duration::from_secs(60))
                .count();
            assert!(in_minute <= 600);
        }
    }

    /// A throttle pauses every waiting worker until the reset, then pacing resumes.
    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_the_whole_family() {
        let pacer = Arc::new(Pacer::new(Rate::per_second(100.0)));
        let start = Instant::now();
        pacer.acquire().await;
        pacer.pause_until(start + Duration::from_secs(30));
        let mut handles = Vec::new();
        for _ in 0..4 {
            let p = pacer.clone();
            handles.push(tokio::spawn(async move { p.acquire().await }));
        }
        let mut times = Vec::new();
        for h in handles {
            times.push(h.await.unwrap() - start);
        }
        times.sort();
        assert!(times[0] >= Duration::from_secs(30), "{times:?}");
        assert!(times[3] < Duration::from_secs(31), "{times:?}");
        // A shorter pause never shortens a longer one.
        pacer.pause_until(start + Duration::from_secs(90));
        pacer.pause_until(start + Duration::from_secs(40));
        assert_eq!(pacer.paused(), Some(start + Duration::from_secs(90)));
    }

    /// A pause arriving while a worker already waits for its slot still holds that worker.
    #[tokio::test(start_paused = true)]
    async fn a_pause_reaches_workers_already_waiting() {
        let pacer = Arc::new(Pacer::new(Rate::per_second(1.0)));
        let start = Instant::now();
        pacer.acquire().await;
        let p = pacer.clone();
        let waiter = tokio::spawn(async move { p.acquire().await });
        tokio::time::sleep(Duration::from_millis(500)).await;
        pacer.pause_until(start + Duration::from_secs(10));
        let at = waiter.await.unwrap() - start;
        assert!(at >= Duration::from_secs(10), "{at:?}");
    }
}
