//! `triggerx bench keeper`: one keeper on a local anvil (automine). The dispatcher assigns N static tasks
//! back to back; a listener on the same P2P network records when each assignment was published and when
//! the keeper broadcast its hub transaction. Reports tasks executed per second and the latency from
//! dispatch to broadcast.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use triggerx_api::wire::{CreateJobData, validate_job_chain};
use triggerx_chain::bindings::{Counter, TaskExecutionHub};
use triggerx_chain::deploy::ChainDeployment;
use triggerx_chain::deploy::{ChainRole, deploy_chain, wallet_provider};
use triggerx_core::ids::JobId;
use triggerx_core::keeper::KeeperUpsert;
use triggerx_core::task::TaskRequest;
use triggerx_devnet::anvil::{AnvilOptions, spawn_anvil};
use triggerx_dispatcher::{Dispatcher, DispatcherChain, DispatcherConfig, RequestSource};
use triggerx_keeper::{KeeperConfig, KeeperNode};
use triggerx_p2p::messages::ReportStatus;
use triggerx_p2p::{Message, P2pConfig, P2pNode};
use triggerx_store::{CheckinRecord, Store};

use clap::Args;

/// `triggerx bench keeper`.
#[derive(Debug, Args)]
pub struct BenchKeeperArgs {
    /// Tasks dispatched back to back for the throughput phase.
    #[arg(long, default_value_t = 500)]
    pub tasks: usize,
    /// Tasks per second for the latency phase (steady load below capacity).
    #[arg(long, default_value_t = 50)]
    pub rate: u32,
    /// Seconds of the latency phase.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

const ABI: &str = r#"[{"type":"function","name":"incrementBy","inputs":[{"name":"by","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"}]"#;

/// Runs the benchmark and prints its figures.
pub async fn run(args: BenchKeeperArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.tasks > 0, "--tasks must be positive");
    let anvil = spawn_anvil(&AnvilOptions::automine(31338)).await?;
    let chain = deploy_chain(&anvil.rpc_url, &anvil.accounts[0].private_key, ChainRole::L2).await?;
    let (keeper_account, user) = (anvil.accounts[1].clone(), anvil.accounts[2].clone());
    let admin = wallet_provider(&anvil.rpc_url, &anvil.accounts[0].private_key)?;
    TaskExecutionHub::new(chain.contracts.hub, admin)
        .updateKeepers(vec![keeper_account.address], vec![])
        .send()
        .await?
        .get_receipt()
        .await?;

    let dir = tempfile::tempdir()?;
    let store = Store::open(None, dir.path()).await.context("opening the store")?;
    let consensus = PrivateKeySigner::random();
    let keeper_address = format!("{:#x}", keeper_account.address);
    let consensus_address = format!("{:#x}", consensus.address());
    store
        .upsert_keeper(&KeeperUpsert {
            keeper_address: keeper_address.clone(),
            consensus_address: Some(consensus_address.clone()),
            registered: Some(true),
            voting_power: Some("100".into()),
            ..Default::default()
        })
        .await?;
    let now = triggerx_core::time::now_millis();
    let record = CheckinRecord {
        keeper_address: &keeper_address,
        consensus_address: &consensus_address,
        version: "bench",
        peer_id: "",
        signed_at: now,
    };
    store.record_checkin(&record, now, 3_600_000).await?;

    // The job: registered on-chain by its owner, funded, stored.
    let job_id = triggerx_chain::jobs::register_job(
        &anvil.rpc_url,
        &user.private_key,
        chain.contracts.job_registry,
        &triggerx_chain::jobs::JobRegistration::interval("bench", chain.address("Counter")?, 60, 86_400),
    )
    .await?;
    let deposit = U256::from(1000u128 * 10u128.pow(18));
    triggerx_chain::jobs::deposit_gas(&anvil.rpc_url, &user.private_key, chain.contracts.gas_registry, deposit).await?;
    let job = CreateJobData {
        job_id: Some(JobId(job_id)),
        user_address: Some(format!("{:#x}", user.address)),
        job_title: "bench".into(),
        task_definition_id: Some(1),
        time_frame: Some(86_400),
        recurring: true,
        schedule_type: Some("interval".into()),
        time_interval: Some(60),
        target_chain_id: Some(chain.chain_id.to_string()),
        target_contract_address: Some(format!("{:#x}", chain.address("Counter")?)),
        target_function: Some("incrementBy".into()),
        abi: Some(ABI.into()),
        arg_type: Some(1),
        arguments: Some(vec!["1".into()]),
        ..Default::default()
    };
    store.create_jobs(&validate_job_chain(&[job], chrono::Utc::now())?).await?;

