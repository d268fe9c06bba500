//! The dispatcher: turns a task request into its task row (once per occurrence), assigns it to one
//! keeper with a signed, single-use assignment the hub checks on-chain, and sees each task to a final
//! state. Everything it needs to resume lives in the store (attempt, performer, deadline, lease), so a
//! restarted or standby dispatcher carries on; the watchdog ([`Dispatcher::sweep`]) finds every open
//! task that needs it. Executions are learned from the chain ([`crate::outcomes`]); a performer's report
//! can only refuse an assignment or name the transaction it sent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::Mutex;
use triggerx_core::assignment::{Assignment, onchain_task_id};
use triggerx_core::job::{Job, JobStatus};
use triggerx_core::job_evidence::JobEvidence;
use triggerx_core::keeper::Keeper;
use triggerx_core::target_call::target_chain_id;
use triggerx_core::task::{Task, TaskRequest};
use triggerx_core::time::now_millis;
use triggerx_p2p::messages::ReportStatus;
use triggerx_p2p::{ExecutionReport, ScriptAttachment, TaskMessage};
use triggerx_script::ScriptOutcome;
use triggerx_store::{NewAssignment, NewTask, Store, StoreError};

use crate::calls::{CallCache, JobCall};
use crate::chain_view::ChainView;
use crate::config::DispatcherConfig;
use crate::publisher::AssignmentPublisher;
use crate::rotation::Rotation;
use crate::scripts::{ScriptEvidence, ScriptRunner};
use crate::{DispatchError, outcomes};

/// Histogram of seconds from publishing an assignment to the performer broadcasting its transaction.
pub const DISPATCH_TO_BROADCAST_METRIC: &str = "triggerx_dispatch_to_broadcast_seconds";
/// Counter of watchdog steps that failed (one task's error never stops the sweep for the others).
pub const SWEEP_ERRORS_METRIC: &str = "triggerx_dispatcher_sweep_errors_total";
/// A keeper's refusal reason the dispatcher verifies on-chain.
const INSUFFICIENT_BALANCE: &str = "insufficient_balance";
/// Publish times remembered for the dispatch-to-broadcast metric.
const REMEMBERED_PUBLISHES: usize = 100_000;

#[derive(Default)]
struct State {
    rotation: Rotation,
    /// Keepers whose assignment expired, and when.
    failures: HashMap<i64, Instant>,
    /// When each (task, attempt) was published, Unix microseconds.
    published_at: HashMap<(i64, u32), u64>,
}

/// The dispatcher service.
pub struct Dispatcher {
    store: Store,
    publisher: Arc<dyn AssignmentPublisher>,
    signer: PrivateKeySigner,
    config: DispatcherConfig,
    namespace: u64,
    chains: HashMap<u64, Arc<ChainView>>,
    calls: CallCache,
    scripts: ScriptRunner,
    state: Mutex<State>,
    /// This dispatcher, for work it hands to a task of its own (script runs).
    me: std::sync::Weak<Dispatcher>,
}

fn now_micros() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Why an open task of the job must not be assigned again, if it must not: its owner paused or deleted
/// the job. (A job that ended, its frame over or its one shot fired, still completes its tasks: their
/// occurrences came while it ran.)
fn stopped_by_owner(job: &Job) -> Option<String> {
    match job.status {
        JobStatus::Paused => Some("job_paused: the job was paused before its task executed".into()),
        JobStatus::Deleted => Some("job_deleted: the job was deleted before its task executed".into()),
        _ => None,
    }
}

/// Why a new occurrence of the job cannot run, if it cannot.
fn not_runnable(job: &Job) -> Option<String> {
    match job.status {
        JobStatus::Pending | JobStatus::Running => None,
        JobStatus::Paused => Some("job_paused: the job was paused when its occurrence came".into()),
        other => Some(format!("job_{}: the job had ended when its occurrence came", other.as_str())),
    }
}

impl Dispatcher {
    /// A dispatcher for `store`, signing with `signer` and publishing through `publisher`, over `chains`.
    pub async fn new(
        store: Store,
        publisher: Arc<dyn AssignmentPublisher>,
        signer: PrivateKeySigner,
        config: DispatcherConfig,
        chains: Vec<Arc<ChainView>>,
    ) -> Result<Arc<Dispatcher>, DispatchError> {
        let namespace = store.task_namespace().await?;
        let chains = chains.into_iter().map(|c| (c.chain.chain_id, c)).collect();
        let scripts = ScriptRunner::new(config.scripts.clone());
        Ok(Arc::new_cyclic(|me| Dispatcher {
            store,
            publisher,
            signer,
            config,
            namespace,
            chains,
            calls: CallCache::default(),
            scripts,
            state: Mutex::new(State::default()),
            me: me.clone(),
        }))
    }

