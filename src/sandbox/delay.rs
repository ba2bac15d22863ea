//! Precise delays for the `latency` fault. tokio's timer fires on a millisecond tick, late by
//! half a tick on average and more when many requests wait at once, which added 1-2 ms of the
//! sandbox's own to every simulated 50 ms; a thread of its own sleeps to each deadline on the
//! OS's fine timer instead, so the latency a client sees is the one configured.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

struct Due {
    at: Instant,
    seq: u64,
    done: oneshot::Sender<()>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// One timer thread per sandbox; it ends when the sandbox is dropped.
pub(crate) struct Delays {
    tx: Mutex<mpsc::Sender<(Instant, oneshot::Sender<()>)>>,
}

impl Delays {
    pub fn new() -> Delays {
        let (tx, rx) = mpsc::channel::<(Instant, oneshot::Sender<()>)>();
        let spawned = std::thread::Builder::new()
            .name("pushfix-sandbox-delays".into())
            .spawn(move || {
                let mut heap: BinaryHeap<Reverse<Due>> = BinaryHeap::new();
                let mut seq = 0u64;
                loop {
                    let next = heap.peek().map(|Reverse(d)| d.at);
                    let got = match next {
                        None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                        Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
                    };
                    match got {
                        Ok((at, done)) => {
                            seq += 1;
                            heap.push(Reverse(Due { at, seq, done }));
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    let now = Instant::now();
                    while heap.peek().is_some_and(|Reverse(d)| d.at <= now) {
                        if let Some(Reverse(d)) = heap.pop() {
                            let _ = d.done.send(());
                        }
                    }
                }
                // The sandbox is gone: let whoever still waits go.
                for Reverse(d) in heap {
                    let _ = d.done.send(());
                }
            });
        if spawned.is_err() {
            // Without the thread every send fails, and `until` falls back to tokio's timer.
            let (tx, _) = mpsc::channel();
            return Delays { tx: Mutex::new(tx) };
        }
        Delays { tx: Mutex::new(tx) }
    }

    /// Resolves at `at` (to a few tens of microseconds).
    pub async fn until(&self, at: Instant) {
        if at <= Instant::now() {
            return;
        }
        let (done, wait) = oneshot::channel();
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((at, done))
            .is_ok();
        if !sent || wait.await.is_err() {
            tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        }
    }

    /// Resolves `d` after `from`.
    pub async fn after(&self, from: Instant, d: Duration) {
        if !d.is_zero() {
            self.until(from + d).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delays_end_in_order_and_never_early() {
        let delays = std::sync::Arc::new(Delays::new());
        let start = Instant::now();
        let mut handles = Vec::new();
        for ms in [30u64, 10, 20, 0] {
            let d = delays.clone();
            handles.push(tokio::spawn(async move {
                d.after(start, Duration::from_millis(ms)).await;
                (ms, start.elapsed())
            }));
        }
        for h in handles {
            let (ms, took) = h.await.unwrap();
            assert!(took >= Duration::from_millis(ms), "{ms} ms took {took:?}");
        }
    }
}
