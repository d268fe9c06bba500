//! What the scheduler benchmarks share: many jobs created concurrently on a fresh SQLite store behind
//! a progress bar, and a measuring window counted down second by second.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use triggerx_api::wire::{CreateJobData, validate_job_chain};
use triggerx_store::{Backend, Store};
use triggerx_testbed::databases::fresh_database_url;

/// Owner of the benchmarks' jobs.
pub const OWNER: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
/// Jobs created concurrently.
const CREATE_CONCURRENCY: usize = 16;

/// A fresh SQLite store in `dir` holding `count` jobs; job i (0-based) is `make(i)`.
pub async fn store_with_jobs(
    dir: &std::path::Path,
    count: usize,
    make: impl Fn(u64) -> CreateJobData + Send + Sync + 'static,
) -> anyhow::Result<Store> {
    let url = fresh_database_url(Backend::Sqlite, dir).await?;
    let store = Store::connect(&url).await.context("opening the benchmark database")?;
    let bar = ProgressBar::new(count as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix("jobs");
    let next = Arc::new(AtomicU64::new(0));
    let make = Arc::new(make);
    let mut creators = Vec::new();
    for _ in 0..CREATE_CONCURRENCY {
        let (store, next, bar, make, total) = (store.clone(), next.clone(), bar.clone(), make.clone(), count as u64);
        creators.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<(), anyhow::Error>(());
                }
                let valid = validate_job_chain(&[make(i)], Utc::now()).map_err(|e| anyhow::anyhow!("{e}"))?;
                store.create_jobs(&valid).await?;
                bar.inc(1);
            }
        }));
    }
    for creator in creators {
        creator.await??;
    }
    bar.finish_and_clear();
    Ok(store)
}

/// Waits until a scheduler's job count reaches `expected` (at most `patience`), says how long loading
/// took, then waits out the warm-up of `warmup` seconds.
pub async fn loaded_and_warm(jobs: &AtomicU64, expected: usize, patience: Duration, warmup: u64) -> anyhow::Result<()> {
    let loading = Instant::now();
    while jobs.load(Ordering::Relaxed) < expected as u64 {
        anyhow::ensure!(loading.elapsed() < patience, "the scheduler did not load its jobs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("loaded {expected} jobs in {:.2} s; warming up {warmup} s", loading.elapsed().as_secs_f64());
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    Ok(())
}

/// Waits `seconds` behind a countdown bar; returns the wall time that passed.
pub async fn measuring_window(seconds: u64) -> Duration {
    let started = Instant::now();
    let progress = ProgressBar::new(seconds);
    progress.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} s")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    progress.set_prefix("measuring");
    for _ in 0..seconds {
        tokio::time::sleep(Duration::from_secs(1)).await;
        progress.inc(1);
    }
    progress.finish_and_clear();
    started.elapsed()
}
