//! `triggerx bench chain`: the chain layer against a local anvil in automine. (a) The transaction sender:
//! one signer sends and confirms N transactions with C in flight; transactions/s. (b) The log watcher:
//! L Transfer logs already on the chain are fetched, decoded and delivered (batches committed to a SQLite
//! checkpoint) from the first block; logs/s.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolEvent};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::Semaphore;
use triggerx_chain::bindings::{Counter, EventEmitter};
use triggerx_chain::deploy::{ChainRole, deploy_chain, signer_from_key};
use triggerx_chain::sender::{SenderConfig, TxSender};
use triggerx_chain::watcher::{LogFilter, LogWatcher, WatchEvent, WatcherConfig};
use triggerx_devnet::anvil::{AnvilOptions, spawn_anvil};
use triggerx_store::Store;

use clap::Args;

/// `triggerx bench chain`.
#[derive(Debug, Args)]
pub struct BenchChainArgs {
    /// Transactions the sender sends (each confirmed).
    #[arg(long, default_value_t = 2000)]
    pub transactions: usize,
    /// Transactions in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Logs the watcher decodes and delivers.
    #[arg(long, default_value_t = 50_000)]
    pub logs: usize,
}

/// Logs emitted per transaction when preparing the watcher benchmark.
const LOGS_PER_TRANSACTION: usize = 500;

fn bar(len: u64, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}

/// Runs both measurements and prints their figures.
pub async fn run(_data_dir: &Path, args: BenchChainArgs) -> anyhow::Result<()> {
    if args.transactions == 0 || args.concurrency == 0 || args.logs == 0 {
        anyhow::bail!("--transactions, --concurrency and --logs must be positive");
    }
    let anvil = spawn_anvil(&AnvilOptions::automine(31338)).await?;
    let deployment = deploy_chain(&anvil.rpc_url, &anvil.accounts[0].private_key, ChainRole::L2).await?;
    let provider = ProviderBuilder::new().connect_http(anvil.rpc_url.parse()?).erased();

    // (a) Sender throughput.
    let sender = TxSender::new(
        provider.clone(),
        signer_from_key(&anvil.accounts[1].private_key)?,
        SenderConfig { poll_interval: std::time::Duration::from_millis(5), ..Default::default() },
    )
    .await?;
    let increment = TransactionRequest::default()
        .with_to(deployment.address("Counter")?)
        .with_input(Counter::incrementCall {}.abi_encode());
    let progress = bar(args.transactions as u64, "sender");
    let permits = Arc::new(Semaphore::new(args.concurrency));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(args.transactions);
    for _ in 0..args.transactions {
        let permit = permits.clone().acquire_owned().await?;
        let (sender, request, progress) = (sender.clone(), increment.clone(), progress.clone());
        handles.push(tokio::spawn(async move {
            let sent = sender.send(request).await?;
            let receipt = sender.confirm(sent).await?;
            drop(permit);
            progress.inc(1);
            Ok::<bool, triggerx_chain::ChainError>(receipt.status())
        }));
    }
    let mut failures = 0;
    for handle in handles {
        match handle.await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                if failures == 0 {
                    eprintln!("first failure: a transaction reverted");
                }
                failures += 1;
            }
            Ok(Err(e)) => {
                if failures == 0 {
                    eprintln!("first failure: {e}");
                }
                failures += 1;
            }
            Err(e) => {
                eprintln!("task failed: {e}");
                failures += 1;
            }
        }
    }
    let sender_seconds = started.elapsed().as_secs_f64();
    progress.finish_and_clear();
    let counter = Counter::new(deployment.address("Counter")?, provider.clone()).number().call().await?;
    anyhow::ensure!(failures == 0 && counter == U256::from(args.transactions), "{failures} transactions failed");

    // (b) Watcher throughput: put the logs on the chain first, then time the watcher alone.
    let emitter_address = deployment.address("EventEmitter")?;
    let emitter = EventEmitter::new(
        emitter_address,
        triggerx_chain::deploy::wallet_provider(&anvil.rpc_url, &anvil.accounts[2].private_key)?,
    );
    let start_block = provider.get_block_number().await? + 1;
    let transactions = args.logs.div_ceil(LOGS_PER_TRANSACTION);
    let preparing = bar(transactions as u64, "emitting");
    for i in 0..transactions {
        let count = LOGS_PER_TRANSACTION.min(args.logs - i * LOGS_PER_TRANSACTION);
        emitter
            .emitMany(Address::with_last_byte(7), U256::from(count), U256::from(i * LOGS_PER_TRANSACTION))
            .gas(25_000_000)
            .send()
            .await?
            .get_receipt()
            .await?;
        preparing.inc(1);
    }
    preparing.finish_and_clear();
    let dir = tempfile::tempdir()?;
    let store = Store::open(None, dir.path()).await.context("opening the checkpoint store")?;
    let config =
        WatcherConfig { confirmations: 0, max_range: 1000, start_block: Some(start_block), ..Default::default() };
    let watcher = LogWatcher::new(provider.clone(), "bench", config, store);
    watcher
        .add_filter(LogFilter { address: Some(emitter_address), topic0: Some(EventEmitter::Transfer::SIGNATURE_HASH) })
        .await;
    let progress = bar(args.logs as u64, "watcher");
    let started = Instant::now();
    let (mut delivered, mut value_sum) = (0usize, U256::ZERO);
    while delivered < args.logs {
        let batch = watcher.next_batch().await?;
        anyhow::ensure!(batch.to.is_some() || delivered >= args.logs, "watcher caught up after {delivered} logs");
        for event in &batch.events {
            if let WatchEvent::Log { log, .. } = event {
                let transfer = EventEmitter::Transfer::decode_log(&log.inner)?;
                value_sum += transfer.value;
                delivered += 1;
            }
        }
        watcher.commit(&batch).await?;
        progress.set_position(delivered as u64);
    }
    let watcher_seconds = started.elapsed().as_secs_f64();
    progress.finish_and_clear();
    let expected: U256 = (0..args.logs).map(U256::from).sum();
    anyhow::ensure!(value_sum == expected, "decoded values do not add up");
    anvil.stop().await;

    println!("| measurement | count | seconds | per second |");
    println!("|---|---|---|---|");
    println!(
        "| sender: transactions sent and confirmed (one signer, {} in flight) | {} | {sender_seconds:.2} | {:.0} |",
        args.concurrency,
        args.transactions,
        args.transactions as f64 / sender_seconds
    );
    println!(
        "| watcher: Transfer logs fetched, decoded, delivered, checkpointed | {} | {watcher_seconds:.2} | {:.0} |",
        args.logs,
        args.logs as f64 / watcher_seconds
    );
    Ok(())
}
