//! Keepers: operators that execute and attest tasks, their registration data, liveness and points.

use serde::{Deserialize, Serialize};

use crate::time::{UnixMillis, rfc3339};

/// A stored keeper (field names of the seed's keeper data).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Keeper {
    pub keeper_id: i64,
    pub keeper_name: String,
    pub keeper_address: String,
    pub consensus_address: String,
    pub registered_tx: String,
    pub operator_id: Option<i64>,
    pub rewards_address: String,
    pub rewards_booster: f64,
    pub voting_power: String,
    pub keeper_points: f64,
    pub connection_address: String,
    pub peer_id: String,
    pub strategies: Vec<String>,
    pub bls_public_key: String,
    pub whitelisted: bool,
    pub registered: bool,
    pub online: bool,
    pub version: String,
    pub no_executed_tasks: i64,
    pub no_attested_tasks: i64,
    pub chat_id: Option<i64>,
    pub email_id: String,
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_checked_in: Option<UnixMillis>,
    /// Seconds online since registration.
    pub uptime: i64,
    #[serde(serialize_with = "rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UnixMillis,
}

/// `POST /api/keepers` body (registration data, usually from the registrar).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct KeeperUpsert {
    pub keeper_address: String,
    pub keeper_name: Option<String>,
    pub consensus_address: Option<String>,
    pub registered_tx: Option<String>,
    pub operator_id: Option<i64>,
    pub rewards_address: Option<String>,
    pub rewards_booster: Option<f64>,
    pub voting_power: Option<String>,
    pub strategies: Option<Vec<String>>,
    pub bls_public_key: Option<String>,
    pub whitelisted: Option<bool>,
    pub registered: Option<bool>,
    pub connection_address: Option<String>,
    pub peer_id: Option<String>,
    pub version: Option<String>,
    pub email_id: Option<String>,
}

/// `POST /api/keepers/form` body: the sign-up form.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct KeeperForm {
    pub keeper_name: String,
    pub keeper_address: String,
    pub rewards_address: Option<String>,
    pub email_id: Option<String>,
    /// Unix seconds when the keeper signed the form (needed unless an admin key sends it).
    pub signed_at: Option<i64>,
    /// EIP-191 signature of [`KeeperForm::message`] by the keeper's consensus key (or, for a keeper not
    /// known yet, by `keeper_address`), 0x hex; needed unless an admin key sends the form.
    pub signature: Option<String>,
}

impl Keeper {
    /// The record as shown to callers other than admins: contact fields (e-mail, chat id) removed.
    pub fn without_contacts(mut self) -> Keeper {
        self.email_id = String::new();
        self.chat_id = None;
        self
    }
}

/// Leaderboard row for a keeper.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeeperLeaderboardEntry {
    pub keeper_id: i64,
    pub keeper_address: String,
    pub keeper_name: String,
    pub no_executed_tasks: i64,
    pub no_attested_tasks: i64,
    pub keeper_points: f64,
}
