//! Keepers: registration data (upserted by address), the sign-up form, counters, points, leaderboard.

use sqlx::any::AnyRow;
use triggerx_core::FieldError;
use triggerx_core::address::normalize_address;
use triggerx_core::keeper::{Keeper, KeeperForm, KeeperLeaderboardEntry, KeeperUpsert};
use triggerx_core::paging::Page;
use triggerx_core::time::now_millis;

use crate::rows::{as_flag, corrupt, flag, get, json};
use crate::{Store, StoreError};

const KEEPER_COLUMNS: &str = "keeper_id, keeper_name, keeper_address, consensus_address, registered_tx, operator_id, \
    rewards_address, rewards_booster, voting_power, keeper_points, connection_address, peer_id, strategies, bls_public_key, \
    whitelisted, registered, online, version, no_executed_tasks, no_attested_tasks, chat_id, email_id, last_checked_in, \
    uptime, created_at";

fn optional_address(value: &Option<String>, field: &str) -> Result<Option<String>, FieldError> {
    match value.as_deref().map(str::trim) {
        Some("") | None => Ok(None),
        Some(a) => normalize_address(a, field).map(Some),
    }
}

impl Store {
    /// Creates or updates the keeper with `keeper_address`; absent fields keep their stored values.
    pub async fn upsert_keeper(&self, input: &KeeperUpsert) -> Result<Keeper, StoreError> {
        let address = normalize_address(&input.keeper_address, "keeper_address")?;
        let consensus = optional_address(&input.consensus_address, "consensus_address")?;
        let rewards = optional_address(&input.rewards_address, "rewards_address")?;
        if let Some(power) = &input.voting_power {
            triggerx_core::numbers::Wei::parse(power, "voting_power")?;
        }
        if let Some(booster) = input.rewards_booster
            && (!booster.is_finite() || booster < 0.0)
        {
            return Err(FieldError::new("invalid_number", "rewards_booster", "must be a non-negative number").into());
        }
        let existing = self.keeper_by_address(&address).await?;
        let now = now_millis();
        let mut k = existing.unwrap_or(Keeper {
            keeper_id: 0,
            keeper_name: String::new(),
            keeper_address: address.clone(),
            consensus_address: String::new(),
            registered_tx: String::new(),
            operator_id: None,
            rewards_address: String::new(),
            rewards_booster: 1.0,
            voting_power: "0".into(),
            keeper_points: 0.0,
            connection_address: String::new(),
            peer_id: String::new(),
            strategies: Vec::new(),
            bls_public_key: String::new(),
            whitelisted: false,
            registered: false,
            online: false,
            version: String::new(),
            no_executed_tasks: 0,
            no_attested_tasks: 0,
            chat_id: None,
            email_id: String::new(),
            last_checked_in: None,
            uptime: 0,
            created_at: now,
        });
        macro_rules! set {
            ($field:ident, $value:expr) => {
                if let Some(v) = $value {
                    k.$field = v;
                }
            };
        }
        set!(keeper_name, input.keeper_name.clone());
        set!(consensus_address, consensus);
        set!(registered_tx, input.registered_tx.clone());
        if input.operator_id.is_some() {
            k.operator_id = input.operator_id;
        }
        set!(rewards_address, rewards);
        set!(rewards_booster, input.rewards_booster);
        set!(voting_power, input.voting_power.clone());
        set!(strategies, input.strategies.clone());
        set!(bls_public_key, input.bls_public_key.clone());
        set!(whitelisted, input.whitelisted);
        set!(registered, input.registered);
        set!(connection_address, input.connection_address.clone());
        set!(peer_id, input.peer_id.clone());
        set!(version, input.version.clone());
        set!(email_id, input.email_id.clone());
        let strategies = serde_json::to_string(&k.strategies).map_err(|e| corrupt("strategies", e))?;
        let _turn = self.write_turn().await;
        let row = sqlx::query(&format!(
            "INSERT INTO keepers (keeper_name, keeper_address, consensus_address, registered_tx, operator_id, rewards_address, \
             rewards_booster, voting_power, connection_address, peer_id, strategies, bls_public_key, whitelisted, registered, \
             version, email_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (keeper_address) DO UPDATE SET keeper_name = excluded.keeper_name, \
             consensus_address = excluded.consensus_address, registered_tx = excluded.registered_tx, \
             operator_id = excluded.operator_id, rewards_address = excluded.rewards_address, \
             rewards_booster = excluded.rewards_booster, voting_power = excluded.voting_power, \
             connection_address = excluded.connection_address, peer_id = excluded.peer_id, strategies = excluded.strategies, \
             bls_public_key = excluded.bls_public_key, whitelisted = excluded.whitelisted, registered = excluded.registered, \
             version = excluded.version, email_id = excluded.email_id RETURNING {KEEPER_COLUMNS}"
        ))
        .bind(&k.keeper_name)
        .bind(&k.keeper_address)
        .bind(&k.consensus_address)
        .bind(&k.registered_tx)
        .bind(k.operator_id)
        .bind(&k.rewards_address)
        .bind(k.rewards_booster)
        .bind(&k.voting_power)
        .bind(&k.connection_address)
        .bind(&k.peer_id)
        .bind(strategies)
        .bind(&k.bls_public_key)
        .bind(as_flag(k.whitelisted))
        .bind(as_flag(k.registered))
        .bind(&k.version)
        .bind(&k.email_id)
        .bind(k.created_at)
        .fetch_one(&self.pool)
        .await?;
        keeper_from_row(&row)
    }

