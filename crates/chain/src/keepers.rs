//! Keeper operators' L1 actions on `KeeperRegistry`: the owner whitelists operators, an operator
//! registers its consensus address, BLS public key and voting power.

use alloy::primitives::{Address, U256};

use crate::ChainError;
use crate::bindings::KeeperRegistry;
use crate::deploy::wallet_provider;

/// Whitelists `operators` (signed by the registry owner's key).
pub async fn whitelist_keepers(
    rpc_url: &str,
    owner_key: &str,
    registry: Address,
    operators: Vec<Address>,
) -> Result<(), ChainError> {
    let contract = KeeperRegistry::new(registry, wallet_provider(rpc_url, owner_key)?);
    contract.setWhitelist(operators, true).send().await?.get_receipt().await?;
    Ok(())
}

/// Registers the operator of `controller_key` with its consensus address, BN254 G2 key and voting power.
pub async fn register_keeper(
    rpc_url: &str,
    controller_key: &str,
    registry: Address,
    consensus: Address,
    bls_public_key: [U256; 4],
    voting_power: U256,
) -> Result<(), ChainError> {
    let contract = KeeperRegistry::new(registry, wallet_provider(rpc_url, controller_key)?);
    contract.register(consensus, bls_public_key, voting_power).send().await?.get_receipt().await?;
    Ok(())
}

/// Where an operator stands on `KeeperRegistry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorStatus {
    /// The registry owner allowed it to register.
    pub whitelisted: bool,
    /// It is registered now.
    pub registered: bool,
    /// Its registered consensus address (zero when never registered).
    pub consensus: Address,
}

/// Reads `operator`'s standing on the registry at `registry`.
pub async fn operator_status(
    rpc_url: &str,
    registry: Address,
    operator: Address,
) -> Result<OperatorStatus, ChainError> {
    let url = rpc_url.parse().map_err(|e| ChainError::Invalid(format!("{rpc_url}: {e}")))?;
    let provider = alloy::providers::ProviderBuilder::new().connect_http(url);
    let contract = KeeperRegistry::new(registry, provider);
    let (whitelisted_call, operator_call) = (contract.isWhitelisted(operator), contract.getOperator(operator));
    let (whitelisted, operator) = tokio::join!(whitelisted_call.call(), operator_call.call());
    let operator = operator?;
    Ok(OperatorStatus {
        whitelisted: whitelisted?,
        registered: operator.registered,
        consensus: operator.consensusAddress,
    })
}
