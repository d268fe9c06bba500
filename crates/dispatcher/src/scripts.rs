//! Scripted calls: for dynamic-argument and custom script jobs the dispatcher runs the job's script (the
//! one pinned at creation) once per task, in the sandbox, with the trigger's data, the job's storage and
//! secrets; the run is recorded on the task with its storage updates (a re-assigned task reuses it), and
//! travels with the assignment so the performer replays it before it pays gas. The dispatcher runs it
//! because it is the one that binds the calldata into the signed assignment the hub checks.

use std::collections::HashMap;
use std::sync::Arc;

use alloy::primitives::B256;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};
use triggerx_core::job::{Job, Trigger};
use triggerx_core::task::Task;
use triggerx_http::outbound::AddressPolicy;
use triggerx_script::{
    FetchClient, Invocation, Limits, LiveHost, ScriptOutcome, ScriptRun, SourceConfig, call_from_output,
    output_storage_updates, run_live,
};
use triggerx_store::{Store, check_storage_updates};

use crate::chain_view::ChainView;

/// Scripts kept in memory, by hash.
const CACHED_SCRIPTS: usize = 1_000;

/// How scripts are fetched and run.
#[derive(Debug, Clone)]
pub struct ScriptSettings {
    /// Where script sources are read.
    pub sources: SourceConfig,
    /// Addresses a script's `fetch` may reach (on top of the job's allowed hosts).
    pub fetch_policy: AddressPolicy,
    /// Caps of one run.
    pub limits: Limits,
    /// Scripts run at once (each on its own blocking thread).
    pub concurrent_runs: usize,
}

impl Default for ScriptSettings {
    fn default() -> Self {
        ScriptSettings {
            sources: SourceConfig::default(),
            fetch_policy: AddressPolicy::public_only(),
            limits: Limits::default(),
            concurrent_runs: 8,
        }
    }
}

/// What a performer needs to replay a task's script run: the script and the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptEvidence {
    /// The script's text.
    pub source: String,
    /// The recorded run, JSON.
    pub run_json: String,
}

/// Runs jobs' scripts for the dispatcher.
pub struct ScriptRunner {
    settings: ScriptSettings,
    fetch: FetchClient,
    permits: Semaphore,
    sources: Mutex<HashMap<String, String>>,
}

impl ScriptRunner {
    /// A runner with `settings`.
    pub fn new(settings: ScriptSettings) -> Self {
        let permits = Semaphore::new(settings.concurrent_runs.max(1));
        let fetch = FetchClient::new(settings.fetch_policy.clone());
        ScriptRunner { settings, fetch, permits, sources: Mutex::new(HashMap::new()) }
    }

    /// The script of `job`: the pinned one (from memory when seen before), else refused.
    async fn source(&self, job: &Job) -> Result<String, String> {
        let target = &job.spec.target;
        let pinned = target.script_hash.to_ascii_lowercase();
        if !pinned.is_empty()
            && let Some(text) = self.sources.lock().await.get(&pinned)
        {
            return Ok(text.clone());
        }
        let fetched = self
            .settings
            .sources
            .fetch_pinned(&target.dynamic_arguments_script_url, &pinned)
            .await
            .map_err(|e| e.to_string())?;
        let mut cache = self.sources.lock().await;
        if cache.len() >= CACHED_SCRIPTS {
            cache.clear();
        }
        cache.insert(fetched.hash.clone(), fetched.text.clone());
        Ok(fetched.text)
    }

    /// The outcome of `task`'s script: its recorded run when it has one, else a new run recorded now
    /// (with its storage updates). An error is the task's failure reason.
    pub async fn outcome(
        &self,
        store: &Store,
        chains: &HashMap<u64, Arc<ChainView>>,
        task: &Task,
        job: &Job,
    ) -> Result<(ScriptOutcome, ScriptEvidence), String> {
        let source = self.source(job).await?;
        let custom = job.spec.task_definition_id.number() == 7;
        if let Some(recorded) = store.task_script_run(task.task_id).await.map_err(|e| e.to_string())? {
            return evidence_outcome(job, custom, source, recorded);
        }
        let invocation = Invocation {
            source: source.clone(),
            input: script_input(task, job, chains).await,
            now_ms: task.created_at,
            seed: seed(&task.occurrence_key, job),
            storage: store.script_storage(job.spec.job_id).await.map_err(|e| e.to_string())?,
            secrets: store.script_secrets(job.spec.job_id).await.map_err(|e| e.to_string())?,
        };
        let providers: HashMap<String, DynProvider> =
            chains.iter().map(|(id, view)| (id.to_string(), view.provider().clone())).collect();
        let host = LiveHost::new(
            &self.fetch,
            job.spec.target.script_allowed_hosts.clone(),
            providers,
            job.spec.target.chain_id.clone(),
        );
        let current = invocation.storage.clone();
        let run = {
            let _permit = self.permits.acquire().await.map_err(|_| "script runner closed".to_string())?;
            run_live(invocation, host, self.settings.limits.clone()).await.map_err(|e| e.to_string())?
        };
        let (output, mut updates) = run.result()?;
        let outcome = call_from_output(&job.spec.target, custom, &output).map_err(|e| e.to_string())?;
        if custom {
            for (key, value) in output_storage_updates(&output).map_err(|e| e.to_string())? {
                updates.insert(key, value);
            }
        }
        let updates: Vec<(String, Option<String>)> = updates.into_iter().collect();
        check_storage_updates(&current, &updates).map_err(|e| format!("script_bad_output: {e}"))?;
        let run_json = serde_json::to_string(&run).map_err(|e| e.to_string())?;
        let recorded = store
            .record_script_run(task.task_id, job.spec.job_id, &run_json, &updates)
            .await
            .map_err(|e| e.to_string())?;
        if !recorded {
            // Another dispatcher ran it first: its run is the task's.
            let theirs = store.task_script_run(task.task_id).await.map_err(|e| e.to_string())?.unwrap_or(run_json);
            return evidence_outcome(job, custom, source, theirs);
        }
        tracing::info!(task_id = task.task_id, job_id = %job.spec.job_id, host_calls = run.calls.len(), fuel = run.fuel_used, "script ran");
        Ok((outcome, ScriptEvidence { source, run_json }))
    }
}

