//! A quota's memory across processes: the requests a family already made within its window
//! (read back from the journal: the campaign's lookups, earlier verification passes), so a new
//! pass's pacer starts where the last one left off instead of with a fresh window. TPNS
//! answers 200 statistics calls an hour; a second `pushfix verify` a minute after the first
//! must not get another 200.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::pacer::SAFETY_MARGIN;
use crate::domain::Rate;

/// The least margin of the window, for jitter between dispatch and arrival: these quotas are
/// slow (TPNS statistics 200/h), so a fixed 50 ms costs nothing measurable and needs no
/// estimate from answers, unlike the campaign's pacer.
const WINDOW_SLACK: Duration = Duration::from_millis(50);

pub struct QuotaGuard {
    limit: usize,
    window: Duration,
    interval: Duration,
    /// Dispatches within the last window, oldest first (earlier ones primed from the journal).
    recent: tokio::sync::Mutex<VecDeque<Instant>>,
}

impl QuotaGuard {
    /// A guard for `rate` that remembers requests made `ages` ago (any order).
    pub fn new(rate: Rate, ages: impl IntoIterator<Item = Duration>) -> QuotaGuard {
        let margin = 1.0 + SAFETY_MARGIN;
        let (limit, window) = if rate.count >= 1.0 {
            (rate.count.floor() as usize, rate.per)
        } else {
            (1, rate.per.mul_f64(1.0 / rate.count))
        };
        let window = window.mul_f64(margin).max(window + WINDOW_SLACK);
        let now = Instant::now();
        let mut recent: Vec<Instant> = ages
            .into_iter()
            .filter(|a| *a < window)
            .filter_map(|a| now.checked_sub(a))
            .collect();
        recent.sort();
        QuotaGuard {
            limit: limit.max(1),
            window,
            interval: rate.interval().mul_f64(margin),
            recent: tokio::sync::Mutex::new(recent.into_iter().collect()),
        }
    }

    /// How many requests the window still allows now.
    pub async fn room(&self) -> usize {
        let mut r = self.recent.lock().await;
        Self::expire(&mut r, self.window);
        self.limit.saturating_sub(r.len())
    }

    fn expire(r: &mut VecDeque<Instant>, window: Duration) {
        let now = Instant::now();
        while r.front().is_some_and(|t| now.duration_since(*t) >= window) {
            r.pop_front();
        }
    }

    /// Wait until one more request fits: fewer than the quota's count within its window, and
    /// one interval after the last request (the earlier process's included).
    pub async fn admit(&self) {
        loop {
            let at = {
                let mut r = self.recent.lock().await;
                Self::expire(&mut r, self.window);
                let mut at = Instant::now();
                if let Some(last) = r.back() {
                    at = at.max(*last + self.interval);
                }
                if r.len() >= self.limit
                    && let Some(oldest) = r.front()
                {
                    at = at.max(*oldest + self.window);
                }
                at
            };
            if at <= Instant::now() {
                return;
            }
            sleep_until(at).await;
        }
    }

    /// A request of the family left now.
    pub async fn record(&self) {
        self.recent.lock().await.push_back(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 150 statistics calls in the last half hour (an earlier pass): the next 50 go, one
    /// interval apart, and the 51st waits for the oldest to leave the hour.
    #[tokio::test(start_paused = true)]
    async fn a_primed_window_holds_the_rest_of_the_hour() {
        let rate = Rate::per_hour(200.0);
        let ages = (0..150).map(|i| Duration::from_secs(1800) - Duration::from_secs(i * 12));
        let g = QuotaGuard::new(rate, ages);
        assert_eq!(g.room().await, 50);
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..51 {
            g.admit().await;
            g.record().await;
            at.push(Instant::now().duration_since(start));
        }
        // The last earlier request was 1800 - 149*12 = 12 s ago: the first waits 18.18 - 12 s.
        assert!(
            at[0] >= Duration::from_secs(6) && at[0] < Duration::from_secs(7),
            "{:?}",
            at[0]
        );
        for w in at[..50].windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(18_180), "{w:?}");
        }
        // The 51st: the oldest earlier request (30 min ago) leaves the window after ~30.3 min.
        assert!(at[50] >= Duration::from_secs(1800 + 36), "{:?}", at[50]);
    }
}
