//! Scripted jobs on a running `triggerx up`: dynamic arguments from a script reading a local price API
//! and from an event's log, a custom script keeping a counter in its storage and executing every
//! second run, and scripts that throw, loop, reach for internal addresses or change behind their URL,
//! each a task failure with its reason while the keepers go on executing the others.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::sol_types::SolCall;
use serde_json::{Value, json};
use triggerx_chain::bindings::TaskExecutionHub;
use triggerx_chain::deploy::ChainRole;
use triggerx_chain::deployment::Deployment;
use triggerx_chain::jobs::JobRegistration;
use triggerx_testbed::transactions::landed;

use crate::common::{ABI, create_job, job_tasks};

type Scripts = Arc<Mutex<HashMap<String, String>>>;

/// The price API and script host of this test (the third parties a user's scripts reach).
async fn serve(scripts: Scripts) -> String {
    let app = axum::Router::new().route("/price", axum::routing::get(|| async { r#"{"price":"1234.5"}"# })).route(
        "/scripts/{name}",
        axum::routing::get(move |axum::extract::Path(name): axum::extract::Path<String>| {
            let scripts = scripts.clone();
            async move { scripts.lock().unwrap().get(&name).cloned().unwrap_or_default() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    host
}

/// The argument of the `incrementBy` call a hub transaction made.
fn executed_argument(provider: &alloy::providers::DynProvider, tx: &str, runtime: &tokio::runtime::Runtime) -> U256 {
    runtime.block_on(async {
        let hash: B256 = tx.parse().unwrap();
        let transaction = provider.get_transaction_by_hash(hash).await.unwrap().unwrap();
        let input = alloy::consensus::Transaction::input(&transaction).clone();
        let call = TaskExecutionHub::executeFunctionCall::abi_decode(&input).unwrap();
        let data = call.data;
        assert_eq!(&data[..4], &keccak256("incrementBy(uint256)")[..4]);
        U256::from_be_slice(&data[4..36])
    })
}

fn wait_for(
    api: &str,
    admin: &str,
    job: U256,
    runtime: &tokio::runtime::Runtime,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tasks = job_tasks(api, admin, job, runtime);
        if done(&tasks) {
            return tasks;
        }
        assert!(Instant::now() < deadline, "{what}: {tasks:#?}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn finished(tasks: &[Value]) -> bool {
    !tasks.is_empty()
        && tasks.iter().all(|t| ["executed", "failed", "skipped"].contains(&t["task_status"].as_str().unwrap()))
}

pub fn scripted_jobs_run_their_scripts(
    deployment: &Deployment,
    api: &str,
    admin: &str,
    runtime: &tokio::runtime::Runtime,
) {
    let l2 = deployment.chain(ChainRole::L2).unwrap().clone();
    let user = deployment.accounts[7].clone();
    let counter = l2.address("Counter").unwrap();
    let emitter = l2.address("EventEmitter").unwrap();
    let provider = ProviderBuilder::new().connect_http(l2.rpc_url.parse().unwrap()).erased();
    let scripts: Scripts = Default::default();
    let host = runtime.block_on(serve(scripts.clone()));
    let selector = format!("{}", alloy::primitives::Bytes::from(keccak256("incrementBy(uint256)")[..4].to_vec()));
    let set = |name: &str, text: String| {
        scripts.lock().unwrap().insert(name.to_string(), text);
    };
    set(
        "price.js",
        format!(
            "async function main(input) {{ const r = await fetch('http://{host}/price'); return [Math.round(Number((await r.json()).price))]; }}"
        ),
    );
    set(
        "event.js",
        "async function main(input) { return [(BigInt(input.trigger.log.data) / 1000n).toString()]; }".into(),
    );
    set(
        "custom.js",
        format!(
            "async function main(input) {{ const runs = Number(storage.get('runs') || '0') + 1; storage.set('runs', String(runs));\n\
             if (runs % 2 === 1) return {{ shouldExecute: false, metadata: 'run ' + runs }};\n\
             return {{ shouldExecute: true, targetContract: input.targetContract, calldata: '{selector}' + BigInt(runs).toString(16).padStart(64, '0') }}; }}"
        ),
    );
    set("throws.js", "async function main() { throw new Error('no price today'); }".into());
    set("loops.js", "async function main() { for (;;) {} }".into());
    set(
        "metadata.js",
        "async function main() { return [(await fetch('http://169.254.169.254/latest/meta-data/')).status]; }".into(),
    );
    set("elsewhere.js", format!("async function main() {{ return [(await fetch('http://{host}/price')).status]; }}"));
    set("changes.js", "async function main() { return [1]; }".into());

    let time_job = |name: &str, tdid: u8, interval: u64, frame: u64, hosts: Vec<String>| {
        let registration =
            JobRegistration::of_type(name, tdid, counter, frame, interval, true).with_script(keccak256(name));
        let body = json!({"job_title": name, "task_definition_id": tdid, "time_frame": frame, "recurring": true,
            "schedule_type": "interval", "time_interval": interval,
            "target_chain_id": l2.chain_id.to_string(), "target_contract_address": format!("{counter:#x}"),
            "target_function": "incrementBy", "abi": ABI, "arg_type": 2,
            "dynamic_arguments_script_url": format!("http://{host}/scripts/{name}"), "script_allowed_hosts": hosts});
        runtime.block_on(create_job(&l2, &user, &registration, body, api, admin))
    };
    // The hostile ones first: the keepers must go on executing the others after them.
    let throws = time_job("throws.js", 2, 2, 3, vec![]);
    let loops = time_job("loops.js", 2, 2, 3, vec![]);
    let metadata = time_job("metadata.js", 2, 2, 3, vec!["169.254.169.254".into()]);
    let elsewhere = time_job("elsewhere.js", 2, 2, 3, vec!["api.example.org".into()]);
    let changes = time_job("changes.js", 2, 2, 3, vec![]);
    set("changes.js", "async function main() { return [1000000]; }".into());
    let price = time_job("price.js", 2, 2, 3, vec![host.clone()]);
    let custom = time_job("custom.js", 7, 2, 9, vec![]);
    let event = runtime.block_on(async {
        let registration = JobRegistration::of_type("event.js", 4, counter, 3600, 0, false).with_script(keccak256("event.js"));
        let job = create_job(&l2, &user, &registration, json!({"job_title": "event.js", "task_definition_id": 4,
            "time_frame": 3600, "recurring": false,
            "trigger_chain_id": l2.chain_id.to_string(), "trigger_contract_address": format!("{emitter:#x}"),
            "trigger_event": "Transfer(address indexed from, address indexed to, uint256 value)", "event_filter": "value > 1000",
            "target_chain_id": l2.chain_id.to_string(), "target_contract_address": format!("{counter:#x}"),
            "target_function": "incrementBy", "abi": ABI, "arg_type": 2,
            "dynamic_arguments_script_url": format!("http://{host}/scripts/event.js")}), api, admin).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let wallet = triggerx_chain::deploy::wallet_provider(&l2.rpc_url, &user.private_key).unwrap();
        let emitter = triggerx_chain::bindings::EventEmitter::new(emitter, wallet);
        landed(emitter.emitTransfer(Address::ZERO, user.address, U256::from(7_000u64))).await.unwrap();
        job
    });

    for (job, expected) in [
        (throws, "script_threw: Error: no price today"),
        (loops, "script_out_of_fuel"),
        (metadata, "internal address"),
        (elsewhere, "not among the job's allowed hosts"),
        (changes, "changed since the job was created"),
    ] {
        let tasks = wait_for(api, admin, job, runtime, "a hostile script's task did not fail", finished);
        for task in &tasks {
            assert_eq!(task["task_status"], "failed", "{task:#?}");
            assert!(task["task_error"].as_str().unwrap().contains(expected), "{expected}: {task:#?}");
        }
    }

    let tasks = wait_for(api, admin, price, runtime, "the price job did not execute", finished);
    for task in &tasks {
        assert_eq!(task["task_status"], "executed", "{task:#?}");
        assert_eq!(task["converted_arguments"], json!(["1235"]), "the script's argument: {task:#?}");
        assert_eq!(
            executed_argument(&provider, task["execution_tx_hash"].as_str().unwrap(), runtime),
            U256::from(1235)
        );
    }

    let tasks = wait_for(api, admin, event, runtime, "the event job did not execute", |t| t.len() == 1 && finished(t));
    assert_eq!(tasks[0]["task_status"], "executed", "{tasks:#?}");
    assert_eq!(executed_argument(&provider, tasks[0]["execution_tx_hash"].as_str().unwrap(), runtime), U256::from(7));

    std::thread::sleep(Duration::from_secs(9));
    let mut tasks = wait_for(api, admin, custom, runtime, "the custom script job did not finish its frame", finished);
    tasks.sort_by_key(|t| t["occurrence_key"].as_str().unwrap().to_string());
    assert!(tasks.len() >= 3, "every 2 s for 9 s: {tasks:#?}");
    for (index, task) in tasks.iter().enumerate() {
        let run = index + 1;
        if run % 2 == 1 {
            assert_eq!(task["task_status"], "skipped", "run {run}: {task:#?}");
            assert!(task["task_error"].as_str().unwrap().contains(&format!("run {run}")), "{task:#?}");
        } else {
            assert_eq!(task["task_status"], "executed", "run {run}: {task:#?}");
            let by = executed_argument(&provider, task["execution_tx_hash"].as_str().unwrap(), runtime);
            assert_eq!(by, U256::from(run), "the counter kept in the job's storage");
        }
    }
}
