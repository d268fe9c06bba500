//! API keys: who may call the API, as what (admin or one owner), and how often.

use serde::{Deserialize, Serialize};

use crate::time::{UnixMillis, rfc3339};

/// Requests per window when a key is created without a limit.
pub const DEFAULT_RATE_LIMIT: i64 = 600;
/// Length of the rate-limit window in seconds (the original used 60 s fixed windows).
pub const RATE_LIMIT_WINDOW_SECONDS: u64 = 60;

/// What a key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Everything, including keys and keepers.
    Admin,
    /// Only the users, jobs and tasks of this owner address (lower-case hex).
    Owner(String),
}

/// A stored key (never the key itself: only its hash and a short prefix to recognise it).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiKeyInfo {
    /// Database id.
    pub id: i64,
    /// First characters of the key, to recognise it in lists.
    pub key_prefix: String,
    /// Owner address, or null for admin keys.
    pub owner: Option<String>,
    pub is_admin: bool,
    pub is_active: bool,
    /// Requests per minute.
    pub rate_limit: i64,
    pub success_count: i64,
    pub failed_count: i64,
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used: Option<UnixMillis>,
    #[serde(serialize_with = "rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UnixMillis,
}

impl ApiKeyInfo {
    /// The key's role; `None` for a row that is neither an admin key nor owned by anyone (an imported
    /// or migrated row): such a key may do nothing, it never falls back to admin.
    pub fn role(&self) -> Option<Role> {
        match (&self.owner, self.is_admin) {
            (_, true) => Some(Role::Admin),
            (Some(owner), false) => Some(Role::Owner(owner.clone())),
            (None, false) => None,
        }
    }
}

/// A freshly created key: the only time the secret is shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    /// The secret key, `TGRX-...`. Store it: it is not shown again.
    pub key: String,
    #[serde(flatten)]
    pub info: ApiKeyInfo,
}

/// `POST /api/admin/api-keys` body.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// Owner address; omit (with `admin: true`) for an admin key.
    pub owner: Option<String>,
    pub admin: bool,
    /// Requests per minute.
    pub rate_limit: Option<i64>,
}

/// `PUT /api/admin/api-keys/{id}` body.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct UpdateApiKeyRequest {
    pub is_active: Option<bool>,
    pub rate_limit: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(owner: Option<&str>, is_admin: bool) -> ApiKeyInfo {
        ApiKeyInfo {
            id: 1,
            key_prefix: "TGRX-1".into(),
            owner: owner.map(str::to_string),
            is_admin,
            is_active: true,
            rate_limit: DEFAULT_RATE_LIMIT,
            success_count: 0,
            failed_count: 0,
            last_used: None,
            created_at: 0,
        }
    }

    /// Review M6 (g): a row with neither an owner nor the admin flag (imported, migrated) was an admin.
    #[test]
    fn a_key_without_owner_or_admin_flag_has_no_role() {
        assert_eq!(key(None, false).role(), None);
        assert_eq!(key(None, true).role(), Some(Role::Admin));
        assert_eq!(key(Some("0xab"), false).role(), Some(Role::Owner("0xab".into())));
        assert_eq!(key(Some("0xab"), true).role(), Some(Role::Admin));
    }
}
