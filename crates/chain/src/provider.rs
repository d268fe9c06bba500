//! The one way services reach a chain: a provider over its RPC URLs. One URL is a plain HTTP client;
//! several are a fail-over set (alloy's `FallbackLayer`): each request goes to the two best-ranked
//! endpoints at once, ranked by success rate and latency, so a node that stops answering drops out of
//! use and one that recovers comes back, without a restart.

use std::num::NonZeroUsize;

use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use alloy::transports::http::reqwest::Url;
use alloy::transports::http::{Client, Http};
use alloy::transports::layers::FallbackLayer;
use tower::ServiceBuilder;

use crate::ChainError;

/// Endpoints asked at once when several are configured.
const PARALLEL_ENDPOINTS: usize = 2;

/// A provider over `urls` (the first preferred).
pub fn connect(urls: &[String]) -> Result<DynProvider, ChainError> {
    let parsed = urls
        .iter()
        .map(|url| url.parse::<Url>().map_err(|e| ChainError::Invalid(format!("{url}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    match parsed.as_slice() {
        [] => Err(ChainError::Invalid("no RPC URL".into())),
        [one] => Ok(ProviderBuilder::new().connect_http(one.clone()).erased()),
        several => {
            let count = NonZeroUsize::new(PARALLEL_ENDPOINTS.min(several.len())).unwrap_or(NonZeroUsize::MIN);
            let transports: Vec<Http<Client>> = several.iter().cloned().map(Http::new).collect();
            let transport = ServiceBuilder::new()
                .layer(FallbackLayer::default().with_active_transport_count(count))
                .service(transports);
            let client = RpcClient::builder().transport(transport, false);
            Ok(ProviderBuilder::new().connect_client(client).erased())
        }
    }
}

/// A provider over `urls` that answered with `chain_id` (a node of another chain is refused, so a
/// misconfigured URL fails at start rather than sending transactions to the wrong chain).
pub async fn connect_verified(urls: &[String], chain_id: u64) -> Result<DynProvider, ChainError> {
    let provider = connect(urls)?;
    let answered = provider
        .get_chain_id()
        .await
        .map_err(|e| ChainError::RpcUnavailable(format!("chain {chain_id} ({}): {e}", urls.join(", "))))?;
    if answered != chain_id {
        return Err(ChainError::RpcUnavailable(format!(
            "{} answered chain id {answered}, expected {chain_id}",
            urls.join(", ")
        )));
    }
    Ok(provider)
}
