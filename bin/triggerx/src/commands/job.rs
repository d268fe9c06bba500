//! `triggerx job ...`: what a job owner does. `create` checks the job locally first (so a bad job costs
//! no gas), registers it in the JobRegistry of its chain with the owner's key, deposits gas if asked,
//! then posts it to the API; `list`, `show`, `pause`, `resume` and `delete` go through the API (and
//! `delete` through the registry too when given the key).

use std::path::Path;

use alloy::primitives::{Address, U256, utils::parse_ether};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use serde_json::{Value, json};
use triggerx_chain::bindings::JobRegistry;
use triggerx_chain::deploy::{ChainDeployment, ChainRole, wallet_provider};
use triggerx_chain::deployment::Deployment;
use triggerx_chain::jobs::{JobRegistration, deposit_gas, register_job};
use triggerx_client::ApiClient;
use triggerx_core::job_input::CreateJobData;
use triggerx_core::numbers::Decimal;

use crate::cli::{ApiAccess, ChainAccess, JobCommand, JobCreateArgs};
use crate::commands::devnet::DEVNET_FILE;
use triggerx_devnet::up_file::UpDescription;

/// Runs a `job` subcommand.
pub async fn run(data_dir: &Path, command: JobCommand) -> anyhow::Result<()> {
    match command {
        JobCommand::Create(args) => create(data_dir, *args).await,
        JobCommand::List { access, owner } => {
            let api = api_of(data_dir, &access)?;
            let query = owner.map(|o| format!("&owner={o}")).unwrap_or_default();
            let page = api.call(reqwest::Method::GET, &format!("/api/jobs?limit=500{query}"), None).await?;
            print_list(&page);
            Ok(())
        }
        JobCommand::Show { access, job } => {
            let api = api_of(data_dir, &access)?;
            let shown = api.call(reqwest::Method::GET, &format!("/api/jobs/{job}"), None).await?;
            println!("{}", serde_json::to_string_pretty(&shown)?);
            let tasks = api.call(reqwest::Method::GET, &format!("/api/jobs/{job}/tasks?limit=20"), None).await?;
            let list = tasks["tasks"].as_array().cloned().unwrap_or_default();
            println!("recent tasks ({}):", list.len());
            for task in list {
                println!(
                    "  task {:<6} {:<28} {:<10} {}",
                    task["task_id"],
                    task["occurrence_key"].as_str().unwrap_or(""),
                    task["task_status"].as_str().unwrap_or(""),
                    task["execution_tx_hash"].as_str().or(task["task_error"].as_str()).unwrap_or("")
                );
            }
            Ok(())
        }
        JobCommand::Pause { access, job } => change(data_dir, &access, &job, "pause").await,
        JobCommand::Resume { access, job } => change(data_dir, &access, &job, "resume").await,
        JobCommand::Delete { access, chain, job } => {
            let api = api_of(data_dir, &access)?;
            if let Some(key) = &chain.key {
                let deployment = chain_of(data_dir, &chain)?;
                let id = U256::from_str_radix(&job, 10).with_context(|| format!("job id '{job}'"))?;
                let registry =
                    JobRegistry::new(deployment.address("JobRegistry")?, wallet_provider(&deployment.rpc_url, key)?);
                registry
                    .deleteJob(id)
                    .send()
                    .await
                    .context("deleting the job in the JobRegistry")?
                    .get_receipt()
                    .await?;
                println!("deleted job {job} in the JobRegistry of chain {}", deployment.chain_id);
            }
            let answer = api.call(reqwest::Method::DELETE, &format!("/api/jobs/{job}"), None).await?;
            println!("{}", answer["message"].as_str().unwrap_or("deleted"));
            Ok(())
        }
    }
}

/// The API to call and the key to call it with (the running `up`'s when not given).
fn api_of(data_dir: &Path, access: &ApiAccess) -> anyhow::Result<ApiClient> {
    let (url, key) = match (&access.api, &access.api_key) {
        (Some(url), Some(key)) => (url.clone(), key.clone()),
        (url, key) => {
            let up = UpDescription::read(data_dir).context("no --api and --api-key given")?;
            (url.clone().unwrap_or(up.api_url), key.clone().unwrap_or(up.admin_key))
        }
    };
    Ok(ApiClient::new(&url, &key))
}

fn chain_of(data_dir: &Path, access: &ChainAccess) -> anyhow::Result<ChainDeployment> {
    let path = access.deployment.clone().unwrap_or_else(|| data_dir.join(DEVNET_FILE));
    let deployment = Deployment::read(&path).with_context(|| format!("reading the chains from {}", path.display()))?;
    Ok(match access.chain_id {
        Some(id) => deployment
            .chains
            .iter()
            .find(|c| c.chain_id == id)
            .cloned()
            .with_context(|| format!("chain {id} is not in {}", path.display()))?,
        None => deployment.chain(ChainRole::L2)?.clone(),
    })
}

async fn change(data_dir: &Path, access: &ApiAccess, job: &str, action: &str) -> anyhow::Result<()> {
    let api = api_of(data_dir, access)?;
    let answer = api.call(reqwest::Method::POST, &format!("/api/jobs/{job}/{action}"), None).await?;
    println!("job {job}: {}", answer["job_data"]["status"].as_str().unwrap_or("changed"));
    Ok(())
}

