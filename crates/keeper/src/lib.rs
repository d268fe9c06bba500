//! Keeper node: joins the P2P network, accepts only tasks the configured dispatcher signed for this
//! keeper, executes each once through the chain's `TaskExecutionHub` (refusing with
//! `insufficient_balance`, and no transaction, when the owner cannot pay the predicted fee) and
//! publishes a report. The fee is the hub's rule (gas used x gas price + the signed keeper fee, capped
//! by the signed maximum), not the keeper's choice.

pub mod checkin;
pub mod executor;
pub mod keys;
pub mod operator;
pub mod script_check;
pub mod settings;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::Mutex;
use triggerx_chain::ChainError;
use triggerx_chain::deploy::signer_from_key;
use triggerx_p2p::{Message, P2pConfig, P2pError, P2pNode, Received, TaskMessage};

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
        let inner = Arc::new(Inner {
            controller: controller.address(),
            dispatcher: config.dispatcher,
            chains,
            handled: Mutex::new(HashMap::new()),
            stats: stats.clone(),
            p2p: p2p.clone(),
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

async fn listen(inner: Arc<Inner>, mut incoming: tokio::sync::mpsc::Receiver<Received>) {
    while let Some(received) = incoming.recv().await {
        let Message::Task(task) = received.message else { continue };
        if task.performer() != inner.controller {
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

async fn handle(inner: &Inner, task: TaskMessage) {
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
    let counter = if report.tx_hash.is_some() { &inner.stats.executed } else { &inner.stats.refused };
    counter.fetch_add(1, Ordering::Relaxed);
    tracing::info!(task_id = task.task_id, status = ?report.status, reason = %report.reason, tx = ?report.tx_hash, "task handled");
    if let Err(e) =
        inner.p2p.publish_when_ready(&Message::ExecutionReport(report), std::time::Duration::from_secs(10)).await
    {
        tracing::warn!(task_id = task.task_id, error = %e, "could not publish the execution report");
    }
}
