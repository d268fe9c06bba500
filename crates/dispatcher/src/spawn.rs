//! Starting the dispatcher as a service: the dispatcher itself, one execution follower per chain, the
//! watchdog, the report listener and the feed from the task queue, stopped together by its handle.

use std::sync::Arc;

use alloy::signers::local::PrivateKeySigner;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use triggerx_p2p::{Message, P2pNode, Received};
use triggerx_queue::{RedisQueueConfig, TaskQueueReceiver};
use triggerx_store::Store;

use crate::chain_view::ChainView;
use crate::config::{DispatcherChain, DispatcherConfig};
use crate::{DispatchError, Dispatcher, feed, outcomes};

/// Where task requests come from.
pub enum RequestSource {
    /// The in-process queue of `triggerx up`.
    InProcess(TaskQueueReceiver),
    /// A Redis stream, read as the named consumer of the dispatchers' group.
    Redis(RedisQueueConfig),
    /// Nowhere (tests call [`Dispatcher::request`] themselves).
    None,
}

/// A running dispatcher.
pub struct DispatcherHandle {
    /// The dispatcher (for direct requests and its address).
    pub dispatcher: Arc<Dispatcher>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl DispatcherHandle {
    /// Stops every part and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Starts a dispatcher signing with `signer`, publishing through `p2p` and hearing `reports` from it.
pub async fn spawn(
    store: Store,
    signer: PrivateKeySigner,
    p2p: Arc<P2pNode>,
    reports: mpsc::Receiver<Received>,
    config: DispatcherConfig,
    chains: Vec<DispatcherChain>,
    source: RequestSource,
) -> Result<DispatcherHandle, DispatchError> {
    let views = chains.into_iter().map(|c| ChainView::new(c).map(Arc::new)).collect::<Result<Vec<_>, _>>()?;
    let name = config.name.clone();
    let sweep_interval = config.sweep_interval;
    let dispatcher = Dispatcher::new(store.clone(), Arc::new(p2p), signer, config, views.clone()).await?;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    for view in views {
        let (store, name, stopped) = (store.clone(), name.clone(), stopped.clone());
        tasks.push(tokio::spawn(outcomes::follow(store, view, dispatcher.namespace(), name, stopped)));
    }
    tasks.push(tokio::spawn(watchdog(dispatcher.clone(), sweep_interval, stopped.clone())));
    tasks.push(tokio::spawn(listen(dispatcher.clone(), reports)));
    match source {
        RequestSource::InProcess(requests) => {
            tasks.push(tokio::spawn(feed::serve_in_process(dispatcher.clone(), requests)))
        }
        RequestSource::Redis(queue) => {
            let (dispatcher, stopped) = (dispatcher.clone(), stopped.clone());
            tasks.push(tokio::spawn(async move {
                if let Err(e) = feed::serve_redis(dispatcher, queue, name, stopped).await {
                    tracing::error!(error = %e, "the dispatcher stopped reading task requests");
                }
            }));
        }
        RequestSource::None => {}
    }
    tracing::info!(dispatcher = %dispatcher.address(), namespace = dispatcher.namespace(), "dispatcher running");
    Ok(DispatcherHandle { dispatcher, stop, tasks })
}

async fn watchdog(dispatcher: Arc<Dispatcher>, every: std::time::Duration, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stopped.borrow() {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = dispatcher.sweep().await {
                    tracing::warn!(error = %e, "watchdog sweep failed; trying again");
                }
            }
            _ = stopped.changed() => {}
        }
    }
}

async fn listen(dispatcher: Arc<Dispatcher>, mut reports: mpsc::Receiver<Received>) {
    while let Some(Received { from, message }) = reports.recv().await {
        if let Message::ExecutionReport(report) = message
            && let Err(e) = dispatcher.handle_report(from, &report).await
        {
            tracing::warn!(task_id = report.task_id, error = %e, "could not record a report");
        }
    }
}
