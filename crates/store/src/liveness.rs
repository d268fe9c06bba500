//! Keeper liveness: accepted check-ins (forward-only signed timestamps), marking silent keepers offline,
//! and claiming offline alerts exactly once per transition (an atomic update, safe with several
//! health processes).

use sqlx::any::AnyRow;
use triggerx_core::time::UnixMillis;

use crate::rows::{flag, get};
use crate::{Store, StoreError};

/// A verified check-in to record.
#[derive(Debug, Clone)]
pub struct CheckinRecord<'a> {
    /// Keeper (controller) address, lower-case hex.
    pub keeper_address: &'a str,
    /// Consensus address that signed it.
    pub consensus_address: &'a str,
    /// Keeper software version.
    pub version: &'a str,
    /// libp2p peer id.
    pub peer_id: &'a str,
    /// When the keeper signed it (Unix milliseconds).
    pub signed_at: UnixMillis,
}

/// Outcome of a check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckinOutcome {
    /// Recorded. `was_alerted_offline`: an offline alert went out before, so a "back online" one is due.
    Accepted {
        /// The keeper's id.
        keeper_id: i64,
        /// Whether an offline alert had been sent for the silence that just ended.
        was_alerted_offline: bool,
    },
    /// No registered keeper has this address.
    NotRegistered,
    /// The consensus address does not match the registered one.
    WrongConsensusAddress,
    /// The signed timestamp is not newer than the last accepted one (a replay).
    Replayed,
}

/// A keeper whose silence needs an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineKeeper {
    /// Keeper id.
    pub keeper_id: i64,
    /// Address.
    pub keeper_address: String,
    /// Telegram chat linked to the keeper.
    pub chat_id: Option<i64>,
    /// E-mail linked to the keeper.
    pub email_id: String,
    /// Last check-in.
    pub last_checked_in: Option<UnixMillis>,
}

fn offline_keeper(row: &AnyRow) -> Result<OfflineKeeper, StoreError> {
    Ok(OfflineKeeper {
        keeper_id: get(row, "keeper_id")?,
        keeper_address: get(row, "keeper_address")?,
        chat_id: get(row, "chat_id")?,
        email_id: get(row, "email_id")?,
        last_checked_in: get(row, "last_checked_in")?,
    })
}

impl Store {
    /// Records a verified check-in received at `now`.
    /// Uptime grows by the time since the previous check-in when that gap was under `offline_after_ms`.
    pub async fn record_checkin(
        &self,
        checkin: &CheckinRecord<'_>,
        now: UnixMillis,
        offline_after_ms: i64,
    ) -> Result<CheckinOutcome, StoreError> {
        let CheckinRecord { keeper_address, consensus_address, version, peer_id, signed_at } = *checkin;
        let row = sqlx::query(
            "SELECT keeper_id, registered, consensus_address, offline_alerted, last_checkin_signed_at FROM keepers WHERE keeper_address = $1",
        )
        .bind(keeper_address)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(CheckinOutcome::NotRegistered) };
        if !flag(&row, "registered")? {
            return Ok(CheckinOutcome::NotRegistered);
        }
        let registered_consensus: String = get(&row, "consensus_address")?;
        if !registered_consensus.eq_ignore_ascii_case(consensus_address) {
            return Ok(CheckinOutcome::WrongConsensusAddress);
        }
        let was_alerted_offline = flag(&row, "offline_alerted")?;
        let _turn = self.write_turn().await;
        let done = sqlx::query(
            "UPDATE keepers SET \
               uptime = uptime + CASE WHEN online = 1 AND last_checked_in IS NOT NULL AND $1 - last_checked_in <= $2 \
                                      THEN ($1 - last_checked_in) / 1000 ELSE 0 END, \
               online = 1, last_checked_in = $1, version = $3, peer_id = $4, last_checkin_signed_at = $5, \
               offline_since = NULL, offline_alerted = 0 \
             WHERE keeper_address = $6 AND (last_checkin_signed_at IS NULL OR last_checkin_signed_at < $5)",
        )
        .bind(now)
        .bind(offline_after_ms)
        .bind(version)
        .bind(peer_id)
        .bind(signed_at)
        .bind(keeper_address)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(CheckinOutcome::Replayed);
        }
        Ok(CheckinOutcome::Accepted { keeper_id: get(&row, "keeper_id")?, was_alerted_offline })
    }

    /// Marks keepers silent for more than `offline_after_ms` offline; returns their addresses.
    pub async fn mark_silent_keepers_offline(
        &self,
        now: UnixMillis,
        offline_after_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let _turn = self.write_turn().await;
        let rows = sqlx::query(
            "UPDATE keepers SET online = 0, offline_since = $1 \
             WHERE online = 1 AND last_checked_in IS NOT NULL AND last_checked_in < $2 RETURNING keeper_address",
        )
        .bind(now)
        .bind(now - offline_after_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| get(r, "keeper_address")).collect()
    }

    /// Claims the registered keepers offline for more than `alert_after_ms` whose silence was not alerted
    /// yet; each is returned once per offline period, whichever process asks.
    pub async fn claim_offline_alerts(
        &self,
        now: UnixMillis,
        alert_after_ms: i64,
    ) -> Result<Vec<OfflineKeeper>, StoreError> {
        let _turn = self.write_turn().await;
        let rows = sqlx::query(
            "UPDATE keepers SET offline_alerted = 1 \
             WHERE online = 0 AND registered = 1 AND offline_alerted = 0 AND offline_since IS NOT NULL AND offline_since <= $1 \
             RETURNING keeper_id, keeper_address, chat_id, email_id, last_checked_in",
        )
        .bind(now - alert_after_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(offline_keeper).collect()
    }

    /// The alert contacts of a keeper.
    pub async fn keeper_contacts(&self, keeper_id: i64) -> Result<Option<OfflineKeeper>, StoreError> {
        let row = sqlx::query(
            "SELECT keeper_id, keeper_address, chat_id, email_id, last_checked_in FROM keepers WHERE keeper_id = $1",
        )
        .bind(keeper_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(offline_keeper).transpose()
    }
}
