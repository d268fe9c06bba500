//! The event scheduler against a real anvil chain and a real store: a filter on a non-indexed argument
//! (and an indexed one) fires only for matching logs, each once; a one-shot job completes after its
//! first log; a log reorganised away before its confirmation never fires; a log removed after delivery
//! fails its pending task; a restart repeats nothing; a log whose request the dispatcher never took is
//! fired again after a restart.
#![allow(clippy::unwrap_used)]

use std::time::Duration;
use triggerx_testbed::transactions::landed;

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use triggerx_api::wire::CreateJobData;
use triggerx_chain::bindings::EventEmitter;
use triggerx_chain::deploy::{ChainRole, deploy_chain, wallet_provider};
use triggerx_chain::watcher::WatcherConfig;
use triggerx_core::ids::JobId;
use triggerx_core::job::JobStatus;
use triggerx_core::task::TaskStatus;
use triggerx_devnet::anvil::{AnvilInstance, AnvilOptions, spawn_anvil};
use triggerx_queue::{TaskQueueReceiver, in_process};
use triggerx_scheduler::{EventChain, EventTriggerConfig, EventTriggers};
use triggerx_store::{NewTask, Store};
use triggerx_testbed::databases::fresh_store;
use triggerx_testbed::fixtures::create_job;
use triggerx_testbed::fixtures::time_job_input;

mod common;
use common::{Running, collect};

const OWNER: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
const TRANSFER: &str = "Transfer(address indexed from, address indexed to, uint256 value)";

fn event_job(id: u64, emitter: Address, filter: &str, recurring: bool) -> CreateJobData {
    CreateJobData {
        task_definition_id: Some(3),
        schedule_type: None,
        time_interval: None,
        recurring,
        trigger_chain_id: Some("31338".into()),
        trigger_contract_address: Some(format!("{emitter:#x}")),
        trigger_event: Some(TRANSFER.into()),
        event_filter: Some(filter.into()),
        ..time_job_input(&id.to_string(), OWNER)
    }
}

async fn create(store: &Store, job: CreateJobData) -> JobId {
    create_job(store, job).await.unwrap()
}

async fn start(store: &Store, anvil: &AnvilInstance, plain: &DynProvider) -> (Running, TaskQueueReceiver) {
    let (queue, requests) = in_process();
    let chain = EventChain {
        chain_id: 31338,
        rpc_url: anvil.rpc_url.clone(),
        watcher: WatcherConfig {
            confirmations: 1,
            poll_interval: Duration::from_millis(50),
            start_block: Some(plain.get_block_number().await.unwrap() + 1),
            ..Default::default()
        },
    };
    let config = EventTriggerConfig { follow_every: Duration::from_millis(100) };
    let scheduler = EventTriggers::new(store.clone(), queue, vec![chain], config);
    (Running::spawn(|stop| scheduler.run(stop)), requests)
}

