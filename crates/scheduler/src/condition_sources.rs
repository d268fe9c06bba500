//! Where condition values come from: an HTTP GET returning JSON, the newest message of a WebSocket
//! stream, an on-chain view call, or a constant. Each distinct source is read once per tick however
//! many jobs watch it ([`SourceKey`] is what "the same source" means); every read has a timeout and a
//! size limit. What a job takes from a reading (its route, its oracle output) is [`Extraction`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::dyn_abi::{DynSolValue, FunctionExt, JsonAbiExt};
use alloy::json_abi::Function;
use alloy::primitives::{Address, Bytes};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use triggerx_core::abi_args::convert_arguments;
use triggerx_core::condition::{ValueSourceType, parse_oracle_function};
use triggerx_core::job::ConditionTrigger;
use triggerx_core::numbers::Decimal;
use triggerx_core::value_route::value_at_route;
use triggerx_http::AddressPolicy;

/// Limits on reading a source.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    /// Longest an HTTP request or a view call may take.
    pub timeout: Duration,
    /// Largest response body or WebSocket message, bytes.
    pub max_bytes: usize,
    /// Which addresses api and websocket sources may reach (public ones only, unless the operator
    /// allowed more).
    pub policy: AddressPolicy,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits { timeout: Duration::from_secs(5), max_bytes: 1024 * 1024, policy: AddressPolicy::public_only() }
    }
}

/// One distinct source: jobs with equal keys share each reading.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SourceKey {
    /// HTTP GET of this URL.
    Api(String),
    /// The newest message on this WebSocket URL.
    Websocket(String),
    /// `eth_call` of this calldata on this contract and chain.
    Oracle {
        /// Chain.
        chain_id: u64,
        /// Contract.
        contract: Address,
        /// Selector and arguments.
        calldata: Bytes,
    },
    /// A constant (never read).
    Static,
}

/// What one read of a source returned.
#[derive(Debug, Clone)]
pub enum Reading {
    /// A JSON document (HTTP body or WebSocket message).
    Json(Arc<str>),
    /// The bytes a view call returned.
    Returned(Bytes),
    /// Nothing to read (static sources).
    Nothing,
}

/// How a job turns a reading into its value.
#[derive(Debug, Clone)]
pub enum Extraction {
    /// The value at this `selected_key_route` of the JSON document.
    Route(String),
    /// Output `index` of `function`, divided by 10^decimals.
    Output {
        /// The view function (decodes the return data).
        function: Box<Function>,
        /// Which output.
        index: usize,
        /// Decimal places.
        decimals: u8,
    },
    /// The job's constant.
    Constant(Decimal),
}

/// The source and extraction of a condition trigger (an error names what is unusable).
pub fn plan(trigger: &ConditionTrigger) -> Result<(SourceKey, Extraction), String> {
    let url = trigger.value_source_url.trim().to_string();
    match trigger.value_source_type {
        ValueSourceType::Api => Ok((SourceKey::Api(url), Extraction::Route(trigger.selected_key_route.clone()))),
        ValueSourceType::Websocket => {
            Ok((SourceKey::Websocket(url), Extraction::Route(trigger.selected_key_route.clone())))
        }
        ValueSourceType::Static => Decimal::parse(&url, "value_source_url")
            .map(|value| (SourceKey::Static, Extraction::Constant(value)))
            .map_err(|e| e.message),
        ValueSourceType::Oracle => {
            let oracle = trigger.oracle.as_ref().ok_or("an oracle source without its view call")?;
            let (function, index) =
                parse_oracle_function(&oracle.function, &trigger.selected_key_route, "").map_err(|e| e.message)?;
            let values = convert_arguments(&function, &oracle.arguments, "").map_err(|e| e.message)?;
            let calldata = function.abi_encode_input(&values).map_err(|e| e.to_string())?;
            let chain_id = oracle.chain_id.parse().map_err(|_| format!("bad chain id '{}'", oracle.chain_id))?;
            let contract = url.parse().map_err(|_| format!("bad contract address '{url}'"))?;
            Ok((
                SourceKey::Oracle { chain_id, contract, calldata: calldata.into() },
                Extraction::Output { function: Box::new(function), index, decimals: oracle.decimals },
            ))
        }
    }
}

/// `value` / 10^decimals as exact decimal text.
fn scaled(value: &str, decimals: u8) -> String {
    let (negative, digits) = value.strip_prefix('-').map_or((false, value), |d| (true, d));
    let decimals = usize::from(decimals);
    let padded = format!("{digits:0>width$}", width = decimals + 1);
    let (integer, fraction) = padded.split_at(padded.len() - decimals);
    let sign = if negative { "-" } else { "" };
    if fraction.is_empty() { format!("{sign}{integer}") } else { format!("{sign}{integer}.{fraction}") }
}

