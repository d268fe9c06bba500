//! Keeper check-ins: the payload a keeper sends to the health service, the exact text it signs
//! (EIP-191 personal message over the whole payload) and recovery of the signer.

use std::str::FromStr;

use alloy_primitives::{Address, Signature};
use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::address::parse_address;

/// A keeper's proof of life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    /// Controller address (the registered keeper).
    pub keeper_address: String,
    /// Consensus address; its key signs the check-in.
    pub consensus_address: String,
    /// Keeper software version.
    pub version: String,
    /// Unix seconds when signed.
    pub timestamp: i64,
    /// libp2p peer id.
    pub peer_id: String,
    /// EIP-191 signature of `message()`, 0x hex (65 bytes).
    pub signature: String,
}

impl CheckIn {
    /// The text the consensus key signs: every field but the signature, addresses lower-case.
    pub fn message(&self) -> String {
        format!(
            "TriggerX keeper check-in\nkeeper: {}\nconsensus: {}\nversion: {}\ntimestamp: {}\npeer: {}",
            self.keeper_address.trim().to_lowercase(),
            self.consensus_address.trim().to_lowercase(),
            self.version,
            self.timestamp,
            self.peer_id
        )
    }

    /// Checks the fields and returns the address that signed `message()`; it must be the consensus address.
    pub fn verify(&self) -> Result<Address, FieldError> {
        parse_address(&self.keeper_address, "keeper_address")?;
        let consensus = parse_address(&self.consensus_address, "consensus_address")?;
        if self.version.len() > 64 || self.peer_id.len() > 128 {
            return Err(FieldError::new("too_long", "version", "version at most 64, peer_id at most 128 characters"));
        }
        let signature = Signature::from_str(self.signature.trim())
            .map_err(|e| FieldError::new("invalid_signature", "signature", format!("not a 65-byte signature: {e}")))?;
        let signer = signature.recover_address_from_msg(self.message().as_bytes()).map_err(|e| {
            FieldError::new("invalid_signature", "signature", format!("cannot recover the signer: {e}"))
        })?;
        if signer != consensus {
            return Err(FieldError::new("invalid_signature", "signature", "not signed by the consensus address"));
        }
        Ok(signer)
    }
}
