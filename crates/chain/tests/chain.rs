//! The chain layer against real anvil processes: deployment, the registries and the hub, the
//! transaction sender under concurrency and dropped transactions, the log watcher through reorgs and
//! restarts.
#![allow(clippy::unwrap_used)]

use std::time::Duration;
use triggerx_testbed::transactions::landed;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolEvent};
use triggerx_chain::ChainError;
use triggerx_chain::bindings::{Counter, EventEmitter, JobRegistry, TaskExecutionHub, TriggerGasRegistry};
use triggerx_chain::deploy::{ChainDeployment, ChainRole, deploy_chain, signer_from_key, wallet_provider};
use triggerx_chain::hub::{assignment_call, describe_hub_error};
use triggerx_chain::sender::{SenderConfig, TxSender};
use triggerx_chain::watcher::{LogFilter, LogWatcher, WatchEvent, WatcherConfig};
use triggerx_core::assignment::Assignment;
use triggerx_devnet::anvil::{AnvilInstance, AnvilOptions, spawn_anvil};
use triggerx_store::Store;

/// Keeper fee of the test assignments, wei.
const KEEPER_FEE: u64 = 1_000_000_000_000;

struct Chain {
    anvil: AnvilInstance,
    deployment: ChainDeployment,
    plain: DynProvider,
}

impl Chain {
    async fn start() -> Chain {
        let anvil = spawn_anvil(&AnvilOptions::automine(31338)).await.unwrap();
        let deployment = deploy_chain(&anvil.rpc_url, &anvil.accounts[0].private_key, ChainRole::L2).await.unwrap();
        let plain = ProviderBuilder::new().connect_http(anvil.rpc_url.parse().unwrap()).erased();
        Chain { anvil, deployment, plain }
    }

    fn key(&self, index: usize) -> String {
        self.anvil.accounts[index].private_key.clone()
    }

    fn wallet(&self, index: usize) -> DynProvider {
        wallet_provider(&self.anvil.rpc_url, &self.key(index)).unwrap()
    }

    fn address(&self, name: &str) -> Address {
        self.deployment.address(name).unwrap()
    }

    async fn sender(&self, index: usize, config: SenderConfig) -> TxSender {
        TxSender::new(self.plain.clone(), signer_from_key(&self.key(index)).unwrap(), config).await.unwrap()
    }

    async fn add_hub_keeper(&self, keeper: usize) {
        landed(
            TaskExecutionHub::new(self.address("TaskExecutionHub"), self.wallet(0))
                .updateKeepers(vec![self.anvil.accounts[keeper].address], vec![]),
        )
        .await
        .unwrap();
    }

    /// Makes the hub trust account `index` as a dispatcher.
    async fn trust_dispatcher(&self, index: usize) {
        triggerx_chain::hub::trust_dispatcher(
            &self.anvil.rpc_url,
            &self.key(0),
            self.address("TaskExecutionHub"),
            self.anvil.accounts[index].address,
        )
        .await
        .unwrap();
    }

    /// `executeFunction` for task `task_id` of `job_id` calling the Counter with `data`, assigned to
    /// account `keeper` and signed by account `dispatcher`.
    fn assigned_call(&self, dispatcher: usize, task_id: u64, job_id: U256, keeper: usize, data: &[u8]) -> Vec<u8> {
        use alloy::signers::SignerSync;
        let assignment = Assignment {
            taskId: U256::from(task_id),
            jobId: job_id,
            occurrence: alloy::primitives::keccak256(format!("manual:{task_id}")),
            performer: self.anvil.accounts[keeper].address,
            target: self.address("Counter"),
            callHash: alloy::primitives::keccak256(data),
            maxFee: U256::from(10u128.pow(16)),
            keeperFee: U256::from(KEEPER_FEE),
            deadline: triggerx_core::time::now_millis() as u64 / 1000 + 60,
            attempt: 1,
        };
        let digest = assignment.digest(31338, self.address("TaskExecutionHub"));
        let signer = signer_from_key(&self.key(dispatcher)).unwrap();
        let signature = signer.sign_hash_sync(&digest).unwrap();
        let signature: alloy::primitives::Bytes = signature.as_bytes().to_vec().into();
        assignment_call(&assignment, &data.to_vec().into(), &signature).abi_encode()
    }

