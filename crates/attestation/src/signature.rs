//! Signing, aggregation and the one verification both this crate and `BN254.sol` compute:
//! `e(σ + γ·apk₁, G2) = e(H(m) + γ·G1, apk₂)` with `γ = keccak256(m ‖ apk₁ ‖ apk₂ ‖ σ) mod r`.
//! The G1 aggregate key `apk₁` is what the contract derives cheaply (stored total minus the
//! non-signers' G1 keys, one `ecAdd` each); the G2 aggregate `apk₂` comes with the submission, and the
//! random combination by γ proves it has the same discrete log as `apk₁`, so one two-pair pairing
//! checks both the signature and the key (EigenLayer's `BLSSignatureChecker` approach).

use alloy::primitives::{B256, U256, keccak256};
use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{PrimeField, Zero};

use crate::AttestationError;
use crate::hash_to_g1::hash_to_g1;
use crate::keys::{BlsPublicKey, BlsSecretKey};
use crate::points::{G1Words, g1_from_words, g1_words, g2_words};

/// A signature: a G1 point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlsSignature(pub G1Affine);

impl BlsSignature {
    /// `[x, y]`.
    pub fn words(&self) -> G1Words {
        g1_words(&self.0)
    }

    /// A signature from its words, checked.
    pub fn from_words(words: &G1Words) -> Result<Self, AttestationError> {
        Ok(BlsSignature(g1_from_words(words)?))
    }
}

impl BlsSecretKey {
    /// `sk·H(message)`.
    pub fn sign(&self, message: B256) -> BlsSignature {
        BlsSignature((hash_to_g1(message) * self.0).into_affine())
    }
}

/// The sum of signatures.
pub fn aggregate_signatures<'a>(signatures: impl IntoIterator<Item = &'a BlsSignature>) -> BlsSignature {
    let sum: G1Projective = signatures.into_iter().map(|s| s.0.into_group()).sum();
    BlsSignature(sum.into_affine())
}

/// The sum of public keys, in both groups.
pub fn aggregate_public_keys<'a>(keys: impl IntoIterator<Item = &'a BlsPublicKey>) -> BlsPublicKey {
    let (mut g1, mut g2) = (G1Projective::zero(), G2Projective::zero());
    for key in keys {
        g1 += key.g1;
        g2 += key.g2;
    }
    BlsPublicKey { g1: g1.into_affine(), g2: g2.into_affine() }
}

/// γ as the contract computes it.
fn gamma(message: B256, key: &BlsPublicKey, signature: &BlsSignature) -> Fr {
    let mut packed = Vec::with_capacity(32 * 9);
    packed.extend_from_slice(message.as_slice());
    let words: Vec<U256> = key.g1_words().into_iter().chain(g2_words(&key.g2)).chain(signature.words()).collect();
    for word in words {
        packed.extend_from_slice(&word.to_be_bytes::<32>());
    }
    Fr::from_be_bytes_mod_order(keccak256(&packed).as_slice())
}

/// Whether `signature` is the aggregate of signatures over `message` by the keys summed in `key`
/// (G1 and G2 parts of the same sum). The identity key never verifies.
pub fn verify_aggregate(message: B256, key: &BlsPublicKey, signature: &BlsSignature) -> bool {
    if key.g1.is_zero() || key.g2.is_zero() {
        return false;
    }
    let gamma = gamma(message, key, signature);
    let left = (signature.0.into_group() + key.g1 * gamma).into_affine();
    let right = (hash_to_g1(message).into_group() + G1Affine::generator() * gamma).into_affine();
    let minus_g2 = (-G2Affine::generator().into_group()).into_affine();
    Bn254::multi_pairing([left, right], [minus_g2, key.g2]).is_zero()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn keys(n: usize) -> Vec<BlsSecretKey> {
        (0..n).map(|_| BlsSecretKey::random()).collect()
    }

    #[test]
    fn an_aggregate_of_signers_verifies_against_their_aggregate_key_only() {
        let message = keccak256(b"task 1 approve");
        let secrets = keys(5);
        let publics: Vec<BlsPublicKey> = secrets.iter().map(BlsSecretKey::public_key).collect();
        let signatures: Vec<BlsSignature> = secrets.iter().map(|k| k.sign(message)).collect();
        let sigma = aggregate_signatures(&signatures[..3]);
        assert!(verify_aggregate(message, &aggregate_public_keys(&publics[..3]), &sigma));
        assert!(!verify_aggregate(message, &aggregate_public_keys(&publics[..4]), &sigma), "a key too many");
        assert!(!verify_aggregate(message, &aggregate_public_keys(&publics[..2]), &sigma), "a key too few");
        assert!(!verify_aggregate(keccak256(b"task 1 reject"), &aggregate_public_keys(&publics[..3]), &sigma));
        for (key, signature) in publics.iter().zip(&signatures) {
            assert!(verify_aggregate(message, key, signature));
        }
    }

    #[test]
    fn a_g2_key_that_does_not_match_the_g1_key_is_refused() {
        let message = keccak256(b"m");
        let (a, b) = (BlsSecretKey::random(), BlsSecretKey::random());
        let mixed = BlsPublicKey { g1: a.public_key().g1, g2: b.public_key().g2 };
        assert!(!verify_aggregate(message, &mixed, &a.sign(message)));
        assert!(!verify_aggregate(message, &mixed, &b.sign(message)));
        let none = aggregate_public_keys(&[]);
        assert!(!verify_aggregate(message, &none, &aggregate_signatures(&[])), "nobody signed");
    }
}
