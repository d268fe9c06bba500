//! `triggerx job ...`: what a job owner does, with its arguments. `create` checks the job locally first (so a bad job costs
//! no gas), registers it in the JobRegistry of its chain with the owner's key, deposits gas if asked,
//! then posts it to the API; `list`, `show`, `pause`, `resume` and `delete` go through the API (and
//! `delete` through the registry too when given the key).

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, U256, utils::parse_ether};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{Value, json};
use triggerx_api::wire::CreateJobData;
use triggerx_chain::bindings::JobRegistry;
use triggerx_chain::deploy::{ChainDeployment, ChainRole, wallet_provider};
use triggerx_chain::deployment::{DEVNET_FILE, Deployment};
use triggerx_chain::jobs::{JobRegistration, deposit_gas, register_job};
use triggerx_core::numbers::Decimal;

use crate::ApiClient;

/// Where the API is and which key to use (default: those of the running `triggerx up`).
#[derive(Debug, Args)]
pub struct ApiAccess {
    /// REST API base URL (default: the one in up.json of the data directory).
    #[arg(long, env = "TRIGGERX_API_URL")]
    pub api: Option<String>,
    /// API key (default: the admin key in up.json of the data directory).
    #[arg(long, env = "TRIGGERX_API_KEY")]
    pub api_key: Option<String>,
}

/// `triggerx job ...`.
#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Create a job: checks it, registers it in the JobRegistry with your key, deposits gas if asked,
    /// then posts it to the API. Give exactly one trigger: --every/--cron/--at, --event or --condition.
    Create(Box<JobCreateArgs>),
    /// List jobs (yours with an owner key; --owner filters with an admin key).
    List {
        #[command(flatten)]
        access: ApiAccess,
        /// Only this owner's jobs.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Show one job with its trigger, state and recent tasks.
    Show {
        #[command(flatten)]
        access: ApiAccess,
        /// Job id.
        job: String,
    },
    /// Pause a job: no occurrence fires until it is resumed.
    Pause {
        #[command(flatten)]
        access: ApiAccess,
        /// Job id.
        job: String,
    },
    /// Resume a paused job.
    Resume {
        #[command(flatten)]
        access: ApiAccess,
        /// Job id.
        job: String,
    },
    /// Delete a job (and, with --key, delete it in the JobRegistry too).
    Delete {
        #[command(flatten)]
        access: ApiAccess,
        #[command(flatten)]
        chain: ChainAccess,
        /// Job id.
        job: String,
    },
}

/// The chain a job lives on and the owner's key.
#[derive(Debug, Args)]
pub struct ChainAccess {
    /// Owner's private key (hex).
    #[arg(long, env = "TRIGGERX_USER_KEY", hide_env_values = true)]
    pub key: Option<String>,
    /// Deployment file naming the chains (default: devnet.json in the data directory).
    #[arg(long, env = "TRIGGERX_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
    /// Chain id the job is created on and calls (default: the deployment's L2).
    #[arg(long)]
    pub chain_id: Option<u64>,
}

/// `triggerx job create`.
#[derive(Debug, Args)]
pub struct JobCreateArgs {
    #[command(flatten)]
    pub access: ApiAccess,
    #[command(flatten)]
    pub chain: ChainAccess,
    /// Title.
    #[arg(long, default_value = "")]
    pub title: String,
    /// Seconds the job stays valid.
    #[arg(long, default_value_t = 3600)]
    pub frame: i64,
    /// Fire once, then complete.
    #[arg(long)]
    pub once: bool,
    /// Contract the job calls.
    #[arg(long)]
    pub target: String,
    /// Function it calls (name, e.g. incrementBy).
    #[arg(long)]
    pub function: String,
    /// JSON ABI holding the function, inline or @file.
    #[arg(long)]
    pub abi: String,
    /// Static arguments, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub args: Vec<String>,
    /// Time trigger: every N seconds.
    #[arg(long, group = "trigger")]
    pub every: Option<i64>,
    /// Time trigger: cron expression (seconds field optional), e.g. "*/5 * * * * *".
    #[arg(long, group = "trigger")]
    pub cron: Option<String>,
    /// Time trigger: instants (RFC 3339, comma-separated).
    #[arg(long, group = "trigger")]
    pub at: Option<String>,
    /// IANA time zone of --cron and --at.
    #[arg(long, default_value = "UTC")]
    pub timezone: String,
    /// Event trigger: event signature, e.g. "Transfer(address indexed from, address indexed to, uint256 value)".
    #[arg(long, group = "trigger", requires = "contract")]
    pub event: Option<String>,
    /// Event trigger: contract emitting it.
    #[arg(long)]
    pub contract: Option<String>,
    /// Event trigger: filter, e.g. "value > 1000 && to == 0xabc...".
    #[arg(long)]
    pub filter: Option<String>,
    /// Condition trigger: greater_than, greater_equal, less_than, less_equal, between, equals, not_equals.
    #[arg(long, group = "trigger", requires = "source_url")]
    pub condition: Option<String>,
    /// Condition trigger: lower limit.
    #[arg(long)]
    pub lower: Option<String>,
    /// Condition trigger: upper limit.
    #[arg(long)]
    pub upper: Option<String>,
    /// Condition trigger: api, websocket, oracle or static.
    #[arg(long, default_value = "api")]
    pub source: String,
    /// Condition trigger: URL (api, websocket), contract (oracle) or constant (static).
    #[arg(long)]
    pub source_url: Option<String>,
    /// Condition trigger: dot path to the value (api, websocket) or output index (oracle).
    #[arg(long)]
    pub route: Option<String>,
    /// Condition trigger: seconds between reads.
    #[arg(long)]
    pub poll: Option<i64>,
    /// Condition trigger: least seconds between two firings.
    #[arg(long)]
    pub cooldown: Option<i64>,
    /// Condition trigger, oracle source: view function with outputs, e.g. "latestAnswer() returns (int256)".
    #[arg(long)]
    pub oracle_function: Option<String>,
    /// Condition trigger, oracle source: decimals of the value read.
    #[arg(long)]
    pub oracle_decimals: Option<u8>,
    /// Deposit this much ETH of gas for your jobs first (e.g. 0.5).
    #[arg(long)]
    pub deposit: Option<String>,
}

/// The parts of a running `triggerx up`'s `up.json` the CLI calls the API with.
#[derive(Deserialize)]
struct UpAccess {
    api_url: String,
    admin_key: String,
}

impl UpAccess {
    fn read(data_dir: &Path) -> anyhow::Result<UpAccess> {
        let path = data_dir.join("up.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {} (is `triggerx up` running with this --data-dir?)", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

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
            let up = UpAccess::read(data_dir).context("no --api and --api-key given")?;
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
    // And what only the server knows (the hosts it lets sources reach, the owner's quota, its chains).
    api.check_jobs(std::slice::from_ref(&body)).await?;
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
