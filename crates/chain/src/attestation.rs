//! The `AttestationCenter` from Rust: the `submitTask` call of an assembled quorum, the operator set
//! as the center holds it, and its quorum share.

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use alloy::providers::DynProvider;
use alloy::sol_types::SolCall;
use triggerx_attestation::{SettledTask, Submission};

use crate::ChainError;
use crate::bindings::AttestationCenter;

/// The calldata of `submitTask(task, quorum)`.
pub fn submit_task_calldata(task: &SettledTask, submission: &Submission) -> Vec<u8> {
    AttestationCenter::submitTaskCall {
        task: AttestationCenter::Task {
            taskId: task.task_id,
            performerId: task.performer_id,
            performer: task.performer,
            proofOfTask: task.proof_of_task,
            data: task.data.clone(),
            taskDefinitionId: task.task_definition_id,
        },
        quorum: AttestationCenter::Quorum {
            approve: submission.approve,
            signature: submission.signature,
            signersKeyG2: submission.signers_key_g2,
            nonSignerIds: submission.non_signer_ids.clone(),
            nonSignerKeys: submission.non_signer_keys.clone(),
            hashHints: submission.hash_hints.clone(),
            aggregateKeyY: submission.aggregate_key_y,
        },
    }
    .abi_encode()
}

/// The center's quorum share `(numerator, denominator)`.
pub async fn quorum_share(provider: &DynProvider, center: Address) -> Result<(u128, u128), ChainError> {
    let share = AttestationCenter::new(center, provider.clone()).quorumShare().call().await?;
    Ok((share.numerator.saturating_to(), share.denominator.saturating_to()))
}

/// Voting power of each of `ids` at the center (0 for an id that is not an operator there).
pub async fn voting_powers(
    provider: &DynProvider,
    center: Address,
    ids: impl IntoIterator<Item = u64>,
) -> Result<BTreeMap<u64, u128>, ChainError> {
    let contract = AttestationCenter::new(center, provider.clone());
    let mut powers = BTreeMap::new();
    for id in ids {
        let power = contract.votingPower(U256::from(id)).call().await?;
        powers.insert(id, power.saturating_to());
    }
    Ok(powers)
}