    async fn create_job(&self, owner: usize) -> U256 {
        triggerx_chain::jobs::register_job(
            &self.anvil.rpc_url,
            &self.key(owner),
            self.address("JobRegistry"),
            &triggerx_chain::jobs::JobRegistration::interval("poke", self.address("Counter"), 60, 3600),
        )
        .await
        .unwrap()
    }
}

fn memory_store_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_and_registers_a_job() {
    let chain = Chain::start().await;
    for name in ["JobRegistry", "TriggerGasRegistry", "TaskExecutionHub", "Counter", "EventEmitter"] {
        let code = chain.plain.get_code_at(chain.address(name)).await.unwrap();
        assert!(!code.is_empty(), "{name} has code");
    }
    let job_id = chain.create_job(1).await;
    let jobs = JobRegistry::new(chain.address("JobRegistry"), chain.plain.clone());
    assert_eq!(jobs.getJobOwner(job_id).call().await.unwrap(), chain.anvil.accounts[1].address);
    assert!(jobs.isJobActive(job_id).call().await.unwrap());
    let unpacked = jobs.unpackJobId(job_id).call().await.unwrap();
    assert_eq!(unpacked.chainId, U256::from(31338));
    assert_eq!(unpacked.jobCounter, U256::from(1));
    let job = jobs.getJob(job_id).call().await.unwrap();
    assert_eq!(job.jobOwner, chain.anvil.accounts[1].address);
    let gas = TriggerGasRegistry::new(chain.address("TriggerGasRegistry"), chain.plain.clone());
    assert_eq!(gas.operatorRole().call().await.unwrap(), chain.address("TaskExecutionHub"), "the hub is the operator");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_executes_its_assignment_once_paid_for_the_gas_it_used_and_strangers_cannot() {
    let chain = Chain::start().await;
    let (user, keeper, stranger, dispatcher) = (1, 2, 3, 9);
    let job_id = chain.create_job(user).await;
    let gas = TriggerGasRegistry::new(chain.address("TriggerGasRegistry"), chain.wallet(user));
    let deposit = U256::from(10u128.pow(18));
    gas.depositETH(deposit).value(deposit).send().await.unwrap().get_receipt().await.unwrap();
    chain.add_hub_keeper(keeper).await;
    chain.add_hub_keeper(stranger).await;
    chain.trust_dispatcher(dispatcher).await;

    let hub = TaskExecutionHub::new(chain.address("TaskExecutionHub"), chain.plain.clone());
    let data = Counter::incrementByCall { by: U256::from(5) }.abi_encode();
    let input = chain.assigned_call(dispatcher, 1, job_id, keeper, &data);
    // The Rust EIP-712 digest is the hub's.
    let decoded = TaskExecutionHub::executeFunctionCall::abi_decode(&input).unwrap();
    let ours = Assignment {
        taskId: decoded.assignment.taskId,
        jobId: decoded.assignment.jobId,
        occurrence: decoded.assignment.occurrence,
        performer: decoded.assignment.performer,
        target: decoded.assignment.target,
        callHash: decoded.assignment.callHash,
        maxFee: decoded.assignment.maxFee,
        keeperFee: decoded.assignment.keeperFee,
        deadline: decoded.assignment.deadline,
        attempt: decoded.assignment.attempt,
    }
    .digest(31338, chain.address("TaskExecutionHub"));
    assert_eq!(hub.assignmentDigest(decoded.assignment.clone()).call().await.unwrap(), ours);

    let request = TransactionRequest::default().with_to(chain.address("TaskExecutionHub")).with_input(input.clone());
    let keeper_before = chain.plain.get_balance(chain.anvil.accounts[keeper].address).await.unwrap();
    let receipt = chain.sender(keeper, SenderConfig::default()).await.send_and_confirm(request.clone()).await.unwrap();
    assert!(receipt.status());
    let executed = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| TaskExecutionHub::FunctionExecuted::decode_log(&l.inner).ok())
        .unwrap();
    assert!(executed.success);
    assert_eq!(executed.taskId, U256::from(1), "the event names the task");
    assert_eq!(executed.keeper, chain.anvil.accounts[keeper].address);
    let counter = Counter::new(chain.address("Counter"), chain.plain.clone());
    assert_eq!(counter.number().call().await.unwrap(), U256::from(5), "target state changed");
    let charged = executed.amount;
    assert_eq!(
        gas.getBalance(chain.anvil.accounts[user].address).call().await.unwrap(),
        deposit - charged,
        "the owner paid what the event says"
    );
    // The charge is the gas the hub measured at the transaction's price plus the fee; the measurement
    // is a lower bound of the receipt's gas and close to it.
    let price = U256::from(receipt.effective_gas_price);
    assert_eq!(charged, U256::from(executed.gasUsed) * price + U256::from(KEEPER_FEE));
    let (measured, real) = (executed.gasUsed.to::<u64>(), receipt.gas_used);
    println!("hub execution: receipt gas {real}, measured by the hub {measured}");
    assert!(measured <= real, "never more gas than the transaction used: {measured} > {real}");
    assert!(measured * 100 >= real * 97, "within 3 % of the real gas: {measured} vs {real}");
    let keeper_after = chain.plain.get_balance(chain.anvil.accounts[keeper].address).await.unwrap();
    assert_eq!(
        keeper_after + U256::from(real) * price,
        keeper_before,
        "the keeper paid the transaction, earned nothing yet"
    );
    assert!(hub.isFeeHeld(U256::from(1)).call().await.unwrap(), "the fee is held for its verdict");
    // No center on this chain: the admin relays the verdict (attempt 1 of task 1, accepted), then
    // anyone releases the fee with the execution's facts.
    let owner = chain.anvil.accounts[user].address;
    let settlement = (U256::from(1) << 128) | U256::from(1);
    let relay = TaskExecutionHub::relayVerdictsCall { settlementIds: vec![settlement], accepted: vec![true] };
    let to_hub =
        |input: Vec<u8>| TransactionRequest::default().with_to(chain.address("TaskExecutionHub")).with_input(input);
    let admin = chain.sender(0, SenderConfig::default()).await;
    assert!(admin.send_and_confirm(to_hub(relay.abi_encode())).await.unwrap().status());
    let release = TaskExecutionHub::releaseFeeCall {
        taskId: U256::from(1),
        keeper: executed.keeper,
        owner,
        attempt: decoded.assignment.attempt,
        amount: charged,
        executedAt: chain
            .plain
            .get_block_by_number(receipt.block_number.unwrap().into())
            .await
            .unwrap()
            .unwrap()
            .header
            .timestamp,
    };
    assert!(admin.send_and_confirm(to_hub(release.abi_encode())).await.unwrap().status());
    let keeper_paid = chain.plain.get_balance(chain.anvil.accounts[keeper].address).await.unwrap();
    assert_eq!(keeper_paid, keeper_after + charged, "the accepted execution's fee went to the keeper");

    let replay = chain.sender(keeper, SenderConfig::default()).await.send_and_confirm(request).await.unwrap_err();
    let ChainError::Reverted { reason } = replay else { panic!("{replay}") };
    assert!(describe_hub_error(&reason).contains("AlreadyExecuted"), "{reason}");
    let theirs = chain.assigned_call(dispatcher, 2, job_id, keeper, &data);
    let stolen = TransactionRequest::default().with_to(chain.address("TaskExecutionHub")).with_input(theirs);
    let refused = chain.sender(stranger, SenderConfig::default()).await.send_and_confirm(stolen).await.unwrap_err();
    let ChainError::Reverted { reason } = refused else { panic!("{refused}") };
    assert!(describe_hub_error(&reason).contains("NotPerformer"), "{reason}");
    let forged = chain.assigned_call(stranger, 3, job_id, keeper, &data);
    let forged = TransactionRequest::default().with_to(chain.address("TaskExecutionHub")).with_input(forged);
    let refused = chain.sender(keeper, SenderConfig::default()).await.send_and_confirm(forged).await.unwrap_err();
    let ChainError::Reverted { reason } = refused else { panic!("{refused}") };
    assert!(describe_hub_error(&reason).contains("NotDispatcher"), "{reason}");
    assert_eq!(counter.number().call().await.unwrap(), U256::from(5), "executed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_sends_leave_no_nonce_gap() {
    let chain = Chain::start().await;
    let sender = chain.sender(4, SenderConfig { poll_interval: Duration::from_millis(20), ..Default::default() }).await;
    let start_nonce = chain.plain.get_transaction_count(sender.address()).await.unwrap();
    let increment = TransactionRequest::default()
        .with_to(chain.address("Counter"))
        .with_input(Counter::incrementCall {}.abi_encode());
    let handles: Vec<_> = (0..200)
        .map(|_| {
            let (sender, request) = (sender.clone(), increment.clone());
            tokio::spawn(async move {
                let sent = sender.send(request).await.unwrap();
                sender.confirm(sent).await.unwrap();
                sent.nonce
            })
        })
        .collect();
    let mut nonces = Vec::new();
    for h in handles {
        nonces.push(h.await.unwrap());
    }
    nonces.sort();
    assert_eq!(nonces, (start_nonce..start_nonce + 200).collect::<Vec<_>>(), "contiguous nonces");
    assert_eq!(chain.plain.get_transaction_count(sender.address()).await.unwrap(), start_nonce + 200);
    let counter = Counter::new(chain.address("Counter"), chain.plain.clone());
    assert_eq!(counter.number().call().await.unwrap(), U256::from(200));
    assert_eq!(sender.in_flight().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_from_a_dropped_transaction() {
    let chain = Chain::start().await;
    let sender = chain.sender(5, SenderConfig { poll_interval: Duration::from_millis(50), ..Default::default() }).await;
    let _: () = chain.plain.raw_request("evm_setAutomine".into(), (false,)).await.unwrap();
    let increment = TransactionRequest::default()
        .with_to(chain.address("Counter"))
        .with_input(Counter::incrementCall {}.abi_encode())
        .with_gas_limit(100_000);
    let first = sender.send(increment.clone()).await.unwrap();
    let _: serde_json::Value = chain.plain.raw_request("anvil_dropTransaction".into(), (first.hash,)).await.unwrap();
    let second = sender.send(increment).await.unwrap();
    assert_eq!(second.nonce, first.nonce + 1);
    let miner = {
        let provider = chain.plain.clone();
        tokio::spawn(async move {
            loop {
                let _: Result<serde_json::Value, _> = provider.raw_request("evm_mine".into(), ()).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let (a, b) = tokio::join!(sender.confirm(first), sender.confirm(second));
    miner.abort();
    assert!(a.unwrap().status() && b.unwrap().status(), "both mined: the gap was filled");
    assert_eq!(chain.plain.get_transaction_count(sender.address()).await.unwrap(), second.nonce + 1);
    let counter = Counter::new(chain.address("Counter"), chain.plain.clone());
    assert_eq!(counter.number().call().await.unwrap(), U256::from(2));
}

async fn emit_transfer(chain: &Chain, value: u64) {
    let emitter = EventEmitter::new(chain.address("EventEmitter"), chain.wallet(6));
    landed(emitter.emitTransfer(Address::ZERO, chain.anvil.accounts[7].address, U256::from(value))).await.unwrap();
}

fn transfer_values(events: &[WatchEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Log { log, .. } => {
                Some(EventEmitter::Transfer::decode_log(&log.inner).unwrap().value.to::<u64>())
            }
            WatchEvent::Removed(_) => None,
        })
        .collect()
}

async fn watcher(chain: &Chain, store: Store, name: &str, start: u64) -> LogWatcher<Store> {
    watcher_through(chain.plain.clone(), chain, store, name, start).await
}

/// A watcher of the emitter's Transfer logs reading the chain through `provider`.
async fn watcher_through(
    provider: DynProvider,
    chain: &Chain,
    store: Store,
    name: &str,
    start: u64,
) -> LogWatcher<Store> {
    let config = WatcherConfig {
        confirmations: 0,
        max_range: 1000,
        reorg_window: 64,
        start_block: Some(start),
        poll_interval: Duration::from_millis(50),
    };
    let watcher = LogWatcher::new(provider, name, config, store);
    watcher
        .add_filter(LogFilter {
            address: Some(chain.address("EventEmitter")),
            topic0: Some(EventEmitter::Transfer::SIGNATURE_HASH),
        })
        .await;
    watcher
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorg_reports_removed_logs_and_replays_the_new_chain() {
    let chain = Chain::start().await;
    let dir = memory_store_dir();
    let store = Store::open(None, dir.path()).await.unwrap();
    let start = chain.plain.get_block_number().await.unwrap() + 1;
    let w = watcher(&chain, store, "l2-reorg", start).await;
    let snapshot: U256 = chain.plain.raw_request("evm_snapshot".into(), ()).await.unwrap();
    for v in [1, 2, 3] {
        emit_transfer(&chain, v).await;
    }
    let batch = w.next_batch().await.unwrap();
    assert_eq!(transfer_values(&batch.events), vec![1, 2, 3]);
    w.commit(&batch).await.unwrap();
    let _: bool = chain.plain.raw_request("evm_revert".into(), (snapshot,)).await.unwrap();
    for v in [10, 20, 30, 40] {
        emit_transfer(&chain, v).await;
    }
    let batch = w.next_batch().await.unwrap();
    let removed: Vec<_> =
        batch.events.iter().filter_map(|e| if let WatchEvent::Removed(id) = e { Some(*id) } else { None }).collect();
    assert_eq!(removed.len(), 3, "every log of the dropped blocks is reported removed: {removed:?}");
    assert!(matches!(batch.events[0], WatchEvent::Removed(_)), "removals come first");
    assert_eq!(transfer_values(&batch.events), vec![10, 20, 30, 40], "replayed from the new chain");
    w.commit(&batch).await.unwrap();
    assert!(w.next_batch().await.unwrap().events.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_watcher_neither_repeats_nor_misses() {
    let chain = Chain::start().await;
    let dir = memory_store_dir();
    let store = Store::open(None, dir.path()).await.unwrap();
    let start = chain.plain.get_block_number().await.unwrap() + 1;
    let first = watcher(&chain, store.clone(), "l2-restart", start).await;
    for v in 1..=5 {
        emit_transfer(&chain, v).await;
    }
    let batch = first.next_batch().await.unwrap();
    assert_eq!(transfer_values(&batch.events), vec![1, 2, 3, 4, 5]);
    first.commit(&batch).await.unwrap();
    for v in 6..=8 {
        emit_transfer(&chain, v).await;
    }
    let uncommitted = first.next_batch().await.unwrap();
    assert_eq!(transfer_values(&uncommitted.events), vec![6, 7, 8]);
    drop(first); // stops without committing the second batch
    for v in 9..=10 {
        emit_transfer(&chain, v).await;
    }
    let second = watcher(&chain, store, "l2-restart", 0).await;
    let batch = second.next_batch().await.unwrap();
    assert_eq!(transfer_values(&batch.events), vec![6, 7, 8, 9, 10], "resumes at the checkpoint");
    second.commit(&batch).await.unwrap();
    assert!(second.next_batch().await.unwrap().events.is_empty(), "nothing twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_goes_in_bounded_ranges_and_filters_share_one_query() {
    let chain = Chain::start().await;
    let dir = memory_store_dir();
    let store = Store::open(None, dir.path()).await.unwrap();
    let start = chain.plain.get_block_number().await.unwrap() + 1;
    for v in 1..=6 {
        emit_transfer(&chain, v).await;
    }
    let config = WatcherConfig {
        confirmations: 1,
        max_range: 2,
        reorg_window: 64,
        start_block: Some(start),
        poll_interval: Duration::from_millis(50),
    };
    let w = LogWatcher::new(chain.plain.clone(), "l2-catchup", config, store);
    let transfers = w
        .add_filter(LogFilter {
            address: Some(chain.address("EventEmitter")),
            topic0: Some(EventEmitter::Transfer::SIGNATURE_HASH),
        })
        .await;
    let everything = w.add_filter(LogFilter { address: Some(chain.address("EventEmitter")), topic0: None }).await;
    let mut seen = Vec::new();
    loop {
        let batch = w.next_batch().await.unwrap();
        let Some(to) = batch.to else { break };
        assert!(to - batch.from.unwrap() < 2, "at most max_range blocks per query");
        for event in &batch.events {
            if let WatchEvent::Log { filters, .. } = event {
                assert_eq!(filters, &vec![transfers, everything], "one log, every matching filter");
            }
        }
        seen.extend(transfer_values(&batch.events));
        w.commit(&batch).await.unwrap();
    }
    assert_eq!(seen, vec![1, 2, 3, 4, 5], "the newest block waits for its confirmation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resynchronises_when_the_key_is_used_elsewhere() {
    let chain = Chain::start().await;
    let sender = chain.sender(8, SenderConfig::default()).await;
    let increment = TransactionRequest::default()
        .with_to(chain.address("Counter"))
        .with_input(Counter::incrementCall {}.abi_encode());
    sender.send_and_confirm(increment.clone()).await.unwrap();
    // Another process sends with the same key: the sender's next nonce is now stale.
    let other = Counter::new(chain.address("Counter"), chain.wallet(8));
    other.increment().send().await.unwrap().get_receipt().await.unwrap();
    let receipt = sender.send_and_confirm(increment).await.unwrap();
    assert!(receipt.status(), "sent after resynchronising the nonce");
    assert_eq!(
        Counter::new(chain.address("Counter"), chain.plain.clone()).number().call().await.unwrap(),
        U256::from(3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaces_a_stuck_transaction_with_a_fee_bump() {
    let chain = Chain::start().await;
    let config = SenderConfig {
        stuck_after: Duration::from_millis(300),
        poll_interval: Duration::from_millis(50),
        ..Default::default()
    };
    let sender = chain.sender(9, config).await;
    let _: () = chain.plain.raw_request("evm_setAutomine".into(), (false,)).await.unwrap();
    let request = TransactionRequest::default()
        .with_to(chain.address("Counter"))
        .with_input(Counter::incrementCall {}.abi_encode());
    let sent = sender.send(request).await.unwrap();
    let original = chain.plain.get_transaction_by_hash(sent.hash).await.unwrap().unwrap();
    let miner = {
        let provider = chain.plain.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(900)).await;
            let _: Result<serde_json::Value, _> = provider.raw_request("evm_mine".into(), ()).await;
        })
    };
    let receipt = sender.confirm(sent).await.unwrap();
    miner.await.unwrap();
    assert_ne!(receipt.transaction_hash, sent.hash, "the mined transaction is the replacement");
    let mined = chain.plain.get_transaction_by_hash(receipt.transaction_hash).await.unwrap().unwrap();
    use alloy::consensus::Transaction as _;
    assert_eq!(mined.nonce(), sent.nonce);
    let (old_fee, new_fee) = (original.max_fee_per_gas(), mined.max_fee_per_gas());
    assert!(new_fee * 1000 >= old_fee * 1125, "bumped by at least 12.5 %: {old_fee} -> {new_fee}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_typed() {
    let chain = Chain::start().await;
    let broke = alloy::signers::local::PrivateKeySigner::random();
    let sender = TxSender::new(chain.plain.clone(), broke, SenderConfig::default()).await.unwrap();
    let request = TransactionRequest::default()
        .with_to(chain.address("Counter"))
        .with_input(Counter::incrementCall {}.abi_encode());
    let error = sender.send(request).await.unwrap_err();
    assert!(matches!(error, ChainError::InsufficientFunds(_)), "{error}");
    let fail =
        TransactionRequest::default().with_to(chain.address("Counter")).with_input(Counter::failCall {}.abi_encode());
    let error = chain.sender(1, SenderConfig::default()).await.send(fail).await.unwrap_err();
    assert!(matches!(error, ChainError::Reverted { .. }), "{error}");
    assert_eq!(sender.in_flight().await, 0, "a refused send consumes no nonce");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_with_a_dead_rpc_url_is_reached_through_the_next() {
    let chain = Chain::start().await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let urls = vec![format!("http://{dead}"), chain.anvil.rpc_url.clone()];
    let provider = triggerx_chain::provider::connect_verified(&urls, 31338).await.unwrap();
    for _ in 0..10 {
        assert_eq!(provider.get_chain_id().await.unwrap(), 31338, "every request answered");
    }
    let wrong = triggerx_chain::provider::connect_verified(&urls, 1).await;
    assert!(matches!(wrong, Err(ChainError::RpcUnavailable(_))), "a chain id mismatch is refused");
    let none = triggerx_chain::provider::connect_verified(&[format!("http://{dead}")], 31338).await;
    assert!(matches!(none, Err(ChainError::RpcUnavailable(_))), "no URL answering is an error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_prediction_before_a_job_exists_covers_the_real_hub_call() {
    use triggerx_chain::cost::{CostCall, HUB_OVERHEAD_GAS, predict_cost};
    let chain = Chain::start().await;
    let (user, keeper) = (1, 2);
    let job_id = chain.create_job(user).await;
    triggerx_chain::jobs::deposit_gas(
        &chain.anvil.rpc_url,
        &chain.key(user),
        chain.address("TriggerGasRegistry"),
        U256::from(10u128.pow(18)),
    )
    .await
    .unwrap();
    chain.add_hub_keeper(keeper).await;
    chain.trust_dispatcher(9).await;
    let input = Counter::incrementByCall { by: U256::from(5) }.abi_encode();
    let execute = chain.assigned_call(9, 1, job_id, keeper, &input);
    let fixed = U256::from(7);
    let hub_call = CostCall::HubCall {
        from: chain.anvil.accounts[keeper].address,
        hub: chain.address("TaskExecutionHub"),
        input: execute.clone().into(),
    };
    let exact = predict_cost(&chain.plain, hub_call, fixed).await.unwrap();
    let forwarded = CostCall::Forwarded {
        hub: chain.address("TaskExecutionHub"),
        target: chain.address("Counter"),
        input: input.into(),
    };
    let before_job = predict_cost(&chain.plain, forwarded, fixed).await.unwrap();
    assert_eq!(exact.cost, U256::from(exact.gas) * U256::from(exact.max_fee_per_gas) + fixed);

    // The first execution (cold storage) is the most expensive one: it must be covered.
    let request = TransactionRequest::default()
        .with_to(chain.address("TaskExecutionHub"))
        .with_input(execute)
        .with_gas_limit(exact.gas * 13 / 10);
    let receipt = chain.sender(keeper, SenderConfig::default()).await.send_and_confirm(request).await.unwrap();
    assert!(receipt.status());
    let used = receipt.gas_used;
    println!("hub call: used {used}, keeper estimate {}, pre-job estimate {}", exact.gas, before_job.gas);
    assert!(exact.gas >= used, "the keeper's estimate covers the real call");
    assert!(before_job.gas >= used, "the pre-job estimate covers the real call");
    assert!(before_job.gas <= used + HUB_OVERHEAD_GAS / 2, "the overhead allowance is not wildly high");
}

/// Review M1: a range whose logs exceed the provider's limit was retried for ever, so no event job on
/// the chain fired again. The watcher halves the range until the node answers, and loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_the_node_refuses_is_split_until_it_answers() {
    let chain = Chain::start().await;
    let proxy = triggerx_testbed::rpc_proxy::RpcProxy::start(&chain.anvil.rpc_url).await.unwrap();
    proxy.set("eth_getLogs", Some(triggerx_testbed::rpc_proxy::Fault::LimitResults(50)));
    let dir = memory_store_dir();
    let store = Store::open(None, dir.path()).await.unwrap();
    let start = chain.plain.get_block_number().await.unwrap() + 1;
    let emitter = EventEmitter::new(chain.address("EventEmitter"), chain.wallet(6));
    let to = chain.anvil.accounts[7].address;
    for block in 0..8u64 {
        landed(emitter.emitMany(to, U256::from(40), U256::from(block * 1000))).await.unwrap();
    }
    let via_proxy = ProviderBuilder::new().connect_http(proxy.url.parse().unwrap()).erased();
    let w = watcher_through(via_proxy, &chain, store, "l2-limited", start).await;
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(std::time::Instant::now() < deadline, "stalled after {} logs", seen.len());
        let batch = w.next_batch().await.unwrap();
        let Some(to) = batch.to else { break };
        assert!(to - batch.from.unwrap() < 2, "a range the node answers holds at most 50 logs (40 per block)");
        seen.extend(transfer_values(&batch.events));
        w.commit(&batch).await.unwrap();
    }
    assert_eq!(seen.len(), 320, "every log of the 8 blocks, once");
    seen.dedup();
    assert_eq!(seen.len(), 320, "none twice");
    for block in 0..8u64 {
        assert_eq!(seen.iter().filter(|v| **v / 1000 == block).count(), 40, "block {block}");
    }
}