fn evidence_outcome(
    job: &Job,
    custom: bool,
    source: String,
    run_json: String,
) -> Result<(ScriptOutcome, ScriptEvidence), String> {
    let run: ScriptRun =
        serde_json::from_str(&run_json).map_err(|e| format!("the recorded script run is unreadable: {e}"))?;
    let (output, _) = run.result()?;
    let outcome = call_from_output(&job.spec.target, custom, &output).map_err(|e| e.to_string())?;
    Ok((outcome, ScriptEvidence { source, run_json }))
}

/// The seed of the script's `Math.random` for this occurrence.
fn seed(occurrence_key: &str, job: &Job) -> u32 {
    let hash = alloy::primitives::keccak256(format!("{}:{occurrence_key}", job.spec.job_id));
    u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]])
}

/// The object `main` gets: the job, the task and what triggered it. An event's log is read from the
/// chain by its block hash and index (not taken from the scheduler's word).
async fn script_input(task: &Task, job: &Job, chains: &HashMap<u64, Arc<ChainView>>) -> Value {
    let key = task.occurrence_key.as_str();
    let trigger = match (&job.spec.trigger, key.split_once(':')) {
        (Trigger::Time(_), Some(("time", at))) => {
            json!({ "kind": "time", "scheduledAt": at.parse::<i64>().ok() })
        }
        (Trigger::Event(event), Some(("event", location))) => {
            let (hash, index) = location.split_once(':').unwrap_or((location, ""));
            let chain = event.trigger_chain_id.parse::<u64>().ok().and_then(|c| chains.get(&c));
            let log = match (chain, hash.parse::<B256>(), index.parse::<u64>()) {
                (Some(view), Ok(hash), Ok(index)) => read_log(view.provider(), hash, index).await,
                _ => Value::Null,
            };
            json!({ "kind": "event", "chainId": event.trigger_chain_id, "blockHash": hash, "logIndex": index.parse::<u64>().ok(), "log": log })
        }
        (Trigger::Condition(_), Some(("condition", n))) => {
            let state = job.condition_state.as_ref();
            json!({
                "kind": "condition",
                "occurrence": n.parse::<i64>().ok(),
                "value": state.and_then(|s| s.last_value.as_ref()).map(|v| v.as_str().to_string()),
                "checkedAt": state.and_then(|s| s.last_checked_at),
            })
        }
        _ => json!({ "kind": "manual" }),
    };
    json!({
        "jobId": job.spec.job_id.to_string(),
        "taskId": task.task_id,
        "occurrenceKey": key,
        "taskDefinitionId": job.spec.task_definition_id.number(),
        "chainId": job.spec.target.chain_id,
        "targetContract": job.spec.target.contract_address,
        "targetFunction": job.spec.target.function,
        "trigger": trigger,
    })
}

async fn read_log(provider: &DynProvider, block_hash: B256, index: u64) -> Value {
    let filter = Filter::new().at_block_hash(block_hash);
    match provider.get_logs(&filter).await {
        Ok(logs) => logs
            .iter()
            .find(|l| l.log_index == Some(index))
            .map(|l| {
                json!({
                    "address": format!("{:#x}", l.address()),
                    "topics": l.topics().iter().map(|t| format!("{t:#x}")).collect::<Vec<_>>(),
                    "data": format!("{}", l.data().data),
                    "blockNumber": l.block_number,
                    "transactionHash": l.transaction_hash.map(|h| format!("{h:#x}")),
                    "logIndex": index,
                })
            })
            .unwrap_or(Value::Null),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the triggering log for a script");
            Value::Null
        }
    }
}
