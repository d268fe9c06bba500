//! The messages keepers and the dispatcher exchange. A task also carries the dispatcher's EIP-712
//! signature over its essential fields, so a keeper can prove who assigned it what.

use alloy::primitives::{Address, B256, Signature, U256, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use alloy::sol_types::{Eip712Domain, SolStruct, eip712_domain};
use serde::{Deserialize, Serialize};

use crate::P2pError;

sol! {
    /// The EIP-712 form of a task assignment.
    struct TaskAssignment {
        uint256 taskId;
        uint256 jobId;
        bytes32 occurrence;
        uint64 chainId;
        address performer;
        address target;
        bytes32 callHash;
        uint64 deadline;
        uint32 attempt;
    }
}

/// EIP-712 domain of task assignments.
pub fn task_domain() -> Eip712Domain {
    eip712_domain! { name: "TriggerX", version: "1", }
}

/// A task assigned to one performer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    /// Store id of the task.
    pub task_id: i64,
    /// Job id (uint256, decimal).
    pub job_id: String,
    /// Occurrence identity.
    pub occurrence_key: String,
    /// Chain the call goes to.
    pub chain_id: u64,
    /// The keeper (controller address) that must execute it.
    pub performer: Address,
    /// Contract to call.
    pub target: Address,
    /// JSON ABI containing the function.
    pub abi: String,
    /// Function name or signature.
    pub target_function: String,
    /// Static arguments as strings.
    pub arguments: Vec<String>,
    /// Unix milliseconds after which the dispatcher re-assigns the task.
    pub deadline: u64,
    /// 1 for the first assignment, 2 for the first re-assignment...
    pub attempt: u32,
    /// Dispatcher's EIP-712 signature over `assignment()`, 0x hex.
    pub dispatcher_signature: String,
    /// When the dispatcher published it, Unix microseconds (informational, not signed).
    #[serde(default)]
    pub dispatched_at_micros: u64,
}

impl TaskMessage {
    /// The signed essentials: the call itself is covered through the hash of (ABI, function, arguments).
    pub fn assignment(&self) -> Result<TaskAssignment, P2pError> {
        let job_id: U256 = self.job_id.parse().map_err(|e| P2pError::Message(format!("job_id: {e}")))?;
        let call = serde_json::to_vec(&(&self.abi, &self.target_function, &self.arguments))
            .map_err(|e| P2pError::Message(e.to_string()))?;
        Ok(TaskAssignment {
            taskId: U256::from(self.task_id.max(0) as u64),
            jobId: job_id,
            occurrence: keccak256(self.occurrence_key.as_bytes()),
            chainId: self.chain_id,
            performer: self.performer,
            target: self.target,
            callHash: keccak256(call),
            deadline: self.deadline,
            attempt: self.attempt,
        })
    }

    fn signing_hash(&self) -> Result<B256, P2pError> {
        Ok(self.assignment()?.eip712_signing_hash(&task_domain()))
    }

    /// Signs the task as the dispatcher.
    pub fn sign(&mut self, dispatcher: &PrivateKeySigner) -> Result<(), P2pError> {
        let signature =
            dispatcher.sign_hash_sync(&self.signing_hash()?).map_err(|e| P2pError::Message(e.to_string()))?;
        self.dispatcher_signature = format!("0x{}", alloy::hex::encode(signature.as_bytes()));
        Ok(())
    }

    /// The address whose key signed the task.
    pub fn dispatcher(&self) -> Result<Address, P2pError> {
        let signature: Signature =
            self.dispatcher_signature.parse().map_err(|e| P2pError::Message(format!("dispatcher signature: {e}")))?;
        signature
            .recover_address_from_prehash(&self.signing_hash()?)
            .map_err(|e| P2pError::Message(format!("dispatcher signature: {e}")))
    }
}

/// What a performer reports after handling a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionReport {
    /// The task.
    pub task_id: i64,
    /// Its job.
    pub job_id: String,
    /// Which assignment this answers.
    pub attempt: u32,
    /// The performer (controller address).
    pub performer: Address,
    /// `executed` or `failed`.
    pub status: String,
    /// Why it failed (e.g. `insufficient_balance`), empty on success.
    pub reason: String,
    /// Hash of the hub transaction, if one was sent.
    pub tx_hash: Option<B256>,
    /// Block it was mined in.
    pub block_number: Option<u64>,
    /// Gas used.
    pub gas_used: Option<u64>,
    /// Amount charged to the owner, wei.
    pub amount_charged: String,
    /// Arguments as converted for the call.
    pub converted_arguments: Vec<String>,
    /// When the hub transaction was broadcast, Unix microseconds.
    #[serde(default)]
    pub broadcast_at_micros: Option<u64>,
}

/// Every message type, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// A task assignment (dispatcher -> keepers).
    Task(TaskMessage),
    /// An execution report (performer -> dispatcher, attesters).
    ExecutionReport(ExecutionReport),
}

impl Message {
    /// The gossipsub topic the message travels on.
    pub fn topic(&self) -> &'static str {
        match self {
            Message::Task(_) => crate::network::TASKS_TOPIC,
            Message::ExecutionReport(_) => crate::network::REPORTS_TOPIC,
        }
    }
}