impl Extraction {
    /// The job's value from `reading`.
    pub fn value(&self, reading: &Reading) -> Result<Decimal, String> {
        match (self, reading) {
            (Extraction::Constant(value), _) => Ok(value.clone()),
            (Extraction::Route(route), Reading::Json(document)) => {
                value_at_route(document, route).map_err(|e| e.to_string())
            }
            (Extraction::Output { function, index, decimals }, Reading::Returned(data)) => {
                let outputs =
                    function.abi_decode_output(data).map_err(|e| format!("cannot decode the return data: {e}"))?;
                let text = match outputs.get(*index) {
                    Some(DynSolValue::Uint(v, _)) => v.to_string(),
                    Some(DynSolValue::Int(v, _)) => v.to_string(),
                    other => return Err(format!("output {index} is {other:?}, not an integer")),
                };
                Decimal::parse(&scaled(&text, *decimals), "value").map_err(|e| e.message)
            }
            _ => Err("the source returned something this job cannot read".to_string()),
        }
    }
}

/// The newest message of one WebSocket stream, kept by a background connection.
#[derive(Default)]
struct Feed {
    latest: Option<Arc<str>>,
    error: Option<String>,
}

struct Subscription {
    feed: Arc<Mutex<Feed>>,
    task: tokio::task::JoinHandle<()>,
}

/// Reads sources.
pub struct SourceReader {
    http: reqwest::Client,
    limits: FetchLimits,
    chains: HashMap<u64, DynProvider>,
    sockets: Mutex<HashMap<String, Subscription>>,
    /// Reads over the network under way at once (HTTP fetches and view calls).
    in_flight: tokio::sync::Semaphore,
}

/// Network reads (HTTP fetches, view calls) one scheduler makes at once; more wait their turn (review
/// H7: one read per distinct URL per tick, unbounded, exhausted file descriptors).
pub const MAX_CONCURRENT_READS: usize = 256;
/// WebSocket sources one scheduler follows at once; a job naming another one reads an error.
pub const MAX_WEBSOCKET_SOURCES: usize = 1_000;

impl SourceReader {
    /// A reader with these limits and these chains' RPC URLs (for oracle sources).
    pub fn new(limits: FetchLimits, chains: &[(u64, String)]) -> Result<Self, String> {
        let builder = reqwest::Client::builder().timeout(limits.timeout).user_agent("triggerx-condition-scheduler");
        let http = limits.policy.client(builder).map_err(|e| e.to_string())?;
        let mut providers = HashMap::new();
        for (chain_id, url) in chains {
            let provider = triggerx_chain::provider::connect(std::slice::from_ref(url))
                .map_err(|e| format!("chain {chain_id}: {e}"))?;
            providers.insert(*chain_id, provider);
        }
        Ok(SourceReader {
            http,
            limits,
            chains: providers,
            sockets: Mutex::new(HashMap::new()),
            in_flight: tokio::sync::Semaphore::new(MAX_CONCURRENT_READS),
        })
    }

    /// One read of `source`.
    pub async fn read(&self, source: &SourceKey) -> Result<Reading, String> {
        let _turn = match source {
            SourceKey::Api(_) | SourceKey::Oracle { .. } => {
                Some(self.in_flight.acquire().await.map_err(|_| "the reader is closed".to_string())?)
            }
            SourceKey::Static | SourceKey::Websocket(_) => None,
        };
        match source {
            SourceKey::Static => Ok(Reading::Nothing),
            SourceKey::Api(url) => self.get(url).await.map(Reading::Json),
            SourceKey::Websocket(url) => self.newest_message(url),
            SourceKey::Oracle { chain_id, contract, calldata } => {
                let provider = self.chains.get(chain_id).ok_or_else(|| format!("chain {chain_id} is not served"))?;
                let call = TransactionRequest::default().to(*contract).input(calldata.clone().into());
                match tokio::time::timeout(self.limits.timeout, provider.call(call)).await {
                    Ok(Ok(data)) => Ok(Reading::Returned(data)),
                    Ok(Err(e)) => Err(format!("view call failed: {e}")),
                    Err(_) => Err(format!("view call timed out after {:?}", self.limits.timeout)),
                }
            }
        }
    }

