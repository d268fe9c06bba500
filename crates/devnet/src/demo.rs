//! `triggerx up --demo`: once the network is up, a demo user creates one job of each kind the way
//! any user does (on-chain in the JobRegistry, gas deposited, then the API): every 5 s, on a Transfer
//! of more than 1,000 from the demo emitter (which the demo pokes every 7 s, alternating small and
//! large values), and when a demo price (served here, swinging around 100) rises above 100. Then it
//! prints each occurrence as it becomes a task and the task's outcome with its transaction hash.
//! Three more jobs have scripts (served here too): every 10 s the argument is the demo price read by
//! the script; on a large Transfer the argument is the log's value / 1000, decoded by the script; and a
//! custom script every 5 s counts its runs in its storage and executes only every second run.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use anyhow::Context;
use serde_json::json;
use triggerx_chain::bindings::EventEmitter;
use triggerx_chain::deploy::{ChainDeployment, wallet_provider};
use triggerx_chain::deployment::DevAccount;
use triggerx_chain::jobs::{JobRegistration, deposit_gas, register_job};
use triggerx_core::ids::JobId;
use triggerx_core::paging::Page;
use triggerx_core::task::TaskStatus;
use triggerx_store::Store;

/// ABI of the Counter function the demo jobs call.
const COUNTER_ABI: &str = r#"[{"type":"function","name":"incrementBy","inputs":[{"name":"by","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"}]"#;
/// The emitter's event the event job listens to.
const TRANSFER: &str = "Transfer(address indexed from, address indexed to, uint256 value)";

/// The demo's scripts, with `{PRICE_URL}` and `{SELECTOR}` filled in when served.
const PRICE_SCRIPT: &str = r#"// Time job, dynamic arguments: incrementBy(the demo price, rounded).
async function main(input) {
  const response = await fetch("{PRICE_URL}");
  const price = Number((await response.json()).price);
  console.log("price", price, "at", new Date(input.trigger.scheduledAt).toISOString());
  return [Math.round(price)];
}
"#;
const EVENT_SCRIPT: &str = r#"// Event job, dynamic arguments: incrementBy(the Transfer's value / 1000), read from the log.
async function main(input) {
  const value = BigInt(input.trigger.log.data);
  return [(value / 1000n).toString()];
}
"#;
const CUSTOM_SCRIPT: &str = r#"// Custom script job: counts its runs in storage, executes on every second run.
async function main(input) {
  const runs = Number(storage.get("runs") || "0") + 1;
  storage.set("runs", String(runs));
  if (runs % 2 === 1) return { shouldExecute: false, metadata: "run " + runs + " is odd" };
  const by = BigInt(runs).toString(16).padStart(64, "0");
  return { shouldExecute: true, targetContract: input.targetContract, calldata: "{SELECTOR}" + by, metadata: "run " + runs };
}
"#;

/// Where the demo's local server serves the price and the scripts.
struct DemoServer {
    price_url: String,
    host: String,
}

/// Serves the demo price at /price (100 + 8 x sin(2 pi t / 30 s), so it rises above 100 every 30 s)
/// and the demo scripts at /scripts/{price,event,custom}.js.
async fn serve_demo() -> anyhow::Result<DemoServer> {
    let started = Instant::now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let host = listener.local_addr()?.to_string();
    let price_url = format!("http://{host}/price");
    let selector = format!(
        "{}",
        alloy::primitives::Bytes::from(alloy::primitives::keccak256("incrementBy(uint256)")[..4].to_vec())
    );
    let fill = |text: &str| text.replace("{PRICE_URL}", &price_url).replace("{SELECTOR}", &selector);
    let (price_script, event_script, custom_script) = (fill(PRICE_SCRIPT), fill(EVENT_SCRIPT), fill(CUSTOM_SCRIPT));
    let app = axum::Router::new()
        .route(
            "/price",
            axum::routing::get(move || async move {
                let t = started.elapsed().as_secs_f64();
                let price = 100.0 + 8.0 * (t / 30.0 * std::f64::consts::TAU).sin();
                format!(r#"{{"symbol":"DEMO","price":"{price:.2}"}}"#)
            }),
        )
        .route("/scripts/price.js", axum::routing::get(move || async move { price_script }))
        .route("/scripts/event.js", axum::routing::get(move || async move { event_script }))
        .route("/scripts/custom.js", axum::routing::get(move || async move { custom_script }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "demo price server stopped");
        }
    });
    Ok(DemoServer { price_url, host })
}

