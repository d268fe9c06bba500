//! Hostile callers against the real API server (review findings C1, H4, H7, M4): owner keys on a server
//! that cannot check owners, keeper records changed by strangers, random keys and methods, slow clients.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use triggerx_api::{ApiConfig, ServerLimits};
use triggerx_store::Backend;
use triggerx_testbed::databases::fresh_store;

/// Review C1 (second half): a server without chains used to take any owner key's job unchecked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_keys_create_jobs_only_where_owners_can_be_checked() {
    let api = TestApi::start(Backend::Sqlite).await;
    let (status, body) = api.post("/api/jobs", &api.key_a, json!([time_job("1", OWNER_A)])).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("serves no chain"), "{body}");
    assert!(api.store.job("1".parse().unwrap()).await.unwrap().is_none(), "nothing stored");
    let (status, body) = api.post("/api/jobs", &api.admin, json!([time_job("1", OWNER_A)])).await;
    assert_eq!(status, StatusCode::OK, "an admin key may: {body}");
}

/// Review H3: condition sources could name the API itself, Redis, PostgreSQL or the cloud metadata
/// service, and the job view quoted what they answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn condition_sources_naming_internal_hosts_are_refused() {
    let api = TestApi::start(Backend::Sqlite).await;
    for url in [
        "http://127.0.0.1:9002/api/openapi.json",
        "http://localhost:6379/",
        "http://[::1]:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/",
        "http://2130706433/",
        "ws://192.168.1.1/feed",
    ] {
        let job = with(condition_job("7", OWNER_A), "value_source_url", json!(url));
        let (status, body) = api.post("/api/jobs", &api.admin, json!([job])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert_eq!(body["error"]["code"], json!("invalid_url"), "{url}: {body}");
        assert_eq!(body["error"]["field"], json!("[0].value_source_url"));
    }
    assert!(api.store.job("7".parse().unwrap()).await.unwrap().is_none(), "nothing stored");
    let (status, body) = api.post("/api/jobs", &api.admin, json!([condition_job("7", OWNER_A)])).await;
    assert_eq!(status, StatusCode::OK, "a public host is fine: {body}");
}

/// Issue "Hostile input", item 8: the body the TypeScript SDK posts for every time job is accepted as
/// it is (the scheduler test `the_sdk_body_of_an_interval_job_runs_until_its_frame_ends` runs it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_body_is_accepted_as_it_is() {
    let api = TestApi::start(Backend::Sqlite).await;
    let body = triggerx_testbed::fixtures::sdk_interval_job_body("77", OWNER_A, 30, 3600);
    let (status, created) = api.post("/api/jobs", &api.admin, json!([body])).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let (_, view) = api.get("/api/jobs/77", &api.key_a).await;
    assert_eq!(view["job_data"]["status"], json!("pending"), "{view}");
    assert_eq!(view["job_data"]["recurring"], json!(false));
    assert!(view["time_job_data"]["next_execution_timestamp"].is_string(), "{view}");
}

fn signed_form(signer: &PrivateKeySigner, keeper: &str, rewards: &str, email: &str, signed_at: i64) -> Value {
    let form = triggerx_core::keeper::KeeperForm {
        keeper_name: "kay".into(),
        keeper_address: keeper.into(),
        rewards_address: Some(rewards.into()),
        email_id: Some(email.into()),
        signed_at: Some(signed_at),
        signature: None,
    };
    let signature = signer.sign_message_sync(form.message().as_bytes()).unwrap();
    json!({
        "keeper_name": "kay", "keeper_address": keeper, "rewards_address": rewards, "email_id": email,
        "signed_at": signed_at, "signature": signature.to_string(),
    })
}

