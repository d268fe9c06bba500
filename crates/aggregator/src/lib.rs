//! The aggregator: listens to the P2P network for assignments, performers' stated records and
//! attesters' verdicts, and as soon as the verdicts of one kind carry the center's quorum it
//! aggregates them and settles the attempt with `AttestationCenter.submitTask` through the chain
//! layer's transaction sender. A verdict counts only when its P2P envelope is signed by the consensus
//! key its operator registered on L1 (nobody can pre-empt an operator's verdict with a forged one), and
//! only once its BLS signature verifies against the operator's key. Anyone may run one: the center
//! accepts a settlement only with a valid quorum, once per attempt, so several aggregators still give
//! one settlement (each checks `isSettled` before it pays for a transaction, and a lost race is
//! recognised and not retried).

pub mod collector;
pub mod operators;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::Address;
use alloy::providers::DynProvider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use tokio::sync::Mutex;
use triggerx_chain::ChainError;
use triggerx_chain::attestation::submit_task_calldata;
use triggerx_chain::bindings::{AttestationCenter, KeeperRegistry};
use triggerx_chain::deploy::{ChainDeployment, signer_from_key};
use triggerx_chain::sender::{SenderConfig, TxSender};
use triggerx_p2p::messages::ReportStatus;
use triggerx_p2p::{Message, P2pConfig, P2pError, P2pNode, Received};

use crate::collector::{AttemptKey, Collector, Ready};
use crate::operators::OperatorSet;

/// Histogram of blocks from an execution's receipt to its settlement (same chain only).
pub const LATENCY_BLOCKS_METRIC: &str = "triggerx_attestation_latency_blocks";
/// Counter of settlements sent, by verdict.
pub const SETTLEMENTS_METRIC: &str = "triggerx_aggregator_settlements_total";
/// Shortest time between two reloads of the operator set.
const RELOAD_PAUSE: Duration = Duration::from_secs(2);

/// Errors of the aggregator.
#[derive(Debug, thiserror::Error)]
pub enum AggregatorError {
    /// Chain access failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The P2P network failed.
    #[error(transparent)]
    P2p(#[from] P2pError),
    /// A registered key is not usable.
    #[error(transparent)]
    Bls(#[from] triggerx_attestation::AttestationError),
    /// The center's operator set and the L1 registry disagree (the registrar has not synced yet).
    #[error("operator set out of sync: {0}")]
    OutOfSync(String),
    /// Bad configuration.
    #[error("invalid aggregator configuration: {0}")]
    Config(String),
}

/// Aggregator settings (`Debug` leaves the key out).
#[derive(Clone)]
pub struct AggregatorConfig {
    /// Key that pays for `submitTask` (its own account: no other service may send with it).
    pub submitter_key: String,
    /// The dispatcher whose assignments count.
    pub dispatcher: Address,
    /// The chain with the `AttestationCenter`.
    pub center_chain: ChainDeployment,
    /// The L1 with the `KeeperRegistry`.
    pub l1: ChainDeployment,
    /// First block of the center's operator events.
    pub from_block: u64,
    /// P2P settings.
    pub p2p: P2pConfig,
    /// How often the operator set is read again.
    pub refresh: Duration,
}

impl std::fmt::Debug for AggregatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregatorConfig")
            .field("submitter_key", &"<redacted>")
            .field("dispatcher", &self.dispatcher)
            .field("center_chain", &self.center_chain.chain_id)
            .field("l1", &self.l1.chain_id)
            .field("p2p", &self.p2p)
            .finish()
    }
}

/// What the aggregator did.
#[derive(Debug, Default)]
pub struct AggregatorStats {
    /// Accepted settlements it sent.
    pub accepted: AtomicU64,
    /// Rejecting settlements it sent.
    pub rejected: AtomicU64,
    /// Attempts another aggregator settled first.
    pub settled_elsewhere: AtomicU64,
    /// Submissions that failed (retried on the next verdict).
    pub failures: AtomicU64,
    /// Attestations dropped: not signed by their operator's consensus key.
    pub forged: AtomicU64,
    /// Blocks from each execution's receipt to its settlement, when both are on the center's chain.
    pub latency_blocks: std::sync::Mutex<Vec<u64>>,
}

