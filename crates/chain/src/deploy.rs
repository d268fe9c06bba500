//! Deploys TriggerX's contracts to one chain and wires them: the hub becomes the gas registry's operator.
//! Every chain gets JobRegistry, TriggerGasRegistry, TaskExecutionHub and the test targets (Counter,
//! EventEmitter); the L1 also gets KeeperRegistry, and one L2 the AttestationCenter that settles tasks
//! against the L1 registry's keepers.

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use serde::{Deserialize, Serialize};

use crate::ChainError;
use crate::bindings::{
    AttestationCenter, Counter, EventEmitter, JobRegistry, KeeperRegistry, TaskExecutionHub, TriggerGasRegistry,
};

/// Whether a chain is the L1 (keeper registration) or another chain jobs run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainRole {
    /// Settlement and keeper registration chain.
    L1,
    /// A chain jobs run on.
    L2,
}

/// TriggerX's contracts on one chain, by typed field (named as the contracts in the file).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeployedContracts {
    /// `JobRegistry`: jobs and their owners.
    #[serde(rename = "JobRegistry")]
    pub job_registry: Address,
    /// `TriggerGasRegistry`: owners' gas balances.
    #[serde(rename = "TriggerGasRegistry")]
    pub gas_registry: Address,
    /// `TaskExecutionHub`: executes assigned tasks for keepers and charges owners.
    #[serde(rename = "TaskExecutionHub")]
    pub hub: Address,
    /// `KeeperRegistry` (the L1 only): keeper registrations.
    #[serde(rename = "KeeperRegistry", default, skip_serializing_if = "Option::is_none")]
    pub keeper_registry: Option<Address>,
    /// `AttestationCenter` (one L2): BLS quorums of keepers settle each executed task.
    #[serde(rename = "AttestationCenter", default, skip_serializing_if = "Option::is_none")]
    pub attestation_center: Option<Address>,
    /// `Counter`, a test and example target (local deployments).
    #[serde(rename = "Counter", default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<Address>,
    /// `EventEmitter`, a test and example trigger source (local deployments).
    #[serde(rename = "EventEmitter", default, skip_serializing_if = "Option::is_none")]
    pub event_emitter: Option<Address>,
}

impl DeployedContracts {
    /// Every contract deployed, with its name.
    pub fn named(&self) -> Vec<(&'static str, Address)> {
        let mut all = vec![
            ("JobRegistry", self.job_registry),
            ("TriggerGasRegistry", self.gas_registry),
            ("TaskExecutionHub", self.hub),
        ];
        for (name, address) in [
            ("KeeperRegistry", self.keeper_registry),
            ("AttestationCenter", self.attestation_center),
            ("Counter", self.counter),
            ("EventEmitter", self.event_emitter),
        ] {
            if let Some(address) = address {
                all.push((name, address));
            }
        }
        all
    }
}

/// One chain as every service sees it: its role and id, its RPC endpoints (the first preferred, the
/// others taking over when it fails) and TriggerX's contracts on it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChainDeployment {
    /// `l1` or `l2` (jobs run on any; keepers register on the L1).
    #[serde(default = "l2")]
    pub role: ChainRole,
    /// Chain id.
    pub chain_id: u64,
    /// RPC URL.
    pub rpc_url: String,
    /// More RPC URLs of the same chain, used when the first fails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback_rpc_urls: Vec<String>,
    /// The contracts.
    pub contracts: DeployedContracts,
}

fn l2() -> ChainRole {
    ChainRole::L2
}

impl ChainDeployment {
    /// Address of contract `name` (for messages and the example contracts; services use the fields).
    pub fn address(&self, name: &str) -> Result<Address, ChainError> {
        self.contracts
            .named()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| a)
            .ok_or_else(|| ChainError::Invalid(format!("{name} is not deployed on chain {}", self.chain_id)))
    }

    /// The `KeeperRegistry` (an error naming the chain when it has none).
    pub fn keeper_registry(&self) -> Result<Address, ChainError> {
        self.contracts
            .keeper_registry
            .ok_or_else(|| ChainError::Invalid(format!("no KeeperRegistry on chain {}", self.chain_id)))
    }

    /// Every RPC URL, preferred first.
    pub fn rpc_urls(&self) -> Vec<String> {
        std::iter::once(self.rpc_url.clone()).chain(self.fallback_rpc_urls.iter().cloned()).collect()
    }

    /// A provider over this chain's RPC URLs (see [`crate::provider::connect`]).
    pub fn provider(&self) -> Result<DynProvider, ChainError> {
        crate::provider::connect(&self.rpc_urls())
    }
}

