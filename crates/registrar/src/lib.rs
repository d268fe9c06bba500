//! Registrar: follows `OperatorRegistered` / `OperatorUnregistered` of the L1 `KeeperRegistry` through
//! the log watcher, upserts the keepers in the store, and mirrors the registered set into every chain's
//! `TaskExecutionHub` and into the L2 `AttestationCenter` (operator ids, BLS keys, voting power); it
//! also records each task the center settles (verdict, task number, attesters, points). The L1
//! checkpoint moves only after store and chains are updated, so a restart neither duplicates nor
//! misses a keeper; a reorg of registration blocks re-reads every known keeper from the registry.

mod centers;
mod fees;
mod outcomes;

use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolEvent};
use triggerx_chain::ChainError;
use triggerx_chain::bindings::{KeeperRegistry, TaskExecutionHub};
use triggerx_chain::deploy::signer_from_key;
use triggerx_chain::sender::{SenderConfig, TxSender};
use triggerx_chain::watcher::{LogFilter, LogWatcher, WatchEvent, WatcherConfig};
use triggerx_core::keeper::KeeperUpsert;
use triggerx_store::{Store, StoreError};

/// Name of the registrar's watcher checkpoint.
pub const CHECKPOINT_NAME: &str = "registrar:l1";

/// Errors of the registrar.
#[derive(Debug, thiserror::Error)]
pub enum RegistrarError {
    /// Talking to a chain failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A registry log could not be decoded.
    #[error("undecodable registry log: {0}")]
    Decode(String),
}

/// A hub whose keeper set the registrar keeps equal to the L1 registrations.
#[derive(Debug, Clone)]
pub struct HubTarget {
    /// RPC URL of the hub's chain.
    pub rpc_url: String,
    /// The hub.
    pub hub: Address,
}

/// Registrar settings (`Debug` leaves the admin key out).
#[derive(Clone)]
pub struct RegistrarConfig {
    /// RPC URL of the L1.
    pub l1_rpc_url: String,
    /// The L1 `KeeperRegistry`.
    pub keeper_registry: Address,
    /// Hubs to keep in sync.
    pub hubs: Vec<HubTarget>,
    /// Attestation centers to keep in sync (`hub` is the center's address).
    pub attestation_centers: Vec<HubTarget>,
    /// Key of the hubs' admin (sends `updateKeepers`).
    pub admin_key: String,
    /// Confirmations before a registration counts.
    pub confirmations: u64,
    /// First L1 block to read when there is no checkpoint (`None`: the registry's whole history from 0).
    pub start_block: Option<u64>,
    /// Pause when caught up.
    pub poll_interval: Duration,
}

impl std::fmt::Debug for RegistrarConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrarConfig")
            .field("l1_rpc_url", &triggerx_core::redact::redact_url(&self.l1_rpc_url))
            .field("keeper_registry", &self.keeper_registry)
            .field("hubs", &self.hubs)
            .field("attestation_centers", &self.attestation_centers)
            .field("admin_key", &"<redacted>")
            .field("confirmations", &self.confirmations)
            .field("start_block", &self.start_block)
            .field("poll_interval", &self.poll_interval)
            .finish()
    }
}

impl RegistrarConfig {
    /// Follows the L1 registry of `deployment` into every chain's hub, signing as `admin_key`.
    pub fn for_deployment(
        deployment: &triggerx_chain::deployment::Deployment,
        admin_key: &str,
        confirmations: u64,
    ) -> Result<RegistrarConfig, ChainError> {
        let l1 = deployment.chain(triggerx_chain::deploy::ChainRole::L1)?;
        let hubs = deployment
            .chains
            .iter()
            .map(|c| Ok(HubTarget { rpc_url: c.rpc_url.clone(), hub: c.contracts.hub }))
            .collect::<Result<Vec<_>, ChainError>>()?;
        let attestation_centers = deployment
            .chains
            .iter()
            .filter_map(|c| {
                c.contracts.attestation_center.map(|center| HubTarget { rpc_url: c.rpc_url.clone(), hub: center })
            })
            .collect();
        Ok(RegistrarConfig {
            l1_rpc_url: l1.rpc_url.clone(),
            keeper_registry: l1.keeper_registry()?,
            hubs,
            attestation_centers,
            admin_key: admin_key.to_string(),
            confirmations,
            start_block: None,
            poll_interval: Duration::from_secs(1),
        })
    }
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Registrations applied.
    pub registered: usize,
    /// Unregistrations applied.
    pub unregistered: usize,
    /// Logs reported removed by a reorg.
    pub removed: usize,
    /// Keepers added to / removed from hubs.
    pub hub_changes: usize,
    /// Last L1 block scanned, if any.
    pub scanned_to: Option<u64>,
    /// Task settlements recorded (from the attestation centers).
    pub settled: usize,
}

