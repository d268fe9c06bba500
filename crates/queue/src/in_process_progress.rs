//! How far the consumer of the in-process queue has got: every request gets a ticket (1, 2, 3, ...)
//! when it is sent; the consumer marks tickets handled, in any order; the watermark is the highest
//! ticket up to which all are handled. A sender settles by waiting for the watermark to reach the last
//! ticket issued when it asked.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

/// Tickets issued and handled.
#[derive(Debug)]
pub struct Progress {
    issued: AtomicU64,
    /// Handled tickets above the watermark (tickets handled out of order wait here).
    ahead: Mutex<BTreeSet<u64>>,
    /// The watermark (waiters subscribe to it).
    watermark: watch::Sender<u64>,
    /// The consumer is gone.
    closed: AtomicBool,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            issued: AtomicU64::new(0),
            ahead: Mutex::new(BTreeSet::new()),
            watermark: watch::channel(0).0,
            closed: AtomicBool::new(false),
        }
    }
}

impl Progress {
    /// The next ticket.
    pub fn issue(&self) -> u64 {
        self.issued.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Marks a ticket handled and moves the watermark over every handled ticket after it.
    pub fn handled(&self, ticket: u64) {
        // A poisoned lock only means another thread panicked while holding it; the set is still whole.
        let mut ahead = self.ahead.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut mark = *self.watermark.borrow();
        if ticket <= mark {
            return;
        }
        ahead.insert(ticket);
        while ahead.remove(&(mark + 1)) {
            mark += 1;
        }
        self.watermark.send_replace(mark);
    }

    /// The consumer is gone: nothing more will be handled.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // Wake waiters so they see it.
        self.watermark.send_modify(|_| {});
    }

    /// Waits up to `patience` for every ticket issued so far to be handled.
    pub async fn settle(&self, patience: Duration) -> bool {
        let target = self.issued.load(Ordering::SeqCst);
        let mut marks = self.watermark.subscribe();
        let reached = tokio::time::timeout(patience, async {
            loop {
                if *marks.borrow_and_update() >= target {
                    return true;
                }
                if self.closed.load(Ordering::SeqCst) {
                    return false;
                }
                if marks.changed().await.is_err() {
                    return false;
                }
            }
        })
        .await;
        reached.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn settles_once_every_ticket_so_far_is_handled_in_any_order() {
        let progress = std::sync::Arc::new(Progress::default());
        let (a, b, c) = (progress.issue(), progress.issue(), progress.issue());
        assert!(!progress.settle(Duration::ZERO).await, "nothing handled yet");
        progress.handled(c);
        progress.handled(a);
        assert!(!progress.settle(Duration::from_millis(20)).await, "b is still out");
        let waiting = tokio::spawn({
            let progress = progress.clone();
            async move { progress.settle(Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        progress.handled(b);
        assert!(waiting.await.unwrap(), "settled when b was handled");
        // Tickets issued after a settle began do not hold it back.
        let d = progress.issue();
        assert!(!progress.settle(Duration::from_millis(10)).await);
        progress.handled(d);
        assert!(progress.settle(Duration::ZERO).await);
        progress.issue();
        progress.close();
        assert!(!progress.settle(Duration::from_secs(5)).await, "a closed queue never settles");
    }
}
