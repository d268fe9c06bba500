//! Errors of the store.

use triggerx_core::FieldError;

/// What can go wrong reading or writing the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed row does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The write collides with existing data (duplicate id, illegal state change).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is well-formed but not acceptable for the stored data.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The database URL is not understood.
    #[error("database URL '{0}' is neither sqlite:// nor postgres://")]
    UnsupportedUrl(String),
    /// Migrations failed to apply.
    #[error("applying migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database reported an error.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value could not be decoded (corrupt or foreign data).
    #[error("corrupt stored value in {column}: {detail}")]
    Corrupt {
        /// Column holding the bad value.
        column: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// Filesystem error preparing the data directory.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether the database could not be reached (down, restarting, pool exhausted): a passing
    /// condition worth a 503 and a retry, not a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e) => matches!(
                e,
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_)
            ),
            _ => false,
        }
    }

    /// Whether the database rejected the write as a duplicate of a unique key.
    pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
        match err {
            sqlx::Error::Database(db) => {
                db.kind() == sqlx::error::ErrorKind::UniqueViolation
                    || db.message().contains("UNIQUE constraint failed")
                    || db.code().as_deref() == Some("23505")
            }
            _ => false,
        }
    }
}