/// A contract the registrar administers (a hub or an attestation center), with the one sender of the
/// admin key on its chain.
pub(crate) struct Administered {
    pub(crate) address: Address,
    pub(crate) chain_id: u64,
    pub(crate) provider: DynProvider,
    pub(crate) sender: std::sync::Arc<TxSender>,
}

impl Administered {
    /// Sends `input` to the contract and waits for its receipt.
    pub(crate) async fn send(&self, input: Vec<u8>) -> Result<(), ChainError> {
        let request = TransactionRequest::default().with_to(self.address).with_input(input);
        self.sender.send_and_confirm(request).await?;
        Ok(())
    }
}

/// The contracts at `targets`, sharing one provider and sender per chain (one admin key must have one
/// nonce keeper on a chain, or the hub's and the center's transactions would race for nonces).
async fn administered(
    targets: &[&HubTarget],
    admin_key: &str,
    chains: &mut std::collections::HashMap<String, (DynProvider, std::sync::Arc<TxSender>, u64)>,
) -> Result<Vec<Administered>, ChainError> {
    let mut contracts = Vec::new();
    for target in targets {
        if !chains.contains_key(&target.rpc_url) {
            let provider = connect(&target.rpc_url)?;
            let chain_id = provider.get_chain_id().await?;
            let sender = TxSender::new(provider.clone(), signer_from_key(admin_key)?, SenderConfig::default()).await?;
            chains.insert(target.rpc_url.clone(), (provider, std::sync::Arc::new(sender), chain_id));
        }
        let (provider, sender, chain_id) = &chains[&target.rpc_url];
        contracts.push(Administered {
            address: target.hub,
            chain_id: *chain_id,
            provider: provider.clone(),
            sender: sender.clone(),
        });
    }
    Ok(contracts)
}

/// The registrar service.
pub struct Registrar {
    store: Store,
    watcher: LogWatcher<Store>,
    l1: DynProvider,
    registry: Address,
    hubs: Vec<Administered>,
    centers: Vec<Administered>,
    outcomes: Vec<outcomes::OutcomeFollower>,
    poll_interval: Duration,
    synced_once: std::sync::atomic::AtomicBool,
}

fn connect(url: &str) -> Result<DynProvider, ChainError> {
    triggerx_chain::provider::connect(&[url.to_string()])
}

fn bls_key_hex(words: &[U256; 4]) -> String {
    let mut hex = String::from("0x");
    for word in words {
        hex.push_str(&format!("{word:064x}"));
    }
    hex
}

impl Registrar {
    /// A registrar over `store` with `config`.
    pub async fn new(store: Store, config: RegistrarConfig) -> Result<Registrar, RegistrarError> {
        let l1 = connect(&config.l1_rpc_url)?;
        let watcher_config = WatcherConfig {
            confirmations: config.confirmations,
            start_block: Some(config.start_block.unwrap_or(0)),
            poll_interval: config.poll_interval,
            ..Default::default()
        };
        let watcher = LogWatcher::new(l1.clone(), CHECKPOINT_NAME, watcher_config, store.clone());
        for topic in
            [KeeperRegistry::OperatorRegistered::SIGNATURE_HASH, KeeperRegistry::OperatorUnregistered::SIGNATURE_HASH]
        {
            watcher.add_filter(LogFilter { address: Some(config.keeper_registry), topic0: Some(topic) }).await;
        }
        let mut chains = std::collections::HashMap::new();
        let hubs = administered(&config.hubs.iter().collect::<Vec<_>>(), &config.admin_key, &mut chains).await?;
        let centers =
            administered(&config.attestation_centers.iter().collect::<Vec<_>>(), &config.admin_key, &mut chains)
                .await?;
        let mut followers = Vec::new();
        for center in &centers {
            followers.push(
                outcomes::OutcomeFollower::new(
                    store.clone(),
                    center.provider.clone(),
                    center.address,
                    config.confirmations,
                    config.poll_interval,
                )
                .await?,
            );
        }
        Ok(Registrar {
            store,
            watcher,
            l1,
            registry: config.keeper_registry,
            hubs,
            centers,
            outcomes: followers,
            poll_interval: config.poll_interval,
            synced_once: Default::default(),
        })
    }

