//! TriggerX's access to EVM chains (alloy): contract bindings generated from the committed artifacts,
//! deployment and the deployment file, a nonce-safe transaction sender, a reorg-aware log watcher, cost
//! prediction and the hub's calls and events. Local anvil devnets live in `triggerx-devnet`.

pub mod attestation;
pub mod bindings;
pub mod cost;
pub mod deploy;
pub mod deployment;
pub mod error;
pub mod hub;
pub mod jobs;
pub mod keepers;
pub mod provider;
pub mod sender;
pub mod watcher;

pub use error::ChainError;
