//! The REST API over real HTTP against real SQLite and PostgreSQL: jobs of every trigger type, owners,
//! auth, rate limits, bad input, tasks, keepers, fees, OpenAPI and metrics.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use triggerx_store::Backend;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(triggerx_store::Backend::Sqlite).await })* }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(triggerx_store::Backend::Postgres).await })* }
    };
}

both_backends!(
    creates_every_trigger_type_and_a_chain,
    lists_gets_updates_pauses_resumes_deletes,
    auth_401_403_and_owner_isolation,
    rate_limit_answers_429_with_headers,
    bad_inputs_are_4xx_naming_the_field_and_write_nothing,
    tasks_lifecycle_and_owner_checks,
    keepers_leaderboards_users_and_fees,
);

async fn creates_every_trigger_type_and_a_chain(backend: Backend) {
    let api = TestApi::start(backend).await;
    let cron =
        with(with(time_job("3", OWNER_A), "schedule_type", json!("cron")), "cron_expression", json!("*/5 * * * * *"));
    let specific = with(
        with(time_job("4", OWNER_A), "schedule_type", json!("specific")),
        "specific_schedule",
        json!(format!("{}", chrono::Utc::now().timestamp() + 600)),
    );
    let singles = [
        ("1", time_job("1", OWNER_A), "time_job_data"),
        ("2", dynamic(time_job("2", OWNER_A)), "time_job_data"),
        ("3", cron, "time_job_data"),
        ("4", specific, "time_job_data"),
        ("5", event_job("5", OWNER_A), "event_job_data"),
        ("6", dynamic(event_job("6", OWNER_A)), "event_job_data"),
        ("7", condition_job("7", OWNER_A), "condition_job_data"),
        ("8", dynamic(condition_job("8", OWNER_A)), "condition_job_data"),
    ];
    for (id, job, section) in singles {
        let (status, body) = api.post("/api/jobs", &api.admin, json!([job.clone()])).await;
        assert_eq!(status, StatusCode::OK, "job {id}: {body}");
        assert_eq!(body["job_ids"], json!([id]));
        assert_eq!(body["task_definition_ids"][0], job["task_definition_id"]);
        let (status, view) = api.get(&format!("/api/jobs/{id}"), &api.key_a).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(view["job_data"]["job_id"], json!(id));
        assert_eq!(view["job_data"]["status"], json!("pending"));
        assert!(view[section].is_object(), "job {id} has {section}: {view}");
        assert_eq!(view[section]["target_contract_address"], json!(TARGET));
    }
    let (_, event) = api.get("/api/jobs/5", &api.key_a).await;
    assert_eq!(
        event["event_job_data"]["topic0"],
        json!("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
    );
    let (_, condition) = api.get("/api/jobs/7", &api.key_a).await;
    assert_eq!(condition["condition_job_data"]["lower_limit"], json!(1000.5), "limits keep their decimals");
    let (_, cron) = api.get("/api/jobs/3", &api.key_a).await;
    assert!(cron["time_job_data"]["next_execution_timestamp"].is_string());

    // A two-job chain: 100 runs first and links to 101. uint256 ids stay exact.
    let big = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    let (status, body) =
        api.post("/api/jobs", &api.admin, json!([time_job(big, OWNER_A), condition_job("101", OWNER_A)])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["job_ids"], json!([big, "101"]));
    assert_eq!(body["time_frames"], json!([3600, 3600]));
    let (_, head) = api.get(&format!("/api/jobs/{big}"), &api.key_a).await;
    assert_eq!(head["job_data"]["link_job_id"], json!("101"));
    assert_eq!(head["job_data"]["chain_status"], json!(1));
    let (_, tail) = api.get("/api/jobs/101", &api.key_a).await;
    assert_eq!(tail["job_data"]["chain_status"], json!(2));
    assert_eq!(tail["job_data"]["link_job_id"], Value::Null);
    // The same id again is a conflict, not a second row.
    let (status, body) = api.post("/api/jobs", &api.admin, json!([time_job("1", OWNER_A)])).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

async fn lists_gets_updates_pauses_resumes_deletes(backend: Backend) {
    let api = TestApi::start(backend).await;
    for id in 1..=3 {
        let (status, _) = api.post("/api/jobs", &api.admin, json!([time_job(&id.to_string(), OWNER_A)])).await;
        assert_eq!(status, StatusCode::OK);
    }
    api.post("/api/jobs", &api.admin, json!([time_job("50", OWNER_B)])).await;
    let (status, page) = api.get(&format!("/api/jobs/user/{OWNER_A}?limit=2"), &api.key_a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["jobs"].as_array().unwrap().len(), 2);
    assert_eq!(page["page"]["total"], json!(3));
    assert_eq!(page["page"]["next_offset"], json!(2));
    let (_, rest) = api.get(&format!("/api/jobs/user/{OWNER_A}?limit=2&offset=2"), &api.key_a).await;
    assert_eq!(rest["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(rest["page"]["next_offset"], Value::Null);
    // Review M5: a deep offset makes the database read every skipped row; it is refused.
    for path in [format!("/api/jobs/user/{OWNER_A}?offset=100001"), "/api/leaderboard/users?offset=100001".to_string()]
    {
        let (status, deep) = api.get(&path, &api.key_a).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {deep}");
        assert_eq!(
            (deep["error"]["code"].as_str(), deep["error"]["field"].as_str()),
            (Some("invalid_page"), Some("offset"))
        );
    }
    let (_, mine) = api.get("/api/jobs/by-apikey", &api.key_a).await;
    assert_eq!(mine["jobs"].as_array().unwrap().len(), 3);
    let (_, all) = api.get("/api/jobs", &api.admin).await;
    assert_eq!(all["page"]["total"], json!(4), "admins see every owner's jobs");
    let (status, one) = api.get(&format!("/api/jobs/user/{OWNER_A}/2"), &api.key_a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["job_data"]["job_id"], json!("2"));

    let (status, updated) = api
        .put(
            "/api/jobs/update/2",
            &api.key_a,
            json!({"job_title": "renamed", "time_interval": 60, "recurring": false, "timezone": "Europe/Berlin"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["job_data"]["job_title"], json!("renamed"));
    assert_eq!(updated["time_job_data"]["time_interval"], json!(60));
    assert_eq!(updated["job_data"]["timezone"], json!("Europe/Berlin"));
    let (_, stored) = api.get("/api/jobs/2", &api.key_a).await;
    assert_eq!(stored["job_data"]["recurring"], json!(false));

    let (status, paused) = api.post("/api/jobs/2/pause", &api.key_a, json!({})).await;
    assert_eq!((status, paused["job_data"]["status"].clone()), (StatusCode::OK, json!("paused")));
    assert_eq!(paused["time_job_data"]["is_active"], json!(false));
    let (status, resumed) = api.post("/api/jobs/2/resume", &api.key_a, json!({})).await;
    assert_eq!((status, resumed["job_data"]["status"].clone()), (StatusCode::OK, json!("pending")));
    let (status, _) = api.put("/api/jobs/update/2", &api.key_a, json!({"status": "paused"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.get("/api/jobs/2", &api.key_a).await.1["job_data"]["status"], json!("paused"));

    let (status, _) = api.call(Method::DELETE, "/api/jobs/2", Some(&api.key_a), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api.put("/api/jobs/delete/3", &api.key_a, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.get("/api/jobs/3", &api.key_a).await.1["job_data"]["status"], json!("deleted"));
    let (status, _) = api.post("/api/jobs/3/resume", &api.key_a, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a deleted job cannot be resumed");
    let (_, left) = api.get("/api/jobs/by-apikey", &api.key_a).await;
    assert_eq!(left["jobs"].as_array().unwrap().len(), 1);
}

async fn auth_401_403_and_owner_isolation(backend: Backend) {
    let api = TestApi::start(backend).await;
    api.post("/api/jobs", &api.admin, json!([time_job("1", OWNER_A)])).await;
    let (status, body) = api.call(Method::GET, "/api/jobs/1", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], json!("missing_api_key"));
    let (status, _) = api.call(Method::POST, "/api/jobs", None, Some(json!([time_job("9", OWNER_A)]))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "every write needs a key");
    let (status, _) = api.get("/api/jobs/1", "TGRX-00000000-0000-0000-0000-000000000000").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Header name in any case, and Bearer.
    let r = api.client.get(format!("{}/api/jobs/1", api.base)).header("X-API-KEY", &api.key_a).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = api.client.get(format!("{}/api/jobs/1", api.base)).bearer_auth(&api.key_a).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Owner B sees nothing of A's and changes nothing of A's.
    for (method, path, body) in [
        (Method::GET, "/api/jobs/1".to_string(), None),
        (Method::GET, format!("/api/jobs/user/{OWNER_A}"), None),
        (Method::GET, format!("/api/jobs/user/{OWNER_A}/1"), None),
        (Method::PUT, "/api/jobs/update/1".to_string(), Some(json!({"job_title": "mine now"}))),
        (Method::POST, "/api/jobs/1/pause".to_string(), Some(json!({}))),
        (Method::DELETE, "/api/jobs/1".to_string(), None),
        (Method::GET, "/api/jobs/1/tasks".to_string(), None),
        (Method::GET, format!("/api/users/{OWNER_A}"), None),
        (Method::POST, "/api/jobs".to_string(), Some(json!([time_job("77", OWNER_A)]))),
        (Method::GET, format!("/api/jobs?owner={OWNER_A}"), None),
    ] {
        let (status, body) = api.call(method.clone(), &path, Some(&api.key_b), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert!(body["error"]["message"].is_string());
    }
    assert_eq!(api.get("/api/jobs/1", &api.key_a).await.1["job_data"]["job_title"], json!("job 1"));
    assert!(api.store.job("77".parse().unwrap()).await.unwrap().is_none());
    // Owner keys cannot manage keys, keepers or tasks.
    let (status, _) = api.get("/api/admin/api-keys", &api.key_a).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.post("/api/keepers", &api.key_a, json!({"keeper_address": OWNER_A})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A revoked key is refused at once.
    let (status, created) =
        api.post("/api/admin/api-keys", &api.admin, json!({"owner": OWNER_A, "rate_limit": 50})).await;
    assert_eq!(status, StatusCode::CREATED);
    let fresh = created["key"].as_str().unwrap().to_string();
    assert_eq!(api.get("/api/jobs/1", &fresh).await.0, StatusCode::OK);
    let (status, _) =
        api.call(Method::DELETE, &format!("/api/admin/api-keys/{}", created["id"]), Some(&api.admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api.get("/api/jobs/1", &fresh).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("revoked"));
    let (_, keys) = api.get("/api/admin/api-keys", &api.admin).await;
    assert!(
        keys["api_keys"].as_array().unwrap().iter().all(|k| k.get("key").is_none() && k.get("key_hash").is_none()),
        "secrets are never listed"
    );
}

async fn rate_limit_answers_429_with_headers(backend: Backend) {
    let api = TestApi::start(backend).await;
    let limited = api.store.create_api_key(Some(OWNER_A), false, Some(3)).await.unwrap().key;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = api
            .client
            .get(format!("{}/api/jobs/by-apikey", api.base))
            .header("x-api-key", &limited)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-ratelimit-limit"], "3");
        assert!(r.headers()["x-ratelimit-reset"].to_str().unwrap().parse::<u64>().unwrap() > 1_700_000_000);
        remaining.push(r.headers()["x-ratelimit-remaining"].to_str().unwrap().to_string());
    }
    // The window may roll over between requests; within one window the count goes down.
    let r =
        api.client.get(format!("{}/api/jobs/by-apikey", api.base)).header("x-api-key", &limited).send().await.unwrap();
    if remaining == ["2", "1", "0"] {
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], json!("rate_limited"));
    }
    // Other keys are not affected.
    assert_eq!(api.get("/api/jobs/by-apikey", &api.key_a).await.0, StatusCode::OK);
}

/// (description, body, expected status, expected field)
fn bad_job_bodies() -> Vec<(&'static str, Value, StatusCode, &'static str)> {
    let t = || time_job("1", OWNER_A);
    let bad = StatusCode::BAD_REQUEST;
    vec![
        ("not an array or object", json!("hello"), bad, "body"),
        ("empty array", json!([]), bad, "body"),
        ("missing job_id", json!([with(t(), "job_id", Value::Null)]), bad, "[0].job_id"),
        ("job_id not a number", json!([with(t(), "job_id", json!("abc"))]), bad, "[0].job_id"),
        ("negative job_id", json!([with(t(), "job_id", json!("-5"))]), bad, "[0].job_id"),
        ("job_id over uint256", json!([with(t(), "job_id", json!("1".repeat(80)))]), bad, "[0].job_id"),
        ("missing user_address", json!([with(t(), "user_address", Value::Null)]), bad, "[0].user_address"),
        (
            "bad checksum",
            json!([with(t(), "user_address", json!("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"))]),
            bad,
            "[0].user_address",
        ),
        ("short address", json!([with(t(), "user_address", json!("0x1234"))]), bad, "[0].user_address"),
        (
            "unknown task_definition_id",
            json!([with(t(), "task_definition_id", json!(9))]),
            bad,
            "[0].task_definition_id",
        ),
        (
            "task_definition_id wrong type",
            json!([with(t(), "task_definition_id", json!("one"))]),
            bad,
            "[0].task_definition_id",
        ),
        ("time_frame zero", json!([with(t(), "time_frame", json!(0))]), bad, "[0].time_frame"),
        ("time_frame missing", json!([with(t(), "time_frame", Value::Null)]), bad, "[0].time_frame"),
        ("unknown time zone", json!([with(t(), "timezone", json!("Mars/Olympus"))]), bad, "[0].timezone"),
        ("unknown schedule type", json!([with(t(), "schedule_type", json!("weekly"))]), bad, "[0].schedule_type"),
        ("interval zero", json!([with(t(), "time_interval", json!(0))]), bad, "[0].time_interval"),
        ("interval beyond time frame", json!([with(t(), "time_interval", json!(7200))]), bad, "[0].time_interval"),
        (
            "bad cron",
            json!([with(with(t(), "schedule_type", json!("cron")), "cron_expression", json!("99 * * * *"))]),
            bad,
            "[0].cron_expression",
        ),
        (
            "specific instant in the past",
            json!([with(
                with(t(), "schedule_type", json!("specific")),
                "specific_schedule",
                json!("2001-01-01T00:00:00Z")
            )]),
            bad,
            "[0].specific_schedule",
        ),
        (
            "bad target address",
            json!([with(t(), "target_contract_address", json!("0xnothex"))]),
            bad,
            "[0].target_contract_address",
        ),
        ("chain id zero", json!([with(t(), "target_chain_id", json!("0"))]), bad, "[0].target_chain_id"),
        ("abi not JSON", json!([with(t(), "abi", json!("{nope"))]), bad, "[0].abi"),
        ("function not in ABI", json!([with(t(), "target_function", json!("withdraw"))]), bad, "[0].target_function"),
        ("argument count", json!([with(t(), "arguments", json!(["1", "2"]))]), bad, "[0].arguments"),
        ("argument type", json!([with(t(), "arguments", json!(["lots"]))]), bad, "[0].arguments[0]"),
        ("arguments not an array", json!([with(t(), "arguments", json!("5"))]), bad, "[0].arguments"),
        ("arg_type contradicts task definition", json!([with(t(), "arg_type", json!(2))]), bad, "[0].arg_type"),
        (
            "dynamic without script",
            json!([with(dynamic(t()), "dynamic_arguments_script_url", Value::Null)]),
            bad,
            "[0].dynamic_arguments_script_url",
        ),
        (
            "bad event signature",
            json!([with(event_job("1", OWNER_A), "trigger_event", json!("Transfer(address,"))]),
            bad,
            "[0].trigger_event",
        ),
        (
            "unknown event parameter",
            json!([with(event_job("1", OWNER_A), "event_filter_para_name", json!("amount"))]),
            bad,
            "[0].event_filter_para_name",
        ),
        (
            "unknown condition type",
            json!([with(condition_job("1", OWNER_A), "condition_type", json!("roughly"))]),
            bad,
            "[0].condition_type",
        ),
        (
            "missing limit",
            json!([with(condition_job("1", OWNER_A), "lower_limit", Value::Null)]),
            bad,
            "[0].lower_limit",
        ),
        (
            "between with lower above upper",
            json!([with(
                with(with(condition_job("1", OWNER_A), "condition_type", json!("between")), "lower_limit", json!(5)),
                "upper_limit",
                json!(1)
            )]),
            bad,
            "[0].lower_limit",
        ),
        (
            "api source with ftp URL",
            json!([with(condition_job("1", OWNER_A), "value_source_url", json!("ftp://x"))]),
            bad,
            "[0].value_source_url",
        ),
        (
            "poll interval under a second",
            json!([with(condition_job("1", OWNER_A), "poll_interval", json!(0))]),
            bad,
            "[0].poll_interval",
        ),
        ("negative cool-down", json!([with(condition_job("1", OWNER_A), "cooldown", json!(-5))]), bad, "[0].cooldown"),
        (
            "oracle source without a contract address",
            json!([with(condition_job("1", OWNER_A), "value_source_type", json!("oracle"))]),
            bad,
            "[0].value_source_url",
        ),
        (
            "oracle without its function",
            json!([with(
                with(condition_job("1", OWNER_A), "value_source_type", json!("oracle")),
                "value_source_url",
                json!("0x1111111111111111111111111111111111111111")
            )]),
            bad,
            "[0].oracle_function",
        ),
        (
            "oracle function without outputs",
            json!([with(
                with(
                    with(condition_job("1", OWNER_A), "value_source_type", json!("oracle")),
                    "value_source_url",
                    json!("0x1111111111111111111111111111111111111111")
                ),
                "oracle_function",
                json!("latestAnswer()")
            )]),
            bad,
            "[0].oracle_function",
        ),
        (
            "limit not a number",
            json!([with(condition_job("1", OWNER_A), "upper_limit", json!({"v": 1}))]),
            bad,
            "[0].upper_limit",
        ),
        ("chain with two owners", json!([t(), time_job("2", OWNER_B)]), bad, "[1].user_address"),
        ("chain repeating an id", json!([t(), time_job("1", OWNER_A)]), bad, "[1].job_id"),
    ]
}

async fn bad_inputs_are_4xx_naming_the_field_and_write_nothing(backend: Backend) {
    let api = TestApi::start(backend).await;
    let cases = bad_job_bodies();
    assert!(cases.len() >= 25);
    for (what, body, expected, field) in cases {
        let (status, answer) = api.post("/api/jobs", &api.key_a, body).await;
        assert_eq!(status, expected, "{what}: {answer}");
        assert_eq!(answer["error"]["field"], json!(field), "{what}: {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty(), "{what}");
    }
    // Raw bodies: malformed JSON, wrong content type, oversized.
    let raw = |body: Vec<u8>, content_type: &'static str| {
        api.client
            .post(format!("{}/api/jobs", api.base))
            .header("x-api-key", &api.key_a)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let r = raw(b"[{\"job_id\": ".to_vec(), "application/json").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], json!("malformed_json"));
    let r = raw(b"[]".to_vec(), "text/plain").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], json!("Content-Type"));
    // Its own client: the server closes a connection whose oversized body it did not read.
    let r = reqwest::Client::new()
        .post(format!("{}/api/jobs", api.base))
        .header("x-api-key", &api.key_a)
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], json!("body"));
    // Other routes.
    api.post("/api/jobs", &api.admin, json!([time_job("5", OWNER_A)])).await;
    for (method, path, body, field) in [
        (Method::PUT, "/api/jobs/update/5", Some(json!({"time_frame": -1})), "time_frame"),
        (Method::PUT, "/api/jobs/update/5", Some(json!({"status": "exploded"})), "status"),
        (Method::PUT, "/api/jobs/update/5", Some(json!({"colour": "red"})), "colour"),
        (Method::PUT, "/api/jobs/update/5", Some(json!({"timezone": "Nowhere/Land"})), "timezone"),
        (Method::GET, "/api/jobs?limit=0", None, "limit"),
        (Method::GET, "/api/jobs?limit=ten", None, "limit"),
        (Method::GET, "/api/jobs/abc", None, "job_id"),
        (Method::GET, "/api/jobs/user/0x12", None, "user_address"),
        (Method::GET, "/api/fees", None, "task_definition_id"),
        (Method::GET, "/api/tasks/zero", None, "task_id"),
        (
            Method::POST,
            "/api/users/email",
            Some(json!({"user_address": OWNER_A, "email_id": "not-an-email"})),
            "email_id",
        ),
    ] {
        let (status, answer) = api.call(method.clone(), path, Some(&api.key_a), body).await;
        assert!(status.is_client_error(), "{method} {path}: {status} {answer}");
        assert_eq!(answer["error"]["field"], json!(field), "{method} {path}: {answer}");
    }
    // Nothing was written by any bad request: only job 5 exists, untouched.
    let (jobs, total) = api.store.list_jobs(None, true, Default::default()).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(jobs[0].spec.job_title, "job 5");
    assert_eq!(jobs[0].spec.time_frame, 3600);
    let (status, unknown) = api.get("/api/nowhere", &api.key_a).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(unknown["error"]["code"], json!("not_found"));
}

async fn tasks_lifecycle_and_owner_checks(backend: Backend) {
    let api = TestApi::start(backend).await;
    api.post("/api/jobs", &api.admin, json!([time_job("1", OWNER_A)])).await;
    let (status, _) = api.post("/api/admin/tasks", &api.key_a, json!({"job_id": "1"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins request runs");
    let (status, body) = api.post("/api/admin/tasks", &api.admin, json!({"job_id": "1"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "no dispatcher runs with this API: {body}");
    let (status, _) = api.post("/api/tasks", &api.key_a, json!({"job_id": "1"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only services (admin keys) create tasks");
    let (status, task) = api.post("/api/tasks", &api.admin, json!({"job_id": "1", "occurrence_key": "t:1"})).await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    assert_eq!(task["task_status"], json!("created"));
    let (status, again) = api.post("/api/tasks", &api.admin, json!({"job_id": "1", "occurrence_key": "t:1"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["task_id"], task["task_id"], "one task per occurrence");
    let id = task["task_id"].as_i64().unwrap();
    let hash = format!("0x{}", "cd".repeat(32));
    let (status, done) = api
        .put(&format!("/api/tasks/execution/{id}"), &api.admin, json!({"task_performer_id": 2, "execution_tx_hash": hash, "task_opx_cost": 0.0021, "converted_arguments": ["5"]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["task_status"], json!("executed"));
    let (status, bad_hash) =
        api.put(&format!("/api/tasks/execution/{id}"), &api.admin, json!({"execution_tx_hash": "0x12"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_hash["error"]["field"], json!("execution_tx_hash"));
    let (status, read) = api.get(&format!("/api/tasks/{id}"), &api.key_a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["execution_tx_hash"], json!(hash));
    assert_eq!(api.get(&format!("/api/tasks/{id}"), &api.key_b).await.0, StatusCode::FORBIDDEN);
    let (_, of_job) = api.get("/api/jobs/1/tasks", &api.key_a).await;
    assert_eq!(of_job["tasks"].as_array().unwrap().len(), 1);
    let (_, legacy) = api.get("/api/tasks/job/1", &api.key_a).await;
    assert_eq!(legacy["page"]["total"], json!(1));
    let (_, fees) = api.get("/api/jobs/1/task-fees", &api.key_a).await;
    assert_eq!(fees["task_fees"][0]["task_opx_cost"], json!(0.0021));
    let (_, recent_b) = api.get("/api/tasks/recent", &api.key_b).await;
    assert_eq!(recent_b["tasks"].as_array().unwrap().len(), 0, "owner B sees none of A's tasks");
    let (_, user_tasks) = api.get(&format!("/api/tasks/user/{OWNER_A}"), &api.key_a).await;
    assert_eq!(user_tasks["tasks"].as_array().unwrap().len(), 1);
    let (_, job) = api.get("/api/jobs/1", &api.key_a).await;
    assert!(job["job_data"]["last_executed_at"].is_string());
    assert_eq!(job["job_data"]["status"], json!("running"));
}

async fn keepers_leaderboards_users_and_fees(backend: Backend) {
    let api = TestApi::start(backend).await;
    let (status, keeper) = api
        .post("/api/keepers", &api.admin, json!({"keeper_address": OWNER_B, "voting_power": "1000", "registered": true, "consensus_address": OWNER_A}))
        .await;
    assert_eq!(status, StatusCode::OK, "{keeper}");
    let id = keeper["keeper_id"].as_i64().unwrap();
    assert_eq!(
        api.post(&format!("/api/keepers/{id}/increment-tasks"), &api.admin, json!({})).await.1["no_executed_tasks"],
        json!(1)
    );
    assert_eq!(
        api.post(&format!("/api/keepers/{id}/add-points"), &api.admin, json!({"points": 4.5})).await.1["keeper_points"],
        json!(4.5)
    );
    assert_eq!(api.get(&format!("/api/keepers/{id}/points"), &api.key_a).await.1["keeper_points"], json!(4.5));
    assert_eq!(api.get(&format!("/api/keepers/{id}/task-count"), &api.key_a).await.1["no_executed_tasks"], json!(1));
    let (status, _) =
        api.post("/api/keepers/update-chat-id", &api.admin, json!({"keeper_address": OWNER_B, "chat_id": 42})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.get(&format!("/api/keepers/{id}"), &api.admin).await.1["chat_id"], json!(42));
    assert_eq!(api.get(&format!("/api/keepers/{id}"), &api.key_a).await.1["chat_id"], Value::Null, "admins only");
    let (status, form) = api
        .post(
            "/api/keepers/form",
            &api.admin,
            json!({"keeper_name": "kay", "keeper_address": TARGET, "email_id": "k@example.org"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{form}");
    let (_, board) = api.get("/api/leaderboard/keepers", &api.key_a).await;
    assert_eq!(board["keepers"][0]["keeper_points"], json!(4.5));
    let (_, found) = api.get(&format!("/api/leaderboard/keepers/search?keeper_address={OWNER_B}"), &api.key_a).await;
    assert_eq!(found["keepers"].as_array().unwrap().len(), 1);
    let (_, performers) = api.get("/api/keepers/performers", &api.key_a).await;
    assert_eq!(performers["keepers"].as_array().unwrap().len(), 0, "not online yet");

    api.post("/api/jobs", &api.admin, json!([time_job("1", OWNER_A)])).await;
    let (status, user) = api.get(&format!("/api/users/{OWNER_A}"), &api.key_a).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["job_ids"], json!(["1"]));
    assert_eq!(user["user_points"], json!(10.0));
    assert_eq!(
        api.post("/api/users/email", &api.key_a, json!({"user_address": OWNER_A, "email_id": "a@example.org"})).await.0,
        StatusCode::OK
    );
    let (_, users) = api.get(&format!("/api/leaderboard/users/search?user_address={OWNER_A}"), &api.key_a).await;
    assert_eq!(users["users"][0]["total_jobs"], json!(1));

    // Fees are predicted on the job's chain; this server serves none (the chain-backed prediction is
    // tested in bin/triggerx/tests/fees.rs against anvil).
    let query = format!(
        "/api/fees?task_definition_id=1&target_chain_id=31337&target_contract_address={TARGET}&target_function=increment&abi={}&args=%5B%225%22%5D",
        urlencode(ABI)
    );
    let (status, fee) = api.get(&query, &api.key_a).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{fee}");
    assert_eq!(fee["error"]["code"], json!("unsupported_chain"));
    assert_eq!(fee["error"]["field"], json!("target_chain_id"));
    let (status, bad) = api
        .get(
            &format!(
                "/api/fees?task_definition_id=1&target_chain_id=31337&abi={}&target_function=increment&args=%5B%22x%22%5D",
                urlencode(ABI)
            ),
            &api.key_a,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"]["field"], json!("args[0]"));
    let (status, bad) = api.get("/api/fees?task_definition_id=1", &api.key_a).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"]["field"], json!("target_chain_id"));
}
