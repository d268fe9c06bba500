//! Leases: one holder at a time for a named role (the trigger schedulers), renewed by its holder and
//! taken over by another process once it has expired.

use triggerx_core::time::{UnixMillis, now_millis};

use crate::{Store, StoreError};

impl Store {
    /// Takes or renews lease `name` for `holder` until now + `ttl_ms`; says whether `holder` holds it
    /// (false while someone else's lease has not expired).
    pub async fn acquire_lease(&self, name: &str, holder: &str, ttl_ms: i64) -> Result<bool, StoreError> {
        let now = now_millis();
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "INSERT INTO scheduler_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE scheduler_leases.holder = excluded.holder OR scheduler_leases.expires_at < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(now + ttl_ms)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives lease `name` up if `holder` holds it (another process may take it at once).
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query("DELETE FROM scheduler_leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The holder of lease `name` and when it expires, if anyone holds it.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<(String, UnixMillis)>, StoreError> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT holder, expires_at FROM scheduler_leases WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row)
    }
}
