//! Users: looked up by address, created with their first job, leaderboard.

use sqlx::any::AnyRow;
use triggerx_core::ids::JobId;
use triggerx_core::paging::Page;
use triggerx_core::time::now_millis;
use triggerx_core::user::{POINTS_PER_CUSTOM_JOB, POINTS_PER_JOB, User, UserLeaderboardEntry};

use crate::rows::{corrupt, get};
use crate::{Store, StoreError};

/// Most job ids a user record lists (its newest; `GET /api/jobs?owner=` pages through all of them).
pub const MAX_LISTED_JOB_IDS: i64 = 1_000;

const USER_COLUMNS: &str =
    "user_id, user_address, account_balance, token_balance, email_id, created_at, last_updated_at";

/// SQL computing a user's points from their jobs (`points_for_job`), for user row alias `alias`:
/// points are derived, never stored, so creating jobs never updates the user row.
fn user_points_sql(alias: &str) -> String {
    format!(
        "(SELECT CAST(COALESCE(SUM(CASE WHEN j.custom = 1 THEN {POINTS_PER_CUSTOM_JOB} ELSE {POINTS_PER_JOB} END), 0) \
         AS DOUBLE PRECISION) FROM jobs j WHERE j.user_id = {alias}.user_id)"
    )
}

impl Store {
    /// The user with `address` (lower-case hex), with the ids of its jobs.
    pub async fn user_by_address(&self, address: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, {} AS user_points FROM users WHERE user_address = $1",
            user_points_sql("users")
        ))
        .bind(address)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut user = user_from_row(&row)?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT job_id FROM jobs WHERE user_id = $1 ORDER BY created_at DESC, job_id DESC LIMIT $2",
        )
        .bind(user.user_id)
        .bind(MAX_LISTED_JOB_IDS)
        .fetch_all(&self.pool)
        .await?;
        // Newest first to pick the last ones, shown oldest first as before.
        let ids: Vec<String> = ids.into_iter().rev().collect();
        user.job_ids = ids
            .iter()
            .map(|id| JobId::parse(id, "job_id").map_err(|e| corrupt("jobs.job_id", e)))
            .collect::<Result<_, _>>()?;
        Ok(Some(user))
    }

    /// Sets the notification e-mail of the user with `address`.
    pub async fn set_user_email(&self, address: &str, email: &str) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE users SET email_id = $1, last_updated_at = $2 WHERE user_address = $3")
            .bind(email)
            .bind(now_millis())
            .bind(address)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {address}")));
        }
        Ok(())
    }

    /// Users by points, optionally only `address`.
    pub async fn user_leaderboard(
        &self,
        address: Option<&str>,
        page: Page,
    ) -> Result<Vec<UserLeaderboardEntry>, StoreError> {
        // Ranked from one pass over the jobs; executed tasks are counted for the page's users only
        // (review M5: the counts were computed for every user before sorting).
        let filter = if address.is_some() { "WHERE u.user_address = $3" } else { "" };
        let sql = format!(
            "SELECT p.user_id, u.user_address, p.user_points, p.total_jobs, \
             (SELECT COUNT(*) FROM tasks t JOIN jobs j ON j.job_id = t.job_id \
              WHERE j.user_id = p.user_id AND t.task_status = 'executed') AS tasks_completed \
             FROM (SELECT u.user_id, \
                   CAST(COALESCE(SUM(CASE WHEN j.custom = 1 THEN {POINTS_PER_CUSTOM_JOB} ELSE {POINTS_PER_JOB} END), 0) \
                   AS DOUBLE PRECISION) AS user_points, COUNT(j.job_id) AS total_jobs \
                   FROM users u LEFT JOIN jobs j ON j.user_id = u.user_id {filter} \
                   GROUP BY u.user_id ORDER BY user_points DESC, u.user_id LIMIT $1 OFFSET $2) p \
             JOIN users u ON u.user_id = p.user_id ORDER BY p.user_points DESC, p.user_id"
        );
        let mut query = sqlx::query(&sql).bind(page.limit).bind(page.offset);
        if let Some(a) = address {
            query = query.bind(a);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(UserLeaderboardEntry {
                    user_id: get(r, "user_id")?,
                    user_address: get(r, "user_address")?,
                    total_jobs: get(r, "total_jobs")?,
                    tasks_completed: get(r, "tasks_completed")?,
                    user_points: get(r, "user_points")?,
                })
            })
            .collect()
    }
}

fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        user_id: get(row, "user_id")?,
        user_address: get(row, "user_address")?,
        job_ids: Vec::new(),
        account_balance: get(row, "account_balance")?,
        token_balance: get(row, "token_balance")?,
        user_points: get(row, "user_points")?,
        email_id: get(row, "email_id")?,
        created_at: get(row, "created_at")?,
        last_updated_at: get(row, "last_updated_at")?,
    })
}
