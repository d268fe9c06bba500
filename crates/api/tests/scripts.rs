//! Script routes and pinning over real HTTP: a scripted job's script is fetched and its hash pinned at
//! creation (an unreachable one refuses the job), `POST /api/code/validate` runs a script once and
//! returns its output or its error, and secrets are set by their owner and never shown back.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;
use triggerx_store::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_are_pinned_validated_and_their_secrets_kept_sqlite() {
    scripts_are_pinned_validated_and_their_secrets_kept(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_are_pinned_validated_and_their_secrets_kept_postgres() {
    scripts_are_pinned_validated_and_their_secrets_kept(Backend::Postgres).await;
}

async fn scripts_are_pinned_validated_and_their_secrets_kept(backend: Backend) {
    let api = TestApi::start(backend).await;

    // Pinned at creation: the hash of what the gateway served.
    let (status, body) = api.post("/api/jobs", &api.admin, json!([dynamic(time_job("2", OWNER_A))])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, view) = api.get("/api/jobs/2", &api.key_a).await;
    let pinned = &view["time_job_data"]["script_hash"];
    assert_eq!(pinned, &json!(triggerx_script::script_hash(GATEWAY_SCRIPT.as_bytes())), "{view}");

    // A script that cannot be fetched refuses the job, naming the field; nothing is stored.
    let unreachable =
        with(dynamic(time_job("3", OWNER_A)), "dynamic_arguments_script_url", json!("http://127.0.0.1:1/x.js"));
    let (status, body) = api.post("/api/jobs", &api.admin, json!([unreachable])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], json!("[0].dynamic_arguments_script_url"), "{body}");
    assert_eq!(body["error"]["code"], json!("script_unavailable"), "{body}");
    assert_eq!(api.get("/api/jobs/3", &api.key_a).await.0, StatusCode::NOT_FOUND);
    let bad_hosts = with(dynamic(time_job("4", OWNER_A)), "script_allowed_hosts", json!(["https://x.org/path"]));
    let (status, body) = api.post("/api/jobs", &api.admin, json!([bad_hosts])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], json!("[0].script_allowed_hosts[0]"), "{body}");

    // Validation runs: output, a thrown error, a runaway loop, and a request naming no script.
    let (status, ok) = api
        .post("/api/code/validate", &api.key_a, json!({"code": "async function main(i) { console.log('hi'); storage.set('n', 1); return [i.x * 2]; }", "input": {"x": 21}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    assert_eq!(ok["ok"], json!(true), "{ok}");
    assert_eq!(ok["output"], json!([42]));
    assert_eq!(ok["storage_updates"], json!({"n": "1"}));
    assert_eq!(ok["logs"], json!(["hi"]));
    let (_, threw) = api
        .post(
            "/api/code/validate",
            &api.key_a,
            json!({"code": "async function main() { throw new TypeError('nope'); }"}),
        )
        .await;
    assert_eq!(threw["ok"], json!(false));
    assert_eq!(threw["error"], json!("script_threw: TypeError: nope"), "{threw}");
    let (_, looped) =
        api.post("/api/code/validate", &api.key_a, json!({"code": "async function main() { while (true) {} }"})).await;
    assert!(looped["error"].as_str().unwrap().starts_with("script_out_of_fuel"), "{looped}");
    let (_, internal) = api
        .post("/api/code/validate", &api.key_a, json!({"code": "async function main() { return (await fetch('http://169.254.169.254/')).status; }", "allowed_hosts": ["169.254.169.254"]}))
        .await;
    assert!(internal["error"].as_str().unwrap().contains("internal address"), "{internal}");
    let (status, body) = api.post("/api/code/validate", &api.key_a, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = api.post("/api/code/validate", &api.key_a, json!({"code": 5})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Secrets: set by the owner, names listed, values never shown; others' keys refused.
    let (status, names) = api.put("/api/jobs/2/secrets", &api.key_a, json!({"api_key": "s3cr3t", "other": "x"})).await;
    assert_eq!(status, StatusCode::OK, "{names}");
    assert_eq!(names["names"], json!(["api_key", "other"]));
    let (_, names) = api.put("/api/jobs/2/secrets", &api.key_a, json!({"other": null})).await;
    assert_eq!(names["names"], json!(["api_key"]));
    let (status, listed) = api.get("/api/jobs/2/secrets", &api.key_a).await;
    assert_eq!((status, listed["names"].clone()), (StatusCode::OK, json!(["api_key"])));
    let (_, view) = api.get("/api/jobs/2", &api.key_a).await;
    assert!(!view.to_string().contains("s3cr3t"), "{view}");
    assert_eq!(api.put("/api/jobs/2/secrets", &api.key_b, json!({"x": "y"})).await.0, StatusCode::FORBIDDEN);
    let (status, body) = api.put("/api/jobs/2/secrets", &api.key_a, json!({"bad name!": "y"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let stored = api.store.script_secrets(triggerx_core::ids::JobId::parse("2", "job_id").unwrap()).await.unwrap();
    assert_eq!(stored.get("api_key").map(String::as_str), Some("s3cr3t"), "kept for the script host");

    // A task's run is recorded once, with its storage updates; a second record changes nothing.
    let job = triggerx_core::ids::JobId::parse("2", "job_id").unwrap();
    let (task, _) = api
        .store
        .create_task(&triggerx_store::NewTask {
            job_id: job,
            task_definition_id: None,
            occurrence_key: "time:1".into(),
            task_performer_id: None,
        })
        .await
        .unwrap();
    let first = [("runs".to_string(), Some("1".to_string())), ("gone".to_string(), None)];
    assert!(api.store.record_script_run(task.task_id, job, "{\"run\":1}", &first).await.unwrap());
    let second = [("runs".to_string(), Some("2".to_string()))];
    assert!(!api.store.record_script_run(task.task_id, job, "{\"run\":2}", &second).await.unwrap());
    assert_eq!(api.store.task_script_run(task.task_id).await.unwrap().as_deref(), Some("{\"run\":1}"));
    let storage = api.store.script_storage(job).await.unwrap();
    assert_eq!(storage.into_iter().collect::<Vec<_>>(), vec![("runs".to_string(), "1".to_string())]);
}
