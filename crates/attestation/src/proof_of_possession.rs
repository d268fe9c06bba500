//! Proof of possession, the defence against rogue keys: a keeper registers its keys with a signature
//! over a message naming the registry (chain and address) and its own operator address. A rogue key
//! (someone else's key subtracted from one's own, to forge their share of an aggregate) has no known
//! secret, so it cannot sign; naming the operator stops a copied proof being reused for another one.

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;

use crate::keys::{BlsPublicKey, BlsSecretKey};
use crate::signature::{BlsSignature, verify_aggregate};

/// What a keeper signs to register at `registry` on `chain_id` as `operator` (the contract computes
/// `keccak256(abi.encode(keccak256("TriggerX keeper registration"), chainid, registry, operator))`).
pub fn registration_message(chain_id: u64, registry: Address, operator: Address) -> B256 {
    keccak256((keccak256("TriggerX keeper registration"), U256::from(chain_id), registry, operator).abi_encode())
}

/// The proof of possession for `operator`'s registration.
pub fn sign_registration(key: &BlsSecretKey, chain_id: u64, registry: Address, operator: Address) -> BlsSignature {
    key.sign(registration_message(chain_id, registry, operator))
}

/// Whether `proof` shows that the holder of `key` (both its G1 and G2 parts) registers as `operator`.
pub fn verify_registration(
    key: &BlsPublicKey,
    proof: &BlsSignature,
    chain_id: u64,
    registry: Address,
    operator: Address,
) -> bool {
    verify_aggregate(registration_message(chain_id, registry, operator), key, proof)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::signature::aggregate_public_keys;
    use ark_ec::{AffineRepr, CurveGroup};

    #[test]
    fn a_proof_verifies_for_its_operator_only_and_a_rogue_key_has_none() {
        let (registry, me, other) = (Address::repeat_byte(1), Address::repeat_byte(2), Address::repeat_byte(3));
        let key = BlsSecretKey::random();
        let proof = sign_registration(&key, 1, registry, me);
        assert!(verify_registration(&key.public_key(), &proof, 1, registry, me));
        assert!(!verify_registration(&key.public_key(), &proof, 1, registry, other));
        assert!(!verify_registration(&key.public_key(), &proof, 2, registry, me));
        // A rogue key: the attacker's key minus a victim's, so that their sum is the attacker's alone.
        let (victim, attacker) = (BlsSecretKey::random().public_key(), BlsSecretKey::random());
        let own = attacker.public_key();
        let rogue = BlsPublicKey {
            g1: (own.g1.into_group() - victim.g1).into_affine(),
            g2: (own.g2.into_group() - victim.g2).into_affine(),
        };
        assert_eq!(aggregate_public_keys(&[victim, rogue]), own, "the sum the attacker can sign for");
        let attempt = sign_registration(&attacker, 1, registry, other);
        assert!(!verify_registration(&rogue, &attempt, 1, registry, other));
    }
}
