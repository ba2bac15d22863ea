//! Progress on stderr, as a sink of the run's stream: a bar on a terminal (done / in flight /
//! left / errors / rate / ETA), a plain status line every few seconds otherwise (CronJob and CI
//! logs), nothing in tests. Counts come from the events alone, as nextest's reporter takes its
//! numbers from `RunStats`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::domain::format_duration;
use crate::event::{Event, Note, Sink, SinkError};
use crate::report::{Outcomes, outcome_words};

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
    state: Arc<Mutex<State>>,
    bar: Mutex<Option<ProgressBar>>,
    /// The ticker thread of the current step stops when this flips.
    ticking: Mutex<Option<Arc<AtomicBool>>>,
}

#[derive(Default)]
struct State {
    step: String,
    total: u64,
    /// Targets of this step with their outcome (as the final table counts them).
    outcomes: Outcomes,
    done: u64,
    requests: u64,
    /// Targets dispatched and not yet finished.
    in_flight: HashSet<String>,
    started: Option<Instant>,
    /// The step's first request, and its last request or answer: the dispatch time the rate
    /// is measured over, as the report measures it.
    first_request: Option<Instant>,
    last_activity: Option<Instant>,
    /// Between the step's dispatch and its end: its outcomes count.
    dispatching: bool,
}

impl State {
    /// Requests ÷ the dispatch time so far (the report's rate figure, live).
    fn rate(&self) -> f64 {
        let (Some(first), Some(last)) = (self.first_request, self.last_activity) else {
            return 0.0;
        };
        let end = if self.dispatching && !self.in_flight.is_empty() {
            Instant::now()
        } else {
            last
        };
        let secs = end.duration_since(first).as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }

    fn line(&self) -> String {
        let elapsed = self.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        let left = self.total.saturating_sub(self.done);
        let eta = if self.done > 0 && left > 0 {
            format_duration(Duration::from_secs_f64(
                elapsed / self.done as f64 * left as f64,
            ))
        } else {
            "-".into()
        };
        let words = if self.done == 0 {
            String::new()
        } else {
            format!(" ({})", outcome_words(&self.outcomes))
        };
        format!(
            "{}/{} finished{words}, {} in flight, {left} left, {:.1} req/s, ETA {eta}",
            self.done,
            self.total,
            self.in_flight.len(),
            self.rate()
        )
    }
}

impl Progress {
    pub fn new(mode: Mode) -> Self {
        Progress {
            mode,
            state: Arc::new(Mutex::new(State::default())),
            bar: Mutex::new(None),
            ticking: Mutex::new(None),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn step_started(&self, name: &str, action: &str, to_send: u64) {
        *self.state() = State {
            step: name.to_string(),
            total: to_send,
            started: Some(Instant::now()),
            dispatching: true,
            ..State::default()
        };
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
                *self.bar() = Some(bar);
                self.start_ticker(Duration::from_millis(250));
            }
            Mode::Lines => {
                eprintln!("step {name}: {action}, {to_send} targets to send");
                self.start_ticker(STATUS_EVERY);
            }
            Mode::Quiet => {}
        }
    }

    /// A thread that refreshes the bar's message, or prints the status line, until the step
    /// ends. A thread, not a task: the display needs no runtime.
    fn start_ticker(&self, every: Duration) {
        let stop = Arc::new(AtomicBool::new(false));
        if let Some(old) = self
            .ticking
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(stop.clone())
        {
            old.store(true, Ordering::SeqCst);
        }
        let state = self.state.clone();
        let bar = self.bar().clone();
        let mode = self.mode;
        let _ = std::thread::Builder::new()
            .name("pushfix-progress".into())
            .spawn(move || {
                let mut last = Instant::now();
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50).min(every));
                    if last.elapsed() < every {
                        continue;
                    }
                    last = Instant::now();
                    let (step, line) = {
                        let s = state.lock().unwrap_or_else(|e| e.into_inner());
                        (s.step.clone(), s.line())
                    };
                    match (&bar, mode) {
                        (Some(b), _) => b.set_message(line),
                        (None, Mode::Lines) => eprintln!("step {step}: {line}"),
                        _ => {}
                    }
                }
            });
    }

    fn step_finished(&self) {
        if let Some(t) = self
            .ticking
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            t.store(true, Ordering::SeqCst);
        }
        let (step, line) = {
            let mut s = self.state();
            s.dispatching = false;
            (s.step.clone(), s.line())
        };
        if let Some(b) = self.bar().take() {
            b.set_message(line);
            b.finish();
        } else if self.mode == Mode::Lines && !step.is_empty() {
            eprintln!("step {step}: finished, {line}");
        }
    }

    /// A notable event (throttling, a stop) printed without breaking the bar.
    fn print(&self, text: &str) {
        match (self.mode, self.bar().as_ref()) {
            (Mode::Bar, Some(b)) => b.println(text),
            (Mode::Quiet, _) => {}
            _ => eprintln!("{text}"),
        }
    }
}

