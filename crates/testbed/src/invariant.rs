//! The exactly-once invariant, read from the store and the chains: every expected occurrence has
//! exactly one task row, no task executed more than once on-chain, every executed task has its one
//! on-chain execution (and every on-chain execution its executed task), and no task is left open.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use triggerx_chain::bindings::TaskExecutionHub;
use triggerx_core::assignment::onchain_task_id;
use triggerx_core::ids::JobId;
use triggerx_core::paging::Page;
use triggerx_core::task::{Task, TaskStatus};
use triggerx_store::Store;

use crate::TestbedError;

/// A chain and its hub.
#[derive(Debug, Clone)]
pub struct HubChain {
    /// RPC URL.
    pub rpc_url: String,
    /// `TaskExecutionHub`.
    pub hub: Address,
}

/// What a job should have produced.
#[derive(Debug, Clone)]
pub enum Expected {
    /// A time job: occurrences `time:<ms>` in one unbroken sequence `interval_ms` apart, from its
    /// first through at least `until_ms`.
    Interval {
        /// The job.
        job_id: JobId,
        /// Milliseconds between occurrences.
        interval_ms: i64,
        /// The sequence must reach this instant (Unix ms).
        until_ms: i64,
    },
    /// Exactly these occurrence keys (event logs, condition firings).
    Keys {
        /// The job.
        job_id: JobId,
        /// The keys.
        keys: BTreeSet<String>,
    },
}

/// The invariant's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Jobs checked.
    pub jobs: usize,
    /// Occurrences expected.
    pub expected: usize,
    /// Task rows of those jobs.
    pub task_rows: usize,
    /// Tasks executed.
    pub executed: usize,
    /// Tasks failed (by reason).
    pub failed: BTreeMap<String, usize>,
    /// Successful executions on-chain of those tasks.
    pub onchain_executions: usize,
    /// Expected occurrences without a task row.
    pub lost: usize,
    /// Tasks executed more than once on-chain, and rows for occurrences that should not exist.
    pub doubled: usize,
    /// Tasks not final.
    pub stranded: usize,
    /// Executed tasks without their one on-chain execution, or on-chain executions whose task is not
    /// executed.
    pub mismatched: usize,
    /// What went wrong, one line each (empty when the invariant holds).
    pub details: Vec<String>,
}

impl Figures {
    /// Whether nothing was lost, doubled, stranded or mismatched.
    pub fn holds(&self) -> bool {
        self.lost == 0 && self.doubled == 0 && self.stranded == 0 && self.mismatched == 0
    }
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let failed: usize = self.failed.values().sum();
        write!(
            f,
            "{} jobs, {} occurrences expected, {} task rows ({} executed, {} failed), {} on-chain executions; \
             lost {}, doubled {}, stranded {}, mismatched {}",
            self.jobs,
            self.expected,
            self.task_rows,
            self.executed,
            failed,
            self.onchain_executions,
            self.lost,
            self.doubled,
            self.stranded,
            self.mismatched
        )
    }
}

fn job_of(expected: &Expected) -> JobId {
    match expected {
        Expected::Interval { job_id, .. } | Expected::Keys { job_id, .. } => *job_id,
    }
}

/// Every task of a job.
pub async fn tasks_of(store: &Store, job_id: JobId) -> Result<Vec<Task>, TestbedError> {
    let mut tasks = Vec::new();
    loop {
        let page = Page { limit: 500, offset: tasks.len() as i64 };
        let (batch, total) = store.tasks_of_job(job_id, page).await?;
        let done = batch.is_empty() || tasks.len() + batch.len() >= total as usize;
        tasks.extend(batch);
        if done {
            return Ok(tasks);
        }
    }
}