/// Review H4: any key rewrote any keeper's rewards address and e-mail, and read its contacts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_records_change_only_with_the_keepers_signature_or_an_admin_key() {
    let api = TestApi::start(Backend::Sqlite).await;
    let consensus = PrivateKeySigner::random();
    let (status, keeper) = api
        .post(
            "/api/keepers",
            &api.admin,
            json!({"keeper_address": OWNER_B, "registered": true, "consensus_address": format!("{:#x}", consensus.address()),
                   "rewards_address": OWNER_B, "email_id": "keeper@example.org"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{keeper}");
    let id = keeper["keeper_id"].as_i64().unwrap();
    let now = chrono::Utc::now().timestamp();
    let dead = "0x000000000000000000000000000000000000dead";

    let (status, body) = api
        .post(
            "/api/keepers/form",
            &api.key_a,
            json!({"keeper_name": "x", "keeper_address": OWNER_B, "rewards_address": dead, "email_id": "evil@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "unsigned: {body}");
    let stranger = PrivateKeySigner::random();
    let (status, body) =
        api.post("/api/keepers/form", &api.key_a, signed_form(&stranger, OWNER_B, dead, "evil@example.com", now)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "signed by someone else: {body}");
    let mut tampered = signed_form(&consensus, OWNER_B, OWNER_B, "keeper@example.org", now);
    tampered["rewards_address"] = json!(dead);
    let (status, body) = api.post("/api/keepers/form", &api.key_a, tampered).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a field changed after signing: {body}");
    let (status, body) = api
        .post("/api/keepers/form", &api.key_a, signed_form(&consensus, OWNER_B, dead, "new@example.org", now - 3600))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("stale_signature")), "{body}");
    let (_, unchanged) = api.get(&format!("/api/keepers/{id}"), &api.admin).await;
    assert_eq!(unchanged["rewards_address"], json!(OWNER_B), "{unchanged}");
    assert_eq!(unchanged["email_id"], json!("keeper@example.org"));

    // The keeper itself (its consensus key) may.
    let (status, body) = api
        .post("/api/keepers/form", &api.key_a, signed_form(&consensus, OWNER_B, TARGET, "new@example.org", now))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, changed) = api.get(&format!("/api/keepers/{id}"), &api.admin).await;
    assert_eq!(
        (changed["rewards_address"].as_str(), changed["email_id"].as_str()),
        (Some(TARGET), Some("new@example.org"))
    );
    // A keeper not known yet signs with its own address's key.
    let newcomer = PrivateKeySigner::random();
    let newcomer_address = format!("{:#x}", newcomer.address());
    let (status, body) = api
        .post(
            "/api/keepers/form",
            &api.key_a,
            signed_form(&newcomer, &newcomer_address, &newcomer_address, "n@example.org", now),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Contacts are for admins only.
    for path in [format!("/api/keepers/{id}"), "/api/keepers/performers".to_string()] {
        let (_, seen) = api.get(&path, &api.key_a).await;
        assert!(!seen.to_string().contains("new@example.org"), "{path}: {seen}");
    }
    let (_, seen) = api.get(&format!("/api/keepers/{id}"), &api.key_a).await;
    assert_eq!((seen["email_id"].as_str(), &seen["chat_id"]), (Some(""), &Value::Null));
}

async fn metrics_text(api: &TestApi) -> String {
    api.client.get(format!("{}/metrics", api.base)).send().await.unwrap().text().await.unwrap()
}

/// Review H7 and M4: every random key stayed cached for ever, and every invented method made new series.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_keys_and_methods_grow_neither_the_key_cache_nor_the_metrics() {
    let api = TestApi::start(Backend::Sqlite).await;
    let total = triggerx_api::key_cache::MAX_CACHED_KEYS + 2_000;
    let client = api.client.clone();
    let mut requests = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (client, base) = (client.clone(), api.base.clone());
        requests.spawn(async move {
            for i in (worker..total).step_by(8) {
                let r = client.get(format!("{base}/api/jobs/1")).header("X-Api-Key", format!("TGRX-random-{i}")).send();
                assert_eq!(r.await.unwrap().status(), StatusCode::FORBIDDEN);
            }
        });
    }
    while let Some(done) = requests.join_next().await {
        done.unwrap();
    }
    let metrics = metrics_text(&api).await;
    let cached: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("triggerx_api_key_cache_entries "))
        .map(|v| v.trim().parse().unwrap())
        .expect("the key cache gauge is exported");
    assert!(cached <= triggerx_api::key_cache::MAX_CACHED_KEYS as f64, "{cached} cached after {total} random keys");

    for i in 0..300 {
        let method = Method::from_bytes(format!("M{i}").as_bytes()).unwrap();
        let (status, body) = api.call(method, "/api/jobs", Some(&api.key_a), None).await;
        assert!(status.is_client_error(), "{status}: {body}");
    }
    let metrics = metrics_text(&api).await;
    assert!(!metrics.contains("method=\"M"), "invented methods became series");
    assert!(metrics.contains("method=\"other\""), "they are counted as other");
    let (status, _) = api.get("/api/jobs/1", &api.key_a).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the server still answers");
}

