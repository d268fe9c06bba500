//! Helpers shared by the end-to-end tests: starting `triggerx up`, creating a job the way a user does
//! (on-chain, gas deposit, then the API), and reading a job's tasks.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use serde_json::{Value, json};

/// ABI of the Counter's `incrementBy(uint256)`.
pub const ABI: &str = r#"[{"type":"function","name":"incrementBy","inputs":[{"name":"by","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"}]"#;

/// Registers `registration` on L2 as `user`, deposits 1 ETH of gas for it, and posts `job` (one job of
/// the SDK's body; its job_id and user_address are filled in) to the API.
pub async fn create_job(
    l2: &triggerx_chain::deploy::ChainDeployment,
    user: &triggerx_chain::deployment::DevAccount,
    registration: &triggerx_chain::jobs::JobRegistration,
    mut job: Value,
    api: &str,
    admin: &str,
) -> U256 {
    let registry = l2.contracts.job_registry;
    let job_id =
        triggerx_chain::jobs::register_job(&l2.rpc_url, &user.private_key, registry, registration).await.unwrap();
    let gas_registry = l2.contracts.gas_registry;
    let deposit = U256::from(10u128.pow(18));
    triggerx_chain::jobs::deposit_gas(&l2.rpc_url, &user.private_key, gas_registry, deposit).await.unwrap();
    job["job_id"] = json!(job_id.to_string());
    job["user_address"] = json!(format!("{:#x}", user.address));
    let response = reqwest::Client::new()
        .post(format!("{api}/api/jobs"))
        .header("x-api-key", admin)
        .json(&json!([job]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    job_id
}

/// A `triggerx` process that is interrupted (Ctrl-C) when dropped, so it stops what it started (its
/// anvil chains) even when a test fails half-way; killed if it does not stop within 30 s.
pub struct Interrupted(pub Child);

impl Interrupted {
    /// Sends SIGINT and waits up to `patience` for the process to exit; whether it did.
    pub fn interrupt(&mut self, patience: Duration) -> bool {
        let _ = Command::new("kill").args(["-INT", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + patience;
        loop {
            match self.0.try_wait() {
                Ok(Some(_)) => return true,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                _ => return false,
            }
        }
    }
}

impl Drop for Interrupted {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) && !self.interrupt(Duration::from_secs(30)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `triggerx [global..] --data-dir DIR up --block-time 0 --api-listen/--health-listen 127.0.0.1:0
/// [extra..]` and waits until it has written `up.json`; returns the process and that description.
pub fn start_up(dir: &Path, global: &[&str], extra: &[&str]) -> (Interrupted, Value) {
    let mut up = Command::new(env!("CARGO_BIN_EXE_triggerx"))
        .args(["--data-dir", dir.to_str().unwrap()])
        .args(global)
        .args(["up", "--block-time", "0", "--api-listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let up_file = dir.join("up.json");
    let deadline = Instant::now() + Duration::from_secs(180);
    while !up_file.is_file() {
        assert!(Instant::now() < deadline, "up.json not written within 180 s");
        assert!(up.try_wait().unwrap().is_none(), "triggerx up exited early");
        std::thread::sleep(Duration::from_millis(200));
    }
    let description = serde_json::from_str(&std::fs::read_to_string(&up_file).unwrap()).unwrap();
    (Interrupted(up), description)
}

/// Tasks of `job_id` as the API lists them.
pub fn job_tasks(api: &str, admin: &str, job_id: U256, runtime: &tokio::runtime::Runtime) -> Vec<Value> {
    runtime.block_on(async {
        let tasks: Value = reqwest::Client::new()
            .get(format!("{api}/api/jobs/{job_id}/tasks?limit=100"))
            .header("x-api-key", admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tasks["tasks"].as_array().unwrap().clone()
    })
}

/// The store's form of an interval job (every 60 s for an hour) of `owner` calling the Counter's
/// `incrementBy(5)` on `l2` with `abi`, validated as the API validates it.
pub fn counter_job(
    job_id: triggerx_core::ids::JobId,
    owner: alloy::primitives::Address,
    l2: &triggerx_chain::deploy::ChainDeployment,
    abi: &str,
) -> Vec<triggerx_core::job::NewJob> {
    let data = triggerx_api::wire::CreateJobData {
        job_id: Some(job_id),
        user_address: Some(format!("{owner:#x}")),
        job_title: "poke".into(),
        task_definition_id: Some(1),
        time_frame: Some(3600),
        recurring: true,
        schedule_type: Some("interval".into()),
        time_interval: Some(60),
        target_chain_id: Some(l2.chain_id.to_string()),
        target_contract_address: Some(format!("{:#x}", l2.address("Counter").unwrap())),
        target_function: Some("incrementBy".into()),
        abi: Some(abi.into()),
        arg_type: Some(1),
        arguments: Some(vec!["5".into()]),
        ..Default::default()
    };
    triggerx_api::wire::validate_job_chain(&[data], chrono::Utc::now()).unwrap()
}
