//! Feeds task requests to the dispatcher: from the in-process queue, or from the Redis stream's
//! consumer group, acknowledging an entry once its task row exists (or the request can never succeed:
//! the job is gone or cannot be dispatched). An entry whose request failed on the store stays
//! unacknowledged and is delivered again.

use std::sync::Arc;
use std::time::Duration;

use triggerx_queue::{QueueError, RedisConsumer, RedisQueueConfig, TaskQueueReceiver, TaskRequestMessage};
use triggerx_scheduler::{DispatchError, Dispatcher, TaskRequest};
use triggerx_store::StoreError;

/// Whether a failed request should be left for redelivery (a passing failure) or dropped.
fn worth_retrying(error: &DispatchError) -> bool {
    matches!(error, DispatchError::Store(e) if !matches!(e, StoreError::NotFound(_)))
}

async fn handle(dispatcher: &Dispatcher, request: &TaskRequestMessage) -> bool {
    let task = TaskRequest { job_id: request.job_id, occurrence_key: request.occurrence_key.clone() };
    match dispatcher.request(&task).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(job_id = %request.job_id, occurrence = %request.occurrence_key, error = %e, "task request failed");
            !worth_retrying(&e)
        }
    }
}

/// How long the in-process feed keeps retrying a request that failed on the store.
const IN_PROCESS_RETRY_FOR: Duration = Duration::from_secs(30);

/// Serves the in-process queue until every sender is gone. A request failing on the store is retried
/// with back-off (the in-process queue has no redelivery); the schedulers record their progress only
/// once it is handled.
pub async fn serve_in_process(dispatcher: Arc<Dispatcher>, mut requests: TaskQueueReceiver) {
    while let Some(request) = requests.recv().await {
        let started = tokio::time::Instant::now();
        let mut backoff = Duration::from_millis(100);
        while !handle(&dispatcher, &request).await {
            if started.elapsed() >= IN_PROCESS_RETRY_FOR {
                tracing::error!(job_id = %request.job_id, occurrence = %request.occurrence_key, "giving up on a task request");
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

/// Serves the Redis stream as consumer `name` until `stopped` turns true.
pub async fn serve_redis(
    dispatcher: Arc<Dispatcher>,
    config: RedisQueueConfig,
    name: String,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> Result<(), QueueError> {
    let mut consumer = RedisConsumer::connect(&config, &name).await?;
    tracing::info!(stream = %config.stream, consumer = %name, "dispatcher reading task requests from redis");
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
    }
    Ok(())
}
