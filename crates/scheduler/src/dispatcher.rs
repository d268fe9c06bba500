//! The dispatcher: creates the task row of an occurrence (once), picks the performer among online
//! registered keepers (weighted rotation by voting power, skipping keepers that failed recently), signs
//! the assignment (EIP-712) and publishes it. A report from the assigned performer closes the task; no
//! report before the deadline re-assigns it to the next keeper.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::Mutex;
use triggerx_core::ids::JobId;
use triggerx_core::job::{ArgType, Job};
use triggerx_core::keeper::Keeper;
use triggerx_core::task::{Task, TaskExecutionUpdate, TaskStatus};
use triggerx_p2p::{ExecutionReport, Message, P2pError, P2pNode, Received, TaskMessage};
use triggerx_store::{NewTask, Store, StoreError};

use crate::rotation::Rotation;

/// Histogram of seconds from publishing an assignment to the performer broadcasting its transaction.
pub const DISPATCH_TO_BROADCAST_METRIC: &str = "triggerx_dispatch_to_broadcast_seconds";

/// Errors of the dispatcher.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// Store access failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Publishing failed.
    #[error(transparent)]
    P2p(#[from] P2pError),
    /// The job cannot be dispatched (yet).
    #[error("job {0}: {1}")]
    Unsupported(JobId, String),
}

/// Dispatcher tunables.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// A performer must report within this time, or the task is re-assigned.
    pub deadline: Duration,
    /// Assignments per task before it fails.
    pub max_attempts: u32,
    /// A keeper that missed a deadline is skipped for this long.
    pub failure_cooldown: Duration,
    /// How often deadlines are checked.
    pub check_interval: Duration,
    /// How long publishing waits for the first peer.
    pub publish_patience: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            deadline: Duration::from_secs(30),
            max_attempts: 3,
            failure_cooldown: Duration::from_secs(300),
            check_interval: Duration::from_millis(200),
            publish_patience: Duration::from_secs(5),
        }
    }
}

/// A request to run one occurrence of a job.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    /// The job.
    pub job_id: JobId,
    /// Identity of the occurrence (the same key never makes a second task).
    pub occurrence_key: String,
}

struct Pending {
    message: TaskMessage,
    /// The performer broadcast its transaction: never re-assigned from then on.
    executing: bool,
    performer_id: i64,
    tried: Vec<i64>,
    deadline: Instant,
}

#[derive(Default)]
struct State {
    dispatched_at: HashMap<i64, u64>,
    rotation: Rotation,
    failures: HashMap<i64, Instant>,
    pending: HashMap<i64, Pending>,
}

/// The dispatcher service.
pub struct Dispatcher {
    store: Store,
    p2p: Arc<P2pNode>,
    signer: PrivateKeySigner,
    config: DispatcherConfig,
    state: Mutex<State>,
}

