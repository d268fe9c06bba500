//! `triggerx bench abuse`: the API, the time scheduler and the dispatcher in one process on a fresh
//! SQLite database, under the review's abuse (T8, T9): requests with random keys, random methods and
//! malformed bodies; slow connections that dribble their headers; one owner's jobs at the smallest
//! interval, all firing. Meanwhile a legitimate client reads jobs. Reports server errors, memory growth
//! and the legitimate reads' latency.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::Args;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use triggerx_api::ApiConfig;
use triggerx_dispatcher::{DispatcherConfig, RequestSource};
use triggerx_p2p::{P2pConfig, P2pNode};
use triggerx_scheduler::{AddressPolicy, SchedulerConfig};
use triggerx_store::Store;
use triggerx_testbed::databases::fresh_database_url;

use crate::api::next_random;
use crate::time::resident_mib;

/// `triggerx bench abuse`.
#[derive(Debug, Args)]
pub struct BenchAbuseArgs {
    /// Requests with random keys, methods, paths and bodies.
    #[arg(long, default_value_t = 10_000)]
    pub requests: u64,
    /// Connections that send their headers a byte at a time, reopened when the server cuts them.
    #[arg(long, default_value_t = 500)]
    pub slow_connections: usize,
    /// Jobs of one owner at the smallest interval (1 s), firing throughout.
    #[arg(long, default_value_t = 5_000)]
    pub jobs: u64,
    /// Seconds the abuse lasts.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
}

/// Owner of the abusive jobs.
const OWNER: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
/// Highest latency the histogram records, in microseconds.
const MAX_LATENCY_MICROS: u64 = 60_000_000;

