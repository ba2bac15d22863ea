//! Client-side pacing: one pacer per provider app and API family (DESIGN §5).
//!
//! Two rules together. A **cadence**: each request reserves the next slot of a schedule one
//! interval apart (burst 1, no token-bucket head start) and sleeps until it, without holding
//! any lock. Slots are reserved when a worker asks, so a wake-up that comes late (tokio's timer
//! ticks once a millisecond; slots at high rates are a tenth of that apart) delays neither the
//! schedule nor the workers behind it: the slots that fell due within one tick go out together
//! in that tick. A worker that asks after its slot has passed (a pause in demand) starts the
//! schedule again from now, so there is never a back-to-back pair.
//!
//! And a hard **guard**, on actual dispatch instants: a dispatch that would be the N+1st of a
//! period waits until the period has passed since the dispatch N before it, plus a slack. The
//! provider counts arrivals, not dispatches; the slack is how much later than the fastest
//! request that earlier one may have arrived: its own answer's latency beyond the fastest
//! recent one (a request that travelled slowly is covered by its own measured delay, and a
//! single slow answer holds back one dispatch, not the next hundreds), or while fewer than 16
//! answers are in, its whole latency (a one-way trip is shorter than the round trip), or
//! without an answer yet, the spread of recent latencies. Then no N+1 requests can arrive
//! within one period: no window of the provider's, fixed or sliding, sees more than its
//! quota. The cadence runs 1% under the quota, so the guard only binds when a request's delay
//! exceeds the fastest by more than 1% of the period.
//!
//! A throttling answer pauses the whole family. `X-Rate-Limit-Remaining: 0` does too, unless
//! the pacer's own dispatches account for it and the guard already keeps the next one out of
//! that window (see [`Pacer::exhausted_by_own_pace`]).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use crate::domain::Rate;
use crate::provider::answer::RateHeaders;

/// Pace this fraction under the quota: the cadence alone then leaves 1% of the period for
/// jitter before the guard has to hold anything back.
pub const SAFETY_MARGIN: f64 = 0.01;

/// Answer latencies kept for the jitter estimate.
const LATENCY_SAMPLES: usize = 256;

/// Below this many answers, the slack is the largest latency seen rather than the spread.
const MIN_SAMPLES: usize = 16;

/// The slack while no answer has come back yet (nothing measured; only the first N dispatches
/// of a family can be sent before an answer, and this only matters for the N+1st).
pub const INITIAL_SLACK: Duration = Duration::from_millis(50);

/// Added to every measured slack: dispatch times are taken on a clock whose sleeps end on a
/// one-millisecond tick.
pub const TICK: Duration = Duration::from_millis(1);

pub struct Pacer {
    interval: Duration,
    /// At most `limit` dispatches in any `window` + slack.
    limit: usize,
    /// The quota's own period (for a fractional count, the period that holds one request).
    window: Duration,
    state: Mutex<State>,
}

struct State {
    /// The next free slot of the cadence.
    next: Option<Instant>,
    /// The last `2 * limit` dispatches at most, in order.
    sent: VecDeque<Sent>,
    /// The sequence number of `sent[0]`.
    first_seq: u64,
    /// An answer once showed more of the quota used than this pacer's own dispatches can
    /// account for: someone else uses it too.
    foreign: bool,
    paused_until: Option<Instant>,
    latency: Latency,
}

/// One dispatch as the guard remembers it.
struct Sent {
    at: Instant,
    /// Its answer's latency, once it came.
    latency: Option<Duration>,
}

/// A dispatch the pacer let go: when, and which (to match its answer in [`Pacer::observe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dispatch {
    pub at: Instant,
    seq: u64,
}