    /// Records a sign-up form: name, rewards address and e-mail of a keeper.
    pub async fn submit_keeper_form(&self, form: &KeeperForm) -> Result<Keeper, StoreError> {
        if form.keeper_name.trim().is_empty() {
            return Err(FieldError::new("missing_field", "keeper_name", "is required").into());
        }
        if let Some(email) = &form.email_id {
            check_email(email, "email_id")?;
        }
        self.upsert_keeper(&KeeperUpsert {
            keeper_address: form.keeper_address.clone(),
            keeper_name: Some(form.keeper_name.trim().to_string()),
            rewards_address: form.rewards_address.clone(),
            email_id: form.email_id.clone(),
            ..Default::default()
        })
        .await
    }

    /// One keeper by id.
    pub async fn keeper(&self, keeper_id: i64) -> Result<Option<Keeper>, StoreError> {
        let row = sqlx::query(&format!("SELECT {KEEPER_COLUMNS} FROM keepers WHERE keeper_id = $1"))
            .bind(keeper_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(keeper_from_row).transpose()
    }

    /// One keeper by address (lower-case hex).
    pub async fn keeper_by_address(&self, address: &str) -> Result<Option<Keeper>, StoreError> {
        let row = sqlx::query(&format!("SELECT {KEEPER_COLUMNS} FROM keepers WHERE keeper_address = $1"))
            .bind(address)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(keeper_from_row).transpose()
    }

    /// Every keeper, by id.
    pub async fn list_keepers(&self) -> Result<Vec<Keeper>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {KEEPER_COLUMNS} FROM keepers ORDER BY keeper_id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(keeper_from_row).collect()
    }

