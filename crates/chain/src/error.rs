//! Errors of the chain layer, typed so callers can react (retry, bump fees, alert the owner).

/// What can go wrong talking to a chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The transaction (or call) reverted; `reason` is the decoded message or the raw revert data.
    #[error("reverted: {reason}")]
    Reverted {
        /// Decoded `Error(string)` message, or `0x...` revert data.
        reason: String,
    },
    /// The node refused the fee (too low, or a replacement without enough bump).
    #[error("underpriced: {0}")]
    Underpriced(String),
    /// The sender cannot pay for gas and value.
    #[error("insufficient funds: {0}")]
    InsufficientFunds(String),
    /// The node disagrees about the nonce (the sender resynchronises and retries).
    #[error("nonce conflict: {0}")]
    Nonce(String),
    /// No RPC endpoint of the chain answered.
    #[error("RPC unavailable: {0}")]
    RpcUnavailable(String),
    /// Other RPC error.
    #[error("RPC error: {0}")]
    Rpc(String),
    /// A transaction did not confirm in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The chain is not configured.
    #[error("unknown chain {0}")]
    UnknownChain(u64),
    /// A local tool (anvil) could not be found or started.
    #[error("{0}")]
    Tool(String),
    /// Checkpoint persistence failed.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// Bad configuration or input.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Filesystem error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl ChainError {
    /// Classifies an error message from a node into a typed error.
    pub fn from_rpc_message(message: &str) -> ChainError {
        let lower = message.to_ascii_lowercase();
        if lower.contains("nonce too low") || lower.contains("nonce too high") || lower.contains("invalid nonce") {
            ChainError::Nonce(message.to_string())
        } else if lower.contains("underpriced")
            || lower.contains("fee too low")
            || lower.contains("max fee per gas less than block base fee")
        {
            ChainError::Underpriced(message.to_string())
        } else if lower.contains("insufficient funds") {
            ChainError::InsufficientFunds(message.to_string())
        } else if lower.contains("revert") {
            ChainError::Reverted { reason: message.to_string() }
        } else if lower.contains("connection refused")
            || lower.contains("error sending request")
            || lower.contains("timed out")
        {
            ChainError::RpcUnavailable(message.to_string())
        } else {
            ChainError::Rpc(message.to_string())
        }
    }
}

impl<E: std::fmt::Display> From<alloy::transports::RpcError<E>> for ChainError {
    fn from(e: alloy::transports::RpcError<E>) -> Self {
        ChainError::from_rpc_message(&e.to_string())
    }
}

impl From<alloy::contract::Error> for ChainError {
    fn from(e: alloy::contract::Error) -> Self {
        ChainError::from_rpc_message(&e.to_string())
    }
}

impl From<alloy::providers::PendingTransactionError> for ChainError {
    fn from(e: alloy::providers::PendingTransactionError) -> Self {
        ChainError::Rpc(e.to_string())
    }
}