#[derive(Default)]
struct Tally {
    server_errors: AtomicU64,
    client_errors: AtomicU64,
    successes: AtomicU64,
    transport_errors: AtomicU64,
    /// The first few requests without an answer, as the client saw them.
    unanswered: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn count(&self, status: Option<u16>) {
        let counter = match status {
            Some(s) if s >= 500 => &self.server_errors,
            Some(s) if s >= 400 => &self.client_errors,
            Some(_) => &self.successes,
            None => &self.transport_errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn interval_job(id: u64) -> String {
    format!(
        r#"{{"job_id":"{id}","user_address":"{OWNER}","job_title":"abuse {id}","task_definition_id":1,"time_frame":3600,"recurring":true,"timezone":"UTC","created_chain_id":"31337","schedule_type":"interval","time_interval":1,"target_chain_id":"31337","target_contract_address":"0x1111111111111111111111111111111111111111","target_function":"increment","abi":"[{{\"type\":\"function\",\"name\":\"increment\",\"inputs\":[{{\"name\":\"by\",\"type\":\"uint256\"}}],\"outputs\":[],\"stateMutability\":\"nonpayable\"}}]","arg_type":1,"arguments":["1"]}}"#
    )
}

/// One abusive request: a method, a path, a key and a body chosen by `rng`.
fn abusive_request(client: &reqwest::Client, base: &str, rng: &mut u64) -> reqwest::RequestBuilder {
    const METHODS: [&str; 11] =
        ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW", "PROPFIND", "M1234567", "TRACE"];
    let n = next_random(rng);
    let method = METHODS[(n % METHODS.len() as u64) as usize];
    let id = next_random(rng) % 1_000_000;
    let path = match next_random(rng) % 10 {
        0 => "/api/jobs".to_string(),
        1 => format!("/api/jobs/{id}"),
        2 => "/api/jobs/check".to_string(),
        3 => format!("/api/users/0x{id:040x}"),
        4 => "/api/leaderboard/users?limit=500&offset=999999999".to_string(),
        5 => format!("/api/tasks/{id}"),
        6 => "/api/admin/api-keys".to_string(),
        7 => format!("/no/such/route/{id}"),
        8 => "/api/jobs/%ZZ%00".to_string(),
        _ => format!("/api/keepers/{id}"),
    };
    let key = match next_random(rng) % 4 {
        0 => None,
        1 => Some(format!("{:016x}{:016x}", next_random(rng), next_random(rng))),
        2 => Some("k".repeat(8 * 1024)),
        _ => Some(format!("tx_{id}")),
    };
    let body: Vec<u8> = match next_random(rng) % 7 {
        0 => Vec::new(),
        1 => (0..(next_random(rng) % 4096)).map(|_| next_random(rng) as u8).collect(),
        2 => format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        3 => br#"[{"time_interval":1e999999,"job_id":"-1","user_address":"0xZZ"}]"#.to_vec(),
        4 => format!(r#"["{}"]"#, "x".repeat(512 * 1024)).into_bytes(),
        5 => format!("[{}]", interval_job(id)).into_bytes(),
        _ => br#"{"schedule_type":"cron","cron_expression":"* * * * * * * *","event_filter":"((((((((((((((((((((((((((((((((((((a"}"#.to_vec(),
    };
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request =
        client.request(method, format!("{base}{path}")).body(body).header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    request
}

/// Holds a connection open by sending its headers a byte every second, reopening it when cut, until
/// `deadline`; returns how many times the server cut it.
async fn slow_client(address: SocketAddr, deadline: Instant) -> u64 {
    let mut cut = 0;
    while Instant::now() < deadline {
        let Ok(mut stream) = tokio::net::TcpStream::connect(address).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let _ = stream.write_all(b"GET /api/health HTTP/1.1\r\nHost: abuse\r\n").await;
        let mut buffer = [0u8; 256];
        loop {
            if Instant::now() >= deadline {
                return cut;
            }
            tokio::select! {
                _ = stream.read(&mut buffer) => {
                    // The server answered (408, 400) or closed the connection: it cut us off.
                    cut += 1;
                    break;
                }
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    if stream.write_all(b"X").await.is_err() {
                        cut += 1;
                        break;
                    }
                }
            }
        }
    }
    cut
}

/// Runs the abuse and prints its figures; fails when a server error was seen.
pub async fn run(args: BenchAbuseArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let url = fresh_database_url(triggerx_store::Backend::Sqlite, dir.path()).await?;
    let store = Store::connect(&url).await.context("opening the benchmark database")?;
    let admin = store.create_api_key(None, true, Some(10_000_000)).await?.key;
    let api = triggerx_api::spawn(store.clone(), ApiConfig::on(SocketAddr::from(([127, 0, 0, 1], 0))))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let base = format!("http://{}", api.address);
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).timeout(Duration::from_secs(40)).build()?;
    println!(
        "bench abuse: {} abusive requests, {} slow connections, {} jobs at 1 s, {} s; server {base}",
        args.requests, args.slow_connections, args.jobs, args.seconds
    );

    // One owner's jobs at the smallest interval, created through the API (an admin key: no quota, the
    // worst case; owner keys are held to their quotas, see the ownership tests).
    let bar = ProgressBar::new(args.jobs);
    bar.set_style(
        ProgressStyle::with_template("creating jobs [{bar:30}] {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let next_job = Arc::new(AtomicU64::new(1));
    let creators: Vec<_> = (0..16)
        .map(|_| {
            let (client, base, admin, next_job, bar, total) =
                (client.clone(), base.clone(), admin.clone(), next_job.clone(), bar.clone(), args.jobs);
            tokio::spawn(async move {
                loop {
                    let id = next_job.fetch_add(1, Ordering::Relaxed);
                    if id > total {
                        return Ok::<_, anyhow::Error>(());
                    }
                    let response = client
                        .post(format!("{base}/api/jobs"))
                        .header("x-api-key", &admin)
                        .header("content-type", "application/json")
                        .body(format!("[{}]", interval_job(id)))
                        .send()
                        .await?;
                    anyhow::ensure!(response.status().is_success(), "job {id}: {}", response.status());
                    bar.inc(1);
                }
            })
        })
        .collect();
    for creator in creators {
        creator.await??;
    }
    bar.finish();

    // Everything fires: time scheduler -> in-process queue -> dispatcher (no chain is served, so each
    // occurrence becomes a task row that fails with chain_not_served: the store work of every firing).
    let (queue, requests) = triggerx_queue::in_process();
    let dispatcher_key = PrivateKeySigner::random();
    let p2p = P2pConfig::default().accepting_tasks_from(vec![dispatcher_key.address()]);
    let (node, reports) = P2pNode::start(p2p, dispatcher_key.clone()).await?;
    let dispatcher = triggerx_dispatcher::spawn(
        store.clone(),
        dispatcher_key,
        Arc::new(node),
        reports,
        DispatcherConfig::default(),
        Vec::new(),
        RequestSource::InProcess(requests),
    )
    .await?;
    let config =
        SchedulerConfig { chains: Vec::new(), confirmations: 0, lease: None, outbound: AddressPolicy::public_only() };
    let scheduler = triggerx_scheduler::spawn(store.clone(), queue, config);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let baseline = resident_mib().0;
    let tasks_before = store.task_count().await.unwrap_or(0);

    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let abuse = Arc::new(Tally::default());
    let legit = Arc::new(Tally::default());
    let sent = Arc::new(AtomicU64::new(0));
    let abusers: Vec<_> = (0..16u64)
        .map(|worker| {
            let (client, base, abuse, sent, total) =
                (client.clone(), base.clone(), abuse.clone(), sent.clone(), args.requests);
            tokio::spawn(async move {
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (worker + 1);
                while sent.fetch_add(1, Ordering::Relaxed) < total {
                    let response = abusive_request(&client, &base, &mut rng).send().await;
                    if let Err(e) = &response
                        && let Ok(mut seen) = abuse.unanswered.lock()
                        && seen.len() < 3
                    {
                        seen.push(format!("{e:?}"));
                    }
                    abuse.count(response.ok().map(|r| r.status().as_u16()));
                }
            })
        })
        .collect();
    let slow: Vec<_> = (0..args.slow_connections).map(|_| tokio::spawn(slow_client(api.address, deadline))).collect();
    // The legitimate client has connections of its own, and lets an idle one go before the server's
    // 10 s idle timeout would close it under a request.
    let own_client = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(40))
        .build()?;
    let reader = {
        let (client, base, admin, legit, jobs) = (own_client, base.clone(), admin.clone(), legit.clone(), args.jobs);
        tokio::spawn(async move {
            // Bounds 1 us..60 s with 3 significant digits are valid constants.
            let mut latency =
                Histogram::<u64>::new_with_bounds(1, MAX_LATENCY_MICROS, 3).expect("valid histogram bounds");
            let mut rng = 42u64;
            while Instant::now() < deadline {
                let id = 1 + next_random(&mut rng) % jobs.max(1);
                let started = Instant::now();
                let response = client.get(format!("{base}/api/jobs/{id}")).header("x-api-key", &admin).send().await;
                let status = match response {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let _ = r.bytes().await;
                        Some(status)
                    }
                    Err(_) => None,
                };
                let _ = latency.record((started.elapsed().as_micros() as u64).clamp(1, MAX_LATENCY_MICROS));
                legit.count(status);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            latency
        })
    };
    let progress = ProgressBar::new(args.seconds);
    progress.set_style(
        ProgressStyle::with_template("abuse [{bar:30}] {pos}/{len} s  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut peak = baseline;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak = peak.max(resident_mib().0);
        progress.set_position(started.elapsed().as_secs());
        progress.set_message(format!(
            "{} abusive sent, {} server errors, RSS {:.0} MiB",
            sent.load(Ordering::Relaxed).min(args.requests),
            abuse.server_errors.load(Ordering::Relaxed) + legit.server_errors.load(Ordering::Relaxed),
            resident_mib().0
        ));
    }
    progress.finish();
    let latency = reader.await?;
    let mut cut = 0;
    for s in slow {
        cut += s.await.unwrap_or(0);
    }
    let abusive_done = abuse.server_errors.load(Ordering::Relaxed)
        + abuse.client_errors.load(Ordering::Relaxed)
        + abuse.successes.load(Ordering::Relaxed)
        + abuse.transport_errors.load(Ordering::Relaxed);
    for a in abusers {
        a.abort();
    }
    let tasks = store.task_count().await.unwrap_or(0) - tasks_before;
    let stopping = Instant::now();
    scheduler.stop().await;
    dispatcher.stop().await;
    api.stop().await?;
    let stopped_in = stopping.elapsed();

    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| abusive requests answered | {abusive_done} (2xx {}, 4xx {}, 5xx {}, no answer {}) |",
        load(&abuse.successes),
        load(&abuse.client_errors),
        load(&abuse.server_errors),
        load(&abuse.transport_errors)
    );
    println!("| slow connections | {}, cut off {cut} times in {} s |", args.slow_connections, args.seconds);
    println!(
        "| jobs at 1 s | {}, {tasks} task rows written during the run ({:.0}/s) |",
        args.jobs,
        tasks as f64 / args.seconds as f64
    );
    println!(
        "| legitimate GET /api/jobs/{{id}} | {} answered (5xx {}, no answer {}), p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms |",
        load(&legit.successes),
        load(&legit.server_errors),
        load(&legit.transport_errors),
        latency.value_at_quantile(0.5) as f64 / 1000.0,
        latency.value_at_quantile(0.99) as f64 / 1000.0,
        latency.max() as f64 / 1000.0
    );
    println!(
        "| resident memory | {baseline:.0} MiB after setup, peak {peak:.0} MiB during the run (+{:.0} MiB) |",
        peak - baseline
    );
    println!("| stop (scheduler, dispatcher, API) | {:.1} s |", stopped_in.as_secs_f64());
    for why in abuse.unanswered.lock().map(|s| s.clone()).unwrap_or_default() {
        println!("no answer, e.g.: {why}");
    }
    let server_errors = load(&abuse.server_errors) + load(&legit.server_errors);
    anyhow::ensure!(server_errors == 0, "{server_errors} server errors");
    anyhow::ensure!(load(&legit.transport_errors) == 0, "legitimate requests went unanswered");
    Ok(())
}
