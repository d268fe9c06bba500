//! Deploys TriggerX's contracts to one chain and wires them: the hub becomes the gas registry's operator.
//! Every chain gets JobRegistry, TriggerGasRegistry, TaskExecutionHub and the test targets (Counter,
//! EventEmitter); the L1 also gets KeeperRegistry.

use std::collections::BTreeMap;

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use serde::{Deserialize, Serialize};

use crate::ChainError;
use crate::bindings::{Counter, EventEmitter, JobRegistry, KeeperRegistry, TaskExecutionHub, TriggerGasRegistry};

/// Whether a chain is the L1 (keeper registration) or another chain jobs run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainRole {
    /// Settlement and keeper registration chain.
    L1,
    /// A chain jobs run on.
    L2,
}

/// What was deployed on one chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChainDeployment {
    /// `l1` or `l2`.
    pub role: ChainRole,
    /// Chain id.
    pub chain_id: u64,
    /// RPC URL.
    pub rpc_url: String,
    /// Contract addresses by contract name.
    pub contracts: BTreeMap<String, Address>,
}

impl ChainDeployment {
    /// Address of contract `name`.
    pub fn address(&self, name: &str) -> Result<Address, ChainError> {
        self.contracts
            .get(name)
            .copied()
            .ok_or_else(|| ChainError::Invalid(format!("{name} is not deployed on chain {}", self.chain_id)))
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
    let mut contracts = BTreeMap::from([
        ("JobRegistry".to_string(), *jobs.address()),
        ("TriggerGasRegistry".to_string(), *gas.address()),
        ("TaskExecutionHub".to_string(), *hub.address()),
        ("Counter".to_string(), *counter.address()),
        ("EventEmitter".to_string(), *emitter.address()),
    ]);
    if role == ChainRole::L1 {
        let keepers = KeeperRegistry::deploy(&provider, deployer).await?;
        contracts.insert("KeeperRegistry".to_string(), *keepers.address());
    }
    Ok(ChainDeployment { role, chain_id, rpc_url: rpc_url.to_string(), contracts })
}
