//! Outcomes from the chain: follows each hub's `FunctionExecuted` events (confirmed, reorg-aware, from
//! a durable checkpoint) into the store. This is how a task becomes executed (or failed with the
//! target's revert data): never on a performer's word. The follower also moves the chain's settled
//! time, which tells the watchdog when an expired attempt can no longer execute.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::hex;
use tokio::sync::watch;
use triggerx_chain::hub::{HubExecution, decode_execution, executions_filter};
use triggerx_chain::watcher::{LogWatcher, WatchEvent, WatcherConfig};
use triggerx_core::assignment::store_task_id;
use triggerx_core::ids::JobId;
use triggerx_store::{ChainExecution, Store};

use crate::chain_view::ChainView;

/// Seconds a future block's timestamp may lag the wall clock (a chain that makes blocks only on demand
/// is settled up to now minus this once the follower has read its head).
pub const CLOCK_SKEW_SECS: u64 = 2;
/// Pause after a failed step.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Metric counting executions recorded from the chain.
pub const EXECUTIONS_METRIC: &str = "triggerx_dispatcher_chain_executions_total";

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The store's record of one hub execution, if it is one of this store's tasks.
pub fn chain_execution(namespace: u64, execution: &HubExecution) -> Option<ChainExecution> {
    let event = &execution.event;
    let task_id = store_task_id(namespace, event.taskId)?;
    Some(ChainExecution {
        task_id,
        job_id: JobId(event.jobId),
        success: event.success,
        tx_hash: format!("{:#x}", execution.tx_hash),
        amount_wei: event.amount.to_string(),
        keeper_address: format!("{:#x}", event.keeper),
        return_data: format!("0x{}", hex::encode(&event.returnData)),
    })
}

/// Records one execution; logs what it changed.
pub async fn record(store: &Store, namespace: u64, execution: &HubExecution) -> Result<(), triggerx_store::StoreError> {
    let Some(record) = chain_execution(namespace, execution) else { return Ok(()) };
    if let Some(task) = store.record_chain_execution(&record).await? {
        metrics::counter!(EXECUTIONS_METRIC, "success" => execution.event.success.to_string()).increment(1);
        tracing::info!(
            task_id = task.task_id,
            status = task.task_status.as_str(),
            tx = %record.tx_hash,
            keeper = %record.keeper_address,
            fee_wei = %record.amount_wei,
            "execution recorded from the chain"
        );
    }
    Ok(())
}

/// Follows one chain until `stop` turns true; the checkpoint is named after `dispatcher`.
pub async fn follow(
    store: Store,
    view: Arc<ChainView>,
    namespace: u64,
    dispatcher: String,
    mut stop: watch::Receiver<bool>,
) {
    let chain = view.chain.clone();
    let config =
        WatcherConfig { confirmations: chain.confirmations, poll_interval: chain.poll_interval, ..Default::default() };
    let name = format!("dispatcher:{dispatcher}:executions:{}", chain.chain_id);
    let watcher = LogWatcher::new(view.provider().clone(), name, config, store.clone());
    watcher.add_filter(executions_filter(chain.hub)).await;
    while !*stop.borrow() {
        let pause = match step(&store, &view, &watcher, namespace).await {
            Ok(true) => chain.poll_interval,
            Ok(false) => Duration::ZERO,
            Err(e) => {
                tracing::warn!(chain_id = chain.chain_id, error = %e, "following executions failed; retrying");
                RETRY_AFTER
            }
        };
        if pause > Duration::ZERO {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// One batch: records its executions, commits, moves the settled time. True when caught up.
async fn step(
    store: &Store,
    view: &ChainView,
    watcher: &LogWatcher<Store>,
    namespace: u64,
) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    let batch = watcher.next_batch().await?;
    for event in &batch.events {
        match event {
            WatchEvent::Log { log, .. } => {
                if let Some(execution) = decode_execution(log) {
                    record(store, namespace, &execution).await?;
                }
            }
            WatchEvent::Removed(id) => {
                tracing::warn!(
                    block = id.block_number,
                    log_index = id.log_index,
                    "a recorded execution was reorganised away"
                );
            }
        }
    }
    watcher.commit(&batch).await?;
    if let Some(time) = batch.to_timestamp {
        view.advance(time);
    }
    let caught_up = batch.to.is_none();
    if caught_up && view.chain.confirmations == 0 {
        view.advance(now_secs().saturating_sub(CLOCK_SKEW_SECS));
    }
    Ok(caught_up)
}
