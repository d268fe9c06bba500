//! The dispatcher on its own, fast: a real store (SQLite) and a real anvil chain, assignments caught
//! through the publisher seam (a channel) instead of libp2p. Covers what the end-to-end tests reach
//! only by luck: a task row whose assignment never happened is assigned by the watchdog; an expired
//! attempt is re-assigned only once the chain is settled past its deadline, to another keeper, with the
//! same on-chain task id; a paused job's open task fails with the reason; one task that cannot be
//! assigned does not stop the sweep for the others; reports not signed by the performer change nothing;
//! a second dispatcher on the same store leaves a leased task alone.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::mpsc::UnboundedReceiver;
use triggerx_api::wire::{CreateJobData, validate_job_chain};
use triggerx_chain::deploy::{ChainRole, deploy_chain};
use triggerx_core::ids::JobId;
use triggerx_core::keeper::KeeperUpsert;
use triggerx_core::task::{TaskRequest, TaskStatus};
use triggerx_devnet::anvil::{AnvilInstance, AnvilOptions, spawn_anvil};
use triggerx_dispatcher::{ChainView, Dispatcher, DispatcherChain, DispatcherConfig};
use triggerx_p2p::messages::ReportStatus;
use triggerx_p2p::{ExecutionReport, TaskMessage};
use triggerx_store::{Backend, CheckinRecord, NewTask, Store};
use triggerx_testbed::databases::fresh_store;

const ABI: &str = r#"[{"type":"function","name":"incrementBy","inputs":[{"name":"by","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"}]"#;

struct Bed {
    _anvil: AnvilInstance,
    _dir: tempfile::TempDir,
    store: Store,
    chain: DispatcherChain,
    counter: Address,
    keepers: Vec<(Address, PrivateKeySigner)>,
}

impl Bed {
    async fn start(keepers: usize) -> Bed {
        let anvil = spawn_anvil(&AnvilOptions::automine(31338)).await.unwrap();
        let deployment = deploy_chain(&anvil.rpc_url, &anvil.accounts[0].private_key, ChainRole::L2).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
        let mut online = Vec::new();
        for account in &anvil.accounts[1..=keepers] {
            let consensus = PrivateKeySigner::random();
            let (address, consensus_address) =
                (format!("{:#x}", account.address), format!("{:#x}", consensus.address()));
            store
                .upsert_keeper(&KeeperUpsert {
                    keeper_address: address.clone(),
                    consensus_address: Some(consensus_address.clone()),
                    registered: Some(true),
                    voting_power: Some("100".into()),
                    ..Default::default()
                })
                .await
                .unwrap();
            let now = triggerx_core::time::now_millis();
            let record = CheckinRecord {
                keeper_address: &address,
                consensus_address: &consensus_address,
                version: "test",
                peer_id: "",
                signed_at: now,
            };
            store.record_checkin(&record, now, 3_600_000).await.unwrap();
            online.push((account.address, consensus));
        }
        let chain = DispatcherChain {
            chain_id: 31338,
            rpc_urls: vec![anvil.rpc_url.clone()],
            hub: deployment.contracts.hub,
            confirmations: 0,
            poll_interval: Duration::from_millis(50),
        };
        let counter = deployment.address("Counter").unwrap();
        Bed { _anvil: anvil, _dir: dir, store, chain, counter, keepers: online }
    }

    async fn job(&self, id: u64, chain_id: u64) -> JobId {
        let data = CreateJobData {
            job_id: JobId::parse(&id.to_string(), "job_id").ok(),
            user_address: Some("0x00000000000000000000000000000000000000aa".into()),
            job_title: "job".into(),
            task_definition_id: Some(1),
            time_frame: Some(3600),
            recurring: true,
            schedule_type: Some("interval".into()),
            time_interval: Some(60),
            target_chain_id: Some(chain_id.to_string()),
            target_contract_address: Some(format!("{:#x}", self.counter)),
            target_function: Some("incrementBy".into()),
            abi: Some(ABI.into()),
            arg_type: Some(1),
            arguments: Some(vec!["1".into()]),
            ..Default::default()
        };
        self.store.create_jobs(&validate_job_chain(&[data], chrono::Utc::now()).unwrap()).await.unwrap().jobs[0]
            .spec
            .job_id
    }

    /// A dispatcher named `name` with a `deadline_secs` deadline; the chain is not followed (the
    /// tests move its settled time themselves).
    async fn dispatcher(
        &self,
        name: &str,
        deadline_secs: u64,
    ) -> (Arc<Dispatcher>, Arc<ChainView>, UnboundedReceiver<TaskMessage>) {
        let (dispatcher, mut views, published) = self.dispatcher_over(name, deadline_secs, Vec::new()).await;
        (dispatcher, views.remove(0), published)
    }