/// The API body of the job `args` describe, and its task definition id.
fn body_of(args: &JobCreateArgs, chain_id: u64, owner: Address) -> anyhow::Result<(Value, u8)> {
    let abi = match args.abi.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading the ABI from {path}"))?,
        None => args.abi.clone(),
    };
    let mut body = json!({
        "user_address": format!("{owner:#x}"),
        "job_title": args.title,
        "time_frame": args.frame,
        "recurring": !args.once,
        "timezone": args.timezone,
        "created_chain_id": chain_id.to_string(),
        "target_chain_id": chain_id.to_string(),
        "target_contract_address": args.target,
        "target_function": args.function,
        "abi": abi,
        "arg_type": 1,
        "arguments": args.args,
    });
    let set = |body: &mut Value, pairs: Vec<(&str, Value)>| {
        for (key, value) in pairs {
            if !value.is_null() {
                body[key] = value;
            }
        }
    };
    let task_definition_id = if let Some(seconds) = args.every {
        set(&mut body, vec![("schedule_type", json!("interval")), ("time_interval", json!(seconds))]);
        1
    } else if let Some(cron) = &args.cron {
        set(&mut body, vec![("schedule_type", json!("cron")), ("cron_expression", json!(cron))]);
        1
    } else if let Some(at) = &args.at {
        set(&mut body, vec![("schedule_type", json!("specific")), ("specific_schedule", json!(at))]);
        1
    } else if let Some(event) = &args.event {
        set(
            &mut body,
            vec![
                ("trigger_chain_id", json!(chain_id.to_string())),
                ("trigger_contract_address", json!(args.contract)),
                ("trigger_event", json!(event)),
                ("event_filter", json!(args.filter)),
            ],
        );
        3
    } else if let Some(condition) = &args.condition {
        let decimal = |text: &Option<String>, field: &str| -> anyhow::Result<Value> {
            Ok(match text {
                Some(t) => {
                    json!(Decimal::parse(t, field).map_err(|e| anyhow::anyhow!("--{field}: {}", e.message))?.as_str())
                }
                None => Value::Null,
            })
        };
        set(
            &mut body,
            vec![
                ("condition_type", json!(condition)),
                ("lower_limit", decimal(&args.lower, "lower")?),
                ("upper_limit", decimal(&args.upper, "upper")?),
                ("value_source_type", json!(args.source)),
                ("value_source_url", json!(args.source_url)),
                ("selected_key_route", json!(args.route)),
                ("poll_interval", json!(args.poll)),
                ("cooldown", json!(args.cooldown)),
                ("oracle_function", json!(args.oracle_function)),
                ("oracle_decimals", json!(args.oracle_decimals)),
                ("trigger_chain_id", json!(chain_id.to_string())),
            ],
        );
        5
    } else {
        anyhow::bail!("give one trigger: --every, --cron, --at, --event or --condition");
    };
    body["task_definition_id"] = json!(task_definition_id);
    Ok((body, task_definition_id))
}

async fn create(data_dir: &Path, args: JobCreateArgs) -> anyhow::Result<()> {
    let api = api_of(data_dir, &args.access)?;
    let chain = chain_of(data_dir, &args.chain)?;
    let key = args.chain.key.clone().context("--key (or TRIGGERX_USER_KEY) is needed to create the job on-chain")?;
    let owner: PrivateKeySigner = key.trim().trim_start_matches("0x").parse().context("--key is not a private key")?;
    let (mut body, task_definition_id) = body_of(&args, chain.chain_id, owner.address())?;

    // Check everything the API will check before spending gas (the id is a placeholder here).
    body["job_id"] = json!("1");
    let local: CreateJobData = serde_json::from_value(body.clone()).context("building the job")?;
    local.validate(chrono::Utc::now()).map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
    let target: Address = args.target.parse().context("--target is not an address")?;
    let frame = u64::try_from(args.frame).context("--frame must be positive")?;

    if let Some(amount) = &args.deposit {
        let wei = parse_ether(amount).with_context(|| format!("--deposit '{amount}' is not an amount of ETH"))?;
        deposit_gas(&chain.rpc_url, &key, chain.address("TriggerGasRegistry")?, wei).await.context("depositing gas")?;
        println!("deposited {amount} ETH of gas on chain {}", chain.chain_id);
    }
    let registration = JobRegistration::of_type(
        &args.title,
        task_definition_id,
        target,
        frame,
        args.every.and_then(|s| u64::try_from(s).ok()).unwrap_or(1),
        !args.once,
    );
    let job_id = register_job(&chain.rpc_url, &key, chain.address("JobRegistry")?, &registration)
        .await
        .context("registering the job in the JobRegistry")?;
    println!("registered job {job_id} on chain {} (owner {:#x})", chain.chain_id, owner.address());
    body["job_id"] = json!(job_id.to_string());
    api.create_jobs(&[body]).await?;
    println!("job {job_id} created: it runs from now on; `triggerx job show {job_id}` follows it");
    Ok(())
}

fn print_list(page: &Value) {
    let jobs = page["jobs"].as_array().cloned().unwrap_or_default();
    if jobs.is_empty() {
        println!("no jobs");
        return;
    }
    println!("{:<48} {:<10} {:<10} {:<24} title", "job id", "trigger", "status", "last executed");
    for job in jobs {
        let data = &job["job_data"];
        let trigger = if !job["time_job_data"].is_null() {
            "time"
        } else if !job["event_job_data"].is_null() {
            "event"
        } else {
            "condition"
        };
        println!(
            "{:<48} {:<10} {:<10} {:<24} {}",
            data["job_id"].as_str().map(str::to_string).unwrap_or_else(|| data["job_id"].to_string()),
            trigger,
            data["status"].as_str().unwrap_or(""),
            data["last_executed_at"].as_str().unwrap_or("-"),
            data["job_title"].as_str().unwrap_or("")
        );
    }
}
