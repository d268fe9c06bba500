//! Attestation end to end on real anvil chains, libp2p on loopback and 4 keepers: every execution is
//! checked by the other keepers, a quorum's BLS verdict is settled on the AttestationCenter by the
//! aggregator, and the registrar records it on the task with attesters and points. Lying keepers are
//! real keepers with a fault switched on: a performer that states other calldata, one that claims a
//! transaction it did not send, an attester that signs the opposite of what it finds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use alloy::providers::ProviderBuilder;
use triggerx_aggregator::{AggregatorConfig, AggregatorNode};
use triggerx_attestation::settlement_id;
use triggerx_chain::bindings::{AttestationCenter, TaskExecutionHub, TriggerGasRegistry};
use triggerx_chain::deploy::{ChainDeployment, ChainRole};
use triggerx_core::assignment::onchain_task_id;
use triggerx_core::ids::JobId;
use triggerx_core::task::{Task, TaskRequest, TaskStatus};
use triggerx_devnet::local_keepers::register_local_keepers;
use triggerx_devnet::{Devnet, DevnetOptions};
use triggerx_dispatcher::{DispatcherChain, DispatcherConfig, RequestSource};
use triggerx_keeper::keys::KeeperKeys;
use triggerx_keeper::{KeeperConfig, KeeperFaults, KeeperNode};
use triggerx_p2p::{Multiaddr, P2pConfig, P2pNode};
use triggerx_registrar::RegistrarConfig;
use triggerx_store::Store;

/// A job of `owner` on `chain` (registered there with a 1 ETH gas deposit) calling `incrementBy(5)`.
async fn new_job(store: &Store, chain: &ChainDeployment, owner: &triggerx_chain::deployment::DevAccount) -> JobId {
    let id = triggerx_chain::jobs::register_job(
        &chain.rpc_url,
        &owner.private_key,
        chain.contracts.job_registry,
        &triggerx_chain::jobs::JobRegistration::interval("poke", chain.address("Counter").unwrap(), 60, 3600),
    )
    .await
    .unwrap();
    triggerx_chain::jobs::deposit_gas(
        &chain.rpc_url,
        &owner.private_key,
        chain.contracts.gas_registry,
        U256::from(10u128.pow(18)),
    )
    .await
    .unwrap();
    store.create_jobs(&common::counter_job(JobId(id), owner.address, chain, common::ABI)).await.unwrap();
    JobId(id)
}

struct Net {
    devnet: Devnet,
    keys: Vec<KeeperKeys>,
    dispatcher_key: alloy::signers::local::PrivateKeySigner,
    bootstrap: Vec<Multiaddr>,
    health_url: String,
    p2p: P2pConfig,
}

impl Net {
    fn keeper_config(&self, index: usize, faults: KeeperFaults) -> KeeperConfig {
        let key = &self.keys[index];
        KeeperConfig {
            controller_key: key.controller_hex(),
            consensus_key: key.consensus_hex(),
            dispatcher: self.dispatcher_key.address(),
            chains: self.devnet.deployment.chains.clone(),
            p2p: P2pConfig {
                bootstrap: self.bootstrap.clone(),
                identity_seed: Some(key.p2p_identity_seed()),
                ..self.p2p.clone()
            },
            health_url: Some(self.health_url.clone()),
            checkin_interval: Duration::from_secs(1),
            bls_key: Some(key.bls_hex()),
            faults,
        }
    }

    async fn aggregator(&self) -> AggregatorNode {
        let accounts = &self.devnet.deployment.accounts;
        triggerx_aggregator::spawn(AggregatorConfig {
            submitter_key: accounts[8].private_key.clone(),
            dispatcher: self.dispatcher_key.address(),
            center_chain: self.devnet.deployment.chain(ChainRole::L2).unwrap().clone(),
            l1: self.devnet.deployment.chain(ChainRole::L1).unwrap().clone(),
            from_block: 0,
            p2p: P2pConfig { bootstrap: self.bootstrap.clone(), ..self.p2p.clone() },
            refresh: Duration::from_secs(2),
        })
        .await
        .unwrap()
    }
}

