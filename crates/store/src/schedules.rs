//! What trigger schedulers read and write: the jobs they should fire (at start and as they change), the
//! next occurrence of time jobs (persisted in batches), and the end of a job's run (completed when a
//! one-shot fired, expired when its time frame ran out).

use sqlx::any::AnyRow;
use triggerx_core::ids::{JobId, TriggerKind};
use triggerx_core::job::{ConditionState, Job, JobStatus, TimeTrigger};
use triggerx_core::time::{UnixMillis, now_millis};

use crate::job_rows::{job_from_row, time_trigger_from_row};
use crate::jobs::{JOB_SELECT, trigger_kind_name};
use crate::rows::{corrupt, flag, get};
use crate::{Store, StoreError};

/// What the time scheduler needs of a job (not its call: that is the dispatcher's business).
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSchedule {
    /// The job.
    pub job_id: JobId,
    /// Lifecycle status.
    pub status: JobStatus,
    /// Keeps firing after the first occurrence.
    pub recurring: bool,
    /// IANA time zone of the schedule.
    pub timezone: String,
    /// End of the time frame.
    pub expiration_time: UnixMillis,
    /// The schedule and the persisted next occurrence.
    pub trigger: TimeTrigger,
    /// Bumped by every schedule change through the API; writes of the next occurrence name the
    /// version they were computed from.
    pub schedule_version: i64,
}

/// A next occurrence to record (none: the job has no more), computed from `schedule_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextOccurrence {
    /// The job.
    pub job_id: JobId,
    /// The next occurrence.
    pub at: Option<UnixMillis>,
    /// The schedule version it was computed from.
    pub schedule_version: i64,
}

const TIME_SCHEDULE_SELECT: &str = "SELECT j.job_id, j.status, j.recurring, j.timezone, j.expiration_time, \
    t.schedule_type, t.time_interval, t.cron_expression, t.specific_schedule, t.next_execution_timestamp, \
    t.schedule_version FROM jobs j JOIN time_jobs t ON t.job_id = j.job_id";

/// Rows read per query when loading every time job (bounds memory at start-up).
const TIME_SCHEDULE_PAGE: i64 = 10_000;

fn time_schedule_from_row(row: &AnyRow) -> Result<TimeSchedule, StoreError> {
    let job_id: String = get(row, "job_id")?;
    let status: String = get(row, "status")?;
    Ok(TimeSchedule {
        job_id: JobId::parse(&job_id, "job_id").map_err(|e| corrupt("job_id", e))?,
        status: JobStatus::from_name(&status).ok_or_else(|| corrupt("status", &status))?,
        recurring: flag(row, "recurring")?,
        timezone: get(row, "timezone")?,
        expiration_time: get(row, "expiration_time")?,
        trigger: time_trigger_from_row(row)?,
        schedule_version: get(row, "schedule_version")?,
    })
}

impl Store {
    /// Every time job a scheduler should fire (pending or running), read in pages.
    pub async fn schedulable_time_jobs(&self) -> Result<Vec<TimeSchedule>, StoreError> {
        let sql = format!(
            "{TIME_SCHEDULE_SELECT} WHERE j.status IN ('pending', 'running') AND j.job_id > $1 ORDER BY j.job_id LIMIT $2"
        );
        let mut all = Vec::new();
        let mut after = String::new();
        loop {
            let rows = sqlx::query(&sql).bind(&after).bind(TIME_SCHEDULE_PAGE).fetch_all(&self.pool).await?;
            let Some(last) = rows.last() else { break };
            after = get(last, "job_id")?;
            let full = rows.len() as i64 == TIME_SCHEDULE_PAGE;
            for row in &rows {
                all.push(time_schedule_from_row(row)?);
            }
            if !full {
                break;
            }
        }
        Ok(all)
    }

    /// Time jobs changed at or after `since`, in any status (so a scheduler drops paused, deleted and
    /// expired ones).
    pub async fn time_jobs_changed_since(&self, since: UnixMillis) -> Result<Vec<TimeSchedule>, StoreError> {
        let sql = format!("{TIME_SCHEDULE_SELECT} WHERE j.trigger_kind = 'time' AND j.updated_at >= $1");
        let rows = sqlx::query(&sql).bind(since).fetch_all(&self.pool).await?;
        rows.iter().map(time_schedule_from_row).collect()
    }

