//! The condition scheduler on a real store against sources served by the test: a local HTTP server
//! whose price the test moves, a local WebSocket stream, and a view call on anvil. Jobs fire once per
//! transition into true (not on every tick), jobs on one source share each read, a cool-down defers a
//! firing, a restart repeats nothing, and failing sources (HTTP 500, too large, too slow) are reported
//! on the job.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::U256;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use triggerx_api::wire::CreateJobData;
use triggerx_chain::bindings::Counter;
use triggerx_chain::deploy::{ChainRole, deploy_chain, wallet_provider};
use triggerx_core::ids::JobId;
use triggerx_core::job::{ConditionState, JobStatus};
use triggerx_core::numbers::Decimal;
use triggerx_devnet::anvil::{AnvilOptions, spawn_anvil};
use triggerx_queue::{TaskQueueReceiver, in_process};
use triggerx_scheduler::{ConditionTriggerConfig, ConditionTriggers, FetchLimits};
use triggerx_store::Store;
use triggerx_testbed::databases::fresh_store;
use triggerx_testbed::fixtures::condition_job_input;
use triggerx_testbed::fixtures::create_job;

mod common;
use common::{Running, collect, collect_into};

const OWNER: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";

#[derive(Clone, Default)]
struct Source {
    price: Arc<Mutex<String>>,
    hits: Arc<AtomicU64>,
}

impl Source {
    fn set(&self, price: &str) {
        *self.price.lock().unwrap() = price.to_string();
    }
}

