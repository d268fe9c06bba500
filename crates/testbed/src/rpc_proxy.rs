//! A JSON-RPC proxy in front of a node that delays or withholds chosen answers: a keeper pointed at
//! it sees a node whose `eth_sendRawTransaction` answers 35 s late, or never, while the transaction
//! itself reaches the chain at once (or only later). Tests and `triggerx chaos` switch faults on and
//! off while services run, and can wait for a method to have been forwarded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use tokio::sync::broadcast;

use crate::TestbedError;

/// Rule key that applies to every method without a rule of its own.
pub const ANY_METHOD: &str = "*";

/// What the proxy does with one method's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forwards at once and answers after the delay (the node acted; the client learns it late).
    DelayAnswer(Duration),
    /// Holds the request this long, then forwards it and answers (the node acts late).
    DelayRequest(Duration),
    /// Forwards and never answers (the client's request hangs).
    WithholdAnswer,
    /// Answers 503 without forwarding (the node is down).
    Refuse,
    /// Forwards, and answers a result array longer than this with the JSON-RPC error public
    /// providers give (`-32005 query returned more than N results`) instead.
    LimitResults(usize),
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    client: reqwest::Client,
    rules: Arc<Mutex<HashMap<String, Fault>>>,
    forwarded: broadcast::Sender<String>,
}

/// A running proxy.
pub struct RpcProxy {
    /// The proxy's URL (give it to the service instead of the node's).
    pub url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RpcProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RpcProxy {
    /// A proxy forwarding to `upstream` (an HTTP JSON-RPC URL), with no fault set.
    pub async fn start(upstream: &str) -> Result<RpcProxy, TestbedError> {
        let shared = Shared {
            upstream: upstream.to_string(),
            client: reqwest::Client::new(),
            rules: Arc::default(),
            forwarded: broadcast::channel(1024).0,
        };
        let app = axum::Router::new().route("/", axum::routing::post(relay)).with_state(shared.clone());
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(TestbedError::io("binding the RPC proxy"))?;
        let address = listener.local_addr().map_err(TestbedError::io("binding the RPC proxy"))?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(RpcProxy { url: format!("http://{address}"), shared, task })
    }

    /// Sets (or, with `None`, clears) the fault of `method` (`ANY_METHOD` for every other method).
    pub fn set(&self, method: &str, fault: Option<Fault>) {
        let mut rules = self.shared.rules.lock().unwrap_or_else(|p| p.into_inner());
        match fault {
            Some(fault) => rules.insert(method.to_string(), fault),
            None => rules.remove(method),
        };
    }

    /// Clears every fault.
    pub fn clear(&self) {
        self.shared.rules.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The methods of requests as they are forwarded to the node.
    pub fn forwarded(&self) -> broadcast::Receiver<String> {
        self.shared.forwarded.subscribe()
    }
}

fn methods(body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else { return Vec::new() };
    let calls = match value {
        serde_json::Value::Array(calls) => calls,
        single => vec![single],
    };
    calls.iter().filter_map(|c| c.get("method").and_then(|m| m.as_str()).map(str::to_string)).collect()
}

async fn relay(State(shared): State<Shared>, body: Bytes) -> impl IntoResponse {
    let methods = methods(&body);
    let fault = {
        let rules = shared.rules.lock().unwrap_or_else(|p| p.into_inner());
        methods.iter().find_map(|m| rules.get(m).copied()).or_else(|| rules.get(ANY_METHOD).copied())
    };
    if fault == Some(Fault::Refuse) {
        return (StatusCode::SERVICE_UNAVAILABLE, Bytes::from_static(b"node down (fault injected)"));
    }
    if let Some(Fault::DelayRequest(delay)) = fault {
        tokio::time::sleep(delay).await;
    }
    let answer =
        shared.client.post(&shared.upstream).header("content-type", "application/json").body(body).send().await;
    for method in &methods {
        let _ = shared.forwarded.send(method.clone());
    }
    let (status, bytes) = match answer {
        Ok(response) => {
            let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, response.bytes().await.unwrap_or_default())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, Bytes::from(e.to_string())),
    };
    match fault {
        Some(Fault::DelayAnswer(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::WithholdAnswer) => std::future::pending::<()>().await,
        Some(Fault::LimitResults(limit)) => return (status, limited(bytes, limit)),
        _ => {}
    }
    (status, bytes)
}

/// `answer` with a result array over `limit` entries replaced by a provider's "too many results" error.
fn limited(answer: Bytes, limit: usize) -> Bytes {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&answer) else { return answer };
    let over = value.get("result").and_then(|r| r.as_array()).is_some_and(|r| r.len() > limit);
    if !over {
        return answer;
    }
    let error = serde_json::json!({
        "jsonrpc": "2.0",
        "id": value.get("id").cloned().unwrap_or(serde_json::Value::Null),
        "error": {"code": -32005, "message": format!("query returned more than {limit} results")},
    });
    Bytes::from(error.to_string())
}
