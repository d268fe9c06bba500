//! `triggerx up` and `triggerx task run` as a user runs them: everything starts in one process, a job
//! created on-chain and through the API executes when asked, Ctrl-C stops it all.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use triggerx_testbed::transactions::landed;

use alloy::primitives::U256;
use alloy::providers::{Provider, ProviderBuilder};
use serde_json::{Value, json};
use triggerx_chain::bindings::Counter;
use triggerx_chain::deploy::ChainRole;
use triggerx_chain::deployment::Deployment;

mod common;
mod up_scripts;
use common::{ABI, create_job, job_tasks, start_up};

#[test]
fn up_runs_a_job_end_to_end_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_string();
    let (mut up, description) = start_up(dir.path(), &[], &[]);
    let up_file = dir.path().join("up.json");
    assert_eq!(description["keepers"].as_array().unwrap().len(), 3);
    let api = description["api_url"].as_str().unwrap().to_string();
    let admin = description["admin_key"].as_str().unwrap().to_string();
    let deployment = Deployment::read(&dir.path().join("devnet.json")).unwrap();
    let l2 = deployment.chain(ChainRole::L2).unwrap().clone();
    let user = deployment.accounts[5].clone();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let job_id = runtime.block_on(async {
                create_job(&l2, &user, &triggerx_chain::jobs::JobRegistration::interval("poke", l2.address("Counter").unwrap(), 60, 3600), json!({"job_title": "poke",
            "task_definition_id": 1, "time_frame": 3600, "recurring": true, "schedule_type": "interval", "time_interval": 60,
            "target_chain_id": l2.chain_id.to_string(), "target_contract_address": format!("{:#x}", l2.address("Counter").unwrap()),
            "target_function": "incrementBy", "abi": ABI, "arg_type": 1, "arguments": ["5"]
        }), &api, &admin).await
    });

    let run = Command::new(env!("CARGO_BIN_EXE_triggerx"))
        .args(["--data-dir", &data, "task", "run", "--job", &job_id.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "task run failed: {stdout} {}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("executed") && stdout.contains("tx 0x"), "{stdout}");
    let number = runtime.block_on(async {
        let provider = ProviderBuilder::new().connect_http(l2.rpc_url.parse().unwrap()).erased();
        Counter::new(l2.address("Counter").unwrap(), provider).number().call().await.unwrap()
    });
    assert_eq!(number, U256::from(5), "the call landed through the hub");

    interval_job_fires_by_itself_until_its_frame_ends(&deployment, &api, &admin, &runtime);
    event_job_fires_for_matching_logs(&deployment, &api, &admin, &runtime);
    cron_job_fires_on_even_seconds(&deployment, &api, &admin, &runtime);
    condition_job_fires_once_per_crossing(&deployment, &api, &admin, &runtime);
    job_cli_creates_and_manages_a_job(&data, &deployment, &api, &admin, &runtime);
    standalone_keeper_joins_and_executes(&data, &deployment, &api, &admin, &job_id.to_string(), &runtime);
    up_scripts::scripted_jobs_run_their_scripts(&deployment, &api, &admin, &runtime);

    assert!(up.interrupt(Duration::from_secs(30)), "triggerx up did not stop on Ctrl-C");
    assert!(!up_file.exists(), "up.json is removed on stop");
    for chain in &deployment.chains {
        let port = chain.rpc_url.rsplit(':').next().unwrap();
        assert!(
            std::net::TcpStream::connect_timeout(
                &format!("127.0.0.1:{port}").parse().unwrap(),
                Duration::from_millis(500)
            )
            .is_err(),
            "no anvil outlives up"
        );
    }
}

fn triggerx(data: &str, args: &[&str], password: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_triggerx"))
        .args(["--data-dir", data])
        .args(args)
        .env("TRIGGERX_KEYSTORE_PASSWORD", password)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// An operator makes keystores, is refused before whitelisting, registers, starts `triggerx keeper`
/// joined to the running `up`, comes online through the registrar and its own check-ins, and executes
/// its share of the tasks.
fn standalone_keeper_joins_and_executes(
    data: &str,
    deployment: &Deployment,
    api: &str,
    admin: &str,
    job_id: &str,
    runtime: &tokio::runtime::Runtime,
) {
    let operator = deployment.accounts[6].clone();
    let keys_dir = format!("{data}/operator-keys");
    // Review M6f: a key on the command line is visible to every user's `ps`; only files and the
    // environment are read.
    let on_argv =
        triggerx(data, &["keeper", "keygen", "--out", &keys_dir, "--controller-key", &operator.private_key], "s3cret");
    assert!(!on_argv.status.success() && text(&on_argv).contains("--controller-key"), "{}", text(&on_argv));
    let key_file = format!("{data}/operator.key");
    std::fs::write(&key_file, &operator.private_key).unwrap();
    let keygen =
        triggerx(data, &["keeper", "keygen", "--out", &keys_dir, "--controller-key-file", &key_file], "s3cret");
    assert!(keygen.status.success(), "{}", text(&keygen));
    assert!(text(&keygen).to_lowercase().contains(&format!("{:#x}", operator.address)), "{}", text(&keygen));
    let config = format!("{data}/operator.toml");
    std::fs::write(
        &config,
        format!(
            "join = \"{data}/up.json\"\ncheckin_interval_secs = 2\n[keys]\ncontroller = \"operator-keys/controller.json\"\nconsensus = \"operator-keys/consensus.json\"\nbls = \"operator-keys/bls.json\"\n"
        ),
    )
    .unwrap();

    let wrong = triggerx(data, &["keeper", "register", "--config", &config], "wrong");
    assert!(!wrong.status.success() && text(&wrong).contains("wrong password"), "{}", text(&wrong));
    let early = triggerx(data, &["keeper", "register", "--config", &config], "s3cret");
    assert!(!early.status.success() && text(&early).contains("not whitelisted"), "{}", text(&early));
    let l1 = deployment.chain(ChainRole::L1).unwrap();
    runtime
        .block_on(triggerx_chain::keepers::whitelist_keepers(
            &l1.rpc_url,
            &deployment.accounts[0].private_key,
            l1.keeper_registry().unwrap(),
            vec![operator.address],
        ))
        .unwrap();
    let registered = triggerx(data, &["keeper", "register", "--config", &config], "s3cret");
    assert!(registered.status.success() && text(&registered).contains("registered operator"), "{}", text(&registered));
    let again = triggerx(data, &["keeper", "register", "--config", &config], "s3cret");
    assert!(again.status.success() && text(&again).contains("already registered"), "{}", text(&again));

    let mut keeper = Command::new(env!("CARGO_BIN_EXE_triggerx"))
        .args(["--data-dir", data, "keeper", "--config", &config])
        .env("TRIGGERX_KEYSTORE_PASSWORD", "s3cret")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let get = |path: &str| -> Value {
        runtime.block_on(async {
            client.get(format!("{api}{path}")).header("x-api-key", admin).send().await.unwrap().json().await.unwrap()
        })
    };
    let address = format!("{:#x}", operator.address);
    let deadline = Instant::now() + Duration::from_secs(60);
    let keeper_id = loop {
        assert!(keeper.try_wait().unwrap().is_none(), "triggerx keeper exited early");
        let performers = get("/api/keepers/performers");
        let found = performers["keepers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["keeper_address"].as_str().unwrap().eq_ignore_ascii_case(&address));
        if let Some(found) = found {
            break found["keeper_id"].as_i64().unwrap();
        }
        assert!(Instant::now() < deadline, "the standalone keeper did not come online: {performers}");
        std::thread::sleep(Duration::from_millis(300));
    };

    // Four online keepers of equal voting power: the rotation reaches the new one within four tasks.
    for _ in 0..4 {
        let run = triggerx(data, &["task", "run", "--job", job_id], "");
        assert!(run.status.success(), "{}", text(&run));
    }
    let tasks = get(&format!("/api/jobs/{job_id}/tasks?limit=100"));
    let by_new_keeper: Vec<&Value> = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["task_performer_id"].as_i64() == Some(keeper_id))
        .collect();
    assert!(!by_new_keeper.is_empty(), "the standalone keeper performed a task: {tasks}");
    assert!(by_new_keeper.iter().all(|t| t["task_status"] == "executed"), "{tasks}");
    Command::new("kill").args(["-INT", &keeper.id().to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while keeper.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "triggerx keeper did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A job every 2 s with a 7 s frame, created on-chain and through the API, runs at +2, +4 and +6 s by
/// itself (the time scheduler inside `up`), each occurrence executed once on-chain, then expires.
fn interval_job_fires_by_itself_until_its_frame_ends(
    deployment: &Deployment,
    api: &str,
    admin: &str,
    runtime: &tokio::runtime::Runtime,
) {
    let l2 = deployment.chain(ChainRole::L2).unwrap().clone();
    let user = deployment.accounts[7].clone();
    let counter = l2.address("Counter").unwrap();
    let provider = ProviderBuilder::new().connect_http(l2.rpc_url.parse().unwrap()).erased();
    let before = runtime.block_on(async { Counter::new(counter, provider.clone()).number().call().await }).unwrap();
    let job_id = runtime.block_on(async {
        let registration = triggerx_chain::jobs::JobRegistration::interval("every 2 s", counter, 2, 7);
        create_job(&l2, &user, &registration, json!({"job_title": "every 2 s",
            "task_definition_id": 1, "time_frame": 7, "recurring": true, "schedule_type": "interval", "time_interval": 2,
            "target_chain_id": l2.chain_id.to_string(), "target_contract_address": format!("{counter:#x}"),
            "target_function": "incrementBy", "abi": ABI, "arg_type": 1, "arguments": ["1"]
        }), api, admin).await
    });
    let client = reqwest::Client::new();
    let get = |path: String| -> Value {
        runtime.block_on(async {
            client.get(format!("{api}{path}")).header("x-api-key", admin).send().await.unwrap().json().await.unwrap()
        })
    };
    let deadline = Instant::now() + Duration::from_secs(40);
    let tasks = loop {
        let list = job_tasks(api, admin, job_id, runtime);
        let job = get(format!("/api/jobs/{job_id}"));
        let settled = list.len() == 3 && list.iter().all(|t| t["task_status"] == "executed");
        if settled && job["job_data"]["status"] == "expired" {
            break list;
        }
        assert!(Instant::now() < deadline, "the interval job did not run 3 times and expire: {list:?} {job}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let mut instants: Vec<i64> = tasks
        .iter()
        .map(|t| t["occurrence_key"].as_str().unwrap().strip_prefix("time:").unwrap().parse().unwrap())
        .collect();
    instants.sort_unstable();
    assert_eq!(instants[1] - instants[0], 2_000, "{instants:?}");
    assert_eq!(instants[2] - instants[1], 2_000, "{instants:?}");
    let after = runtime.block_on(async { Counter::new(counter, provider).number().call().await }).unwrap();
    assert_eq!(after - before, U256::from(3), "three calls landed, one per occurrence");
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(job_tasks(api, admin, job_id, runtime).len(), 3, "no more after expiry");
}

/// An event job with a filter on the non-indexed `value` fires for the matching Transfer logs of the
/// demo emitter only, each once, and each occurrence's call lands through the hub.
fn event_job_fires_for_matching_logs(
    deployment: &Deployment,
    api: &str,
    admin: &str,
    runtime: &tokio::runtime::Runtime,
) {
    let l2 = deployment.chain(ChainRole::L2).unwrap().clone();
    let user = deployment.accounts[8].clone();
    let counter = l2.address("Counter").unwrap();
    let emitter = l2.address("EventEmitter").unwrap();
    let provider = ProviderBuilder::new().connect_http(l2.rpc_url.parse().unwrap()).erased();
    let before = runtime.block_on(async { Counter::new(counter, provider.clone()).number().call().await }).unwrap();
    let job_id = runtime.block_on(async {
        let registration = triggerx_chain::jobs::JobRegistration::event("on big transfers", counter, true, 3600);
        let job_id = create_job(
            &l2,
            &user,
            &registration,
            json!({"job_title": "on big transfers",
                "task_definition_id": 3, "time_frame": 3600, "recurring": true,
                "trigger_chain_id": l2.chain_id.to_string(), "trigger_contract_address": format!("{emitter:#x}"),
                "trigger_event": "Transfer(address indexed from, address indexed to, uint256 value)",
                "event_filter": "value > 1000",
                "target_chain_id": l2.chain_id.to_string(), "target_contract_address": format!("{counter:#x}"),
                "target_function": "incrementBy", "abi": ABI, "arg_type": 1, "arguments": ["1"]
            }),
            api,
            admin,
        )
        .await;
        // Give the scheduler a moment to follow the new job, then emit 3 transfers, 2 matching.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let wallet = triggerx_chain::deploy::wallet_provider(&l2.rpc_url, &user.private_key).unwrap();
        let emitter = triggerx_chain::bindings::EventEmitter::new(emitter, wallet);
        for value in [5_000u64, 10, 2_000] {
            landed(emitter.emitTransfer(alloy::primitives::Address::ZERO, user.address, U256::from(value)))
                .await
                .unwrap();
        }
        job_id
    });
    let deadline = Instant::now() + Duration::from_secs(40);
    let tasks = loop {
        let list = job_tasks(api, admin, job_id, runtime);
        if list.len() >= 2 && list.iter().all(|t| t["task_status"] == "executed") {
            break list;
        }
        assert!(Instant::now() < deadline, "the event job did not run twice: {list:?}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(tasks.len(), 2, "only the two logs with value > 1000: {tasks:?}");
    assert!(tasks.iter().all(|t| t["occurrence_key"].as_str().unwrap().starts_with("event:0x")), "{tasks:?}");
    let after = runtime.block_on(async { Counter::new(counter, provider).number().call().await }).unwrap();
    assert_eq!(after - before, U256::from(2), "one call per matching log");
}

/// A cron job with seconds (`*/2 * * * * *`, time zone Asia/Kolkata) and a 6 s frame fires on even
/// seconds only, each occurrence executed on-chain.
fn cron_job_fires_on_even_seconds(deployment: &Deployment, api: &str, admin: &str, runtime: &tokio::runtime::Runtime) {
    let l2 = deployment.chain(ChainRole::L2).unwrap().clone();
    let user = deployment.accounts[9].clone();
    let counter = l2.address("Counter").unwrap();
    let job_id = runtime.block_on(async {
        let registration = triggerx_chain::jobs::JobRegistration::interval("cron", counter, 1, 6);
        create_job(
            &l2,
            &user,
            &registration,
            json!({"job_title": "cron",
                "task_definition_id": 1, "time_frame": 6, "recurring": true, "schedule_type": "cron",
                "cron_expression": "*/2 * * * * *", "timezone": "Asia/Kolkata",
                "target_chain_id": l2.chain_id.to_string(), "target_contract_address": format!("{counter:#x}"),
                "target_function": "incrementBy", "abi": ABI, "arg_type": 1, "arguments": ["1"]
            }),
            api,
            admin,
        )
        .await
    });
    std::thread::sleep(Duration::from_secs(7));
    let deadline = Instant::now() + Duration::from_secs(30);
    let tasks = loop {
        let tasks = job_tasks(api, admin, job_id, runtime);
        if !tasks.is_empty() && tasks.iter().all(|t| t["task_status"] == "executed") {
            break tasks;
        }
        assert!(Instant::now() < deadline, "the cron job's tasks did not execute: {tasks:?}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let instants: Vec<i64> = tasks
        .iter()
        .map(|t| t["occurrence_key"].as_str().unwrap().strip_prefix("time:").unwrap().parse().unwrap())
        .collect();
    assert!((2..=3).contains(&instants.len()), "every 2 s within a 6 s frame: {instants:?}");
    assert!(instants.iter().all(|at| at % 2_000 == 0), "on even seconds: {instants:?}");
}

/// A condition job on a price served by the test fires when the price crosses above 100, once per
/// crossing (not on every poll while above), each firing executed on-chain.
fn condition_job_fires_once_per_crossing(
    deployment: &Deployment,
    api: &str,
    admin: &str,
    runtime: &tokio::runtime::Runtime,
) {
    let price = std::sync::Arc::new(std::sync::Mutex::new("90".to_string()));
    let served = price.clone();
    let app = axum::Router::new().route(
        "/price",
        axum::routing::get(move || {
            let price = served.lock().unwrap().clone();
            async move { format!(r#"{{"data": {{"eth": {{"usd": "{price}"}}}}}}"#) }
        }),
    );
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let source = format!("http://{}/price", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
    let set = |value: &str| *price.lock().unwrap() = value.to_string();

    let l2 = deployment.chain(ChainRole::L2).unwrap().clone();
    let user = deployment.accounts[6].clone();
    let counter = l2.address("Counter").unwrap();
    let provider = ProviderBuilder::new().connect_http(l2.rpc_url.parse().unwrap()).erased();
    let before = runtime.block_on(async { Counter::new(counter, provider.clone()).number().call().await }).unwrap();
    let job_id = runtime.block_on(async {
        let registration = triggerx_chain::jobs::JobRegistration::condition("price above 100", counter, true, 3600);
        create_job(
            &l2,
            &user,
            &registration,
            json!({"job_title": "price above 100",
                "task_definition_id": 5, "time_frame": 3600, "recurring": true,
                "condition_type": "greater_than", "lower_limit": 100, "value_source_type": "api",
                "value_source_url": source, "selected_key_route": "data.eth.usd",
                "target_chain_id": l2.chain_id.to_string(), "target_contract_address": format!("{counter:#x}"),
                "target_function": "incrementBy", "abi": ABI, "arg_type": 1, "arguments": ["1"]
            }),
            api,
            admin,
        )
        .await
    });
    let executed = |count: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let tasks = job_tasks(api, admin, job_id, runtime);
            if tasks.len() == count && tasks.iter().all(|t| t["task_status"] == "executed") {
                return tasks;
            }
            assert!(Instant::now() < deadline, "expected {count} executed tasks: {tasks:?}");
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    std::thread::sleep(Duration::from_secs(2));
    assert!(job_tasks(api, admin, job_id, runtime).is_empty(), "90 is not above 100");
    set("150.5");
    executed(1);
    std::thread::sleep(Duration::from_secs(3));
    executed(1);
    set("99.99");
    std::thread::sleep(Duration::from_secs(2));
    set("100.01");
    let tasks = executed(2);
    let mut keys: Vec<&str> = tasks.iter().map(|t| t["occurrence_key"].as_str().unwrap()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["condition:1", "condition:2"]);
    let after = runtime.block_on(async { Counter::new(counter, provider).number().call().await }).unwrap();
    assert_eq!(after - before, U256::from(2), "one call per crossing");
}

/// `triggerx job create|list|show|pause|resume|delete` as a user runs them: a bad job is refused before
/// any gas is spent; a good one is registered on-chain with the user's key, gets a deposit, is posted,
/// runs by itself, and is paused, resumed and deleted (in the registry too).
fn job_cli_creates_and_manages_a_job(
    data: &str,
    deployment: &Deployment,
    api: &str,
    admin: &str,
    runtime: &tokio::runtime::Runtime,
) {
    let l2 = deployment.chain(ChainRole::L2).unwrap().clone();
    let user = deployment.accounts[4].clone();
    let counter = format!("{:#x}", l2.address("Counter").unwrap());
    let job = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_triggerx"))
            .args(["--data-dir", data, "job"])
            .args(args)
            .env("TRIGGERX_USER_KEY", &user.private_key)
            .output()
            .unwrap()
    };
    let base = ["--target", counter.as_str(), "--function", "incrementBy", "--abi", ABI, "--args", "1"];
    let refused = job(&[&["create", "--title", "no trigger"][..], &base[..]].concat());
    assert!(!refused.status.success());
    assert!(text(&refused).contains("give one trigger"), "{}", text(&refused));
    let refused = job(&[&["create", "--every", "0"][..], &base[..]].concat());
    assert!(!refused.status.success());
    assert!(text(&refused).contains("time_interval"), "{}", text(&refused));
    let registry = l2.contracts.job_registry;
    let provider = ProviderBuilder::new().connect_http(l2.rpc_url.parse().unwrap()).erased();
    let registered = || {
        runtime.block_on(async {
            triggerx_chain::bindings::JobRegistry::new(registry, provider.clone())
                .getUserJobIds(user.address)
                .call()
                .await
                .unwrap()
        })
    };
    // Refused by the server, not by local validation (its address policy): still before any gas.
    let refused = job(&[
        &[
            "create",
            "--condition",
            "greater_than",
            "--lower",
            "100",
            "--source-url",
            "http://169.254.169.254/latest/meta-data/",
        ][..],
        &base[..],
    ]
    .concat());
    assert!(!refused.status.success());
    assert!(text(&refused).contains("internal address"), "{}", text(&refused));
    assert!(registered().is_empty(), "refused jobs cost no gas and register nothing");

    let created =
        job(&[&["create", "--title", "cli job", "--every", "2", "--frame", "600", "--deposit", "0.5"][..], &base[..]]
            .concat());
    assert!(created.status.success(), "{}", text(&created));
    let ids = registered();
    assert_eq!(ids.len(), 1, "{}", text(&created));
    let job_id = ids[0].to_string();
    assert!(text(&created).contains(&format!("job {job_id} created")), "{}", text(&created));
    let id = U256::from_str_radix(&job_id, 10).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !job_tasks(api, admin, id, runtime).iter().any(|t| t["task_status"] == "executed") {
        assert!(Instant::now() < deadline, "the CLI job did not run");
        std::thread::sleep(Duration::from_millis(300));
    }
    let listed = job(&["list"]);
    assert!(text(&listed).contains(&job_id) && text(&listed).contains("cli job"), "{}", text(&listed));
    let shown = job(&["show", &job_id]);
    assert!(
        text(&shown).contains("executed") && text(&shown).contains("\"schedule_type\": \"interval\""),
        "{}",
        text(&shown)
    );
    let paused = job(&["pause", &job_id]);
    assert!(text(&paused).contains("paused"), "{}", text(&paused));
    std::thread::sleep(Duration::from_millis(1_000));
    let count = job_tasks(api, admin, id, runtime).len();
    std::thread::sleep(Duration::from_millis(4_500));
    assert_eq!(job_tasks(api, admin, id, runtime).len(), count, "a paused job does not fire");
    let resumed = job(&["resume", &job_id]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let deleted = job(&["delete", &job_id]);
    assert!(deleted.status.success(), "{}", text(&deleted));
    assert!(text(&deleted).contains("JobRegistry"), "{}", text(&deleted));
    let active = runtime.block_on(async {
        triggerx_chain::bindings::JobRegistry::new(registry, provider.clone()).isJobActive(id).call().await.unwrap()
    });
    assert!(!active, "deleted in the registry too");
    let missing = job(&["show", "123"]);
    assert!(!missing.status.success());
    assert!(text(&missing).contains("404"), "{}", text(&missing));
}
