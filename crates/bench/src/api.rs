//! `triggerx bench api`: starts the API on a fresh database and loads it over real HTTP: first job
//! creations (`POST /api/jobs`), then reads (`GET /api/jobs/{id}`), reporting throughput and latency.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use triggerx_api::ApiConfig;
use triggerx_store::Store;
use triggerx_testbed::databases::{fresh_database_url, fresh_postgres_database};

use clap::Args;

/// `triggerx bench api`.
#[derive(Debug, Args)]
pub struct BenchApiArgs {
    /// Database backend to measure.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: BenchBackend,
    /// PostgreSQL server on which a fresh database is created (for --backend postgres).
    #[arg(long, env = "TRIGGERX_TEST_POSTGRES_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_url: String,
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
}

/// Backends `bench api` can measure.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BenchBackend {
    Sqlite,
    Postgres,
}

/// Owner of the benchmark's jobs.
const BENCH_OWNER: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
/// Highest latency the histograms record, in microseconds.
const MAX_LATENCY_MICROS: u64 = 60_000_000;

/// Outcome of one load phase.
struct PhaseResult {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
}

impl PhaseResult {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn quantile_ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: BenchApiArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let url = match args.backend {
        BenchBackend::Sqlite => fresh_database_url(triggerx_store::Backend::Sqlite, dir.path()).await?,
        BenchBackend::Postgres => fresh_postgres_database(&args.postgres_url).await.with_context(|| {
            format!("creating a database on {}", triggerx_core::redact::redact_url(&args.postgres_url))
        })?,
    };
    let store = Store::connect(&url).await.context("opening the benchmark database")?;
    let key = store.create_api_key(None, true, Some(10_000_000)).await?.key;
    let config = ApiConfig::on(SocketAddr::from(([127, 0, 0, 1], 0)));
    let api = triggerx_api::spawn(store.clone(), config).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let base = format!("http://{}", api.address);
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.connections).build()?;
    println!(
        "bench api: backend {:?}, {} connections, {} s per phase, server {base}",
        args.backend, args.connections, args.seconds
    );

    let next_job = Arc::new(AtomicU64::new(1));
    let create = phase("POST /api/jobs", &args, {
        let (client, base, key, next_job) = (client.clone(), base.clone(), key.clone(), next_job.clone());
        move |_worker, _rng| {
            let (client, base, key) = (client.clone(), base.clone(), key.clone());
            let id = next_job.fetch_add(1, Ordering::Relaxed);
            async move {
                let response = client
                    .post(format!("{base}/api/jobs"))
                    .header("x-api-key", key)
                    .header("content-type", "application/json")
                    .body(job_body(id))
                    .send()
                    .await;
                matches!(response, Ok(r) if r.status() == reqwest::StatusCode::OK)
            }
        }
    })
    .await;
    let created = next_job.load(Ordering::Relaxed) - 1;
    store.settle().await.context("settling the database between phases")?;

    let read = phase("GET /api/jobs/{id}", &args, {
        let (client, base, key) = (client.clone(), base.clone(), key.clone());
        move |_worker, rng: &mut u64| {
            let (client, base, key) = (client.clone(), base.clone(), key.clone());
            let id = 1 + next_random(rng) % created.max(1);
            async move {
                let response = client.get(format!("{base}/api/jobs/{id}")).header("x-api-key", key).send().await;
                match response {
                    Ok(r) if r.status() == reqwest::StatusCode::OK => r.bytes().await.is_ok(),
                    _ => false,
                }
            }
        }
    })
    .await;
    api.stop().await?;

    println!();
    println!("| backend | phase | requests | errors | per second | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, r) in [("POST /api/jobs (1 job each)", &create), ("GET /api/jobs/{id}", &read)] {
        println!(
            "| {:?} | {name} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
            args.backend,
            r.requests,
            r.errors,
            r.per_second(),
            r.quantile_ms(0.5),
            r.quantile_ms(0.99),
            r.latency.max() as f64 / 1000.0
        );
    }
    if create.errors > 0 || read.errors > 0 {
        anyhow::bail!("{} requests failed", create.errors + read.errors);
    }
    Ok(())
}

/// Runs `request` from `args.connections` workers for `args.seconds`, timing each call.
async fn phase<F, Fut>(label: &str, args: &BenchApiArgs, request: F) -> PhaseResult
where
    F: Fn(usize, &mut u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let bar = ProgressBar::new(args.seconds);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>20} [{bar:30}] {pos}/{len} s  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..args.connections)
        .map(|worker| {
            let request = request.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let mut histogram = Histogram::<u64>::new_with_bounds(1, MAX_LATENCY_MICROS, 3).ok();
                let (mut ok, mut errors) = (0u64, 0u64);
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (worker as u64 + 1);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let success = request(worker, &mut rng).await;
                    if let Some(h) = histogram.as_mut() {
                        let _ = h.record((t.elapsed().as_micros() as u64).clamp(1, MAX_LATENCY_MICROS));
                    }
                    if success {
                        ok += 1;
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        errors += 1;
                    }
                }
                (ok, errors, histogram)
            })
        })
        .collect();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let elapsed = started.elapsed().as_secs_f64();
        bar.set_position(elapsed as u64);
        bar.set_message(format!("{:.0}/s", done.load(Ordering::Relaxed) as f64 / elapsed.max(0.001)));
    }
    let mut result = PhaseResult {
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        // Bounds 1..60 s with 3 significant digits are valid constants: construction cannot fail.
        latency: Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3).expect("valid histogram bounds"),
    };
    for worker in workers {
        if let Ok((ok, errors, histogram)) = worker.await {
            result.requests += ok;
            result.errors += errors;
            if let Some(h) = histogram {
                let _ = result.latency.add(h);
            }
        }
    }
    result.elapsed = started.elapsed();
    bar.finish_with_message(format!("{:.0}/s", result.per_second()));
    result
}

/// The next number of a xorshift sequence (load generators pick ids and inputs with it).
pub(crate) fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn job_body(id: u64) -> String {
    format!(
        r#"[{{"job_id":"{id}","user_address":"{BENCH_OWNER}","job_title":"bench {id}","task_definition_id":1,"time_frame":86400,"recurring":true,"timezone":"UTC","created_chain_id":"31337","schedule_type":"interval","time_interval":60,"target_chain_id":"31337","target_contract_address":"0x1111111111111111111111111111111111111111","target_function":"increment","abi":"[{{\"type\":\"function\",\"name\":\"increment\",\"inputs\":[{{\"name\":\"by\",\"type\":\"uint256\"}}],\"outputs\":[],\"stateMutability\":\"nonpayable\"}}]","arg_type":1,"arguments":["1"]}}]"#
    )
}
