//! `triggerx task run`: asks the running `triggerx up` (found through the data directory) to run one
//! occurrence of a job and follows the task to its end.

use std::path::Path;
use std::time::Duration;

use triggerx_client::ApiClient;
use triggerx_core::ids::JobId;

use crate::cli::TaskCommand;
use triggerx_devnet::up_file::UpDescription;

/// Runs a `task` subcommand.
pub async fn run(data_dir: &Path, command: TaskCommand) -> anyhow::Result<()> {
    let TaskCommand::Run { job, occurrence, timeout } = command;
    let job = JobId::parse(&job, "--job").map_err(|e| anyhow::anyhow!("--job: {}", e.message))?;
    let up = UpDescription::read(data_dir)?;
    let api = ApiClient::new(&up.api_url, &up.admin_key);
    let key = api.run_task(job, occurrence.as_deref()).await?;
    println!("queued job {job} occurrence {key}");
    let task = api
        .wait_for_task(job, &key, Duration::from_secs(timeout), |task| {
            println!("task {} {}", task["task_id"], task["task_status"].as_str().unwrap_or(""));
        })
        .await?;
    if task["task_status"] == "executed" {
        println!(
            "tx {} (cost {} wei, performer keeper {})",
            task["execution_tx_hash"].as_str().unwrap_or(""),
            task["task_cost_wei"].as_str().unwrap_or("0"),
            task["task_performer_id"]
        );
        Ok(())
    } else {
        anyhow::bail!("task failed: {}", task["task_error"].as_str().unwrap_or("(no reason)"))
    }
}
