//! Progress on stderr: a bar on a terminal (done / in flight / left / errors / rate / ETA), a
//! plain status line every few seconds otherwise (CronJob and CI logs), nothing in tests.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::domain::format_duration;
use crate::event::Outcome;

/// How often the plain status line is printed.
pub const STATUS_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bar,
    Lines,
    Quiet,
}

pub struct Progress {
    mode: Mode,
    counters: Arc<Counters>,
    bar: Mutex<Option<ProgressBar>>,
    ticker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[derive(Default)]
struct Counters {
    step: Mutex<String>,
    total: AtomicU64,
    done: AtomicU64,
    errors: AtomicU64,
    in_flight: AtomicI64,
    requests: AtomicU64,
    started: Mutex<Option<Instant>>,
}

impl Counters {
    fn line(&self) -> String {
        let total = self.total.load(Ordering::Relaxed);
        let done = self.done.load(Ordering::Relaxed);
        let errors = self.errors.load(Ordering::Relaxed);
        let in_flight = self.in_flight.load(Ordering::Relaxed).max(0);
        let requests = self.requests.load(Ordering::Relaxed);
        let elapsed = self
            .started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(0.0, |s| s.elapsed().as_secs_f64());
        let rate = if elapsed > 0.0 {
            requests as f64 / elapsed
        } else {
            0.0
        };
        let left = total.saturating_sub(done);
        let eta = if done > 0 && left > 0 {
            format_duration(Duration::from_secs_f64(elapsed / done as f64 * left as f64))
        } else {
            "-".into()
        };
        format!(
            "{done}/{total} done, {in_flight} in flight, {left} left, {errors} errors, {rate:.1} req/s, ETA {eta}"
        )
    }
}

impl Progress {
    pub fn new(mode: Mode) -> Self {
        Progress {
            mode,
            counters: Arc::new(Counters::default()),
            bar: Mutex::new(None),
            ticker: Mutex::new(None),
        }
    }

    pub fn step_started(&self, name: &str, action: &str, to_send: u64) {
        let c = &self.counters;
        *c.step.lock().unwrap_or_else(|e| e.into_inner()) = name.to_string();
        c.total.store(to_send, Ordering::Relaxed);
        c.done.store(0, Ordering::Relaxed);
        c.errors.store(0, Ordering::Relaxed);
        c.requests.store(0, Ordering::Relaxed);
        c.in_flight.store(0, Ordering::Relaxed);
        *c.started.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        match self.mode {
            Mode::Bar => {
                let bar =
                    ProgressBar::with_draw_target(Some(to_send), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(format!("{name} ({action})"));
                bar.enable_steady_tick(Duration::from_millis(200));
                *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
                self.spawn_ticker(Duration::from_millis(250));
            }
            Mode::Lines => {
                eprintln!("step {name}: {action}, {to_send} targets to send");
                self.spawn_ticker(STATUS_EVERY);
            }
            Mode::Quiet => {}
        }
    }

    fn spawn_ticker(&self, every: Duration) {
        let counters = self.counters.clone();
        let bar = self.bar.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mode = self.mode;
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let task = handle.spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.tick().await;
            loop {
                interval.tick().await;
                match (&bar, mode) {
                    (Some(b), _) => b.set_message(counters.line()),
                    (None, Mode::Lines) => {
                        let step = counters
                            .step
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .clone();
                        eprintln!("step {step}: {}", counters.line());
                    }
                    _ => {}
                }
            }
        });
        if let Some(old) = self
            .ticker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(task)
        {
            old.abort();
        }
    }

    pub fn request_sent(&self) {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn in_flight(&self, delta: i64) {
        self.counters.in_flight.fetch_add(delta, Ordering::Relaxed);
    }

    pub fn target_finished(&self, outcome: Outcome) {
        self.counters.done.fetch_add(1, Ordering::Relaxed);
        if outcome.is_failure() {
            self.counters.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            b.inc(1);
        }
    }

    /// A notable event (throttling, a stop) printed without breaking the bar.
    pub fn note(&self, text: &str) {
        match (
            self.mode,
            self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref(),
        ) {
            (Mode::Bar, Some(b)) => b.println(text),
            (Mode::Quiet, _) => {}
            _ => eprintln!("{text}"),
        }
    }

    pub fn step_finished(&self) {
        if let Some(t) = self.ticker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            t.abort();
        }
        let line = self.counters.line();
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.set_message(line);
            b.finish();
        } else if self.mode == Mode::Lines {
            let step = self
                .counters
                .step
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            eprintln!("step {step}: finished, {line}");
        }
    }
}
