//! The port through which long-running readers (the log watcher) persist where they are: named,
//! opaque checkpoints. The store implements it; adapters that need it take it as a parameter.

use std::future::Future;

/// Error of a checkpoint backend, boxed so adapters need not know the implementation.
pub type CheckpointError = Box<dyn std::error::Error + Send + Sync>;

/// Durable named checkpoints.
pub trait CheckpointStore: Send + Sync {
    /// The checkpoint saved under `name`, if any.
    fn load_checkpoint(&self, name: &str) -> impl Future<Output = Result<Option<String>, CheckpointError>> + Send;
    /// Saves `value` under `name`, replacing the previous one.
    fn save_checkpoint(&self, name: &str, value: &str) -> impl Future<Output = Result<(), CheckpointError>> + Send;
}
