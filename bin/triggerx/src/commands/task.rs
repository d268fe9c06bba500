//! `triggerx task run`: asks the running `triggerx up` (found through the data directory) to run one
//! occurrence of a job and follows the task to its end.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use crate::cli::TaskCommand;
use crate::commands::up::UpDescription;

/// Runs a `task` subcommand.
pub async fn run(data_dir: &Path, command: TaskCommand) -> anyhow::Result<()> {
    let TaskCommand::Run { job, occurrence, timeout } = command;
    let up = UpDescription::read(data_dir)?;
    let client = reqwest::Client::new();
    let mut body = serde_json::json!({"job_id": job});
    if let Some(key) = &occurrence {
        body["occurrence_key"] = Value::String(key.clone());
    }
    let response = client
        .post(format!("{}/api/admin/tasks", up.api_url))
        .header("x-api-key", &up.admin_key)
        .json(&body)
        .send()
        .await
        .context("calling the API")?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        anyhow::bail!("the API refused: {status}: {}", answer["error"]["message"].as_str().unwrap_or("(no message)"));
    }
    let key = answer["occurrence_key"].as_str().unwrap_or_default().to_string();
    println!("queued job {job} occurrence {key}");
    let started = Instant::now();
    let mut last = String::new();
    loop {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(timeout),
            "no outcome within {timeout} s (last status: {last})"
        );
        let tasks: Value = client
            .get(format!("{}/api/jobs/{job}/tasks?limit=500", up.api_url))
            .header("x-api-key", &up.admin_key)
            .send()
            .await?
            .json()
            .await?;
        let task = tasks["tasks"]
            .as_array()
            .and_then(|list| list.iter().find(|t| t["occurrence_key"] == Value::String(key.clone())));
        if let Some(task) = task {
            let status = task["task_status"].as_str().unwrap_or_default().to_string();
            if status != last {
                println!("task {} {status}", task["task_id"]);
                last = status.clone();
            }
            match status.as_str() {
                "executed" => {
                    println!(
                        "tx {} (cost {} wei, performer keeper {})",
                        task["execution_tx_hash"].as_str().unwrap_or(""),
                        task["task_cost_wei"].as_str().unwrap_or("0"),
                        task["task_performer_id"]
                    );
                    return Ok(());
                }
                "failed" => anyhow::bail!("task failed: {}", task["task_error"].as_str().unwrap_or("(no reason)")),
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
