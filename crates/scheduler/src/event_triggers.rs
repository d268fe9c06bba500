//! Event triggers: one log watcher per chain, one shared watcher filter per (contract, event) however
//! many jobs listen to it; each confirmed log is decoded with the job's event ABI, checked against the
//! job's filter and turned into a task request with the occurrence key `event:<block hash>:<log index>`
//! (so a log fires each job at most once, also across restarts). The watcher's checkpoint moves only
//! after the requests of its batch are queued. A log a reorg removes after delivery fails the tasks
//! that have not started executing. Job changes are followed by their update time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::dyn_abi::DynSolValue;
use alloy::json_abi::Event;
use alloy::primitives::{Address, B256};
use hdrhistogram::Histogram;
use tokio::sync::watch;
use triggerx_chain::watcher::{FilterId, LogFilter, LogWatcher, WatchEvent, WatcherConfig};
use triggerx_core::event::decode_log_values;
use triggerx_core::event_filter::{EventFilter, compile};
use triggerx_core::ids::{JobId, TriggerKind};
use triggerx_core::job::{Job, JobStatus, Trigger};
use triggerx_core::time::now_millis;
use triggerx_queue::{SETTLE_PATIENCE, TaskQueueSender, TaskRequest};
use triggerx_store::{Store, StoreError};

use crate::listener_index::{RangeKey, SourceIndex};

/// Job changes are re-read with this overlap (writers' clocks and same-millisecond updates).
const CHANGE_OVERLAP_MS: i64 = 2_000;
/// Reason recorded on tasks whose log a reorg removed.
pub const REORGED_REASON: &str = "log_removed_by_reorg";

/// One chain to watch.
#[derive(Debug, Clone)]
pub struct EventChain {
    /// Chain id (jobs name it in `trigger_chain_id`).
    pub chain_id: u64,
    /// RPC URL.
    pub rpc_url: String,
    /// Confirmations, range size, polling.
    pub watcher: WatcherConfig,
}

/// Event scheduler settings.
#[derive(Debug, Clone)]
pub struct EventTriggerConfig {
    /// How often job changes are read from the store.
    pub follow_every: Duration,
}

impl Default for EventTriggerConfig {
    fn default() -> Self {
        EventTriggerConfig { follow_every: Duration::from_millis(500) }
    }
}

/// What the event scheduler did.
#[derive(Debug)]
pub struct EventTriggerStats {
    /// Listening jobs over all chains.
    pub jobs: AtomicU64,
    /// Logs delivered by the watchers.
    pub logs: AtomicU64,
    /// Task requests sent.
    pub fired: AtomicU64,
    /// Delivered logs later removed by a reorg.
    pub removed: AtomicU64,
    /// From a batch being available to each of its task requests being queued, microseconds.
    pub latency_micros: Mutex<Histogram<u64>>,
}

impl Default for EventTriggerStats {
    fn default() -> Self {
        EventTriggerStats {
            jobs: AtomicU64::new(0),
            logs: AtomicU64::new(0),
            fired: AtomicU64::new(0),
            removed: AtomicU64::new(0),
            latency_micros: Mutex::new(
                Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant figures are valid")),
            ),
        }
    }
}

/// Errors of the event scheduler.
#[derive(Debug, thiserror::Error)]
pub enum EventTriggerError {
    /// Store access failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A chain is misconfigured.
    #[error("chain {0}: {1}")]
    Chain(u64, String),
    /// The queue to the dispatcher is gone.
    #[error("the task queue is closed")]
    QueueClosed,
}

/// The log's parameters as `listener`'s event decodes them (cached per event shape for one log).
fn decode<'c>(
    cache: &'c mut HashMap<String, Option<Vec<DynSolValue>>>,
    listener: &Listener,
    log: &alloy::rpc::types::Log,
) -> Option<&'c Vec<DynSolValue>> {
    if !cache.contains_key(&listener.shape) {
        let values = decode_log_values(&listener.event, log.topics(), &log.data().data)
            .map_err(|e| tracing::debug!(error = %e, "log does not decode with a job's event"))
            .ok();
        cache.insert(listener.shape.clone(), values);
    }
    cache.get(&listener.shape).and_then(Option::as_ref)
}

