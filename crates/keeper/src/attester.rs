//! The attester: every keeper checks, on its own view of the chains, each execution another keeper
//! reports, and publishes its BLS-signed verdict. It approves only when everything holds: the
//! dispatcher signed the assignment (the network admits nothing else), the transaction is mined in a
//! canonical block, was sent by the assigned performer to the task's hub with exactly the assignment
//! and calldata, the hub executed this task and charged by its rule; the trigger is real (a time
//! occurrence in the job's schedule and window and not executed early, a log in a canonical block that
//! passes the job's filter; a condition job's occurrence is checked for its kind only); the calldata is
//! what the job's ABI and arguments encode (or what the recorded script run replays to); and the
//! performer's stated record is the one it sees. Anything else is a rejection with the reason.

use std::collections::HashMap;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Transaction, TransactionReceipt};
use tokio::sync::Mutex;
use triggerx_attestation::{BlsSecretKey, ExecutionRecord, SettledTask, attestation_message, settlement_id};
use triggerx_chain::bindings::KeeperRegistry;
use triggerx_core::job_evidence::{JobEvidence, Occurrence};
use triggerx_p2p::{Attestation, TaskMessage, bounded_reason};

use crate::record::{first_difference, observed_record};
use crate::script_check::replay_matches;

/// How long an attester waits for its own node to see a reported transaction.
const RECEIPT_PATIENCE: Duration = Duration::from_secs(20);
/// Seconds a task is remembered after its deadline (its report may come late).
const REMEMBER_SECS: u64 = 300;

/// Where the attester settles: the `AttestationCenter` and the L1 registry that numbers operators.
#[derive(Debug, Clone)]
pub struct AttestationTarget {
    /// Chain of the center.
    pub center_chain_id: u64,
    /// The center.
    pub center: Address,
    /// The L1 `KeeperRegistry` (operator ids).
    pub registry: KeeperRegistry::KeeperRegistryInstance<DynProvider>,
}

/// One keeper's attester.
pub struct Attester {
    key: BlsSecretKey,
    me: Address,
    target: AttestationTarget,
    providers: HashMap<u64, DynProvider>,
    tasks: Mutex<HashMap<(i64, u32), TaskMessage>>,
    operator_ids: Mutex<HashMap<Address, u64>>,
    invert: bool,
}

fn now_secs() -> u64 {
    crate::executor::now_micros() / 1_000_000
}

impl Attester {
    /// An attester for the controller `me`, reading chains through `providers` (by chain id);
    /// `invert` makes it sign the opposite of what it finds (a lying attester, for fault tests).
    pub fn new(
        key: BlsSecretKey,
        me: Address,
        target: AttestationTarget,
        providers: HashMap<u64, DynProvider>,
        invert: bool,
    ) -> Attester {
        Attester {
            key,
            me,
            target,
            providers,
            tasks: Mutex::new(HashMap::new()),
            operator_ids: Mutex::new(HashMap::new()),
            invert,
        }
    }

    /// Remembers an assignment to another keeper until its report comes.
    pub async fn remember(&self, task: TaskMessage) {
        let now = now_secs();
        let mut tasks = self.tasks.lock().await;
        tasks.retain(|_, t| t.assignment.deadline + REMEMBER_SECS >= now);
        tasks.insert((task.task_id, task.attempt()), task);
    }

    /// The attestation of the execution `stated` (reported for task `task_id`, `attempt`), when this
    /// keeper knows the task and did not perform it.
    pub async fn attest(
        &self,
        task_id: i64,
        attempt: u32,
        stated: &ExecutionRecord,
    ) -> Result<Option<Attestation>, String> {
        let Some(task) = self.tasks.lock().await.get(&(task_id, attempt)).cloned() else { return Ok(None) };
        if task.performer() == self.me {
            return Ok(None);
        }
        let verdict = self.check(&task, stated).await;
        let approve = verdict.is_ok() != self.invert;
        let reason = match &verdict {
            Ok(()) if approve => String::new(),
            Ok(()) => "inverted".into(),
            Err(reason) => bounded_reason(reason.clone()),
        };
        let (me, performer) = (self.operator_id(self.me).await?, self.operator_id(task.performer()).await?);
        let settled = SettledTask {
            task_id: settlement_id(task.assignment.taskId, attempt),
            performer_id: U256::from(performer),
            performer: task.performer(),
            proof_of_task: stated.proof_of_task(),
            data: stated.settlement_data(),
            task_definition_id: task.job.as_ref().map(|j| j.task_definition_id).unwrap_or(0),
        };
        let message = attestation_message(self.target.center_chain_id, self.target.center, &settled, approve);
        Ok(Some(Attestation {
            task_id,
            attempt,
            operator_id: me,
            approve,
            reason,
            proof_of_task: settled.proof_of_task,
            signature: self.key.sign(message).words(),
        }))
    }

