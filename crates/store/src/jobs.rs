//! Jobs: created all-or-nothing (a chain in one transaction), read with their trigger, listed by owner,
//! updated, paused, resumed and deleted.

use triggerx_core::FieldError;
use triggerx_core::ids::{JobId, TriggerKind};
use triggerx_core::job::{ConditionState, Job, JobStatus, NewJob, TimeTrigger, Trigger};
use triggerx_core::job_update::ValidatedUpdate;
use triggerx_core::paging::Page;
use triggerx_core::schedule::ScheduleType;
use triggerx_core::time::{UnixMillis, now_millis, to_datetime};

use crate::job_rows::job_from_row;
use crate::rows::{as_flag, corrupt, get};
use crate::{Store, StoreError};

/// Result of creating a chain of jobs.
#[derive(Debug, Clone)]
pub struct CreatedJobs {
    /// The owner's user id.
    pub user_id: i64,
    /// The owner's balance as now stored.
    pub account_balance: String,
    /// The owner's token balance as now stored.
    pub token_balance: String,
    /// The created jobs, in request order.
    pub jobs: Vec<Job>,
}

pub(crate) const JOB_SELECT: &str = "SELECT j.job_id, j.user_id, j.user_address, j.job_title, j.task_definition_id, j.trigger_kind, \
    j.link_job_id, j.chain_status, j.custom, j.time_frame, j.recurring, j.status, j.job_cost_prediction, j.timezone, \
    j.is_imua, j.is_safe, j.safe_name, j.safe_address, j.language, j.created_chain_id, j.ether_balance, j.token_balance, \
    j.expiration_time, j.target_chain_id, j.target_contract_address, j.target_function, j.abi, j.arg_type, j.arguments, \
    j.dynamic_arguments_script_url, j.script_hash, j.script_hosts, j.created_at, j.updated_at, j.last_executed_at, \
    t.schedule_type, t.time_interval, t.cron_expression, t.specific_schedule, t.next_execution_timestamp, \
    e.trigger_chain_id, e.trigger_contract_address, e.trigger_event, e.topic0, e.event_filter_para_name, e.event_filter_value, e.event_filter, \
    c.condition_type, c.upper_limit, c.lower_limit, c.value_source_type, c.value_source_url, c.selected_key_route, \
    c.poll_interval_ms, c.cooldown_ms, c.oracle_chain_id, c.oracle_function, c.oracle_arguments, c.oracle_decimals, \
    c.armed, c.transitions, c.last_fired_at, c.last_value, c.last_checked_at, c.source_error, c.source_failures \
    FROM jobs j LEFT JOIN time_jobs t ON t.job_id = j.job_id LEFT JOIN event_jobs e ON e.job_id = j.job_id \
    LEFT JOIN condition_jobs c ON c.job_id = j.job_id";

pub(crate) fn trigger_kind_name(kind: TriggerKind) -> &'static str {
    match kind {
        TriggerKind::Time => "time",
        TriggerKind::Event => "event",
        TriggerKind::Condition => "condition",
    }
}

impl Store {
    /// Creates a chain of validated jobs in one transaction: job i links to job i+1. Creates the
    /// owner on first use and credits job points. Nothing is written if any job fails.
    pub async fn create_jobs(&self, jobs: &[NewJob]) -> Result<CreatedJobs, StoreError> {
        let _turn = self.write_turn().await;
        let first =
            jobs.first().ok_or_else(|| StoreError::Invalid(FieldError::new("empty_request", "", "no jobs given")))?;
        let now = now_millis();
        let mut tx = self.pool.begin().await?;
        let (user_id, account_balance, token_balance) = upsert_owner(&mut tx, first, now).await?;
        let mut created = Vec::with_capacity(jobs.len());
        for (index, job) in jobs.iter().enumerate() {
            let link_job_id = jobs.get(index + 1).map(|next| next.job_id);
            let chain_status = match (jobs.len(), index) {
                (1, _) => 0,
                (_, 0) => 1,
                _ => 2,
            };
            insert_job(&mut tx, job, user_id, link_job_id, chain_status, now).await.map_err(|e| match e {
                StoreError::Conflict(msg) => StoreError::Conflict(format!("[{index}].job_id: {msg}")),
                other => other,
            })?;
            created.push(Job {
                spec: job.clone(),
                user_id,
                link_job_id,
                chain_status,
                status: JobStatus::Pending,
                created_at: now,
                updated_at: now,
                last_executed_at: None,
                condition_state: matches!(job.trigger, Trigger::Condition(_))
                    .then(|| ConditionState { armed: true, ..Default::default() }),
            });
        }
        tx.commit().await?;
        Ok(CreatedJobs { user_id, account_balance, token_balance, jobs: created })
    }

