//! TriggerX P2P network (libp2p: TCP, noise, yamux, gossipsub, identify, kademlia): typed, versioned
//! messages between the dispatcher and keepers, each signed by the sender's consensus key and verified
//! on receipt. Invalid or unknown messages are dropped and counted.

pub mod admission;
pub mod envelope;
pub mod messages;
pub mod network;

pub use admission::{AdmissionRules, Refusal};
pub use envelope::{Envelope, Opened, PROTOCOL_VERSION};
pub use libp2p::Multiaddr;
pub use messages::{
    Attestation, ExecutionReport, MAX_REASON_LEN, Message, ScriptAttachment, TaskMessage, bounded_reason,
};
pub use network::{MAX_MESSAGE_BYTES, P2pConfig, P2pLimits, P2pNode, P2pStats, Received};

/// Errors of the P2P layer.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// A message could not be signed, encoded or verified.
    #[error("message: {0}")]
    Message(String),
    /// The network could not start or publish.
    #[error("network: {0}")]
    Network(String),
    /// The node has stopped.
    #[error("the P2P node has stopped")]
    Stopped,
}
