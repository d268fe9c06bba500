//! The canonical execution report of one task: what the performer says it did, in a fixed ABI
//! encoding, so that every attester recomputes it from its own view of the chain and the task.
//! `proof_of_task` is its keccak256; the settlement's `data` names where the execution is (chain and
//! transaction), so anyone can look it up again.

use alloy::primitives::{B256, Bytes, U256, keccak256};
use alloy::sol;
use alloy::sol_types::SolValue;

sol! {
    /// One execution, as performer and attesters state it.
    #[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct ExecutionRecord {
        uint256 chainId;
        address hub;
        uint256 taskId;
        uint256 jobId;
        bytes32 occurrence;
        uint32 attempt;
        address performer;
        bytes32 txHash;
        uint64 blockNumber;
        bytes32 blockHash;
        bytes32 callHash;
        bool success;
        uint256 fee;
    }
}

impl ExecutionRecord {
    /// keccak256 of the record's ABI encoding: what attesters agree on.
    pub fn proof_of_task(&self) -> B256 {
        keccak256(self.abi_encode())
    }

    /// The settlement's `data`: `abi.encode(chainId, txHash)`.
    pub fn settlement_data(&self) -> Bytes {
        (self.chainId, self.txHash).abi_encode().into()
    }
}

/// The id a task's attempt is settled under: the hub's task id (128 bits: store namespace and task)
/// with the attempt above it, so that a rejected attempt does not stop a later honest one from being
/// settled.
pub fn settlement_id(hub_task_id: U256, attempt: u32) -> U256 {
    (U256::from(attempt) << 128usize) | (hub_task_id & ((U256::from(1) << 128usize) - U256::from(1)))
}

/// The hub's task id and the attempt of a settlement id.
pub fn split_settlement_id(id: U256) -> (U256, u32) {
    let low = id & ((U256::from(1) << 128usize) - U256::from(1));
    let attempt: u32 = (id >> 128usize).saturating_to();
    (low, attempt)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn settlement_ids_keep_task_and_attempt_apart() {
        let task = (U256::from(0xABCDu64) << 64) | U256::from(42);
        let id = settlement_id(task, 3);
        assert_eq!(split_settlement_id(id), (task, 3));
        assert_ne!(settlement_id(task, 1), settlement_id(task, 2));
    }

    #[test]
    fn the_proof_changes_with_any_field() {
        let record = ExecutionRecord { chainId: U256::from(31337), attempt: 1, ..Default::default() };
        let other = ExecutionRecord { callHash: B256::repeat_byte(1), ..record.clone() };
        assert_ne!(record.proof_of_task(), other.proof_of_task());
        assert_eq!(record.settlement_data().len(), 64);
    }
}
