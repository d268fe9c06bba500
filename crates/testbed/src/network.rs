//! A whole TriggerX network of separate processes for fault injection: a private PostgreSQL and
//! Redis, `triggerx up` (the two chains, API, registrar, health, and optionally the dispatcher,
//! schedulers and some keepers), then `triggerx dispatcher`, `triggerx scheduler` and `triggerx keeper`
//! processes, each keeper behind its own RPC proxy. Every part can be killed and started again.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use serde::Deserialize;
use serde_json::{Value, json};
use triggerx_chain::deploy::{ChainDeployment, ChainRole};
use triggerx_chain::deployment::DevAccount;
use triggerx_core::ids::JobId;
use triggerx_store::Store;

use crate::TestbedError;
use crate::invariant::HubChain;
use crate::postgres::PrivatePostgres;
use crate::process::ServiceProcess;
use crate::redis_server::PrivateRedis;
use crate::rpc_proxy::RpcProxy;

/// How long `triggerx up` may take to start.
const UP_PATIENCE: Duration = Duration::from_secs(240);
/// Password of the external keepers' keystores (test networks only).
const KEYSTORE_PASSWORD: &str = "testbed-only";

/// What to start.
#[derive(Debug, Clone)]
pub struct NetworkOptions {
    /// The `triggerx` binary.
    pub binary: PathBuf,
    /// Where data and logs go.
    pub dir: PathBuf,
    /// Keepers inside `triggerx up`.
    pub keepers_in_up: u8,
    /// `triggerx keeper` processes, each behind its own RPC proxy to L2.
    pub external_keepers: usize,
    /// `triggerx dispatcher` processes (0: the dispatcher runs inside `up`).
    pub dispatchers: usize,
    /// `triggerx scheduler` processes (0: the schedulers run inside `up`).
    pub schedulers: usize,
    /// Seconds between blocks.
    pub block_time: f64,
    /// The assignments' on-chain deadline, seconds.
    pub deadline_secs: u64,
}

/// `up.json`, the parts the testbed reads.
#[derive(Debug, Clone, Deserialize)]
pub struct UpFile {
    /// REST API base URL.
    pub api_url: String,
    /// Admin API key.
    pub admin_key: String,
    /// Assignments' signer.
    pub dispatcher: Address,
    /// The chains.
    pub chains: Vec<ChainDeployment>,
}

/// A running network. Its parts stop in field order when it is dropped: the services first, the
/// databases they use last.
pub struct Network {
    /// External keepers and the proxies in front of their L2 RPC.
    pub keepers: Vec<(ServiceProcess, RpcProxy)>,
    /// External dispatchers.
    pub dispatchers: Vec<ServiceProcess>,
    /// External schedulers.
    pub schedulers: Vec<ServiceProcess>,
    /// `triggerx up`.
    pub up: ServiceProcess,
    /// What `up` wrote.
    pub up_file: UpFile,
    /// Funded accounts (index 0 administers the contracts).
    pub accounts: Vec<DevAccount>,
    /// The store, opened by the testbed.
    pub store: Store,
    /// The store's database.
    pub postgres: PrivatePostgres,
    /// The task stream's Redis.
    pub redis: PrivateRedis,
    options: NetworkOptions,
}

#[derive(Deserialize)]
struct DevnetFile {
    accounts: Vec<DevAccount>,
}

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