    /// One job with its trigger.
    pub async fn job(&self, job_id: JobId) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(&format!("{JOB_SELECT} WHERE j.job_id = $1"))
            .bind(job_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// A job, or `NotFound`.
    pub async fn require_job(&self, job_id: JobId) -> Result<Job, StoreError> {
        self.job(job_id).await?.ok_or_else(|| StoreError::NotFound(format!("job {job_id}")))
    }

    /// Jobs of `owner` that may still run (pending, running or paused).
    pub async fn live_job_count(&self, owner: &str) -> Result<i64, StoreError> {
        let count = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM jobs WHERE user_address = $1 AND status IN ('pending', 'running', 'paused')",
        )
        .bind(owner)
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }

    /// Live jobs of `owner` that fire every `period_ms` or more often (intervals, cron schedules by
    /// their shortest gap, condition polls).
    pub async fn fast_live_job_count(&self, owner: &str, period_ms: i64) -> Result<i64, StoreError> {
        let count = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM jobs WHERE user_address = $1 AND status IN ('pending', 'running', 'paused') \
             AND period_ms IS NOT NULL AND period_ms <= $2",
        )
        .bind(owner)
        .bind(period_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }

    /// Jobs of `owner` (or all, for `None`), oldest first, without deleted ones unless asked. Returns the
    /// page and the total count.
    pub async fn list_jobs(
        &self,
        owner: Option<&str>,
        include_deleted: bool,
        page: Page,
    ) -> Result<(Vec<Job>, i64), StoreError> {
        let mut conditions = Vec::new();
        if owner.is_some() {
            conditions.push("j.user_address = $3");
        }
        if !include_deleted {
            conditions.push("j.status <> 'deleted'");
        }
        let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!("{JOB_SELECT} {filter} ORDER BY j.created_at, j.job_id LIMIT $1 OFFSET $2");
        let mut query = sqlx::query(&sql).bind(page.limit).bind(page.offset);
        if let Some(o) = owner {
            query = query.bind(o);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let jobs = rows.iter().map(job_from_row).collect::<Result<Vec<_>, _>>()?;
        let count_sql = format!("SELECT COUNT(*) FROM jobs j {}", filter.replace("$3", "$1"));
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        if let Some(o) = owner {
            count = count.bind(o);
        }
        let total = count.fetch_one(&self.pool).await?;
        Ok((jobs, total))
    }

    /// Applies an update; recomputes expiry and the next occurrence where they depend on it.
    pub async fn update_job(&self, job_id: JobId, update: &ValidatedUpdate) -> Result<Job, StoreError> {
        let mut job = self.require_job(job_id).await?;
        if job.status == JobStatus::Deleted {
            return Err(StoreError::Conflict(format!("job {job_id} is deleted")));
        }
        let now = now_millis();
        if let Some(title) = &update.job_title {
            job.spec.job_title = title.clone();
        }
        if let Some(recurring) = update.recurring {
            job.spec.recurring = recurring;
        }
        if let Some(cost) = &update.job_cost_prediction {
            job.spec.job_cost_prediction = cost.clone();
        }
        if let Some(tz) = &update.timezone {
            job.spec.timezone = tz.clone();
        }
        if let Some(time_frame) = update.time_frame {
            job.spec.time_frame = time_frame;
            job.spec.expiration_time = job.created_at.saturating_add(time_frame.saturating_mul(1000));
        }
        if let Some(interval) = update.time_interval {
            match &mut job.spec.trigger {
                Trigger::Time(t) if t.schedule_type == ScheduleType::Interval => t.time_interval = interval,
                _ => {
                    return Err(StoreError::Invalid(FieldError::new(
                        "not_interval_job",
                        "time_interval",
                        "only interval time jobs have a time_interval",
                    )));
                }
            }
        }
        let schedule_changed = update.time_interval.is_some()
            || update.timezone.is_some()
            || update.time_frame.is_some()
            || update.recurring.is_some();
        if schedule_changed && let Trigger::Time(t) = &mut job.spec.trigger {
            t.next_execution_timestamp = next_occurrence(t, &job.spec.timezone, now, job.spec.expiration_time)?;
        }
        if let Some(pause) = update.pause {
            job.status = transition(job.status, pause, job_id)?;
        }
        if job.spec.expiration_time <= now && !job.status.is_final() {
            job.status = JobStatus::Expired;
        }
        job.updated_at = now;
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE jobs SET job_title = $1, recurring = $2, job_cost_prediction = $3, timezone = $4, time_frame = $5, \
             expiration_time = $6, status = $7, updated_at = $8, period_ms = $9 WHERE job_id = $10",
        )
        .bind(&job.spec.job_title)
        .bind(as_flag(job.spec.recurring))
        .bind(job.spec.job_cost_prediction.as_str())
        .bind(&job.spec.timezone)
        .bind(job.spec.time_frame)
        .bind(job.spec.expiration_time)
        .bind(job.status.as_str())
        .bind(now)
        .bind(job.spec.period_ms())
        .bind(job_id.to_string())
        .execute(&mut *tx)
        .await?;
        // Only a schedule change touches the next occurrence (and bumps the version, so a scheduler's
        // write computed from the old schedule is refused); otherwise it stays the scheduler's.
        if schedule_changed && let Trigger::Time(t) = &job.spec.trigger {
            sqlx::query(
                "UPDATE time_jobs SET time_interval = $1, next_execution_timestamp = $2, \
                 schedule_version = schedule_version + 1 WHERE job_id = $3",
            )
            .bind(t.time_interval)
            .bind(t.next_execution_timestamp)
            .bind(job_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(job)
    }

    /// Pauses (`true`) or resumes (`false`) a job.
    pub async fn set_job_paused(&self, job_id: JobId, paused: bool) -> Result<Job, StoreError> {
        self.update_job(job_id, &ValidatedUpdate { pause: Some(paused), ..Default::default() }).await
    }

    /// Marks a job deleted: it is never scheduled again; its tasks stay for the record.
    pub async fn delete_job(&self, job_id: JobId) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query("UPDATE jobs SET status = 'deleted', updated_at = $1 WHERE job_id = $2")
            .bind(now_millis())
            .bind(job_id.to_string())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("job {job_id}")));
        }
        Ok(())
    }

    /// Records that a job executed at `at`.
    pub async fn set_job_last_executed(&self, job_id: JobId, at: UnixMillis) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE jobs SET last_executed_at = $1, updated_at = $1, \
             status = CASE WHEN status = 'pending' THEN 'running' ELSE status END WHERE job_id = $2",
        )
        .bind(at)
        .bind(job_id.to_string())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("job {job_id}")));
        }
        Ok(())
    }
}

