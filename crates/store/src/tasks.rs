//! Tasks: one row per job occurrence (unique per job and occurrence key), the execution report, lists.

use sqlx::any::AnyRow;
use triggerx_core::FieldError;
use triggerx_core::ids::{JobId, TaskDefinitionId};
use triggerx_core::paging::Page;
use triggerx_core::task::{Task, TaskExecutionUpdate, TaskStatus};
use triggerx_core::time::{UnixMillis, now_millis};

use crate::rows::{as_flag, corrupt, flag, get, json, optional_flag};
use crate::{Store, StoreError};

pub(crate) const TASK_COLUMNS: &str = "task_id, task_number, job_id, task_definition_id, occurrence_key, task_opx_cost, task_cost_wei, \
    execution_timestamp, execution_tx_hash, task_performer_id, task_attester_ids, proof_of_task, tp_signature, ta_signature, \
    task_submission_tx_hash, task_status, attempt, deadline_at, task_error, is_successful, is_accepted, tx_url, converted_arguments, created_at, updated_at";

/// A new task row request.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// Job the occurrence belongs to.
    pub job_id: JobId,
    /// Overrides the job's task definition.
    pub task_definition_id: Option<TaskDefinitionId>,
    /// Identity of the occurrence; the same key never makes a second task.
    pub occurrence_key: String,
    /// Assigned performer, when already known.
    pub task_performer_id: Option<i64>,
}

impl Store {
    /// Creates the task of an occurrence, or returns the one that already exists for it
    /// (`false` in the second element then): the same occurrence never gets two tasks.
    pub async fn create_task(&self, new: &NewTask) -> Result<(Task, bool), StoreError> {
        let job = self.require_job(new.job_id).await?;
        if job.status.is_final() || job.status == triggerx_core::job::JobStatus::Paused {
            return Err(StoreError::Conflict(format!("job {} is {}", new.job_id, job.status.as_str())));
        }
        let tdid = new.task_definition_id.unwrap_or(job.spec.task_definition_id);
        if tdid.trigger() != job.spec.task_definition_id.trigger() {
            return Err(StoreError::Invalid(FieldError::new(
                "inconsistent_task_definition_id",
                "task_definition_id",
                format!("job {} has task definition {}", new.job_id, job.spec.task_definition_id.number()),
            )));
        }
        let now = now_millis();
        let _turn = self.write_turn().await;
        let inserted = sqlx::query(&format!(
            "INSERT INTO tasks (job_id, task_definition_id, occurrence_key, task_performer_id, task_status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (job_id, occurrence_key) DO NOTHING RETURNING {TASK_COLUMNS}"
        ))
        .bind(new.job_id.to_string())
        .bind(tdid.number())
        .bind(&new.occurrence_key)
        .bind(new.task_performer_id)
        .bind(TaskStatus::Created.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = inserted {
            return Ok((task_from_row(&row)?, true));
        }
        let existing =
            sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE job_id = $1 AND occurrence_key = $2"))
                .bind(new.job_id.to_string())
                .bind(&new.occurrence_key)
                .fetch_one(&self.pool)
                .await?;
        Ok((task_from_row(&existing)?, false))
    }

    /// How many tasks the store holds.
    pub async fn task_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM tasks").fetch_one(&self.pool).await?)
    }

