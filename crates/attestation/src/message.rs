//! What an attester signs for one task: its verdict (approve or reject) over the task's execution
//! report, in the `AttestationCenter`'s domain (chain and address), exactly as the contract's
//! `attestationMessage` computes it.

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::sol_types::SolValue;

/// The task as the `AttestationCenter` settles it (`AttestationCenter.Task`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledTask {
    /// The hub's task id.
    pub task_id: U256,
    /// Operator id of the performer.
    pub performer_id: U256,
    /// The performer's address (attesters sign it with the id; the contract emits it).
    pub performer: Address,
    /// keccak256 of the canonical execution report.
    pub proof_of_task: B256,
    /// The execution report.
    pub data: Bytes,
    /// The job's task definition (1..7).
    pub task_definition_id: u16,
}

/// The type string the contract hashes first.
pub const ATTESTATION_TYPE: &str = "Attestation(uint256 chainId,address center,uint256 taskId,uint256 performerId,\
address performer,bytes32 proofOfTask,bytes32 dataHash,uint16 taskDefinitionId,bool approve)";

/// The 32 bytes each attester signs for `task` and `approve` at `center` on `chain_id`.
pub fn attestation_message(chain_id: u64, center: Address, task: &SettledTask, approve: bool) -> B256 {
    keccak256(
        (
            keccak256(ATTESTATION_TYPE),
            U256::from(chain_id),
            center,
            task.task_id,
            task.performer_id,
            task.performer,
            task.proof_of_task,
            keccak256(&task.data),
            U256::from(task.task_definition_id),
            approve,
        )
            .abi_encode(),
    )
}
