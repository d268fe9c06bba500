//! `triggerx bench script`: the script sandbox on its own. Cold start (the first run in this process:
//! runtime, harness and script compiled from nothing), warm runs (every run still gets a fresh runtime
//! and context, so nothing leaks between jobs; warm is what a busy keeper pays), scripts/s sustained
//! on every core, and the heap one running script holds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use triggerx_script::{HostAnswer, HostCall, HostRequest, Invocation, Limits, RecordedHost, run};

/// `triggerx bench script`.
#[derive(Debug, Args)]
pub struct BenchScriptArgs {
    /// Warm runs timed one after the other.
    #[arg(long, default_value_t = 2_000)]
    pub runs: u32,
    /// Seconds of the throughput phase.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Threads of the throughput phase (default: the machine's cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// A small, typical job script: one fetch, JSON, arithmetic, storage, an argument list.
const SCRIPT: &str = r#"
async function main(input) {
  const response = await fetch("https://prices.example/eth");
  const price = Number((await response.json()).price);
  const runs = Number(storage.get("runs") || "0") + 1;
  storage.set("runs", String(runs));
  return [Math.round(price * 100).toString(), runs, input.trigger.kind];
}
"#;

fn invocation() -> Invocation {
    Invocation {
        source: SCRIPT.into(),
        input: serde_json::json!({ "trigger": { "kind": "time", "scheduledAt": 1_700_000_000_000i64 } }),
        now_ms: 1_700_000_000_000,
        seed: 1,
        storage: BTreeMap::from([("runs".to_string(), "41".to_string())]),
        secrets: BTreeMap::new(),
    }
}

fn recorded_answers() -> Vec<HostCall> {
    vec![HostCall {
        request: HostRequest::Fetch {
            url: "https://prices.example/eth".into(),
            method: "GET".into(),
            headers: BTreeMap::new(),
            body: None,
        },
        answer: HostAnswer::Fetch { status: 200, body: r#"{"price":"3141.59"}"#.into() },
    }]
}

fn one_run() -> anyhow::Result<(Duration, u64)> {
    let started = Instant::now();
    let host = RecordedHost::new(recorded_answers(), Default::default());
    let done = run(invocation(), Box::new(host), &Limits::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(done.result_json.contains("314159"), "unexpected output {}", done.result_json);
    Ok((started.elapsed(), done.memory_bytes))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Runs the benchmark and prints its table.
pub async fn run_bench(args: BenchScriptArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || measure(args)).await?
}

fn measure(args: BenchScriptArgs) -> anyhow::Result<()> {
    let (cold, memory) = one_run()?;
    let progress = indicatif::ProgressBar::new(u64::from(args.runs));
    let mut warm = Vec::with_capacity(args.runs as usize);
    let mut memories = Vec::with_capacity(args.runs as usize);
    for _ in 0..args.runs {
        let (elapsed, bytes) = one_run()?;
        warm.push(elapsed);
        memories.push(bytes);
        progress.inc(1);
    }
    progress.finish_and_clear();
    warm.sort();
    memories.sort();
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let count = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(args.seconds);
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let count = count.clone();
            std::thread::spawn(move || -> anyhow::Result<()> {
                while Instant::now() < until {
                    one_run()?;
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| anyhow::anyhow!("a worker panicked"))??;
    }
    let per_second = count.load(Ordering::Relaxed) as f64 / args.seconds as f64;
    println!("script sandbox (QuickJS via rquickjs; fresh runtime and context per run; one recorded fetch)");
    println!(
        "  cold start (first run in the process)  {:.2} ms   heap {} KiB",
        cold.as_secs_f64() * 1000.0,
        memory / 1024
    );
    println!(
        "  warm run ({} runs)                   p50 {:.3} ms   p99 {:.3} ms   max {:.3} ms",
        args.runs,
        percentile(&warm, 0.5),
        percentile(&warm, 0.99),
        percentile(&warm, 1.0)
    );
    println!("  throughput ({threads} threads, {} s)          {per_second:.0} scripts/s", args.seconds);
    println!(
        "  heap of one running script            p50 {} KiB   max {} KiB (cap {} MiB)",
        memories[memories.len() / 2] / 1024,
        memories[memories.len() - 1] / 1024,
        Limits::default().memory_bytes / 1024 / 1024
    );
    Ok(())
}
