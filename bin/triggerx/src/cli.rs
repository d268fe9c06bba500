//! Command-line interface: global options and one subcommand per service or tool.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::logging::LogFormat;

/// TriggerX: a keeper network that automates smart-contract calls.
#[derive(Debug, Parser)]
#[command(name = "triggerx", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// Directory for local state (the SQLite database, keys).
    #[arg(long, global = true, env = "TRIGGERX_DATA_DIR", default_value = ".triggerx")]
    pub data_dir: PathBuf,
    /// Database URL (sqlite://FILE or postgres://...); defaults to SQLite in the data directory.
    #[arg(long, global = true, env = "TRIGGERX_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "TRIGGERX_LOG_FORMAT")]
    pub log_format: LogFormat,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything locally in one process: two chains, API, registrar, health, dispatcher and keepers.
    Up(UpArgs),
    /// Run the trigger schedulers as their own process, sending task requests through Redis (several
    /// may run against one PostgreSQL store: one works, the others take over if it dies).
    Scheduler(SchedulerArgs),
    /// Request a task for a job of the running `triggerx up` and follow it to its end.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Create and manage your jobs: on-chain in the JobRegistry with your key, then through the API.
    #[command(subcommand)]
    Job(triggerx_client::owner::JobCommand),
    /// Run the REST API server.
    Api(ApiArgs),
    /// Manage API keys.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Start two local chains (L1 and L2) with TriggerX deployed, or deploy to existing chains.
    Devnet(DevnetArgs),
    /// Run a keeper node from its config file; `keygen` makes its keys, `register` registers it on L1.
    Keeper(KeeperArgs),
    /// Follow keeper registrations on L1 into the store and every chain's hub.
    Registrar(RegistrarArgs),
    /// Run the dispatcher as its own process: task requests from Redis, assignments to keepers over
    /// P2P, outcomes from the chains, state in the store (several may share one PostgreSQL store).
    Dispatcher(DispatcherArgs),
    /// Accept signed keeper check-ins, track liveness, alert when keepers go offline and come back.
    Health(HealthArgs),
    /// Collect keepers' attestations over P2P and settle each task on the AttestationCenter once a
    /// quorum agrees (anyone may run one; the center takes one settlement per task attempt).
    Aggregator(AggregatorArgs),
    /// Run a job script locally in the sandbox, as the dispatcher runs it, and print what it returns.
    #[command(subcommand)]
    Script(ScriptCommand),
    /// Measure performance.
    #[command(subcommand)]
    Bench(triggerx_bench::BenchCommand),
    /// Run a network of separate processes (up, 2 dispatchers, 2 schedulers, 4 keepers, a private
    /// PostgreSQL and Redis) under jobs of every kind, inject faults at random (SIGKILL of keepers,
    /// dispatchers and schedulers, Redis or PostgreSQL down, nodes answering or taking transactions 35 s
    /// late), then check that no occurrence was lost, doubled or stranded.
    Chaos(triggerx_bench::chaos::ChaosArgs),
}

