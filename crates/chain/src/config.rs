//! The chains TriggerX talks to: id, RPC URLs (tried in order), confirmations, block time.

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use serde::{Deserialize, Serialize};

use crate::ChainError;

/// Confirmations when none are configured.
pub const DEFAULT_CONFIRMATIONS: u64 = 1;
/// How long connecting to one RPC URL may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChainConfig {
    /// EVM chain id.
    pub chain_id: u64,
    /// Human name (`l1`, `l2`, `sepolia`...).
    #[serde(default)]
    pub name: String,
    /// RPC endpoints, first preferred; the next is used when one does not answer.
    pub rpc_urls: Vec<String>,
    /// Blocks a log or receipt must be buried under before it counts.
    #[serde(default = "default_confirmations")]
    pub confirmations: u64,
    /// Expected block time in milliseconds (polling cadence).
    #[serde(default = "default_block_time_ms")]
    pub block_time_ms: u64,
}

fn default_confirmations() -> u64 {
    DEFAULT_CONFIRMATIONS
}

fn default_block_time_ms() -> u64 {
    1000
}

impl ChainConfig {
    /// Connects to the first RPC URL that answers with the configured chain id.
    pub async fn connect(&self) -> Result<DynProvider, ChainError> {
        let mut failures = Vec::new();
        for url in &self.rpc_urls {
            let parsed = match url.parse() {
                Ok(parsed) => parsed,
                Err(e) => {
                    failures.push(format!("{url}: {e}"));
                    continue;
                }
            };
            let provider = ProviderBuilder::new().connect_http(parsed).erased();
            match tokio::time::timeout(CONNECT_TIMEOUT, provider.get_chain_id()).await {
                Ok(Ok(id)) if id == self.chain_id => return Ok(provider),
                Ok(Ok(id)) => failures.push(format!("{url}: chain id {id}, expected {}", self.chain_id)),
                Ok(Err(e)) => failures.push(format!("{url}: {e}")),
                Err(_) => failures.push(format!("{url}: no answer in {CONNECT_TIMEOUT:?}")),
            }
        }
        Err(ChainError::RpcUnavailable(format!("chain {}: {}", self.chain_id, failures.join("; "))))
    }
}

/// Every configured chain by id.
#[derive(Debug, Clone, Default)]
pub struct ChainRegistry {
    chains: BTreeMap<u64, ChainConfig>,
}

impl ChainRegistry {
    /// A registry of `chains` (a later entry with the same id replaces an earlier one).
    pub fn new(chains: impl IntoIterator<Item = ChainConfig>) -> Self {
        ChainRegistry { chains: chains.into_iter().map(|c| (c.chain_id, c)).collect() }
    }

    /// The chain with `chain_id`.
    pub fn get(&self, chain_id: u64) -> Result<&ChainConfig, ChainError> {
        self.chains.get(&chain_id).ok_or(ChainError::UnknownChain(chain_id))
    }

    /// Every chain, by id.
    pub fn iter(&self) -> impl Iterator<Item = &ChainConfig> {
        self.chains.values()
    }
}
