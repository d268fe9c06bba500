//! Feeds task requests to the dispatcher: from the in-process queue, or from the Redis stream's
//! consumer group, acknowledging an entry once its task row exists. A request whose job cannot run is
//! recorded as a failed task with the reason (so it is acknowledged and never retried forever); one
//! for a job the store does not know is acknowledged and logged; one that failed on the store is tried
//! again (in-process: with back-off, never given up; Redis: left unacknowledged and delivered again).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use triggerx_queue::{QueueError, RedisConsumer, RedisQueueConfig, TaskQueueReceiver, TaskRequest};

use crate::{DispatchError, Dispatcher};

/// Longest pause between retries of a request that failed on the store.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(2);
/// How often the Redis stream is trimmed of acknowledged entries.
const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Whether a request is done with: handled, or failed in a way no retry can mend.
async fn handle(dispatcher: &Dispatcher, request: &TaskRequest) -> bool {
    match dispatcher.request(request).await {
        Ok(_) => true,
        Err(DispatchError::UnknownJob(job_id)) => {
            tracing::warn!(%job_id, occurrence = %request.occurrence_key, "task request for a job the store does not have; dropped");
            true
        }
        Err(e) => {
            tracing::warn!(job_id = %request.job_id, occurrence = %request.occurrence_key, error = %e, "task request failed; retrying");
            false
        }
    }
}

/// Serves the in-process queue until every sender is gone. A request is handled completely (its task
/// row exists) before the next is taken; the schedulers record their progress only after that.
pub async fn serve_in_process(dispatcher: Arc<Dispatcher>, mut requests: TaskQueueReceiver) {
    while let Some(request) = requests.recv().await {
        let mut pause = Duration::from_millis(100);
        while !handle(&dispatcher, &request).await {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_RETRY_PAUSE);
        }
    }
}

/// Serves the Redis stream as consumer `name` until `stopped` turns true.
pub async fn serve_redis(
    dispatcher: Arc<Dispatcher>,
    config: RedisQueueConfig,
    name: String,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), QueueError> {
    let mut consumer = RedisConsumer::connect(&config, &name).await?;
    tracing::info!(stream = %config.stream, consumer = %name, "dispatcher reading task requests from redis");
    let mut trimmed = tokio::time::Instant::now();
    while !*stopped.borrow() {
        let deliveries = tokio::select! {
            next = consumer.next(Duration::from_millis(500)) => next,
            _ = stopped.changed() => break,
        };
        let deliveries = match deliveries {
            Ok(deliveries) => deliveries,
            Err(e) => {
                tracing::warn!(error = %e, "reading task requests from redis failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for delivery in deliveries {
            if handle(&dispatcher, &delivery.message).await
                && let Err(e) = consumer.ack(&delivery.id).await
            {
                tracing::warn!(entry = %delivery.id, error = %e, "could not acknowledge a task request; it will come again");
            }
        }
        if trimmed.elapsed() >= TRIM_EVERY {
            trimmed = tokio::time::Instant::now();
            match consumer.trim_acknowledged().await {
                Ok(removed) if removed > 0 => tracing::debug!(removed, "trimmed acknowledged task requests"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not trim the task stream"),
            }
        }
    }
    Ok(())
}
