//! The trigger scheduler service: the three schedulers (time, event, condition) over a set of chains,
//! feeding one task queue, started by [`spawn`] and stopped through its handle. Several scheduler
//! processes on one store take turns through a lease: the holder runs the schedulers and renews the
//! lease; the others wait and take over once it expires (the holder stops its schedulers before then
//! if it cannot renew). Occurrence keys are deterministic and task rows unique per occurrence, so a
//! takeover that fires an occurrence again never runs it twice; occurrences missed during the takeover
//! all run.

use std::time::Duration;

use triggerx_chain::deploy::ChainDeployment;
use triggerx_chain::watcher::WatcherConfig;
use triggerx_http::AddressPolicy;
use triggerx_queue::TaskQueueSender;
use triggerx_store::Store;

use crate::{
    ConditionTriggerConfig, ConditionTriggers, EventChain, EventTriggerConfig, EventTriggers, FetchLimits,
    TimeTriggerConfig, TimeTriggers,
};

/// What the scheduler service runs over.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// The chains event and oracle triggers read.
    pub chains: Vec<ChainDeployment>,
    /// Blocks a log waits before its event jobs fire (0 suits automining chains, where a block comes
    /// only with the next transaction).
    pub confirmations: u64,
    /// `None`: this process is the only scheduler and runs at once; `Some`: take turns through the lease.
    pub lease: Option<LeaseSettings>,
    /// Which addresses condition sources may reach (public only unless the operator allows ranges).
    pub outbound: AddressPolicy,
}

/// A running scheduler service.
pub struct SchedulerHandle {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SchedulerHandle {
    /// Stops the schedulers (recording what they can) and waits for them; a lease held is given up.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the scheduler service.
pub fn spawn(store: Store, queue: TaskQueueSender, config: SchedulerConfig) -> SchedulerHandle {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        match &config.lease {
            None => {
                let time = TimeTriggerConfig::default();
                spawn_with(&store, &queue, &config, time, &stopped).join().await;
            }
            Some(lease) => run_leased(&store, &queue, &config, lease, stopped).await,
        }
    });
    SchedulerHandle { stop, task }
}

/// The three schedulers running; they stop when their stop signal turns true.
struct TriggerSchedulers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl TriggerSchedulers {
    /// Waits until every scheduler has stopped.
    async fn join(self) {
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Name of the lease the trigger schedulers run under.
pub const TRIGGERS_LEASE: &str = "trigger-schedulers";
/// Occurrences missed this recently when a scheduler takes over all run.
const TAKEOVER_CATCH_UP: Duration = Duration::from_secs(120);

fn spawn_with(
    store: &Store,
    queue: &TaskQueueSender,
    config: &SchedulerConfig,
    time_config: TimeTriggerConfig,
    stopped: &tokio::sync::watch::Receiver<bool>,
) -> TriggerSchedulers {
    let (chains, confirmations) = (&config.chains, config.confirmations);
    let time_triggers = TimeTriggers::new(store.clone(), queue.clone(), time_config);
    let event_chains = chains
        .iter()
        .map(|c| EventChain {
            chain_id: c.chain_id,
            rpc_url: c.rpc_url.clone(),
            watcher: WatcherConfig { confirmations, poll_interval: Duration::from_millis(250), ..Default::default() },
        })
        .collect();
    let event_triggers = EventTriggers::new(store.clone(), queue.clone(), event_chains, EventTriggerConfig::default());
    let condition_config = ConditionTriggerConfig {
        chains: chains.iter().map(|c| (c.chain_id, c.rpc_url.clone())).collect(),
        limits: FetchLimits { policy: config.outbound.clone(), ..Default::default() },
        ..Default::default()
    };
    let condition_triggers = ConditionTriggers::new(store.clone(), queue.clone(), condition_config);
    let tasks = vec![
        run_until_stopped("time", stopped.clone(), |stop| time_triggers.run(stop)),
        run_until_stopped("event", stopped.clone(), |stop| event_triggers.run(stop)),
        run_until_stopped("condition", stopped.clone(), |stop| condition_triggers.run(stop)),
    ];
    TriggerSchedulers { tasks }
}

/// Spawns one scheduler's run, logging how it ended if it failed.
fn run_until_stopped<F, E>(
    kind: &'static str,
    stopped: tokio::sync::watch::Receiver<bool>,
    run: impl FnOnce(tokio::sync::watch::Receiver<bool>) -> F,
) -> tokio::task::JoinHandle<()>
where
    F: std::future::Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    let running = run(stopped);
    tokio::spawn(async move {
        if let Err(e) = running.await {
            tracing::error!(error = %e, "{kind} scheduler stopped");
        }
    })
}

/// How a scheduler process shares the work with others.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    /// This process's name in the lease table.
    pub holder: String,
    /// How long a lease lasts without renewal.
    pub ttl: Duration,
}

/// Runs the schedulers whenever this process holds the lease, until `stopped` turns true (then gives
/// the lease up so another process takes over at once).
async fn run_leased(
    store: &Store,
    queue: &TaskQueueSender,
    config: &SchedulerConfig,
    lease: &LeaseSettings,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let ttl_ms = lease.ttl.as_millis() as i64;
    let renew_every = lease.ttl / 3;
    let mut running: Option<(tokio::sync::watch::Sender<bool>, TriggerSchedulers)> = None;
    let mut renewed = tokio::time::Instant::now();
    loop {
        let held = match store.acquire_lease(TRIGGERS_LEASE, &lease.holder, ttl_ms).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, "could not renew the scheduler lease");
                false
            }
        };
        if held {
            renewed = tokio::time::Instant::now();
            if running.is_none() {
                tracing::info!(holder = %lease.holder, "holding the scheduler lease: running the trigger schedulers");
                let (stop, inner) = tokio::sync::watch::channel(false);
                let time_config = TimeTriggerConfig { catch_up_window: TAKEOVER_CATCH_UP, ..Default::default() };
                running = Some((stop, spawn_with(store, queue, config, time_config, &inner)));
            }
        } else if running.is_some() && renewed.elapsed() >= lease.ttl / 2 {
            // Stop well before the lease expires, so two holders never run at once.
            tracing::warn!(holder = %lease.holder, "lost the scheduler lease: stopping the trigger schedulers");
            if let Some((stop, schedulers)) = running.take() {
                let _ = stop.send(true);
                schedulers.join().await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(renew_every) => {}
            changed = stopped.changed() => {
                if changed.is_err() || *stopped.borrow() {
                    break;
                }
            }
        }
    }
    if let Some((stop, schedulers)) = running.take() {
        let _ = stop.send(true);
        schedulers.join().await;
        if let Err(e) = store.release_lease(TRIGGERS_LEASE, &lease.holder).await {
            tracing::warn!(error = %e, "could not release the scheduler lease");
        }
    }
}