    /// The address keepers and hubs must see as the assignments' signer.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The store's namespace of on-chain task ids.
    pub fn namespace(&self) -> u64 {
        self.namespace
    }

    /// The chains it dispatches to.
    pub fn chains(&self) -> impl Iterator<Item = &Arc<ChainView>> {
        self.chains.values()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Makes the task of an occurrence (or finds the existing one) and assigns it if it has no
    /// assignment yet. An occurrence whose job cannot run is recorded as a failed task with the reason.
    /// Errors are store failures (worth retrying) or an unknown job.
    pub async fn request(&self, request: &TaskRequest) -> Result<Task, DispatchError> {
        let Some(job) = self.store.job(request.job_id).await? else {
            return Err(DispatchError::UnknownJob(request.job_id));
        };
        if let Some(reason) = not_runnable(&job) {
            return Ok(self.store.record_refused_task(request.job_id, &request.occurrence_key, &reason).await?);
        }
        let new = NewTask {
            job_id: request.job_id,
            task_definition_id: None,
            occurrence_key: request.occurrence_key.clone(),
            task_performer_id: None,
        };
        let task = match self.store.create_task(&new).await {
            Ok((task, _)) => task,
            // The job was paused or ended between the two reads.
            Err(StoreError::Conflict(reason)) => {
                return Ok(self.store.record_refused_task(request.job_id, &request.occurrence_key, &reason).await?);
            }
            Err(e) => return Err(e.into()),
        };
        if task.task_status.is_final() || task.attempt > 0 {
            return Ok(task);
        }
        if self.claim(task.task_id).await? {
            // A script may take seconds (its fetch calls): it runs beside the requests, not in their way.
            if job.spec.task_definition_id.is_dynamic()
                && let Some(me) = self.me.upgrade()
            {
                let (spawned, job) = (task.clone(), job.clone());
                tokio::spawn(async move {
                    if let Err(e) = me.assign(&spawned, &job).await {
                        tracing::warn!(task_id = spawned.task_id, error = %e, "could not assign a scripted task; the watchdog will");
                    }
                });
                return Ok(task);
            }
            self.assign(&task, &job).await?;
        }
        Ok(self.store.task(task.task_id).await?.unwrap_or(task))
    }

    async fn claim(&self, task_id: i64) -> Result<bool, DispatchError> {
        let until = now_millis() + self.config.lease_grace.as_millis() as i64;
        Ok(self.store.claim_task(task_id, &self.config.name, until).await?)
    }

    /// The next performer, with its controller address and its consensus address (the key its reports
    /// must be signed with).
    async fn choose(&self, tried: &[i64]) -> Result<Option<(Keeper, Address, Address)>, DispatchError> {
        let performers: Vec<Keeper> =
            self.store.performers().await?.into_iter().filter(|k| !tried.contains(&k.keeper_id)).collect();
        let mut state = self.state.lock().await;
        let cooldown = self.config.failure_cooldown;
        let healthy: Vec<&Keeper> = performers
            .iter()
            .filter(|k| state.failures.get(&k.keeper_id).is_none_or(|at| at.elapsed() > cooldown))
            .collect();
        let pool: Vec<&Keeper> = if healthy.is_empty() { performers.iter().collect() } else { healthy };
        let mut candidates = Vec::new();
        for keeper in pool {
            let Ok(address) = keeper.keeper_address.parse::<Address>() else {
                tracing::warn!(keeper_id = keeper.keeper_id, address = %keeper.keeper_address, "keeper with an unusable address skipped");
                continue;
            };
            let Ok(reporter) = keeper.consensus_address.parse::<Address>() else {
                tracing::warn!(keeper_id = keeper.keeper_id, address = %keeper.consensus_address, "keeper with an unusable consensus address skipped");
                continue;
            };
            let Ok(power) = keeper.voting_power.parse::<u128>() else {
                tracing::warn!(keeper_id = keeper.keeper_id, power = %keeper.voting_power, "keeper without a voting power skipped");
                continue;
            };
            candidates.push((keeper.keeper_id, power, address, reporter));
        }
        let weights: Vec<(i64, u128)> = candidates.iter().map(|(id, power, _, _)| (*id, *power)).collect();
        let chosen = state.rotation.pick(&weights);
        Ok(chosen.and_then(|id| {
            let (_, _, address, reporter) = candidates.iter().find(|(c, _, _, _)| *c == id)?;
            performers.iter().find(|k| k.keeper_id == id).cloned().map(|k| (k, *address, *reporter))
        }))
    }

    /// Assigns the task's next attempt (the task's lease must be held), or fails it when it cannot be
    /// assigned.
    async fn assign(&self, task: &Task, job: &Job) -> Result<(), DispatchError> {
        let attempt = task.attempt + 1;
        let (call, evidence) = match self.job_call(task, job).await {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(()),
            Err(reason) => return self.fail(task.task_id, &reason).await,
        };
        let Some(chain) = self.chains.get(&call.chain_id) else {
            return self.fail(task.task_id, &format!("chain_not_served: no dispatcher chain {}", call.chain_id)).await;
        };
        let attempts = self.store.task_attempts(task.task_id).await?;
        let tried: Vec<i64> = attempts.iter().map(|a| a.performer_id).collect();
        let Some((keeper, performer, reporter)) = self.choose(&tried).await? else {
            let reason = match attempts.last() {
                Some(_) => final_reason(&attempts),
                None => "no_performer_available".to_string(),
            };
            return self.fail(task.task_id, &reason).await;
        };
        let deadline_secs = now_millis() as u64 / 1000 + self.config.deadline.as_secs().max(1);
        let attempt_u32 = u32::try_from(attempt).map_err(|_| DispatchError::Invalid("attempt overflow".into()))?;
        let assignment = Assignment {
            taskId: onchain_task_id(self.namespace, task.task_id),
            jobId: job.spec.job_id.0,
            occurrence: keccak256(task.occurrence_key.as_bytes()),
            performer,
            target: call.target,
            callHash: keccak256(&call.calldata),
            maxFee: self.config.max_fee_wei,
            keeperFee: self.config.keeper_fee_wei,
            deadline: deadline_secs,
            attempt: attempt_u32,
        };
        let mut message = TaskMessage {
            task_id: task.task_id,
            occurrence_key: task.occurrence_key.clone(),
            chain_id: call.chain_id,
            hub: chain.hub(),
            assignment,
            calldata: call.calldata.clone(),
            signature: Bytes::new(),
            reporter,
            dispatched_at_micros: 0,
            script: evidence.map(|e| ScriptAttachment { source: e.source, run_json: e.run_json }),
            job: Some(JobEvidence::of(job)),
        };
        message.sign(&self.signer)?;
        let deadline_at = deadline_secs as i64 * 1000;
        let recorded = self
            .store
            .record_assignment(&NewAssignment {
                task_id: task.task_id,
                attempt,
                performer_id: keeper.keeper_id,
                deadline_at,
                dispatcher: &self.config.name,
                lease_until: deadline_at + self.config.lease_grace.as_millis() as i64,
                converted_arguments: &call.converted_arguments,
            })
            .await?;
        if !recorded {
            tracing::debug!(task_id = task.task_id, attempt, "assignment made elsewhere meanwhile");
            return Ok(());
        }
        message.dispatched_at_micros = now_micros();
        {
            let mut state = self.state.lock().await;
            if state.published_at.len() >= REMEMBERED_PUBLISHES {
                state.published_at.clear();
            }
            state.published_at.insert((task.task_id, attempt_u32), message.dispatched_at_micros);
        }
        tracing::info!(task_id = task.task_id, keeper = %keeper.keeper_address, attempt, "task dispatched");
        self.publisher.publish(message, Duration::from_secs(self.config.deadline.as_secs().max(1)));
        Ok(())
    }

    /// The call of `task`: encoded from static arguments, or decided by the job's script (run once per
    /// task). `Ok(None)` when the script skipped the occurrence (the task is recorded as skipped); an
    /// error is the task's failure reason.
    async fn job_call(&self, task: &Task, job: &Job) -> Result<Option<(JobCall, Option<ScriptEvidence>)>, String> {
        // Validation keeps arg_type 2 and the scripted task definitions together.
        if !job.spec.task_definition_id.is_dynamic() {
            return self.calls.call(job).map(|call| Some((call, None)));
        }
        let chain_id = target_chain_id(&job.spec.target)?;
        match self.scripts.outcome(&self.store, &self.chains, task, job).await? {
            (ScriptOutcome::Call(call), evidence) => Ok(Some((
                JobCall {
                    chain_id,
                    target: call.target,
                    calldata: call.calldata,
                    converted_arguments: call.converted_arguments,
                },
                Some(evidence),
            ))),
            (ScriptOutcome::Skip(reason), _) => {
                if self.store.skip_task(task.task_id, &reason).await.map_err(|e| e.to_string())? {
                    tracing::info!(task_id = task.task_id, reason, "occurrence skipped by its script");
                }
                Ok(None)
            }
        }
    }

    async fn fail(&self, task_id: i64, reason: &str) -> Result<(), DispatchError> {
        if self.store.fail_task(task_id, reason).await? {
            tracing::warn!(task_id, reason, "task failed");
        }
        Ok(())
    }

    /// Records what a performer says about its assignment: a refusal re-assigns the task at once, a
    /// broadcast shows the transaction (the chain decides whether it executed). Reports not signed by
    /// the assigned performer's consensus key, or about another attempt, change nothing.
    pub async fn handle_report(&self, from: Address, report: &ExecutionReport) -> Result<(), DispatchError> {
        let Some(task) = self.store.task(report.task_id).await? else { return Ok(()) };
        let attempts = self.store.task_attempts(task.task_id).await?;
        let Some(attempt) = attempts.iter().find(|a| a.attempt == i64::from(report.attempt)) else { return Ok(()) };
        let Some(keeper) = self.store.keeper(attempt.performer_id).await? else { return Ok(()) };
        let from_performer = keeper.consensus_address.eq_ignore_ascii_case(&format!("{from:#x}"))
            && keeper.keeper_address.eq_ignore_ascii_case(&format!("{:#x}", report.performer));
        if !from_performer {
            tracing::warn!(task_id = report.task_id, %from, "report not signed by the assigned performer; ignored");
            return Ok(());
        }
        let tx_hash = report.tx_hash.map(|h| format!("{h:#x}"));
        match report.status {
            ReportStatus::Refused => {
                self.store
                    .record_attempt_outcome(task.task_id, attempt.attempt, "refused", &report.reason, None)
                    .await?;
                tracing::info!(task_id = task.task_id, attempt = attempt.attempt, reason = %report.reason, "assignment refused");
                if attempt.attempt == task.attempt && !task.task_status.is_final() && self.claim(task.task_id).await? {
                    if report.reason == INSUFFICIENT_BALANCE && self.cannot_pay(&task).await {
                        return self.fail(task.task_id, INSUFFICIENT_BALANCE).await;
                    }
                    self.next_attempt(task.task_id).await?;
                }
            }
            ReportStatus::Executing | ReportStatus::Executed | ReportStatus::Failed => {
                self.store
                    .record_attempt_outcome(
                        task.task_id,
                        attempt.attempt,
                        "broadcast",
                        &report.reason,
                        tx_hash.as_deref(),
                    )
                    .await?;
                if let Some(broadcast) = report.broadcast_at_micros {
                    let published = self.state.lock().await.published_at.remove(&(task.task_id, report.attempt));
                    if let Some(published) = published {
                        metrics::histogram!(DISPATCH_TO_BROADCAST_METRIC)
                            .record(broadcast.saturating_sub(published) as f64 / 1e6);
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the task's job owner cannot even pay the keeper fee, read from the chain (a keeper's
    /// word alone never fails a task: another keeper gets it otherwise).
    async fn cannot_pay(&self, task: &Task) -> bool {
        let Ok(Some(job)) = self.store.job(task.job_id).await else { return false };
        let Some(chain) = job.spec.target.chain_id.parse::<u64>().ok().and_then(|c| self.chains.get(&c)) else {
            return false;
        };
        match chain.owner_balance(job.spec.job_id.0).await {
            Ok(balance) => balance < self.config.keeper_fee_wei,
            Err(e) => {
                tracing::warn!(task_id = task.task_id, error = %e, "could not read the owner's balance");
                false
            }
        }
    }

    /// After an attempt ended without an execution: if the chain shows the task executed after all,
    /// records that; otherwise the next attempt, or failure once the attempts are used up.
    async fn next_attempt(&self, task_id: i64) -> Result<(), DispatchError> {
        let Some(task) = self.store.task(task_id).await? else { return Ok(()) };
        if task.task_status.is_final() {
            return Ok(());
        }
        let Some(job) = self.store.job(task.job_id).await? else {
            return self.fail(task_id, "job_deleted").await;
        };
        if let Some(reason) = stopped_by_owner(&job) {
            return self.fail(task_id, &reason).await;
        }
        if task.attempt > 0 && self.recover_execution(&task, &job).await? {
            return Ok(());
        }
        if task.attempt >= i64::from(self.config.max_attempts) {
            let attempts = self.store.task_attempts(task_id).await?;
            return self.fail(task_id, &final_reason(&attempts)).await;
        }
        self.assign(&task, &job).await
    }

    /// Whether the hub executed the task though no execution was recorded (the follower was down, or
    /// started after it): then it is recorded now from the hub's own event.
    async fn recover_execution(&self, task: &Task, job: &Job) -> Result<bool, DispatchError> {
        let Ok(chain_id) = job.spec.target.chain_id.parse::<u64>() else { return Ok(false) };
        let Some(chain) = self.chains.get(&chain_id) else { return Ok(false) };
        let id: U256 = onchain_task_id(self.namespace, task.task_id);
        if !chain.is_executed(id).await? {
            return Ok(false);
        }
        match chain.find_execution(id).await? {
            Some(execution) => outcomes::record(&self.store, self.namespace, &execution).await?,
            None => {
                tracing::warn!(task_id = task.task_id, "the hub marks the task executed but its event is out of reach");
                self.fail(task.task_id, "executed_on_chain_event_not_found").await?;
            }
        }
        Ok(true)
    }

    /// One watchdog pass: every open task that needs a dispatcher (never assigned, or past its
    /// deadline with the chain settled past it) is assigned again or failed with a reason. Each task
    /// is handled on its own: an error is logged and counted and the sweep goes on. Returns how many
    /// tasks it looked at.
    pub async fn sweep(&self) -> Result<usize, DispatchError> {
        let unassigned_after = self.config.unassigned_after.as_millis() as i64;
        let due = self.store.due_tasks(&self.config.name, unassigned_after, self.config.sweep_batch).await?;
        for task in &due {
            if let Err(e) = self.advance(task).await {
                metrics::counter!(SWEEP_ERRORS_METRIC).increment(1);
                tracing::warn!(task_id = task.task_id, error = %e, "could not advance a task; trying again next sweep");
            }
        }
        Ok(due.len())
    }

    async fn advance(&self, task: &Task) -> Result<(), DispatchError> {
        if task.attempt > 0 {
            // Only once no transaction for this attempt can still execute.
            let job = self.store.job(task.job_id).await?;
            let chain = job.as_ref().and_then(|j| j.spec.target.chain_id.parse::<u64>().ok());
            let deadline_secs = task.deadline_at.unwrap_or(0) / 1000;
            if let Some(view) = chain.and_then(|c| self.chains.get(&c))
                && !view.settled_past(deadline_secs as u64)
            {
                // Keep the task while waiting for the chain.
                self.claim(task.task_id).await?;
                return Ok(());
            }
        }
        if !self.claim(task.task_id).await? {
            return Ok(());
        }
        if task.attempt > 0 {
            let attempts = self.store.task_attempts(task.task_id).await?;
            if let Some(last) = attempts.iter().find(|a| a.attempt == task.attempt) {
                if last.outcome == "assigned" || last.outcome == "broadcast" {
                    self.store
                        .record_attempt_outcome(
                            task.task_id,
                            last.attempt,
                            "expired",
                            "no_execution_before_deadline",
                            None,
                        )
                        .await?;
                }
                self.state.lock().await.failures.insert(last.performer_id, Instant::now());
            }
            tracing::warn!(task_id = task.task_id, attempt = task.attempt, "no execution before the deadline");
        }
        self.next_attempt(task.task_id).await
    }
}

/// Why a task failed after all its attempts: what the keepers that refused it said (the reason they
/// share, or each distinct one), else why the attempts ended.
fn final_reason(attempts: &[triggerx_core::task::TaskAttempt]) -> String {
    let mut refusals: Vec<&str> =
        attempts.iter().filter(|a| a.outcome == "refused" && !a.reason.is_empty()).map(|a| a.reason.as_str()).collect();
    if refusals.is_empty() {
        refusals =
            attempts.iter().map(|a| if a.reason.is_empty() { a.outcome.as_str() } else { a.reason.as_str() }).collect();
    }
    refusals.dedup();
    let mut distinct: Vec<&str> = Vec::new();
    for reason in refusals {
        if !distinct.contains(&reason) {
            distinct.push(reason);
        }
    }
    if distinct.is_empty() { "no_performer_available".into() } else { distinct.join("; ") }
}
