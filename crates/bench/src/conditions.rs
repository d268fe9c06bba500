//! `triggerx bench conditions`: the condition scheduler with N jobs (default 10,000) over S HTTP
//! sources (default 100) at a 1 s cadence on a fresh SQLite store. The sources are served by a child
//! process (`bench price-server`) whose prices move, so jobs keep crossing their limits; the figure is
//! the CPU this process (scheduler, store, HTTP client) spends per second of wall time.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::Path;
use tokio::io::AsyncBufReadExt;
use triggerx_api::wire::CreateJobData;
use triggerx_core::numbers::Decimal;
use triggerx_scheduler::{AddressPolicy, ConditionTriggerConfig, ConditionTriggers, FetchLimits};
use triggerx_testbed::fixtures::condition_job_input;

use crate::jobs::{OWNER, loaded_and_warm, measuring_window, store_with_jobs};

use clap::Args;

/// `triggerx bench conditions`.
#[derive(Debug, Args)]
pub struct BenchConditionsArgs {
    /// Condition jobs (spread evenly over the sources, limits spread around the moving prices).
    #[arg(long, default_value_t = 10_000)]
    pub jobs: usize,
    /// Distinct HTTP sources (served by a child process, so its CPU is not counted).
    #[arg(long, default_value_t = 100)]
    pub sources: usize,
    /// Seconds after loading before measuring.
    #[arg(long, default_value_t = 5)]
    pub warmup: u64,
    /// Seconds measured.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
}

/// `triggerx bench price-server`.
#[derive(Debug, Args)]
pub struct PriceServerArgs {
    /// Sources served as /price/0 .. /price/N-1.
    #[arg(long, default_value_t = 100)]
    pub sources: usize,
}

/// Operators the jobs cycle through, with the limits each reads (prices move within 90..110).
const CONDITIONS: [(&str, Option<&str>, Option<&str>); 7] = [
    ("greater_than", Some("104.5"), None),
    ("greater_equal", Some("98"), None),
    ("less_than", None, Some("95.25")),
    ("less_equal", None, Some("101")),
    ("between", Some("97"), Some("103")),
    ("equals", Some("100"), None),
    ("not_equals", Some("100"), None),
];

/// CPU seconds (user + system) this process has used, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name; 100 ticks/s.
    (ticks(11) + ticks(12)) / 100.0
}

/// Serves /price/{i}: `{"data":[{"price":"<p>"}]}` with p moving between 90 and 110 (period 20 s, a
/// different phase per source). Prints the address on the first line of stdout.
pub async fn serve_prices(args: PriceServerArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let sources = args.sources.max(1);
    let app = axum::Router::new().route(
        "/price/{index}",
        axum::routing::get(move |Path(index): Path<usize>| async move {
            let phase = index as f64 / sources as f64 * std::f64::consts::TAU;
            let t = started.elapsed().as_secs_f64() / 20.0 * std::f64::consts::TAU;
            format!(r#"{{"data":[{{"price":"{:.4}"}}]}}"#, 100.0 + 10.0 * (t + phase).sin())
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Runs the measurement and prints its figures.
pub async fn run(args: BenchConditionsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.jobs > 0 && args.sources > 0 && args.seconds > 0,
        "--jobs, --sources and --seconds must be positive"
    );
    let mut server = tokio::process::Command::new(std::env::current_exe()?)
        .args(["bench", "price-server", "--sources", &args.sources.to_string()])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the price server")?;
    let stdout = server.stdout.take().context("price server without stdout")?;
    let address =
        tokio::io::BufReader::new(stdout).lines().next_line().await?.context("the price server did not start")?;

    let dir = tempfile::tempdir()?;
    let sources = args.sources as u64;
    let store = store_with_jobs(dir.path(), args.jobs, move |i| {
        let (condition, lower, upper) = CONDITIONS[(i / sources) as usize % CONDITIONS.len()];
        let decimal = |d: Option<&str>| d.and_then(|d| Decimal::parse(d, "limit").ok());
        CreateJobData {
            condition_type: Some(condition.into()),
            lower_limit: decimal(lower),
            upper_limit: decimal(upper),
            time_frame: Some(86_400),
            ..condition_job_input(
                &(i + 1).to_string(),
                OWNER,
                &format!("http://{address}/price/{}", i % sources),
                "data.0.price",
            )
        }
    })
    .await?;
    println!("bench conditions: {} jobs over {} HTTP sources, 1 s poll interval, SQLite", args.jobs, args.sources);

    let (queue, mut requests) = triggerx_queue::in_process();
    let drain = tokio::spawn(async move { while requests.recv().await.is_some() {} });
    // The price server runs on loopback.
    let limits = FetchLimits { policy: AddressPolicy::with_loopback(), ..Default::default() };
    let config = ConditionTriggerConfig { limits, ..Default::default() };
    let scheduler = ConditionTriggers::new(store.clone(), queue, config);
    let stats = scheduler.stats();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(scheduler.run(stopped));
    loaded_and_warm(&stats.jobs, args.jobs, Duration::from_secs(120), args.warmup).await?;

    let counters = |s: &triggerx_scheduler::ConditionTriggerStats| {
        [&s.reads, &s.failed_reads, &s.evaluations, &s.fired].map(|c| c.load(Ordering::Relaxed))
    };
    let before = counters(&stats);
    let cpu_before = cpu_seconds();
    let elapsed = measuring_window(args.seconds).await.as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let after = counters(&stats);
    let [reads, failed, evaluations, fired] = [0, 1, 2, 3].map(|i| after[i] - before[i]);
    stop.send(true).ok();
    running.await??;
    drain.abort();
    let _ = server.kill().await;
    println!(
        "reads: {reads} in {elapsed:.1} s ({:.0}/s, {failed} failed); evaluations: {:.0}/s; firings (transitions into true): {fired}",
        reads as f64 / elapsed,
        evaluations as f64 / elapsed
    );
    println!(
        "CPU: {cpu:.2} s in {elapsed:.1} s = {:.3} cores busy (this process: scheduler, HTTP client, store; the price server excluded)",
        cpu / elapsed
    );
    Ok(())
}
