//! `triggerx chaos --minutes N`: a network of separate processes (`up` with the chains, API,
//! registrar, health and 2 keepers; 2 dispatchers, 2 schedulers and 2 more keepers behind RPC proxies;
//! a private PostgreSQL and Redis) runs jobs of all three trigger kinds while faults are injected at
//! random, one at a time; then every task settles and the exactly-once invariant is printed. Exits
//! non-zero when anything was lost, doubled or stranded.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use triggerx_testbed::network::{Network, NetworkOptions};
use triggerx_testbed::scenario::{Shape, Workload, random_faults, run as run_scenario};

use clap::Args;

/// `triggerx chaos`.
#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// How long faults are injected.
    #[arg(long, default_value_t = 10)]
    pub minutes: u64,
    /// Seed of the fault plan (the same seed, the same plan).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Interval jobs (every 5 s).
    #[arg(long, default_value_t = 30)]
    pub interval_jobs: usize,
    /// Event jobs (the emitter is poked every 4 s).
    #[arg(long, default_value_t = 12)]
    pub event_jobs: usize,
    /// Condition jobs (the price rises above their limit for 15 s every 30 s).
    #[arg(long, default_value_t = 10)]
    pub condition_jobs: usize,
    /// Where the network's data and logs go (default: chaos/ in the data directory, emptied first).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Runs the chaos and prints its figures.
pub async fn run(data_dir: &Path, args: ChaosArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.minutes >= 1, "--minutes must be at least 1");
    let dir = args.dir.clone().unwrap_or_else(|| data_dir.join("chaos"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let duration = Duration::from_secs(args.minutes * 60);
    let shape = Shape { keepers: 2, dispatchers: 2, schedulers: 2 };
    let plan = random_faults(args.seed, duration, shape);
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar.set_message(format!("starting the network in {}", dir.display()));
    let options = NetworkOptions {
        binary: std::env::current_exe().context("finding the triggerx binary")?,
        dir: dir.clone(),
        keepers_in_up: 2,
        external_keepers: shape.keepers,
        dispatchers: shape.dispatchers,
        schedulers: shape.schedulers,
        block_time: 1.0,
        deadline_secs: 10,
    };
    let mut network = Network::start(options).await.context("starting the network")?;
    let workload = Workload {
        interval_jobs: args.interval_jobs,
        interval_secs: 5,
        event_jobs: args.event_jobs,
        poke_every: Duration::from_secs(4),
        condition_jobs: args.condition_jobs,
        price_phase: Duration::from_secs(15),
    };
    let jobs = args.interval_jobs + args.event_jobs + args.condition_jobs;
    // A hidden bar (no terminal) prints nothing: then the lines go to stderr as they are.
    let line_out = |line: String| if bar.is_hidden() { eprintln!("{line}") } else { bar.println(line) };
    line_out(format!("{jobs} jobs, {} faults planned over {} min (seed {})", plan.len(), args.minutes, args.seed));
    let say = |line: &str| {
        line_out(format!("{}  {line}", chrono::Local::now().format("%H:%M:%S")));
        bar.set_message(line.to_string());
    };
    let outcome = run_scenario(&mut network, &workload, &plan, duration, Duration::from_secs(300), &say).await?;
    bar.finish_and_clear();
    let figures = &outcome.figures;
    println!("faults injected: {}", outcome.faults.len());
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for fault in &outcome.faults {
        let kind = fault.split('(').next().unwrap_or(fault).to_string();
        *kinds.entry(kind).or_default() += 1;
    }
    for (kind, count) in kinds {
        println!("  {kind:<16} {count}");
    }
    println!("{figures}");
    for (reason, count) in &figures.failed {
        println!("  failed {count} x {reason}");
    }
    for line in &figures.details {
        println!("  {line}");
    }
    println!("logs in {}", dir.display());
    anyhow::ensure!(figures.holds(), "the invariant does not hold");
    println!("0 lost, 0 doubled, 0 stranded");
    Ok(())
}
