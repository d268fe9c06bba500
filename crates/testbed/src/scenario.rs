//! A workload and a plan of faults run against a [`Network`]: time, event and condition jobs; an
//! emitter poked on a tick (each log an expected occurrence of every event job) and a price that
//! rises above the condition jobs' limit and falls back on a fixed rhythm (each rise an expected
//! firing); faults applied at their moments and undone after their duration. At the end everything
//! is restarted, the tasks settle, and the invariant is read.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use tokio::sync::Mutex;
use triggerx_chain::bindings::EventEmitter;
use triggerx_chain::deploy::{ChainRole, wallet_provider};
use triggerx_chain::jobs::JobRegistration;
use triggerx_core::ids::JobId;

use crate::TestbedError;
use crate::invariant::{Expected, Figures, check};
use crate::network::{Network, condition_job, event_job, interval_job};
use crate::rpc_proxy::Fault;

/// Account that pokes the emitter.
const POKER: usize = 9;
/// Owner accounts the jobs are spread over.
const OWNERS: [usize; 4] = [5, 6, 7, 8];
/// Price below and above the condition jobs' limit of 100.
const LOW: &str = "90";
const HIGH: &str = "150";

/// The jobs and the rhythm of their triggers.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Interval jobs.
    pub interval_jobs: usize,
    /// Seconds between their occurrences.
    pub interval_secs: u64,
    /// Event jobs.
    pub event_jobs: usize,
    /// Seconds between emitter pokes.
    pub poke_every: Duration,
    /// Condition jobs.
    pub condition_jobs: usize,
    /// How long the price stays low, then high.
    pub price_phase: Duration,
}

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// SIGKILL an external keeper; started again after the fault's duration.
    KillKeeper(usize),
    /// SIGKILL an external dispatcher; started again after the duration.
    KillDispatcher(usize),
    /// SIGKILL an external scheduler; started again after the duration.
    KillScheduler(usize),
    /// Kill Redis (its data goes with it); started again, empty, after the duration.
    RedisDown,
    /// Crash PostgreSQL; started again after the duration.
    PostgresDown,
    /// An external keeper's node answers `eth_sendRawTransaction` 35 s late (it acts at once).
    LateAnswer(usize),
    /// An external keeper's node takes `eth_sendRawTransaction` 35 s late (the keeper broadcasts late).
    LateBroadcast(usize),
}

/// A fault at a moment of the run, lasting a while.
#[derive(Debug, Clone, Copy)]
pub struct PlannedFault {
    /// When, from the start of the run.
    pub at: Duration,
    /// What.
    pub kind: FaultKind,
    /// How long before it is undone.
    pub lasting: Duration,
}

/// How long a node's answer or a broadcast is held back.
pub const RPC_DELAY: Duration = Duration::from_secs(35);

/// What a run did, with the invariant's figures.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Faults applied, by kind and count, one line each.
    pub faults: Vec<String>,
    /// The invariant.
    pub figures: Figures,
    /// Tasks still open when the settling time ran out (also counted as stranded).
    pub open_at_end: i64,
    /// What the invariant was checked against (to check it again later).
    pub expected: Vec<Expected>,
}

struct PriceSource {
    high: AtomicBool,
}

