//! Log watcher: delivers the logs matching a changing set of filters, block range by block range, from a
//! durable checkpoint. One `eth_getLogs` per range serves every filter. Logs are delivered once they
//! have `confirmations`; a reorg of delivered blocks (seen as a changed block hash) emits `Removed` for
//! their logs and replays the range from the new chain. Catch-up after downtime goes in ranges of at
//! most `max_range` blocks.
//!
//! Use: `next_batch()` computes the next events without moving; `commit(&batch)` persists the checkpoint
//! once the events are handled. A batch not committed is produced again, so a clean restart neither
//! repeats nor misses a log.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};
use triggerx_core::checkpoint::CheckpointStore;

use crate::ChainError;

/// Identifies a filter registered with the watcher.
pub type FilterId = u64;

/// What one filter matches: an emitting contract and/or an event's topic0 (`None` = any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogFilter {
    /// Emitting contract.
    pub address: Option<Address>,
    /// keccak256 of the event signature.
    pub topic0: Option<B256>,
}

impl LogFilter {
    fn matches(&self, log: &Log) -> bool {
        self.address.is_none_or(|a| a == log.address()) && self.topic0.is_none_or(|t| log.topics().first() == Some(&t))
    }
}

/// Watcher tunables.
#[derive(Debug, Clone)]
pub struct WatcherConfig {
    /// Blocks a log must be buried under (0: deliver from the head).
    pub confirmations: u64,
    /// Most blocks one `eth_getLogs` covers.
    pub max_range: u64,
    /// How many recent blocks are remembered to detect reorgs and name the logs they remove.
    pub reorg_window: u64,
    /// First block for a watcher without a checkpoint (`None`: the current safe head).
    pub start_block: Option<u64>,
    /// Pause between polls when caught up.
    pub poll_interval: Duration,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        WatcherConfig {
            confirmations: 1,
            max_range: 1000,
            reorg_window: 128,
            start_block: None,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Identity of a delivered log (what a `Removed` event names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogId {
    /// Block number.
    pub block_number: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Index of the log in the block.
    pub log_index: u64,
}

/// One thing that happened.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    /// A matching log, with the filters it matches.
    Log {
        /// Matching filters.
        filters: Vec<FilterId>,
        /// The log.
        log: Box<Log>,
    },
    /// A log delivered earlier is no longer on the chain (its block was reorganised away).
    Removed(LogId),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct RecentBlock {
    number: u64,
    hash: B256,
    log_indices: Vec<u64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Checkpoint {
    next_block: u64,
    recent: Vec<RecentBlock>,
}

/// Events of one step and the checkpoint to commit after handling them.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `Removed` events first (newest block first), then logs in chain order.
    pub events: Vec<WatchEvent>,
    /// First block scanned (inclusive), if a range was scanned.
    pub from: Option<u64>,
    /// Last block scanned (inclusive), if a range was scanned.
    pub to: Option<u64>,
    /// Timestamp of block `to` (Unix seconds).
    pub to_timestamp: Option<u64>,
    checkpoint: Checkpoint,
}

/// Watches one chain.
pub struct LogWatcher<C: CheckpointStore> {
    provider: DynProvider,
    name: String,
    config: WatcherConfig,
    checkpoints: C,
    filters: RwLock<BTreeMap<FilterId, LogFilter>>,
    next_filter: AtomicU64,
    state: Mutex<Option<Checkpoint>>,
    /// Blocks per `getLogs` query now: `max_range`, halved each time the node refuses a query (too
    /// many results, response too large) and doubled back after each query it answers.
    span: AtomicU64,
}

impl<C: CheckpointStore> LogWatcher<C> {
    /// A watcher saving its checkpoint under `name` in `checkpoints`.
    pub fn new(provider: DynProvider, name: impl Into<String>, config: WatcherConfig, checkpoints: C) -> Self {
        LogWatcher {
            provider,
            name: name.into(),
            config,
            checkpoints,
            filters: Default::default(),
            next_filter: AtomicU64::new(1),
            state: Mutex::new(None),
            span: AtomicU64::new(u64::MAX),
        }
    }

    /// Adds a filter; its logs are delivered from the next range on.
    pub async fn add_filter(&self, filter: LogFilter) -> FilterId {
        let id = self.next_filter.fetch_add(1, Ordering::Relaxed);
        self.filters.write().await.insert(id, filter);
        id
    }

    /// Removes a filter.
    pub async fn remove_filter(&self, id: FilterId) {
        self.filters.write().await.remove(&id);
    }

    /// The next block the watcher will scan.
    pub async fn next_block(&self) -> Result<u64, ChainError> {
        Ok(self.loaded().await?.next_block)
    }

    async fn loaded(&self) -> Result<Checkpoint, ChainError> {
        let mut state = self.state.lock().await;
        if let Some(checkpoint) = state.as_ref() {
            return Ok(checkpoint.clone());
        }
        let stored =
            self.checkpoints.load_checkpoint(&self.name).await.map_err(|e| ChainError::Checkpoint(e.to_string()))?;
        let checkpoint = match stored {
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| ChainError::Checkpoint(format!("{}: {e}", self.name)))?
            }
            None => {
                let next_block = match self.config.start_block {
                    Some(block) => block,
                    None => self.safe_head().await? + 1,
                };
                let first = Checkpoint { next_block, recent: Vec::new() };
                // Remembered at once: a restart before the first batch is committed starts here again,
                // not at a later head (which would skip the blocks in between).
                self.save(&first).await?;
                first
            }
        };
        *state = Some(checkpoint.clone());
        Ok(checkpoint)
    }

    async fn safe_head(&self) -> Result<u64, ChainError> {
        Ok(self.provider.get_block_number().await?.saturating_sub(self.config.confirmations))
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, ChainError> {
        Ok(self.block_header(number).await?.map(|(hash, _)| hash))
    }

    /// Hash and timestamp of block `number`.
    async fn block_header(&self, number: u64) -> Result<Option<(B256, u64)>, ChainError> {
        let block = self.provider.get_block_by_number(BlockNumberOrTag::Number(number)).await?;
        Ok(block.map(|b| (b.header.hash, b.header.timestamp)))
    }

    /// The next events: logs removed by a reorg, then the logs of the next confirmed range. Does not
    /// move the checkpoint; `commit` does.
    pub async fn next_batch(&self) -> Result<Batch, ChainError> {
        let mut checkpoint = self.loaded().await?;
        let mut events = Vec::new();
        self.unwind_reorg(&mut checkpoint, &mut events).await?;
        let safe = self.safe_head().await?;
        if checkpoint.next_block > safe {
            return Ok(Batch { events, from: None, to: None, to_timestamp: None, checkpoint });
        }
        let from = checkpoint.next_block;
        let max_range = self.config.max_range.max(1);
        let mut to = safe.min(from + self.span.load(Ordering::Relaxed).clamp(1, max_range) - 1);
        let filters = self.filters.read().await.clone();
        let (anchor, anchor_time, logs) = loop {
            let (before, time) =
                self.block_header(to).await?.ok_or_else(|| ChainError::Rpc(format!("block {to} not found")))?;
            let logs = if filters.is_empty() {
                Vec::new()
            } else {
                match self.provider.get_logs(&range_filter(&filters, from, to)).await {
                    Ok(logs) => {
                        let span = self.span.load(Ordering::Relaxed);
                        self.span.store(span.saturating_mul(2).min(max_range), Ordering::Relaxed);
                        logs
                    }
                    // Providers refuse ranges with too many results or too large a response; a
                    // smaller range gets through, down to one block (then the error stands).
                    Err(e) if to > from => {
                        let half = (to - from).div_ceil(2);
                        self.span.store(half, Ordering::Relaxed);
                        tracing::warn!(watcher = %self.name, from, to, error = %e, "getLogs refused; halving the range to {half} blocks");
                        to = from + half - 1;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            let after = self.block_hash(to).await?;
            if after == Some(before) {
                break (before, time, logs);
            }
            tracing::debug!(to, "chain moved under the query; scanning the range again");
        };
        let mut by_block: BTreeMap<u64, RecentBlock> = BTreeMap::new();
        for log in &logs {
            if log.removed {
                continue;
            }
            let (Some(number), Some(hash), Some(index)) = (log.block_number, log.block_hash, log.log_index) else {
                continue;
            };
            let matching: Vec<FilterId> = filters.iter().filter(|(_, f)| f.matches(log)).map(|(id, _)| *id).collect();
            if matching.is_empty() {
                continue;
            }
            by_block
                .entry(number)
                .or_insert_with(|| RecentBlock { number, hash, log_indices: Vec::new() })
                .log_indices
                .push(index);
            events.push(WatchEvent::Log { filters: matching, log: Box::new(log.clone()) });
        }
        by_block.entry(to).or_insert_with(|| RecentBlock { number: to, hash: anchor, log_indices: Vec::new() });
        checkpoint.recent.extend(by_block.into_values());
        let keep_from = to.saturating_sub(self.config.reorg_window);
        checkpoint.recent.retain(|b| b.number > keep_from || b.number == to);
        checkpoint.next_block = to + 1;
        Ok(Batch { events, from: Some(from), to: Some(to), to_timestamp: Some(anchor_time), checkpoint })
    }

    /// If the newest remembered block changed, finds the newest remembered block still on the chain,
    /// emits `Removed` for every log delivered after it and rewinds to rescan from there.
    async fn unwind_reorg(&self, checkpoint: &mut Checkpoint, events: &mut Vec<WatchEvent>) -> Result<(), ChainError> {
        let Some(newest) = checkpoint.recent.last() else { return Ok(()) };
        if self.block_hash(newest.number).await? == Some(newest.hash) {
            return Ok(());
        }
        let mut keep = 0;
        for (position, block) in checkpoint.recent.iter().enumerate().rev() {
            if self.block_hash(block.number).await? == Some(block.hash) {
                keep = position + 1;
                break;
            }
        }
        let dropped = checkpoint.recent.split_off(keep);
        let rescan_from = match checkpoint.recent.last() {
            Some(ancestor) => ancestor.number + 1,
            None => dropped.first().map(|b| b.number).unwrap_or(checkpoint.next_block),
        };
        if keep == 0 {
            tracing::warn!(name = %self.name, "reorg deeper than the remembered window; rescanning from block {rescan_from}");
        }
        for block in dropped.iter().rev() {
            for index in block.log_indices.iter().rev() {
                events.push(WatchEvent::Removed(LogId {
                    block_number: block.number,
                    block_hash: block.hash,
                    log_index: *index,
                }));
            }
        }
        tracing::info!(name = %self.name, removed = events.len(), rescan_from, "chain reorganised");
        checkpoint.next_block = rescan_from;
        Ok(())
    }

    /// Persists the checkpoint of a handled batch.
    pub async fn commit(&self, batch: &Batch) -> Result<(), ChainError> {
        self.save(&batch.checkpoint).await?;
        *self.state.lock().await = Some(batch.checkpoint.clone());
        Ok(())
    }

    async fn save(&self, checkpoint: &Checkpoint) -> Result<(), ChainError> {
        let text = serde_json::to_string(checkpoint).map_err(|e| ChainError::Checkpoint(e.to_string()))?;
        self.checkpoints.save_checkpoint(&self.name, &text).await.map_err(|e| ChainError::Checkpoint(e.to_string()))
    }

    /// Runs until `events` closes: each batch is sent, then committed; waits `poll_interval` when caught up.
    pub async fn run(&self, events: tokio::sync::mpsc::Sender<WatchEvent>) -> Result<(), ChainError> {
        loop {
            let batch = self.next_batch().await?;
            let caught_up = batch.to.is_none();
            for event in batch.events.iter().cloned() {
                if events.send(event).await.is_err() {
                    return Ok(());
                }
            }
            self.commit(&batch).await?;
            if caught_up {
                tokio::time::sleep(self.config.poll_interval).await;
            }
        }
    }
}

/// One filter covering every registered filter (addresses and topic0s unioned; `None` anywhere widens).
fn range_filter(filters: &BTreeMap<FilterId, LogFilter>, from: u64, to: u64) -> Filter {
    let mut filter = Filter::new().from_block(from).to_block(to);
    if filters.values().all(|f| f.address.is_some()) {
        let addresses: BTreeSet<Address> = filters.values().filter_map(|f| f.address).collect();
        filter = filter.address(addresses.into_iter().collect::<Vec<_>>());
    }
    if filters.values().all(|f| f.topic0.is_some()) {
        let topics: BTreeSet<B256> = filters.values().filter_map(|f| f.topic0).collect();
        filter = filter.event_signature(topics.into_iter().collect::<Vec<_>>());
    }
    filter
}