impl Network {
    /// Starts everything and waits until every keeper is online.
    pub async fn start(options: NetworkOptions) -> Result<Network, TestbedError> {
        std::fs::create_dir_all(&options.dir).map_err(TestbedError::io("creating the network directory"))?;
        let postgres = PrivatePostgres::start().await?;
        let redis = PrivateRedis::start().await?;
        let data = options.dir.join("data");
        let data_arg = data.display().to_string();
        let mut up_args: Vec<String> = [
            "--data-dir",
            &data_arg,
            "--database-url",
            &postgres.url(),
            "up",
            "--block-time",
            &options.block_time.to_string(),
            "--keepers",
            &options.keepers_in_up.to_string(),
            "--deadline-secs",
            &options.deadline_secs.to_string(),
            "--api-listen",
            "127.0.0.1:0",
            "--health-listen",
            "127.0.0.1:0",
            "--redis-url",
            &redis.url(),
        ]
        .map(String::from)
        .to_vec();
        if options.schedulers > 0 {
            up_args.push("--no-schedulers".into());
        }
        if options.dispatchers > 0 {
            up_args.push("--no-dispatcher".into());
        }
        let up_args: Vec<OsString> = up_args.into_iter().map(OsString::from).collect();
        let up = ServiceProcess::spawn("up", &options.binary, up_args, Vec::new(), options.dir.join("up.log"))?;
        let up_path = data.join("up.json");
        let started = Instant::now();
        let mut up = up;
        while !up_path.is_file() {
            if !up.is_running() {
                return Err(TestbedError::Tool(format!("triggerx up exited early:\n{}", tail(&up.log()))));
            }
            if started.elapsed() > UP_PATIENCE {
                return Err(TestbedError::Tool(format!("up.json not written within {UP_PATIENCE:?}")));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(TestbedError::io(format!("reading {}", path.display())))
        };
        let up_file: UpFile =
            serde_json::from_str(&read(&up_path)?).map_err(|e| TestbedError::Tool(format!("up.json: {e}")))?;
        let devnet: DevnetFile = serde_json::from_str(&read(&data.join("devnet.json"))?)
            .map_err(|e| TestbedError::Tool(format!("devnet.json: {e}")))?;
        let store = Store::connect(&postgres.url()).await?;
        let mut network = Network {
            keepers: Vec::new(),
            dispatchers: Vec::new(),
            schedulers: Vec::new(),
            up,
            up_file,
            accounts: devnet.accounts,
            store,
            postgres,
            redis,
            options: options.clone(),
        };
        for i in 0..options.dispatchers {
            let process = network.dispatcher_process(i)?;
            network.dispatchers.push(process);
        }
        for i in 0..options.schedulers {
            let process = network.scheduler_process(i)?;
            network.schedulers.push(process);
        }
        for i in 0..options.external_keepers {
            let keeper = network.keeper_process(i).await?;
            network.keepers.push(keeper);
        }
        network.wait_for_keepers(Duration::from_secs(90)).await?;
        Ok(network)
    }

    /// The chain with `role`.
    pub fn chain(&self, role: ChainRole) -> Result<&ChainDeployment, TestbedError> {
        self.up_file.chains.iter().find(|c| c.role == role).ok_or_else(|| TestbedError::Tool(format!("no {role:?}")))
    }

    /// The hubs, for the invariant.
    pub fn hubs(&self) -> Result<Vec<HubChain>, TestbedError> {
        self.up_file.chains.iter().map(|c| Ok(HubChain { rpc_url: c.rpc_url.clone(), hub: c.contracts.hub })).collect()
    }

    fn global_args(&self) -> Vec<String> {
        vec![
            "--data-dir".into(),
            self.options.dir.join("data").display().to_string(),
            "--database-url".into(),
            self.postgres.url(),
        ]
    }

    fn dispatcher_process(&self, index: usize) -> Result<ServiceProcess, TestbedError> {
        let mut list = self.global_args();
        let name = format!("dispatcher-{index}");
        let out = self.options.dir.join(format!("{name}.json")).display().to_string();
        list.extend(
            [
                "dispatcher",
                "--redis-url",
                &self.redis.url(),
                "--name",
                &name,
                "--confirmations",
                "1",
                "--deadline-secs",
                &self.options.deadline_secs.to_string(),
                "--out",
                &out,
            ]
            .map(String::from),
        );
        let bootstrap = self.bootstrap()?;
        if !bootstrap.is_empty() {
            list.push("--p2p-bootstrap".into());
            list.push(bootstrap.join(","));
        }
        let log = self.options.dir.join(format!("{name}.log"));
        ServiceProcess::spawn(
            &name,
            &self.options.binary,
            list.into_iter().map(OsString::from).collect(),
            Vec::new(),
            log,
        )
    }

    fn scheduler_process(&self, index: usize) -> Result<ServiceProcess, TestbedError> {
        let mut list = self.global_args();
        let name = format!("scheduler-{index}");
        list.extend(
            [
                "scheduler",
                "--redis-url",
                &self.redis.url(),
                "--name",
                &name,
                "--confirmations",
                "1",
                "--allow-source-range",
                "127.0.0.0/8",
            ]
            .map(String::from),
        );
        let log = self.options.dir.join(format!("{name}.log"));
        ServiceProcess::spawn(
            &name,
            &self.options.binary,
            list.into_iter().map(OsString::from).collect(),
            Vec::new(),
            log,
        )
    }

    fn bootstrap(&self) -> Result<Vec<String>, TestbedError> {
        let path = self.options.dir.join("data").join("up.json");
        let text = std::fs::read_to_string(&path).map_err(TestbedError::io("reading up.json"))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| TestbedError::Tool(format!("up.json: {e}")))?;
        Ok(value["p2p_bootstrap"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(String::from))
            .collect())
    }

    /// Account index of external keeper `index` (after up's own keepers).
    fn keeper_account(&self, index: usize) -> usize {
        usize::from(self.options.keepers_in_up) + 1 + index
    }

