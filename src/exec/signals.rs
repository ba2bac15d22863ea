//! SIGINT / SIGTERM only set the stop flag: the first stops dispatch (requests in flight drain;
//! the journal and a partial report are written; exit 3), the second abandons the requests in
//! flight too, so the run ends at once.

use std::sync::Arc;

use super::stop::Stop;

/// Listen for signals for the rest of the run (on the current tokio runtime).
pub fn install(stop: Arc<Stop>) {
    tokio::spawn(async move {
        let Some(mut signals) = Signals::new() else {
            return;
        };
        let mut seen = 0;
        while signals.next().await {
            seen += 1;
            if seen == 1 {
                stop.trigger("interrupted by a signal");
            } else {
                stop.abort("interrupted twice: requests in flight were abandoned");
                return;
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
