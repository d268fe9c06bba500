//! BLS signatures on BN254 as the TriggerX `AttestationCenter` verifies them with the EVM precompiles
//! (0x06 add, 0x07 mul, 0x08 pairing): public keys in G1 and G2, signatures in G1, messages hashed to
//! G1 by try-and-increment, a proof of possession checked at registration, aggregation of signatures
//! and keys, and the one pairing check (with the G1/G2 key binding) the contract computes.

pub mod hash_to_g1;
pub mod keys;
pub mod message;
pub mod points;
pub mod proof_of_possession;
pub mod quorum;
pub mod report;
pub mod signature;

pub use hash_to_g1::hash_to_g1;
pub use keys::{BlsPublicKey, BlsSecretKey};
pub use message::{SettledTask, attestation_message};
pub use points::{G1Words, G2Words};
pub use proof_of_possession::{registration_message, sign_registration, verify_registration};
pub use quorum::{Operator, QuorumError, Submission, assemble};
pub use report::{ExecutionRecord, settlement_id, split_settlement_id};
pub use signature::{BlsSignature, aggregate_public_keys, aggregate_signatures, verify_aggregate};

/// What can go wrong with BLS material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AttestationError {
    /// A secret key that is not a scalar in 1..r-1, or not 32 bytes.
    #[error("BLS key: {0}")]
    BadSecretKey(String),
    /// Words that are not a point of the curve (or of the right subgroup).
    #[error("not a point of BN254 {group}: {reason}")]
    BadPoint {
        /// G1 or G2.
        group: &'static str,
        /// Why.
        reason: String,
    },
}