    async fn keeper_process(&self, index: usize) -> Result<(ServiceProcess, RpcProxy), TestbedError> {
        let account = self
            .accounts
            .get(self.keeper_account(index))
            .cloned()
            .ok_or_else(|| TestbedError::Tool(format!("no dev account left for external keeper {index}")))?;
        let (l1, l2) = (self.chain(ChainRole::L1)?.clone(), self.chain(ChainRole::L2)?.clone());
        let proxy = RpcProxy::start(&l2.rpc_url).await?;
        let registry = l1.keeper_registry()?;
        triggerx_chain::keepers::whitelist_keepers(
            &l1.rpc_url,
            &self.accounts[0].private_key,
            registry,
            vec![account.address],
        )
        .await?;
        let dir = self.options.dir.join(format!("keeper-{index}"));
        std::fs::create_dir_all(&dir).map_err(TestbedError::io("keeper directory"))?;
        let keys = triggerx_keeper::keys::KeeperKeys::generate(Some(triggerx_chain::deploy::signer_from_key(
            &account.private_key,
        )?));
        keys.write_keystores(&dir, KEYSTORE_PASSWORD).map_err(|e| TestbedError::Tool(e.to_string()))?;
        let config = format!(
            "join = {join:?}\nvoting_power = 100\ncheckin_interval_secs = 5\n\n[keys]\ncontroller = \"controller.json\"\n\
             consensus = \"consensus.json\"\nbls = \"bls.json\"\n\n[[chains]]\nchain_id = {chain}\nrpc_url = {url:?}\n\
             [chains.contracts]\nTaskExecutionHub = \"{hub}\"\nTriggerGasRegistry = \"{gas}\"\nJobRegistry = \"{jobs}\"\n",
            join = self.options.dir.join("data").join("up.json").display().to_string(),
            chain = l2.chain_id,
            url = proxy.url,
            hub = l2.contracts.hub,
            gas = l2.contracts.gas_registry,
            jobs = l2.contracts.job_registry,
        );
        let config_path = dir.join("keeper.toml");
        std::fs::write(&config_path, config).map_err(TestbedError::io("writing keeper.toml"))?;
        let env = vec![("TRIGGERX_KEYSTORE_PASSWORD".to_string(), KEYSTORE_PASSWORD.to_string())];
        let config_arg = config_path.display().to_string();
        let register = std::process::Command::new(&self.options.binary)
            .args(["keeper", "--config", &config_arg, "register"])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .map_err(TestbedError::io("triggerx keeper register"))?;
        if !register.status.success() {
            return Err(TestbedError::Tool(format!("keeper register: {}", String::from_utf8_lossy(&register.stderr))));
        }
        let name = format!("keeper-{index}");
        let process = ServiceProcess::spawn(
            &name,
            &self.options.binary,
            args(&["keeper", "--config", &config_arg]),
            env,
            self.options.dir.join(format!("{name}.log")),
        )?;
        Ok((process, proxy))
    }

    /// The controller address of external keeper `index`.
    pub fn keeper_address(&self, index: usize) -> Address {
        self.accounts.get(self.keeper_account(index)).map(|a| a.address).unwrap_or_default()
    }

