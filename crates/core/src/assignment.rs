//! Task assignments: what a dispatcher signs for one performer (EIP-712), the exact struct
//! `TaskExecutionHub.executeFunction` checks on-chain, and the on-chain task id that makes each task
//! executable at most once per hub.

use alloy_primitives::{Address, B256, Signature, U256};
use alloy_sol_types::{Eip712Domain, SolStruct, eip712_domain, sol};

sol! {
    /// `TaskExecutionHub.Assignment`: field names, types and order are the contract's.
    #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
    struct Assignment {
        uint256 taskId;
        uint256 jobId;
        bytes32 occurrence;
        address performer;
        address target;
        bytes32 callHash;
        uint256 maxFee;
        uint256 keeperFee;
        uint64 deadline;
        uint32 attempt;
    }
}

/// EIP-712 name of the assignment domain.
pub const DOMAIN_NAME: &str = "TriggerX";
/// EIP-712 version of the assignment domain.
pub const DOMAIN_VERSION: &str = "2";

/// The domain of assignments checked by the hub `hub` on chain `chain_id`.
pub fn assignment_domain(chain_id: u64, hub: Address) -> Eip712Domain {
    eip712_domain! { name: DOMAIN_NAME, version: DOMAIN_VERSION, chain_id: chain_id, verifying_contract: hub, }
}

impl Assignment {
    /// The hash the dispatcher signs (and the hub recomputes) for this assignment on `hub` of `chain_id`.
    pub fn digest(&self, chain_id: u64, hub: Address) -> B256 {
        self.eip712_signing_hash(&assignment_domain(chain_id, hub))
    }

    /// The address that signed `signature` (65 bytes r ‖ s ‖ v) over this assignment, if it recovers.
    pub fn signer(&self, chain_id: u64, hub: Address, signature: &[u8]) -> Option<Address> {
        let signature = Signature::try_from(signature).ok()?;
        signature.recover_address_from_prehash(&self.digest(chain_id, hub)).ok()
    }
}

/// The on-chain id of store task `task_id`: the store's random namespace in the upper bits, so two
/// stores (a reset one, another deployment) never share an id on one hub.
pub fn onchain_task_id(namespace: u64, task_id: i64) -> U256 {
    (U256::from(namespace) << 64) | U256::from(task_id.max(0) as u64)
}

/// The store task id of an on-chain task id, if it belongs to the store with `namespace`.
pub fn store_task_id(namespace: u64, onchain: U256) -> Option<i64> {
    if onchain >> 64 != U256::from(namespace) {
        return None;
    }
    let low: u64 = (onchain & U256::from(u64::MAX)).to();
    i64::try_from(low).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn task_ids_carry_their_store() {
        let id = onchain_task_id(0xABCD, 42);
        assert_eq!(store_task_id(0xABCD, id), Some(42));
        assert_eq!(store_task_id(0xABCE, id), None, "another store's task");
        assert_eq!(store_task_id(0, U256::from(7)), Some(7));
    }

    #[test]
    fn type_string_matches_the_contract() {
        let a = Assignment {
            taskId: U256::ZERO,
            jobId: U256::ZERO,
            occurrence: B256::ZERO,
            performer: Address::ZERO,
            target: Address::ZERO,
            callHash: B256::ZERO,
            maxFee: U256::ZERO,
            keeperFee: U256::ZERO,
            deadline: 0,
            attempt: 0,
        };
        const CONTRACT_TYPE: &str = "Assignment(uint256 taskId,uint256 jobId,bytes32 occurrence,address performer,\
            address target,bytes32 callHash,uint256 maxFee,uint256 keeperFee,uint64 deadline,uint32 attempt)";
        assert_eq!(
            a.eip712_type_hash(),
            alloy_primitives::keccak256(CONTRACT_TYPE),
            "the contract's ASSIGNMENT_TYPEHASH"
        );
    }
}