/// Creates the owner on first use, or refreshes the balances the client saw when they changed. Neither
/// path locks an unchanged user row, so concurrent creations by one owner do not queue on it.
async fn upsert_owner(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    job: &NewJob,
    now: UnixMillis,
) -> Result<(i64, String, String), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO users (user_address, account_balance, token_balance, created_at, last_updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_address) DO NOTHING RETURNING user_id",
    )
    .bind(&job.user_address)
    .bind(&job.ether_balance)
    .bind(&job.token_balance)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = inserted {
        return Ok((get(&row, "user_id")?, job.ether_balance.clone(), job.token_balance.clone()));
    }
    let row = sqlx::query("SELECT user_id, account_balance, token_balance FROM users WHERE user_address = $1")
        .bind(&job.user_address)
        .fetch_one(&mut **tx)
        .await?;
    let user_id: i64 = get(&row, "user_id")?;
    let stored: (String, String) = (get(&row, "account_balance")?, get(&row, "token_balance")?);
    if stored != (job.ether_balance.clone(), job.token_balance.clone()) {
        sqlx::query(
            "UPDATE users SET account_balance = $1, token_balance = $2, last_updated_at = $3 WHERE user_id = $4",
        )
        .bind(&job.ether_balance)
        .bind(&job.token_balance)
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok((user_id, job.ether_balance.clone(), job.token_balance.clone()))
}

/// The status after a pause (`true`) or resume (`false`) request.
fn transition(current: JobStatus, pause: bool, job_id: JobId) -> Result<JobStatus, StoreError> {
    match (current, pause) {
        (JobStatus::Pending | JobStatus::Running | JobStatus::Paused, true) => Ok(JobStatus::Paused),
        (JobStatus::Paused, false) => Ok(JobStatus::Pending),
        (JobStatus::Pending | JobStatus::Running, false) => Ok(current),
        (final_status, _) => Err(StoreError::Conflict(format!("job {job_id} is {}", final_status.as_str()))),
    }
}

fn next_occurrence(
    t: &TimeTrigger,
    timezone: &str,
    now: UnixMillis,
    expiration: UnixMillis,
) -> Result<Option<UnixMillis>, StoreError> {
    let (schedule, tz) = t.schedule(timezone)?;
    Ok(schedule.next_after(to_datetime(now), tz).map(|d| d.timestamp_millis()).filter(|n| *n <= expiration))
}

