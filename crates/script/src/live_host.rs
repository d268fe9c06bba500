//! The host of a real run: `fetch` only to the hosts the job allows and never to internal addresses
//! (the same outbound guard as condition sources), `eth_call` on the chains it was given, each bounded
//! by the run's deadline. It runs on the script's own thread and blocks on the async client there.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use triggerx_http::outbound::AddressPolicy;
use url::Url;

use crate::record::{HostAnswer, HostRequest};
use crate::sandbox::Host;

/// Most bytes read of one response.
const MAX_READ_BYTES: usize = 1024 * 1024;

/// The HTTP client scripts fetch with, bound to an address policy: built once per service and shared
/// by every run (building a TLS client per run would cost more than most scripts).
#[derive(Clone)]
pub struct FetchClient {
    client: Option<reqwest::Client>,
    policy: AddressPolicy,
}

impl FetchClient {
    /// A client that obeys `policy` (a client that cannot be built makes every fetch an error).
    pub fn new(policy: AddressPolicy) -> FetchClient {
        FetchClient { client: policy.client(reqwest::Client::builder()).ok(), policy }
    }
}

/// Network access of a live run.
#[derive(Clone)]
pub struct LiveHost {
    runtime: tokio::runtime::Handle,
    client: Option<reqwest::Client>,
    policy: AddressPolicy,
    allowed_hosts: Vec<String>,
    chains: HashMap<String, DynProvider>,
    default_chain: String,
}

impl LiveHost {
    /// A host fetching with `fetch` from `allowed_hosts` (`host` or `host:port`; `*` allows every host
    /// the policy permits), calling `chains` (by chain id; `default_chain` when a call names none).
    /// Must be made inside a tokio runtime (its handle runs the requests).
    pub fn new(
        fetch: &FetchClient,
        allowed_hosts: Vec<String>,
        chains: HashMap<String, DynProvider>,
        default_chain: String,
    ) -> LiveHost {
        LiveHost {
            runtime: tokio::runtime::Handle::current(),
            client: fetch.client.clone(),
            policy: fetch.policy.clone(),
            allowed_hosts: allowed_hosts.into_iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
            chains,
            default_chain,
        }
    }

    fn allows(&self, url: &Url) -> bool {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let with_port = url.port_or_known_default().map(|p| format!("{host}:{p}")).unwrap_or_default();
        self.allowed_hosts.iter().any(|a| a == "*" || *a == host || *a == with_port)
    }

    fn fetch(
        &self,
        url: &str,
        method: &str,
        headers: &std::collections::BTreeMap<String, String>,
        body: &Option<String>,
        deadline: Instant,
    ) -> Result<HostAnswer, String> {
        let parsed = Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("'{url}' is not an http(s) URL"));
        }
        if !self.allows(&parsed) {
            return Err(format!(
                "fetch refused: {} is not among the job's allowed hosts",
                parsed.host_str().unwrap_or_default()
            ));
        }
        self.policy.check_url(&parsed).map_err(|e| format!("fetch refused: {e}"))?;
        let client = self.client.as_ref().ok_or("no HTTP client")?;
        let mut request = match method {
            "GET" => client.get(parsed),
            "POST" => client.post(parsed),
            other => return Err(format!("fetch refused: method {other} (GET or POST only)")),
        };
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(body) = body {
            request = request.body(body.clone());
        }
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        self.runtime.block_on(async move {
            let work = async {
                let mut response = request.send().await.map_err(|e| format!("fetch failed: {e}"))?;
                let status = response.status().as_u16();
                let mut bytes = Vec::new();
                while let Some(chunk) = response.chunk().await.map_err(|e| format!("fetch failed: {e}"))? {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_READ_BYTES {
                        return Err(format!("fetch refused: response larger than {MAX_READ_BYTES} bytes"));
                    }
                }
                Ok(HostAnswer::Fetch { status, body: String::from_utf8_lossy(&bytes).into_owned() })
            };
            tokio::time::timeout(left, work).await.map_err(|_| "fetch timed out".to_string())?
        })
    }

    fn eth_call(&self, chain_id: &str, to: &str, data: &str, deadline: Instant) -> Result<HostAnswer, String> {
        let chain = if chain_id.is_empty() { self.default_chain.as_str() } else { chain_id };
        let provider =
            self.chains.get(chain).ok_or_else(|| format!("eth_call refused: chain {chain} is not served here"))?;
        let to: Address = to.parse().map_err(|_| format!("eth_call: '{to}' is not an address"))?;
        let data: Bytes = data.parse().map_err(|_| "eth_call: data is not hex".to_string())?;
        let request = TransactionRequest::default().with_to(to).with_input(data);
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let provider = provider.clone();
        self.runtime.block_on(async move {
            match tokio::time::timeout(left, provider.call(request)).await {
                Ok(Ok(result)) => Ok(HostAnswer::EthCall { result: format!("{result}") }),
                Ok(Err(e)) => Err(format!("eth_call failed: {e}")),
                Err(_) => Err("eth_call timed out".into()),
            }
        })
    }
}

impl Host for LiveHost {
    fn answer(&mut self, request: &HostRequest, deadline: Instant) -> HostAnswer {
        let answer = match request {
            HostRequest::Fetch { url, method, headers, body } => self.fetch(url, method, headers, body, deadline),
            HostRequest::EthCall { chain_id, to, data } => self.eth_call(chain_id, to, data, deadline),
            HostRequest::Secret { name } => Err(format!("the job has no secret named '{name}'")),
        };
        answer.unwrap_or_else(|message| HostAnswer::Error { message })
    }
}