/// The event scheduler.
pub struct EventTriggers {
    store: Store,
    queue: TaskQueueSender,
    chains: Vec<EventChain>,
    config: EventTriggerConfig,
    stats: Arc<EventTriggerStats>,
}

struct Listener {
    event: Event,
    /// The event's signature and which parameters are indexed: jobs of the same shape decode a log alike.
    shape: String,
    filter: EventFilter,
    recurring: bool,
    expiration: i64,
    source: (Address, B256),
    fingerprint: String,
}

#[derive(Default)]
struct Listeners {
    jobs: HashMap<JobId, Arc<Listener>>,
    sources: HashMap<(Address, B256), (FilterId, SourceIndex<Listener>)>,
    by_filter: HashMap<FilterId, (Address, B256)>,
}

fn fingerprint(job: &Job) -> String {
    match &job.spec.trigger {
        Trigger::Event(e) => format!(
            "{}|{}|{}|{}|{}|{}|{}|{}",
            e.trigger_contract_address,
            e.trigger_event,
            e.event_filter_para_name,
            e.event_filter_value,
            e.event_filter,
            job.spec.recurring,
            job.spec.expiration_time,
            job.status.as_str()
        ),
        _ => String::new(),
    }
}

impl Listeners {
    async fn remove(&mut self, watcher: &LogWatcher<Store>, job_id: &JobId) {
        let Some(listener) = self.jobs.remove(job_id) else { return };
        if let Some((filter_id, jobs)) = self.sources.get_mut(&listener.source) {
            jobs.remove(job_id);
            if jobs.is_empty() {
                let filter_id = *filter_id;
                watcher.remove_filter(filter_id).await;
                self.by_filter.remove(&filter_id);
                self.sources.remove(&listener.source);
            }
        }
    }

    /// Takes a job in, replaces it, or drops it (not schedulable, expired, other chain); says whether
    /// the job is schedulable but its time frame is over (the caller marks it expired).
    async fn admit(&mut self, watcher: &LogWatcher<Store>, chain_id: u64, job: &Job, now: i64) -> bool {
        let Trigger::Event(trigger) = &job.spec.trigger else { return false };
        if trigger.trigger_chain_id != chain_id.to_string() {
            return false;
        }
        let fingerprint = fingerprint(job);
        if self.jobs.get(&job.spec.job_id).is_some_and(|l| l.fingerprint == fingerprint) {
            return false;
        }
        self.remove(watcher, &job.spec.job_id).await;
        if !job.status.is_schedulable() {
            return false;
        }
        if job.spec.expiration_time <= now {
            return true;
        }
        let (event, filter) = match compile(trigger) {
            Ok(compiled) => compiled,
            Err(e) => {
                tracing::warn!(job_id = %job.spec.job_id, error = %e, "unusable event trigger; job not watched");
                return false;
            }
        };
        let (Ok(address), Ok(topic0)) =
            (trigger.trigger_contract_address.parse::<Address>(), trigger.topic0.parse::<B256>())
        else {
            tracing::warn!(job_id = %job.spec.job_id, "bad contract address or topic0; job not watched");
            return false;
        };
        let source = (address, topic0);
        let entry = match self.sources.get_mut(&source) {
            Some(entry) => entry,
            None => {
                let id = watcher.add_filter(LogFilter { address: Some(address), topic0: Some(topic0) }).await;
                self.by_filter.insert(id, source);
                self.sources.entry(source).or_insert((id, SourceIndex::default()))
            }
        };
        let indexed: String = event.inputs.iter().map(|p| if p.indexed { 'i' } else { 'd' }).collect();
        let shape = format!("{}/{indexed}", event.signature());
        let range =
            filter.uint_range().map(|(parameter, low, high)| RangeKey { shape: shape.clone(), parameter, low, high });
        let listener = Arc::new(Listener {
            shape,
            event,
            filter,
            recurring: job.spec.recurring,
            expiration: job.spec.expiration_time,
            source,
            fingerprint,
        });
        entry.1.insert(job.spec.job_id, range, listener.clone());
        self.jobs.insert(job.spec.job_id, listener);
        false
    }
}

