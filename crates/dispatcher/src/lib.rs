//! TriggerX dispatcher: task rows (one per occurrence), performer rotation by voting power, EIP-712
//! assignments the hub checks on-chain (signer, performer, target, calldata, fee cap, deadline, one
//! execution per task), outcomes read from the chain, a watchdog that finishes every open task
//! (re-assign or fail with a reason), and the feeds from the task queue. State lives in the store, so a
//! restarted dispatcher resumes and several dispatchers share one store through per-task leases.

pub mod calls;
pub mod chain_view;
pub mod config;
pub mod feed;
pub mod outcomes;
pub mod publisher;
pub mod rotation;
pub mod scripts;
pub mod service;
pub mod spawn;

pub use chain_view::ChainView;
pub use config::{DispatcherChain, DispatcherConfig};
pub use publisher::AssignmentPublisher;
pub use scripts::{ScriptEvidence, ScriptSettings};
pub use service::{DISPATCH_TO_BROADCAST_METRIC, Dispatcher};
pub use spawn::{DispatcherHandle, RequestSource, spawn};

use triggerx_core::ids::JobId;

/// Errors of the dispatcher.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// Store access failed.
    #[error(transparent)]
    Store(#[from] triggerx_store::StoreError),
    /// Signing or publishing failed.
    #[error(transparent)]
    P2p(#[from] triggerx_p2p::P2pError),
    /// A chain could not be read.
    #[error(transparent)]
    Chain(#[from] triggerx_chain::ChainError),
    /// The request names a job the store does not have.
    #[error("job {0} is not in the store")]
    UnknownJob(JobId),
    /// Bad configuration or data.
    #[error("{0}")]
    Invalid(String),
}
