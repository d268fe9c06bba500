//! System routes over real HTTP: the OpenAPI document lists every route that exists, Prometheus metrics
//! count requests by route and status, and Redis-backed rate limits are shared between servers.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use triggerx_store::Backend;

#[tokio::test]
async fn openapi_document_parses_and_lists_every_route() {
    let api = TestApi::start(Backend::Sqlite).await;
    let response = api.client.get(format!("{}/api/openapi.json", api.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let document: utoipa::openapi::OpenApi = serde_json::from_str(&text).expect("a valid OpenAPI document");
    let raw: Value = serde_json::from_str(&text).unwrap();
    assert!(raw["openapi"].as_str().unwrap().starts_with("3.1"));
    let expected = [
        ("post", "/api/jobs"),
        ("post", "/api/jobs/check"),
        ("get", "/api/jobs"),
        ("get", "/api/jobs/by-apikey"),
        ("get", "/api/jobs/user/{user_address}"),
        ("get", "/api/jobs/user/{user_address}/{job_id}"),
        ("get", "/api/jobs/{job_id}"),
        ("delete", "/api/jobs/{job_id}"),
        ("put", "/api/jobs/update/{job_id}"),
        ("put", "/api/jobs/delete/{job_id}"),
        ("post", "/api/jobs/{job_id}/pause"),
        ("post", "/api/jobs/{job_id}/resume"),
        ("put", "/api/jobs/{job_id}/lastexecuted"),
        ("get", "/api/jobs/{job_id}/task-fees"),
        ("get", "/api/jobs/{job_id}/tasks"),
        ("post", "/api/tasks"),
        ("get", "/api/tasks/{task_id}"),
        ("get", "/api/tasks/job/{job_id}"),
        ("get", "/api/tasks/recent"),
        ("get", "/api/tasks/user/{user_address}"),
        ("put", "/api/tasks/execution/{task_id}"),
        ("get", "/api/users/{address}"),
        ("post", "/api/users/email"),
        ("post", "/api/keepers"),
        ("post", "/api/keepers/form"),
        ("get", "/api/keepers/performers"),
        ("get", "/api/keepers/{id}"),
        ("get", "/api/keepers/{id}/task-count"),
        ("get", "/api/keepers/{id}/points"),
        ("post", "/api/keepers/{id}/increment-tasks"),
        ("post", "/api/keepers/{id}/add-points"),
        ("post", "/api/keepers/update-chat-id"),
        ("get", "/api/leaderboard/keepers"),
        ("get", "/api/leaderboard/users"),
        ("get", "/api/leaderboard/users/search"),
        ("get", "/api/leaderboard/keepers/search"),
        ("get", "/api/fees"),
        ("post", "/api/admin/api-keys"),
        ("get", "/api/admin/api-keys"),
        ("put", "/api/admin/api-keys/{key}"),
        ("delete", "/api/admin/api-keys/{key}"),
        ("post", "/api/admin/tasks"),
        ("post", "/api/code/validate"),
        ("put", "/api/jobs/{job_id}/secrets"),
        ("get", "/api/jobs/{job_id}/secrets"),
        ("get", "/api/health"),
        ("get", "/metrics"),
        ("get", "/api/openapi.json"),
    ];
    let mut documented = 0;
    for (method, path) in raw["paths"].as_object().unwrap() {
        documented += method.len().min(1)
            * path
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "delete"].contains(&k.as_str()))
                .count();
    }
    assert_eq!(documented, expected.len(), "every documented operation is expected, and vice versa");
    for (method, path) in expected {
        assert!(raw["paths"][path][method].is_object(), "{method} {path} is documented");
        // And the route really exists: an unauthenticated call is 401 (or 200 for public routes), never 404/405.
        let url = format!("{}{}", api.base, path.replace(['{', '}'], ""));
        let status = api.client.request(method.to_uppercase().parse().unwrap(), url).send().await.unwrap().status();
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} routes: {status}"
        );
    }
    assert!(document.components.unwrap().schemas.contains_key("CreateJobData"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let api = TestApi::start(Backend::Sqlite).await;
    api.post("/api/jobs", &api.admin, json!([time_job("1", OWNER_A)])).await;
    api.get("/api/jobs/1", &api.key_a).await;
    api.get("/api/jobs/2", &api.key_a).await;
    let (status, health) = api.call(Method::GET, "/api/health", None, None).await;
    assert_eq!((status, health["status"].clone()), (StatusCode::OK, json!("ok")));
    let text = api.client.get(format!("{}/metrics", api.base)).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("triggerx_api_requests_total"), "{text}");
    assert!(text.lines().any(|l| l.contains("route=\"/api/jobs/{job_id}\"") && l.contains("status=\"404\"")), "{text}");
    assert!(text.contains("triggerx_api_request_duration_seconds_bucket"), "latency is a histogram");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_rate_limit_is_shared_between_servers() {
    let redis = std::env::var("TRIGGERX_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let first = TestApi::start_with(Backend::Postgres, Some(redis.clone())).await;
    let second = spawn(first.store.clone(), Some(redis)).await;
    let limited = first.store.create_api_key(Some(OWNER_A), false, Some(4)).await.unwrap().key;
    let (mut statuses, mut windows) = (Vec::new(), Vec::new());
    for i in 0..6 {
        let base = if i % 2 == 0 { first.base.clone() } else { format!("http://{}", second.address) };
        let r =
            first.client.get(format!("{base}/api/jobs/by-apikey")).header("x-api-key", &limited).send().await.unwrap();
        statuses.push(r.status().as_u16());
        windows.push(r.headers()["x-ratelimit-reset"].to_str().unwrap().to_string());
    }
    assert_eq!(statuses[..4], [200, 200, 200, 200], "four requests fit in the budget: {statuses:?}");
    if windows.iter().all(|w| *w == windows[0]) {
        // One minute window: the budget of 4 is shared, whichever server a request reaches.
        assert_eq!(statuses[4..], [429, 429], "{statuses:?}");
    }
    second.stop().await.unwrap();
}
