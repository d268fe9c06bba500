//! The signed envelope every message travels in: protocol version, sender (consensus address), when it
//! was sealed, the message as JSON, and the sender's EIP-191 signature over version, time and the
//! message's hash (so an old message cannot be replayed as a new one once the network forgot it).

use alloy::primitives::{Address, Signature, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use serde::{Deserialize, Serialize};

use crate::P2pError;
use crate::messages::Message;

/// Version of the message format; envelopes of other versions are dropped.
pub const PROTOCOL_VERSION: u16 = 2;

/// A message as sent on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Message format version.
    pub version: u16,
    /// Consensus address of the sender.
    pub sender: Address,
    /// When the sender sealed it, Unix seconds (signed).
    pub sent_at: u64,
    /// The message, JSON.
    pub body: String,
    /// EIP-191 signature of `signing_text()`, 0x hex.
    pub signature: String,
}

fn signing_text(version: u16, sent_at: u64, body: &str) -> String {
    format!("triggerx-p2p/{version}/{sent_at}/{}", keccak256(body.as_bytes()))
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// An envelope whose signature checked out.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// The consensus address that signed it.
    pub sender: Address,
    /// When it was sealed, Unix seconds (as signed).
    pub sent_at: u64,
    /// The message.
    pub message: Message,
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
        Self::seal_raw(PROTOCOL_VERSION, unix_now(), body, signer)
    }

    /// Signs an arbitrary body under `version`, dated `sent_at` (for tools and tests that speak other
    /// versions, types or times).
    pub fn seal_raw(version: u16, sent_at: u64, body: String, signer: &PrivateKeySigner) -> Result<Envelope, P2pError> {
        let signature = signer
            .sign_message_sync(signing_text(version, sent_at, &body).as_bytes())
            .map_err(|e| P2pError::Message(e.to_string()))?;
        Ok(Envelope {
            version,
            sender: signer.address(),
            sent_at,
            body,
            signature: format!("0x{}", alloy::hex::encode(signature.as_bytes())),
        })
    }

    /// Parses, checks the version and signature, and decodes the message.
    pub fn open(bytes: &[u8]) -> Result<Opened, Rejection> {
        let envelope: Envelope = serde_json::from_slice(bytes).map_err(|_| Rejection::Malformed)?;
        if envelope.version != PROTOCOL_VERSION {
            return Err(Rejection::UnknownVersion);
        }
        let signature: Signature = envelope.signature.parse().map_err(|_| Rejection::BadSignature)?;
        let signer = signature
            .recover_address_from_msg(signing_text(envelope.version, envelope.sent_at, &envelope.body).as_bytes())
            .map_err(|_| Rejection::BadSignature)?;
        if signer != envelope.sender {
            return Err(Rejection::BadSignature);
        }
        let message: Message = serde_json::from_str(&envelope.body).map_err(|_| Rejection::UnknownMessage)?;
        Ok(Opened { sender: signer, sent_at: envelope.sent_at, message })
    }

    /// The wire bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, P2pError> {
        serde_json::to_vec(self).map_err(|e| P2pError::Message(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::messages::{ExecutionReport, ReportStatus};

    fn message() -> Message {
        Message::ExecutionReport(ExecutionReport {
            task_id: 1,
            attempt: 1,
            performer: Address::with_last_byte(1),
            status: ReportStatus::Executing,
            reason: String::new(),
            tx_hash: None,
            block_number: None,
            gas_used: None,
            broadcast_at_micros: None,
            record: None,
        })
    }

    #[test]
    fn a_sealed_message_opens_with_its_sender_and_time() {
        let signer = PrivateKeySigner::random();
        let envelope = Envelope::seal(&message(), &signer).unwrap();
        let opened = Envelope::open(&envelope.to_bytes().unwrap()).unwrap();
        assert_eq!((opened.sender, opened.sent_at, opened.message), (signer.address(), envelope.sent_at, message()));
    }

    #[test]
    fn forged_garbled_and_foreign_envelopes_are_refused() {
        let signer = PrivateKeySigner::random();
        let body = serde_json::to_string(&message()).unwrap();
        let open = |e: &Envelope| Envelope::open(&e.to_bytes().unwrap()).unwrap_err();
        let mut other_sender = Envelope::seal(&message(), &signer).unwrap();
        other_sender.sender = Address::with_last_byte(9);
        assert_eq!(open(&other_sender), Rejection::BadSignature);
        let mut redated = Envelope::seal(&message(), &signer).unwrap();
        redated.sent_at += 1;
        assert_eq!(open(&redated), Rejection::BadSignature, "the time is signed");
        let mut tampered = Envelope::seal(&message(), &signer).unwrap();
        tampered.body = tampered.body.replace("\"attempt\":1", "\"attempt\":2");
        assert_eq!(open(&tampered), Rejection::BadSignature);
        let garbage = Envelope {
            version: PROTOCOL_VERSION,
            sender: Address::ZERO,
            sent_at: 0,
            body: "{".into(),
            signature: "0x00".into(),
        };
        assert_eq!(open(&garbage), Rejection::BadSignature);
        let unknown = Envelope::seal_raw(PROTOCOL_VERSION, 1, r#"{"type":"attestation"}"#.into(), &signer).unwrap();
        assert_eq!(open(&unknown), Rejection::UnknownMessage);
        let other_version = Envelope::seal_raw(1, 1, body, &signer).unwrap();
        assert_eq!(open(&other_version), Rejection::UnknownVersion);
        assert_eq!(Envelope::open(b"not json").unwrap_err(), Rejection::Malformed);
    }
}
