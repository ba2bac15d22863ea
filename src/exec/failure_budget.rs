//! The failure budget: how many more targets may be dispatched without risking more failures
//! than `limits.max_failures` allows.
//!
//! Budget arithmetic (DESIGN §5, "never overshot"): with `allowed` failures tolerated, a target
//! is dispatched only while `failures + in_flight < allowed` — even if every request in flight
//! failed, the run would not pass its budget — and dispatch stops for good once `failures`
//! reaches `allowed`. The price: near the end of the budget, fewer requests run at once.

use std::sync::Mutex;

use tokio::sync::Notify;

pub struct Budget {
    allowed: Option<u64>,
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    failures: u64,
    in_flight: u64,
    exceeded: bool,
}

impl Budget {
    pub fn new(allowed: Option<u64>) -> Self {
        Budget::resumed(allowed, 0)
    }

    /// The budget of a resumed run: `before` failures already stand (the budget is the run's,
    /// not each resume's). A budget of no failure at all allows no request: any one could fail.
    pub fn resumed(allowed: Option<u64>, before: u64) -> Self {
        let exceeded = allowed.is_some_and(|a| before >= a);
        Budget {
            allowed,
            state: Mutex::new(State {
                exceeded,
                failures: before,
                ..State::default()
            }),
            changed: Notify::new(),
        }
    }

    pub fn allowed(&self) -> Option<u64> {
        self.allowed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for room to dispatch one more target. `false` once the budget is exceeded.
    pub async fn reserve(&self) -> bool {
        loop {
            let notified = self.changed.notified();
            {
                let mut s = self.lock();
                if s.exceeded {
                    return false;
                }
                if self.allowed.is_none_or(|a| s.failures + s.in_flight < a) {
                    s.in_flight += 1;
                    return true;
                }
            }
            notified.await;
        }
    }

    /// A reserved target finished; returns true when this failure used the budget up.
    pub fn release(&self, failed: bool) -> bool {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        let mut newly = false;
        if failed {
            s.failures += 1;
            if self.allowed.is_some_and(|a| s.failures >= a) && !s.exceeded {
                s.exceeded = true;
                newly = true;
            }
        }
        drop(s);
        self.changed.notify_waiters();
        newly
    }

    /// The reserved target is one whose failure already counts (a resumed run sends a target
    /// that failed before again): it cannot add a failure, so it holds no room in flight.
    pub fn counted_already(&self) {
        self.unreserve();
    }

    /// Such a target finished: a success gives its failure back.
    pub fn release_counted(&self, failed: bool) {
        if !failed {
            let mut s = self.lock();
            s.failures = s.failures.saturating_sub(1);
            drop(s);
            self.changed.notify_waiters();
        }
    }

    /// A reservation that found no target to run.
    pub fn unreserve(&self) {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        drop(s);
        self.changed.notify_waiters();
    }

    pub fn exceeded(&self) -> bool {
        self.lock().exceeded
    }

    pub fn failures(&self) -> u64 {
        self.lock().failures
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn dispatch_waits_when_in_flight_could_overshoot() {
        let b = Arc::new(Budget::new(Some(3)));
        assert!(b.reserve().await);
        assert!(b.reserve().await);
        assert!(b.reserve().await); // failures 0 + in flight 2 < 3
        let b2 = b.clone();
        let fourth = tokio::spawn(async move { b2.reserve().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !fourth.is_finished(),
            "3 in flight could all fail: no room for a fourth"
        );
        assert!(!b.release(false));
        assert!(fourth.await.unwrap());
        assert!(!b.release(true));
        assert!(!b.release(true));
        assert!(b.release(true), "the third failure uses a budget of 3 up");
        assert!(!b.reserve().await, "and nothing more is dispatched");
        assert_eq!(b.failures(), 3, "never more than the budget");
    }

    #[tokio::test]
    async fn budget_of_one_runs_one_at_a_time() {
        let b = Budget::new(Some(1));
        assert!(b.reserve().await);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), b.reserve())
                .await
                .is_err()
        );
        b.release(false);
        assert!(b.reserve().await);
    }

    #[tokio::test]
    async fn a_resumed_budget_counts_earlier_failures_and_gives_back_retried_ones() {
        let b = Budget::resumed(Some(3), 3);
        assert!(
            b.exceeded(),
            "three earlier failures use a budget of three up"
        );
        let b = Budget::resumed(Some(3), 2);
        assert!(b.reserve().await);
        // A target that failed before, sent again: no room held, and its success frees one.
        b.counted_already();
        b.release_counted(false);
        assert_eq!(b.failures(), 1);
        assert!(b.reserve().await);
        assert!(b.reserve().await);
        assert!(!b.release(true));
        assert!(b.release(true), "1 + 2 new failures reach 3");
        assert_eq!(b.failures(), 3);
    }

    #[tokio::test]
    async fn budget_of_zero_allows_nothing() {
        let b = Budget::new(Some(0));
        assert!(b.exceeded());
        assert!(!b.reserve().await);
    }

    #[tokio::test]
    async fn no_budget_no_limit() {
        let b = Budget::new(None);
        for _ in 0..100 {
            assert!(b.reserve().await);
        }
        for _ in 0..100 {
            assert!(!b.release(true));
        }
    }
}
