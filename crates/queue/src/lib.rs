//! The queue between whoever requests task occurrences (the trigger schedulers, the API's admin route)
//! and the dispatcher: in-process by default, or a Redis stream ([`redis_streams`]) when schedulers and
//! the dispatcher run in different processes. Senders do not care which, and either way a sender can
//! wait until what it sent is safe ([`TaskQueueSender::settle`]) before it records its own progress.

pub mod in_process_progress;
pub mod redis_streams;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use in_process_progress::Progress;
pub use redis_streams::{Delivery, RedisConsumer, RedisQueueConfig};

/// Requests that may wait in the in-process queue before senders are slowed down.
pub const IN_PROCESS_CAPACITY: usize = 100_000;

/// How long a scheduler waits at a time for its requests to settle before it records progress (it
/// tries again on its next round).
pub const SETTLE_PATIENCE: Duration = Duration::from_secs(1);

/// The same when a scheduler stops: after this, progress not yet recorded is left unrecorded.
pub const FINAL_SETTLE_PATIENCE: Duration = Duration::from_secs(5);

pub use triggerx_core::task::TaskRequest;

/// Errors of the queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// Nobody consumes the queue any more.
    #[error("the task queue is closed")]
    Closed,
    /// Redis refused or could not be reached.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// An entry of the stream is not a task request.
    #[error("stream entry {0}: {1}")]
    Malformed(String, String),
}

/// The sending side (cheap to clone).
#[derive(Clone)]
pub struct TaskQueueSender {
    inner: Sender,
}

#[derive(Clone)]
enum Sender {
    InProcess(mpsc::Sender<(u64, TaskRequest)>, Arc<Progress>),
    Redis(redis_streams::RedisPublisher),
}

impl std::fmt::Debug for TaskQueueSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Sender::InProcess(..) => f.write_str("TaskQueueSender(in-process)"),
            Sender::Redis(p) => write!(f, "TaskQueueSender(redis stream {})", p.stream()),
        }
    }
}

/// The consuming side. A request counts as handled once the consumer asks for the next one, so a
/// consumer handles each request completely before it calls [`TaskQueueReceiver::recv`] again.
#[derive(Debug)]
pub struct TaskQueueReceiver {
    rx: mpsc::Receiver<(u64, TaskRequest)>,
    progress: Arc<Progress>,
    /// Ticket of the request last returned, handled when the consumer comes back.
    in_hand: Option<u64>,
}

/// An in-process queue.
pub fn in_process() -> (TaskQueueSender, TaskQueueReceiver) {
    in_process_with_capacity(IN_PROCESS_CAPACITY)
}

/// An in-process queue holding at most `capacity` requests (tests make a dispatcher that lags).
pub fn in_process_with_capacity(capacity: usize) -> (TaskQueueSender, TaskQueueReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let progress = Arc::new(Progress::default());
    (
        TaskQueueSender { inner: Sender::InProcess(tx, progress.clone()) },
        TaskQueueReceiver { rx, progress, in_hand: None },
    )
}

/// A sender appending to the Redis stream of `config`; `ledger` (the store) tells when a request's task
/// row exists, which is when the sender counts it as safe.
pub async fn redis_sender(
    config: &RedisQueueConfig,
    ledger: Arc<dyn triggerx_core::ledger::OccurrenceLedger>,
) -> Result<TaskQueueSender, QueueError> {
    Ok(TaskQueueSender { inner: Sender::Redis(redis_streams::RedisPublisher::connect(config, ledger).await?) })
}

impl TaskQueueSender {
    /// Enqueues a request (in-process: waits while the queue is full; Redis: into the publisher's outbox,
    /// appended to the stream in the background).
    pub async fn send(&self, message: TaskRequest) -> Result<(), QueueError> {
        match &self.inner {
            Sender::InProcess(tx, progress) => {
                let ticket = progress.issue();
                let sent = tx.send((ticket, message)).await;
                if sent.is_err() {
                    // Nobody will handle it; it must not hold back the requests after it.
                    progress.handled(ticket);
                }
                sent.map_err(|_| QueueError::Closed)
            }
            Sender::Redis(publisher) => publisher.publish(&message).await,
        }
    }

    /// Waits (at most `patience`) until every request sent through this queue so far is safe: its task
    /// row exists (in-process: the consumer handled it; Redis: the store shows the row).
    /// Schedulers call it before recording progress (a next occurrence, a checkpoint, a firing count),
    /// so a crash in between can repeat an occurrence (which lands on the same task) but never lose
    /// one. False when the time ran out or the consumer is gone: record nothing yet.
    pub async fn settle(&self, patience: Duration) -> bool {
        match &self.inner {
            Sender::InProcess(_, progress) => progress.settle(patience).await,
            Sender::Redis(publisher) => publisher.settle(patience).await,
        }
    }

    /// The consumer of an in-process queue is gone (nothing sent will be handled any more).
    pub fn is_closed(&self) -> bool {
        match &self.inner {
            Sender::InProcess(tx, _) => tx.is_closed(),
            Sender::Redis(_) => false,
        }
    }
}

impl TaskQueueReceiver {
    /// The next request; `None` once every sender is gone. Calling it marks the request it returned
    /// last as handled.
    pub async fn recv(&mut self) -> Option<TaskRequest> {
        if let Some(ticket) = self.in_hand.take() {
            self.progress.handled(ticket);
        }
        let (ticket, message) = self.rx.recv().await?;
        self.in_hand = Some(ticket);
        Some(message)
    }
}

impl Drop for TaskQueueReceiver {
    fn drop(&mut self) {
        // The request in hand when the consumer went away may not have been handled: not marked.
        self.progress.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use triggerx_core::ids::JobId;

    #[tokio::test]
    async fn delivers_in_order_and_reports_closing() {
        let (tx, mut rx) = in_process();
        for i in 0..3 {
            tx.send(TaskRequest { job_id: JobId(i.try_into().unwrap()), occurrence_key: format!("k{i}") })
                .await
                .unwrap();
        }
        for i in 0..3 {
            assert_eq!(rx.recv().await.unwrap().occurrence_key, format!("k{i}"));
        }
        drop(rx);
        assert!(tx.send(TaskRequest { job_id: JobId(Default::default()), occurrence_key: "x".into() }).await.is_err());
    }
}
