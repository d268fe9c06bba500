//! The queue between whoever requests task occurrences (the trigger schedulers, the API's admin route)
//! and the dispatcher: in-process by default, or a Redis stream ([`redis_streams`]) when schedulers and
//! the dispatcher run in different processes. Senders do not care which.

pub mod redis_streams;

use tokio::sync::mpsc;
use triggerx_core::ids::JobId;

pub use redis_streams::{Delivery, RedisConsumer, RedisQueueConfig};

/// Requests that may wait in the in-process queue before senders are slowed down.
pub const IN_PROCESS_CAPACITY: usize = 100_000;

/// One occurrence to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRequestMessage {
    /// The job.
    pub job_id: JobId,
    /// Identity of the occurrence.
    pub occurrence_key: String,
}

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
    InProcess(mpsc::Sender<TaskRequestMessage>),
    Redis(redis_streams::RedisPublisher),
}

impl std::fmt::Debug for TaskQueueSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Sender::InProcess(_) => f.write_str("TaskQueueSender(in-process)"),
            Sender::Redis(p) => write!(f, "TaskQueueSender(redis stream {})", p.stream()),
        }
    }
}

/// The consuming side.
#[derive(Debug)]
pub struct TaskQueueReceiver {
    rx: mpsc::Receiver<TaskRequestMessage>,
}

/// An in-process queue.
pub fn in_process() -> (TaskQueueSender, TaskQueueReceiver) {
    let (tx, rx) = mpsc::channel(IN_PROCESS_CAPACITY);
    (TaskQueueSender { inner: Sender::InProcess(tx) }, TaskQueueReceiver { rx })
}

/// A sender appending to the Redis stream of `config`.
pub async fn redis_sender(config: &RedisQueueConfig) -> Result<TaskQueueSender, QueueError> {
    Ok(TaskQueueSender { inner: Sender::Redis(redis_streams::RedisPublisher::connect(config).await?) })
}

impl TaskQueueSender {
    /// Enqueues a request (in-process: waits while the queue is full; Redis: once the entry is stored).
    pub async fn send(&self, message: TaskRequestMessage) -> Result<(), QueueError> {
        match &self.inner {
            Sender::InProcess(tx) => tx.send(message).await.map_err(|_| QueueError::Closed),
            Sender::Redis(publisher) => publisher.publish(&message).await,
        }
    }
}

impl TaskQueueReceiver {
    /// The next request; `None` once every sender is gone.
    pub async fn recv(&mut self) -> Option<TaskRequestMessage> {
        self.rx.recv().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivers_in_order_and_reports_closing() {
        let (tx, mut rx) = in_process();
        for i in 0..3 {
            tx.send(TaskRequestMessage { job_id: JobId(i.try_into().unwrap()), occurrence_key: format!("k{i}") })
                .await
                .unwrap();
        }
        for i in 0..3 {
            assert_eq!(rx.recv().await.unwrap().occurrence_key, format!("k{i}"));
        }
        drop(rx);
        assert!(
            tx.send(TaskRequestMessage { job_id: JobId(Default::default()), occurrence_key: "x".into() })
                .await
                .is_err()
        );
    }
}
