//! Keeper node: joins the P2P network, accepts only tasks the configured dispatcher signed for this
//! keeper, executes each once through the chain's `TaskExecutionHub` (refusing with
//! `insufficient_balance`, and no transaction, when the owner cannot pay the predicted fee) and
//! publishes a report. The fee is the hub's rule (gas used x gas price + the signed keeper fee, capped
//! by the signed maximum), not the keeper's choice. Every keeper is also an attester of the others'
//! executions ([`attester`]) when it has a BLS key and its chains include the L1 registry and the
//! `AttestationCenter`.

pub mod attester;
pub mod checkin;
pub mod executor;
pub mod keys;
pub mod operator;
pub mod record;
pub mod script_check;
pub mod settings;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use alloy::primitives::Address;
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::Mutex;
use triggerx_attestation::ExecutionRecord;
use triggerx_chain::ChainError;
use triggerx_chain::deploy::signer_from_key;
use triggerx_p2p::messages::ReportStatus;
use triggerx_p2p::{ExecutionReport, Message, P2pConfig, P2pError, P2pNode, Received, TaskMessage};

use crate::attester::{AttestationTarget, Attester};

pub use executor::ChainAccess;
pub use triggerx_chain::deploy::ChainDeployment;

/// Seconds an assignment is remembered after its deadline (clock skew between dispatcher and keeper).
const HANDLED_GRACE_SECS: u64 = 60;

/// Errors of the keeper node.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    /// Chain access failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The P2P network failed.
    #[error(transparent)]
    P2p(#[from] P2pError),
    /// A BLS key or signature was unusable.
    #[error(transparent)]
    Bls(#[from] triggerx_attestation::AttestationError),
    /// Bad configuration.
    #[error("invalid keeper configuration: {0}")]
    Config(String),
}

/// Keeper settings (`Debug` leaves both keys out).
#[derive(Clone)]
pub struct KeeperConfig {
    /// Controller key: sends transactions (its address is the registered keeper).
    pub controller_key: String,
    /// Consensus key: signs P2P messages and check-ins.
    pub consensus_key: String,
    /// The only address whose task assignments are accepted.
    pub dispatcher: Address,
    /// Chains this keeper executes on.
    pub chains: Vec<ChainDeployment>,
    /// P2P settings.
    pub p2p: P2pConfig,
    /// Health service to check in with (`http://host:port`); none: no check-ins.
    pub health_url: Option<String>,
    /// Time between check-ins (must stay under the health service's offline threshold).
    pub checkin_interval: std::time::Duration,
    /// BLS key (hex) it attests with; none: it does not attest.
    pub bls_key: Option<String>,
    /// Misbehaviour to inject (fault tests); the default is an honest keeper.
    pub faults: KeeperFaults,
}

/// Ways a keeper can be made to lie, so tests can show the network is not fooled. All off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeeperFaults {
    /// As performer: states another call hash than the calldata it sent.
    pub misreport_calldata: bool,
    /// As performer: sends nothing and states this transaction (someone else's) as its execution.
    pub claim_transaction: Option<alloy::primitives::B256>,
    /// As attester: signs the opposite verdict of what it finds.
    pub invert_verdicts: bool,
}

impl std::fmt::Debug for KeeperConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeeperConfig")
            .field("controller_key", &"<redacted>")
            .field("consensus_key", &"<redacted>")
            .field("dispatcher", &self.dispatcher)
            .field("chains", &self.chains.iter().map(|c| c.chain_id).collect::<Vec<_>>())
            .field("p2p", &self.p2p)
            .field("health_url", &self.health_url)
            .field("checkin_interval", &self.checkin_interval)
            .field("bls_key", &self.bls_key.as_ref().map(|_| "<redacted>"))
            .field("faults", &self.faults)
            .finish()
    }
}

/// What the keeper did.
#[derive(Debug, Default)]
pub struct KeeperStats {
    /// Tasks executed (a transaction was sent and mined).
    pub executed: AtomicU64,
    /// Tasks refused before sending (insufficient balance, expired, encoding errors).
    pub refused: AtomicU64,
    /// Tasks not signed by the configured dispatcher.
    pub forged: AtomicU64,
    /// Tasks received again after this keeper already handled them.
    pub duplicates: AtomicU64,
    /// Attestations published approving an execution.
    pub approved: AtomicU64,
    /// Attestations published rejecting one.
    pub rejected: AtomicU64,
}

/// A running keeper.
pub struct KeeperNode {
    /// Controller address.
    pub address: Address,
    /// Counters.
    pub stats: Arc<KeeperStats>,
    /// The P2P node (its listen addresses can bootstrap others).
    pub p2p: Arc<P2pNode>,
    task: tokio::task::JoinHandle<()>,
    checkins: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for KeeperNode {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(checkins) = &self.checkins {
            checkins.abort();
        }
    }
}