/// A running aggregator.
pub struct AggregatorNode {
    /// Counters.
    pub stats: Arc<AggregatorStats>,
    /// Its P2P node.
    pub p2p: Arc<P2pNode>,
    /// The account paying for settlements.
    pub submitter: Address,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AggregatorNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AggregatorNode {
    /// Stops listening (a settlement in flight completes or is retried by another aggregator).
    pub async fn stop(self) {
        drop(self);
    }
}

struct Inner {
    center: Address,
    center_chain_id: u64,
    provider: DynProvider,
    registry: KeeperRegistry::KeeperRegistryInstance<DynProvider>,
    from_block: u64,
    sender: TxSender,
    operators: Mutex<(OperatorSet, Instant)>,
    collector: Mutex<Collector>,
    stats: Arc<AggregatorStats>,
    refresh: Duration,
}

/// Starts an aggregator.
pub async fn spawn(config: AggregatorConfig) -> Result<AggregatorNode, AggregatorError> {
    let center = config.center_chain.contracts.attestation_center.ok_or_else(|| {
        AggregatorError::Config(format!("chain {} has no AttestationCenter", config.center_chain.chain_id))
    })?;
    let registry_address = config.l1.keeper_registry()?;
    let provider = config.center_chain.provider()?;
    let registry = KeeperRegistry::new(registry_address, config.l1.provider()?);
    let submitter: PrivateKeySigner = signer_from_key(&config.submitter_key)?;
    let sender = TxSender::new(provider.clone(), submitter.clone(), SenderConfig::default()).await?;
    // Before the registrar's first sync the center may not match L1 yet: start empty and read again.
    let operators = OperatorSet::load(&provider, center, config.from_block, &registry).await.unwrap_or_else(|e| {
        tracing::info!(error = %e, "operator set not readable yet; reading it again shortly");
        OperatorSet::default()
    });
    let p2p_config = config.p2p.clone().accepting_tasks_from(vec![config.dispatcher]);
    let (p2p, incoming) = P2pNode::start(p2p_config, PrivateKeySigner::random()).await?;
    let stats = Arc::new(AggregatorStats::default());
    let inner = Arc::new(Inner {
        center,
        center_chain_id: config.center_chain.chain_id,
        provider,
        registry,
        from_block: config.from_block,
        sender,
        operators: Mutex::new((operators, Instant::now() - config.refresh)),
        collector: Mutex::new(Collector::new(config.center_chain.chain_id, center)),
        stats: stats.clone(),
        refresh: config.refresh,
    });
    let task = tokio::spawn(listen(inner, incoming));
    Ok(AggregatorNode { stats, p2p: Arc::new(p2p), submitter: submitter.address(), task })
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

async fn listen(inner: Arc<Inner>, mut incoming: tokio::sync::mpsc::Receiver<Received>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let key: Option<AttemptKey> = tokio::select! {
            received = incoming.recv() => {
                let Some(received) = received else { return };
                inner.take(received).await
            }
            _ = tick.tick() => None,
        };
        let keys = match key {
            Some(key) => vec![key],
            None => {
                inner.refresh_operators(false).await;
                inner.collector.lock().await.candidates()
            }
        };
        for key in keys {
            inner.try_settle(key).await;
        }
    }
}

impl Inner {
    /// Files a received message; the attempt it concerns, if any.
    async fn take(&self, received: Received) -> Option<AttemptKey> {
        match received.message {
            Message::Task(task) => {
                let key = (task.task_id, task.attempt());
                self.collector.lock().await.task(*task, now_secs());
                Some(key)
            }
            Message::ExecutionReport(report) => {
                let mined = matches!(report.status, ReportStatus::Executed | ReportStatus::Failed);
                let record = report.record.filter(|_| mined)?;
                let key = (report.task_id, report.attempt);
                self.collector.lock().await.record(key, *record);
                Some(key)
            }
            Message::Attestation(attestation) => {
                let key = (attestation.task_id, attestation.attempt);
                let (sender, id) = (received.from, attestation.operator_id);
                if !self.operators.lock().await.0.speaks_for(sender, id) {
                    // A new operator the set does not hold yet, or a forgery: read the set again.
                    self.refresh_operators(true).await;
                    if !self.operators.lock().await.0.speaks_for(sender, id) {
                        tracing::warn!(operator = id, %sender, "an attestation not signed by its operator's consensus key; dropped");
                        self.stats.forged.fetch_add(1, Ordering::Relaxed);
                        return None;
                    }
                }
                self.collector.lock().await.attestation(attestation);
                Some(key)
            }
        }
    }

