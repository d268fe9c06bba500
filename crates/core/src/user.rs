//! Users: job owners, identified by their address, with balances and points.

use serde::Serialize;

use crate::ids::JobId;
use crate::time::{UnixMillis, rfc3339};

/// A stored user (field names of the seed's user data).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub user_id: i64,
    pub user_address: String,
    pub job_ids: Vec<JobId>,
    pub account_balance: String,
    pub token_balance: String,
    pub user_points: f64,
    pub email_id: String,
    #[serde(serialize_with = "rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UnixMillis,
    #[serde(serialize_with = "rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub last_updated_at: UnixMillis,
}

/// Leaderboard row for a user.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserLeaderboardEntry {
    pub user_id: i64,
    pub user_address: String,
    pub total_jobs: i64,
    pub tasks_completed: i64,
    pub user_points: f64,
}

/// Points a user earns per job created (the original's rule).
pub const POINTS_PER_JOB: i64 = 10;
/// Points a user earns per custom-script job created.
pub const POINTS_PER_CUSTOM_JOB: i64 = 20;

/// Points a user earns for creating one job.
pub fn points_for_job(custom: bool) -> f64 {
    (if custom { POINTS_PER_CUSTOM_JOB } else { POINTS_PER_JOB }) as f64
}