/// Review M4: without a header-read timeout, a client that never finishes its headers held its
/// connection for ever (slowloris); idle keep-alive connections too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
    let key = store.create_api_key(Some(OWNER_A), false, None).await.unwrap().key;
    let limits = ServerLimits { header_read_timeout: Duration::from_secs(1), ..Default::default() };
    let config = ApiConfig { limits, ..ApiConfig::on(SocketAddr::from(([127, 0, 0, 1], 0))) };
    let server = triggerx_api::spawn(store, config).await.unwrap();
    let mut slow = Vec::new();
    for _ in 0..100 {
        let mut stream = tokio::net::TcpStream::connect(server.address).await.unwrap();
        stream.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        slow.push(stream);
    }
    let idle = tokio::net::TcpStream::connect(server.address).await.unwrap();
    slow.push(idle);
    let started = Instant::now();
    let url = format!("http://{}/api/jobs?limit=1", server.address);
    let response = reqwest::Client::new().get(&url).header("X-Api-Key", &key).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "others are served meanwhile");
    for mut stream in slow {
        let mut buffer = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await;
        let read = read.expect("the server closes a connection whose headers do not arrive");
        // Closed (0 bytes or a reset), possibly after a 408 answer.
        if let Ok(n) = read {
            assert!(n == 0 || String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 408"), "{n} bytes");
        }
    }
    assert!(started.elapsed() < Duration::from_secs(6));
    server.stop().await.unwrap();
}

/// Review H7 (quotas on the shortest periods): a cron schedule is fast by its shortest gap, and the
/// fast quota is checked before anything else needs a chain (so this server without chains shows it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_schedules_count_as_fast_by_their_shortest_gap() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(Backend::Sqlite, dir.path()).await.unwrap();
    let key = store.create_api_key(Some(OWNER_A), false, None).await.unwrap().key;
    let quotas = triggerx_api::JobQuotas { fast: 0, ..Default::default() };
    let server =
        triggerx_api::spawn(store, ApiConfig { quotas, ..ApiConfig::on(SocketAddr::from(([127, 0, 0, 1], 0))) })
            .await
            .unwrap();
    let client = reqwest::Client::new();
    let check = |cron: &'static str| {
        let job = with(with(time_job("9", OWNER_A), "schedule_type", json!("cron")), "cron_expression", json!(cron));
        let request = client
            .post(format!("http://{}/api/jobs/check", server.address))
            .header("X-Api-Key", &key)
            .json(&json!([with(job, "time_interval", Value::Null)]))
            .send();
        async move {
            let response = request.await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    // Every 5 s, every 10 s (the default fast period), and twice an hour but 5 s apart.
    for fast in ["*/5 * * * * *", "*/10 * * * * *", "0,5 0 * * * *"] {
        let (status, body) = check(fast).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{fast}: {body}");
        assert_eq!(body["error"]["code"], json!("quota_exceeded"), "{fast}: {body}");
    }
    // Every minute, or hourly, is not fast: it passes the quotas and meets the next check (no chain
    // to check the owner).
    for slow in ["0 * * * * *", "0 0 * * * *", "*/15 * * * *"] {
        let (status, body) = check(slow).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{slow}: {body}");
    }
}