/// `triggerx health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Address of the check-in server.
    #[arg(long, env = "TRIGGERX_HEALTH_LISTEN", default_value = "127.0.0.1:9004")]
    pub listen: SocketAddr,
    /// Seconds of silence after which a keeper is offline.
    #[arg(long, default_value_t = 70)]
    pub offline_after: u64,
    /// Seconds offline after which an alert goes out.
    #[arg(long, default_value_t = 600)]
    pub alert_after: u64,
    /// Telegram Bot API base URL.
    #[arg(long, env = "TRIGGERX_TELEGRAM_URL", default_value = "https://api.telegram.org")]
    pub telegram_url: String,
    /// Telegram bot token (enables Telegram alerts).
    #[arg(long, env = "TRIGGERX_TELEGRAM_TOKEN", hide_env_values = true)]
    pub telegram_token: Option<String>,
    /// Chat for keepers that linked none.
    #[arg(long, env = "TRIGGERX_TELEGRAM_CHAT_ID")]
    pub telegram_chat_id: Option<i64>,
    /// SMTP host (enables e-mail alerts).
    #[arg(long, env = "TRIGGERX_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port.
    #[arg(long, env = "TRIGGERX_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// Use STARTTLS (default on; turn off only for a local relay).
    #[arg(long, env = "TRIGGERX_SMTP_STARTTLS", default_value_t = true, action = clap::ArgAction::Set)]
    pub smtp_starttls: bool,
    /// Sender address of alert e-mails.
    #[arg(long, env = "TRIGGERX_SMTP_FROM", default_value = "triggerx@localhost")]
    pub smtp_from: String,
    /// Recipient for keepers without an e-mail on record.
    #[arg(long, env = "TRIGGERX_SMTP_TO")]
    pub smtp_to: Option<String>,
    /// URL receiving a JSON POST per alert.
    #[arg(long, env = "TRIGGERX_ALERT_WEBHOOK")]
    pub webhook_url: Option<String>,
}

/// `triggerx keeper`.
#[derive(Debug, Args)]
pub struct KeeperArgs {
    /// Keeper config file (TOML; default: keeper.toml in the data directory).
    #[arg(long, global = true, env = "TRIGGERX_KEEPER_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<KeeperCommand>,
}

/// `triggerx keeper ...`.
#[derive(Debug, Subcommand)]
pub enum KeeperCommand {
    /// Create the controller, consensus and BLS keys as encrypted keystores (password from
    /// TRIGGERX_KEYSTORE_PASSWORD or asked).
    Keygen {
        /// Directory for controller.json, consensus.json and bls.json.
        #[arg(long)]
        out: PathBuf,
        /// File holding an existing (funded) key to use as the controller instead of a new one (or
        /// the key in TRIGGERX_CONTROLLER_KEY; keys are never taken from the command line, where any
        /// user's `ps` shows them).
        #[arg(long, value_name = "FILE")]
        controller_key_file: Option<PathBuf>,
    },
    /// Register the keeper on L1's KeeperRegistry (consensus address, BLS key, voting power).
    Register,
}

/// `triggerx aggregator`.
#[derive(Debug, Args)]
pub struct AggregatorArgs {
    /// The network to join: its dispatcher, P2P bootstrap peers and chains (default: up.json in the
    /// data directory, as `triggerx up` writes it).
    #[arg(long, env = "TRIGGERX_JOIN")]
    pub join: Option<PathBuf>,
    /// File holding the key that pays for settlements (or the key in TRIGGERX_AGGREGATOR_KEY); give the
    /// aggregator an account of its own.
    #[arg(long, value_name = "FILE")]
    pub submitter_key_file: Option<PathBuf>,
    /// P2P listen address.
    #[arg(long, env = "TRIGGERX_P2P_LISTEN", default_value = "/ip4/127.0.0.1/tcp/0")]
    pub p2p_listen: String,
    /// First block of the AttestationCenter's operator events.
    #[arg(long, default_value_t = 0)]
    pub from_block: u64,
}

/// `triggerx registrar`.
#[derive(Debug, Args)]
pub struct RegistrarArgs {
    /// Deployment file naming the chains and contracts (default: devnet.json in the data directory).
    #[arg(long)]
    pub deployment: Option<PathBuf>,
    /// File holding the key of the hubs' admin (or the key in TRIGGERX_ADMIN_KEY; default: the
    /// deployment's first dev account).
    #[arg(long, value_name = "FILE")]
    pub admin_key_file: Option<PathBuf>,
    /// L1 confirmations before a registration counts.
    #[arg(long, default_value_t = 1)]
    pub confirmations: u64,
}

