//! API keys: generated once and shown once, stored as SHA-256 hashes, looked up by secret, revoked.

use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use triggerx_core::FieldError;
use triggerx_core::address::normalize_address;
use triggerx_core::apikey::{ApiKeyInfo, CreatedApiKey, DEFAULT_RATE_LIMIT};
use triggerx_core::time::{UnixMillis, now_millis};

use crate::rows::{as_flag, flag, get};
use crate::{Store, StoreError};

/// Prefix of every key (the original's format: `TGRX-<uuid>`).
pub const API_KEY_PREFIX: &str = "TGRX-";
/// Characters of a key kept in clear to recognise it.
pub const KEY_PREFIX_LEN: usize = 13;
/// Rate limit of the admin key `triggerx api` creates at first start (requests per minute).
pub const DEFAULT_ADMIN_RATE_LIMIT: i64 = 1_000_000;
/// Highest rate limit a key may have (requests per minute).
pub const MAX_RATE_LIMIT: i64 = 10_000_000;

const KEY_COLUMNS: &str =
    "id, key_prefix, owner, is_admin, is_active, rate_limit, success_count, failed_count, last_used, created_at";

/// The stored form of a key: hex SHA-256. Keys are 122 random bits, so a fast hash is enough.
pub fn hash_api_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.trim().as_bytes()))
}

impl Store {
    /// Creates a key for `owner` (a user key) or an admin key; returns the secret once.
    pub async fn create_api_key(
        &self,
        owner: Option<&str>,
        admin: bool,
        rate_limit: Option<i64>,
    ) -> Result<CreatedApiKey, StoreError> {
        let _turn = self.write_turn().await;
        let owner = match (owner.map(str::trim), admin) {
            (Some(o), _) if !o.is_empty() => Some(normalize_address(o, "owner")?),
            (_, true) => None,
            _ => {
                return Err(FieldError::new(
                    "missing_field",
                    "owner",
                    "a user key needs an owner address (or ask for an admin key)",
                )
                .into());
            }
        };
        let rate_limit = rate_limit.unwrap_or(DEFAULT_RATE_LIMIT);
        if !(1..=MAX_RATE_LIMIT).contains(&rate_limit) {
            return Err(FieldError::new(
                "invalid_rate_limit",
                "rate_limit",
                format!("must be 1..={MAX_RATE_LIMIT} requests per minute"),
            )
            .into());
        }
        let secret = format!("{API_KEY_PREFIX}{}", uuid::Uuid::new_v4());
        let row = sqlx::query(&format!(
            "INSERT INTO api_keys (key_hash, key_prefix, owner, is_admin, is_active, rate_limit, created_at) \
             VALUES ($1, $2, $3, $4, 1, $5, $6) RETURNING {KEY_COLUMNS}"
        ))
        .bind(hash_api_key(&secret))
        .bind(&secret[..KEY_PREFIX_LEN])
        .bind(owner)
        .bind(as_flag(admin))
        .bind(rate_limit)
        .bind(now_millis())
        .fetch_one(&self.pool)
        .await?;
        Ok(CreatedApiKey { key: secret, info: key_from_row(&row)? })
    }

    /// The key whose secret is `secret`, active or not.
    pub async fn api_key_by_secret(&self, secret: &str) -> Result<Option<ApiKeyInfo>, StoreError> {
        let row = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1"))
            .bind(hash_api_key(secret))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// The key named by `reference`: its secret (`TGRX-...`) or its numeric id.
    pub async fn find_api_key(&self, reference: &str) -> Result<ApiKeyInfo, StoreError> {
        let reference = reference.trim();
        let found = if reference.starts_with(API_KEY_PREFIX) {
            self.api_key_by_secret(reference).await?
        } else if let Ok(id) = reference.parse::<i64>() {
            let row = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(key_from_row).transpose()?
        } else {
            return Err(FieldError::new("invalid_api_key", "key", "give the key (TGRX-...) or its numeric id").into());
        };
        found.ok_or_else(|| StoreError::NotFound("API key".into()))
    }

    /// Every key, oldest first.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id")).fetch_all(&self.pool).await?;
        rows.iter().map(key_from_row).collect()
    }

    /// Changes a key's active flag and/or rate limit.
    pub async fn update_api_key(
        &self,
        id: i64,
        is_active: Option<bool>,
        rate_limit: Option<i64>,
    ) -> Result<ApiKeyInfo, StoreError> {
        let _turn = self.write_turn().await;
        if let Some(limit) = rate_limit
            && !(1..=MAX_RATE_LIMIT).contains(&limit)
        {
            return Err(
                FieldError::new("invalid_rate_limit", "rate_limit", format!("must be 1..={MAX_RATE_LIMIT}")).into()
            );
        }
        let row = sqlx::query(&format!(
            "UPDATE api_keys SET is_active = COALESCE($1, is_active), rate_limit = COALESCE($2, rate_limit) WHERE id = $3 RETURNING {KEY_COLUMNS}"
        ))
        .bind(is_active.map(as_flag))
        .bind(rate_limit)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(key_from_row).transpose()?.ok_or_else(|| StoreError::NotFound(format!("API key {id}")))
    }

    /// Adds request counts gathered in memory to a key's totals.
    pub async fn record_api_key_usage(
        &self,
        id: i64,
        succeeded: i64,
        failed: i64,
        last_used: UnixMillis,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "UPDATE api_keys SET success_count = success_count + $1, failed_count = failed_count + $2, \
             last_used = CASE WHEN last_used IS NULL OR last_used < $3 THEN $3 ELSE last_used END WHERE id = $4",
        )
        .bind(succeeded)
        .bind(failed)
        .bind(last_used)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn key_from_row(row: &AnyRow) -> Result<ApiKeyInfo, StoreError> {
    Ok(ApiKeyInfo {
        id: get(row, "id")?,
        key_prefix: get(row, "key_prefix")?,
        owner: get(row, "owner")?,
        is_admin: flag(row, "is_admin")?,
        is_active: flag(row, "is_active")?,
        rate_limit: get(row, "rate_limit")?,
        success_count: get(row, "success_count")?,
        failed_count: get(row, "failed_count")?,
        last_used: get(row, "last_used")?,
        created_at: get(row, "created_at")?,
    })
}
