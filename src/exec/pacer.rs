//! Client-side pacing: one pacer per provider app and API family (DESIGN §5).
//!
//! Two rules together. A cadence: requests are scheduled one interval apart (burst 1, no token
//! bucket head start), and a worker that wakes a little late does not push the schedule back,
//! so timer granularity does not erode the rate. And a hard guard: never more than N requests in
//! any sliding window of the rate's period (N per second, per minute, per hour), measured from
//! actual dispatch times, so no window of the provider's, fixed or sliding, sees more than its
//! share. Both run a small margin under the quota. A throttling answer pauses the whole family.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use crate::domain::Rate;

/// Pace this fraction under the quota, to absorb jitter between our clock and the provider's.
pub const SAFETY_MARGIN: f64 = 0.01;

/// The least margin of the window guard (network jitter between dispatch and arrival).
pub const WINDOW_SLACK: Duration = Duration::from_millis(50);

pub struct Pacer {
    interval: Duration,
    /// At most `limit` dispatches in any `window`.
    limit: usize,
    window: Duration,
    /// Held while a worker waits its turn, so workers go one at a time, first come first served.
    state: tokio::sync::Mutex<State>,
    paused_until: Mutex<Option<Instant>>,
}

struct State {
    /// The next slot of the cadence.
    next: Option<Instant>,
    /// Dispatch times within the last window.
    recent: VecDeque<Instant>,
}

impl Pacer {
    pub fn new(rate: Rate) -> Self {
        let margin = 1.0 + SAFETY_MARGIN;
        let interval = rate.interval().mul_f64(margin);
        // A fractional count (0.5/s) becomes one request per 2 s.
        let (limit, window) = if rate.count >= 1.0 {
            (rate.count.floor() as usize, rate.per)
        } else {
            (1, rate.per.mul_f64(1.0 / rate.count))
        };
        // The window guard's margin is at least WINDOW_SLACK: requests take different times to
        // reach the provider, and its window is measured where they arrive.
        let window = window.mul_f64(margin).max(window + WINDOW_SLACK);
        Pacer {
            interval,
            limit: limit.max(1),
            window,
            state: tokio::sync::Mutex::new(State {
                next: None,
                recent: VecDeque::new(),
            }),
            paused_until: Mutex::new(None),
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Wait for this family's next slot; returns the dispatch instant.
    pub async fn acquire(&self) -> Instant {
        let mut st = self.state.lock().await;
        loop {
            let now = Instant::now();
            while st
                .recent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.window)
            {
                st.recent.pop_front();
            }
            let slot = st.next.unwrap_or(now);
            let mut at = slot.max(now);
            if let Some(p) = self.paused() {
                at = at.max(p);
            }
            if st.recent.len() >= self.limit
                && let Some(oldest) = st.recent.front()
            {
                at = at.max(*oldest + self.window);
            }
            if at > now {
                sleep_until(at).await;
                // A throttle may have arrived while we slept: look again.
                continue;
            }
            // Keep the cadence: a wake-up a little late does not delay the following slots; but
            // after a pause in demand the cadence restarts from now (no back-to-back pair).
            st.next = Some(if now.duration_since(slot) < self.interval {
                slot + self.interval
            } else {
                now + self.interval
            });
            st.recent.push_back(now);
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
        assert!(last < Duration::from_secs_f64(8.0 * 1.06), "{last:?}");
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

    /// After a pause in demand, the next two requests are still an interval apart.
    #[tokio::test(start_paused = true)]
    async fn no_back_to_back_pair_after_idling() {
        let pacer = Pacer::new(Rate::per_second(10.0));
        pacer.acquire().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let a = pacer.acquire().await;
        let b = pacer.acquire().await;
        assert!(b - a >= Duration::from_millis(100), "{:?}", b - a);
    }

    /// One request per second stays one per second plus the slack, measured anywhere.
    #[tokio::test(start_paused = true)]
    async fn one_per_second_keeps_its_slack() {
        let pacer = Pacer::new(Rate::per_second(1.0));
        let start = Instant::now();
        let mut t = Vec::new();
        for _ in 0..5 {
            t.push(pacer.acquire().await - start);
        }
        for w in t.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(1050), "{t:?}");
        }
    }

    /// A late wake-up does not cost throughput, and still no window overflows.
    #[tokio::test(start_paused = true)]
    async fn late_wakeups_keep_the_cadence() {
        let pacer = Pacer::new(Rate::per_second(50.0));
        let start = Instant::now();
        let mut times = Vec::new();
        for i in 0..200 {
            times.push(pacer.acquire().await - start);
            if i % 3 == 0 {
                // Simulate timer lateness: the caller comes back a millisecond after its slot.
                tokio::time::sleep(Duration::from_micros(1500)).await;
            }
        }
        let last = times.last().unwrap().as_secs_f64();
        assert!(last < 199.0 / 50.0 * 1.06, "{last}");
        for (i, a) in times.iter().enumerate() {
            let n = times[i..]
                .iter()
                .take_while(|b| **b < *a + Duration::from_secs(1))
                .count();
            assert!(n <= 50, "{n}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn fractional_rates() {
        let pacer = Pacer::new(Rate::per_second(0.5));
        let start = Instant::now();
        pacer.acquire().await;
        let second = pacer.acquire().await - start;
        assert!(second >= Duration::from_secs(2), "{second:?}");
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