/// Where the schedulers' task requests go and which chains they concern (`scheduler`, `dispatcher`).
#[derive(Debug, Args)]
pub struct TaskStreamArgs {
    /// Redis the task requests go through (the schedulers' stream).
    #[arg(long, env = "TRIGGERX_REDIS_URL")]
    pub redis_url: String,
    /// Key of the Redis stream task requests go through.
    #[arg(long, env = "TRIGGERX_REDIS_STREAM", default_value = "triggerx:task-requests")]
    pub redis_stream: String,
    /// Deployment file naming the chains and contracts (default: devnet.json in the data directory).
    #[arg(long, env = "TRIGGERX_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
}

impl TaskStreamArgs {
    /// The Redis stream's settings.
    pub fn queue(&self) -> triggerx_queue::RedisQueueConfig {
        triggerx_queue::RedisQueueConfig {
            stream: self.redis_stream.clone(),
            ..triggerx_queue::RedisQueueConfig::new(&self.redis_url)
        }
    }
}

/// `triggerx dispatcher`.
#[derive(Debug, Args)]
pub struct DispatcherArgs {
    /// The task stream and the chains.
    #[command(flatten)]
    pub stream: TaskStreamArgs,
    /// This dispatcher's name in task leases and the stream's consumer group; keep it stable across
    /// restarts (default: dispatcher-<host name>).
    #[arg(long, env = "TRIGGERX_DISPATCHER_NAME")]
    pub name: Option<String>,
    /// File holding the signing key (made, mode 0600, if missing; default: dispatcher.key in the data
    /// directory). Dispatchers sharing a store share this key.
    #[arg(long, env = "TRIGGERX_DISPATCHER_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// File holding the key of the hubs' admin (or the key in TRIGGERX_ADMIN_KEY): makes every hub
    /// trust this dispatcher's key if it does not yet (default: none; a hub that does not trust the
    /// key is an error).
    #[arg(long, value_name = "FILE")]
    pub admin_key_file: Option<PathBuf>,
    /// P2P listen address.
    #[arg(long, env = "TRIGGERX_P2P_LISTEN", default_value = "/ip4/127.0.0.1/tcp/0")]
    pub p2p_listen: String,
    /// P2P peers to join through (each ending in /p2p/<peer id>).
    #[arg(long = "p2p-bootstrap", env = "TRIGGERX_P2P_BOOTSTRAP", value_delimiter = ',')]
    pub p2p_bootstrap: Vec<String>,
    /// Blocks an execution must be buried under before it counts (0 for automining chains).
    #[arg(long, default_value_t = 1)]
    pub confirmations: u64,
    /// Seconds a performer has to get its transaction mined (the assignment's on-chain deadline).
    #[arg(long, default_value_t = 30)]
    pub deadline_secs: u64,
    /// Assignments per task before it fails.
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u32,
    /// Fee paid to the keeper on top of the gas, wei.
    #[arg(long, default_value_t = triggerx_chain::cost::DEFAULT_FIXED_FEE_WEI.to_string())]
    pub keeper_fee_wei: String,
    /// Most a job owner pays for one execution, wei.
    #[arg(long, default_value_t = triggerx_dispatcher::config::DEFAULT_MAX_FEE_WEI.to_string())]
    pub max_fee_wei: String,
    /// Where to write the dispatcher's address and P2P addresses for keepers (default:
    /// dispatcher.json in the data directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Gateway `ipfs://` script URLs are read through.
    #[arg(long, env = "TRIGGERX_IPFS_GATEWAY", default_value = "https://ipfs.io")]
    pub ipfs_gateway: String,
    /// An internal address range job scripts' `fetch` may reach (e.g. 10.0.0.0/8), repeatable; by
    /// default scripts reach public addresses only.
    #[arg(long = "allow-script-range", value_name = "CIDR")]
    pub allow_script_ranges: Vec<triggerx_scheduler::IpNet>,
}

