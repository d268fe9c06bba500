//! Assembling a submission from individual attestations: the signers' signatures and G2 keys summed,
//! every other operator of the set listed as a non-signer (ascending ids, with its G1 key), as
//! `AttestationCenter.submitTask` takes them. The weight check here is the contract's, so an
//! aggregator knows before sending whether a submission would be accepted.

use std::collections::BTreeMap;

use alloy::primitives::{B256, U256};

use crate::keys::BlsPublicKey;
use crate::points::{G1Words, G2Words};
use crate::signature::{BlsSignature, aggregate_public_keys, aggregate_signatures, verify_aggregate};

/// One operator of the set: its key and voting power.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// Its BLS key.
    pub key: BlsPublicKey,
    /// Its voting power.
    pub power: u128,
}

/// What `submitTask` takes besides the task (`AttestationCenter.Quorum`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The verdict.
    pub approve: bool,
    /// Sum of the signers' signatures.
    pub signature: G1Words,
    /// Sum of the signers' G2 keys.
    pub signers_key_g2: G2Words,
    /// Every operator that did not sign, ascending (the performer among them).
    pub non_signer_ids: Vec<U256>,
    /// Their G1 keys, in the same order.
    pub non_signer_keys: Vec<G1Words>,
    /// The hints that let the contract check the message's G1 point without square roots.
    pub hash_hints: Vec<U256>,
    /// y of the sum of every operator's G1 key (the contract stores its x and y's parity).
    pub aggregate_key_y: U256,
    /// Voting power of the signers.
    pub signed_power: u128,
    /// Voting power of every operator but the performer.
    pub eligible_power: u128,
}

/// Why attestations do not make a submission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuorumError {
    /// An attestation from an id not in the set.
    #[error("operator {0} is not in the operator set")]
    UnknownOperator(u64),
    /// The performer cannot attest its own task.
    #[error("the performer (operator {0}) cannot attest its own task")]
    PerformerSigned(u64),
    /// An attestation that does not verify for its operator's key.
    #[error("operator {0}'s signature does not verify")]
    BadSignature(u64),
    /// Not enough voting power yet.
    #[error("signed voting power {signed} of {eligible} is below the quorum {numerator}/{denominator}")]
    NotEnough {
        /// Signed power.
        signed: u128,
        /// Eligible power.
        eligible: u128,
        /// Quorum numerator.
        numerator: u128,
        /// Quorum denominator.
        denominator: u128,
    },
}

/// Whether `signed` of `eligible` power meets `numerator / denominator` (the contract's test).
pub fn meets_quorum(signed: u128, eligible: u128, numerator: u128, denominator: u128) -> bool {
    signed > 0 && signed.saturating_mul(denominator) >= eligible.saturating_mul(numerator)
}

/// Builds the submission of `signatures` (operator id → signature over `message`) for the operator
/// set `operators` (id → operator), where `performer` is the task's performer; every signature is
/// checked against its operator's key first.
pub fn assemble(
    message: B256,
    approve: bool,
    operators: &BTreeMap<u64, Operator>,
    performer: u64,
    signatures: &BTreeMap<u64, BlsSignature>,
    quorum: (u128, u128),
) -> Result<Submission, QuorumError> {
    for (id, signature) in signatures {
        let operator = operators.get(id).ok_or(QuorumError::UnknownOperator(*id))?;
        if *id == performer {
            return Err(QuorumError::PerformerSigned(*id));
        }
        if !verify_aggregate(message, &operator.key, signature) {
            return Err(QuorumError::BadSignature(*id));
        }
    }
    let total: u128 = operators.values().map(|o| o.power).sum();
    let performer_power = operators.get(&performer).map(|o| o.power).unwrap_or(0);
    let eligible = total - performer_power;
    let signed: u128 = signatures.keys().filter_map(|id| operators.get(id)).map(|o| o.power).sum();
    if !meets_quorum(signed, eligible, quorum.0, quorum.1) {
        return Err(QuorumError::NotEnough { signed, eligible, numerator: quorum.0, denominator: quorum.1 });
    }
    let signers: Vec<BlsPublicKey> = signatures.keys().filter_map(|id| operators.get(id)).map(|o| o.key).collect();
    let (non_signer_ids, non_signer_keys) = operators
        .iter()
        .filter(|(id, _)| !signatures.contains_key(id))
        .map(|(id, o)| (U256::from(*id), o.key.g1_words()))
        .unzip();
    Ok(Submission {
        approve,
        signature: aggregate_signatures(signatures.values()).words(),
        signers_key_g2: aggregate_public_keys(&signers).g2_words(),
        non_signer_ids,
        non_signer_keys,
        hash_hints: crate::hash_to_g1::hash_hints(message),
        aggregate_key_y: aggregate_public_keys(operators.values().map(|o| &o.key)).g1_words()[1],
        signed_power: signed,
        eligible_power: eligible,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::keys::BlsSecretKey;
    use alloy::primitives::keccak256;

    #[test]
    fn two_of_three_attesters_make_a_quorum_and_one_does_not() {
        let secrets: Vec<BlsSecretKey> = (0..4).map(|_| BlsSecretKey::random()).collect();
        let operators: BTreeMap<u64, Operator> = secrets
            .iter()
            .enumerate()
            .map(|(i, k)| (i as u64 + 1, Operator { key: k.public_key(), power: 100 }))
            .collect();
        let message = keccak256(b"task");
        let sign = |ids: &[u64]| -> BTreeMap<u64, BlsSignature> {
            ids.iter().map(|id| (*id, secrets[*id as usize - 1].sign(message))).collect()
        };
        let submission = assemble(message, true, &operators, 1, &sign(&[2, 4]), (2, 3)).unwrap();
        assert_eq!(submission.non_signer_ids, vec![U256::from(1), U256::from(3)]);
        assert_eq!((submission.signed_power, submission.eligible_power), (200, 300));
        assert!(matches!(
            assemble(message, true, &operators, 1, &sign(&[3]), (2, 3)),
            Err(QuorumError::NotEnough { signed: 100, eligible: 300, .. })
        ));
        assert_eq!(
            assemble(message, true, &operators, 1, &sign(&[1, 2]), (2, 3)),
            Err(QuorumError::PerformerSigned(1))
        );
        let mut forged = sign(&[2, 3]);
        forged.insert(4, secrets[3].sign(keccak256(b"other")));
        assert_eq!(assemble(message, true, &operators, 1, &forged, (2, 3)), Err(QuorumError::BadSignature(4)));
    }
}
