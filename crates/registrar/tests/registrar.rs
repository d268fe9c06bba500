//! The registrar against a real devnet: registrations reach the store, both hubs and the attestation
//! center; a registrar restarted mid-way neither duplicates nor misses a keeper; unregistration removes
//! a keeper everywhere; settlements of the center are recorded once, with attesters and points.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use triggerx_attestation::{BlsSecretKey, Operator, SettledTask, assemble, attestation_message};
use triggerx_chain::attestation::submit_task_calldata;
use triggerx_chain::bindings::{AttestationCenter, KeeperRegistry, TaskExecutionHub};
use triggerx_chain::deploy::{ChainRole, wallet_provider};
use triggerx_chain::keepers::{BlsRegistration, register_keeper, whitelist_keepers};
use triggerx_devnet::{Devnet, DevnetOptions};
use triggerx_registrar::{HubTarget, Registrar, RegistrarConfig};
use triggerx_store::{NewTask, Store};
use triggerx_testbed::fixtures::{create_job, time_job_input};

async fn register(devnet: &Devnet, index: usize, power: u64) {
    let l1 = devnet.deployment.chain(ChainRole::L1).unwrap();
    let (consensus, account) = (Address::with_last_byte(index as u8), &devnet.deployment.accounts[index]);
    let registry = l1.keeper_registry().unwrap();
    let bls = BlsRegistration::new(&BlsSecretKey::random(), l1.chain_id, registry, account.address);
    register_keeper(&l1.rpc_url, &account.private_key, registry, consensus, &bls, U256::from(power)).await.unwrap();
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
        attestation_centers: devnet
            .deployment
            .chains
            .iter()
            .filter_map(|c| c.contracts.attestation_center.map(|hub| HubTarget { rpc_url: c.rpc_url.clone(), hub }))
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

/// The voting power of operators 1..=4 in the L2 attestation center.
async fn center_powers(devnet: &Devnet) -> Vec<u64> {
    let l2 = devnet.deployment.chain(ChainRole::L2).unwrap();
    let provider = wallet_provider(&l2.rpc_url, &devnet.deployment.accounts[0].private_key).unwrap();
    let center = AttestationCenter::new(l2.contracts.attestation_center.unwrap(), provider);
    let mut powers = Vec::new();
    for id in 1..=4u64 {
        powers.push(center.votingPower(U256::from(id)).call().await.unwrap().to::<u64>());
    }
    powers
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
    assert_eq!(center_powers(&devnet).await, vec![100, 200, 0, 0], "operators of the attestation center");
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
    assert_eq!(center_powers(&devnet).await, vec![100, 0, 300, 400], "the center follows, the leaver removed");
    let again = second.step().await.unwrap();
    assert_eq!((again.registered, again.hub_changes), (0, 0), "nothing is applied twice");
    devnet.stop().await;
}

/// Registers dev account `index` with `key` (power 100) and returns the key.
async fn register_with(devnet: &Devnet, index: usize, key: &BlsSecretKey) {
    let l1 = devnet.deployment.chain(ChainRole::L1).unwrap();
    let account = &devnet.deployment.accounts[index];
    let registry = l1.keeper_registry().unwrap();
    let bls = BlsRegistration::new(key, l1.chain_id, registry, account.address);
    let consensus = Address::with_last_byte(index as u8);
    register_keeper(&l1.rpc_url, &account.private_key, registry, consensus, &bls, U256::from(100)).await.unwrap();
}

/// Submits the verdict `approve` of operators `signers` (ids) on `task` to the center, as an
/// aggregator would.
async fn settle(devnet: &Devnet, secrets: &[BlsSecretKey], task: &SettledTask, approve: bool, signers: &[u64]) {
    let l2 = devnet.deployment.chain(ChainRole::L2).unwrap();
    let center = l2.contracts.attestation_center.unwrap();
    let message = attestation_message(l2.chain_id, center, task, approve);
    let operators: BTreeMap<u64, Operator> =
        (1..=4u64).map(|id| (id, Operator { key: secrets[id as usize - 1].public_key(), power: 100 })).collect();
    let signatures = signers.iter().map(|id| (*id, secrets[*id as usize - 1].sign(message))).collect();
    let submission = assemble(message, approve, &operators, 1, &signatures, (2, 3)).unwrap();
    let provider = wallet_provider(&l2.rpc_url, &devnet.deployment.accounts[9].private_key).unwrap();
    let request = TransactionRequest::default().with_to(center).with_input(submit_task_calldata(task, &submission));
    let receipt = provider.send_transaction(request).await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status(), "submitTask succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlements_are_recorded_once_with_attesters_and_points() {
    let devnet = Devnet::start(&DevnetOptions { block_time: None, l1_port: None, l2_port: None }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(None, dir.path()).await.unwrap();
    whitelist(&devnet, &[1, 2, 3, 4]).await;
    let secrets: Vec<BlsSecretKey> = (0..4).map(|_| BlsSecretKey::random()).collect();
    for (i, key) in secrets.iter().enumerate() {
        register_with(&devnet, i + 1, key).await;
    }
    let registrar = Registrar::new(store.clone(), config(&devnet)).await.unwrap();
    catch_up(&registrar).await;
    assert_eq!(center_powers(&devnet).await, vec![100, 100, 100, 100]);
    let keepers = store.list_keepers().await.unwrap();
    let keeper_of = |operator: i64| keepers.iter().find(|k| k.operator_id == Some(operator)).unwrap().keeper_id;

    let owner = "0x00000000000000000000000000000000000000aa";
    let job = create_job(&store, time_job_input("1", owner)).await.unwrap();
    let mut task_ids = Vec::new();
    for key in ["time:1", "time:2"] {
        let new = NewTask {
            job_id: job,
            task_definition_id: None,
            occurrence_key: key.into(),
            task_performer_id: Some(keeper_of(1)),
        };
        task_ids.push(store.create_task(&new).await.unwrap().0.task_id);
    }
    // The center settles each attempt under the hub's task id (store namespace, task) and the attempt.
    let namespace = store.task_namespace().await.unwrap();
    let settled = |task_id: i64| SettledTask {
        task_id: triggerx_attestation::settlement_id(triggerx_core::assignment::onchain_task_id(namespace, task_id), 0),
        performer_id: U256::from(1),
        performer: devnet.deployment.accounts[1].address,
        proof_of_task: keccak256(format!("report {task_id}")),
        data: Bytes::from(U256::from(task_id).to_be_bytes::<32>().to_vec()),
        task_definition_id: 1,
    };
    // Operator 4 is offline for the first task; the second is rejected by operators 2, 3 and 4.
    settle(&devnet, &secrets, &settled(task_ids[0]), true, &[2, 3]).await;
    settle(&devnet, &secrets, &settled(task_ids[1]), false, &[2, 3, 4]).await;

    let report = registrar.step().await.unwrap();
    assert_eq!(report.settled, 2, "both settlements recorded");
    let accepted = store.task(task_ids[0]).await.unwrap().unwrap();
    assert_eq!((accepted.is_accepted, accepted.task_number), (Some(true), Some(1)));
    assert_eq!(accepted.task_attester_ids, vec![keeper_of(2), keeper_of(3)], "the signers, not the offline one");
    assert!(accepted.ta_signature.starts_with("0x") && accepted.ta_signature.len() == 130);
    assert!(accepted.task_submission_tx_hash.starts_with("0x"));
    let rejected = store.task(task_ids[1]).await.unwrap().unwrap();
    assert_eq!((rejected.is_accepted, rejected.task_number), (Some(false), Some(2)));
    assert_eq!(rejected.task_attester_ids, vec![keeper_of(2), keeper_of(3), keeper_of(4)]);

    let points = |keepers: &[triggerx_core::keeper::Keeper]| -> Vec<(f64, i64)> {
        (1..=4)
            .map(|op| {
                let k = keepers.iter().find(|k| k.operator_id == Some(op)).unwrap();
                (k.keeper_points, k.no_attested_tasks)
            })
            .collect()
    };
    let expected = vec![(10.0, 0), (4.0, 2), (4.0, 2), (2.0, 1)];
    assert_eq!(points(&store.list_keepers().await.unwrap()), expected, "the performer earns only the accepted task");

    // Neither another step nor a restarted registrar credits anything twice.
    assert_eq!(registrar.step().await.unwrap().settled, 0);
    drop(registrar);
    let again = Registrar::new(store.clone(), config(&devnet)).await.unwrap();
    catch_up(&again).await;
    assert_eq!(points(&store.list_keepers().await.unwrap()), expected);
    devnet.stop().await;
}