async fn serve_price(source: Arc<PriceSource>) -> Result<String, TestbedError> {
    let app = axum::Router::new().route(
        "/price",
        axum::routing::get(move || {
            let source = source.clone();
            async move {
                let price = if source.high.load(Ordering::SeqCst) { HIGH } else { LOW };
                format!(r#"{{"price":"{price}"}}"#)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(TestbedError::io("price server"))?;
    let address = listener.local_addr().map_err(TestbedError::io("price server"))?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{address}/price"))
}

struct Jobs {
    interval: Vec<JobId>,
    event: Vec<JobId>,
    condition: Vec<JobId>,
}

#[derive(Clone, Copy)]
enum Kind {
    Interval,
    Event,
    Condition,
}

/// Registers every job on-chain (owners in parallel), then posts them all with a time frame that ends
/// `run_for` after the last post (so they end with the run and nothing new starts while it settles).
async fn create_jobs(
    network: &Network,
    workload: &Workload,
    price_url: &str,
    run_for: Duration,
) -> Result<Jobs, TestbedError> {
    let l2 = network.chain(ChainRole::L2)?.clone();
    let (counter, emitter) = (l2.address("Counter")?, l2.address("EventEmitter")?);
    let kinds: Vec<Kind> = std::iter::repeat_n(Kind::Interval, workload.interval_jobs)
        .chain(std::iter::repeat_n(Kind::Event, workload.event_jobs))
        .chain(std::iter::repeat_n(Kind::Condition, workload.condition_jobs))
        .collect();
    let registration = |kind: Kind| match kind {
        Kind::Interval => JobRegistration::interval("interval", counter, workload.interval_secs, 86_400),
        Kind::Event => JobRegistration::event("event", counter, true, 86_400),
        Kind::Condition => JobRegistration::condition("condition", counter, true, 86_400),
    };
    let per_owner = OWNERS.iter().enumerate().map(|(slot, owner)| {
        let mine: Vec<(usize, Kind)> =
            kinds.iter().copied().enumerate().filter(|(i, _)| i % OWNERS.len() == slot).collect();
        let registration = &registration;
        async move {
            network.deposit(*owner, U256::from(10u128.pow(18))).await?;
            let mut ids = Vec::new();
            for (i, kind) in mine {
                ids.push((i, kind, *owner, network.register(*owner, &registration(kind)).await?));
            }
            Ok::<_, TestbedError>(ids)
        }
    });
    let mut registered = Vec::new();
    for owner in futures::future::join_all(per_owner).await {
        registered.extend(owner?);
    }
    registered.sort_by_key(|(i, ..)| *i);
    let frame = run_for.as_secs().max(1);
    let mut jobs = Jobs { interval: Vec::new(), event: Vec::new(), condition: Vec::new() };
    for (_, kind, owner, job_id) in registered {
        let body = match kind {
            Kind::Interval => interval_job(counter, l2.chain_id, workload.interval_secs, frame),
            Kind::Event => event_job(counter, emitter, l2.chain_id, frame),
            Kind::Condition => condition_job(counter, price_url, l2.chain_id, frame),
        };
        network.post_job(job_id, owner, body).await?;
        match kind {
            Kind::Interval => jobs.interval.push(job_id),
            Kind::Event => jobs.event.push(job_id),
            Kind::Condition => jobs.condition.push(job_id),
        }
    }
    Ok(jobs)
}

/// Pokes the emitter every `every` until `until`; returns the occurrence keys of the logs it made.
async fn poke(rpc_url: String, emitter: Address, key: String, every: Duration, until: Instant) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut next = Instant::now() + every;
    loop {
        if next >= until {
            tokio::time::sleep(until.saturating_duration_since(Instant::now())).await;
            return keys;
        }
        tokio::time::sleep(next.saturating_duration_since(Instant::now())).await;
        next += every;
        let Ok(provider) = wallet_provider(&rpc_url, &key) else { return keys };
        let contract = EventEmitter::new(emitter, provider);
        let sent = contract.emitTransfer(Address::ZERO, Address::with_last_byte(7), U256::from(5000)).send().await;
        let receipt = match sent {
            Ok(pending) => pending.get_receipt().await,
            Err(e) => {
                tracing::warn!(error = %e, "poking the emitter failed");
                continue;
            }
        };
        if let Ok(receipt) = receipt {
            for log in receipt.inner.logs() {
                if let (Some(hash), Some(index)) = (log.block_hash, log.log_index) {
                    keys.insert(format!("event:{hash:#x}:{index}"));
                }
            }
        }
    }
}

/// Moves the price: low for a phase, then high for a phase, again and again while both fit before
/// `until`; it always ends low, and every rise it counts had its whole high phase. Returns the rises.
async fn move_price(source: Arc<PriceSource>, phase: Duration, until: Instant) -> usize {
    let mut rises = 0;
    while Instant::now() + phase * 2 <= until {
        tokio::time::sleep(phase).await;
        source.high.store(true, Ordering::SeqCst);
        rises += 1;
        tokio::time::sleep(phase).await;
        source.high.store(false, Ordering::SeqCst);
    }
    rises
}

async fn apply(network: &Arc<Mutex<&mut Network>>, kind: FaultKind, on: bool) -> Result<(), TestbedError> {
    let mut network = network.lock().await;
    match (kind, on) {
        (FaultKind::KillKeeper(i), true) => network.keepers[i].0.kill(),
        (FaultKind::KillKeeper(i), false) => network.keepers[i].0.start()?,
        (FaultKind::KillDispatcher(i), true) => network.dispatchers[i].kill(),
        (FaultKind::KillDispatcher(i), false) => network.dispatchers[i].start()?,
        (FaultKind::KillScheduler(i), true) => network.schedulers[i].kill(),
        (FaultKind::KillScheduler(i), false) => network.schedulers[i].start()?,
        (FaultKind::RedisDown, true) => network.redis.stop(),
        (FaultKind::RedisDown, false) => network.redis.resume().await?,
        (FaultKind::PostgresDown, true) => network.postgres.stop().await,
        (FaultKind::PostgresDown, false) => network.postgres.resume().await?,
        (FaultKind::LateAnswer(i), on) => {
            network.keepers[i].1.set("eth_sendRawTransaction", on.then_some(Fault::DelayAnswer(RPC_DELAY)))
        }
        (FaultKind::LateBroadcast(i), on) => {
            network.keepers[i].1.set("eth_sendRawTransaction", on.then_some(Fault::DelayRequest(RPC_DELAY)))
        }
    }
    Ok(())
}

/// Runs `workload` for `duration` with `faults`, then settles for at most `settle` and checks.
pub async fn run(
    network: &mut Network,
    workload: &Workload,
    faults: &[PlannedFault],
    duration: Duration,
    settle: Duration,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Outcome, TestbedError> {
    let price = Arc::new(PriceSource { high: AtomicBool::new(false) });
    let price_url = serve_price(price.clone()).await?;
    progress("creating the jobs");
    // The jobs' time frame ends with the run: nothing new fires while it settles.
    let jobs = create_jobs(network, workload, &price_url, duration + JOBS_PICKED_UP).await?;
    tokio::time::sleep(JOBS_PICKED_UP).await;
    let l2 = network.chain(ChainRole::L2)?.clone();
    let started = Instant::now();
    let end = started + duration;
    let pokes = tokio::spawn(poke(
        l2.rpc_url.clone(),
        l2.address("EventEmitter")?,
        network.accounts[POKER].private_key.clone(),
        workload.poke_every,
        end - QUIET_END,
    ));
    let prices = tokio::spawn(move_price(price.clone(), workload.price_phase, end - QUIET_END));
    let mut log = Vec::new();
    {
        let shared = Arc::new(Mutex::new(&mut *network));
        let mut pending: Vec<(Duration, FaultKind, bool)> =
            faults.iter().flat_map(|f| [(f.at, f.kind, true), (f.at + f.lasting, f.kind, false)]).collect();
        pending.sort_by_key(|(at, _, _)| *at);
        for (at, kind, on) in pending {
            if at >= duration {
                continue;
            }
            tokio::time::sleep(at.saturating_sub(started.elapsed())).await;
            progress(&format!("{:>4}s  {} {kind:?}", started.elapsed().as_secs(), if on { "fault" } else { "undo " }));
            apply(&shared, kind, on).await?;
            if on {
                log.push(format!("{kind:?}"));
            }
        }
        tokio::time::sleep(duration.saturating_sub(started.elapsed())).await;
        // Undo whatever is still on (a fault planned to last past the end).
        for fault in faults {
            apply(&shared, fault.kind, false).await?;
        }
    }
    let ended_ms = triggerx_core::time::now_millis();
    let keys = pokes.await.unwrap_or_default();
    let rises = prices.await.unwrap_or(0);
    network.restart_all()?;
    progress("faults over; waiting for every task to be final");
    let all_jobs: Vec<JobId> = jobs.interval.iter().chain(&jobs.event).chain(&jobs.condition).copied().collect();
    let open_at_end = network.settle(&all_jobs, settle).await?;
    let mut expected = Vec::new();
    let interval_ms = workload.interval_secs as i64 * 1000;
    for job_id in &jobs.interval {
        expected.push(Expected::Interval { job_id: *job_id, interval_ms, until_ms: ended_ms - 2 * interval_ms });
    }
    for job_id in &jobs.event {
        expected.push(Expected::Keys { job_id: *job_id, keys: keys.clone() });
    }
    let firings: BTreeSet<String> = (1..=rises).map(|n| format!("condition:{n}")).collect();
    for job_id in &jobs.condition {
        expected.push(Expected::Keys { job_id: *job_id, keys: firings.clone() });
    }
    let figures = check(&network.store, &network.hubs()?, &expected).await?;
    Ok(Outcome { faults: log, figures, open_at_end, expected })
}

/// Time the schedulers get to pick new jobs up before the triggers start.
const JOBS_PICKED_UP: Duration = Duration::from_secs(3);
/// No poke and no price move this close to the end (their occurrences must not race the jobs' end).
const QUIET_END: Duration = Duration::from_secs(6);

/// The parts of a network faults can hit.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// External keepers.
    pub keepers: usize,
    /// External dispatchers.
    pub dispatchers: usize,
    /// External schedulers.
    pub schedulers: usize,
}

/// A random plan of one fault at a time over `duration`: a pause of 20 to 60 s, then a fault of a
/// kind the network has, lasting 5 to 15 s (Redis and PostgreSQL: 10 s); the same seed gives the
/// same plan.
pub fn random_faults(seed: u64, duration: Duration, shape: Shape) -> Vec<PlannedFault> {
    let mut state = seed.max(1);
    // xorshift64*: small, deterministic, good enough to pick faults.
    let mut next = |below: u64| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % below.max(1)
    };
    let mut kinds = Vec::new();
    for i in 0..shape.keepers {
        kinds.extend([FaultKind::KillKeeper(i), FaultKind::LateAnswer(i), FaultKind::LateBroadcast(i)]);
    }
    kinds.extend((0..shape.dispatchers).map(FaultKind::KillDispatcher));
    kinds.extend((0..shape.schedulers).map(FaultKind::KillScheduler));
    kinds.extend([FaultKind::RedisDown, FaultKind::PostgresDown]);
    let mut plan = Vec::new();
    let mut at = Duration::from_secs(20 + next(41));
    while at + Duration::from_secs(20) < duration {
        let kind = kinds[next(kinds.len() as u64) as usize];
        let lasting = match kind {
            FaultKind::RedisDown | FaultKind::PostgresDown => Duration::from_secs(10),
            _ => Duration::from_secs(5 + next(11)),
        };
        plan.push(PlannedFault { at, kind, lasting });
        at += lasting + Duration::from_secs(20 + next(41));
    }
    plan
}