    /// Reads the operator set again when it is older than the refresh period (or `now`, at most
    /// once per [`RELOAD_PAUSE`]).
    async fn refresh_operators(&self, now: bool) {
        let due = {
            let held = self.operators.lock().await;
            let age = held.1.elapsed();
            age > self.refresh || (now && age > RELOAD_PAUSE)
        };
        if !due {
            return;
        }
        match OperatorSet::load(&self.provider, self.center, self.from_block, &self.registry).await {
            Ok(set) => *self.operators.lock().await = (set, Instant::now()),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the operator set; keeping the last one");
                self.operators.lock().await.1 = Instant::now();
            }
        }
    }

    async fn try_settle(self: &Arc<Self>, key: AttemptKey) {
        let unknown = {
            let operators = self.operators.lock().await;
            self.collector.lock().await.has_unknown_operators(key, &operators.0)
        };
        if unknown {
            self.refresh_operators(true).await;
        }
        let ready = {
            let operators = self.operators.lock().await;
            self.collector.lock().await.ready(key, &operators.0)
        };
        let Some(ready) = ready else { return };
        let inner = self.clone();
        tokio::spawn(async move { inner.submit(ready).await });
    }

    async fn submit(&self, ready: Ready) {
        let center = AttestationCenter::new(self.center, self.provider.clone());
        if let Ok(true) = center.isSettled(ready.task.task_id).call().await {
            self.stats.settled_elsewhere.fetch_add(1, Ordering::Relaxed);
            self.collector.lock().await.settled(ready.key);
            return;
        }
        let input = submit_task_calldata(&ready.task, &ready.submission);
        let request = TransactionRequest::default().with_to(self.center).with_input(input);
        match self.sender.send_and_confirm(request).await {
            Ok(receipt) => {
                let verdict = receipt.inner.logs().iter().find_map(|log| {
                    let number =
                        AttestationCenter::TaskSubmitted::decode_log(&log.inner).map(|e| (true, e.taskNumber)).or_else(
                            |_| AttestationCenter::TaskRejected::decode_log(&log.inner).map(|e| (false, e.taskNumber)),
                        );
                    number.ok()
                });
                self.collector.lock().await.settled(ready.key);
                let Some((accepted, number)) = verdict else {
                    tracing::warn!(task_id = ready.key.0, "the settlement emitted no verdict");
                    return;
                };
                let counter = if accepted { &self.stats.accepted } else { &self.stats.rejected };
                counter.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(SETTLEMENTS_METRIC, "accepted" => accepted.to_string()).increment(1);
                let same_chain = ready.record.chainId == alloy::primitives::U256::from(self.center_chain_id);
                let blocks =
                    receipt.block_number.filter(|_| same_chain).map(|b| b.saturating_sub(ready.record.blockNumber));
                if let Some(blocks) = blocks {
                    metrics::histogram!(LATENCY_BLOCKS_METRIC).record(blocks as f64);
                    if let Ok(mut all) = self.stats.latency_blocks.lock() {
                        all.push(blocks);
                    }
                }
                tracing::info!(
                    task_id = ready.key.0,
                    attempt = ready.key.1,
                    accepted,
                    task_number = number,
                    signed_power = ready.submission.signed_power as u64,
                    eligible_power = ready.submission.eligible_power as u64,
                    blocks_after_execution = ?blocks,
                    reasons = ?ready.reasons,
                    "task settled"
                );
            }
            Err(e) => {
                let settled = e.to_string().contains("AlreadySettled")
                    || matches!(center.isSettled(ready.task.task_id).call().await, Ok(true));
                if settled {
                    self.stats.settled_elsewhere.fetch_add(1, Ordering::Relaxed);
                    self.collector.lock().await.settled(ready.key);
                } else {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(task_id = ready.key.0, error = %e, "settlement failed; retrying");
                    self.collector.lock().await.retry(ready.key);
                }
            }
        }
    }
}
