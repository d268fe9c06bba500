//! The registrar against a real devnet: registrations reach the store and both hubs; a registrar
//! restarted mid-way neither duplicates nor misses a keeper; unregistration removes a keeper everywhere.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use alloy::primitives::{Address, U256};
use triggerx_chain::bindings::{KeeperRegistry, TaskExecutionHub};
use triggerx_chain::deploy::{ChainRole, wallet_provider};
use triggerx_chain::keepers::{register_keeper, whitelist_keepers};
use triggerx_devnet::{Devnet, DevnetOptions};
use triggerx_registrar::{HubTarget, Registrar, RegistrarConfig};
use triggerx_store::Store;

async fn register(devnet: &Devnet, index: usize, power: u64) {
    let l1 = devnet.deployment.chain(ChainRole::L1).unwrap();
    let key = [U256::from(index), U256::from(2), U256::from(3), U256::from(4)];
    let (consensus, controller) =
        (Address::with_last_byte(index as u8), &devnet.deployment.accounts[index].private_key);
    register_keeper(&l1.rpc_url, controller, l1.keeper_registry().unwrap(), consensus, key, U256::from(power))
        .await
        .unwrap();
}

async fn whitelist(devnet: &Devnet, indices: &[usize]) {
    let l1 = devnet.deployment.chain(ChainRole::L1).unwrap();
    let operators = indices.iter().map(|i| devnet.deployment.accounts[*i].address).collect();
    whitelist_keepers(
        &l1.rpc_url,
        &devnet.deployment.accounts[0].private_key,
        l1.keeper_registry().unwrap(),
        operators,
    )
    .await
    .unwrap();
}

fn config(devnet: &Devnet) -> RegistrarConfig {
    let l1 = devnet.deployment.chain(ChainRole::L1).unwrap();
    RegistrarConfig {
        l1_rpc_url: l1.rpc_url.clone(),
        keeper_registry: l1.keeper_registry().unwrap(),
        hubs: devnet
            .deployment
            .chains
            .iter()
            .map(|c| HubTarget { rpc_url: c.rpc_url.clone(), hub: c.contracts.hub })
            .collect(),
        admin_key: devnet.deployment.accounts[0].private_key.clone(),
        confirmations: 0,
        start_block: None,
        poll_interval: Duration::from_millis(50),
    }
}

async fn catch_up(registrar: &Registrar) {
    while registrar.step().await.unwrap().scanned_to.is_some() {}
}

async fn hub_has(devnet: &Devnet, index: usize) -> Vec<bool> {
    let mut answers = Vec::new();
    for chain in &devnet.deployment.chains {
        let provider = wallet_provider(&chain.rpc_url, &devnet.deployment.accounts[0].private_key).unwrap();
        let hub = TaskExecutionHub::new(chain.contracts.hub, provider);
        answers.push(hub.isKeeper(devnet.deployment.accounts[index].address).call().await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_reach_store_and_hubs_across_a_restart() {
    let devnet = Devnet::start(&DevnetOptions { block_time: None, l1_port: None, l2_port: None }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(None, dir.path()).await.unwrap();
    whitelist(&devnet, &[1, 2, 3, 4]).await;
    register(&devnet, 1, 100).await;
    register(&devnet, 2, 200).await;

    let first = Registrar::new(store.clone(), config(&devnet)).await.unwrap();
    catch_up(&first).await;
    let keepers = store.list_keepers().await.unwrap();
    assert_eq!(keepers.len(), 2);
    assert!(keepers.iter().all(|k| k.registered));
    assert_eq!(keepers[1].voting_power, "200");
    assert_eq!(keepers[0].operator_id, Some(1));
    assert!(keepers[0].bls_public_key.starts_with("0x") && keepers[0].bls_public_key.len() == 2 + 4 * 64);
    assert_eq!(hub_has(&devnet, 1).await, vec![true, true], "synced to the hubs of both chains");
    drop(first); // stopped mid-way

    register(&devnet, 3, 300).await;
    register(&devnet, 4, 400).await;
    let l1 = devnet.deployment.chain(ChainRole::L1).unwrap();
    let leaving = KeeperRegistry::new(
        l1.keeper_registry().unwrap(),
        wallet_provider(&l1.rpc_url, &devnet.deployment.accounts[2].private_key).unwrap(),
    );
    leaving.unregister().send().await.unwrap().get_receipt().await.unwrap();

    let second = Registrar::new(store.clone(), config(&devnet)).await.unwrap();
    catch_up(&second).await;
    let keepers = store.list_keepers().await.unwrap();
    assert_eq!(keepers.len(), 4, "no duplicate, no missed keeper: {keepers:?}");
    let registered: Vec<bool> = keepers.iter().map(|k| k.registered).collect();
    assert_eq!(registered, vec![true, false, true, true]);
    assert_eq!(hub_has(&devnet, 2).await, vec![false, false], "an unregistered keeper leaves the hubs");
    assert_eq!(hub_has(&devnet, 4).await, vec![true, true]);
    let again = second.step().await.unwrap();
    assert_eq!((again.registered, again.hub_changes), (0, 0), "nothing is applied twice");
    devnet.stop().await;
}
