//! Task outcomes settled by the `AttestationCenter`: the verdict, its task number, the attesters that
//! signed it, the aggregate signature and the settlement transaction are written on the task once, and
//! the keepers are credited in the same transaction: the performer `rewards_booster x PERFORMER_POINTS`
//! for an accepted task (nothing for a rejected one), every signing attester
//! `rewards_booster x ATTESTER_POINTS` and one more attested task. A settlement seen twice (a restart,
//! a second registrar) changes nothing the second time. Each attempt of a task is settled on its own: a
//! settlement counts only for the task's current attempt, and an acceptance replaces the rejection of an
//! earlier attempt (a performer that lied was rejected, the next one executed honestly), never the
//! other way round. A rejection also says so in the task's error.

use crate::{Store, StoreError};

/// Points a performer earns for an accepted execution, before its booster.
pub const PERFORMER_POINTS: f64 = 10.0;
/// Points an attester earns for a verdict it signed, before its booster.
pub const ATTESTER_POINTS: f64 = 2.0;

/// One settlement as the chain reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSettlement {
    /// The task (the hub's task id).
    pub task_id: i64,
    /// Accepted (`TaskSubmitted`) or rejected (`TaskRejected`).
    pub accepted: bool,
    /// The attempt it settles.
    pub attempt: i64,
    /// The center's task number.
    pub task_number: i64,
    /// Keeper ids of the attesters that signed the verdict.
    pub attester_ids: Vec<i64>,
    /// The aggregate signature, hex.
    pub ta_signature: String,
    /// The settlement transaction.
    pub submission_tx_hash: String,
}

impl Store {
    /// Records `settlement` on its task and credits the keepers, once; false when the task is unknown
    /// or its settlement was already recorded.
    pub async fn record_settlement(&self, settlement: &TaskSettlement) -> Result<bool, StoreError> {
        let attesters = serde_json::to_string(&settlement.attester_ids)
            .map_err(|e| StoreError::Corrupt { column: "task_attester_ids", detail: e.to_string() })?;
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let performer: Option<Option<i64>> = sqlx::query_scalar(
            "UPDATE tasks SET is_accepted = $1, task_number = $2, task_attester_ids = $3, ta_signature = $4, \
             task_submission_tx_hash = $5, updated_at = $6, \
             task_error = CASE WHEN $1 = 1 THEN task_error ELSE $9 END \
             WHERE task_id = $7 AND attempt = $8 AND (task_number IS NULL OR (is_accepted = 0 AND $1 = 1)) \
             RETURNING task_performer_id",
        )
        .bind(i64::from(settlement.accepted))
        .bind(settlement.task_number)
        .bind(&attesters)
        .bind(&settlement.ta_signature)
        .bind(&settlement.submission_tx_hash)
        .bind(triggerx_core::time::now_millis())
        .bind(settlement.task_id)
        .bind(settlement.attempt)
        .bind(format!(
            "rejected_by_attesters: a quorum of attesters rejected the execution (task number {})",
            settlement.task_number
        ))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(performer) = performer else {
            return Ok(false);
        };
        if let (true, Some(performer)) = (settlement.accepted, performer) {
            sqlx::query("UPDATE keepers SET keeper_points = keeper_points + rewards_booster * $1 WHERE keeper_id = $2")
                .bind(PERFORMER_POINTS)
                .bind(performer)
                .execute(&mut *tx)
                .await?;
        }
        for attester in &settlement.attester_ids {
            sqlx::query(
                "UPDATE keepers SET keeper_points = keeper_points + rewards_booster * $1, \
                 no_attested_tasks = no_attested_tasks + 1 WHERE keeper_id = $2",
            )
            .bind(ATTESTER_POINTS)
            .bind(attester)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
