//! Test utilities shared by every crate's tests, the benchmarks and `triggerx chaos` (the one place
//! test helpers live): a fresh database per test, valid job fixtures, private PostgreSQL and
//! Redis servers that can be stopped and started again, a JSON-RPC proxy that delays or drops chosen
//! answers, TriggerX service processes that can be SIGKILLed and restarted, and the exactly-once
//! invariant read from the store and the chains. Nothing here is used by the services themselves.

pub mod databases;
pub mod fixtures;
pub mod invariant;
pub mod network;
pub mod ports;
pub mod postgres;
pub mod process;
pub mod redis_server;
pub mod rpc_proxy;
pub mod scenario;
pub mod transactions;

/// Errors of the testbed.
#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    /// A tool is missing or would not start.
    #[error("{0}")]
    Tool(String),
    /// Filesystem or process error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] triggerx_store::StoreError),
    /// A chain could not be read.
    #[error(transparent)]
    Chain(#[from] triggerx_chain::ChainError),
}

impl TestbedError {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestbedError {
        let context = context.into();
        move |source| TestbedError::Io { context, source }
    }
}
