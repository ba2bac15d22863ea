//! SIGINT / SIGTERM: the first stops dispatch (in-flight requests drain, the journal and a
//! partial report are written, exit 3); the second exits at once.

use std::sync::Arc;

use super::progress::Progress;
use super::stop::Stop;

/// Listen for signals for the rest of the run. `on_second` runs before the immediate exit.
pub fn install(stop: Arc<Stop>, progress: Arc<Progress>, on_second: impl Fn() + Send + 'static) {
    tokio::spawn(async move {
        let Some(mut signals) = Signals::new() else {
            return;
        };
        let mut seen = 0;
        loop {
            if !signals.next().await {
                return;
            }
            seen += 1;
            if seen == 1 {
                progress.note("interrupted: no new requests; waiting for the ones in flight (interrupt again to exit at once)");
                stop.trigger("interrupted by a signal");
            } else {
                on_second();
                eprintln!(
                    "interrupted twice: exiting now; `pushfix report` rebuilds the report from the journal"
                );
                std::process::exit(crate::exit::ABORTED);
            }
        }
    });
}

/// SIGINT and SIGTERM, registered once for the whole run so none is missed between two.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> Option<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Some(Signals {
            int: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
        })
    }

    #[cfg(unix)]
    async fn next(&mut self) -> bool {
        tokio::select! {
            s = self.int.recv() => s.is_some(),
            s = self.term.recv() => s.is_some(),
        }
    }

    #[cfg(not(unix))]
    fn new() -> Option<Signals> {
        Some(Signals {})
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> bool {
        tokio::signal::ctrl_c().await.is_ok()
    }
}
