//! The signed envelope every message travels in: protocol version, sender (consensus address), the
//! message as JSON, and the sender's EIP-191 signature over version and the message's hash.

use alloy::primitives::{Address, Signature, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use serde::{Deserialize, Serialize};

use crate::P2pError;
use crate::messages::Message;

/// Version of the message format; envelopes of other versions are dropped.
pub const PROTOCOL_VERSION: u16 = 1;

/// A message as sent on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Message format version.
    pub version: u16,
    /// Consensus address of the sender.
    pub sender: Address,
    /// The message, JSON.
    pub body: String,
    /// EIP-191 signature of `signing_text()`, 0x hex.
    pub signature: String,
}

fn signing_text(version: u16, body: &str) -> String {
    format!("triggerx-p2p/{version}/{}", keccak256(body.as_bytes()))
}

/// Why an envelope was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Not a JSON envelope.
    Malformed,
    /// Another protocol version.
    UnknownVersion,
    /// The signature is not the sender's.
    BadSignature,
    /// The body is not a known message type.
    UnknownMessage,
}

impl Rejection {
    /// Label used in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::UnknownVersion => "unknown_version",
            Rejection::BadSignature => "bad_signature",
            Rejection::UnknownMessage => "unknown_message",
        }
    }
}

impl Envelope {
    /// Wraps and signs `message` with `signer`.
    pub fn seal(message: &Message, signer: &PrivateKeySigner) -> Result<Envelope, P2pError> {
        let body = serde_json::to_string(message).map_err(|e| P2pError::Message(e.to_string()))?;
        Self::seal_raw(PROTOCOL_VERSION, body, signer)
    }

    /// Signs an arbitrary body under `version` (for tools and tests that speak other versions or types).
    pub fn seal_raw(version: u16, body: String, signer: &PrivateKeySigner) -> Result<Envelope, P2pError> {
        let signature = signer
            .sign_message_sync(signing_text(version, &body).as_bytes())
            .map_err(|e| P2pError::Message(e.to_string()))?;
        Ok(Envelope {
            version,
            sender: signer.address(),
            body,
            signature: format!("0x{}", alloy::hex::encode(signature.as_bytes())),
        })
    }

    /// Parses, checks the version and signature, and decodes the message.
    pub fn open(bytes: &[u8]) -> Result<(Address, Message), Rejection> {
        let envelope: Envelope = serde_json::from_slice(bytes).map_err(|_| Rejection::Malformed)?;
        if envelope.version != PROTOCOL_VERSION {
            return Err(Rejection::UnknownVersion);
        }
        let signature: Signature = envelope.signature.parse().map_err(|_| Rejection::BadSignature)?;
        let signer = signature
            .recover_address_from_msg(signing_text(envelope.version, &envelope.body).as_bytes())
            .map_err(|_| Rejection::BadSignature)?;
        if signer != envelope.sender {
            return Err(Rejection::BadSignature);
        }
        let message: Message = serde_json::from_str(&envelope.body).map_err(|_| Rejection::UnknownMessage)?;
        Ok((signer, message))
    }

    /// The wire bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, P2pError> {
        serde_json::to_vec(self).map_err(|e| P2pError::Message(e.to_string()))
    }
}
