//! Retries (DESIGN §5): capped exponential backoff with full jitter for transient failures, and
//! the bounds on what a throttling provider can make a run wait.

use std::time::Duration;

/// Throttled answers tolerated per request before giving up on it.
pub const MAX_THROTTLES: u32 = 20;

/// Longest pause a throttling answer can impose (a wild `Retry-After` must not freeze a run).
pub const MAX_PAUSE: Duration = Duration::from_secs(15 * 60);

/// Pause after a throttling answer that names no reset: doubles per repeat, up to a minute.
pub fn default_throttle_pause(throttles: u32) -> Duration {
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

#[cfg(test)]
mod tests {
    use super::*;

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