async fn insert_job(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    job: &NewJob,
    user_id: i64,
    link_job_id: Option<JobId>,
    chain_status: i64,
    now: UnixMillis,
) -> Result<(), StoreError> {
    let id = job.job_id.to_string();
    let arguments = serde_json::to_string(&job.target.arguments).map_err(|e| corrupt("arguments", e))?;
    let inserted = sqlx::query(
        "INSERT INTO jobs (job_id, user_id, user_address, job_title, task_definition_id, trigger_kind, link_job_id, \
         chain_status, custom, time_frame, recurring, status, job_cost_prediction, timezone, is_imua, is_safe, safe_name, \
         safe_address, language, created_chain_id, ether_balance, token_balance, expiration_time, target_chain_id, \
         target_contract_address, target_function, abi, arg_type, arguments, dynamic_arguments_script_url, created_at, \
         updated_at, last_executed_at, period_ms, script_hash, script_hosts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, \
         $31, NULL, $32, $33, $34)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(&job.user_address)
    .bind(&job.job_title)
    .bind(job.task_definition_id.number())
    .bind(trigger_kind_name(job.task_definition_id.trigger()))
    .bind(link_job_id.map(|l| l.to_string()))
    .bind(chain_status)
    .bind(as_flag(job.custom))
    .bind(job.time_frame)
    .bind(as_flag(job.recurring))
    .bind(JobStatus::Pending.as_str())
    .bind(job.job_cost_prediction.as_str())
    .bind(&job.timezone)
    .bind(as_flag(job.is_imua))
    .bind(as_flag(job.is_safe))
    .bind(&job.safe_name)
    .bind(&job.safe_address)
    .bind(&job.language)
    .bind(&job.created_chain_id)
    .bind(&job.ether_balance)
    .bind(&job.token_balance)
    .bind(job.expiration_time)
    .bind(&job.target.chain_id)
    .bind(&job.target.contract_address)
    .bind(&job.target.function)
    .bind(&job.target.abi)
    .bind(job.target.arg_type.number())
    .bind(arguments)
    .bind(&job.target.dynamic_arguments_script_url)
    .bind(now)
    .bind(job.period_ms())
    .bind(&job.target.script_hash)
    .bind(job.target.script_allowed_hosts.join(","))
    .execute(&mut **tx)
    .await;
    match inserted {
        Err(e) if StoreError::is_unique_violation(&e) => {
            return Err(StoreError::Conflict(format!("job {id} already exists")));
        }
        other => other?,
    };
    match &job.trigger {
        Trigger::Time(t) => {
            sqlx::query(
                "INSERT INTO time_jobs (job_id, schedule_type, time_interval, cron_expression, specific_schedule, \
                 next_execution_timestamp) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id)
            .bind(t.schedule_type.as_str())
            .bind(t.time_interval)
            .bind(&t.cron_expression)
            .bind(&t.specific_schedule)
            .bind(t.next_execution_timestamp)
            .execute(&mut **tx)
            .await?;
        }
        Trigger::Event(e) => {
            sqlx::query(
                "INSERT INTO event_jobs (job_id, trigger_chain_id, trigger_contract_address, trigger_event, topic0, \
                 event_filter_para_name, event_filter_value, event_filter) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&id)
            .bind(&e.trigger_chain_id)
            .bind(&e.trigger_contract_address)
            .bind(&e.trigger_event)
            .bind(&e.topic0)
            .bind(&e.event_filter_para_name)
            .bind(&e.event_filter_value)
            .bind(&e.event_filter)
            .execute(&mut **tx)
            .await?;
        }
        Trigger::Condition(c) => {
            let oracle_arguments =
                serde_json::to_string(&c.oracle.as_ref().map(|o| o.arguments.as_slice()).unwrap_or_default())
                    .map_err(|e| corrupt("oracle_arguments", e))?;
            sqlx::query(
                "INSERT INTO condition_jobs (job_id, condition_type, upper_limit, lower_limit, value_source_type, \
                 value_source_url, selected_key_route, poll_interval_ms, cooldown_ms, oracle_chain_id, oracle_function, \
                 oracle_arguments, oracle_decimals) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&id)
            .bind(c.condition_type.as_str())
            .bind(c.upper_limit.as_ref().map(|d| d.as_str().to_string()))
            .bind(c.lower_limit.as_ref().map(|d| d.as_str().to_string()))
            .bind(c.value_source_type.as_str())
            .bind(&c.value_source_url)
            .bind(&c.selected_key_route)
            .bind(c.poll_interval_ms)
            .bind(c.cooldown_ms)
            .bind(c.oracle.as_ref().map(|o| o.chain_id.clone()).unwrap_or_default())
            .bind(c.oracle.as_ref().map(|o| o.function.clone()).unwrap_or_default())
            .bind(oracle_arguments)
            .bind(c.oracle.as_ref().map(|o| i64::from(o.decimals)).unwrap_or(0))
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}