    async fn operator_id(&self, operator: Address) -> Result<u64, String> {
        if let Some(id) = self.operator_ids.lock().await.get(&operator) {
            return Ok(*id);
        }
        let found = self.target.registry.getOperator(operator).call().await.map_err(|e| e.to_string())?;
        if !found.registered {
            return Err(format!("{operator} is not a registered operator"));
        }
        let id: u64 = found.operatorId.saturating_to();
        self.operator_ids.lock().await.insert(operator, id);
        Ok(id)
    }

    fn provider(&self, chain_id: u64) -> Result<&DynProvider, String> {
        self.providers
            .get(&chain_id)
            .ok_or_else(|| format!("chain_not_served: this attester does not read chain {chain_id}"))
    }

    /// Everything an attester checks; the error is the rejection reason.
    async fn check(&self, task: &TaskMessage, stated: &ExecutionRecord) -> Result<(), String> {
        let job = task.job.as_ref().ok_or("job_evidence_missing: the assignment names no job")?;
        let provider = self.provider(task.chain_id)?;
        let (tx, receipt) = mined(provider, stated).await?;
        let block = receipt.block_number.ok_or("tx_pending: the transaction is not mined")?;
        let header = provider
            .get_block_by_number(block.into())
            .await
            .map_err(|e| format!("rpc: {e}"))?
            .ok_or("block_not_found: the transaction's block is gone")?;
        if Some(header.header.hash) != receipt.block_hash {
            return Err("block_not_canonical: the transaction's block was reorganised away".into());
        }
        let observed = observed_record(task, &tx, &receipt)?;
        self.check_trigger(task, job, header.header.timestamp).await?;
        match &task.script {
            Some(script) => replay_matches(script, task).await?,
            None => job.check_static_call(task.assignment.target, &task.calldata)?,
        }
        if let Some(field) = first_difference(stated, &observed) {
            return Err(format!("report_mismatch: the stated {field} is not what the chain shows"));
        }
        Ok(())
    }

    async fn check_trigger(&self, task: &TaskMessage, job: &JobEvidence, executed_at: u64) -> Result<(), String> {
        let occurrence = Occurrence::parse(&task.occurrence_key)?;
        job.check_kind(&occurrence)?;
        match occurrence {
            Occurrence::Time(at) => job.check_time(at, executed_at),
            Occurrence::Event { block_hash, log_index } => {
                let triggerx_core::job::Trigger::Event(trigger) = &job.trigger else {
                    return Err("trigger_kind_mismatch: not an event job".into());
                };
                let chain: u64 =
                    trigger.trigger_chain_id.parse().map_err(|_| "bad_job: the trigger chain is not a chain id")?;
                let provider = self.provider(chain)?;
                let logs = provider
                    .get_logs(&Filter::new().at_block_hash(block_hash))
                    .await
                    .map_err(|e| format!("rpc: {e}"))?;
                let log = logs
                    .iter()
                    .find(|l| l.log_index == Some(log_index))
                    .ok_or("log_not_found: no such log in that block")?;
                let number = log.block_number.ok_or("log_not_found: the log has no block")?;
                let canonical = provider.get_block_by_number(number.into()).await.map_err(|e| format!("rpc: {e}"))?;
                if canonical.map(|b| b.header.hash) != Some(block_hash) {
                    return Err("log_not_canonical: the log's block was reorganised away".into());
                }
                job.check_event(log.address(), log.topics(), &log.data().data)
            }
            // The occurrence key of a condition carries no value to re-check.
            Occurrence::Condition(_) => Ok(()),
        }
    }
}

/// The transaction and receipt `stated` names, waiting a little for this node to see them.
async fn mined(provider: &DynProvider, stated: &ExecutionRecord) -> Result<(Transaction, TransactionReceipt), String> {
    let started = std::time::Instant::now();
    loop {
        let (tx, receipt) = tokio::join!(
            provider.get_transaction_by_hash(stated.txHash),
            provider.get_transaction_receipt(stated.txHash)
        );
        if let (Ok(Some(tx)), Ok(Some(receipt))) = (tx, receipt) {
            return Ok((tx, receipt));
        }
        if started.elapsed() > RECEIPT_PATIENCE {
            return Err("tx_not_found: the stated transaction is not on the chain".into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