/// Parses a private key (0x hex).
pub fn signer_from_key(key: &str) -> Result<PrivateKeySigner, ChainError> {
    key.trim().parse::<PrivateKeySigner>().map_err(|e| ChainError::Invalid(format!("private key: {e}")))
}

/// A provider that signs with `key` (nonces, gas and fees filled by alloy).
pub fn wallet_provider(rpc_url: &str, key: &str) -> Result<DynProvider, ChainError> {
    let signer = signer_from_key(key)?;
    let url = rpc_url.parse().map_err(|e| ChainError::Invalid(format!("{rpc_url}: {e}")))?;
    Ok(ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(url).erased())
}

/// Deploys the contracts for `role` on the chain at `rpc_url`, signed by `deployer_key`.
pub async fn deploy_chain(rpc_url: &str, deployer_key: &str, role: ChainRole) -> Result<ChainDeployment, ChainError> {
    let provider = wallet_provider(rpc_url, deployer_key)?;
    let deployer = signer_from_key(deployer_key)?.address();
    let chain_id = provider.get_chain_id().await?;
    let jobs = JobRegistry::deploy(&provider, deployer).await?;
    let gas = TriggerGasRegistry::deploy(&provider, deployer, deployer).await?;
    let hub = TaskExecutionHub::deploy(&provider, deployer, *jobs.address(), *gas.address()).await?;
    gas.setOperator(*hub.address()).send().await?.get_receipt().await?;
    let counter = Counter::deploy(&provider).await?;
    let emitter = EventEmitter::deploy(&provider).await?;
    let keeper_registry = match role {
        ChainRole::L1 => Some(*KeeperRegistry::deploy(&provider, deployer).await?.address()),
        ChainRole::L2 => None,
    };
    let contracts = DeployedContracts {
        job_registry: *jobs.address(),
        gas_registry: *gas.address(),
        hub: *hub.address(),
        keeper_registry,
        attestation_center: None,
        counter: Some(*counter.address()),
        event_emitter: Some(*emitter.address()),
    };
    Ok(ChainDeployment { role, chain_id, rpc_url: rpc_url.to_string(), fallback_rpc_urls: Vec::new(), contracts })
}

/// Deploys the `AttestationCenter` (owned by the deployer, who runs the registrar) on the chain at
/// `rpc_url`, settling against the L1 `registry` on `registry_chain_id`, and makes it the verdict source
/// of that chain's `hub` (whose held fees it then releases).
pub async fn deploy_attestation_center(
    rpc_url: &str,
    deployer_key: &str,
    registry_chain_id: u64,
    registry: Address,
    hub: Address,
) -> Result<Address, ChainError> {
    let provider = wallet_provider(rpc_url, deployer_key)?;
    let deployer = signer_from_key(deployer_key)?.address();
    let center =
        AttestationCenter::deploy(&provider, deployer, alloy::primitives::U256::from(registry_chain_id), registry)
            .await?;
    TaskExecutionHub::new(hub, &provider).setVerdictSource(*center.address()).send().await?.get_receipt().await?;
    Ok(*center.address())
}

/// Adds the `AttestationCenter` to the first L2 of `chains` (settling against the L1's registry).
pub async fn add_attestation_center(chains: &mut [ChainDeployment], deployer_key: &str) -> Result<(), ChainError> {
    let l1 =
        chains.iter().find(|c| c.role == ChainRole::L1).ok_or_else(|| ChainError::Invalid("no L1 chain".into()))?;
    let (registry_chain_id, registry) = (l1.chain_id, l1.keeper_registry()?);
    let Some(l2) = chains.iter_mut().find(|c| c.role == ChainRole::L2) else { return Ok(()) };
    let center =
        deploy_attestation_center(&l2.rpc_url, deployer_key, registry_chain_id, registry, l2.contracts.hub).await?;
    l2.contracts.attestation_center = Some(center);
    Ok(())
}
