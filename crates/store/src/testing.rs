//! Test support: a fresh, private database per test on either backend, so tests run in parallel.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

use crate::{Backend, Store, StoreError};

/// Environment variable naming the PostgreSQL server tests create their databases on.
pub const TEST_POSTGRES_URL_ENV: &str = "TRIGGERX_TEST_POSTGRES_URL";
/// Server used when the variable is not set.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Prefix of the databases tests create (the test script drops leftovers with it).
pub const TEST_DATABASE_PREFIX: &str = "triggerx_test_";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A target address test jobs call.
pub const TEST_TARGET: &str = "0x1111111111111111111111111111111111111111";
/// The ABI of the test target (`increment(uint256)`).
pub const TEST_ABI: &str = r#"[{"type":"function","name":"increment","inputs":[{"name":"by","type":"uint256"}],"outputs":[],"stateMutability":"nonpayable"}]"#;

/// A valid time job (every 10 s for an hour, static argument) as a client would post it.
pub fn time_job_input(id: &str, owner: &str) -> triggerx_core::job_input::CreateJobData {
    triggerx_core::job_input::CreateJobData {
        job_id: triggerx_core::ids::JobId::parse(id, "job_id").ok(),
        user_address: Some(owner.into()),
        job_title: format!("job {id}"),
        task_definition_id: Some(1),
        time_frame: Some(3600),
        recurring: true,
        schedule_type: Some("interval".into()),
        time_interval: Some(10),
        target_chain_id: Some("31337".into()),
        target_contract_address: Some(TEST_TARGET.into()),
        target_function: Some("increment".into()),
        abi: Some(TEST_ABI.into()),
        arg_type: Some(1),
        arguments: Some(vec!["5".into()]),
        ..Default::default()
    }
}

/// A valid recurring condition job (`value > 100` read from `url` at `route`, every second).
pub fn condition_job_input(id: &str, owner: &str, url: &str, route: &str) -> triggerx_core::job_input::CreateJobData {
    triggerx_core::job_input::CreateJobData {
        task_definition_id: Some(5),
        schedule_type: None,
        time_interval: None,
        condition_type: Some("greater_than".into()),
        lower_limit: triggerx_core::numbers::Decimal::parse("100", "lower_limit").ok(),
        value_source_type: Some(if url.starts_with("ws") { "websocket" } else { "api" }.into()),
        value_source_url: Some(url.into()),
        selected_key_route: Some(route.into()),
        ..time_job_input(id, owner)
    }
}

/// A store on a new empty database; the SQLite file lives in `dir`.
pub async fn fresh_store(backend: Backend, dir: &std::path::Path) -> Result<Store, StoreError> {
    Store::connect(&fresh_database_url(backend, dir).await?).await
}

/// The URL of a new empty database of `backend` (PostgreSQL: on the server `TRIGGERX_TEST_POSTGRES_URL` names).
pub async fn fresh_database_url(backend: Backend, dir: &std::path::Path) -> Result<String, StoreError> {
    match backend {
        Backend::Sqlite => Ok(format!("sqlite://{}", dir.join(format!("{}.db", unique_name())).display())),
        Backend::Postgres => {
            let server = std::env::var(TEST_POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_string());
            fresh_postgres_database(&server).await
        }
    }
}

/// Creates a new empty database on the PostgreSQL server at `server` and returns its URL.
pub async fn fresh_postgres_database(server: &str) -> Result<String, StoreError> {
    let name = unique_name();
    let mut admin = sqlx::PgConnection::connect(server).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    admin.close().await?;
    let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(server);
    Ok(format!("{base}/{name}"))
}

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{TEST_DATABASE_PREFIX}{}_{n}_{}", std::process::id(), uuid::Uuid::new_v4().simple())
}