    /// Processes the next range of L1 blocks: store first, then hubs, then the checkpoint.
    pub async fn step(&self) -> Result<StepReport, RegistrarError> {
        let batch = self.watcher.next_batch().await?;
        let mut report = StepReport { scanned_to: batch.to, ..Default::default() };
        for event in &batch.events {
            match event {
                WatchEvent::Removed(_) => report.removed += 1,
                WatchEvent::Log { log, .. } => {
                    let tx = log.transaction_hash.map(|h| format!("{h:#x}")).unwrap_or_default();
                    if let Ok(registered) = KeeperRegistry::OperatorRegistered::decode_log(&log.inner) {
                        self.store
                            .upsert_keeper(&KeeperUpsert {
                                keeper_address: format!("{:#x}", registered.operator),
                                consensus_address: Some(format!("{:#x}", registered.consensusAddress)),
                                bls_public_key: Some(bls_key_hex(&registered.blsPublicKey)),
                                voting_power: Some(registered.votingPower.to_string()),
                                operator_id: Some(i64::try_from(registered.operatorId).unwrap_or(i64::MAX)),
                                registered_tx: Some(tx),
                                registered: Some(true),
                                whitelisted: Some(true),
                                ..Default::default()
                            })
                            .await?;
                        report.registered += 1;
                    } else if let Ok(unregistered) = KeeperRegistry::OperatorUnregistered::decode_log(&log.inner) {
                        self.store
                            .upsert_keeper(&KeeperUpsert {
                                keeper_address: format!("{:#x}", unregistered.operator),
                                registered: Some(false),
                                ..Default::default()
                            })
                            .await?;
                        report.unregistered += 1;
                    } else {
                        return Err(RegistrarError::Decode(format!("{:?}", log.topics().first())));
                    }
                }
            }
        }
        if report.removed > 0 {
            tracing::warn!(removed = report.removed, "registration blocks were reorganised; re-reading every keeper");
            self.reread_all().await?;
        }
        let changed = report.registered + report.unregistered + report.removed > 0;
        if changed || !self.synced_once.load(std::sync::atomic::Ordering::Relaxed) {
            report.hub_changes = self.sync_hubs().await?;
            self.synced_once.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self.watcher.commit(&batch).await?;
        for follower in &self.outcomes {
            report.settled += follower.step(&self.hubs).await?.0;
        }
        if changed {
            tracing::info!(
                registered = report.registered,
                unregistered = report.unregistered,
                hub_changes = report.hub_changes,
                "keeper set updated"
            );
        }
        Ok(report)
    }

    /// Re-reads every known keeper's registration from the L1 registry (after a reorg).
    async fn reread_all(&self) -> Result<(), RegistrarError> {
        let registry = KeeperRegistry::new(self.registry, self.l1.clone());
        for keeper in self.store.list_keepers().await? {
            let address: Address = keeper.keeper_address.parse().map_err(|e| RegistrarError::Decode(format!("{e}")))?;
            let operator = registry.getOperator(address).call().await.map_err(ChainError::from)?;
            self.store
                .upsert_keeper(&KeeperUpsert {
                    keeper_address: keeper.keeper_address.clone(),
                    registered: Some(operator.registered),
                    voting_power: Some(operator.votingPower.to_string()),
                    ..Default::default()
                })
                .await?;
        }
        Ok(())
    }

    /// Makes every hub's keeper set and every attestation center's operators equal to the registered
    /// keepers; returns how many entries changed.
    pub async fn sync_hubs(&self) -> Result<usize, RegistrarError> {
        let keepers = self.store.list_keepers().await?;
        let mut changes = 0;
        for hub in &self.hubs {
            let contract = TaskExecutionHub::new(hub.address, hub.provider.clone());
            let (mut added, mut removed) = (Vec::new(), Vec::new());
            for keeper in &keepers {
                let address: Address =
                    keeper.keeper_address.parse().map_err(|e| RegistrarError::Decode(format!("{e}")))?;
                let present = contract.isKeeper(address).call().await.map_err(ChainError::from)?;
                match (keeper.registered, present) {
                    (true, false) => added.push(address),
                    (false, true) => removed.push(address),
                    _ => {}
                }
            }
            if added.is_empty() && removed.is_empty() {
                continue;
            }
            changes += added.len() + removed.len();
            hub.send(TaskExecutionHub::updateKeepersCall { added, removed }.abi_encode()).await?;
        }
        let registry = KeeperRegistry::new(self.registry, self.l1.clone());
        for center in &self.centers {
            changes += centers::sync(center, &registry, &keepers).await?;
        }
        Ok(changes)
    }

    /// Runs until `stop` turns true. A failed step (an RPC or store error, a transaction refused) is
    /// logged and tried again after the poll interval: it never stops the registrar.
    pub async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>) -> Result<(), RegistrarError> {
        while !*stop.borrow() {
            let report = match self.step().await {
                Ok(report) => report,
                Err(e) => {
                    tracing::warn!(error = %e, "registrar step failed; trying again");
                    StepReport::default()
                }
            };
            if report.scanned_to.is_none() {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll_interval) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        Ok(())
    }
}

/// A running registrar service.
pub struct RegistrarHandle {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RegistrarHandle {
    /// Stops the registrar after its current step and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the registrar service: catches up with L1 first (so the store and the hubs know every keeper
/// registered so far when this returns), then follows new registrations until stopped.
pub async fn spawn(store: Store, config: RegistrarConfig) -> Result<RegistrarHandle, RegistrarError> {
    let registrar = Registrar::new(store, config).await?;
    while registrar.step().await?.scanned_to.is_some() {}
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        if let Err(e) = registrar.run(stopped).await {
            tracing::error!(error = %e, "registrar stopped");
        }
    });
    Ok(RegistrarHandle { stop, task })
}