async fn price(State(source): State<Source>) -> impl IntoResponse {
    source.hits.fetch_add(1, Ordering::SeqCst);
    let price = source.price.lock().unwrap().clone();
    format!(r#"{{"data":[{{"symbol":"ETH","price":"{price}"}}]}}"#)
}

async fn stream(State(source): State<Source>, upgrade: WebSocketUpgrade) -> impl IntoResponse {
    upgrade.on_upgrade(move |mut socket| async move {
        loop {
            let price = source.price.lock().unwrap().clone();
            if socket.send(Message::Text(format!(r#"{{"price": {price}}}"#).into())).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// Serves `/price`, `/stream` (WebSocket), `/broken` (500), `/big` (2 MiB) and `/slow` (2 s).
async fn serve(source: Source) -> String {
    let app = axum::Router::new()
        .route("/price", get(price))
        .route("/stream", get(stream))
        .route("/broken", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "down") }))
        .route("/big", get(|| async { format!(r#"{{"value": 1, "pad": "{}"}}"#, "x".repeat(2 << 20)) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                "1"
            }),
        )
        .with_state(source);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("127.0.0.1:{}", address.port())
}

async fn create(store: &Store, job: CreateJobData) -> JobId {
    create_job(store, job).await.unwrap()
}

fn start(store: &Store, chains: Vec<(u64, String)>) -> (Running, TaskQueueReceiver) {
    let (queue, requests) = in_process();
    let config = ConditionTriggerConfig {
        follow_every: Duration::from_millis(100),
        limits: FetchLimits {
            timeout: Duration::from_millis(400),
            max_bytes: 64 * 1024,
            policy: triggerx_scheduler::AddressPolicy::with_loopback(),
        },
        chains,
        ..Default::default()
    };
    let scheduler = ConditionTriggers::new(store.clone(), queue, config);
    (Running::spawn(|stop| scheduler.run(stop)), requests)
}

fn keys(got: &[(JobId, String)], job: JobId) -> Vec<String> {
    got.iter().filter(|(j, _)| *j == job).map(|(_, k)| k.clone()).collect()
}

async fn state(store: &Store, job: JobId) -> ConditionState {
    store.require_job(job).await.unwrap().condition_state.unwrap()
}

fn with_limits(job: CreateJobData, condition: &str, lower: Option<&str>, upper: Option<&str>) -> CreateJobData {
    CreateJobData {
        condition_type: Some(condition.into()),
        lower_limit: lower.map(|l| Decimal::parse(l, "l").unwrap()),
        upper_limit: upper.map(|u| Decimal::parse(u, "u").unwrap()),
        ..job
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_conditions_fire_once_per_transition_share_reads_and_survive_a_restart() {
    let source = Source::default();
    source.set("90");
    let host = serve(source.clone()).await;
    let url = |path: &str| format!("http://{host}{path}");
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let above = create(&store, condition_job_input("1", OWNER, &url("/price"), "data.0.price")).await;
    let below = create(
        &store,
        with_limits(condition_job_input("2", OWNER, &url("/price"), "data.0.price"), "less_than", None, Some("100")),
    )
    .await;
    let broken = create(&store, condition_job_input("3", OWNER, &url("/broken"), "")).await;
    let big = create(&store, condition_job_input("4", OWNER, &url("/big"), "")).await;
    let slow = create(&store, condition_job_input("5", OWNER, &url("/slow"), "")).await;
    let cooled = create(
        &store,
        CreateJobData { cooldown: Some(6), ..condition_job_input("6", OWNER, &url("/price"), "data.0.price") },
    )
    .await;
    let once = create(
        &store,
        CreateJobData { recurring: false, ..condition_job_input("7", OWNER, &url("/price"), "data.0.price") },
    )
    .await;

    let (running, mut requests) = start(&store, Vec::new());
    // 90: only "below 100" holds; a job whose condition already holds at start fires once.
    let got = collect_into(&store, &mut requests, Duration::from_millis(2_500)).await;
    assert_eq!(got, vec![(below, "condition:1".to_string())], "{got:?}");
    // Jobs on one source and interval share each read: one request per tick, not one per job.
    let hits = source.hits.load(Ordering::SeqCst);
    assert!((2..=4).contains(&hits), "4 jobs read /price over ~2.5 s with {hits} requests");

    // 150 (as exact text, 150.000000000000000001 > 100): the three "above" jobs fire once each over
    // several ticks.
    source.set("150.000000000000000001");
    let got = collect_into(&store, &mut requests, Duration::from_millis(2_500)).await;
    assert_eq!(keys(&got, above), ["condition:1"], "{got:?}");
    assert_eq!(keys(&got, cooled), ["condition:1"], "{got:?}");
    assert_eq!(keys(&got, once), ["condition:1"], "{got:?}");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(store.require_job(once).await.unwrap().status, JobStatus::Completed);

    // Back to 90 and up again: each transition fires once more; the cool-down (6 s) defers the
    // cooled job's second firing until it has passed.
    source.set("90");
    let got = collect_into(&store, &mut requests, Duration::from_millis(1_500)).await;
    assert_eq!(got, vec![(below, "condition:2".to_string())], "{got:?}");
    source.set("150");
    let got = collect_into(&store, &mut requests, Duration::from_millis(1_500)).await;
    assert_eq!(got, vec![(above, "condition:2".to_string())], "the cooled job waits: {got:?}");
    let got = collect_into(&store, &mut requests, Duration::from_millis(3_500)).await;
    assert_eq!(got, vec![(cooled, "condition:2".to_string())], "fires when the cool-down ends: {got:?}");

    // Failing sources are on the job: HTTP status, size limit, timeout.
    let broken_state = state(&store, broken).await;
    assert!(broken_state.source_failures >= 3, "{broken_state:?}");
    assert_eq!(broken_state.source_error.as_deref(), Some("HTTP 500 Internal Server Error"));
    let big_error = state(&store, big).await.source_error.unwrap();
    assert!(big_error.contains("larger than 65536 bytes"), "{big_error}");
    let slow_error = state(&store, slow).await.source_error.unwrap();
    assert!(slow_error.contains("timed out"), "{slow_error}");

    // A restart while the value stays above the limit repeats nothing; the next transition continues
    // the count.
    running.stop().await;
    let (running, mut requests) = start(&store, Vec::new());
    let got = collect_into(&store, &mut requests, Duration::from_millis(2_200)).await;
    assert!(got.is_empty(), "nothing repeats after the restart: {got:?}");
    source.set("90");
    let got = collect_into(&store, &mut requests, Duration::from_millis(1_500)).await;
    assert_eq!(got, vec![(below, "condition:3".to_string())], "{got:?}");
    source.set("101");
    let got = collect_into(&store, &mut requests, Duration::from_millis(1_500)).await;
    assert_eq!(keys(&got, above), ["condition:3"], "{got:?}");
    running.stop().await;
    let above_state = state(&store, above).await;
    assert_eq!((above_state.transitions, above_state.armed), (3, false));
    assert_eq!(above_state.last_value.unwrap().as_str(), "101");
    assert_eq!(above_state.source_failures, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_and_oracle_conditions_fire_on_their_transitions() {
    let source = Source::default();
    source.set("90");
    let host = serve(source.clone()).await;
    let anvil = spawn_anvil(&AnvilOptions::automine(31338)).await.unwrap();
    let chain = deploy_chain(&anvil.rpc_url, &anvil.accounts[0].private_key, ChainRole::L2).await.unwrap();
    let counter_address = chain.address("Counter").unwrap();
    let counter =
        Counter::new(counter_address, wallet_provider(&anvil.rpc_url, &anvil.accounts[1].private_key).unwrap());
    let set_number = |n: u64| {
        let counter = counter.clone();
        async move { counter.setNumber(U256::from(n)).send().await.unwrap().get_receipt().await.unwrap() }
    };
    set_number(150).await;

    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let streamed = create(&store, condition_job_input("1", OWNER, &format!("ws://{host}/stream"), "price")).await;
    // number() / 10^2 > 1.5: 150 is 1.50 (not above), 151 is 1.51.
    let oracle = create(
        &store,
        with_limits(
            CreateJobData {
                value_source_type: Some("oracle".into()),
                value_source_url: Some(format!("{counter_address:#x}")),
                selected_key_route: None,
                trigger_chain_id: Some("31338".into()),
                oracle_function: Some("number() returns (uint256)".into()),
                oracle_decimals: Some(2),
                ..condition_job_input("2", OWNER, "http://unused", "")
            },
            "greater_than",
            Some("1.5"),
            None,
        ),
    )
    .await;
    let (running, mut requests) = start(&store, vec![(31338, anvil.rpc_url.clone())]);
    let got = collect(&mut requests, Duration::from_millis(2_500)).await;
    assert!(got.is_empty(), "90 on the stream and 1.50 on chain are not above their limits: {got:?}");

    source.set("150");
    set_number(151).await;
    let got = collect(&mut requests, Duration::from_millis(2_500)).await;
    assert_eq!(keys(&got, streamed), ["condition:1"], "{got:?}");
    assert_eq!(keys(&got, oracle), ["condition:1"], "{got:?}");
    running.stop().await;
    assert_eq!(state(&store, oracle).await.last_value.unwrap().as_str(), "1.51");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduler_taking_over_keeps_the_firing_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let source = Source::default();
    source.set("150");
    let address = serve(source.clone()).await;
    let job =
        create(&store, condition_job_input("41", OWNER, &format!("http://{address}/price"), "data.0.price")).await;

    // The first scheduler fires condition:1 and dies at once (SIGKILL): its request made a task, but
    // it never wrote its state after the request settled.
    let (first, mut requests) = start(&store, Vec::new());
    let fired = tokio::time::timeout(Duration::from_secs(10), requests.recv()).await.unwrap().unwrap();
    assert_eq!(fired.occurrence_key, "condition:1");
    first.kill().await;
    let new = triggerx_store::NewTask {
        job_id: job,
        task_definition_id: None,
        occurrence_key: fired.occurrence_key.clone(),
        task_performer_id: None,
    };
    store.create_task(&new).await.unwrap();
    drop(requests);

    // While no scheduler runs the price falls; the one taking over sees it fall, then rise again: that
    // is the second transition, and it must be condition:2 (condition:1 would land on the first task
    // and the transition would be lost).
    source.set("90");
    let (second, mut requests) = start(&store, Vec::new());
    let quiet = collect(&mut requests, Duration::from_millis(1_500)).await;
    assert!(quiet.is_empty(), "nothing fires while the price is low: {quiet:?}");
    source.set("150");
    let got = collect(&mut requests, Duration::from_millis(2_500)).await;
    second.stop().await;
    assert_eq!(keys(&got, job), vec!["condition:2".to_string()], "the count carried on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_firing_whose_request_was_lost_is_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(triggerx_store::Backend::Sqlite, dir.path()).await.unwrap();
    let source = Source::default();
    source.set("150");
    let address = serve(source.clone()).await;
    let job =
        create(&store, condition_job_input("42", OWNER, &format!("http://{address}/price"), "data.0.price")).await;
    let (first, mut requests) = start(&store, Vec::new());
    let fired = tokio::time::timeout(Duration::from_secs(10), requests.recv()).await.unwrap().unwrap();
    assert_eq!(fired.occurrence_key, "condition:1");
    // Killed before the request reached the dispatcher: no task row.
    first.kill().await;
    drop(requests);
    let (second, mut requests) = start(&store, Vec::new());
    let got = collect(&mut requests, Duration::from_millis(1_500)).await;
    second.stop().await;
    assert_eq!(keys(&got, job), vec!["condition:1".to_string()], "sent again, once, with its number");
}
