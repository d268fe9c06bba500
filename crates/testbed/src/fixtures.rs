//! Valid jobs as a client would post them, for tests and benchmarks to build on.

use triggerx_api::wire::{CreateJobData, validate_job_chain};
use triggerx_core::JobId;
use triggerx_store::Store;

use crate::TestbedError;

/// A target address test jobs call.
pub const TEST_TARGET: &str = "0x1111111111111111111111111111111111111111";
/// The ABI of the test target (`increment(uint256)`).
pub const TEST_ABI: &str = r#"[{"type":"function","name":"increment","inputs":[{"name":"by","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"}]"#;

/// A valid time job (every 10 s for an hour, static argument) as a client would post it.
pub fn time_job_input(id: &str, owner: &str) -> CreateJobData {
    CreateJobData {
        job_id: triggerx_core::ids::JobId::parse(id, "job_id").ok(),
        user_address: Some(owner.into()),
        job_title: format!("job {id}"),
        task_definition_id: Some(1),
        time_frame: Some(3600),
        recurring: true,
        schedule_type: Some("interval".into()),
        time_interval: Some(10),
        target_chain_id: Some("31337".into()),
        target_contract_address: Some(TEST_TARGET.into()),
        target_function: Some("increment".into()),
        abi: Some(TEST_ABI.into()),
        arg_type: Some(1),
        arguments: Some(vec!["5".into()]),
        ..Default::default()
    }
}

/// A valid recurring condition job (`value > 100` read from `url` at `route`, every second).
pub fn condition_job_input(id: &str, owner: &str, url: &str, route: &str) -> CreateJobData {
    CreateJobData {
        task_definition_id: Some(5),
        schedule_type: None,
        time_interval: None,
        condition_type: Some("greater_than".into()),
        lower_limit: triggerx_core::numbers::Decimal::parse("100", "lower_limit").ok(),
        value_source_type: Some(if url.starts_with("ws") { "websocket" } else { "api" }.into()),
        value_source_url: Some(url.into()),
        selected_key_route: Some(route.into()),
        ..time_job_input(id, owner)
    }
}

/// Validates `job` as the API would and stores it: the job id it got.
pub async fn create_job(store: &Store, job: CreateJobData) -> Result<JobId, TestbedError> {
    let jobs =
        validate_job_chain(&[job], chrono::Utc::now()).map_err(|e| TestbedError::Tool(format!("invalid job: {e}")))?;
    let created = store.create_jobs(&jobs).await?;
    created.jobs.first().map(|job| job.spec.job_id).ok_or_else(|| TestbedError::Tool("no job was created".into()))
}

/// Exactly the JSON body the TypeScript SDK (`sdk-triggerx`) builds for an interval time job: its field
/// set and JSON types (balances and the cost prediction as numbers, `"custom": true`, `"recurring": false`).
pub fn sdk_interval_job_body(id: &str, owner: &str, interval: u64, time_frame: u64) -> serde_json::Value {
    serde_json::json!({
        "job_id": id, "user_address": owner, "ether_balance": 50000000000000000u64, "token_balance": 0,
        "job_title": "sdk interval", "task_definition_id": 1, "custom": true, "time_frame": time_frame,
        "recurring": false, "job_cost_prediction": 0.000123, "timezone": "Asia/Kolkata", "created_chain_id": "31338",
        "schedule_type": "interval", "time_interval": interval, "cron_expression": "", "specific_schedule": "",
        "target_chain_id": "31338", "target_contract_address": TEST_TARGET, "target_function": "increment",
        "abi": TEST_ABI, "arg_type": 1, "arguments": ["5"], "dynamic_arguments_script_url": "", "is_imua": false,
        "is_safe": false, "safe_name": "", "safe_address": "", "language": ""
    })
}
