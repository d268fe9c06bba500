//! What the scheduler tests share: a scheduler running on its own task until told to stop, and the
//! task requests it sends within a time.
#![allow(clippy::unwrap_used, dead_code)]

use std::future::Future;
use std::time::Duration;

use triggerx_core::ids::JobId;
use triggerx_queue::TaskQueueReceiver;

/// A scheduler running until [`Running::stop`].
pub struct Running {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Runs `run(stop signal)`; the run must end without error once stopped.
    pub fn spawn<F, E>(run: impl FnOnce(tokio::sync::watch::Receiver<bool>) -> F) -> Self
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Debug,
    {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let running = run(stopped);
        let task = tokio::spawn(async move { running.await.unwrap() });
        Running { stop, task }
    }

    /// Ends the scheduler at once, as SIGKILL would: nothing more is written.
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    /// Stops the scheduler and waits until it has.
    pub async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
    }
}

/// Every (job, occurrence key) requested within `within`.
pub async fn collect(requests: &mut TaskQueueReceiver, within: Duration) -> Vec<(JobId, String)> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Some(request)) = tokio::time::timeout_at(deadline, requests.recv()).await {
        got.push((request.job_id, request.occurrence_key));
    }
    got
}

/// Like [`collect`], and makes each request's task row as the dispatcher would (schedulers look at
/// the rows: a recorded firing without its row is sent again after a restart).
pub async fn collect_into(
    store: &triggerx_store::Store,
    requests: &mut TaskQueueReceiver,
    within: Duration,
) -> Vec<(JobId, String)> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Some(request)) = tokio::time::timeout_at(deadline, requests.recv()).await {
        let new = triggerx_store::NewTask {
            job_id: request.job_id,
            task_definition_id: None,
            occurrence_key: request.occurrence_key.clone(),
            task_performer_id: None,
        };
        // A job finished meanwhile refuses new rows; the request is still counted.
        let _ = store.create_task(&new).await;
        got.push((request.job_id, request.occurrence_key));
    }
    got
}
