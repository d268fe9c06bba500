//! Named checkpoints (e.g. where a log watcher stopped), implementing the core checkpoint port.

use triggerx_core::checkpoint::{CheckpointError, CheckpointStore};
use triggerx_core::time::now_millis;

use crate::Store;

impl CheckpointStore for Store {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<String>, CheckpointError> {
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(value)
    }

    async fn save_checkpoint(&self, name: &str, value: &str) -> Result<(), CheckpointError> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO checkpoints (name, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(value)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