/// `triggerx devnet`.
#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Seconds between blocks; 0 mines a block for every transaction.
    #[arg(long, default_value_t = 1.0)]
    pub block_time: f64,
    /// Deployment file to write (default: devnet.json in the data directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Port of the L1 chain (default: a free one).
    #[arg(long)]
    pub l1_port: Option<u16>,
    /// Port of the L2 chain (default: a free one).
    #[arg(long)]
    pub l2_port: Option<u16>,
    /// Deploy to existing chains instead: `l1=URL` and `l2=URL` (needs --deployer-key).
    #[arg(long = "rpc-url", value_name = "ROLE=URL")]
    pub rpc_urls: Vec<String>,
    /// Private key that deploys to existing chains.
    #[arg(long, env = "TRIGGERX_DEPLOYER_KEY", hide_env_values = true)]
    pub deployer_key: Option<String>,
}

/// `triggerx up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Keepers to run in this process (0: only keepers that join, e.g. `triggerx keeper` with
    /// `join = "up.json"`).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(0..=7))]
    pub keepers: u8,
    /// Seconds between blocks; 0 mines on every transaction.
    #[arg(long, default_value_t = 1.0)]
    pub block_time: f64,
    /// Address of the REST API.
    #[arg(long, default_value = "127.0.0.1:9002")]
    pub api_listen: SocketAddr,
    /// Address of the health service.
    #[arg(long, default_value = "127.0.0.1:9004")]
    pub health_listen: SocketAddr,
    /// Where to write what was started (default: up.json in the data directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Send task requests through this Redis (a stream with a consumer group) instead of in-process,
    /// so `triggerx scheduler` processes can feed this dispatcher.
    #[arg(long, env = "TRIGGERX_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Run no trigger schedulers here (they run as `triggerx scheduler` processes; needs --redis-url).
    #[arg(long, requires = "redis_url")]
    pub no_schedulers: bool,
    /// Run no dispatcher here (it runs as `triggerx dispatcher` processes with this data directory's
    /// dispatcher.key; needs --redis-url). The hubs trust that key and the keepers accept it.
    #[arg(long, requires = "redis_url")]
    pub no_dispatcher: bool,
    /// Key of the Redis stream task requests go through.
    #[arg(long, env = "TRIGGERX_REDIS_STREAM", default_value = "triggerx:task-requests")]
    pub redis_stream: String,
    /// Seconds a performer has to get its transaction mined (the assignments' on-chain deadline).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..))]
    pub deadline_secs: u64,
    /// After start-up, create one demo job of each kind (time, event, condition) and print each
    /// occurrence, its task and the transaction that executed it.
    #[arg(long)]
    pub demo: bool,
    /// Gateway `ipfs://` script URLs are read through.
    #[arg(long, env = "TRIGGERX_IPFS_GATEWAY", default_value = "https://ipfs.io")]
    pub ipfs_gateway: String,
}

/// `triggerx scheduler`.
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// The task stream and the chains.
    #[command(flatten)]
    pub stream: TaskStreamArgs,
    /// Name of this process in the lease table (default: scheduler-<pid>).
    #[arg(long)]
    pub name: Option<String>,
    /// Milliseconds a lease lasts without renewal: how soon a standby takes over from a dead scheduler.
    #[arg(long, default_value_t = 5_000)]
    pub lease_ttl_ms: u64,
    /// Blocks a log waits before its event jobs fire (0 for automining chains).
    #[arg(long, default_value_t = 1)]
    pub confirmations: u64,
    /// An internal address range condition sources may reach (e.g. 10.0.0.0/8), repeatable; by default
    /// only public addresses are called (never loopback, private, link-local or metadata addresses).
    #[arg(long = "allow-source-range", value_name = "CIDR")]
    pub allow_source_ranges: Vec<triggerx_scheduler::IpNet>,
}

/// `triggerx task ...`.
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Run one occurrence of a job now and wait for its outcome.
    Run {
        /// The job id.
        #[arg(long)]
        job: String,
        /// Occurrence key (default: a fresh one).
        #[arg(long)]
        occurrence: Option<String>,
        /// Seconds to wait for the outcome.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
}

