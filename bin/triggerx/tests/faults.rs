//! Faults injected into a network of real processes (anvil chains, a private PostgreSQL and Redis,
//! `triggerx up`, dispatchers, schedulers and keepers over libp2p), each run checking the invariant:
//! every occurrence has exactly one task row, no task executes twice on-chain, every executed task has
//! its one on-chain execution, and every task ends final. Faults: a performer SIGKILLed right after it
//! broadcast, a node answering `eth_sendRawTransaction` 35 s late and one taking it 35 s late,
//! dispatchers and schedulers SIGKILLed, Redis and PostgreSQL down for 10 s.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use triggerx_core::task::TaskStatus;
use triggerx_testbed::invariant::tasks_of;
use triggerx_testbed::network::{Network, NetworkOptions};
use triggerx_testbed::rpc_proxy::Fault;
use triggerx_testbed::scenario::{FaultKind, PlannedFault, Workload, run};

/// A fresh directory for one test's network under target/ (kept after a failure, for its logs).
fn network_dir(test: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("faults").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    say(&format!("network in {}", dir.display()));
    dir
}

fn options(dir: &std::path::Path) -> NetworkOptions {
    NetworkOptions {
        binary: env!("CARGO_BIN_EXE_triggerx").into(),
        dir: dir.to_path_buf(),
        keepers_in_up: 0,
        external_keepers: 0,
        dispatchers: 0,
        schedulers: 0,
        block_time: 1.0,
        deadline_secs: 8,
    }
}

fn report(name: &str, outcome: &triggerx_testbed::scenario::Outcome, network: &Network) {
    println!("{name}: faults {:?}", outcome.faults);
    println!("{name}: {}", outcome.figures);
    for line in &outcome.figures.details {
        println!("{name}:   {line}");
    }
    if !outcome.figures.holds() {
        for (process, _) in &network.keepers {
            println!("--- {} ---\n{}", process.name, triggerx_testbed::network::tail(&process.log()));
        }
        println!("--- up ---\n{}", triggerx_testbed::network::tail(&network.up.log()));
    }
}

