//! Fixed rate-limit windows, the way providers describe their limits ("600 per minute", "1 per
//! second"). Each provider keeps the windows of its own API families.

use std::time::Duration;

use crate::domain::Rate;

/// A fixed rate-limit window (`limit` calls per `len`), windows laid end to end from the
/// sandbox start. This is how both providers describe their limits ("600 per minute", "1 per
/// second") and what `X-Rate-Limit-Reset` (seconds until the window resets) presumes.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub limit: u64,
    pub len: Duration,
    idx: u64,
    used: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WindowState {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Whole seconds until the current window ends (at least 1 while it runs).
    pub reset_secs: u64,
}

impl Window {
    /// `count` per `per`; a fractional count (`2.5/s`) is turned into a whole number of calls
    /// over a longer window (`5 per 2 s`).
    pub fn from_rate(rate: Rate) -> Window {
        let mut mult = 1u32;
        while mult < 1000 {
            let scaled = rate.count * f64::from(mult);
            if scaled >= 1.0 && (scaled - scaled.round()).abs() < 1e-6 {
                break;
            }
            mult += 1;
        }
        let limit = (rate.count * f64::from(mult)).round().max(1.0) as u64;
        Window {
            limit,
            len: rate.per * mult,
            idx: 0,
            used: 0,
        }
    }

    fn roll(&mut self, elapsed: Duration) -> Duration {
        let len = self.len.as_nanos().max(1);
        let idx = (elapsed.as_nanos() / len) as u64;
        if idx != self.idx {
            self.idx = idx;
            self.used = 0;
        }
        let end = Duration::from_nanos(((u128::from(idx) + 1) * len) as u64);
        end.saturating_sub(elapsed)
    }

    fn state(&self, allowed: bool, left: Duration) -> WindowState {
        WindowState {
            allowed,
            limit: self.limit,
            remaining: self.limit.saturating_sub(self.used),
            reset_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
        }
    }

    /// No ceiling at all (`pushfix sandbox --rate off`, for throughput benchmarks: the sandbox
    /// must not be what limits the client). Its answers still carry the headers.
    pub fn unlimited() -> Window {
        Window {
            limit: u64::MAX,
            len: Duration::from_secs(1),
            idx: 0,
            used: 0,
        }
    }

    /// `rate`'s window, or no ceiling when `rate` is None.
    pub fn from_limit(rate: Option<Rate>) -> Window {
        rate.map_or_else(Window::unlimited, Window::from_rate)
    }

    /// The window as it stands, without using a call.
    pub fn peek(&mut self, elapsed: Duration) -> WindowState {
        let left = self.roll(elapsed);
        let allowed = self.used < self.limit;
        self.state(allowed, left)
    }

    /// Use one call if the window has room.
    pub fn take(&mut self, elapsed: Duration) -> WindowState {
        let left = self.roll(elapsed);
        let allowed = self.used < self.limit;
        if allowed {
            self.used += 1;
        }
        self.state(allowed, left)
    }
}

/// `rate` as the debug views show it ("600 per 60s"; "unlimited" for no ceiling).
pub(crate) fn describe(rate: Option<Rate>) -> String {
    match rate {
        Some(rate) => {
            let w = Window::from_rate(rate);
            format!("{} per {}s", w.limit, w.len.as_secs_f64())
        }
        None => "unlimited".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        let mut w = Window::from_rate(Rate::per_minute(600.0));
        assert_eq!((w.limit, w.len), (600, Duration::from_secs(60)));
        let s = w.take(Duration::from_millis(500));
        assert_eq!((s.allowed, s.remaining, s.reset_secs), (true, 599, 60));
        let w2 = Window::from_rate(Rate::per_second(2.5));
        assert_eq!((w2.limit, w2.len), (5, Duration::from_secs(2)));
        let w3 = Window::from_rate(Rate::per_second(0.5));
        assert_eq!((w3.limit, w3.len), (1, Duration::from_secs(2)));

        let mut w = Window::from_rate(Rate::per_second(1.0));
        assert!(w.take(Duration::from_millis(10)).allowed);
        let s = w.take(Duration::from_millis(900));
        assert!(!s.allowed);
        assert_eq!((s.remaining, s.reset_secs), (0, 1));
        assert!(w.take(Duration::from_millis(1001)).allowed);
        assert!(!w.peek(Duration::from_millis(1500)).allowed);

        let mut w = Window::from_limit(None);
        for i in 0..100_000u64 {
            assert!(w.take(Duration::from_micros(i)).allowed);
        }
        assert_eq!(describe(None), "unlimited");
    }
}
