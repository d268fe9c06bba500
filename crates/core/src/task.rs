//! Tasks: one execution of one job occurrence, with its lifecycle and outcome.

use serde::{Deserialize, Serialize};

use crate::ids::{JobId, TaskDefinitionId};
use crate::time::{UnixMillis, rfc3339};

/// Lifecycle of a task: created -> dispatched -> executing -> executed | failed (or created -> skipped). A task whose attempt
/// passed its deadline without an execution on-chain is dispatched again (a new attempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// The row exists; no keeper has it yet.
    Created,
    /// Sent to a performer.
    Dispatched,
    /// The performer is sending the transaction.
    Executing,
    /// The call landed on-chain.
    Executed,
    /// It could not run or the call failed; `task_error` says why.
    Failed,
    /// Its custom script decided not to execute this occurrence; `task_error` says why.
    Skipped,
}

impl TaskStatus {
    /// Every status.
    pub const ALL: [TaskStatus; 6] =
        [Self::Created, Self::Dispatched, Self::Executing, Self::Executed, Self::Failed, Self::Skipped];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Dispatched => "dispatched",
            Self::Executing => "executing",
            Self::Executed => "executed",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    /// From the storage name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether no further transition is allowed.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Executed | Self::Failed | Self::Skipped)
    }

    /// Whether moving from `self` to `next` is a legal step (repeating a state is allowed).
    pub fn can_become(self, next: TaskStatus) -> bool {
        if self == next {
            return true;
        }
        match self {
            Self::Created => true,
            Self::Dispatched => matches!(next, Self::Dispatched | Self::Executing | Self::Executed | Self::Failed),
            // Re-assignment after the deadline: the hub refuses the late attempt, so it cannot double.
            Self::Executing => matches!(next, Self::Dispatched | Self::Executed | Self::Failed),
            Self::Executed | Self::Failed | Self::Skipped => false,
        }
    }
}

/// A request to run one occurrence of a job (scheduler -> queue -> dispatcher).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskRequest {
    /// The job.
    pub job_id: JobId,
    /// Identity of the occurrence (the same key never makes a second task).
    pub occurrence_key: String,
}

/// A stored task (field names of the original dbserver's task rows, plus lifecycle details).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    pub task_id: i64,
    pub task_number: Option<i64>,
    pub job_id: JobId,
    pub task_definition_id: TaskDefinitionId,
    /// Stable identity of the occurrence this task executes (unique per job).
    pub occurrence_key: String,
    /// Cost in ether as a decimal.
    pub task_opx_cost: f64,
    /// Cost in wei, exact.
    pub task_cost_wei: String,
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub execution_timestamp: Option<UnixMillis>,
    pub execution_tx_hash: String,
    pub task_performer_id: Option<i64>,
    pub task_attester_ids: Vec<i64>,
    pub proof_of_task: String,
    pub tp_signature: String,
    pub ta_signature: String,
    pub task_submission_tx_hash: String,
    pub task_status: TaskStatus,
    /// Assignments made so far (0 before the first).
    pub attempt: i64,
    /// On-chain deadline of the current assignment.
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deadline_at: Option<UnixMillis>,
    pub task_error: String,
    pub is_successful: bool,
    pub is_accepted: Option<bool>,
    pub tx_url: String,
    pub converted_arguments: Vec<String>,
    #[serde(serialize_with = "rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UnixMillis,
    #[serde(serialize_with = "rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: UnixMillis,
}

/// One assignment of a task and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TaskAttempt {
    /// 1 for the first assignment.
    pub attempt: i64,
    /// The keeper it went to.
    pub performer_id: i64,
    /// When it was made, Unix ms.
    pub assigned_at: i64,
    /// Its on-chain deadline, Unix ms.
    pub deadline_at: i64,
    /// `assigned`, `refused`, `broadcast`, `executed`, `failed` or `expired`.
    pub outcome: String,
    /// Why it was refused or failed.
    pub reason: String,
    /// The transaction the performer sent, if any.
    pub tx_hash: String,
}

/// `POST /api/tasks` body: a task request for one occurrence.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskRequest {
    #[schema(value_type = String)]
    pub job_id: JobId,
    /// Defaults to the job's task definition.
    pub task_definition_id: Option<i64>,
    /// Occurrence identity; defaults to a fresh unique key.
    pub occurrence_key: Option<String>,
    pub task_performer_id: Option<i64>,
}

/// `PUT /api/tasks/execution/{id}` body: what the performer reports.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TaskExecutionUpdate {
    pub task_performer_id: Option<i64>,
    /// RFC 3339; defaults to now.
    pub execution_timestamp: Option<String>,
    pub execution_tx_hash: Option<String>,
    pub proof_of_task: Option<String>,
    pub task_opx_cost: Option<f64>,
    pub task_cost_wei: Option<String>,
    pub task_status: Option<TaskStatus>,
    pub task_error: Option<String>,
    pub converted_arguments: Option<Vec<String>>,
    pub tp_signature: Option<String>,
    pub tx_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_states_do_not_move() {
        assert!(TaskStatus::Created.can_become(TaskStatus::Dispatched));
        assert!(TaskStatus::Executing.can_become(TaskStatus::Executed));
        assert!(!TaskStatus::Executed.can_become(TaskStatus::Failed));
        assert!(!TaskStatus::Failed.can_become(TaskStatus::Executing));
        assert!(!TaskStatus::Executing.can_become(TaskStatus::Created));
        assert!(TaskStatus::Executing.can_become(TaskStatus::Dispatched), "re-assigned after its deadline");
    }
}
