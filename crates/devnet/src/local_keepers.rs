//! The keepers `triggerx up` runs itself: dev accounts whitelisted and registered on the L1
//! `KeeperRegistry` with fresh consensus and BLS keys, then started as keeper services joined to the
//! local network.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use triggerx_chain::deploy::ChainDeployment;
use triggerx_chain::deploy::{ChainRole, signer_from_key};
use triggerx_chain::deployment::Deployment;
use triggerx_chain::keepers::{register_keeper, whitelist_keepers};
use triggerx_keeper::keys::KeeperKeys;
use triggerx_keeper::{KeeperConfig, KeeperNode};
use triggerx_p2p::P2pConfig;

/// Voting power each local keeper registers with.
pub const LOCAL_VOTING_POWER: u64 = 100;
/// Seconds between a local keeper's check-ins.
const CHECKIN_INTERVAL: Duration = Duration::from_secs(30);

/// Whitelists dev accounts 1..=`count` and registers each as a keeper on the L1; their keys.
pub async fn register_local_keepers(deployment: &Deployment, count: usize) -> anyhow::Result<Vec<KeeperKeys>> {
    anyhow::ensure!(deployment.accounts.len() > count, "not enough dev accounts for {count} keepers");
    let l1 = deployment.chain(ChainRole::L1)?;
    let registry = l1.keeper_registry()?;
    let accounts = &deployment.accounts[1..=count];
    let keys = accounts
        .iter()
        .map(|a| Ok(KeeperKeys::generate(Some(signer_from_key(&a.private_key)?))))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let admin = &deployment.accounts[0].private_key;
    whitelist_keepers(&l1.rpc_url, admin, registry, accounts.iter().map(|a| a.address).collect()).await?;
    for key in &keys {
        let bls = key.bls_registration(l1.chain_id, registry);
        let (consensus, power) = (key.consensus.address(), U256::from(LOCAL_VOTING_POWER));
        register_keeper(&l1.rpc_url, &key.controller_hex(), registry, consensus, &bls, power).await?;
    }
    Ok(keys)
}

/// Starts a keeper for each of `keys` on every chain of `deployment`, accepting `dispatcher`'s
/// assignments, joined through `bootstrap` and checking in with `health_url`.
pub async fn start_local_keepers(
    keys: &[KeeperKeys],
    deployment: &Deployment,
    dispatcher: Address,
    bootstrap: &[triggerx_p2p::Multiaddr],
    health_url: &str,
) -> anyhow::Result<Vec<KeeperNode>> {
    let chains: Vec<ChainDeployment> = deployment.chains.clone();
    let mut keepers = Vec::new();
    for key in keys {
        let config = KeeperConfig {
            controller_key: key.controller_hex(),
            consensus_key: key.consensus_hex(),
            dispatcher,
            chains: chains.clone(),
            p2p: P2pConfig {
                bootstrap: bootstrap.to_vec(),
                identity_seed: Some(key.p2p_identity_seed()),
                ..Default::default()
            },
            health_url: Some(health_url.to_string()),
            checkin_interval: CHECKIN_INTERVAL,
            bls_key: Some(key.bls_hex()),
            faults: Default::default(),
        };
        keepers.push(triggerx_keeper::spawn(config).await?);
    }
    Ok(keepers)
}