/// A fresh anvil with the contracts: the node, a plain provider and the demo emitter's address.
async fn chain_with_emitter() -> (AnvilInstance, DynProvider, Address) {
    let anvil = spawn_anvil(&AnvilOptions::automine(31338)).await.unwrap();
    let chain = deploy_chain(&anvil.rpc_url, &anvil.accounts[0].private_key, ChainRole::L2).await.unwrap();
    let plain = ProviderBuilder::new().connect_http(anvil.rpc_url.parse().unwrap()).erased();
    let emitter = chain.address("EventEmitter").unwrap();
    (anvil, plain, emitter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_event_jobs_fire_once_per_matching_confirmed_log() {
    let (anvil, plain, emitter_address) = chain_with_emitter().await;
    let (x, y) = (anvil.accounts[7].address, anvil.accounts[8].address);
    // A fresh wallet per transaction: reverting the chain rewinds the sender's nonce, which a cached
    // nonce would not follow.
    let emit = |to: Address, value: u64| {
        let (url, key) = (anvil.rpc_url.clone(), anvil.accounts[6].private_key.clone());
        async move {
            let emitter = EventEmitter::new(emitter_address, wallet_provider(&url, &key).unwrap());
            emitter
                .emitTransfer(Address::ZERO, to, U256::from(value))
                .send()
                .await
                .unwrap()
                .get_receipt()
                .await
                .unwrap()
        }
    };
    let mine = |blocks: u64| {
        let plain = plain.clone();
        async move {
            let _: () = plain.raw_request("anvil_mine".into(), (U256::from(blocks),)).await.unwrap();
        }
    };

    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let filtered = create(&store, event_job(1, emitter_address, &format!("value > 1000 && to == {x}"), true)).await;
    let once = create(&store, event_job(2, emitter_address, "", false)).await;
    let (running, mut requests) = start(&store, &anvil, &plain).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    for (to, value) in [(x, 500), (x, 2000), (y, 5000), (x, 3000)] {
        emit(to, value).await;
    }
    mine(1).await;
    let got = collect(&mut requests, Duration::from_secs(2)).await;
    let of = |job: JobId, got: &[(JobId, String)]| {
        got.iter().filter(|(j, _)| *j == job).map(|(_, k)| k.clone()).collect::<Vec<_>>()
    };
    let fired = of(filtered, &got);
    assert_eq!(fired.len(), 2, "2000 and 3000 to x match; 500 and the transfer to y do not: {got:?}");
    assert_ne!(fired[0], fired[1]);
    assert!(fired.iter().all(|k| k.starts_with("event:0x")), "{fired:?}");
    assert_eq!(of(once, &got).len(), 1, "the one-shot job fires on its first log only: {got:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.require_job(once).await.unwrap().status, JobStatus::Completed);

    // A matching log reorganised away before its confirmation never fires.
    let snapshot: U256 = plain.raw_request("evm_snapshot".into(), ()).await.unwrap();
    emit(x, 4000).await;
    let _: bool = plain.raw_request("evm_revert".into(), (snapshot,)).await.unwrap();
    mine(2).await;
    assert!(collect(&mut requests, Duration::from_millis(1500)).await.is_empty(), "the removed log did not fire");

    // A log removed after it fired fails the task that has not started.
    let snapshot: U256 = plain.raw_request("evm_snapshot".into(), ()).await.unwrap();
    emit(x, 6000).await;
    mine(1).await;
    let got = collect(&mut requests, Duration::from_millis(1500)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let key = got[0].1.clone();
    let (task, _) = store
        .create_task(&NewTask {
            job_id: filtered,
            task_definition_id: None,
            occurrence_key: key.clone(),
            task_performer_id: None,
        })
        .await
        .unwrap();
    let _: bool = plain.raw_request("evm_revert".into(), (snapshot,)).await.unwrap();
    mine(3).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let task = store.task(task.task_id).await.unwrap().unwrap();
    assert_eq!(task.task_status, TaskStatus::Failed, "{task:?}");
    assert_eq!(task.task_error, "log_removed_by_reorg");

    // A restart resumes from the checkpoint: nothing fires again.
    running.stop().await;
    let (running, mut requests) = start(&store, &anvil, &plain).await;
    mine(2).await;
    assert!(collect(&mut requests, Duration::from_millis(1500)).await.is_empty(), "no repeat after a restart");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_whose_request_was_not_taken_fires_again_after_a_restart() {
    let (anvil, plain, emitter_address) = chain_with_emitter().await;
    let emitter =
        EventEmitter::new(emitter_address, wallet_provider(&anvil.rpc_url, &anvil.accounts[6].private_key).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let once = create(&store, event_job(1, emitter_address, "", false)).await;

    // The log fires the one-shot job, but nobody takes the request (the process dies first): the job
    // is not completed and the checkpoint stays before the log.
    let (running, mut requests) = start(&store, &anvil, &plain).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    landed(emitter.emitTransfer(Address::ZERO, Address::ZERO, U256::from(1))).await.unwrap();
    let _: () = plain.raw_request("anvil_mine".into(), (U256::from(1),)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    running.stop().await;
    assert_eq!(store.require_job(once).await.unwrap().status, JobStatus::Pending);
    let untaken = requests.recv().await.unwrap().occurrence_key;
    drop(requests);

    // After the restart the same log fires the same occurrence, which is taken this time.
    let (running, mut requests) = start(&store, &anvil, &plain).await;
    let got = collect(&mut requests, Duration::from_millis(1_500)).await;
    assert_eq!(got, vec![(once, untaken)], "the same occurrence, once");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.require_job(once).await.unwrap().status, JobStatus::Completed);
    running.stop().await;
}