    /// Waits until every keeper (in up and external) is online in the store.
    pub async fn wait_for_keepers(&self, patience: Duration) -> Result<(), TestbedError> {
        let wanted = usize::from(self.options.keepers_in_up) + self.options.external_keepers;
        let started = Instant::now();
        loop {
            if self.store.performers().await.map(|p| p.len()).unwrap_or(0) >= wanted {
                return Ok(());
            }
            if started.elapsed() > patience {
                return Err(TestbedError::Tool(format!("{wanted} keepers did not come online within {patience:?}")));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Deposits `ether` of gas for owner account `owner` on L2.
    pub async fn deposit(&self, owner: usize, wei: U256) -> Result<(), TestbedError> {
        let l2 = self.chain(ChainRole::L2)?;
        let gas = l2.contracts.gas_registry;
        triggerx_chain::jobs::deposit_gas(&l2.rpc_url, &self.accounts[owner].private_key, gas, wei).await?;
        Ok(())
    }

    /// Registers a job on L2 for owner account `owner`.
    pub async fn register(
        &self,
        owner: usize,
        registration: &triggerx_chain::jobs::JobRegistration,
    ) -> Result<JobId, TestbedError> {
        let l2 = self.chain(ChainRole::L2)?;
        let user = &self.accounts[owner];
        let id =
            triggerx_chain::jobs::register_job(&l2.rpc_url, &user.private_key, l2.contracts.job_registry, registration)
                .await?;
        Ok(JobId(id))
    }

    /// Posts `job` (the SDK's body; job id and owner filled in) to the API.
    pub async fn post_job(&self, job_id: JobId, owner: usize, mut job: Value) -> Result<(), TestbedError> {
        job["job_id"] = json!(job_id.to_string());
        job["user_address"] = json!(format!("{:#x}", self.accounts[owner].address));
        let response = reqwest::Client::new()
            .post(format!("{}/api/jobs", self.up_file.api_url))
            .header("x-api-key", &self.up_file.admin_key)
            .json(&json!([job]))
            .send()
            .await
            .map_err(|e| TestbedError::Tool(format!("posting a job: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(TestbedError::Tool(format!("posting a job: {status} {body}")));
        }
        Ok(())
    }

    /// Registers a job on L2 for `owner`, deposits 1 ETH for it and posts `job` to the API.
    pub async fn create_job(
        &self,
        owner: usize,
        registration: &triggerx_chain::jobs::JobRegistration,
        job: Value,
    ) -> Result<JobId, TestbedError> {
        let job_id = self.register(owner, registration).await?;
        self.deposit(owner, U256::from(10u128.pow(18))).await?;
        self.post_job(job_id, owner, job).await?;
        Ok(job_id)
    }

    /// Waits until every one of `jobs` is final (its time frame ran out, so no occurrence of it can
    /// still make a task) and then no task is open, or `patience` runs out; the count still open.
    /// Without the first wait a last occurrence that fires just after the run ends would be missed.
    pub async fn settle(&self, jobs: &[JobId], patience: Duration) -> Result<i64, TestbedError> {
        let started = Instant::now();
        loop {
            let mut jobs_final = true;
            for job_id in jobs {
                if !self.store.job(*job_id).await?.is_none_or(|job| job.status.is_final()) {
                    jobs_final = false;
                    break;
                }
            }
            let open = self.store.open_task_count().await?;
            if (jobs_final && open == 0) || started.elapsed() > patience {
                return Ok(open);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Starts every killed process again.
    pub fn restart_all(&mut self) -> Result<(), TestbedError> {
        for process in self.dispatchers.iter_mut().chain(self.schedulers.iter_mut()) {
            process.start()?;
        }
        for (keeper, _) in &mut self.keepers {
            keeper.start()?;
        }
        Ok(())
    }

    /// Where the network keeps its files and logs.
    pub fn dir(&self) -> &Path {
        &self.options.dir
    }
}

/// The last lines of a log.
pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A time job's body (the SDK's fields): every `interval` seconds for `frame` seconds, calling
/// `Counter.incrementBy(1)` at `counter`.
pub fn interval_job(counter: Address, l2_chain: u64, interval: u64, frame: u64) -> Value {
    json!({
        "job_title": "testbed interval", "task_definition_id": 1, "custom": true, "time_frame": frame,
        "recurring": false, "job_cost_prediction": 0.1, "timezone": "UTC", "created_chain_id": l2_chain.to_string(),
        "schedule_type": "interval", "time_interval": interval,
        "target_chain_id": l2_chain.to_string(), "target_contract_address": format!("{counter:#x}"),
        "target_function": "incrementBy", "abi": COUNTER_ABI, "arg_type": 1, "arguments": ["1"],
        "is_imua": false, "is_safe": false
    })
}

/// An event job's body: `Transfer` of `emitter` with `value > 1000`.
pub fn event_job(counter: Address, emitter: Address, l2_chain: u64, frame: u64) -> Value {
    json!({
        "job_title": "testbed event", "task_definition_id": 3, "custom": true, "time_frame": frame,
        "recurring": true, "job_cost_prediction": 0.1, "timezone": "UTC", "created_chain_id": l2_chain.to_string(),
        "trigger_chain_id": l2_chain.to_string(), "trigger_contract_address": format!("{emitter:#x}"),
        "trigger_event": "Transfer(address indexed from, address indexed to, uint256 value)",
        "event_filter": "value > 1000",
        "target_chain_id": l2_chain.to_string(), "target_contract_address": format!("{counter:#x}"),
        "target_function": "incrementBy", "abi": COUNTER_ABI, "arg_type": 1, "arguments": ["1"],
        "is_imua": false, "is_safe": false
    })
}

/// A condition job's body: fires when the value at `url` (`price`) rises above 100.
pub fn condition_job(counter: Address, url: &str, l2_chain: u64, frame: u64) -> Value {
    json!({
        "job_title": "testbed condition", "task_definition_id": 5, "custom": true, "time_frame": frame,
        "recurring": true, "job_cost_prediction": 0.1, "timezone": "UTC", "created_chain_id": l2_chain.to_string(),
        "condition_type": "greater_than", "lower_limit": 100, "value_source_type": "api",
        "value_source_url": url, "selected_key_route": "price",
        "target_chain_id": l2_chain.to_string(), "target_contract_address": format!("{counter:#x}"),
        "target_function": "incrementBy", "abi": COUNTER_ABI, "arg_type": 1, "arguments": ["1"],
        "is_imua": false, "is_safe": false
    })
}

/// ABI of `Counter.incrementBy(uint256)`.
pub const COUNTER_ABI: &str = r#"[{"type":"function","name":"incrementBy","inputs":[{"name":"by","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"}]"#;
