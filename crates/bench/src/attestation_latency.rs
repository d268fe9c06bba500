//! `triggerx bench attestation-latency`: how many blocks pass, on a running (or just stopped)
//! `triggerx up`, from each execution's receipt to its settlement on the AttestationCenter. Reads the
//! tasks from `up`'s store and both receipts from the chain (tasks executed on the center's chain only:
//! blocks of two chains do not compare), and prints the distribution with p50, p99 and the maximum.

use std::collections::BTreeMap;
use std::path::Path;

use alloy::primitives::B256;
use alloy::providers::Provider;
use anyhow::Context;
use clap::Args;
use triggerx_core::paging::Page;
use triggerx_devnet::up_file::UpDescription;
use triggerx_store::Store;

/// `triggerx bench attestation-latency`.
#[derive(Debug, Args)]
pub struct BenchAttestationLatencyArgs {
    /// The `up.json` of the network (default: the data directory's).
    #[arg(long)]
    pub up_file: Option<std::path::PathBuf>,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs the measurement.
pub async fn run(data_dir: &Path, args: BenchAttestationLatencyArgs) -> anyhow::Result<()> {
    let up_file = args.up_file.unwrap_or_else(|| data_dir.join("up.json"));
    let text = std::fs::read_to_string(&up_file)
        .with_context(|| format!("reading {} (run `triggerx up --demo` first)", up_file.display()))?;
    let up: UpDescription = serde_json::from_str(&text).with_context(|| format!("reading {}", up_file.display()))?;
    let center_chain =
        up.chains.iter().find(|c| c.contracts.attestation_center.is_some()).context("no AttestationCenter chain")?;
    let provider = center_chain.provider()?;
    let store = Store::open(None, data_dir).await.context("opening up's store")?;
    let mut tasks = Vec::new();
    for offset in (0..).step_by(500) {
        let (page, total) = store.recent_tasks(None, Page { limit: 500, offset }).await?;
        tasks.extend(page);
        if offset + 500 >= total {
            break;
        }
    }
    let (mut accepted, mut rejected, mut unsettled, mut other_chain) = (0, 0, 0, 0);
    let mut blocks = Vec::new();
    for task in &tasks {
        if task.execution_tx_hash.is_empty() {
            continue;
        }
        match task.is_accepted {
            Some(true) => accepted += 1,
            Some(false) => rejected += 1,
            None => {
                unsettled += 1;
                continue;
            }
        }
        let (Ok(executed), Ok(settled)) =
            (task.execution_tx_hash.parse::<B256>(), task.task_submission_tx_hash.parse::<B256>())
        else {
            continue;
        };
        let (Some(executed), Some(settled)) =
            (provider.get_transaction_receipt(executed).await?, provider.get_transaction_receipt(settled).await?)
        else {
            other_chain += 1;
            continue;
        };
        let (Some(from), Some(to)) = (executed.block_number, settled.block_number) else { continue };
        blocks.push(to.saturating_sub(from));
    }
    blocks.sort_unstable();
    let mut histogram: BTreeMap<u64, usize> = BTreeMap::new();
    for b in &blocks {
        *histogram.entry(*b).or_default() += 1;
    }
    println!(
        "executed tasks: {} accepted, {rejected} rejected, {unsettled} not settled yet; {other_chain} on another chain",
        accepted
    );
    println!("blocks from execution receipt to settlement (chain {}):", center_chain.chain_id);
    for (b, n) in &histogram {
        println!("  {b:>3} blocks: {n}");
    }
    println!(
        "n = {}, p50 = {} blocks, p99 = {} blocks, max = {} blocks",
        blocks.len(),
        percentile(&blocks, 50.0),
        percentile(&blocks, 99.0),
        blocks.last().copied().unwrap_or(0)
    );
    Ok(())
}