struct Inner {
    controller: Address,
    dispatcher: Address,
    chains: HashMap<u64, ChainAccess>,
    /// Assignments already taken, until their deadline (Unix seconds); later copies are duplicates.
    handled: Mutex<HashMap<(i64, u32), u64>>,
    stats: Arc<KeeperStats>,
    p2p: Arc<P2pNode>,
    attester: Option<Arc<Attester>>,
    faults: KeeperFaults,
}

/// Starts a keeper service: connects to the chains and the network and executes what it is assigned
/// until its handle is stopped (or dropped).
pub async fn spawn(config: KeeperConfig) -> Result<KeeperNode, KeeperError> {
    KeeperNode::start(config).await
}

impl KeeperNode {
    /// Stops executing and checking in (a task under way is abandoned: its assignment expires and the
    /// dispatcher re-assigns it).
    pub async fn stop(self) {
        drop(self);
    }

    /// Connects to the chains and the network and starts executing.
    pub async fn start(config: KeeperConfig) -> Result<KeeperNode, KeeperError> {
        let controller: PrivateKeySigner = signer_from_key(&config.controller_key)?;
        let consensus: PrivateKeySigner = signer_from_key(&config.consensus_key)?;
        let mut chains = HashMap::new();
        for chain in &config.chains {
            chains.insert(chain.chain_id, ChainAccess::connect(chain, controller.clone()).await?);
        }
        if chains.is_empty() {
            return Err(KeeperError::Config("no chain configured".into()));
        }
        // The network itself passes on only the configured dispatcher's assignments.
        let p2p_config = config.p2p.clone().accepting_tasks_from(vec![config.dispatcher]);
        let (p2p, incoming) = P2pNode::start(p2p_config, consensus).await?;
        let p2p = Arc::new(p2p);
        let stats = Arc::new(KeeperStats::default());
        let attester = match &config.bls_key {
            Some(key) => attester_for(key, controller.address(), &chains, config.faults.invert_verdicts)?,
            None => None,
        };
        let inner = Arc::new(Inner {
            controller: controller.address(),
            dispatcher: config.dispatcher,
            chains,
            handled: Mutex::new(HashMap::new()),
            stats: stats.clone(),
            p2p: p2p.clone(),
            attester,
            faults: config.faults.clone(),
        });
        let task = tokio::spawn(listen(inner, incoming));
        let checkins = config.health_url.clone().map(|url| {
            let peer_id = p2p.peer_id.to_string();
            let consensus = signer_from_key(&config.consensus_key);
            let (controller, interval) = (controller.address(), config.checkin_interval);
            tokio::spawn(async move {
                let Ok(consensus) = consensus else { return };
                checkin::run(&url, controller, &consensus, &peer_id, interval).await
            })
        });
        Ok(KeeperNode { address: controller.address(), stats, p2p, task, checkins })
    }
}

/// The attester of a keeper with BLS key `key`, when its chains include the L1 registry and an
/// `AttestationCenter` (otherwise there is nothing to attest to).
fn attester_for(
    key: &str,
    controller: Address,
    chains: &HashMap<u64, ChainAccess>,
    invert: bool,
) -> Result<Option<Arc<Attester>>, KeeperError> {
    let key = triggerx_attestation::BlsSecretKey::from_hex(key)?;
    let center =
        chains.values().find_map(|c| Some((c.deployment().chain_id, c.deployment().contracts.attestation_center?)));
    let registry =
        chains.values().find_map(|c| Some((c.provider().clone(), c.deployment().contracts.keeper_registry?)));
    let (Some((center_chain_id, center)), Some((l1, registry))) = (center, registry) else { return Ok(None) };
    let target = AttestationTarget {
        center_chain_id,
        center,
        registry: triggerx_chain::bindings::KeeperRegistry::new(registry, l1),
    };
    let providers = chains.iter().map(|(id, c)| (*id, c.provider().clone())).collect();
    Ok(Some(Arc::new(Attester::new(key, controller, target, providers, invert))))
}

