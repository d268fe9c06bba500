//! `triggerx bench time`: the time scheduler with N active interval jobs (default 100,000, intervals
//! spread over 10..=60 s) on a fresh SQLite store: after start-up and a warm-up, the lateness from each
//! occurrence's scheduled instant to its task request, p50/p99/max, and the process's resident memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use triggerx_api::wire::CreateJobData;
use triggerx_scheduler::{TimeTriggerConfig, TimeTriggers};
use triggerx_testbed::fixtures::time_job_input;

use crate::jobs::{OWNER, loaded_and_warm, measuring_window, store_with_jobs};

use clap::Args;

/// `triggerx bench time`.
#[derive(Debug, Args)]
pub struct BenchTimeArgs {
    /// Active interval jobs (intervals 10..=60 s).
    #[arg(long, default_value_t = 100_000)]
    pub jobs: usize,
    /// Seconds after loading before measuring.
    #[arg(long, default_value_t = 5)]
    pub warmup: u64,
    /// Seconds measured.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
}

/// Resident memory now and at its peak, from /proc (MiB; zero where unavailable).
pub(crate) fn resident_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Runs the measurement and prints its figures.
pub async fn run(args: BenchTimeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.jobs > 0 && args.seconds > 0, "--jobs and --seconds must be positive");
    let dir = tempfile::tempdir()?;
    let store = store_with_jobs(dir.path(), args.jobs, |i| CreateJobData {
        time_interval: Some(10 + (i % 51) as i64),
        time_frame: Some(86_400),
        ..time_job_input(&(i + 1).to_string(), OWNER)
    })
    .await?;
    println!("bench time: {} interval jobs (10..=60 s) created on SQLite", args.jobs);

    let (queue, mut requests) = triggerx_queue::in_process();
    let received = Arc::new(AtomicU64::new(0));
    let drain = {
        let received = received.clone();
        tokio::spawn(async move {
            while requests.recv().await.is_some() {
                received.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let scheduler = TimeTriggers::new(store.clone(), queue, TimeTriggerConfig::default());
    let stats = scheduler.stats();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(scheduler.run(stopped));
    loaded_and_warm(&stats.jobs, args.jobs, Duration::from_secs(300), args.warmup).await?;
    if let Ok(mut histogram) = stats.lateness_micros.lock() {
        histogram.reset();
    }
    let fired_before = stats.fired.load(Ordering::Relaxed);
    let elapsed = measuring_window(args.seconds).await.as_secs_f64();
    let fired = stats.fired.load(Ordering::Relaxed) - fired_before;
    let (rss, peak) = resident_mib();
    let (p50, p99, p999, max, count) = {
        let histogram = stats.lateness_micros.lock().map_err(|_| anyhow::anyhow!("lateness histogram poisoned"))?;
        (
            histogram.value_at_quantile(0.5),
            histogram.value_at_quantile(0.99),
            histogram.value_at_quantile(0.999),
            histogram.max(),
            histogram.len(),
        )
    };
    stop.send(true).ok();
    running.await??;
    drain.abort();
    println!(
        "occurrences: {fired} in {elapsed:.1} s ({:.0}/s), {count} measured, all requested: {}",
        fired as f64 / elapsed,
        received.load(Ordering::Relaxed) >= stats.fired.load(Ordering::Relaxed).saturating_sub(1)
    );
    println!(
        "lateness (scheduled instant -> task request): p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        p50 as f64 / 1000.0,
        p99 as f64 / 1000.0,
        p999 as f64 / 1000.0,
        max as f64 / 1000.0
    );
    println!("resident memory: {rss:.0} MiB now, {peak:.0} MiB peak (whole process, store included)");
    Ok(())
}
