//! Keeper operators' L1 actions on `KeeperRegistry`: the owner whitelists operators, an operator
//! registers its consensus address, BLS public key (with its proof of possession) and voting power.

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

/// A BLS key as `KeeperRegistry.register` takes it (words in the precompiles' order), with the proof
/// of possession signed for the registry and operator it registers at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlsRegistration {
    /// G2 key `[x.c1, x.c0, y.c1, y.c0]`.
    pub key_g2: [U256; 4],
    /// G1 key `[x, y]`.
    pub key_g1: [U256; 2],
    /// The signature over the registration message, `[x, y]`.
    pub proof: [U256; 2],
}

impl BlsRegistration {
    /// `key`'s registration as `operator` at `registry` on `chain_id`, with its proof of possession.
    pub fn new(key: &triggerx_attestation::BlsSecretKey, chain_id: u64, registry: Address, operator: Address) -> Self {
        let public = key.public_key();
        let proof = triggerx_attestation::sign_registration(key, chain_id, registry, operator);
        BlsRegistration { key_g2: public.g2_words(), key_g1: public.g1_words(), proof: proof.words() }
    }
}

/// The chain id of the chain at `rpc_url` (what a proof of possession must name).
pub async fn chain_id(rpc_url: &str) -> Result<u64, ChainError> {
    use alloy::providers::Provider;
    Ok(crate::provider::connect(&[rpc_url.to_string()])?.get_chain_id().await?)
}

/// Registers the operator of `controller_key` with its consensus address, BLS key and voting power.
pub async fn register_keeper(
    rpc_url: &str,
    controller_key: &str,
    registry: Address,
    consensus: Address,
    bls: &BlsRegistration,
    voting_power: U256,
) -> Result<(), ChainError> {
    let contract = KeeperRegistry::new(registry, wallet_provider(rpc_url, controller_key)?);
    contract.register(consensus, bls.key_g2, bls.key_g1, bls.proof, voting_power).send().await?.get_receipt().await?;
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