async fn listen(inner: Arc<Inner>, mut incoming: tokio::sync::mpsc::Receiver<Received>) {
    while let Some(received) = incoming.recv().await {
        let task = match received.message {
            Message::Task(task) => task,
            Message::ExecutionReport(report) => {
                attest(&inner, report);
                continue;
            }
            Message::Attestation(_) => continue,
        };
        if task.performer() != inner.controller {
            if let Some(attester) = &inner.attester {
                attester.remember(*task).await;
            }
            continue;
        }
        match task.dispatcher() {
            Ok(signer) if signer == inner.dispatcher => {}
            _ => {
                inner.stats.forged.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(task_id = task.task_id, "refused a task not signed by the dispatcher");
                continue;
            }
        }
        {
            let mut handled = inner.handled.lock().await;
            // Past its deadline an assignment cannot execute (the hub refuses it): forget it.
            let now = executor::now_micros() / 1_000_000;
            handled.retain(|_, deadline| *deadline + HANDLED_GRACE_SECS >= now);
            if handled.insert((task.task_id, task.attempt()), task.assignment.deadline).is_some() {
                inner.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        }
        let inner = inner.clone();
        tokio::spawn(async move { handle(&inner, *task).await });
    }
}

/// Attests another performer's final report of a mined execution (in the background).
fn attest(inner: &Arc<Inner>, report: ExecutionReport) {
    let (Some(attester), Some(record)) = (inner.attester.clone(), report.record.clone()) else { return };
    let mined = matches!(report.status, ReportStatus::Executed | ReportStatus::Failed);
    if report.performer == inner.controller || !mined {
        return;
    }
    let inner = inner.clone();
    tokio::spawn(async move {
        let attestation = match attester.attest(report.task_id, report.attempt, &record).await {
            Ok(Some(attestation)) => attestation,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(task_id = report.task_id, error = %e, "could not attest");
                return;
            }
        };
        let counter = if attestation.approve { &inner.stats.approved } else { &inner.stats.rejected };
        counter.fetch_add(1, Ordering::Relaxed);
        tracing::info!(task_id = report.task_id, approve = attestation.approve, reason = %attestation.reason, "attested");
        let message = Message::Attestation(attestation);
        if let Err(e) = inner.p2p.publish_when_ready(&message, std::time::Duration::from_secs(10)).await {
            tracing::warn!(task_id = report.task_id, error = %e, "could not publish the attestation");
        }
    });
}

/// A lying performer's report in place of `task`'s execution: another transaction claimed as its own.
async fn claimed_report(inner: &Inner, task: &TaskMessage, claimed: alloy::primitives::B256) -> ExecutionReport {
    let receipt = match inner.chains.get(&task.chain_id) {
        Some(chain) => chain.provider().get_transaction_receipt(claimed).await.ok().flatten(),
        None => None,
    };
    let Some(receipt) = receipt else { return executor::refusal(task, inner.controller, "claimed_tx_unknown") };
    ExecutionReport {
        status: ReportStatus::Executed,
        tx_hash: Some(claimed),
        block_number: receipt.block_number,
        record: Some(Box::new(ExecutionRecord {
            success: true,
            ..record::stated_record(task, inner.controller, &receipt)
        })),
        ..executor::refusal(task, inner.controller, "")
    }
}

async fn handle(inner: &Inner, task: TaskMessage) {
    if let Some(claimed) = inner.faults.claim_transaction {
        let report = claimed_report(inner, &task, claimed).await;
        tracing::warn!(task_id = task.task_id, tx = %claimed, "fault: claiming a transaction it did not send");
        let _ =
            inner.p2p.publish_when_ready(&Message::ExecutionReport(report), std::time::Duration::from_secs(10)).await;
        return;
    }
    let (interim_tx, mut interim) = tokio::sync::mpsc::unbounded_channel();
    let publisher = {
        let p2p = inner.p2p.clone();
        tokio::spawn(async move {
            while let Some(report) = interim.recv().await {
                if let Err(e) =
                    p2p.publish_when_ready(&Message::ExecutionReport(report), std::time::Duration::from_secs(10)).await
                {
                    tracing::warn!(error = %e, "could not publish the executing report");
                }
            }
        })
    };
    let replay = match &task.script {
        Some(script) => script_check::replay_matches(script, &task).await,
        None => Ok(()),
    };
    let report = match (replay, inner.chains.get(&task.chain_id)) {
        (Err(reason), _) => {
            tracing::warn!(task_id = task.task_id, reason, "the task's script run does not replay; refused");
            executor::refusal(&task, inner.controller, &reason)
        }
        (Ok(()), Some(chain)) => chain.execute(&task, inner.controller, interim_tx).await,
        (Ok(()), None) => executor::refusal(&task, inner.controller, "unknown_chain"),
    };
    let _ = publisher.await;
    let mut report = report;
    if inner.faults.misreport_calldata
        && let Some(record) = report.record.as_mut()
    {
        record.callHash = alloy::primitives::keccak256([task.calldata.as_ref(), &[0u8]].concat());
    }
    let counter = if report.tx_hash.is_some() { &inner.stats.executed } else { &inner.stats.refused };
    counter.fetch_add(1, Ordering::Relaxed);
    tracing::info!(task_id = task.task_id, status = ?report.status, reason = %report.reason, tx = ?report.tx_hash, "task handled");
    if let Err(e) =
        inner.p2p.publish_when_ready(&Message::ExecutionReport(report), std::time::Duration::from_secs(10)).await
    {
        tracing::warn!(task_id = task.task_id, error = %e, "could not publish the execution report");
    }
}