impl EventTriggers {
    /// A scheduler watching `chains`, reading jobs from `store`, sending occurrences to `queue`.
    pub fn new(store: Store, queue: TaskQueueSender, chains: Vec<EventChain>, config: EventTriggerConfig) -> Self {
        EventTriggers { store, queue, chains, config, stats: Arc::new(EventTriggerStats::default()) }
    }

    /// Its counters.
    pub fn stats(&self) -> Arc<EventTriggerStats> {
        self.stats.clone()
    }

    /// Watches every chain until `stop` turns true.
    pub async fn run(self, stop: watch::Receiver<bool>) -> Result<(), EventTriggerError> {
        let this = Arc::new(self);
        let mut loops = Vec::new();
        for chain in this.chains.clone() {
            let (this, stop) = (this.clone(), stop.clone());
            loops.push(tokio::spawn(async move { this.run_chain(chain, stop).await }));
        }
        let mut result = Ok(());
        for handle in loops {
            match handle.await {
                Ok(Err(e)) => result = Err(e),
                Err(e) => tracing::error!(error = %e, "an event watcher panicked"),
                Ok(Ok(())) => {}
            }
        }
        result
    }

    async fn run_chain(&self, chain: EventChain, mut stop: watch::Receiver<bool>) -> Result<(), EventTriggerError> {
        let provider = triggerx_chain::provider::connect(std::slice::from_ref(&chain.rpc_url))
            .map_err(|e| EventTriggerError::Chain(chain.chain_id, e.to_string()))?;
        let watcher = LogWatcher::new(
            provider,
            format!("event-triggers:{}", chain.chain_id),
            chain.watcher.clone(),
            self.store.clone(),
        );
        let mut listeners = Listeners::default();
        let started = now_millis();
        for job in self.store.schedulable_jobs(TriggerKind::Event).await? {
            if listeners.admit(&watcher, chain.chain_id, &job, started).await {
                self.finish(job.spec.job_id, JobStatus::Expired).await;
            }
        }
        // This chain's share of `stats.jobs`, reconciled with the listener count once per round.
        let mut counted = 0u64;
        tracing::info!(chain = chain.chain_id, jobs = listeners.jobs.len(), "event scheduler watching");
        let mut changes_since = started - CHANGE_OVERLAP_MS;
        let mut followed = Instant::now();
        loop {
            let listening = listeners.jobs.len() as u64;
            self.stats.jobs.fetch_add(listening, Ordering::Relaxed);
            self.stats.jobs.fetch_sub(counted, Ordering::Relaxed);
            counted = listening;
            if *stop.borrow() {
                return Ok(());
            }
            if followed.elapsed() >= self.config.follow_every {
                followed = Instant::now();
                let polled_at = now_millis();
                match self.store.jobs_changed_since(TriggerKind::Event, changes_since).await {
                    Ok(changed) => {
                        for job in &changed {
                            if listeners.admit(&watcher, chain.chain_id, job, polled_at).await {
                                self.finish(job.spec.job_id, JobStatus::Expired).await;
                            }
                        }
                        changes_since = polled_at - CHANGE_OVERLAP_MS;
                    }
                    Err(e) => tracing::warn!(error = %e, "could not read job changes; retrying"),
                }
                self.expire(&watcher, &mut listeners, polled_at).await;
            }
            let batch = match watcher.next_batch().await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(chain = chain.chain_id, error = %e, "reading logs failed; retrying");
                    tokio::time::sleep(chain.watcher.poll_interval).await;
                    continue;
                }
            };
            let available = Instant::now();
            // One-shot jobs that fired, finished only once their requests are safe.
            let mut fired_once = Vec::new();
            for event in &batch.events {
                match event {
                    WatchEvent::Log { filters, log } => {
                        self.stats.logs.fetch_add(1, Ordering::Relaxed);
                        self.fire(&watcher, &mut listeners, filters, log, available, &mut fired_once).await?;
                    }
                    WatchEvent::Removed(id) => {
                        self.stats.removed.fetch_add(1, Ordering::Relaxed);
                        let key = format!("event:{:#x}:{}", id.block_hash, id.log_index);
                        match self.store.cancel_occurrence(&key, REORGED_REASON).await {
                            Ok(n) if n > 0 => {
                                tracing::info!(%key, tasks = n, "log removed by a reorg; its tasks failed")
                            }
                            Ok(_) => {}
                            Err(e) => tracing::warn!(%key, error = %e, "could not cancel a reorged occurrence"),
                        }
                    }
                }
            }
            // The checkpoint moves only once the batch's requests are safe: after a crash the batch is
            // read again and its logs land on the tasks they already have. Stopped before that, it stays.
            if !self.settle(&stop).await? {
                return Ok(());
            }
            for job_id in fired_once {
                self.finish(job_id, JobStatus::Completed).await;
            }
            if let Err(e) = watcher.commit(&batch).await {
                tracing::warn!(chain = chain.chain_id, error = %e, "could not save the watcher checkpoint");
            }
            if batch.to.is_none() {
                tokio::select! {
                    _ = tokio::time::sleep(chain.watcher.poll_interval) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// Waits until the requests sent so far are safe (true), or the scheduler is told to stop first
    /// (false).
    async fn settle(&self, stop: &watch::Receiver<bool>) -> Result<bool, EventTriggerError> {
        loop {
            if self.queue.settle(SETTLE_PATIENCE).await {
                return Ok(true);
            }
            if self.queue.is_closed() {
                return Err(EventTriggerError::QueueClosed);
            }
            if *stop.borrow() {
                return Ok(false);
            }
            tracing::debug!("task requests not yet handled; the log checkpoint waits");
        }
    }

    /// Sends one task request per listening job whose filter the log passes; a one-shot job stops
    /// listening and is added to `fired_once`.
    async fn fire(
        &self,
        watcher: &LogWatcher<Store>,
        listeners: &mut Listeners,
        filters: &[FilterId],
        log: &alloy::rpc::types::Log,
        available: Instant,
        fired_once: &mut Vec<JobId>,
    ) -> Result<(), EventTriggerError> {
        let (Some(hash), Some(index)) = (log.block_hash, log.log_index) else { return Ok(()) };
        let key = format!("event:{hash:#x}:{index}");
        let mut finished = Vec::new();
        // Jobs on the same event decode the log the same way: decode once per event shape.
        let mut decoded: HashMap<String, Option<Vec<DynSolValue>>> = HashMap::new();
        for filter_id in filters {
            let Some(source) = listeners.by_filter.get(filter_id).copied() else { continue };
            let Some((_, index)) = listeners.sources.get_mut(&source) else { continue };
            let candidates =
                index.candidates(|listener, parameter| match decode(&mut decoded, listener, log)?.get(parameter) {
                    Some(DynSolValue::Uint(value, _)) => Some(*value),
                    _ => None,
                });
            for (job_id, listener) in candidates {
                let Some(values) = decode(&mut decoded, &listener, log) else { continue };
                if !listener.filter.matches(values) {
                    continue;
                }
                let message = TaskRequest { job_id, occurrence_key: key.clone() };
                self.queue.send(message).await.map_err(|_| EventTriggerError::QueueClosed)?;
                self.stats.fired.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut histogram) = self.stats.latency_micros.lock() {
                    let _ = histogram.record((available.elapsed().as_micros() as u64).max(1));
                }
                if !listener.recurring {
                    finished.push(job_id);
                }
            }
        }
        for job_id in finished {
            listeners.remove(watcher, &job_id).await;
            fired_once.push(job_id);
        }
        Ok(())
    }

    async fn expire(&self, watcher: &LogWatcher<Store>, listeners: &mut Listeners, now: i64) {
        let expired: Vec<JobId> =
            listeners.jobs.iter().filter(|(_, l)| l.expiration <= now).map(|(id, _)| *id).collect();
        for job_id in expired {
            listeners.remove(watcher, &job_id).await;
            self.finish(job_id, JobStatus::Expired).await;
        }
    }

    async fn finish(&self, job_id: JobId, status: JobStatus) {
        match self.store.finish_job(job_id, status).await {
            Ok(true) => tracing::info!(%job_id, status = status.as_str(), "event job finished"),
            Ok(false) => {}
            Err(e) => tracing::warn!(%job_id, error = %e, "could not finish an event job"),
        }
    }
}
