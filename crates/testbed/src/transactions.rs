//! Sending a contract call in a test and waiting until it is mined: the one line every chain test needs.

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::network::Network;
use alloy::providers::Provider;

use crate::TestbedError;

/// Sends `call` and waits for its receipt (the receipt of a reverted call too: check its status).
pub async fn landed<P: Provider<N>, D: CallDecoder, N: Network>(
    call: CallBuilder<P, D, N>,
) -> Result<N::ReceiptResponse, TestbedError> {
    let pending = call.send().await.map_err(|e| TestbedError::Tool(format!("send failed: {e}")))?;
    pending.get_receipt().await.map_err(|e| TestbedError::Tool(format!("no receipt: {e}")))
}
