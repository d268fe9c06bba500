//! The queue between whoever requests task occurrences (the API's admin route now, the trigger
//! schedulers later) and the dispatcher. In-process here; the Redis Streams variant comes with the
//! distributed schedulers.

use tokio::sync::mpsc;
use triggerx_core::ids::JobId;

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
}

/// The sending side (cheap to clone).
#[derive(Debug, Clone)]
pub struct TaskQueueSender {
    tx: mpsc::Sender<TaskRequestMessage>,
}

/// The consuming side.
#[derive(Debug)]
pub struct TaskQueueReceiver {
    rx: mpsc::Receiver<TaskRequestMessage>,
}

/// An in-process queue.
pub fn in_process() -> (TaskQueueSender, TaskQueueReceiver) {
    let (tx, rx) = mpsc::channel(IN_PROCESS_CAPACITY);
    (TaskQueueSender { tx }, TaskQueueReceiver { rx })
}

impl TaskQueueSender {
    /// Enqueues a request (waits while the queue is full).
    pub async fn send(&self, message: TaskRequestMessage) -> Result<(), QueueError> {
        self.tx.send(message).await.map_err(|_| QueueError::Closed)
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