fn say(line: &str) {
    println!("{} {line}", chrono::Local::now().format("%H:%M:%S"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_performer_killed_right_after_it_broadcast_executes_once() {
    let dir = network_dir("performer_killed");
    let mut network = Network::start(NetworkOptions { external_keepers: 2, ..options(&dir) }).await.unwrap();
    say("network up");
    // Keeper 0's node takes its transaction but never answers; the keeper is killed the moment the
    // transaction is on its way, so no report of it ever reaches the dispatcher.
    network.keepers[0].1.set("eth_sendRawTransaction", Some(Fault::WithholdAnswer));
    let mut forwarded = network.keepers[0].1.forwarded();
    let workload = Workload {
        interval_jobs: 1,
        interval_secs: 3,
        event_jobs: 0,
        poke_every: Duration::from_secs(3600),
        condition_jobs: 0,
        price_phase: Duration::from_secs(3600),
    };
    let killer = tokio::spawn(async move {
        loop {
            match forwarded.recv().await {
                Ok(method) if method == "eth_sendRawTransaction" => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    });
    let watched = network.keepers[0].0.pid().unwrap();
    let kill = tokio::spawn(async move {
        if killer.await.unwrap_or(false) {
            let _ = std::process::Command::new("kill").args(["-9", &watched.to_string()]).status();
            return true;
        }
        false
    });
    let outcome =
        run(&mut network, &workload, &[], Duration::from_secs(30), Duration::from_secs(90), &say).await.unwrap();
    assert!(kill.await.unwrap(), "keeper 0 broadcast a transaction and was killed");
    report("performer killed", &outcome, &network);
    assert!(outcome.figures.holds(), "{}", outcome.figures);
    assert!(outcome.figures.executed >= 8, "the job kept running on the other keeper: {}", outcome.figures);
    // The killed keeper's task executed on-chain and is recorded as its execution.
    let killed = network.store.keeper_by_address(&format!("{:#x}", network.keeper_address(0))).await.unwrap().unwrap();
    let job = network.store.recent_tasks(None, triggerx_core::paging::Page { limit: 1, offset: 0 }).await.unwrap().0;
    let tasks = tasks_of(&network.store, job[0].job_id).await.unwrap();
    assert!(
        tasks.iter().any(|t| t.task_status == TaskStatus::Executed && t.task_performer_id == Some(killed.keeper_id)),
        "a task executed by the killed keeper, learned from the chain"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_answering_or_taking_transactions_35_s_late_loses_nothing_and_doubles_nothing() {
    let dir = network_dir("late_node");
    let mut network = Network::start(NetworkOptions { external_keepers: 3, ..options(&dir) }).await.unwrap();
    let workload = Workload {
        interval_jobs: 1,
        interval_secs: 4,
        event_jobs: 0,
        poke_every: Duration::from_secs(3600),
        condition_jobs: 0,
        price_phase: Duration::from_secs(3600),
    };
    // Keeper 0's transactions reach the chain at once but it hears back 35 s later; keeper 1's reach
    // the chain only 35 s later (after their deadline: the hub refuses them); keeper 2 is healthy.
    let faults = [
        PlannedFault { at: Duration::ZERO, kind: FaultKind::LateAnswer(0), lasting: Duration::from_secs(40) },
        PlannedFault { at: Duration::ZERO, kind: FaultKind::LateBroadcast(1), lasting: Duration::from_secs(40) },
    ];
    let mut late_broadcasts = network.keepers[1].1.forwarded();
    let outcome =
        run(&mut network, &workload, &faults, Duration::from_secs(28), Duration::from_secs(120), &say).await.unwrap();
    report("late node", &outcome, &network);
    assert!(outcome.figures.holds(), "{}", outcome.figures);
    // Keeper 1's held transactions reach the chain 35 s late: the hub refuses them, nothing doubles.
    let waited = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(method) = late_broadcasts.recv().await {
            if method == "eth_sendRawTransaction" {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(waited, Ok(true), "keeper 1 broadcast late");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let hubs = network.hubs().unwrap();
    let again = triggerx_testbed::invariant::check(&network.store, &hubs, &outcome.expected).await.unwrap();
    say(&format!("late node, after the late broadcasts landed: {again}"));
    assert!(again.holds(), "{again}");
    assert_eq!(again.onchain_executions, outcome.figures.onchain_executions, "the late transactions executed nothing");
    let l2 = network.chain(triggerx_chain::deploy::ChainRole::L2).unwrap();
    let provider = alloy::providers::ProviderBuilder::new().connect_http(l2.rpc_url.parse().unwrap());
    let nonce = alloy::providers::Provider::get_transaction_count(&provider, network.keeper_address(1)).await.unwrap();
    assert!(nonce >= 1, "keeper 1's late transaction was mined (and reverted)");
    let job = network.store.recent_tasks(None, triggerx_core::paging::Page { limit: 1, offset: 0 }).await.unwrap().0;
    let tasks = tasks_of(&network.store, job[0].job_id).await.unwrap();
    assert!(tasks.iter().all(|t| t.task_status == TaskStatus::Executed), "every occurrence executed: {tasks:?}");
    assert!(tasks.iter().any(|t| t.attempt >= 2), "the late broadcaster's tasks were re-assigned");
}

fn mixed_workload(price_phase: Duration) -> Workload {
    Workload {
        interval_jobs: 2,
        interval_secs: 2,
        event_jobs: 2,
        poke_every: Duration::from_secs(3),
        condition_jobs: 2,
        price_phase,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatchers_and_schedulers_killed_mid_work_lose_nothing_and_double_nothing() {
    let dir = network_dir("services_killed");
    let options = NetworkOptions { keepers_in_up: 2, dispatchers: 2, schedulers: 2, ..options(&dir) };
    let mut network = Network::start(options).await.unwrap();
    let secs = Duration::from_secs;
    let faults = [
        PlannedFault { at: secs(5), kind: FaultKind::KillDispatcher(0), lasting: secs(6) },
        PlannedFault { at: secs(14), kind: FaultKind::KillScheduler(0), lasting: secs(8) },
        // No dispatcher at all for 5 s: requests wait in the stream, open tasks wait in the store.
        PlannedFault { at: secs(24), kind: FaultKind::KillDispatcher(0), lasting: secs(5) },
        PlannedFault { at: secs(24), kind: FaultKind::KillDispatcher(1), lasting: secs(5) },
        PlannedFault { at: secs(33), kind: FaultKind::KillScheduler(1), lasting: secs(6) },
    ];
    let outcome = run(&mut network, &mixed_workload(secs(12)), &faults, secs(60), secs(120), &say).await.unwrap();
    report("services killed", &outcome, &network);
    assert!(outcome.figures.holds(), "{}", outcome.figures);
    assert!(outcome.figures.executed >= 50, "{}", outcome.figures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_and_postgres_down_for_10_s_lose_nothing_and_double_nothing() {
    let dir = network_dir("stores_down");
    let options = NetworkOptions { keepers_in_up: 2, dispatchers: 1, schedulers: 1, ..options(&dir) };
    let mut network = Network::start(options).await.unwrap();
    let secs = Duration::from_secs;
    let faults = [
        PlannedFault { at: secs(8), kind: FaultKind::RedisDown, lasting: secs(10) },
        PlannedFault { at: secs(30), kind: FaultKind::PostgresDown, lasting: secs(10) },
    ];
    let outcome = run(&mut network, &mixed_workload(secs(12)), &faults, secs(60), secs(150), &say).await.unwrap();
    report("stores down", &outcome, &network);
    assert!(outcome.figures.holds(), "{}", outcome.figures);
    assert!(outcome.figures.executed >= 50, "{}", outcome.figures);
}
