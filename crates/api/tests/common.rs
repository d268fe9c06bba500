//! Test harness: the real API server on a free port over a fresh database, and request helpers.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use triggerx_api::{ApiConfig, RunningApi};
use triggerx_store::{Backend, Store};
use triggerx_testbed::databases::fresh_store;

pub const OWNER_A: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
pub const OWNER_B: &str = "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359";
pub const TARGET: &str = "0x1111111111111111111111111111111111111111";
pub const EMITTER: &str = "0x2222222222222222222222222222222222222222";
pub const ABI: &str = r#"[{"type":"function","name":"increment","inputs":[{"name":"by","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"},{"type":"function","name":"poke","inputs":[],"outputs":[],"stateMutability":"nonpayable"}]"#;

/// A running API with an admin key and one key per owner.
pub struct TestApi {
    pub base: String,
    pub client: Client,
    pub admin: String,
    pub key_a: String,
    pub key_b: String,
    pub store: Store,
    pub server: Option<RunningApi>,
    _dir: tempfile::TempDir,
}

impl TestApi {
    pub async fn start(backend: Backend) -> TestApi {
        Self::start_with(backend, None).await
    }

    pub async fn start_with(backend: Backend, redis_url: Option<String>) -> TestApi {
        let dir = tempfile::tempdir().unwrap();
        let store = fresh_store(backend, dir.path()).await.unwrap();
        Self::on_store(store, redis_url, dir).await
    }

    pub async fn on_store(store: Store, redis_url: Option<String>, dir: tempfile::TempDir) -> TestApi {
        let admin = store.create_api_key(None, true, Some(100_000)).await.unwrap().key;
        let key_a = store.create_api_key(Some(OWNER_A), false, Some(100_000)).await.unwrap().key;
        let key_b = store.create_api_key(Some(OWNER_B), false, Some(100_000)).await.unwrap().key;
        let server = spawn(store.clone(), redis_url).await;
        TestApi {
            base: format!("http://{}", server.address),
            client: Client::new(),
            admin,
            key_a,
            key_b,
            store,
            server: Some(server),
            _dir: dir,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            request = request.header("X-Api-Key", k);
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }

    pub async fn put(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(key), Some(body)).await
    }
}

pub async fn spawn(store: Store, redis_url: Option<String>) -> RunningApi {
    spawn_with_chains(store, redis_url, Vec::new()).await
}

/// A server that serves `chains` (fees, on-chain job ownership).
pub async fn spawn_with_chains(
    store: Store,
    redis_url: Option<String>,
    chains: Vec<triggerx_api::ChainDeployment>,
) -> RunningApi {
    let scripts = local_ipfs_gateway().await;
    let config = ApiConfig { redis_url, chains, scripts, ..ApiConfig::on(SocketAddr::from(([127, 0, 0, 1], 0))) };
    triggerx_api::spawn(store, config).await.unwrap()
}

/// The script every `/ipfs/{cid}` of [`local_ipfs_gateway`] serves.
pub const GATEWAY_SCRIPT: &str = "async function main(input) { return [input.trigger.kind]; }";

/// A local stand-in for an IPFS gateway (a third party): scripts of `ipfs://` URLs are read from it.
pub async fn local_ipfs_gateway() -> triggerx_script::SourceConfig {
    let app = axum::Router::new().route("/ipfs/{cid}", axum::routing::get(|| async { GATEWAY_SCRIPT }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    triggerx_script::SourceConfig {
        ipfs_gateway: gateway,
        policy: triggerx_api::AddressPolicy::with_loopback(),
        ..Default::default()
    }
}

/// A valid static interval job.
pub fn time_job(id: &str, owner: &str) -> Value {
    json!({
        "job_id": id, "user_address": owner, "ether_balance": 1000000000000000000u64, "token_balance": 0,
        "job_title": format!("job {id}"), "task_definition_id": 1, "custom": false, "time_frame": 3600,
        "recurring": true, "job_cost_prediction": 0.001, "timezone": "Asia/Kolkata", "created_chain_id": "31337",
        "schedule_type": "interval", "time_interval": 30,
        "target_chain_id": "31337", "target_contract_address": TARGET, "target_function": "increment",
        "abi": ABI, "arg_type": 1, "arguments": ["5"], "is_imua": false, "is_safe": false
    })
}

/// A valid static event job with a filter.
pub fn event_job(id: &str, owner: &str) -> Value {
    let mut job = time_job(id, owner);
    let o = job.as_object_mut().unwrap();
    o.insert("task_definition_id".into(), json!(3));
    o.remove("schedule_type");
    o.remove("time_interval");
    o.insert("trigger_chain_id".into(), json!("31337"));
    o.insert("trigger_contract_address".into(), json!(EMITTER));
    o.insert("trigger_event".into(), json!("Transfer(address indexed from, address indexed to, uint256 value)"));
    o.insert("event_filter_para_name".into(), json!("to"));
    o.insert("event_filter_value".into(), json!(OWNER_A));
    job
}

/// A valid static condition job.
pub fn condition_job(id: &str, owner: &str) -> Value {
    let mut job = time_job(id, owner);
    let o = job.as_object_mut().unwrap();
    o.insert("task_definition_id".into(), json!(5));
    o.remove("schedule_type");
    o.remove("time_interval");
    o.insert("condition_type".into(), json!("greater_than"));
    o.insert("lower_limit".into(), json!(1000.5));
    o.insert("value_source_type".into(), json!("api"));
    o.insert("value_source_url".into(), json!("https://prices.example.com/price"));
    o.insert("selected_key_route".into(), json!("data.0.price"));
    job
}

/// Makes a job dynamic (task definition + 1, script URL, no static arguments).
pub fn dynamic(mut job: Value) -> Value {
    let o = job.as_object_mut().unwrap();
    let tdid = o["task_definition_id"].as_i64().unwrap() + 1;
    o.insert("task_definition_id".into(), json!(tdid));
    o.insert("arg_type".into(), json!(2));
    o.insert("arguments".into(), json!([]));
    o.insert(
        "dynamic_arguments_script_url".into(),
        json!("ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"),
    );
    job
}

/// Sets `field` of `job` to `value` (null removes it).
pub fn with(mut job: Value, field: &str, value: Value) -> Value {
    let o = job.as_object_mut().unwrap();
    if value.is_null() {
        o.remove(field);
    } else {
        o.insert(field.into(), value);
    }
    job
}

/// Percent-encodes `text` for a query string.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