impl Sink for Progress {
    fn event(&self, event: &Event) -> Result<(), SinkError> {
        match event {
            Event::Intent { .. } => {
                let mut s = self.state();
                s.requests += 1;
                let now = Instant::now();
                s.first_request.get_or_insert(now);
                s.last_activity = Some(now);
            }
            Event::Answer { .. } => self.state().last_activity = Some(Instant::now()),
            Event::Final {
                target, outcome, ..
            } => {
                let mut s = self.state();
                // Only targets this step dispatched (or left undispatched) count: planned skips
                // and failures were recorded before dispatch began.
                s.in_flight.remove(target);
                if s.dispatching {
                    s.done += 1;
                    s.outcomes.add(*outcome);
                    drop(s);
                    if let Some(b) = self.bar().as_ref() {
                        b.inc(1);
                    }
                }
            }
            Event::StepFinished { .. } => self.step_finished(),
            _ => {}
        }
        Ok(())
    }

    fn note(&self, note: &Note) {
        match note {
            Note::Dispatching {
                step,
                action,
                to_send,
            } => self.step_started(step, action, *to_send),
            Note::Dispatched { target, .. } => {
                self.state().in_flight.insert(target.clone());
            }
            Note::Throttled { family, pause } => self.print(&format!(
                "throttled by the provider: pausing the {family} family for {}",
                format_duration(*pause)
            )),
            Note::Stopping { reason } => self.print(&format!(
                "stopping: {reason}; no new requests, waiting for the ones in flight (interrupt again to exit at once)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::event::Outcome;

    fn fin(target: &str, outcome: Outcome) -> Event {
        Event::Final {
            at: Timestamp::UNIX_EPOCH,
            step: "s".into(),
            target: target.into(),
            outcome,
            reason: None,
            code: None,
            new_id: None,
        }
    }

    /// Planned skips recorded before dispatch do not count; dispatched and undispatched
    /// targets do, and errors are failures only.
    #[test]
    fn counts_come_from_the_stream() {
        let p = Progress::new(Mode::Quiet);
        p.event(&fin("0", Outcome::Skipped)).unwrap();
        p.note(&Note::Dispatching {
            step: "s".into(),
            action: "recall".into(),
            to_send: 3,
        });
        p.note(&Note::Dispatched {
            step: "s".into(),
            target: "1".into(),
        });
        p.note(&Note::Dispatched {
            step: "s".into(),
            target: "2".into(),
        });
        assert!(
            p.state()
                .line()
                .starts_with("0/3 finished, 2 in flight, 3 left")
        );
        p.event(&fin("1", Outcome::Done)).unwrap();
        p.event(&fin("2", Outcome::Failed)).unwrap();
        p.event(&fin("3", Outcome::NotAttempted)).unwrap();
        let line = p.state().line();
        assert!(
            line.starts_with(
                "3/3 finished (1 done, 1 failed, 1 not_attempted), 0 in flight, 0 left"
            ),
            "{line}"
        );
        p.event(&Event::StepFinished {
            at: Timestamp::UNIX_EPOCH,
            step: "s".into(),
        })
        .unwrap();
        p.event(&fin("9", Outcome::Skipped)).unwrap();
        assert!(
            p.state().line().starts_with("3/3 finished"),
            "after the step, nothing counts"
        );
    }
}
