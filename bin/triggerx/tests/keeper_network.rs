//! The keeper network end to end: real anvil chains, the registrar, real libp2p on loopback, the
//! dispatcher and three keepers executing through the TaskExecutionHub.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use triggerx_attestation::BlsSecretKey;
use triggerx_chain::bindings::{Counter, TriggerGasRegistry};
use triggerx_chain::deploy::{ChainDeployment, ChainRole};
use triggerx_chain::keepers::{BlsRegistration, register_keeper, whitelist_keepers};
use triggerx_core::assignment::Assignment;
use triggerx_core::ids::JobId;
use triggerx_core::task::TaskRequest;
use triggerx_core::task::{Task, TaskStatus};
use triggerx_devnet::{Devnet, DevnetOptions};
use triggerx_dispatcher::{DispatcherChain, DispatcherConfig, RequestSource};
use triggerx_keeper::{KeeperConfig, KeeperNode};
use triggerx_p2p::network::TASKS_TOPIC;
use triggerx_p2p::{Envelope, Message, P2pConfig, P2pNode, Refusal, TaskMessage};
use triggerx_registrar::{HubTarget, Registrar, RegistrarConfig};
use triggerx_store::Store;

use common::ABI;

async fn onchain_job(l2: &ChainDeployment, owner_key: &str, deposit: u128) -> JobId {
    let id = triggerx_chain::jobs::register_job(
        &l2.rpc_url,
        owner_key,
        l2.contracts.job_registry,
        &triggerx_chain::jobs::JobRegistration::interval("poke", l2.address("Counter").unwrap(), 60, 3600),
    )
    .await
    .unwrap();
    if deposit > 0 {
        triggerx_chain::jobs::deposit_gas(&l2.rpc_url, owner_key, l2.contracts.gas_registry, U256::from(deposit))
            .await
            .unwrap();
    }
    JobId(id)
}

/// `incrementBy` among 400 other functions: about 70 KB, an ABI real contracts have.
fn large_abi() -> String {
    let others: Vec<String> = (0..400)
        .map(|i| {
            format!(
                r#"{{"type":"function","name":"unrelatedFunctionNumber{i}","inputs":[{{"name":"first","type":"uint256"}},{{"name":"second","type":"address"}}],"outputs":[{{"name":"","type":"bool"}}],"stateMutability":"nonpayable"}}"#
            )
        })
        .collect();
    format!("{},{}]", ABI.trim_end_matches(']'), others.join(","))
}

async fn store_job(store: &Store, job_id: JobId, owner: Address, l2: &ChainDeployment) {
    store_job_with_abi(store, job_id, owner, l2, ABI).await
}

async fn store_job_with_abi(store: &Store, job_id: JobId, owner: Address, l2: &ChainDeployment, abi: &str) {
    store.create_jobs(&common::counter_job(job_id, owner, l2, abi)).await.unwrap();
}

/// An assignment of `job` to `performer` calling `incrementBy(by)`, valid for a minute, not yet signed.
fn assignment(
    job: JobId,
    l2: &ChainDeployment,
    performer: &KeeperNode,
    task_id: i64,
    key: &str,
    by: u64,
) -> TaskMessage {
    let (reporter, performer) = (performer.p2p.address(), performer.address);
    use alloy::sol_types::SolCall;
    let calldata: alloy::primitives::Bytes = Counter::incrementByCall { by: U256::from(by) }.abi_encode().into();
    TaskMessage {
        task_id,
        occurrence_key: key.into(),
        chain_id: l2.chain_id,
        hub: l2.contracts.hub,
        assignment: Assignment {
            taskId: U256::from(task_id),
            jobId: job.0,
            occurrence: alloy::primitives::keccak256(key.as_bytes()),
            performer,
            target: l2.address("Counter").unwrap(),
            callHash: alloy::primitives::keccak256(&calldata),
            maxFee: U256::from(10u128.pow(16)),
            keeperFee: U256::from(1_000_000_000u64),
            deadline: triggerx_core::time::now_millis() as u64 / 1000 + 60,
            attempt: 1,
        },
        calldata,
        signature: Default::default(),
        reporter,
        dispatched_at_micros: 0,
        script: None,
        job: None,
    }
}