    /// One task.
    pub async fn task(&self, task_id: i64) -> Result<Option<Task>, StoreError> {
        let row = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE task_id = $1"))
            .bind(task_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// Tasks of a job, oldest first, and their total.
    pub async fn tasks_of_job(&self, job_id: JobId, page: Page) -> Result<(Vec<Task>, i64), StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE job_id = $1 ORDER BY task_id LIMIT $2 OFFSET $3"
        ))
        .bind(job_id.to_string())
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&self.pool)
        .await?;
        let total = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM tasks WHERE job_id = $1")
            .bind(job_id.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok((rows.iter().map(task_from_row).collect::<Result<_, _>>()?, total))
    }

    /// Most recent tasks, of one owner's jobs when `owner` is given.
    pub async fn recent_tasks(&self, owner: Option<&str>, page: Page) -> Result<(Vec<Task>, i64), StoreError> {
        let (filter, join) = match owner {
            Some(_) => ("WHERE j.user_address = $3", "JOIN jobs j ON j.job_id = t.job_id"),
            None => ("", ""),
        };
        let columns = TASK_COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT {columns} FROM tasks t {join} {filter} ORDER BY t.task_id DESC LIMIT $1 OFFSET $2");
        let mut query = sqlx::query(&sql).bind(page.limit).bind(page.offset);
        if let Some(o) = owner {
            query = query.bind(o);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let count_sql = format!("SELECT COUNT(*) FROM tasks t {join} {}", filter.replace("$3", "$1"));
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        if let Some(o) = owner {
            count = count.bind(o);
        }
        Ok((rows.iter().map(task_from_row).collect::<Result<_, _>>()?, count.fetch_one(&self.pool).await?))
    }

    /// Task ids and costs of a job (the original's `task-fees`).
    pub async fn task_fees(&self, job_id: JobId) -> Result<Vec<(i64, f64)>, StoreError> {
        let rows = sqlx::query("SELECT task_id, task_opx_cost FROM tasks WHERE job_id = $1 ORDER BY task_id")
            .bind(job_id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((get(r, "task_id")?, get(r, "task_opx_cost")?))).collect()
    }

    /// Records what the performer reports; an executed task also marks its job as executed.
    pub async fn update_task_execution(&self, task_id: i64, update: &TaskExecutionUpdate) -> Result<Task, StoreError> {
        let _turn = self.write_turn().await;
        let mut task = self.task(task_id).await?.ok_or_else(|| StoreError::NotFound(format!("task {task_id}")))?;
        let next_status = update.task_status.unwrap_or(if update.execution_tx_hash.is_some() {
            TaskStatus::Executed
        } else {
            task.task_status
        });
        if !task.task_status.can_become(next_status) {
            return Err(StoreError::Conflict(format!(
                "task {task_id} is {} and cannot become {}",
                task.task_status.as_str(),
                next_status.as_str()
            )));
        }
        let now = now_millis();
        let execution_timestamp: Option<UnixMillis> = match &update.execution_timestamp {
            Some(text) => Some(
                chrono::DateTime::parse_from_rfc3339(text)
                    .map_err(|_| {
                        FieldError::new("invalid_timestamp", "execution_timestamp", format!("'{text}' is not RFC 3339"))
                    })?
                    .timestamp_millis(),
            ),
            None if next_status == TaskStatus::Executed => Some(now),
            None => task.execution_timestamp,
        };
        if let Some(cost) = update.task_opx_cost {
            if !cost.is_finite() || cost < 0.0 {
                return Err(StoreError::Invalid(FieldError::new(
                    "invalid_number",
                    "task_opx_cost",
                    "must be a non-negative number",
                )));
            }
            task.task_opx_cost = cost;
        }
        if let Some(wei) = &update.task_cost_wei {
            task.task_cost_wei = triggerx_core::numbers::Wei::parse(wei, "task_cost_wei")?.to_string();
        }
        if let Some(hash) = &update.execution_tx_hash {
            check_tx_hash(hash, "execution_tx_hash")?;
            task.execution_tx_hash = hash.to_lowercase();
        }
        task.task_performer_id = update.task_performer_id.or(task.task_performer_id);
        task.proof_of_task = update.proof_of_task.clone().unwrap_or(task.proof_of_task);
        task.tp_signature = update.tp_signature.clone().unwrap_or(task.tp_signature);
        task.tx_url = update.tx_url.clone().unwrap_or(task.tx_url);
        task.task_error = update.task_error.clone().unwrap_or(task.task_error);
        task.converted_arguments = update.converted_arguments.clone().unwrap_or(task.converted_arguments);
        task.execution_timestamp = execution_timestamp;
        task.task_status = next_status;
        task.is_successful = next_status == TaskStatus::Executed;
        task.updated_at = now;
        let converted =
            serde_json::to_string(&task.converted_arguments).map_err(|e| corrupt("converted_arguments", e))?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE tasks SET task_performer_id = $1, execution_timestamp = $2, execution_tx_hash = $3, proof_of_task = $4, \
             task_opx_cost = $5, task_cost_wei = $6, task_status = $7, task_error = $8, converted_arguments = $9, \
             tp_signature = $10, tx_url = $11, is_successful = $12, updated_at = $13 WHERE task_id = $14",
        )
        .bind(task.task_performer_id)
        .bind(task.execution_timestamp)
        .bind(&task.execution_tx_hash)
        .bind(&task.proof_of_task)
        .bind(task.task_opx_cost)
        .bind(&task.task_cost_wei)
        .bind(task.task_status.as_str())
        .bind(&task.task_error)
        .bind(converted)
        .bind(&task.tp_signature)
        .bind(&task.tx_url)
        .bind(as_flag(task.is_successful))
        .bind(now)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
        if next_status == TaskStatus::Executed {
            sqlx::query(
                "UPDATE jobs SET last_executed_at = $1, updated_at = $2, \
                 status = CASE WHEN status = 'pending' THEN 'running' ELSE status END WHERE job_id = $3",
            )
            .bind(execution_timestamp.unwrap_or(now))
            .bind(now)
            .bind(task.job_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(task)
    }
}

/// Checks a transaction hash: 0x and 32 bytes of hex.
fn check_tx_hash(hash: &str, field: &str) -> Result<(), FieldError> {
    let ok = hash.strip_prefix("0x").is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new("invalid_tx_hash", field, format!("'{hash}' is not 0x + 32 bytes of hex")))
    }
}

pub(crate) fn task_from_row(row: &AnyRow) -> Result<Task, StoreError> {
    let job_id: String = get(row, "job_id")?;
    let tdid: i64 = get(row, "task_definition_id")?;
    let status: String = get(row, "task_status")?;
    Ok(Task {
        task_id: get(row, "task_id")?,
        task_number: get(row, "task_number")?,
        job_id: JobId::parse(&job_id, "job_id").map_err(|e| corrupt("tasks.job_id", e))?,
        task_definition_id: TaskDefinitionId::from_number(tdid)
            .ok_or_else(|| corrupt("tasks.task_definition_id", tdid))?,
        occurrence_key: get(row, "occurrence_key")?,
        task_opx_cost: get(row, "task_opx_cost")?,
        task_cost_wei: get(row, "task_cost_wei")?,
        execution_timestamp: get(row, "execution_timestamp")?,
        execution_tx_hash: get(row, "execution_tx_hash")?,
        task_performer_id: get(row, "task_performer_id")?,
        task_attester_ids: json(row, "task_attester_ids")?,
        proof_of_task: get(row, "proof_of_task")?,
        tp_signature: get(row, "tp_signature")?,
        ta_signature: get(row, "ta_signature")?,
        task_submission_tx_hash: get(row, "task_submission_tx_hash")?,
        task_status: TaskStatus::from_name(&status).ok_or_else(|| corrupt("task_status", &status))?,
        attempt: get(row, "attempt")?,
        deadline_at: get(row, "deadline_at")?,
        task_error: get(row, "task_error")?,
        is_successful: flag(row, "is_successful")?,
        is_accepted: optional_flag(row, "is_accepted")?,
        tx_url: get(row, "tx_url")?,
        converted_arguments: json(row, "converted_arguments")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}
