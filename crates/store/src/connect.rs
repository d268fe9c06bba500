//! Opening the store: picks the backend from the URL, tunes SQLite (WAL), applies migrations.

use std::path::Path;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

use crate::StoreError;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// File name of the embedded database inside the data directory.
pub const SQLITE_FILE_NAME: &str = "triggerx.db";
/// Connections kept to PostgreSQL.
pub const POSTGRES_POOL_SIZE: u32 = 16;
/// Connections kept to the SQLite file (WAL lets readers run beside the one writer).
pub const SQLITE_POOL_SIZE: u32 = 8;
/// How long a SQLite statement waits for the write lock before failing.
pub const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;
/// How long a caller waits for a free pooled connection.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded file database.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The job store: cheap to clone, shared by every handler.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time; writers of this process queue here (fairly, in order) instead of
    /// polling SQLite's lock with growing sleeps, which made tail latency jump to seconds under load.
    write_gate: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
}

static DRIVERS: Once = Once::new();

impl Store {
    /// Opens `url` (`sqlite://PATH` or `postgres://...`) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        DRIVERS.call_once(install_default_drivers);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        let pool = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
                // One connection first, to switch the file to WAL before the pool opens readers.
                let first = AnyPoolOptions::new().max_connections(1).connect(&url).await?;
                first.execute("PRAGMA journal_mode = WAL").await?;
                first.close().await;
                AnyPoolOptions::new()
                    .max_connections(SQLITE_POOL_SIZE)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(
                                format!(
                                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                                )
                                .as_str(),
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(POSTGRES_POOL_SIZE)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect(url)
                    .await?
            }
        };
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        let write_gate = (backend == Backend::Sqlite).then(|| std::sync::Arc::new(tokio::sync::Mutex::new(())));
        Ok(Store { pool, backend, write_gate })
    }

    /// Opens `database_url` when given, else the SQLite file in `data_dir` (created if missing).
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Store, StoreError> {
        match database_url {
            Some(url) => Store::connect(url).await,
            None => Store::connect(&Self::sqlite_url(data_dir)?).await,
        }
    }

    /// The SQLite URL of the embedded database in `data_dir`, creating the directory.
    pub fn sqlite_url(data_dir: &Path) -> Result<String, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| StoreError::DataDir { path: data_dir.display().to_string(), source })?;
        let file = data_dir.join(SQLITE_FILE_NAME);
        Ok(format!("sqlite://{}", file.display()))
    }

    /// Waits for this process's turn to write (SQLite only; PostgreSQL writes run concurrently).
    /// Hold the returned guard until the write transaction commits.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        }
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Lets the database finish background work after a bulk load: `VACUUM ANALYZE` on PostgreSQL, a WAL
    /// checkpoint and `ANALYZE` on SQLite (benchmarks call it between phases, as pgbench vacuums first).
    pub async fn settle(&self) -> Result<(), StoreError> {
        let statements: &[&str] = match self.backend {
            Backend::Postgres => &["VACUUM ANALYZE"],
            Backend::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)"],
        };
        for statement in statements {
            sqlx::query(statement).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl FromStr for Backend {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" => Ok(Backend::Postgres),
            other => Err(StoreError::UnsupportedUrl(other.to_string())),
        }
    }
}