async fn settled(store: &Store, task_id: i64) -> Task {
    let started = Instant::now();
    loop {
        let task = store.task(task_id).await.unwrap().unwrap();
        if task.task_status.is_final() {
            return task;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "task {task_id} still {:?}", task.task_status);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_execute_once_are_reassigned_and_refused_when_they_must_be() {
    let devnet = Devnet::start(&DevnetOptions { block_time: None, l1_port: None, l2_port: None }).await.unwrap();
    let (l1, l2) = (
        devnet.deployment.chain(ChainRole::L1).unwrap().clone(),
        devnet.deployment.chain(ChainRole::L2).unwrap().clone(),
    );
    let accounts = devnet.deployment.accounts.clone();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(None, dir.path()).await.unwrap();

    // Three keepers register on L1; the registrar puts them in the store and the hubs.
    let registry = l1.keeper_registry().unwrap();
    let operators = vec![accounts[1].address, accounts[2].address, accounts[3].address];
    whitelist_keepers(&l1.rpc_url, &accounts[0].private_key, registry, operators).await.unwrap();
    let consensus: Vec<PrivateKeySigner> = (0..3).map(|_| PrivateKeySigner::random()).collect();
    for (i, key) in consensus.iter().enumerate() {
        let bls = BlsRegistration::new(&BlsSecretKey::random(), l1.chain_id, registry, accounts[i + 1].address);
        register_keeper(&l1.rpc_url, &accounts[i + 1].private_key, registry, key.address(), &bls, U256::from(100))
            .await
            .unwrap();
    }
    let registrar = Registrar::new(
        store.clone(),
        RegistrarConfig {
            l1_rpc_url: l1.rpc_url.clone(),
            keeper_registry: l1.keeper_registry().unwrap(),
            hubs: vec![HubTarget { rpc_url: l2.rpc_url.clone(), hub: l2.contracts.hub }],
            attestation_centers: Vec::new(),
            admin_key: accounts[0].private_key.clone(),
            confirmations: 0,
            start_block: None,
            poll_interval: Duration::from_millis(50),
        },
    )
    .await
    .unwrap();
    while registrar.step().await.unwrap().scanned_to.is_some() {}
    // The health service: keepers come online by checking in themselves.
    let health_config = triggerx_health::HealthConfig { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
    let health = triggerx_health::spawn(store.clone(), health_config).await.unwrap();
    let health_url = format!("http://{}", health.address);

    // Dispatcher and keepers on loopback.
    let p2p = P2pConfig { heartbeat: Duration::from_millis(100), ..Default::default() };
    let dispatcher_key = PrivateKeySigner::random();
    let (dispatcher_node, reports) =
        P2pNode::start(p2p.clone().accepting_tasks_from(vec![dispatcher_key.address()]), dispatcher_key.clone())
            .await
            .unwrap();
    let bootstrap = dispatcher_node.listen_addrs.clone();
    let dispatcher_node = std::sync::Arc::new(dispatcher_node);
    let hub = l2.contracts.hub;
    triggerx_chain::hub::trust_dispatcher(&l2.rpc_url, &accounts[0].private_key, hub, dispatcher_key.address())
        .await
        .unwrap();
    let config = DispatcherConfig { deadline: Duration::from_secs(3), ..Default::default() };
    let chains = vec![DispatcherChain::for_chain(&l2, 0, Duration::from_millis(100))];
    let service = triggerx_dispatcher::spawn(
        store.clone(),
        dispatcher_key.clone(),
        dispatcher_node.clone(),
        reports,
        config,
        chains,
        RequestSource::None,
    )
    .await
    .unwrap();
    let dispatcher = service.dispatcher.clone();
    let chain = l2.clone();
    let mut keepers = Vec::new();
    for (i, key) in consensus.iter().enumerate() {
        let config = KeeperConfig {
            controller_key: accounts[i + 1].private_key.clone(),
            consensus_key: format!("0x{}", alloy::hex::encode(key.to_bytes())),
            dispatcher: dispatcher_key.address(),
            chains: vec![chain.clone()],
            p2p: P2pConfig { bootstrap: bootstrap.clone(), ..p2p.clone() },
            health_url: Some(health_url.clone()),
            checkin_interval: Duration::from_secs(30),
            bls_key: None,
            faults: Default::default(),
        };
        keepers.push(Some(KeeperNode::start(config).await.unwrap()));
    }
    let started = Instant::now();
    while store.performers().await.unwrap().len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(20), "keepers did not come online through their check-ins");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        store.performers().await.unwrap().iter().all(|k| k.peer_id.starts_with("12D3Koo")),
        "check-ins carry the peer id"
    );
    for _ in 0..400 {
        if dispatcher_node.peers().await.unwrap() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let provider = ProviderBuilder::new().connect_http(l2.rpc_url.parse().unwrap()).erased();
    let counter = Counter::new(l2.address("Counter").unwrap(), provider.clone());
    let gas = TriggerGasRegistry::new(l2.contracts.gas_registry, provider.clone());

    // 1. A static-argument task executes exactly once through the hub.
    let user = &accounts[5];
    let job = onchain_job(&l2, &user.private_key, 10u128.pow(18)).await;
    store_job(&store, job, user.address, &l2).await;
    let request = TaskRequest { job_id: job, occurrence_key: "manual:1".into() };
    let task = dispatcher.request(&request).await.unwrap();
    let done = settled(&store, task.task_id).await;
    assert_eq!(done.task_status, TaskStatus::Executed, "{done:?}");
    assert!(done.execution_tx_hash.starts_with("0x") && done.execution_tx_hash.len() == 66);
    let charged: U256 = done.task_cost_wei.parse().unwrap();
    assert!(charged > U256::ZERO);
    assert_eq!(counter.number().call().await.unwrap(), U256::from(5), "target state changed");
    assert_eq!(
        gas.getBalance(user.address).call().await.unwrap(),
        U256::from(10u128.pow(18)) - charged,
        "owner paid what the task shows"
    );
    assert_eq!(done.converted_arguments, vec!["5".to_string()]);
    let again = dispatcher.request(&request).await.unwrap();
    assert_eq!(again.task_id, task.task_id, "the same occurrence is one task");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(counter.number().call().await.unwrap(), U256::from(5), "and runs once");
    let job_row = store.require_job(job).await.unwrap();
    assert!(job_row.last_executed_at.is_some());

    // 2. The next performer in the rotation is stopped before executing: the task is re-assigned.
    let first_performer = done.task_performer_id.unwrap();
    let next =
        store.performers().await.unwrap().into_iter().map(|k| k.keeper_id).find(|id| *id != first_performer).unwrap();
    let stopped_index = store
        .keeper(next)
        .await
        .unwrap()
        .map(|k| accounts.iter().position(|a| format!("{:#x}", a.address) == k.keeper_address).unwrap() - 1)
        .unwrap();
    drop(keepers[stopped_index].take());
    let task = dispatcher.request(&TaskRequest { job_id: job, occurrence_key: "manual:2".into() }).await.unwrap();
    assert_eq!(task.task_performer_id, Some(next), "assigned to the stopped keeper first");
    let done = settled(&store, task.task_id).await;
    assert_eq!(done.task_status, TaskStatus::Executed, "{done:?}");
    assert_ne!(done.task_performer_id, Some(next), "executed by another keeper");
    assert_eq!(counter.number().call().await.unwrap(), U256::from(10), "exactly once");

    // 3. A task signed by someone else than the dispatcher is refused by the network itself: the
    // keeper never sees it (and no node passes it on).
    let rogue_key = PrivateKeySigner::random();
    let (rogue, _) =
        P2pNode::start(P2pConfig { bootstrap: bootstrap.clone(), ..p2p.clone() }, rogue_key.clone()).await.unwrap();
    let victim = keepers.iter().flatten().next().unwrap();
    let mut forged = assignment(job, &l2, victim, 9999, "forged", 1000);
    forged.sign(&rogue_key).unwrap();
    rogue.publish_when_ready(&Message::Task(Box::new(forged)), Duration::from_secs(10)).await.unwrap();
    let started = Instant::now();
    let refused = |node: &P2pNode| node.stats.refused(Refusal::UnknownDispatcher);
    while refused(&victim.p2p) + refused(&dispatcher_node) == 0 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused(&victim.p2p) + refused(&dispatcher_node) >= 1, "refused as not the dispatcher's");
    assert_eq!(victim.stats.forged.load(Ordering::Relaxed), 0, "it never reached the keeper");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(counter.number().call().await.unwrap(), U256::from(10), "nothing executed for the forger");

    // 4. A task delivered twice (two different dispatcher envelopes of one signed assignment, replayed
    // by another node) is executed once.
    let mut twice = assignment(job, &l2, victim, 5000, "delivered-twice", 5);
    twice.dispatched_at_micros = 1;
    twice.sign(&dispatcher_key).unwrap();
    let first = Envelope::seal(&Message::Task(Box::new(twice.clone())), &dispatcher_key).unwrap();
    twice.dispatched_at_micros = 2;
    let second = Envelope::seal(&Message::Task(Box::new(twice)), &dispatcher_key).unwrap();
    for envelope in [first, second] {
        rogue.publish_envelope(TASKS_TOPIC, &envelope).await.unwrap();
    }
    let started = Instant::now();
    while (victim.stats.duplicates.load(Ordering::Relaxed) == 0
        || counter.number().call().await.unwrap() < U256::from(15))
        && started.elapsed() < Duration::from_secs(20)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(victim.stats.duplicates.load(Ordering::Relaxed), 1, "the second delivery was recognised");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(counter.number().call().await.unwrap(), U256::from(15), "executed once");

    // 5. An owner with too little balance: a failed task with insufficient_balance and no transaction.
    let poor = &accounts[6];
    let poor_job = onchain_job(&l2, &poor.private_key, 0).await;
    store_job(&store, poor_job, poor.address, &l2).await;
    let mut nonces = Vec::new();
    for account in &accounts[1..=3] {
        nonces.push(provider.get_transaction_count(account.address).await.unwrap());
    }
    let task = dispatcher.request(&TaskRequest { job_id: poor_job, occurrence_key: "manual:3".into() }).await.unwrap();
    let done = settled(&store, task.task_id).await;
    assert_eq!(done.task_status, TaskStatus::Failed);
    assert_eq!(done.task_error, "insufficient_balance");
    assert!(done.execution_tx_hash.is_empty());
    for i in 1..=3 {
        assert_eq!(
            provider.get_transaction_count(accounts[i].address).await.unwrap(),
            nonces[i - 1],
            "no transaction was sent"
        );
    }

    // 6. A job with a 70 KB ABI (accepted by the API, which allows 256 KiB) executes: the assignment
    // carries the call, not the ABI, and fits a message.
    let abi = large_abi();
    assert!((65_000..256 * 1024).contains(&abi.len()), "{} bytes", abi.len());
    let large_job = onchain_job(&l2, &user.private_key, 0).await;
    store_job_with_abi(&store, large_job, user.address, &l2, &abi).await;
    let before = counter.number().call().await.unwrap();
    let task = dispatcher.request(&TaskRequest { job_id: large_job, occurrence_key: "manual:4".into() }).await.unwrap();
    let done = settled(&store, task.task_id).await;
    assert_eq!(done.task_status, TaskStatus::Executed, "{done:?}");
    assert_eq!(counter.number().call().await.unwrap(), before + U256::from(5));
    devnet.stop().await;
}