/// Recent answer latencies (from the pacer's dispatch instant to the answer).
#[derive(Default)]
struct Latency {
    /// How many samples were recorded, ever (the window is the last LATENCY_SAMPLES).
    count: u64,
    /// The window's minimum and maximum in O(1) per sample: candidates as (sample number,
    /// latency), increasing (`lows`) or decreasing (`highs`) in latency; the front is the
    /// extreme. A fold over the whole window on every answer was a sixtieth of a run's CPU.
    lows: VecDeque<(u64, Duration)>,
    highs: VecDeque<(u64, Duration)>,
    max_seen: Duration,
    /// The fastest of the window, and the slack, as of the last sample.
    fastest: Duration,
    slack: Option<Duration>,
}

impl Latency {
    fn record(&mut self, d: Duration) {
        let n = self.count;
        self.count += 1;
        while self.lows.back().is_some_and(|&(_, l)| l >= d) {
            self.lows.pop_back();
        }
        self.lows.push_back((n, d));
        while self.highs.back().is_some_and(|&(_, h)| h <= d) {
            self.highs.pop_back();
        }
        self.highs.push_back((n, d));
        // Out of the window: samples older than the last LATENCY_SAMPLES.
        let oldest = self.count.saturating_sub(LATENCY_SAMPLES as u64);
        while self.lows.front().is_some_and(|&(i, _)| i < oldest) {
            self.lows.pop_front();
        }
        while self.highs.front().is_some_and(|&(i, _)| i < oldest) {
            self.highs.pop_front();
        }
        self.max_seen = self.max_seen.max(d);
        let (lo, hi) = (self.lows[0].1, self.highs[0].1);
        self.fastest = lo;
        let spread = if self.len() < MIN_SAMPLES {
            // A one-way trip takes less than its round trip: a bound that needs no statistics.
            self.max_seen
        } else {
            hi - lo
        };
        self.slack = Some(spread + TICK);
    }

    /// Samples in the window.
    fn len(&self) -> usize {
        self.count.min(LATENCY_SAMPLES as u64) as usize
    }

    /// The spread of recent latencies (before any answer, [`INITIAL_SLACK`]).
    fn slack(&self) -> Duration {
        self.slack.unwrap_or(INITIAL_SLACK)
    }

    /// How much later than the fastest request one whose answer took `latency` may have
    /// reached the provider; None: its answer is not in (yet), so the spread of recent ones.
    fn excess(&self, latency: Option<Duration>) -> Duration {
        match latency {
            Some(l) if self.len() >= MIN_SAMPLES => l.saturating_sub(self.fastest) + TICK,
            Some(l) => l + TICK,
            None => self.slack(),
        }
    }
}

/// Why a worker cannot go yet.
enum Wait {
    /// The family is paused: reserve a new slot after the pause.
    Paused(Instant),
    /// The guard's window is full until then.
    Guard(Instant),
}

