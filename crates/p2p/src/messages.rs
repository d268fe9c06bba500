//! The messages keepers and the dispatcher exchange. A task carries the dispatcher's EIP-712 signed
//! [`Assignment`] (the struct the hub checks on-chain) and the calldata itself, so a keeper needs no ABI
//! and can prove who assigned it what; a report says what the performer did (the dispatcher believes
//! only the chain about executions).

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use serde::{Deserialize, Serialize};
use triggerx_attestation::ExecutionRecord;
use triggerx_core::assignment::Assignment;
use triggerx_core::job_evidence::JobEvidence;

use crate::P2pError;

/// Topic of task assignments.
pub const TASKS_TOPIC: &str = "triggerx/tasks/1";
/// Topic of execution reports.
pub const REPORTS_TOPIC: &str = "triggerx/reports/1";
/// Topic of attestations (attesters -> aggregators).
pub const ATTESTATIONS_TOPIC: &str = "triggerx/attestations/1";
/// Longest reason a report may carry (a target's revert data is cut to fit).
pub const MAX_REASON_LEN: usize = 1024;

/// `reason` cut to [`MAX_REASON_LEN`] bytes (at a character boundary), marked when it was cut.
pub fn bounded_reason(reason: String) -> String {
    if reason.len() <= MAX_REASON_LEN {
        return reason;
    }
    const MARK: &str = "...";
    let mut end = MAX_REASON_LEN - MARK.len();
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &reason[..end])
}

/// A task assigned to one performer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskMessage {
    /// Store id of the task.
    pub task_id: i64,
    /// Occurrence identity (its keccak256 is the assignment's `occurrence`).
    pub occurrence_key: String,
    /// Chain the call goes to.
    pub chain_id: u64,
    /// The `TaskExecutionHub` that checks the assignment (the EIP-712 verifying contract).
    pub hub: Address,
    /// What the dispatcher assigned, as the hub checks it.
    pub assignment: Assignment,
    /// The call to make (its keccak256 is the assignment's `callHash`).
    pub calldata: Bytes,
    /// The dispatcher's EIP-712 signature of the assignment, 65 bytes.
    pub signature: Bytes,
    /// The performer's consensus key: nodes pass on reports about this assignment from it alone (the
    /// dispatcher's envelope signature covers it).
    pub reporter: Address,
    /// When the dispatcher published it, Unix microseconds (informational, not signed).
    #[serde(default)]
    pub dispatched_at_micros: u64,
    /// For scripted jobs: the script and its recorded run, which the performer replays before it
    /// executes (the dispatcher's envelope signature covers it).
    #[serde(default)]
    pub script: Option<ScriptAttachment>,
    /// The job as the dispatcher assigned it: what attesters check the trigger and the call against
    /// (the dispatcher's envelope signature covers it).
    #[serde(default)]
    pub job: Option<JobEvidence>,
}

/// A scripted task's evidence: the script's text and its recorded run (JSON of the script crate's
/// `ScriptRun`; opaque here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptAttachment {
    /// The script's text.
    pub source: String,
    /// The recorded run.
    pub run_json: String,
}

impl TaskMessage {
    /// Signs the assignment as the dispatcher.
    pub fn sign(&mut self, dispatcher: &PrivateKeySigner) -> Result<(), P2pError> {
        let digest = self.assignment.digest(self.chain_id, self.hub);
        let signature = dispatcher.sign_hash_sync(&digest).map_err(|e| P2pError::Message(e.to_string()))?;
        self.signature = Bytes::from(signature.as_bytes().to_vec());
        Ok(())
    }

    /// The address that signed the assignment, once the message is consistent with it: the calldata
    /// and the occurrence key hash to what was signed.
    pub fn dispatcher(&self) -> Result<Address, P2pError> {
        if keccak256(&self.calldata) != self.assignment.callHash {
            return Err(P2pError::Message(format!("task {}: calldata does not match the signed hash", self.task_id)));
        }
        if keccak256(self.occurrence_key.as_bytes()) != self.assignment.occurrence {
            return Err(P2pError::Message(format!("task {}: occurrence does not match the signed hash", self.task_id)));
        }
        self.assignment
            .signer(self.chain_id, self.hub, &self.signature)
            .ok_or_else(|| P2pError::Message(format!("task {}: the signature does not recover", self.task_id)))
    }

    /// The job id (uint256).
    pub fn job_id(&self) -> U256 {
        self.assignment.jobId
    }

    /// The performer that must execute it.
    pub fn performer(&self) -> Address {
        self.assignment.performer
    }

    /// Which attempt of the task this is.
    pub fn attempt(&self) -> u32 {
        self.assignment.attempt
    }
}

/// What a performer did with its assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// It sent no transaction (`reason` says why: insufficient balance, deadline passed, ...).
    Refused,
    /// Its transaction is broadcast (`tx_hash`), not yet mined.
    Executing,
    /// Its transaction was mined and the target call succeeded.
    Executed,
    /// Its transaction was mined but the hub or the target call failed.
    Failed,
}

/// What a performer reports about one assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionReport {
    /// The task.
    pub task_id: i64,
    /// Which assignment this answers.
    pub attempt: u32,
    /// The performer (controller address).
    pub performer: Address,
    /// What happened.
    pub status: ReportStatus,
    /// Why it was refused or failed, empty otherwise.
    pub reason: String,
    /// Hash of the hub transaction, if one was sent.
    pub tx_hash: Option<B256>,
    /// Block it was mined in.
    pub block_number: Option<u64>,
    /// Gas used.
    pub gas_used: Option<u64>,
    /// When the hub transaction was broadcast, Unix microseconds.
    #[serde(default)]
    pub broadcast_at_micros: Option<u64>,
    /// For a mined execution: the canonical record the performer states (attesters recompute it).
    #[serde(default)]
    pub record: Option<Box<ExecutionRecord>>,
}

/// An attester's verdict on one assignment's execution, BLS-signed over the task's attestation
/// message (the aggregator checks the signature against the operator's registered key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// The task.
    pub task_id: i64,
    /// Which assignment's execution.
    pub attempt: u32,
    /// The attester's operator id.
    pub operator_id: u64,
    /// Approve (the report is what the attester sees on-chain and everything checks) or reject.
    pub approve: bool,
    /// Why it rejects (empty when it approves).
    pub reason: String,
    /// The report's proof of task the verdict is about.
    pub proof_of_task: B256,
    /// The BLS signature, G1 `[x, y]`.
    pub signature: [U256; 2],
}

/// Every message type, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// A task assignment (dispatcher -> keepers).
    Task(Box<TaskMessage>),
    /// An execution report (performer -> dispatcher, attesters).
    ExecutionReport(ExecutionReport),
    /// An attestation (attester -> aggregators).
    Attestation(Attestation),
}

impl Message {
    /// The gossipsub topic the message travels on.
    pub fn topic(&self) -> &'static str {
        match self {
            Message::Task(_) => TASKS_TOPIC,
            Message::ExecutionReport(_) => REPORTS_TOPIC,
            Message::Attestation(_) => ATTESTATIONS_TOPIC,
        }
    }
}
