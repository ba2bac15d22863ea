//! The stop flag: set by a signal, the failure budget, a deadline or a journal that cannot be
//! written; workers stop dispatching and waiters wake.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Stop dispatching: a signal, the failure budget, or a journal that cannot be written. A
/// second, harder level (`abort`, a second signal) also abandons the requests in flight: their
/// intents are journaled, so `resume` re-checks them.
#[derive(Default)]
pub struct Stop {
    set: AtomicBool,
    abort: AtomicBool,
    reason: Mutex<Option<String>>,
    notify: Notify,
}

impl Stop {
    pub fn trigger(&self, reason: impl Into<String>) {
        let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            *r = Some(reason.into());
        }
        self.set.store(true, Ordering::SeqCst);
        drop(r);
        self.notify.notify_waiters();
    }

    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    pub fn reason(&self) -> Option<String> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Resolves once stop is triggered.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }

    /// Stop at once: requests in flight are abandoned too.
    pub fn abort(&self, reason: impl Into<String>) {
        self.abort.store(true, Ordering::SeqCst);
        self.trigger(reason);
    }

    pub fn is_aborted(&self) -> bool {
        self.abort.load(Ordering::SeqCst)
    }

    /// Resolves once `abort` is called.
    pub async fn aborted(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_aborted() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn stop_wakes_waiters() {
        let s = Arc::new(Stop::default());
        let s2 = s.clone();
        let w = tokio::spawn(async move { s2.wait().await });
        s.trigger("interrupted");
        s.trigger("second reason is ignored");
        w.await.unwrap();
        assert_eq!(s.reason().as_deref(), Some("interrupted"));
    }
}
