//! What a keeper operator does before running a node: make its three keys, join a running network's
//! description (`join = "up.json"` in the config fills what the file leaves out), and register on the
//! L1 `KeeperRegistry` (refused clearly when not whitelisted; a second run says it is already done).

use std::path::Path;

use alloy::primitives::{Address, U256};
use serde::Deserialize;
use triggerx_chain::deploy::ChainDeployment;
use triggerx_chain::deploy::ChainRole;
use triggerx_chain::keepers::{operator_status, register_keeper};

use crate::KeeperError;
use crate::keys::KeeperKeys;
use crate::settings::{DEFAULT_VOTING_POWER, KeeperFile, L1Section};

/// The parts of a running network's description (`up.json`) a keeper joins with.
#[derive(Debug, Clone, Deserialize)]
pub struct JoinFile {
    /// Address whose assignments are accepted.
    pub dispatcher: Address,
    /// Health service base URL.
    pub health_url: String,
    /// P2P addresses to join through.
    #[serde(default)]
    pub p2p_bootstrap: Vec<String>,
    /// The chains and their contracts.
    pub chains: Vec<ChainDeployment>,
}

/// Reads the config at `path` and fills what it leaves out from the network it joins.
pub fn read_config(path: &Path) -> Result<KeeperFile, KeeperError> {
    let mut file = KeeperFile::read(path)?;
    if let Some(join) = file.join.clone() {
        let text = std::fs::read_to_string(&join)
            .map_err(|e| KeeperError::Config(format!("join = {}: {e} (is `triggerx up` running?)", join.display())))?;
        let network: JoinFile =
            serde_json::from_str(&text).map_err(|e| KeeperError::Config(format!("{}: {e}", join.display())))?;
        fill(&mut file, &network)?;
    }
    Ok(file)
}

fn fill(file: &mut KeeperFile, network: &JoinFile) -> Result<(), KeeperError> {
    file.dispatcher.get_or_insert(network.dispatcher);
    file.health_url.get_or_insert(network.health_url.clone());
    if file.p2p.bootstrap.is_empty() {
        file.p2p.bootstrap = network.p2p_bootstrap.clone();
    }
    if file.l1.is_none()
        && let Some(l1) = network.chains.iter().find(|c| c.role == ChainRole::L1)
    {
        file.l1 = Some(L1Section { rpc_url: l1.rpc_url.clone(), keeper_registry: l1.keeper_registry()? });
    }
    if file.chains.is_empty() {
        file.chains = network.chains.clone();
    }
    Ok(())
}

/// How a registration went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// Registered now, with this voting power.
    Registered {
        /// The operator (controller) address.
        operator: Address,
        /// Voting power asked for.
        voting_power: u64,
    },
    /// It was registered before with the same consensus key.
    AlreadyRegistered {
        /// The operator (controller) address.
        operator: Address,
    },
}

/// Registers the operator of `keys` on the L1 registry the config names.
pub async fn register(file: &KeeperFile, keys: &KeeperKeys) -> Result<Registration, KeeperError> {
    let l1 = file.l1()?.clone();
    let operator = keys.controller.address();
    let status = operator_status(&l1.rpc_url, l1.keeper_registry, operator).await?;
    if status.registered {
        if status.consensus != keys.consensus.address() {
            return Err(KeeperError::Config(format!(
                "operator {operator} is already registered with consensus address {}, not this config's {}",
                status.consensus,
                keys.consensus.address()
            )));
        }
        return Ok(Registration::AlreadyRegistered { operator });
    }
    if !status.whitelisted {
        return Err(KeeperError::Config(format!(
            "operator {operator} is not whitelisted on KeeperRegistry {}; the registry owner must whitelist it first",
            l1.keeper_registry
        )));
    }
    let voting_power = file.voting_power.unwrap_or(DEFAULT_VOTING_POWER);
    if voting_power == 0 {
        return Err(KeeperError::Config("voting_power must be positive".into()));
    }
    let chain_id = triggerx_chain::keepers::chain_id(&l1.rpc_url).await?;
    let bls = keys.bls_registration(chain_id, l1.keeper_registry);
    register_keeper(
        &l1.rpc_url,
        &keys.controller_hex(),
        l1.keeper_registry,
        keys.consensus.address(),
        &bls,
        U256::from(voting_power),
    )
    .await?;
    Ok(Registration::Registered { operator, voting_power })
}

/// Whether the operator of `keys` is registered on the L1 the config names (`None` when there is no
/// L1 in the config).
pub async fn is_registered(file: &KeeperFile, keys: &KeeperKeys) -> Result<Option<bool>, KeeperError> {
    let Some(l1) = &file.l1 else { return Ok(None) };
    Ok(Some(operator_status(&l1.rpc_url, l1.keeper_registry, keys.controller.address()).await?.registered))
}
