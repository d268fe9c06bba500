//! A fresh, private database per test (or benchmark) on either backend, so tests run in parallel.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

use triggerx_store::{Backend, Store, StoreError};

/// Environment variable naming the PostgreSQL server tests create their databases on.
pub const TEST_POSTGRES_URL_ENV: &str = "TRIGGERX_TEST_POSTGRES_URL";
/// Server used when the variable is not set.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Prefix of the databases tests create (the test script drops leftovers with it).
pub const TEST_DATABASE_PREFIX: &str = "triggerx_test_";

static COUNTER: AtomicU64 = AtomicU64::new(0);

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