/// `triggerx api`.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Address to listen on.
    #[arg(long, env = "TRIGGERX_API_LISTEN", default_value = "127.0.0.1:9002")]
    pub listen: SocketAddr,
    /// Redis URL for rate limits shared between API servers.
    #[arg(long, env = "TRIGGERX_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Deployment file naming the chains fees are predicted on (default: devnet.json in the data
    /// directory, when it exists).
    #[arg(long, env = "TRIGGERX_DEPLOYMENT")]
    pub deployment: Option<PathBuf>,
    /// An internal address range condition sources of new jobs may name (e.g. 10.0.0.0/8), repeatable;
    /// by default jobs naming loopback, private, link-local or metadata addresses are refused.
    #[arg(long = "allow-source-range", value_name = "CIDR")]
    pub allow_source_ranges: Vec<triggerx_scheduler::IpNet>,
    /// Most live jobs (pending, running, paused) one owner's key may have (admin keys are not limited).
    #[arg(long, env = "TRIGGERX_MAX_JOBS_PER_OWNER", default_value_t = triggerx_api::DEFAULT_MAX_LIVE_JOBS_PER_OWNER)]
    pub max_live_jobs_per_owner: i64,
    /// Most live jobs firing every --fast-period-secs or more often one owner's key may have.
    #[arg(long, env = "TRIGGERX_MAX_FAST_JOBS_PER_OWNER", default_value_t = triggerx_api::DEFAULT_MAX_FAST_JOBS_PER_OWNER)]
    pub max_fast_jobs_per_owner: i64,
    /// The period (interval, cron gap, condition poll) at or under which a job counts as fast.
    #[arg(long, default_value_t = triggerx_api::DEFAULT_FAST_PERIOD_MS / 1000)]
    pub fast_period_secs: i64,
    /// Gateway `ipfs://` script URLs are read through.
    #[arg(long, env = "TRIGGERX_IPFS_GATEWAY", default_value = "https://ipfs.io")]
    pub ipfs_gateway: String,
}

/// `triggerx script ...`.
#[derive(Debug, Subcommand)]
pub enum ScriptCommand {
    /// Run FILE once: `main(input)` with the input below, fetch limited to --allow-host, and print the
    /// output, the storage it would write, its console lines and every host call.
    Run(ScriptRunArgs),
}

/// `triggerx script run`.
#[derive(Debug, Args)]
pub struct ScriptRunArgs {
    /// The script (JavaScript defining `main(input)`).
    pub file: PathBuf,
    /// JSON given to main as `input.args` (e.g. '{"symbol": "ETH"}').
    #[arg(long)]
    pub args: Option<String>,
    /// JSON object given to main as its whole input instead (e.g. a trigger: '{"trigger": {...}}').
    #[arg(long, conflicts_with = "args")]
    pub input: Option<String>,
    /// A host the script's fetch may reach (`host` or `host:port`), repeatable.
    #[arg(long = "allow-host")]
    pub allow_hosts: Vec<String>,
    /// Let fetch reach loopback and private addresses too (a local test server).
    #[arg(long)]
    pub allow_internal: bool,
    /// JSON object of the job storage the run sees (e.g. '{"runs": "3"}').
    #[arg(long)]
    pub storage: Option<String>,
    /// RPC URL for the script's ethCall (its chain id is read from the node).
    #[arg(long)]
    pub rpc_url: Option<String>,
}

/// `triggerx apikey ...`.
#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create a key and print it (the only time it is shown).
    Create(ApikeyCreateArgs),
    /// List keys (without secrets).
    List,
    /// Revoke a key, given the key itself or its id.
    Revoke {
        /// The key (TGRX-...) or its numeric id.
        key: String,
    },
}

/// `triggerx apikey create`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("role").required(true).args(["owner", "admin"])))]
pub struct ApikeyCreateArgs {
    /// Owner address: the key sees and changes only this owner's jobs.
    #[arg(long)]
    pub owner: Option<String>,
    /// An admin key: manages keys and keepers, sees everything.
    #[arg(long)]
    pub admin: bool,
    /// Requests per minute.
    #[arg(long)]
    pub rate_limit: Option<i64>,
}