/// Waits until the task is final and settled (accepted, when `accepted_only`: an earlier attempt's
/// rejection is not the end).
async fn settled(store: &Store, task_id: i64, accepted_only: bool, patience: Duration) -> Task {
    let started = Instant::now();
    loop {
        let task = store.task(task_id).await.unwrap().unwrap();
        let verdict = if accepted_only { task.is_accepted == Some(true) } else { task.task_number.is_some() };
        if verdict && task.task_status.is_final() {
            return task;
        }
        assert!(started.elapsed() < patience, "task {task_id} not settled: {task:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn keeper_index(store_keepers: &[triggerx_core::keeper::Keeper], keys: &[KeeperKeys], keeper_id: i64) -> usize {
    let keeper = store_keepers.iter().find(|k| k.keeper_id == keeper_id).unwrap();
    keys.iter().position(|k| format!("{:#x}", k.controller.address()) == keeper.keeper_address).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_of_attesters_accepts_honest_work_and_rejects_lies() {
    let devnet = Devnet::start(&DevnetOptions { block_time: None, l1_port: None, l2_port: None }).await.unwrap();
    let deployment = devnet.deployment.clone();
    let accounts = deployment.accounts.clone();
    let l2 = deployment.chain(ChainRole::L2).unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(None, dir.path()).await.unwrap();

    // Four keepers register on L1; the registrar mirrors them into the hubs and the center.
    let keys = register_local_keepers(&deployment, 4).await.unwrap();
    let registrar = triggerx_registrar::spawn(
        store.clone(),
        RegistrarConfig {
            poll_interval: Duration::from_millis(100),
            ..RegistrarConfig::for_deployment(&deployment, &accounts[0].private_key, 0).unwrap()
        },
    )
    .await
    .unwrap();
    let health_config = triggerx_health::HealthConfig { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    let health = triggerx_health::spawn(store.clone(), health_config).await.unwrap();
    let p2p = P2pConfig { heartbeat: Duration::from_millis(100), ..Default::default() };
    let dispatcher_key = alloy::signers::local::PrivateKeySigner::random();
    let (dispatcher_node, reports) =
        P2pNode::start(p2p.clone().accepting_tasks_from(vec![dispatcher_key.address()]), dispatcher_key.clone())
            .await
            .unwrap();
    let dispatcher_node = std::sync::Arc::new(dispatcher_node);
    for chain in &deployment.chains {
        triggerx_chain::hub::trust_dispatcher(
            &chain.rpc_url,
            &accounts[0].private_key,
            chain.contracts.hub,
            dispatcher_key.address(),
        )
        .await
        .unwrap();
    }
    let net = Net {
        bootstrap: dispatcher_node.listen_addrs.clone(),
        devnet,
        keys,
        dispatcher_key: dispatcher_key.clone(),
        health_url: format!("http://{}", health.address),
        p2p: p2p.clone(),
    };
    let service = triggerx_dispatcher::spawn(
        store.clone(),
        dispatcher_key.clone(),
        dispatcher_node.clone(),
        reports,
        DispatcherConfig { deadline: Duration::from_secs(3), ..Default::default() },
        DispatcherChain::from_deployment(&deployment, 0, Duration::from_millis(100)),
        RequestSource::None,
    )
    .await
    .unwrap();
    let dispatcher = service.dispatcher.clone();

    // Keeper 2 states other calldata when it performs; keeper 3 signs the opposite of what it finds.
    let faults = [
        KeeperFaults::default(),
        KeeperFaults::default(),
        KeeperFaults { misreport_calldata: true, ..Default::default() },
        KeeperFaults { invert_verdicts: true, ..Default::default() },
    ];
    let mut keepers: Vec<Option<KeeperNode>> = Vec::new();
    for (i, fault) in faults.iter().enumerate() {
        keepers.push(Some(KeeperNode::start(net.keeper_config(i, fault.clone())).await.unwrap()));
    }
    let aggregator = net.aggregator().await;
    let started = Instant::now();
    while store.performers().await.unwrap().len() < 4 || dispatcher_node.peers().await.unwrap() < 5 {
        assert!(started.elapsed() < Duration::from_secs(30), "the keepers and the aggregator did not join");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let center = AttestationCenter::new(
        l2.contracts.attestation_center.unwrap(),
        ProviderBuilder::new().connect_http(l2.rpc_url.parse().unwrap()),
    );
    let started = Instant::now();
    while center.operatorCount().call().await.unwrap() < U256::from(4) {
        assert!(started.elapsed() < Duration::from_secs(30), "the registrar did not fill the center");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 1. Eight tasks, two per performer in the rotation: the misreporting performer's executions are
    // rejected on-chain, every other one accepted, whatever the lying attester signs.
    let owner = &accounts[6];
    let job = new_job(&store, &l2, owner).await;
    let namespace = store.task_namespace().await.unwrap();
    let mut verdicts = Vec::new();
    for i in 0..8 {
        let occurrence = format!("time:{}", triggerx_core::time::now_millis() + i);
        let task = dispatcher.request(&TaskRequest { job_id: job, occurrence_key: occurrence }).await.unwrap();
        let done = settled(&store, task.task_id, false, Duration::from_secs(60)).await;
        let performer = keeper_index(&store.list_keepers().await.unwrap(), &net.keys, done.task_performer_id.unwrap());
        verdicts.push((performer, done));
    }
    for (performer, task) in &verdicts {
        assert_eq!(task.task_status, TaskStatus::Executed, "{task:?}");
        let expected = *performer != 2;
        assert_eq!(task.is_accepted, Some(expected), "performer {performer}: {task:?}");
        assert!(task.task_number.unwrap() >= 1);
        assert!(task.task_attester_ids.len() >= 2, "a quorum of the three others signed: {task:?}");
        assert!(!task.task_attester_ids.contains(&task.task_performer_id.unwrap()), "the performer never attests");
        assert!(task.ta_signature.starts_with("0x") && task.task_submission_tx_hash.starts_with("0x"));
        if !expected {
            assert!(task.task_error.starts_with("rejected_by_attesters"), "{task:?}");
        }
    }
    let performers: std::collections::BTreeSet<usize> = verdicts.iter().map(|(p, _)| *p).collect();
    assert!(performers.contains(&2), "the misreporting keeper performed at least once: {performers:?}");
    assert!(performers.len() >= 3, "the rotation spread the work: {performers:?}");
    let mut numbers: Vec<i64> = verdicts.iter().map(|(_, t)| t.task_number.unwrap()).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 8, "every settlement has its own task number");
    let liar = keepers[3].as_ref().unwrap();
    assert!(liar.stats.rejected.load(Ordering::Relaxed) >= 1, "the liar signed rejections of honest work");
    let rejected = aggregator.stats.rejected.load(Ordering::Relaxed);
    let accepted = aggregator.stats.accepted.load(Ordering::Relaxed);
    assert_eq!(accepted + rejected, 8, "one settlement per task");
    assert_eq!(aggregator.stats.forged.load(Ordering::Relaxed), 0, "no honest attestation was taken for a forgery");
    let points = store.list_keepers().await.unwrap();
    let misreporter = points.iter().find(|k| k.keeper_address == format!("{:#x}", net.keys[2].controller.address()));
    let honest = points.iter().find(|k| k.keeper_address == format!("{:#x}", net.keys[0].controller.address()));
    let (misreporter, honest) = (misreporter.unwrap(), honest.unwrap());
    assert!(honest.keeper_points > 0.0 && honest.no_attested_tasks >= 1, "{honest:?}");
    let misreported = verdicts.iter().filter(|(p, _)| *p == 2).count() as i64;
    assert_eq!(
        misreporter.keeper_points,
        triggerx_store::ATTESTER_POINTS * misreporter.no_attested_tasks as f64,
        "a rejected performer earns nothing for its {misreported} rejected executions, only its attestations"
    );

    // 1b. A stranger publishes rejections in every operator's name, before the attesters speak: the
    // aggregator drops them (not signed by the operators' consensus keys) and the task is accepted.
    let (forger, _) = P2pNode::start(
        P2pConfig { bootstrap: net.bootstrap.clone(), ..p2p.clone() }
            .accepting_tasks_from(vec![dispatcher_key.address()]),
        alloy::signers::local::PrivateKeySigner::random(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let occurrence = format!("time:{}", triggerx_core::time::now_millis() + 50);
    let task = dispatcher.request(&TaskRequest { job_id: job, occurrence_key: occurrence }).await.unwrap();
    let started = Instant::now();
    while aggregator.stats.forged.load(Ordering::Relaxed) == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "the forged attestations were not seen");
        for operator_id in 1..=4 {
            let forged = triggerx_p2p::Attestation {
                task_id: task.task_id,
                attempt: 1,
                operator_id,
                approve: false,
                reason: "forged".into(),
                proof_of_task: B256::repeat_byte(9),
                signature: [U256::from(1), U256::from(2)],
            };
            let _ = forger.publish(&triggerx_p2p::Message::Attestation(forged)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let done = settled(&store, task.task_id, false, Duration::from_secs(60)).await;
    let performer = keeper_index(&store.list_keepers().await.unwrap(), &net.keys, done.task_performer_id.unwrap());
    assert_eq!(done.is_accepted, Some(performer != 2), "forged verdicts changed nothing: {done:?}");
    drop(forger);
    let rejected_before_claims = aggregator.stats.rejected.load(Ordering::Relaxed);

    // 2. Keeper 2 now claims a transaction it did not send; keeper 3 (the liar) is offline. The claim
    // is rejected on-chain for its attempt, and the task, re-assigned, is executed and accepted.
    drop(keepers[2].take());
    drop(keepers[3].take());
    let (_, by_another) = verdicts.iter().find(|(p, _)| *p != 2).unwrap();
    let foreign: B256 = by_another.execution_tx_hash.parse().unwrap();
    let claim = KeeperFaults { claim_transaction: Some(foreign), ..Default::default() };
    keepers[2] = Some(KeeperNode::start(net.keeper_config(2, claim)).await.unwrap());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut claimed = None;
    for i in 0..6 {
        let occurrence = format!("time:{}", triggerx_core::time::now_millis() + 100 + i);
        let task = dispatcher.request(&TaskRequest { job_id: job, occurrence_key: occurrence }).await.unwrap();
        let first = keeper_index(&store.list_keepers().await.unwrap(), &net.keys, task.task_performer_id.unwrap());
        let done = settled(&store, task.task_id, true, Duration::from_secs(90)).await;
        assert_eq!(done.is_accepted, Some(true), "one offline attester does not block acceptance: {done:?}");
        assert_eq!(done.task_status, TaskStatus::Executed);
        if first == 2 {
            claimed = Some(done);
            break;
        }
    }
    let claimed = claimed.expect("the claiming keeper was assigned a task");
    assert!(claimed.attempt >= 2, "re-assigned after the false claim: {claimed:?}");
    let first_attempt = settlement_id(onchain_task_id(namespace, claimed.task_id), 1);
    assert!(center.isSettled(first_attempt).call().await.unwrap(), "the false claim was settled (rejected)");
    assert!(aggregator.stats.rejected.load(Ordering::Relaxed) > rejected_before_claims, "as a rejection");
    let attempts = store.task_attempts(claimed.task_id).await.unwrap();
    assert_ne!(attempts.last().unwrap().performer_id, attempts[0].performer_id, "another keeper executed it");

    // 3. Fees: every held fee was released by its verdict: the accepted executions' to their keepers,
    // the rejected ones' back to the owner.
    let gas = TriggerGasRegistry::new(
        l2.contracts.gas_registry,
        ProviderBuilder::new().connect_http(l2.rpc_url.parse().unwrap()),
    );
    let hub = TaskExecutionHub::new(l2.contracts.hub, ProviderBuilder::new().connect_http(l2.rpc_url.parse().unwrap()));
    let (tasks, _) = store.tasks_of_job(job, triggerx_core::paging::Page { limit: 100, offset: 0 }).await.unwrap();
    let started = Instant::now();
    for task in tasks.iter().filter(|t| !t.execution_tx_hash.is_empty()) {
        while hub.isFeeHeld(onchain_task_id(namespace, task.task_id)).call().await.unwrap() {
            assert!(started.elapsed() < Duration::from_secs(30), "task {}'s fee still held", task.task_id);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let cost = |t: &Task| t.task_cost_wei.parse::<U256>().unwrap();
    let paid: U256 = tasks.iter().filter(|t| t.is_accepted == Some(true)).map(cost).sum();
    let refunded: U256 = tasks.iter().filter(|t| t.is_accepted == Some(false)).map(cost).sum();
    assert!(refunded > U256::ZERO, "the rejected executions were charged before their verdict");
    assert_eq!(
        gas.getBalance(owner.address).call().await.unwrap(),
        U256::from(10u128.pow(18)) - paid,
        "the owner paid for accepted executions only"
    );

    // 4. A task on the L1, which has no center: the registrar relays the center's verdict to the L1
    // hub and releases the fee there.
    let l1 = deployment.chain(ChainRole::L1).unwrap().clone();
    let l1_job = new_job(&store, &l1, owner).await;
    let occurrence = format!("time:{}", triggerx_core::time::now_millis() + 1000);
    let task = dispatcher.request(&TaskRequest { job_id: l1_job, occurrence_key: occurrence }).await.unwrap();
    let done = settled(&store, task.task_id, true, Duration::from_secs(90)).await;
    assert_eq!(done.is_accepted, Some(true), "{done:?}");
    let l1_hub =
        TaskExecutionHub::new(l1.contracts.hub, ProviderBuilder::new().connect_http(l1.rpc_url.parse().unwrap()));
    let started = Instant::now();
    while l1_hub.isFeeHeld(onchain_task_id(namespace, done.task_id)).call().await.unwrap() {
        assert!(started.elapsed() < Duration::from_secs(30), "the L1 fee is still held");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let settlement = settlement_id(onchain_task_id(namespace, done.task_id), u32::try_from(done.attempt).unwrap());
    assert!(l1_hub.verdictOf(settlement).call().await.unwrap().accepted, "the relayed verdict");
    let l1_gas = TriggerGasRegistry::new(
        l1.contracts.gas_registry,
        ProviderBuilder::new().connect_http(l1.rpc_url.parse().unwrap()),
    );
    assert_eq!(
        l1_gas.getBalance(owner.address).call().await.unwrap(),
        U256::from(10u128.pow(18)) - done.task_cost_wei.parse::<U256>().unwrap(),
        "the L1 owner paid its accepted execution"
    );

    drop(aggregator);
    drop(keepers);
    registrar.stop().await;
    service.stop().await;
    health.stop();
}
