//! `triggerx bench events`: the event scheduler on a local anvil. N event jobs (default 1,000) watch the
//! demo emitter's `Transfer`, job k with the filter `value >= 5k && value < 5k + 5`; one transaction
//! emits L logs (default 5,000, values 0..L) in one block, so every log matches one job. Measured: from
//! the block being mined (its receipt) and from the watcher's batch being available, to each task
//! request arriving in the queue: p50/p99/max over every request.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use anyhow::Context;
use chrono::Utc;
use hdrhistogram::Histogram;
use triggerx_api::wire::{CreateJobData, validate_job_chain};
use triggerx_chain::bindings::EventEmitter;
use triggerx_chain::deploy::{ChainRole, deploy_chain, wallet_provider};
use triggerx_chain::watcher::WatcherConfig;
use triggerx_devnet::anvil::{AnvilOptions, spawn_anvil};
use triggerx_scheduler::{EventChain, EventTriggerConfig, EventTriggers};
use triggerx_store::{Backend, Store};
use triggerx_testbed::databases::fresh_database_url;
use triggerx_testbed::fixtures::time_job_input;

use clap::Args;

/// `triggerx bench events`.
#[derive(Debug, Args)]
pub struct BenchEventsArgs {
    /// Event jobs (each matches 5 of the logs).
    #[arg(long, default_value_t = 1000)]
    pub jobs: usize,
    /// Logs emitted in one block.
    #[arg(long, default_value_t = 5000)]
    pub logs: usize,
    /// Milliseconds between the watcher's polls for new blocks.
    #[arg(long, default_value_t = 50)]
    pub poll_ms: u64,
}

/// Owner of the benchmark's jobs.
const OWNER: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
/// Logs each job's filter matches.
const LOGS_PER_JOB: u64 = 5;

fn millis(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// Runs the measurement and prints its figures.
pub async fn run(args: BenchEventsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.jobs > 0 && args.logs > 0, "--jobs and --logs must be positive");
    let anvil = spawn_anvil(&AnvilOptions { accounts: 2, ..AnvilOptions::automine(31338) }).await?;
    let chain = deploy_chain(&anvil.rpc_url, &anvil.accounts[0].private_key, ChainRole::L2).await?;
    let emitter_address = chain.address("EventEmitter")?;
    let dir = tempfile::tempdir()?;
    let store = Store::connect(&fresh_database_url(Backend::Sqlite, dir.path()).await?).await?;
    for k in 0..args.jobs as u64 {
        let job = CreateJobData {
            task_definition_id: Some(3),
            schedule_type: None,
            time_interval: None,
            trigger_chain_id: Some("31338".into()),
            trigger_contract_address: Some(format!("{emitter_address:#x}")),
            trigger_event: Some("Transfer(address indexed from, address indexed to, uint256 value)".into()),
            event_filter: Some(format!("value >= {} && value < {}", k * LOGS_PER_JOB, (k + 1) * LOGS_PER_JOB)),
            ..time_job_input(&(k + 1).to_string(), OWNER)
        };
        store.create_jobs(&validate_job_chain(&[job], Utc::now()).map_err(|e| anyhow::anyhow!("{e}"))?).await?;
    }
    let plain = ProviderBuilder::new().connect_http(anvil.rpc_url.parse()?).erased();
    let (queue, mut requests) = triggerx_queue::in_process();
    let chains = vec![EventChain {
        chain_id: 31338,
        rpc_url: anvil.rpc_url.clone(),
        watcher: WatcherConfig {
            confirmations: 0,
            poll_interval: Duration::from_millis(args.poll_ms),
            start_block: Some(plain.get_block_number().await? + 1),
            ..Default::default()
        },
    }];
    let scheduler = EventTriggers::new(store.clone(), queue, chains, EventTriggerConfig::default());
    let stats = scheduler.stats();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(scheduler.run(stopped));
    let waiting = Instant::now();
    while stats.jobs.load(std::sync::atomic::Ordering::Relaxed) < args.jobs as u64 {
        anyhow::ensure!(waiting.elapsed() < Duration::from_secs(60), "the scheduler did not load its jobs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "bench events: {} jobs on one (contract, event), {} logs in one block, poll every {} ms",
        args.jobs, args.logs, args.poll_ms
    );

    let emitter = EventEmitter::new(emitter_address, wallet_provider(&anvil.rpc_url, &anvil.accounts[1].private_key)?);
    let receipt = emitter
        .emitMany(Address::repeat_byte(7), U256::from(args.logs), U256::ZERO)
        .gas(29_000_000)
        .send()
        .await?
        .get_receipt()
        .await
        .context("emitting the logs")?;
    let mined = Instant::now();
    anyhow::ensure!(receipt.status(), "emitMany reverted (too many logs for one block?)");
    anyhow::ensure!(receipt.inner.logs().len() == args.logs, "{} logs in the block", receipt.inner.logs().len());
    let expected = (args.jobs as u64 * LOGS_PER_JOB).min(args.logs as u64);
    let mut from_mined = Histogram::<u64>::new(3)?;
    let mut received = 0u64;
    while received < expected {
        let request = tokio::time::timeout(Duration::from_secs(60), requests.recv())
            .await
            .context("waiting for task requests")?
            .context("queue closed")?;
        let _ = request;
        from_mined.record((mined.elapsed().as_micros() as u64).max(1))?;
        received += 1;
    }
    stop.send(true).ok();
    running.await??;
    let from_batch = stats.latency_micros.lock().map_err(|_| anyhow::anyhow!("histogram poisoned"))?.clone();
    println!("task requests: {received} (one per matching job and log)");
    println!(
        "block mined -> request:     p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        millis(from_mined.value_at_quantile(0.5)),
        millis(from_mined.value_at_quantile(0.99)),
        millis(from_mined.max())
    );
    println!(
        "batch available -> request: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        millis(from_batch.value_at_quantile(0.5)),
        millis(from_batch.value_at_quantile(0.99)),
        millis(from_batch.max())
    );
    anvil.stop().await;
    Ok(())
}