impl Pacer {
    pub fn new(rate: Rate) -> Self {
        let interval = rate.interval().mul_f64(1.0 + SAFETY_MARGIN);
        // A fractional count (0.5/s) becomes one request per 2 s.
        let (limit, window) = if rate.count >= 1.0 {
            (rate.count.floor() as usize, rate.per)
        } else {
            (1, rate.per.mul_f64(1.0 / rate.count))
        };
        Pacer {
            interval,
            limit: limit.max(1),
            window,
            state: Mutex::new(State {
                next: None,
                sent: VecDeque::new(),
                first_seq: 0,
                foreign: false,
                paused_until: None,
                latency: Latency::default(),
            }),
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The quota's period plus the spread of recent answer latencies (the guard's window for
    /// a request whose answer is not in yet; the `Remaining: 0` rule's window).
    pub fn guard_window(&self) -> Duration {
        self.window + self.lock().latency.slack()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for this family's next slot; returns the dispatch instant.
    pub async fn acquire(&self) -> Instant {
        self.dispatch().await.at
    }

    /// Wait for this family's next slot; the dispatch, for [`Pacer::observe`].
    pub async fn dispatch(&self) -> Dispatch {
        loop {
            let slot = self.reserve();
            // A slot within the current timer tick goes now: sleeping for it would wake a
            // whole tick later. This is how sub-millisecond slots are batched: early by less
            // than a tick is jitter the cadence's margin absorbs, and the guard still counts.
            if slot > Instant::now() + TICK {
                sleep_until(slot).await;
            }
            loop {
                match self.try_dispatch() {
                    Ok(d) => return d,
                    Err(Wait::Guard(until)) => sleep_until(until).await,
                    Err(Wait::Paused(until)) => {
                        sleep_until(until).await;
                        break;
                    }
                }
            }
        }
    }

    /// Take the next slot of the cadence (never before now or the end of a pause).
    fn reserve(&self) -> Instant {
        let mut st = self.lock();
        let now = Instant::now();
        let earliest = st.paused_until.map_or(now, |p| p.max(now));
        let slot = st.next.map_or(earliest, |n| n.max(earliest));
        st.next = Some(slot + self.interval);
        slot
    }

    /// Dispatch now if no pause and the guard allow it.
    fn try_dispatch(&self) -> Result<Dispatch, Wait> {
        let mut st = self.lock();
        let now = Instant::now();
        if let Some(p) = st.paused_until.filter(|p| *p > now) {
            return Err(Wait::Paused(p));
        }
        let len = st.sent.len();
        if len >= self.limit {
            let oldest = &st.sent[len - self.limit];
            let opens = oldest.at + self.window + st.latency.excess(oldest.latency);
            if opens > now {
                // The cadence resumes an interval after the guard lets this one go, rather
                // than catching up on the slots the guard held back.
                let after = opens + self.interval;
                st.next = Some(st.next.map_or(after, |n| n.max(after)));
                return Err(Wait::Guard(opens));
            }
        }
        if len >= 2 * self.limit {
            st.sent.pop_front();
            st.first_seq += 1;
        }
        st.sent.push_back(Sent {
            at: now,
            latency: None,
        });
        Ok(Dispatch {
            at: now,
            seq: st.first_seq + st.sent.len() as u64 - 1,
        })
    }

    /// An answer came back to the request dispatched at `dispatched`: its latency feeds the
    /// guard's slack, and its rate-limit headers are checked against this pacer's own count.
    /// The provider counted `limit − remaining` requests in its window when this one arrived;
    /// of this pacer's, at most those dispatched within a period plus the slack before it (or
    /// the slack after) can be among them. More than that, and someone else uses the quota.
    pub fn observe(&self, d: Dispatch, rate: &RateHeaders) {
        let dispatched = d.at;
        let latency = Instant::now().saturating_duration_since(dispatched);
        let mut st = self.lock();
        st.latency.record(latency);
        if let Some(i) = d.seq.checked_sub(st.first_seq)
            && let Some(s) = st.sent.get_mut(i as usize)
        {
            s.latency = Some(latency);
        }
        let slack = st.latency.slack();
        if let Some(remaining) = rate.remaining {
            let limit = rate.limit.unwrap_or(self.limit as u64);
            let used = limit.saturating_sub(remaining);
            let from = dispatched.checked_sub(self.window + slack);
            let lo = from.map_or(0, |f| st.sent.partition_point(|s| s.at <= f));
            let hi = st.sent.partition_point(|s| s.at <= dispatched + slack);
            if used > (hi - lo) as u64 {
                st.foreign = true;
            }
        }
    }

    /// Whether `X-Rate-Limit-Remaining: 0` on the answer to the request dispatched at
    /// `dispatched` is this pacer's own doing, with the next window already safe: the
    /// provider's quota is the pacer's (`limit`, when the answer names one, is N); that
    /// request and the N−1 before it left within one guard window (the guard is full, so it
    /// holds the next dispatch until a guard window after the first of them — by when that
    /// first one, and every earlier one, has left the provider's window, fixed or sliding);
    /// and no answer ever showed usage beyond this pacer's own (nobody else can have filled
    /// the window). Otherwise the family pauses until the provider's reset.
    pub fn exhausted_by_own_pace(&self, dispatched: Instant, limit: Option<u64>) -> bool {
        let n = self.limit;
        if limit.is_some_and(|l| l != n as u64) {
            return false;
        }
        let st = self.lock();
        if st.foreign {
            return false;
        }
        let upto = st.sent.partition_point(|s| s.at <= dispatched);
        if upto < n {
            return false;
        }
        dispatched.duration_since(st.sent[upto - n].at) < self.window + st.latency.slack()
    }

    /// Pause the family until `until` (a throttling answer); never shortens a longer pause.
    pub fn pause_until(&self, until: Instant) {
        let mut st = self.lock();
        if st.paused_until.is_none_or(|cur| until > cur) {
            st.paused_until = Some(until);
        }
    }

    pub fn paused(&self) -> Option<Instant> {
        self.lock().paused_until.filter(|t| *t > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// The running minimum and maximum are those of the last LATENCY_SAMPLES samples.
    #[test]
    fn latency_window_extremes_are_the_windows() {
        let mut l = Latency::default();
        let mut all = Vec::new();
        let mut x = 7u64;
        for i in 0..3000u64 {
            // Rising, falling and jumping runs, so that extremes enter and leave the window.
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let ms = match (i / 400) % 3 {
                0 => i % 400,
                1 => 400 - i % 400,
                _ => (x >> 33) % 1000,
            };
            let d = Duration::from_micros(ms * 100 + 1);
            all.push(d);
            l.record(d);
            let window = &all[all.len().saturating_sub(LATENCY_SAMPLES)..];
            let (lo, hi) = (*window.iter().min().unwrap(), *window.iter().max().unwrap());
            assert_eq!(l.fastest, lo, "sample {i}");
            if window.len() >= MIN_SAMPLES {
                assert_eq!(l.slack(), hi - lo + TICK, "sample {i}");
            }
        }
    }

    async fn dispatch_times(pacer: Arc<Pacer>, n: usize, workers: usize) -> Vec<Duration> {
        let start = Instant::now();
        let times = Arc::new(Mutex::new(Vec::new()));
        let per = n / workers;
        let mut handles = Vec::new();
        for _ in 0..workers {
            let (p, t) = (pacer.clone(), times.clone());
            handles.push(tokio::spawn(async move {
                for _ in 0..per {
                    let d = p.dispatch().await;
                    t.lock().unwrap().push(d.at - start);
                    // Some requests take a while; the pacer must not care.
                    tokio::time::sleep(Duration::from_millis(37)).await;
                    p.observe(d, &RateHeaders::default());
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

    /// The most dispatches in any half-open window of `len`.
    fn most_in_window(t: &[Duration], len: Duration) -> usize {
        let mut sorted = t.to_vec();
        sorted.sort();
        let (mut best, mut first) = (0, 0);
        for (i, at) in sorted.iter().enumerate() {
            while sorted[first] + len <= *at {
                first += 1;
            }
            best = best.max(i + 1 - first);
        }
        best
    }

    /// `workers` workers each sending `per_worker` requests whose answers take `latency(i)`.
    async fn run_workers(
        pacer: Arc<Pacer>,
        workers: usize,
        per_worker: usize,
        latency: fn(usize) -> Duration,
    ) -> Vec<Duration> {
        let start = Instant::now();
        let times = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for w in 0..workers {
            let (p, t) = (pacer.clone(), times.clone());
            handles.push(tokio::spawn(async move {
                for i in 0..per_worker {
                    let d = p.dispatch().await;
                    t.lock().unwrap().push(d.at - start);
                    tokio::time::sleep(latency(i * workers + w)).await;
                    p.observe(d, &RateHeaders::default());
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
        // And the cadence holds after it: no burst at the pause's end.
        for w in times.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(10), "{times:?}");
        }
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

    /// One request per second: a cadence of 1.01 s, and the guard's slack is measured, no
    /// longer a fixed 50 ms. Here answers take 20-24 ms: until 16 are in, a dispatch waits a
    /// second plus the whole latency of the one before it (a one-way trip is shorter than its
    /// round trip: up to 24 ms + the 1 ms tick, above the cadence's 10 ms margin, so the guard
    /// sets the pace); then a second plus that request's delay beyond the fastest (at most
    /// 4 ms + 1 ms), and the cadence does. Measured anywhere, two dispatches are at least
    /// max(cadence, guard) apart.
    #[tokio::test(start_paused = true)]
    async fn one_per_second_keeps_its_slack() {
        let pacer = Pacer::new(Rate::per_second(1.0));
        let start = Instant::now();
        let mut t = Vec::new();
        for i in 0..40u64 {
            let d = pacer.dispatch().await;
            t.push(d.at - start);
            tokio::time::sleep(Duration::from_millis(20 + i % 5)).await;
            pacer.observe(d, &RateHeaders::default());
        }
        assert_eq!(
            pacer.guard_window(),
            Duration::from_secs(1) + Duration::from_millis(4) + TICK
        );
        for w in t.windows(2) {
            let gap = w[1] - w[0];
            assert!(gap >= Duration::from_millis(1010), "{t:?}");
            assert!(gap <= Duration::from_millis(1025), "{t:?}");
        }
        let late: Vec<_> = t[20..].windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            late.iter().all(|g| *g == Duration::from_millis(1010)),
            "with 5 ms of jitter the cadence sets the pace: {late:?}"
        );
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

    /// At 10,000/s the slots are 101 µs apart, ten to a timer tick: workers that wake a tick
    /// late still leave on schedule (the slots that fell due go out together), so the rate
    /// holds — where sleeping slot by slot and restarting the cadence at every late wake-up
    /// gave one dispatch per tick.
    #[tokio::test(start_paused = true)]
    async fn sub_millisecond_slots_keep_the_rate() {
        let pacer = Arc::new(Pacer::new(Rate::per_second(10_000.0)));
        // Every request takes a tick or two; so does every wake-up.
        let t = run_workers(pacer, 64, 500, |_| Duration::from_micros(1500)).await;
        assert_eq!(t.len(), 32_000);
        let achieved = (t.len() - 1) as f64 / t.last().unwrap().as_secs_f64();
        assert!(achieved >= 0.98 * 10_000.0, "{achieved}/s");
        assert!(most_in_window(&t, Duration::from_secs(1)) <= 10_000);
    }

    /// The guard counts actual dispatches and covers each request's own measured delay:
    /// answers that take 5 to 85 ms (80 ms of spread, far above the cadence's 1%). Even if
    /// all of a request's latency were on the way out (it arrived `latency` after it left),
    /// no second of arrivals holds more than the quota; and a slow answer holds back one
    /// dispatch by its own delay, so the rate stays near the quota.
    #[tokio::test(start_paused = true)]
    async fn the_guard_covers_each_requests_delay() {
        let pacer = Arc::new(Pacer::new(Rate::per_second(20.0)));
        let latency = |i: u64| Duration::from_millis(5 + (i * 37) % 81);
        let start = Instant::now();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for w in 0..8u64 {
            let (p, sent) = (pacer.clone(), sent.clone());
            handles.push(tokio::spawn(async move {
                for i in 0..50u64 {
                    let d = p.dispatch().await;
                    let l = latency(i * 8 + w);
                    sent.lock().unwrap().push((d.at - start, l));
                    tokio::time::sleep(l).await;
                    p.observe(d, &RateHeaders::default());
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let sent = sent.lock().unwrap().clone();
        let at_dispatch: Vec<Duration> = sent.iter().map(|(d, _)| *d).collect();
        let on_arrival: Vec<Duration> = sent.iter().map(|(d, l)| *d + *l).collect();
        assert!(most_in_window(&at_dispatch, Duration::from_secs(1)) <= 20);
        assert!(most_in_window(&on_arrival, Duration::from_secs(1)) <= 20);
        let w = pacer.guard_window();
        assert!(w >= Duration::from_millis(1080), "{w:?}");
        let mut t = at_dispatch;
        t.sort();
        let achieved = (t.len() - 1) as f64 / t.last().unwrap().as_secs_f64();
        assert!(achieved >= 20.0 / 1.05, "{achieved}/s");
    }

    /// One slow answer (a second instead of a few milliseconds) delays the one dispatch it
    /// guards, by its own delay, and not the ones after.
    #[tokio::test(start_paused = true)]
    async fn one_slow_answer_holds_back_one_dispatch() {
        let pacer = Pacer::new(Rate::per_second(1.0));
        let start = Instant::now();
        let mut t = Vec::new();
        for i in 0..60u64 {
            let d = pacer.dispatch().await;
            t.push(d.at - start);
            let l = if i == 30 { 300 } else { 2 + i % 3 };
            tokio::time::sleep(Duration::from_millis(l)).await;
            pacer.observe(d, &RateHeaders::default());
        }
        let gaps: Vec<Duration> = t.windows(2).map(|w| w[1] - w[0]).collect();
        // The dispatch after the slow one waits a second plus its 298 ms beyond the fastest.
        assert_eq!(gaps[30], Duration::from_millis(1000 + 298 + 1));
        assert!(
            gaps[31..].iter().all(|g| *g == Duration::from_millis(1010)),
            "{gaps:?}"
        );
    }

    fn left(remaining: u64) -> RateHeaders {
        RateHeaders {
            limit: Some(10),
            remaining: Some(remaining),
            reset: Some(1),
            retry_after: None,
        }
    }

    /// `Remaining: 0` is this pacer's own doing when its last N dispatches fill one guard
    /// window, the provider's limit is N and no answer showed usage beyond its own; not when
    /// the provider's limit is another, nor when the N are spread over more than a guard
    /// window, nor once another client's usage has shown.
    #[tokio::test(start_paused = true)]
    async fn remaining_zero_explained_by_the_own_pace() {
        let pacer = Pacer::new(Rate::per_second(10.0));
        let mut sent = Vec::new();
        for i in 0..10u64 {
            let d = pacer.dispatch().await;
            pacer.observe(d, &left(9 - i));
            sent.push(d.at);
        }
        assert!(
            !pacer.exhausted_by_own_pace(sent[8], Some(10)),
            "only 9 yet"
        );
        assert!(pacer.exhausted_by_own_pace(sent[9], Some(10)));
        assert!(pacer.exhausted_by_own_pace(sent[9], None));
        assert!(!pacer.exhausted_by_own_pace(sent[9], Some(12)));
        assert!(!pacer.exhausted_by_own_pace(sent[9], Some(5)));

        // A sliding window stays full: every answer says 0, and that is still the own pace.
        for _ in 0..10 {
            let d = pacer.dispatch().await;
            pacer.observe(d, &left(0));
            assert!(pacer.exhausted_by_own_pace(d.at, Some(10)));
        }

        // After an idle spell, ten spread over more than a guard window.
        let pacer = Pacer::new(Rate::per_second(10.0));
        let mut last = None;
        for i in 0..10u64 {
            if i == 5 {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            let d = pacer.dispatch().await;
            pacer.observe(d, &left(9 - i.min(4)));
            last = Some(d.at);
        }
        assert!(!pacer.exhausted_by_own_pace(last.unwrap(), Some(10)));

        // Another client took 3 of the window before the run's first request: 4 used after
        // one of its own is more than it can account for, and stays remembered.
        let pacer = Pacer::new(Rate::per_second(10.0));
        let mut last = None;
        for i in 0..10u64 {
            let d = pacer.dispatch().await;
            pacer.observe(d, &left(6u64.saturating_sub(i)));
            last = Some(d.at);
        }
        assert!(!pacer.exhausted_by_own_pace(last.unwrap(), Some(10)));
    }
}