    /// Every job of `kind` a scheduler should fire now (pending or running).
    pub async fn schedulable_jobs(&self, kind: TriggerKind) -> Result<Vec<Job>, StoreError> {
        let sql = format!("{JOB_SELECT} WHERE j.trigger_kind = $1 AND j.status IN ('pending', 'running')");
        let rows = sqlx::query(&sql).bind(trigger_kind_name(kind)).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Jobs of `kind` changed at or after `since` (any status: paused, deleted and expired ones too, so a
    /// scheduler drops them).
    pub async fn jobs_changed_since(&self, kind: TriggerKind, since: UnixMillis) -> Result<Vec<Job>, StoreError> {
        let sql = format!("{JOB_SELECT} WHERE j.trigger_kind = $1 AND j.updated_at >= $2");
        let rows = sqlx::query(&sql).bind(trigger_kind_name(kind)).bind(since).fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Records the next occurrence of many time jobs in one transaction; a job whose schedule changed
    /// since the version an occurrence was computed from keeps the next occurrence the change set.
    /// Returns how many were recorded.
    pub async fn set_next_executions(&self, next: &[NextOccurrence]) -> Result<u64, StoreError> {
        if next.is_empty() {
            return Ok(0);
        }
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let mut recorded = 0;
        for occurrence in next {
            let done = sqlx::query(
                "UPDATE time_jobs SET next_execution_timestamp = $1 WHERE job_id = $2 AND schedule_version = $3",
            )
            .bind(occurrence.at)
            .bind(occurrence.job_id.to_string())
            .bind(occurrence.schedule_version)
            .execute(&mut *tx)
            .await?;
            recorded += done.rows_affected();
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// Ends a time job's run (expired or completed) unless it is no longer pending or running, or its
    /// schedule changed since `schedule_version` (a longer time frame, say). Returns whether it ended.
    pub async fn finish_time_job(
        &self,
        job_id: JobId,
        status: JobStatus,
        schedule_version: i64,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE jobs SET status = $1, updated_at = $2 WHERE job_id = $3 AND status IN ('pending', 'running') \
             AND job_id IN (SELECT job_id FROM time_jobs WHERE job_id = $3 AND schedule_version = $4)",
        )
        .bind(status.as_str())
        .bind(now_millis())
        .bind(job_id.to_string())
        .bind(schedule_version)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records what the condition scheduler saw and did for many jobs in one transaction (the update
    /// time stays: this is the scheduler's state, not a change to the job). A firing count never goes
    /// backwards.
    pub async fn save_condition_states(&self, states: &[(JobId, ConditionState)]) -> Result<(), StoreError> {
        if states.is_empty() {
            return Ok(());
        }
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        for (job_id, state) in states {
            sqlx::query(
                "UPDATE condition_jobs SET armed = $1, transitions = $2, last_fired_at = $3, last_value = $4, \
                 last_checked_at = $5, source_error = $6, source_failures = $7 WHERE job_id = $8 AND transitions <= $9",
            )
            .bind(i64::from(state.armed))
            .bind(state.transitions)
            .bind(state.last_fired_at)
            .bind(state.last_value.as_ref().map(|v| v.as_str().to_string()))
            .bind(state.last_checked_at)
            .bind(state.source_error.clone())
            .bind(state.source_failures)
            .bind(job_id.to_string())
            .bind(state.transitions)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends a job's run with `status` (completed or expired) unless its owner paused or deleted it first;
    /// says whether it changed.
    pub async fn finish_job(&self, job_id: JobId, status: JobStatus) -> Result<bool, StoreError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE jobs SET status = $1, updated_at = $2 WHERE job_id = $3 AND status IN ('pending', 'running')",
        )
        .bind(status.as_str())
        .bind(now_millis())
        .bind(job_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

impl Store {
    /// Fails the not-yet-executing tasks of an occurrence whose trigger disappeared (a log a reorg
    /// removed) with `reason`; returns how many.
    pub async fn cancel_occurrence(&self, occurrence_key: &str, reason: &str) -> Result<u64, StoreError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE tasks SET task_status = 'failed', task_error = $1 \
             WHERE occurrence_key = $2 AND task_status IN ('created', 'dispatched')",
        )
        .bind(reason)
        .bind(occurrence_key)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
