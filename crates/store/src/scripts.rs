//! What scripts keep: each job's key-value storage (size-capped), its owner's secrets (read only by the
//! dispatcher that runs the script; the API shows their names), and each task's recorded run, written
//! once with the storage updates it made so a re-assigned task reuses its run instead of running again.

use std::collections::BTreeMap;

use triggerx_core::ids::JobId;
use triggerx_core::time::now_millis;

use crate::rows::get;
use crate::{Store, StoreError};

/// Most keys in one job's storage.
pub const MAX_STORAGE_KEYS: usize = 256;
/// Most bytes of one storage key.
pub const MAX_STORAGE_KEY_BYTES: usize = 128;
/// Most bytes of one storage value.
pub const MAX_STORAGE_VALUE_BYTES: usize = 4 * 1024;
/// Most secrets of one job.
pub const MAX_SECRETS: usize = 32;

/// Why a set of storage updates cannot be applied, if it cannot.
pub fn check_storage_updates(
    current: &BTreeMap<String, String>,
    updates: &[(String, Option<String>)],
) -> Result<(), String> {
    let mut keys: std::collections::BTreeSet<&str> = current.keys().map(String::as_str).collect();
    for (key, value) in updates {
        if key.is_empty() || key.len() > MAX_STORAGE_KEY_BYTES {
            return Err(format!("storage key '{key}' must be 1..={MAX_STORAGE_KEY_BYTES} bytes"));
        }
        match value {
            Some(v) if v.len() > MAX_STORAGE_VALUE_BYTES => {
                return Err(format!("storage value of '{key}' is larger than {MAX_STORAGE_VALUE_BYTES} bytes"));
            }
            Some(_) => {
                keys.insert(key);
            }
            None => {
                keys.remove(key.as_str());
            }
        }
    }
    if keys.len() > MAX_STORAGE_KEYS {
        return Err(format!("storage would hold {} keys, at most {MAX_STORAGE_KEYS}", keys.len()));
    }
    Ok(())
}

/// The two per-job key-value tables.
#[derive(Clone, Copy)]
enum KeyedTable {
    Storage,
    Secrets,
}

impl KeyedTable {
    /// (upsert, delete) statements.
    fn statements(self) -> (&'static str, &'static str) {
        match self {
            KeyedTable::Storage => (
                "INSERT INTO script_storage (job_id, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (job_id, key) DO UPDATE SET value = excluded.value",
                "DELETE FROM script_storage WHERE job_id = $1 AND key = $2",
            ),
            KeyedTable::Secrets => (
                "INSERT INTO script_secrets (job_id, name, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (job_id, name) DO UPDATE SET value = excluded.value",
                "DELETE FROM script_secrets WHERE job_id = $1 AND name = $2",
            ),
        }
    }
}

/// Sets (Some) or removes (None) each pair of `table` for job `id`, inside `tx`.
async fn write_pairs(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: KeyedTable,
    id: &str,
    changes: &[(String, Option<String>)],
) -> Result<(), StoreError> {
    let (upsert, delete) = table.statements();
    for (key, value) in changes {
        match value {
            Some(value) => {
                sqlx::query(upsert).bind(id).bind(key).bind(value).execute(&mut **tx).await?;
            }
            None => {
                sqlx::query(delete).bind(id).bind(key).execute(&mut **tx).await?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// The job's script storage.
    pub async fn script_storage(&self, job_id: JobId) -> Result<BTreeMap<String, String>, StoreError> {
        let rows = sqlx::query("SELECT key, value FROM script_storage WHERE job_id = $1")
            .bind(job_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((get(r, "key")?, get(r, "value")?))).collect()
    }

    /// The job's secrets, with their values (for the script host only).
    pub async fn script_secrets(&self, job_id: JobId) -> Result<BTreeMap<String, String>, StoreError> {
        let rows = sqlx::query("SELECT name, value FROM script_secrets WHERE job_id = $1")
            .bind(job_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((get(r, "name")?, get(r, "value")?))).collect()
    }

    /// Sets (a value) or removes (None) the job's secrets; the job must exist. Returns the names now set.
    pub async fn set_script_secrets(
        &self,
        job_id: JobId,
        changes: &[(String, Option<String>)],
    ) -> Result<Vec<String>, StoreError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let id = job_id.to_string();
        write_pairs(&mut tx, KeyedTable::Secrets, &id, changes).await?;
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM script_secrets WHERE job_id = $1 ORDER BY name")
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?;
        if names.len() > MAX_SECRETS {
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!("a job has at most {MAX_SECRETS} secrets")));
        }
        tx.commit().await?;
        Ok(names)
    }

    /// The names of the job's secrets.
    pub async fn script_secret_names(&self, job_id: JobId) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT name FROM script_secrets WHERE job_id = $1 ORDER BY name")
            .bind(job_id.to_string())
            .fetch_all(&self.pool)
            .await?)
    }

    /// The recorded script run of a task (JSON), if its script ran.
    pub async fn task_script_run(&self, task_id: i64) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar::<_, Option<String>>("SELECT script_run FROM tasks WHERE task_id = $1")
            .bind(task_id)
            .fetch_optional(&self.pool)
            .await?
            .flatten())
    }

    /// Records a task's script run and applies its storage updates, both or neither, once: false (and
    /// nothing changed) when the task already has a run (another dispatcher ran it first).
    pub async fn record_script_run(
        &self,
        task_id: i64,
        job_id: JobId,
        run_json: &str,
        updates: &[(String, Option<String>)],
    ) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let recorded =
            sqlx::query("UPDATE tasks SET script_run = $1, updated_at = $2 WHERE task_id = $3 AND script_run IS NULL")
                .bind(run_json)
                .bind(now_millis())
                .bind(task_id)
                .execute(&mut *tx)
                .await?;
        if recorded.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        write_pairs(&mut tx, KeyedTable::Storage, &job_id.to_string(), updates).await?;
        tx.commit().await?;
        Ok(true)
    }
}