/// Successful and failed `FunctionExecuted` events per on-chain task id, over every hub.
async fn executions(chains: &[HubChain]) -> Result<HashMap<U256, (usize, usize)>, TestbedError> {
    let mut found: HashMap<U256, (usize, usize)> = HashMap::new();
    for chain in chains {
        let url = chain.rpc_url.parse().map_err(|e| TestbedError::Tool(format!("{}: {e}", chain.rpc_url)))?;
        let provider = ProviderBuilder::new().connect_http(url);
        let head = provider.get_block_number().await.map_err(triggerx_chain::ChainError::from)?;
        let filter = Filter::new()
            .address(chain.hub)
            .event_signature(TaskExecutionHub::FunctionExecuted::SIGNATURE_HASH)
            .from_block(0)
            .to_block(head);
        let logs = provider.get_logs(&filter).await.map_err(triggerx_chain::ChainError::from)?;
        for log in logs {
            let Ok(event) = TaskExecutionHub::FunctionExecuted::decode_log(&log.inner) else { continue };
            let entry = found.entry(event.taskId).or_default();
            if event.success {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
    }
    Ok(found)
}

/// Checks the invariant for the `expected` jobs.
pub async fn check(store: &Store, chains: &[HubChain], expected: &[Expected]) -> Result<Figures, TestbedError> {
    let namespace = store.task_namespace().await?;
    let onchain = executions(chains).await?;
    let mut figures = Figures { jobs: expected.len(), ..Default::default() };
    for expectation in expected {
        let job_id = job_of(expectation);
        let tasks = tasks_of(store, job_id).await?;
        figures.task_rows += tasks.len();
        let keys: BTreeSet<String> = tasks.iter().map(|t| t.occurrence_key.clone()).collect();
        match expectation {
            Expected::Interval { interval_ms, until_ms, .. } => {
                let instants: Vec<i64> =
                    keys.iter().filter_map(|k| k.strip_prefix("time:").and_then(|t| t.parse().ok())).collect();
                let (Some(first), Some(last)) = (instants.iter().min(), instants.iter().max()) else {
                    figures.lost += 1;
                    figures.details.push(format!("job {job_id}: no occurrence at all"));
                    continue;
                };
                let reach = (*until_ms).max(*last);
                let wanted: BTreeSet<i64> =
                    (0..).map(|k| first + k * interval_ms).take_while(|t| *t <= reach).collect();
                figures.expected += wanted.len();
                let have: BTreeSet<i64> = instants.iter().copied().collect();
                for missing in wanted.difference(&have) {
                    figures.lost += 1;
                    figures.details.push(format!("job {job_id}: no task for time:{missing}"));
                }
                for extra in have.difference(&wanted) {
                    figures.doubled += 1;
                    figures.details.push(format!("job {job_id}: a task for time:{extra}, off the schedule"));
                }
            }
            Expected::Keys { keys: wanted, .. } => {
                figures.expected += wanted.len();
                for missing in wanted.difference(&keys) {
                    figures.lost += 1;
                    figures.details.push(format!("job {job_id}: no task for {missing}"));
                }
                for extra in keys.difference(wanted) {
                    figures.doubled += 1;
                    figures.details.push(format!("job {job_id}: a task for {extra}, not expected"));
                }
            }
        }
        for task in &tasks {
            let (successes, _) = onchain.get(&onchain_task_id(namespace, task.task_id)).copied().unwrap_or_default();
            figures.onchain_executions += successes;
            if successes > 1 {
                figures.doubled += 1;
                figures.details.push(format!("task {}: executed {successes} times on-chain", task.task_id));
            }
            match task.task_status {
                TaskStatus::Executed => {
                    figures.executed += 1;
                    if successes != 1 {
                        figures.mismatched += 1;
                        figures
                            .details
                            .push(format!("task {}: executed with {successes} on-chain executions", task.task_id));
                    }
                }
                TaskStatus::Failed => {
                    let reason = task.task_error.split(':').next().unwrap_or("").to_string();
                    *figures.failed.entry(reason).or_default() += 1;
                    if successes > 0 {
                        figures.mismatched += 1;
                        figures.details.push(format!("task {}: failed but executed on-chain", task.task_id));
                    }
                }
                open => {
                    figures.stranded += 1;
                    figures.details.push(format!("task {}: still {}", task.task_id, open.as_str()));
                }
            }
        }
    }
    Ok(figures)
}