    /// Keepers that may perform tasks: registered and online.
    pub async fn performers(&self) -> Result<Vec<Keeper>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {KEEPER_COLUMNS} FROM keepers WHERE registered = 1 AND online = 1 ORDER BY keeper_id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(keeper_from_row).collect()
    }

    /// Adds one executed task to a keeper's count; returns the new count.
    pub async fn increment_keeper_tasks(&self, keeper_id: i64) -> Result<i64, StoreError> {
        let _turn = self.write_turn().await;
        let row = sqlx::query("UPDATE keepers SET no_executed_tasks = no_executed_tasks + 1 WHERE keeper_id = $1 RETURNING no_executed_tasks")
            .bind(keeper_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("keeper {keeper_id}")))?;
        get(&row, "no_executed_tasks")
    }

    /// Adds points to a keeper; returns the new total.
    pub async fn add_keeper_points(&self, keeper_id: i64, points: f64) -> Result<f64, StoreError> {
        let _turn = self.write_turn().await;
        if !points.is_finite() || points < 0.0 {
            return Err(FieldError::new("invalid_number", "points", "must be a non-negative number").into());
        }
        let row = sqlx::query(
            "UPDATE keepers SET keeper_points = keeper_points + $1 WHERE keeper_id = $2 RETURNING keeper_points",
        )
        .bind(points)
        .bind(keeper_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("keeper {keeper_id}")))?;
        get(&row, "keeper_points")
    }

    /// Links a Telegram chat to a keeper.
    pub async fn set_keeper_chat_id(&self, keeper_address: &str, chat_id: i64) -> Result<(), StoreError> {
        let address = normalize_address(keeper_address, "keeper_address")?;
        let done = sqlx::query("UPDATE keepers SET chat_id = $1 WHERE keeper_address = $2")
            .bind(chat_id)
            .bind(&address)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("keeper {address}")));
        }
        Ok(())
    }

    /// Keepers by points, optionally only `address`.
    pub async fn keeper_leaderboard(
        &self,
        address: Option<&str>,
        page: Page,
    ) -> Result<Vec<KeeperLeaderboardEntry>, StoreError> {
        let filter = if address.is_some() { "WHERE keeper_address = $3" } else { "" };
        let sql = format!(
            "SELECT keeper_id, keeper_address, keeper_name, no_executed_tasks, no_attested_tasks, keeper_points FROM keepers \
             {filter} ORDER BY keeper_points DESC, keeper_id LIMIT $1 OFFSET $2"
        );
        let mut query = sqlx::query(&sql).bind(page.limit).bind(page.offset);
        if let Some(a) = address {
            query = query.bind(a);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(KeeperLeaderboardEntry {
                    keeper_id: get(r, "keeper_id")?,
                    keeper_address: get(r, "keeper_address")?,
                    keeper_name: get(r, "keeper_name")?,
                    no_executed_tasks: get(r, "no_executed_tasks")?,
                    no_attested_tasks: get(r, "no_attested_tasks")?,
                    keeper_points: get(r, "keeper_points")?,
                })
            })
            .collect()
    }
}

/// Checks an e-mail address loosely: one `@`, something on both sides, a dot in the domain.
pub fn check_email(email: &str, field: &str) -> Result<(), FieldError> {
    let ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new("invalid_email", field, format!("'{email}' is not an e-mail address")))
    }
}

fn keeper_from_row(row: &AnyRow) -> Result<Keeper, StoreError> {
    Ok(Keeper {
        keeper_id: get(row, "keeper_id")?,
        keeper_name: get(row, "keeper_name")?,
        keeper_address: get(row, "keeper_address")?,
        consensus_address: get(row, "consensus_address")?,
        registered_tx: get(row, "registered_tx")?,
        operator_id: get(row, "operator_id")?,
        rewards_address: get(row, "rewards_address")?,
        rewards_booster: get(row, "rewards_booster")?,
        voting_power: get(row, "voting_power")?,
        keeper_points: get(row, "keeper_points")?,
        connection_address: get(row, "connection_address")?,
        peer_id: get(row, "peer_id")?,
        strategies: json(row, "strategies")?,
        bls_public_key: get(row, "bls_public_key")?,
        whitelisted: flag(row, "whitelisted")?,
        registered: flag(row, "registered")?,
        online: flag(row, "online")?,
        version: get(row, "version")?,
        no_executed_tasks: get(row, "no_executed_tasks")?,
        no_attested_tasks: get(row, "no_attested_tasks")?,
        chat_id: get(row, "chat_id")?,
        email_id: get(row, "email_id")?,
        last_checked_in: get(row, "last_checked_in")?,
        uptime: get(row, "uptime")?,
        created_at: get(row, "created_at")?,
    })
}
