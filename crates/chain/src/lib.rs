//! TriggerX's access to EVM chains (alloy): chain registry, contract bindings generated from the
//! committed artifacts, local devnets on anvil, deployment, a nonce-safe transaction sender, a
//! reorg-aware log watcher.

pub mod anvil;
pub mod bindings;
pub mod config;
pub mod contracts;
pub mod cost;
pub mod deploy;
pub mod devnet;
pub mod error;
pub mod hub;
pub mod jobs;
pub mod keepers;
pub mod sender;
pub mod watcher;

pub use error::ChainError;