    // Network: dispatcher, one keeper, one listener.
    let dispatcher_key = PrivateKeySigner::random();
    let p2p = P2pConfig { heartbeat: Duration::from_millis(200), ..Default::default() }
        .accepting_tasks_from(vec![dispatcher_key.address()]);
    let (dispatcher_node, reports) = P2pNode::start(p2p.clone(), dispatcher_key.clone()).await?;
    let bootstrap = dispatcher_node.listen_addrs.clone();
    let dispatcher_node = Arc::new(dispatcher_node);
    let hub = chain.contracts.hub;
    triggerx_chain::hub::trust_dispatcher(
        &anvil.rpc_url,
        &anvil.accounts[0].private_key,
        hub,
        dispatcher_key.address(),
    )
    .await?;
    let chains = vec![DispatcherChain::for_chain(&chain, 0, Duration::from_millis(100))];
    let config = DispatcherConfig { deadline: Duration::from_secs(120), ..Default::default() };
    let service = triggerx_dispatcher::spawn(
        store.clone(),
        dispatcher_key.clone(),
        dispatcher_node.clone(),
        reports,
        config,
        chains,
        RequestSource::None,
    )
    .await?;
    let dispatcher = service.dispatcher.clone();
    let keeper = KeeperNode::start(KeeperConfig {
        controller_key: keeper_account.private_key.clone(),
        consensus_key: format!("0x{}", alloy::hex::encode(consensus.to_bytes())),
        dispatcher: dispatcher_key.address(),
        chains: vec![ChainDeployment { rpc_url: anvil.rpc_url.clone(), ..chain.clone() }],
        p2p: P2pConfig { bootstrap: bootstrap.clone(), ..p2p.clone() },
        health_url: None,
        checkin_interval: Duration::from_secs(60),
        bls_key: None,
        faults: Default::default(),
    })
    .await?;
    let (_listener, mut heard) = P2pNode::start(P2pConfig { bootstrap, ..p2p }, PrivateKeySigner::random()).await?;
    let started_waiting = Instant::now();
    while dispatcher_node.peers().await? < 2 {
        anyhow::ensure!(
            started_waiting.elapsed() < Duration::from_secs(30),
            "the keeper and the listener did not join"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // Phase 1: throughput, every task dispatched back to back.
    let burst = phase(&dispatcher, &mut heard, JobId(job_id), "burst", args.tasks, None).await?;
    // Phase 2: latency under a steady load below capacity.
    anyhow::ensure!(args.rate > 0 && args.seconds > 0, "--rate and --seconds must be positive");
    let steady_tasks = args.rate as usize * args.seconds as usize;
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate));
    let steady = phase(&dispatcher, &mut heard, JobId(job_id), "steady", steady_tasks, Some(interval)).await?;
    let counter =
        Counter::new(chain.address("Counter")?, ProviderBuilder::new().connect_http(anvil.rpc_url.parse()?).erased())
            .number()
            .call()
            .await?;
    let total = args.tasks + steady_tasks;
    anyhow::ensure!(
        burst.failed + steady.failed == 0 && counter == U256::from(total),
        "tasks failed; counter {counter} of {total}"
    );
    drop(keeper);
    service.stop().await;
    anvil.stop().await;
    println!("| phase | tasks | seconds | tasks/s | dispatch-to-broadcast p50 | p99 | max |");
    println!("|---|---|---|---|---|---|---|");
    for (name, r) in
        [("burst (back to back)".to_string(), &burst), (format!("steady ({} tasks/s)", args.rate), &steady)]
    {
        println!(
            "| {name} | {} | {:.2} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms |",
            r.executed,
            r.elapsed,
            r.executed as f64 / r.elapsed,
            r.latency.value_at_quantile(0.5) as f64 / 1000.0,
            r.latency.value_at_quantile(0.99) as f64 / 1000.0,
            r.latency.max() as f64 / 1000.0
        );
    }
    Ok(())
}

/// Figures of one phase.
struct PhaseResult {
    executed: usize,
    failed: usize,
    elapsed: f64,
    latency: Histogram<u64>,
}

/// Dispatches `count` tasks (every `interval`, or back to back) and waits for every report.
async fn phase(
    dispatcher: &Arc<Dispatcher>,
    heard: &mut tokio::sync::mpsc::Receiver<triggerx_p2p::Received>,
    job: JobId,
    name: &'static str,
    count: usize,
    interval: Option<Duration>,
) -> anyhow::Result<PhaseResult> {
    let progress = ProgressBar::new(count as u64);
    progress.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    progress.set_prefix(name);
    let started = Instant::now();
    let requests = {
        let dispatcher = dispatcher.clone();
        tokio::spawn(async move {
            let mut tick = interval.map(tokio::time::interval);
            for i in 0..count {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                dispatcher.request(&TaskRequest { job_id: job, occurrence_key: format!("{name}:{i}") }).await?;
            }
            Ok::<(), triggerx_dispatcher::DispatchError>(())
        })
    };
    let (mut dispatched, mut broadcast, mut executed, mut failed) = (HashMap::new(), HashMap::new(), 0usize, 0usize);
    while executed + failed < count {
        let received = tokio::time::timeout(Duration::from_secs(120), heard.recv())
            .await
            .context("no progress for 120 s")?
            .context("network stopped")?;
        match received.message {
            Message::Task(task) => {
                dispatched.insert(task.task_id, task.dispatched_at_micros);
            }
            Message::ExecutionReport(report) => {
                if let Some(at) = report.broadcast_at_micros {
                    broadcast.entry(report.task_id).or_insert(at);
                }
                match report.status {
                    ReportStatus::Executing => continue, // the interim report; the final one follows
                    ReportStatus::Executed => executed += 1,
                    _ => failed += 1,
                }
                progress.inc(1);
            }
            Message::Attestation(_) => {}
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    progress.finish_and_clear();
    requests.await??;
    let mut latency = Histogram::<u64>::new(3)?;
    for (task, at) in &broadcast {
        if let Some(sent) = dispatched.get(task) {
            latency.record(at.saturating_sub(*sent).max(1))?;
        }
    }
    Ok(PhaseResult { executed, failed, elapsed, latency })
}
