//! What the dispatcher keeps durable: which dispatcher owns a task until when (a lease), each
//! assignment (attempt, performer, on-chain deadline) and how it ended, the outcome the chain reported,
//! and the store's namespace for on-chain task ids. A restarted or standby dispatcher resumes from
//! these rows alone.

use rand::Rng;
use sqlx::any::AnyRow;
use triggerx_core::ids::JobId;
use triggerx_core::task::{Task, TaskAttempt, TaskRequest, TaskStatus};
use triggerx_core::time::now_millis;

use crate::rows::{corrupt, get};
use crate::tasks::{TASK_COLUMNS, task_from_row};
use crate::{Store, StoreError};

/// Statuses of tasks still in the dispatcher's hands.
const OPEN_STATUSES: &str = "('created', 'dispatched', 'executing')";

/// A new assignment of a task.
#[derive(Debug, Clone)]
pub struct NewAssignment<'a> {
    /// The task.
    pub task_id: i64,
    /// Its number: one more than the task's current attempt.
    pub attempt: i64,
    /// The keeper it goes to.
    pub performer_id: i64,
    /// The on-chain deadline, Unix ms.
    pub deadline_at: i64,
    /// The dispatcher making it (it must hold the task's lease).
    pub dispatcher: &'a str,
    /// Until when that dispatcher keeps the task, Unix ms.
    pub lease_until: i64,
    /// The call's arguments as converted for the ABI.
    pub converted_arguments: &'a [String],
}

/// An execution the hub reported on-chain (`FunctionExecuted`).
#[derive(Debug, Clone)]
pub struct ChainExecution {
    /// The store task.
    pub task_id: i64,
    /// The job it must belong to.
    pub job_id: JobId,
    /// Whether the target call succeeded.
    pub success: bool,
    /// The hub transaction, 0x hex.
    pub tx_hash: String,
    /// What the owner was charged, wei.
    pub amount_wei: String,
    /// The executing keeper's address (lowercase 0x hex).
    pub keeper_address: String,
    /// The target's revert data (bounded by the hub), for failed calls.
    pub return_data: String,
}

fn attempt_from_row(row: &AnyRow) -> Result<TaskAttempt, StoreError> {
    Ok(TaskAttempt {
        attempt: get(row, "attempt")?,
        performer_id: get(row, "performer_id")?,
        assigned_at: get(row, "assigned_at")?,
        deadline_at: get(row, "deadline_at")?,
        outcome: get(row, "outcome")?,
        reason: get(row, "reason")?,
        tx_hash: get(row, "tx_hash")?,
    })
}