    /// The same over this bed's chain and `more` chains.
    async fn dispatcher_over(
        &self,
        name: &str,
        deadline_secs: u64,
        more: Vec<DispatcherChain>,
    ) -> (Arc<Dispatcher>, Vec<Arc<ChainView>>, UnboundedReceiver<TaskMessage>) {
        let (publish, published) = tokio::sync::mpsc::unbounded_channel::<TaskMessage>();
        let views: Vec<Arc<ChainView>> =
            std::iter::once(self.chain.clone()).chain(more).map(|c| Arc::new(ChainView::new(c).unwrap())).collect();
        let config = DispatcherConfig {
            name: name.into(),
            deadline: Duration::from_secs(deadline_secs),
            unassigned_after: Duration::ZERO,
            ..Default::default()
        };
        let dispatcher =
            Dispatcher::new(self.store.clone(), Arc::new(publish), PrivateKeySigner::random(), config, views.clone())
                .await
                .unwrap();
        (dispatcher, views, published)
    }
}

fn now_secs() -> u64 {
    triggerx_core::time::now_millis() as u64 / 1000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_assigns_a_row_left_unassigned_and_reassigns_only_once_the_chain_is_past_the_deadline() {
    let bed = Bed::start(2).await;
    let job = bed.job(1, 31338).await;
    let (dispatcher, view, mut published) = bed.dispatcher("d1", 5).await;
    // A row made but never assigned (a dispatcher died between the two).
    let (task, _) = bed
        .store
        .create_task(&NewTask {
            job_id: job,
            task_definition_id: None,
            occurrence_key: "time:1".into(),
            task_performer_id: None,
        })
        .await
        .unwrap();
    assert_eq!(dispatcher.sweep().await.unwrap(), 1);
    let first = published.try_recv().expect("the watchdog assigned it");
    assert_eq!((first.task_id, first.attempt()), (task.task_id, 1));
    assert_eq!(
        first.assignment.taskId,
        triggerx_core::assignment::onchain_task_id(dispatcher.namespace(), task.task_id)
    );
    assert_eq!(first.dispatcher().unwrap(), dispatcher.address(), "signed, and consistent with its calldata");
    let stored = bed.store.task(task.task_id).await.unwrap().unwrap();
    assert_eq!((stored.task_status, stored.attempt), (TaskStatus::Dispatched, 1));

    // Its deadline passes on the wall clock, but the chain is not known to be past it: nothing moves.
    tokio::time::sleep(Duration::from_secs(6)).await;
    dispatcher.sweep().await.unwrap();
    assert!(published.try_recv().is_err(), "no re-assignment while a late transaction could still execute");
    // Once the chain is settled past the deadline the attempt is over: the next keeper gets the same task.
    view.advance(now_secs());
    dispatcher.sweep().await.unwrap();
    let second = published.try_recv().expect("re-assigned");
    assert_eq!(second.attempt(), 2);
    assert_eq!(second.assignment.taskId, first.assignment.taskId, "the same on-chain task id: at most one can execute");
    assert_ne!(second.performer(), first.performer(), "to another keeper");
    let attempts = bed.store.task_attempts(task.task_id).await.unwrap();
    assert_eq!(attempts[0].outcome, "expired");
    assert_eq!(attempts[1].outcome, "assigned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_task_does_not_stop_the_sweep_and_a_paused_jobs_task_fails_with_its_reason() {
    let bed = Bed::start(1).await;
    // A second chain whose node is down: anything the dispatcher asks it fails.
    let dead = DispatcherChain { chain_id: 31339, rpc_urls: vec!["http://127.0.0.1:9".into()], ..bed.chain.clone() };
    let (good, paused, stuck) = (bed.job(1, 31338).await, bed.job(2, 31338).await, bed.job(3, 31339).await);
    let (dispatcher, views, mut published) = bed.dispatcher_over("d1", 5, vec![dead]).await;
    let make = |job: JobId, key: &str| NewTask {
        job_id: job,
        task_definition_id: None,
        occurrence_key: key.into(),
        task_performer_id: None,
    };
    let (on_dead_chain, _) = bed.store.create_task(&make(stuck, "time:1")).await.unwrap();
    dispatcher.sweep().await.unwrap();
    assert_eq!(published.try_recv().unwrap().task_id, on_dead_chain.task_id, "assigned (publishing needs no node)");
    // Its deadline passes; asking the dead node whether it executed fails on every sweep.
    tokio::time::sleep(Duration::from_secs(6)).await;
    views[1].advance(now_secs());
    let (for_paused, _) = bed.store.create_task(&make(paused, "time:1")).await.unwrap();
    bed.store.set_job_paused(paused, true).await.unwrap();
    let (first_good, _) = bed.store.create_task(&make(good, "time:1")).await.unwrap();
    let (second_good, _) = bed.store.create_task(&make(good, "time:2")).await.unwrap();
    assert_eq!(dispatcher.sweep().await.unwrap(), 4, "the sweep looked at every due task");
    let failed = bed.store.task(for_paused.task_id).await.unwrap().unwrap();
    assert_eq!(failed.task_status, TaskStatus::Failed);
    assert!(failed.task_error.starts_with("job_paused"), "{}", failed.task_error);
    let assigned: Vec<i64> = std::iter::from_fn(|| published.try_recv().ok()).map(|m| m.task_id).collect();
    assert_eq!(
        assigned,
        vec![first_good.task_id, second_good.task_id],
        "the tasks after the failing one were assigned"
    );
    let stuck_task = bed.store.task(on_dead_chain.task_id).await.unwrap().unwrap();
    assert!(!stuck_task.task_status.is_final(), "the failing task stays open for the next sweep, not lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_count_only_from_the_performer_and_a_refusal_moves_the_task_on() {
    let bed = Bed::start(2).await;
    let job = bed.job(1, 31338).await;
    let (dispatcher, _view, mut published) = bed.dispatcher("d1", 30).await;
    let task = dispatcher.request(&TaskRequest { job_id: job, occurrence_key: "time:1".into() }).await.unwrap();
    let first = published.try_recv().unwrap();
    let performer = bed.keepers.iter().find(|(a, _)| *a == first.performer()).unwrap();
    let stranger = bed.keepers.iter().find(|(a, _)| *a != first.performer()).unwrap();
    let refusal = ExecutionReport {
        task_id: task.task_id,
        attempt: 1,
        performer: performer.0,
        status: ReportStatus::Refused,
        reason: "deadline_passed".into(),
        tx_hash: None,
        block_number: None,
        gas_used: None,
        broadcast_at_micros: None,
        record: None,
    };
    // Signed by another keeper's consensus key: ignored.
    dispatcher.handle_report(stranger.1.address(), &refusal).await.unwrap();
    assert!(published.try_recv().is_err());
    assert_eq!(bed.store.task(task.task_id).await.unwrap().unwrap().attempt, 1);
    // From the performer: the next keeper gets it at once.
    dispatcher.handle_report(performer.1.address(), &refusal).await.unwrap();
    let second = published.try_recv().expect("re-assigned after the refusal");
    assert_eq!((second.attempt(), second.performer()), (2, stranger.0));
    let attempts = bed.store.task_attempts(task.task_id).await.unwrap();
    assert_eq!((attempts[0].outcome.as_str(), attempts[0].reason.as_str()), ("refused", "deadline_passed"));
    // A performer's word that it executed changes nothing: only the chain does.
    let claim = ExecutionReport {
        attempt: 2,
        performer: stranger.0,
        status: ReportStatus::Executed,
        tx_hash: Some(alloy::primitives::B256::repeat_byte(0x11)),
        ..refusal
    };
    dispatcher.handle_report(stranger.1.address(), &claim).await.unwrap();
    let after = bed.store.task(task.task_id).await.unwrap().unwrap();
    assert_ne!(after.task_status, TaskStatus::Executed, "a claimed execution is not an execution");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_dispatcher_leaves_a_leased_task_alone_and_takes_it_over_when_the_lease_ends() {
    let bed = Bed::start(2).await;
    let job = bed.job(1, 31338).await;
    let (first, _, mut first_published) = bed.dispatcher("d1", 5).await;
    let (second, second_view, mut second_published) = bed.dispatcher("d2", 5).await;
    let task = first.request(&TaskRequest { job_id: job, occurrence_key: "time:1".into() }).await.unwrap();
    assert!(first_published.try_recv().is_ok());
    tokio::time::sleep(Duration::from_secs(6)).await;
    second_view.advance(now_secs());
    second.sweep().await.unwrap();
    assert!(second_published.try_recv().is_err(), "d1's lease runs until 30 s past the deadline");
    // d1 is gone and its lease has run out: d2 takes the task over.
    bed.store.claim_task(task.task_id, "d1", 0).await.unwrap();
    second.sweep().await.unwrap();
    let taken = second_published.try_recv().expect("taken over");
    assert_eq!(taken.attempt(), 2);
    assert_eq!(U256::from(task.task_id as u64), taken.assignment.taskId & U256::from(u64::MAX));
}