/// Creates the demo jobs and follows them until `stopped` turns true.
pub async fn run(
    store: Store,
    api_url: String,
    admin_key: String,
    chain: ChainDeployment,
    user: DevAccount,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let server = serve_demo().await?;
    let price_url = server.price_url.clone();
    let counter = chain.address("Counter")?;
    let emitter = chain.address("EventEmitter")?;
    deposit_gas(&chain.rpc_url, &user.private_key, chain.contracts.gas_registry, U256::from(10u128.pow(18)))
        .await
        .context("depositing the demo user's gas")?;
    let target = |by: u32| {
        json!({"target_chain_id": chain.chain_id.to_string(), "target_contract_address": format!("{counter:#x}"),
            "target_function": "incrementBy", "abi": COUNTER_ABI, "arg_type": 1, "arguments": [by.to_string()]})
    };
    let scripted = |url: &str| {
        json!({"target_chain_id": chain.chain_id.to_string(), "target_contract_address": format!("{counter:#x}"),
            "target_function": "incrementBy", "abi": COUNTER_ABI, "arg_type": 2,
            "dynamic_arguments_script_url": url, "script_allowed_hosts": [server.host.clone()]})
    };
    let specs = [
        (
            "every 5 s",
            JobRegistration::interval("every 5 s", counter, 5, 3600),
            json!({"task_definition_id": 1,
            "schedule_type": "interval", "time_interval": 5}),
            target(1),
        ),
        (
            "on Transfer > 1000",
            JobRegistration::event("on Transfer > 1000", counter, true, 3600),
            json!({"task_definition_id": 3,
            "trigger_chain_id": chain.chain_id.to_string(), "trigger_contract_address": format!("{emitter:#x}"),
            "trigger_event": TRANSFER, "event_filter": "value > 1000"}),
            target(10),
        ),
        (
            "price above 100",
            JobRegistration::condition("price above 100", counter, true, 3600),
            json!({"task_definition_id": 5,
            "condition_type": "greater_than", "lower_limit": 100, "value_source_type": "api",
            "value_source_url": price_url, "selected_key_route": "price"}),
            target(100),
        ),
        (
            "price as argument",
            JobRegistration::of_type("price as argument", 2, counter, 3600, 10, true)
                .with_script(alloy::primitives::keccak256("price as argument")),
            json!({"task_definition_id": 2, "schedule_type": "interval", "time_interval": 10}),
            scripted(&format!("http://{}/scripts/price.js", server.host)),
        ),
        (
            "log value / 1000",
            JobRegistration::of_type("log value / 1000", 4, counter, 3600, 0, true)
                .with_script(alloy::primitives::keccak256("log value / 1000")),
            json!({"task_definition_id": 4,
            "trigger_chain_id": chain.chain_id.to_string(), "trigger_contract_address": format!("{emitter:#x}"),
            "trigger_event": TRANSFER, "event_filter": "value > 1000"}),
            scripted(&format!("http://{}/scripts/event.js", server.host)),
        ),
        (
            "every second run",
            JobRegistration::of_type("every second run", 7, counter, 3600, 5, true)
                .with_script(alloy::primitives::keccak256("every second run")),
            json!({"task_definition_id": 7, "schedule_type": "interval", "time_interval": 5}),
            scripted(&format!("http://{}/scripts/custom.js", server.host)),
        ),
    ];
    let client = reqwest::Client::new();
    let mut titles: HashMap<JobId, &str> = HashMap::new();
    for (title, registration, trigger, target) in specs {
        let job_id = register_job(&chain.rpc_url, &user.private_key, chain.contracts.job_registry, &registration)
            .await
            .with_context(|| format!("registering the demo job '{title}'"))?;
        let mut body = json!({"job_id": job_id.to_string(), "user_address": format!("{:#x}", user.address),
            "job_title": title, "time_frame": 3600, "recurring": true, "created_chain_id": chain.chain_id.to_string()});
        for part in [trigger, target] {
            if let (Some(into), Some(from)) = (body.as_object_mut(), part.as_object()) {
                into.extend(from.clone());
            }
        }
        let response = client
            .post(format!("{api_url}/api/jobs"))
            .header("x-api-key", &admin_key)
            .json(&json!([body]))
            .send()
            .await?;
        anyhow::ensure!(response.status().is_success(), "creating '{title}': {}", response.text().await?);
        let id = JobId::parse(&job_id.to_string(), "job_id").map_err(|e| anyhow::anyhow!("{}", e.message))?;
        titles.insert(id, title);
        println!("demo: created job \"{title}\" ({job_id})");
    }
    println!("demo: price source {price_url}; the emitter is poked every 7 s. Occurrences follow:");
    tokio::spawn(poke_emitter(chain.rpc_url.clone(), user.private_key.clone(), emitter, user.address, stopped.clone()));

    let titles = Arc::new(titles);
    let mut seen: HashMap<i64, (TaskStatus, Option<bool>)> = HashMap::new();
    loop {
        for (job_id, title) in titles.iter() {
            let Ok((tasks, _)) = store.tasks_of_job(*job_id, Page { limit: 50, offset: 0 }).await else { continue };
            for task in tasks {
                let now = (task.task_status, task.is_accepted);
                let before = seen.insert(task.task_id, now);
                if before == Some(now) {
                    continue;
                }
                let time = chrono::Local::now().format("%H:%M:%S");
                if before.is_none() {
                    println!("{time}  {title:<20} occurrence {} -> task {}", task.occurrence_key, task.task_id);
                }
                if before.map(|b| b.0) != Some(task.task_status) {
                    match task.task_status {
                        TaskStatus::Executed => println!(
                            "{time}  {title:<20} task {:<4} executed  tx {} (keeper {})",
                            task.task_id,
                            task.execution_tx_hash,
                            task.task_performer_id.map(|k| k.to_string()).unwrap_or_default()
                        ),
                        TaskStatus::Failed => {
                            println!("{time}  {title:<20} task {:<4} failed    {}", task.task_id, task.task_error)
                        }
                        TaskStatus::Skipped => {
                            println!("{time}  {title:<20} task {:<4} skipped   {}", task.task_id, task.task_error)
                        }
                        _ => {}
                    }
                }
                if before.map(|b| b.1) != Some(task.is_accepted)
                    && let Some(accepted) = task.is_accepted
                {
                    let verdict = if accepted { "accepted " } else { "rejected " };
                    println!(
                        "{time}  {title:<20} task {:<4} {verdict} task number {} (attesters {:?})",
                        task.task_id,
                        task.task_number.unwrap_or_default(),
                        task.task_attester_ids
                    );
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stopped.changed() => return Ok(()),
        }
    }
}

/// Emits a Transfer every 7 s, alternating 500 (ignored by the filter) and 5,000 (fires the job).
async fn poke_emitter(
    rpc_url: String,
    key: String,
    emitter: Address,
    to: Address,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut large = false;
    let period = Duration::from_secs(7);
    // Ticks every 7 s however long a transaction takes (missed ticks are not bunched up).
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.changed() => return,
        }
        large = !large;
        let value = if large { 5_000u64 } else { 500 };
        let sent = async {
            let contract = EventEmitter::new(emitter, wallet_provider(&rpc_url, &key)?);
            contract.emitTransfer(Address::ZERO, to, U256::from(value)).send().await?.get_receipt().await?;
            anyhow::Ok(())
        };
        match sent.await {
            Ok(()) => println!("{}  demo emitter        Transfer of {value}", chrono::Local::now().format("%H:%M:%S")),
            Err(e) => tracing::warn!(error = %e, "demo: poking the emitter failed"),
        }
    }
}
