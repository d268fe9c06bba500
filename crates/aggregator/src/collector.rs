//! Collecting one node's view of each assignment: the dispatcher's task, the performer's stated
//! record and the attesters' verdicts, until the verdicts of one kind (approve or reject, about that
//! very record) carry a quorum of voting power. Each verdict's BLS signature is checked against its
//! operator's key once; one that does not verify is dropped and never counts. Duplicates (the same
//! operator again) and verdicts after the submission change nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy::primitives::{Address, U256};
use triggerx_attestation::quorum::meets_quorum;
use triggerx_attestation::signature::BlsSignature;
use triggerx_attestation::{ExecutionRecord, SettledTask, Submission, assemble, attestation_message, settlement_id};
use triggerx_p2p::{Attestation, TaskMessage};

use crate::operators::OperatorSet;

/// Assignments without news for this long (seconds past their deadline) are forgotten.
const FORGET_AFTER_SECS: u64 = 600;

/// A task attempt.
pub type AttemptKey = (i64, u32);

#[derive(Default)]
struct Pending {
    task: Option<TaskMessage>,
    record: Option<ExecutionRecord>,
    votes: BTreeMap<u64, Attestation>,
    verified: HashSet<u64>,
    invalid: HashSet<u64>,
    submitted: bool,
}

/// A settlement ready to send.
#[derive(Debug, Clone)]
pub struct Ready {
    /// The attempt.
    pub key: AttemptKey,
    /// The task as the center settles it.
    pub task: SettledTask,
    /// The aggregated verdict.
    pub submission: Submission,
    /// The execution's record (its block, for the latency).
    pub record: ExecutionRecord,
    /// The reasons of the attesters that rejected, when the verdict is a rejection.
    pub reasons: Vec<String>,
}

/// What the aggregator knows of every assignment.
pub struct Collector {
    center_chain_id: u64,
    center: Address,
    pending: HashMap<AttemptKey, Pending>,
}

impl Collector {
    /// A collector for the center at `center` on `center_chain_id`.
    pub fn new(center_chain_id: u64, center: Address) -> Collector {
        Collector { center_chain_id, center, pending: HashMap::new() }
    }

    /// Takes an assignment.
    pub fn task(&mut self, task: TaskMessage, now: u64) {
        self.pending.retain(|_, p| p.task.as_ref().is_none_or(|t| t.assignment.deadline + FORGET_AFTER_SECS >= now));
        let key = (task.task_id, task.attempt());
        self.pending.entry(key).or_default().task.get_or_insert(task);
    }

    /// Takes a performer's stated record (the first one counts).
    pub fn record(&mut self, key: AttemptKey, record: ExecutionRecord) {
        self.pending.entry(key).or_default().record.get_or_insert(record);
    }

    /// Takes a verdict (the first one of each operator counts).
    pub fn attestation(&mut self, attestation: Attestation) {
        let pending = self.pending.entry((attestation.task_id, attestation.attempt)).or_default();
        if !pending.submitted {
            pending.votes.entry(attestation.operator_id).or_insert(attestation);
        }
    }

    /// Marks an attempt settled (by this aggregator or another); later verdicts are ignored.
    pub fn settled(&mut self, key: AttemptKey) {
        let pending = self.pending.entry(key).or_default();
        pending.submitted = true;
        pending.votes.clear();
    }

    /// Lets an attempt whose submission failed be tried again.
    pub fn retry(&mut self, key: AttemptKey) {
        if let Some(pending) = self.pending.get_mut(&key) {
            pending.submitted = false;
        }
    }

    /// Whether verdicts came from operators `operators` does not know (the set may be stale).
    pub fn has_unknown_operators(&self, key: AttemptKey, operators: &OperatorSet) -> bool {
        self.pending.get(&key).is_some_and(|p| p.votes.keys().any(|id| !operators.operators.contains_key(id)))
    }

    /// The settlement of `key` when a quorum agrees; it is then marked submitted.
    pub fn ready(&mut self, key: AttemptKey, operators: &OperatorSet) -> Option<Ready> {
        let (center_chain_id, center) = (self.center_chain_id, self.center);
        let pending = self.pending.get_mut(&key)?;
        if pending.submitted {
            return None;
        }
        let (task, record) = (pending.task.as_ref()?, pending.record.clone()?);
        let performer_id = operators.id_of(task.performer())?;
        let settled = SettledTask {
            task_id: settlement_id(task.assignment.taskId, task.attempt()),
            performer_id: U256::from(performer_id),
            performer: task.performer(),
            proof_of_task: record.proof_of_task(),
            data: record.settlement_data(),
            task_definition_id: task.job.as_ref().map(|j| j.task_definition_id).unwrap_or(0),
        };
        let total: u128 = operators.operators.values().map(|o| o.power).sum();
        let performer_power = operators.operators.get(&performer_id).map(|o| o.power).unwrap_or(0);
        let eligible = total.saturating_sub(performer_power);
        for approve in [true, false] {
            let message = attestation_message(center_chain_id, center, &settled, approve);
            let mut signatures = BTreeMap::new();
            let mut reasons = Vec::new();
            for (id, vote) in &pending.votes {
                if vote.approve != approve || vote.proof_of_task != settled.proof_of_task || *id == performer_id {
                    continue;
                }
                let Some(operator) = operators.operators.get(id) else { continue };
                if pending.invalid.contains(id) {
                    continue;
                }
                let Ok(signature) = BlsSignature::from_words(&vote.signature) else {
                    pending.invalid.insert(*id);
                    continue;
                };
                if !pending.verified.contains(id) {
                    if !triggerx_attestation::verify_aggregate(message, &operator.key, &signature) {
                        tracing::warn!(operator = id, task_id = key.0, "an attestation's signature does not verify");
                        pending.invalid.insert(*id);
                        continue;
                    }
                    pending.verified.insert(*id);
                }
                signatures.insert(*id, signature);
                reasons.push(vote.reason.clone());
            }
            let signed: u128 = signatures.keys().filter_map(|id| operators.operators.get(id)).map(|o| o.power).sum();
            if !meets_quorum(signed, eligible, operators.quorum.0, operators.quorum.1) {
                continue;
            }
            match assemble(message, approve, &operators.operators, performer_id, &signatures, operators.quorum) {
                Ok(submission) => {
                    pending.submitted = true;
                    let reasons = if approve { Vec::new() } else { reasons };
                    return Some(Ready { key, task: settled, submission, record, reasons });
                }
                Err(e) => tracing::warn!(task_id = key.0, error = %e, "a quorum did not assemble"),
            }
        }
        None
    }

    /// Attempts with a quorum possibly waiting (everything with a task, a record and verdicts).
    pub fn candidates(&self) -> Vec<AttemptKey> {
        self.pending
            .iter()
            .filter(|(_, p)| !p.submitted && p.task.is_some() && p.record.is_some() && !p.votes.is_empty())
            .map(|(k, _)| *k)
            .collect()
    }
}