impl Store {
    /// The store's namespace of on-chain task ids (made once, at random, and kept).
    pub async fn task_namespace(&self) -> Result<u64, StoreError> {
        let existing: Option<String> = sqlx::query_scalar("SELECT namespace FROM store_identity WHERE singleton = 1")
            .fetch_optional(&self.pool)
            .await?;
        let text = match existing {
            Some(text) => text,
            None => {
                // Below 2^63 so it survives any signed 64-bit column or JSON number on the way.
                let fresh = rand::thread_rng().gen_range(1..i64::MAX as u64);
                let _turn = self.write_turn().await;
                sqlx::query(
                    "INSERT INTO store_identity (singleton, namespace) VALUES (1, $1) ON CONFLICT (singleton) DO NOTHING",
                )
                .bind(fresh.to_string())
                .execute(&self.pool)
                .await?;
                sqlx::query_scalar("SELECT namespace FROM store_identity WHERE singleton = 1")
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        text.parse().map_err(|e| corrupt("store_identity.namespace", e))
    }

    /// Takes (or renews) the lease on an open task for `dispatcher` until `until` (Unix ms); false when
    /// another dispatcher's lease is still running or the task is final.
    pub async fn claim_task(&self, task_id: i64, dispatcher: &str, until: i64) -> Result<bool, StoreError> {
        let now = now_millis();
        let _turn = self.write_turn().await;
        let done = sqlx::query(&format!(
            "UPDATE tasks SET dispatcher = $1, dispatcher_until = $2 WHERE task_id = $3 \
             AND task_status IN {OPEN_STATUSES} \
             AND (dispatcher IS NULL OR dispatcher = $1 OR dispatcher_until < $4)"
        ))
        .bind(dispatcher)
        .bind(until)
        .bind(task_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a new assignment, only if the task is still open, at the attempt before it, and leased to
    /// the assigning dispatcher (so two dispatchers never both assign the same attempt). False otherwise.
    pub async fn record_assignment(&self, new: &NewAssignment<'_>) -> Result<bool, StoreError> {
        let now = now_millis();
        let converted =
            serde_json::to_string(new.converted_arguments).map_err(|e| corrupt("converted_arguments", e))?;
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(&format!(
            "UPDATE tasks SET task_status = 'dispatched', attempt = $1, task_performer_id = $2, deadline_at = $3, \
             dispatcher_until = $4, converted_arguments = $5, updated_at = $6 \
             WHERE task_id = $7 AND attempt = $8 AND dispatcher = $9 AND task_status IN {OPEN_STATUSES}"
        ))
        .bind(new.attempt)
        .bind(new.performer_id)
        .bind(new.deadline_at)
        .bind(new.lease_until)
        .bind(converted)
        .bind(now)
        .bind(new.task_id)
        .bind(new.attempt - 1)
        .bind(new.dispatcher)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO task_attempts (task_id, attempt, performer_id, assigned_at, deadline_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $4)",
        )
        .bind(new.task_id)
        .bind(new.attempt)
        .bind(new.performer_id)
        .bind(now)
        .bind(new.deadline_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records what became of one attempt (`refused` with its reason, `broadcast` with the transaction
    /// the performer says it sent, `expired`); a task being broadcast shows `executing` with that hash.
    pub async fn record_attempt_outcome(
        &self,
        task_id: i64,
        attempt: i64,
        outcome: &str,
        reason: &str,
        tx_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = now_millis();
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE task_attempts SET outcome = $1, reason = $2, tx_hash = COALESCE($3, tx_hash), updated_at = $4 \
             WHERE task_id = $5 AND attempt = $6 AND outcome NOT IN ('executed', 'failed')",
        )
        .bind(outcome)
        .bind(reason)
        .bind(tx_hash)
        .bind(now)
        .bind(task_id)
        .bind(attempt)
        .execute(&mut *tx)
        .await?;
        if let (Some(hash), "broadcast") = (tx_hash, outcome) {
            sqlx::query(
                "UPDATE tasks SET task_status = 'executing', execution_tx_hash = $1, updated_at = $2 \
                 WHERE task_id = $3 AND attempt = $4 AND task_status = 'dispatched'",
            )
            .bind(hash)
            .bind(now)
            .bind(task_id)
            .bind(attempt)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The assignments of a task, first first.
    pub async fn task_attempts(&self, task_id: i64) -> Result<Vec<TaskAttempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT attempt, performer_id, assigned_at, deadline_at, outcome, reason, tx_hash FROM task_attempts \
             WHERE task_id = $1 ORDER BY attempt",
        )
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(attempt_from_row).collect()
    }

    /// Open tasks that need a dispatcher now: never assigned (and older than `unassigned_after_ms`), or
    /// past their attempt's deadline; leased to `dispatcher` or to nobody (an expired lease counts as
    /// nobody's). Oldest first, at most `limit`.
    pub async fn due_tasks(
        &self,
        dispatcher: &str,
        unassigned_after_ms: i64,
        limit: i64,
    ) -> Result<Vec<Task>, StoreError> {
        let now = now_millis();
        let rows = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE task_status IN {OPEN_STATUSES} \
             AND (dispatcher IS NULL OR dispatcher = $1 OR dispatcher_until < $2) \
             AND ((attempt = 0 AND created_at <= $3) OR deadline_at <= $2) \
             ORDER BY task_id LIMIT $4"
        ))
        .bind(dispatcher)
        .bind(now)
        .bind(now - unassigned_after_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(task_from_row).collect()
    }

    /// Open tasks and their count by status (for the watchdog's figures and tests).
    pub async fn open_task_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM tasks WHERE task_status IN {OPEN_STATUSES}"))
            .fetch_one(&self.pool)
            .await?)
    }

    /// Ends an open task as failed with `reason` (the current attempt's outcome too). False when it was
    /// already final.
    pub async fn fail_task(&self, task_id: i64, reason: &str) -> Result<bool, StoreError> {
        self.end_open_task(task_id, TaskStatus::Failed, reason).await
    }

    /// Ends an open task as skipped with `reason` (its custom script decided not to execute this
    /// occurrence). False when it was already final.
    pub async fn skip_task(&self, task_id: i64, reason: &str) -> Result<bool, StoreError> {
        self.end_open_task(task_id, TaskStatus::Skipped, reason).await
    }

    async fn end_open_task(&self, task_id: i64, status: TaskStatus, reason: &str) -> Result<bool, StoreError> {
        let now = now_millis();
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(&format!(
            "UPDATE tasks SET task_status = $4, task_error = $1, is_successful = 0, updated_at = $2, \
             dispatcher = NULL, dispatcher_until = NULL WHERE task_id = $3 AND task_status IN {OPEN_STATUSES}"
        ))
        .bind(reason)
        .bind(now)
        .bind(task_id)
        .bind(status.as_str())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE task_attempts SET outcome = $4, reason = CASE WHEN reason = '' THEN $1 ELSE reason END, \
             updated_at = $2 WHERE task_id = $3 AND outcome IN ('assigned', 'broadcast')",
        )
        .bind(reason)
        .bind(now)
        .bind(task_id)
        .bind(status.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records an execution the chain reported. The chain is the authority: the task becomes executed
    /// (or failed with the target's revert data) whatever state it was in, unless an on-chain outcome
    /// is already recorded. Returns the updated task when this call recorded it (the performer's
    /// executed-task count moves then, once per task).
    pub async fn record_chain_execution(&self, execution: &ChainExecution) -> Result<Option<Task>, StoreError> {
        let now = now_millis();
        let keeper = self.keeper_by_address(&execution.keeper_address).await?;
        let performer_id = keeper.as_ref().map(|k| k.keeper_id);
        let (status, error) = if execution.success {
            (TaskStatus::Executed, String::new())
        } else {
            (TaskStatus::Failed, format!("target_reverted: {}", execution.return_data))
        };
        let wei = triggerx_core::numbers::Wei::parse(&execution.amount_wei, "amount")?;
        let ether = wei.to_string().parse::<f64>().unwrap_or(0.0) / 1e18;
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE tasks SET task_status = $1, task_error = $2, is_successful = $3, execution_tx_hash = $4, \
             task_cost_wei = $5, task_opx_cost = $6, task_performer_id = COALESCE($7, task_performer_id), \
             execution_timestamp = $8, updated_at = $8, dispatcher = NULL, dispatcher_until = NULL, onchain_outcome = 1 \
             WHERE task_id = $9 AND job_id = $10 AND onchain_outcome = 0",
        )
        .bind(status.as_str())
        .bind(&error)
        .bind(i64::from(execution.success))
        .bind(&execution.tx_hash)
        .bind(wei.to_string())
        .bind(ether)
        .bind(performer_id)
        .bind(now)
        .bind(execution.task_id)
        .bind(execution.job_id.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE task_attempts SET outcome = $1, tx_hash = $2, updated_at = $3 \
             WHERE task_id = $4 AND performer_id = $5",
        )
        .bind(if execution.success { "executed" } else { "failed" })
        .bind(&execution.tx_hash)
        .bind(now)
        .bind(execution.task_id)
        .bind(performer_id)
        .execute(&mut *tx)
        .await?;
        if execution.success {
            sqlx::query(
                "UPDATE jobs SET last_executed_at = $1, updated_at = $1, \
                 status = CASE WHEN status = 'pending' THEN 'running' ELSE status END WHERE job_id = $2",
            )
            .bind(now)
            .bind(execution.job_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        if let Some(id) = performer_id {
            sqlx::query("UPDATE keepers SET no_executed_tasks = no_executed_tasks + 1 WHERE keeper_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.task(execution.task_id).await
    }

    /// Records an occurrence that cannot run (its job is paused, deleted or finished) as a failed task
    /// with `reason`, so the refusal is visible; returns the occurrence's task (the existing one if it
    /// already had one).
    pub async fn record_refused_task(
        &self,
        job_id: JobId,
        occurrence_key: &str,
        reason: &str,
    ) -> Result<Task, StoreError> {
        let job = self.require_job(job_id).await?;
        let now = now_millis();
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO tasks (job_id, task_definition_id, occurrence_key, task_status, task_error, created_at, updated_at) \
             VALUES ($1, $2, $3, 'failed', $4, $5, $5) ON CONFLICT (job_id, occurrence_key) DO NOTHING",
        )
        .bind(job_id.to_string())
        .bind(job.spec.task_definition_id.number())
        .bind(occurrence_key)
        .bind(reason)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE job_id = $1 AND occurrence_key = $2"))
            .bind(job_id.to_string())
            .bind(occurrence_key)
            .fetch_one(&self.pool)
            .await?;
        task_from_row(&row)
    }

    /// Which of `occurrences` already have a task row (the sign that a request reached the dispatcher).
    pub async fn existing_occurrences(
        &self,
        occurrences: &[(JobId, String)],
    ) -> Result<std::collections::HashSet<(JobId, String)>, StoreError> {
        let mut found = std::collections::HashSet::new();
        for chunk in occurrences.chunks(OCCURRENCE_LOOKUP_CHUNK) {
            let mut sql = String::from("SELECT job_id, occurrence_key FROM tasks WHERE ");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(" OR ");
                }
                sql.push_str(&format!("(job_id = ${} AND occurrence_key = ${})", 2 * i + 1, 2 * i + 2));
            }
            let mut query = sqlx::query_as::<_, (String, String)>(&sql);
            for (job_id, key) in chunk {
                query = query.bind(job_id.to_string()).bind(key.clone());
            }
            for (job_id, key) in query.fetch_all(&self.pool).await? {
                let job_id = JobId::parse(&job_id, "job_id").map_err(|e| corrupt("tasks.job_id", e))?;
                found.insert((job_id, key));
            }
        }
        Ok(found)
    }
}

/// Occurrences looked up per query (two bound values each).
const OCCURRENCE_LOOKUP_CHUNK: usize = 200;

impl triggerx_core::ledger::OccurrenceLedger for Store {
    fn recorded<'a>(&'a self, requests: &'a [TaskRequest]) -> triggerx_core::ledger::LedgerFuture<'a> {
        Box::pin(async move {
            let pairs: Vec<(JobId, String)> = requests.iter().map(|r| (r.job_id, r.occurrence_key.clone())).collect();
            let found = self.existing_occurrences(&pairs).await?;
            Ok(requests.iter().filter(|r| found.contains(&(r.job_id, r.occurrence_key.clone()))).cloned().collect())
        })
    }
}
