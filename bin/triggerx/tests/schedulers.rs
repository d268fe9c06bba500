//! Two `triggerx scheduler` processes against one PostgreSQL store and one Redis stream, feeding the
//! dispatcher of `triggerx up --redis-url --no-schedulers` (3 keepers, anvil): an every-second job runs
//! every occurrence exactly once, on-chain, also when the scheduler holding the lease is killed
//! (SIGKILL) mid-run and the other one takes over.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use alloy::providers::{Provider, ProviderBuilder};
use serde_json::{Value, json};
use triggerx_chain::bindings::Counter;
use triggerx_chain::deploy::ChainRole;
use triggerx_chain::deployment::Deployment;
use triggerx_store::Store;

mod common;
use common::{ABI, create_job, start_up};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(data: &str, database: &str, args: &[&str]) -> Killed {
    Killed(
        Command::new(env!("CARGO_BIN_EXE_triggerx"))
            .args(["--data-dir", data, "--database-url", database])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[test]
fn two_schedulers_run_every_occurrence_once_also_when_one_is_killed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = std::env::var(triggerx_testbed::databases::TEST_POSTGRES_URL_ENV)
        .unwrap_or_else(|_| triggerx_testbed::databases::DEFAULT_TEST_POSTGRES_URL.into());
    let database = runtime.block_on(triggerx_testbed::databases::fresh_postgres_database(&server)).unwrap();
    let redis = std::env::var("TRIGGERX_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let stream = format!("triggerx-test:schedulers:{}:{}", std::process::id(), triggerx_core::time::now_millis());
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();

    // Interrupted when the test ends (also on failure), so its chains stop too.
    let (_up, description) = start_up(
        dir.path(),
        &["--database-url", &database],
        &["--redis-url", &redis, "--redis-stream", &stream, "--no-schedulers"],
    );
    let api = description["api_url"].as_str().unwrap().to_string();
    let admin = description["admin_key"].as_str().unwrap().to_string();
    let deployment = Deployment::read(&dir.path().join("devnet.json")).unwrap();
    let scheduler = |name: &str| {
        spawn(
            &data,
            &database,
            &[
                "scheduler",
                "--redis-url",
                &redis,
                "--redis-stream",
                &stream,
                "--name",
                name,
                "--lease-ttl-ms",
                "1500",
                "--confirmations",
                "0",
            ],
        )
    };
    let mut schedulers = vec![("a", scheduler("a")), ("b", scheduler("b"))];

    let l2 = deployment.chain(ChainRole::L2).unwrap().clone();
    let user = deployment.accounts[5].clone();
    let counter = l2.address("Counter").unwrap();
    let provider = ProviderBuilder::new().connect_http(l2.rpc_url.parse().unwrap()).erased();
    let frame = 12;
    let job_id = runtime.block_on(async {
        let registration = triggerx_chain::jobs::JobRegistration::interval("every second", counter, 1, frame);
        create_job(&l2, &user, &registration, json!({"job_title": "every second",
            "task_definition_id": 1, "time_frame": frame, "recurring": true, "schedule_type": "interval", "time_interval": 1,
            "target_chain_id": l2.chain_id.to_string(), "target_contract_address": format!("{counter:#x}"),
            "target_function": "incrementBy", "abi": ABI, "arg_type": 1, "arguments": ["1"]
        }), &api, &admin).await
    });
    let client = reqwest::Client::new();
    let get = |path: String| -> Value {
        runtime.block_on(async {
            client.get(format!("{api}{path}")).header("x-api-key", &admin).send().await.unwrap().json().await.unwrap()
        })
    };
    let tasks = || get(format!("/api/jobs/{job_id}/tasks?limit=100"))["tasks"].as_array().unwrap().clone();

    // Let a few occurrences run, then kill whichever scheduler holds the lease.
    let deadline = Instant::now() + Duration::from_secs(30);
    while tasks().len() < 4 {
        assert!(Instant::now() < deadline, "no occurrences from the schedulers: {:?}", tasks());
        std::thread::sleep(Duration::from_millis(200));
    }
    let store = runtime.block_on(Store::connect(&database)).unwrap();
    let (holder, _) = runtime.block_on(store.lease_holder("trigger-schedulers")).unwrap().unwrap();
    let position = schedulers.iter().position(|(name, _)| *name == holder).unwrap();
    let (killed, mut process) = schedulers.remove(position);
    process.0.kill().unwrap();
    process.0.wait().unwrap();
    let survivor = schedulers[0].0;

    let deadline = Instant::now() + Duration::from_secs(60);
    let settled = loop {
        let list = tasks();
        let job = get(format!("/api/jobs/{job_id}"));
        let done = list.iter().all(|t| t["task_status"] == "executed");
        if done && job["job_data"]["status"] == "expired" {
            break list;
        }
        assert!(Instant::now() < deadline, "the job did not finish: {list:?} {job}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let (taken_over_by, _) = runtime.block_on(store.lease_holder("trigger-schedulers")).unwrap().unwrap();
    assert_eq!(taken_over_by, survivor, "{killed} was killed; {survivor} took over");

    let mut instants: Vec<i64> = settled
        .iter()
        .map(|t| t["occurrence_key"].as_str().unwrap().strip_prefix("time:").unwrap().parse().unwrap())
        .collect();
    instants.sort_unstable();
    let expected: Vec<i64> = (0..instants.len() as i64).map(|i| instants[0] + i * 1_000).collect();
    assert_eq!(instants, expected, "every second from the first occurrence, none missing, none twice");
    assert!(instants.len() >= frame as usize - 2, "{} occurrences in a {frame} s frame", instants.len());
    let number = runtime.block_on(async { Counter::new(counter, provider).number().call().await }).unwrap();
    assert_eq!(number, U256::from(instants.len()), "one call on-chain per occurrence");
}