    async fn get(&self, url: &str) -> Result<Arc<str>, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
        self.limits.policy.check_url(&parsed).map_err(|e| e.to_string())?;
        let mut response = self.http.get(parsed).send().await.map_err(|e| {
            if e.is_timeout() {
                format!("timed out after {:?}", self.limits.timeout)
            } else if let Some(refused) = refusal(&e) {
                refused
            } else if e.is_redirect() {
                "redirect refused".to_string()
            } else if e.is_connect() {
                "cannot connect".to_string()
            } else {
                "request failed".to_string()
            }
        })?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let too_big = || format!("response larger than {} bytes", self.limits.max_bytes);
        if response.content_length().is_some_and(|n| n as usize > self.limits.max_bytes) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("reading the response: {e}"))? {
            if body.len() + chunk.len() > self.limits.max_bytes {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map(Arc::from).map_err(|_| "the response is not UTF-8 text".to_string())
    }

    fn newest_message(&self, url: &str) -> Result<Reading, String> {
        let mut sockets = self.sockets.lock().map_err(|_| "websocket feeds poisoned".to_string())?;
        if !sockets.contains_key(url) && sockets.len() >= MAX_WEBSOCKET_SOURCES {
            return Err(format!("this scheduler already follows {MAX_WEBSOCKET_SOURCES} websocket sources"));
        }
        let subscription = sockets.entry(url.to_string()).or_insert_with(|| {
            let feed = Arc::new(Mutex::new(Feed::default()));
            let task = tokio::spawn(follow_socket(url.to_string(), feed.clone(), self.limits.clone()));
            Subscription { feed, task }
        });
        let feed = subscription.feed.lock().map_err(|_| "websocket feed poisoned".to_string())?;
        match (&feed.error, &feed.latest) {
            (Some(error), _) => Err(error.clone()),
            (None, Some(latest)) => Ok(Reading::Json(latest.clone())),
            (None, None) => Err("no message received yet".to_string()),
        }
    }

    /// Closes WebSocket connections no job reads any more.
    pub fn keep_sockets(&self, in_use: &HashSet<String>) {
        if let Ok(mut sockets) = self.sockets.lock() {
            sockets.retain(|url, subscription| {
                let keep = in_use.contains(url);
                if !keep {
                    subscription.task.abort();
                }
                keep
            });
        }
    }
}

impl Drop for SourceReader {
    fn drop(&mut self) {
        self.keep_sockets(&HashSet::new());
    }
}

/// The policy's refusal inside a reqwest error (from the resolver or a redirect), as text.
fn refusal(error: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(inner) = source {
        if let Some(refused) = inner.downcast_ref::<triggerx_http::OutboundError>() {
            return Some(refused.to_string());
        }
        source = inner.source();
    }
    None
}

/// Keeps one WebSocket connection open (reconnecting with back-off) and the newest text message.
async fn follow_socket(url: String, feed: Arc<Mutex<Feed>>, limits: FetchLimits) {
    let mut backoff = Duration::from_millis(500);
    let max_bytes = limits.max_bytes;
    loop {
        let config = WebSocketConfig::default().max_message_size(Some(max_bytes)).max_frame_size(Some(max_bytes));
        let connected = async {
            let parsed = url::Url::parse(&url).map_err(|e| format!("invalid URL: {e}"))?;
            let stream = limits.policy.connect(&parsed).await.map_err(|e| e.to_string())?;
            let handshake = tokio_tungstenite::client_async_tls_with_config(url.as_str(), stream, Some(config), None);
            match tokio::time::timeout(limits.timeout, handshake).await {
                Ok(Ok(connected)) => Ok(connected),
                Ok(Err(_)) => Err("the WebSocket handshake failed".to_string()),
                Err(_) => Err(format!("the WebSocket handshake timed out after {:?}", limits.timeout)),
            }
        };
        let failure = match connected.await {
            Err(e) => format!("cannot connect: {e}"),
            Ok((mut stream, _)) => {
                backoff = Duration::from_millis(500);
                if let Ok(mut f) = feed.lock() {
                    f.error = None;
                }
                loop {
                    match stream.next().await {
                        Some(Ok(Message::Text(text))) => {
                            if let Ok(mut f) = feed.lock() {
                                f.latest = Some(Arc::from(text.as_str()));
                            }
                        }
                        Some(Ok(Message::Binary(data))) => {
                            if let (Ok(text), Ok(mut f)) = (std::str::from_utf8(&data), feed.lock()) {
                                f.latest = Some(Arc::from(text));
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => break format!("stream failed: {e}"),
                        None => break "the server closed the stream".to_string(),
                    }
                }
            }
        };
        tracing::debug!(%url, error = %failure, "websocket source down; reconnecting");
        if let Ok(mut f) = feed.lock() {
            f.error = Some(failure);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_integers_scale_exactly() {
        assert_eq!(scaled("123456789", 8), "1.23456789");
        assert_eq!(scaled("5", 3), "0.005");
        assert_eq!(scaled("-5", 3), "-0.005");
        assert_eq!(scaled("42", 0), "42");
        assert_eq!(scaled("0", 2), "0.00");
    }
}