fn now_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Dispatcher {
    /// A dispatcher signing with `signer` and publishing through `p2p`.
    pub fn new(store: Store, p2p: Arc<P2pNode>, signer: PrivateKeySigner, config: DispatcherConfig) -> Arc<Dispatcher> {
        Arc::new(Dispatcher { store, p2p, signer, config, state: Mutex::new(State::default()) })
    }

    /// The address keepers must see as the tasks' signer.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// Creates the task of an occurrence (or returns the existing one) and assigns a new task.
    pub async fn request(&self, request: &TaskRequest) -> Result<Task, DispatchError> {
        let job = self.store.require_job(request.job_id).await?;
        if job.spec.target.arg_type == ArgType::Dynamic {
            return Err(DispatchError::Unsupported(request.job_id, "dynamic arguments are not executed yet".into()));
        }
        let new = NewTask {
            job_id: request.job_id,
            task_definition_id: None,
            occurrence_key: request.occurrence_key.clone(),
            task_performer_id: None,
        };
        let (task, created) = self.store.create_task(&new).await?;
        if created {
            self.assign(&task, &job, 1, Vec::new()).await?;
        }
        Ok(self.store.task(task.task_id).await?.unwrap_or(task))
    }

    async fn choose(&self, tried: &[i64]) -> Result<Option<Keeper>, DispatchError> {
        let performers: Vec<Keeper> =
            self.store.performers().await?.into_iter().filter(|k| !tried.contains(&k.keeper_id)).collect();
        let mut state = self.state.lock().await;
        let cooldown = self.config.failure_cooldown;
        let healthy: Vec<&Keeper> = performers
            .iter()
            .filter(|k| state.failures.get(&k.keeper_id).is_none_or(|at| at.elapsed() > cooldown))
            .collect();
        let pool: Vec<&Keeper> = if healthy.is_empty() { performers.iter().collect() } else { healthy };
        let candidates: Vec<(i64, u128)> =
            pool.iter().map(|k| (k.keeper_id, k.voting_power.parse::<u128>().unwrap_or(1))).collect();
        let chosen = state.rotation.pick(&candidates);
        Ok(chosen.and_then(|id| performers.iter().find(|k| k.keeper_id == id).cloned()))
    }

    async fn assign(&self, task: &Task, job: &Job, attempt: u32, tried: Vec<i64>) -> Result<(), DispatchError> {
        let Some(keeper) = self.choose(&tried).await? else {
            self.fail(task.task_id, "no_performer_available").await?;
            return Ok(());
        };
        let parse = |text: &str, what: &str| {
            text.parse::<Address>()
                .map_err(|e| DispatchError::Unsupported(job.spec.job_id, format!("{what} {text}: {e}")))
        };
        let mut message = TaskMessage {
            task_id: task.task_id,
            job_id: job.spec.job_id.to_string(),
            occurrence_key: task.occurrence_key.clone(),
            chain_id: job.spec.target.chain_id.parse().unwrap_or_default(),
            performer: parse(&keeper.keeper_address, "keeper")?,
            target: parse(&job.spec.target.contract_address, "target")?,
            abi: job.spec.target.abi.clone(),
            target_function: job.spec.target.function.clone(),
            arguments: job.spec.target.arguments.clone(),
            deadline: now_millis() + self.config.deadline.as_millis() as u64,
            attempt,
            dispatcher_signature: String::new(),
            dispatched_at_micros: 0,
        };
        message.sign(&self.signer)?;
        let update = TaskExecutionUpdate {
            task_status: Some(TaskStatus::Dispatched),
            task_performer_id: Some(keeper.keeper_id),
            ..Default::default()
        };
        self.store.update_task_execution(task.task_id, &update).await?;
        let mut tried = tried;
        tried.push(keeper.keeper_id);
        let dispatched_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        self.state.lock().await.dispatched_at.insert(task.task_id, dispatched_at);
        self.state.lock().await.pending.insert(
            task.task_id,
            Pending {
                message: message.clone(),
                executing: false,
                performer_id: keeper.keeper_id,
                tried,
                deadline: Instant::now() + self.config.deadline,
            },
        );
        message.dispatched_at_micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        self.p2p.publish_when_ready(&Message::Task(message), self.config.publish_patience).await?;
        tracing::info!(task_id = task.task_id, keeper = %keeper.keeper_address, attempt, "task dispatched");
        Ok(())
    }

    async fn fail(&self, task_id: i64, reason: &str) -> Result<(), DispatchError> {
        let update = TaskExecutionUpdate {
            task_status: Some(TaskStatus::Failed),
            task_error: Some(reason.into()),
            ..Default::default()
        };
        self.store.update_task_execution(task_id, &update).await?;
        tracing::warn!(task_id, reason, "task failed");
        Ok(())
    }

    /// Handles reports and deadlines until `incoming` closes.
    pub async fn run(self: Arc<Self>, mut incoming: tokio::sync::mpsc::Receiver<Received>) {
        let mut tick = tokio::time::interval(self.config.check_interval);
        loop {
            tokio::select! {
                received = incoming.recv() => match received {
                    None => break,
                    Some(Received { from, message: Message::ExecutionReport(report) }) => {
                        if let Err(e) = self.handle_report(from, report).await {
                            tracing::warn!(error = %e, "could not record a report");
                        }
                    }
                    Some(_) => {}
                },
                _ = tick.tick() => {
                    if let Err(e) = self.expire().await {
                        tracing::warn!(error = %e, "deadline check failed");
                    }
                }
            }
        }
    }

    async fn handle_report(&self, from: Address, report: ExecutionReport) -> Result<(), DispatchError> {
        let performer_id = {
            let state = self.state.lock().await;
            match state.pending.get(&report.task_id) {
                Some(p) if p.message.attempt == report.attempt && p.message.performer == report.performer => {
                    p.performer_id
                }
                _ => return Ok(()), // closed, stale attempt, or not the assigned performer
            }
        };
        let Some(keeper) = self.store.keeper(performer_id).await? else { return Ok(()) };
        if !keeper.consensus_address.eq_ignore_ascii_case(&format!("{from:#x}")) {
            tracing::warn!(task_id = report.task_id, %from, "report not signed by the performer's consensus key; ignored");
            return Ok(());
        }
        if report.status == "executing" {
            if let Some(pending) = self.state.lock().await.pending.get_mut(&report.task_id) {
                pending.executing = true;
            }
            let update = TaskExecutionUpdate {
                task_status: Some(TaskStatus::Executing),
                task_performer_id: Some(performer_id),
                execution_tx_hash: report.tx_hash.map(|h| format!("{h:#x}")),
                ..Default::default()
            };
            self.store.update_task_execution(report.task_id, &update).await?;
            return Ok(());
        }
        self.state.lock().await.pending.remove(&report.task_id);
        let executed = report.status == "executed";
        let wei: u128 = report.amount_charged.parse().unwrap_or(0);
        let update = TaskExecutionUpdate {
            task_status: Some(if executed { TaskStatus::Executed } else { TaskStatus::Failed }),
            task_performer_id: Some(performer_id),
            execution_tx_hash: report.tx_hash.map(|h| format!("{h:#x}")),
            task_cost_wei: Some(report.amount_charged.clone()),
            task_opx_cost: Some(wei as f64 / 1e18),
            task_error: Some(report.reason.clone()),
            converted_arguments: Some(report.converted_arguments.clone()),
            ..Default::default()
        };
        self.store.update_task_execution(report.task_id, &update).await?;
        if report.tx_hash.is_some() {
            self.store.increment_keeper_tasks(performer_id).await?;
        }
        if let Some(broadcast) = report.broadcast_at_micros {
            let dispatched = self.state.lock().await.dispatched_at.remove(&report.task_id);
            if let Some(dispatched) = dispatched {
                metrics::histogram!(DISPATCH_TO_BROADCAST_METRIC)
                    .record(broadcast.saturating_sub(dispatched) as f64 / 1e6);
            }
        }
        tracing::info!(task_id = report.task_id, status = %report.status, reason = %report.reason, "task report recorded");
        Ok(())
    }

    async fn expire(&self) -> Result<(), DispatchError> {
        let expired: Vec<(i64, Pending)> = {
            let mut state = self.state.lock().await;
            let due: Vec<i64> =
                state.pending.iter().filter(|(_, p)| p.deadline <= Instant::now()).map(|(id, _)| *id).collect();
            let mut out = Vec::new();
            for id in due {
                if let Some(p) = state.pending.remove(&id) {
                    state.failures.insert(p.performer_id, Instant::now());
                    out.push((id, p));
                }
            }
            out
        };
        for (task_id, pending) in expired {
            tracing::warn!(task_id, keeper_id = pending.performer_id, "no report before the deadline; re-assigning");
            if pending.message.attempt >= self.config.max_attempts {
                self.fail(task_id, "no_report_before_deadline").await?;
                continue;
            }
            let (Some(task), Ok(job_id)) = (self.store.task(task_id).await?, pending.message.job_id.parse::<JobId>())
            else {
                continue;
            };
            let job = self.store.require_job(job_id).await?;
            self.assign(&task, &job, pending.message.attempt + 1, pending.tried).await?;
        }
        Ok(())
    }
}
