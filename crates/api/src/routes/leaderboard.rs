//! Leaderboards of keepers and users by points.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use triggerx_core::address::normalize_address;
use triggerx_core::keeper::KeeperLeaderboardEntry;
use triggerx_core::paging::PageQuery;
use triggerx_core::user::UserLeaderboardEntry;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::QueryOf;
use crate::state::SharedState;

/// Keeper ranking.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeeperBoard {
    pub keepers: Vec<KeeperLeaderboardEntry>,
}

/// User ranking.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserBoard {
    pub users: Vec<UserLeaderboardEntry>,
}

/// `?user_address=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserSearch {
    pub user_address: Option<String>,
}

/// `?keeper_address=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeeperSearch {
    pub keeper_address: Option<String>,
}

fn required_address(value: Option<String>, field: &str) -> ApiResult<String> {
    let value = value.ok_or_else(|| ApiError::bad("missing_field", field, "is required"))?;
    Ok(normalize_address(&value, field)?)
}

/// Keepers by points.
#[utoipa::path(get, path = "/api/leaderboard/keepers", tag = "leaderboard", params(PageQuery),
    responses((status = 200, body = KeeperBoard), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn keepers(State(state): State<SharedState>, QueryOf(q): QueryOf<PageQuery>) -> ApiResult<Json<KeeperBoard>> {
    Ok(Json(KeeperBoard { keepers: state.store.keeper_leaderboard(None, q.page()?).await? }))
}

/// Users by points.
#[utoipa::path(get, path = "/api/leaderboard/users", tag = "leaderboard", params(PageQuery),
    responses((status = 200, body = UserBoard), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn users(State(state): State<SharedState>, QueryOf(q): QueryOf<PageQuery>) -> ApiResult<Json<UserBoard>> {
    Ok(Json(UserBoard { users: state.store.user_leaderboard(None, q.page()?).await? }))
}

/// One user's leaderboard row.
#[utoipa::path(get, path = "/api/leaderboard/users/search", tag = "leaderboard", params(UserSearch),
    responses((status = 200, body = UserBoard), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn search_user(
    State(state): State<SharedState>,
    QueryOf(q): QueryOf<UserSearch>,
) -> ApiResult<Json<UserBoard>> {
    let address = required_address(q.user_address, "user_address")?;
    Ok(Json(UserBoard { users: state.store.user_leaderboard(Some(&address), Default::default()).await? }))
}

/// One keeper's leaderboard row.
#[utoipa::path(get, path = "/api/leaderboard/keepers/search", tag = "leaderboard", params(KeeperSearch),
    responses((status = 200, body = KeeperBoard), (status = 400, body = ErrorBody)), security(("api_key" = [])))]
pub async fn search_keeper(
    State(state): State<SharedState>,
    QueryOf(q): QueryOf<KeeperSearch>,
) -> ApiResult<Json<KeeperBoard>> {
    let address = required_address(q.keeper_address, "keeper_address")?;
    Ok(Json(KeeperBoard { keepers: state.store.keeper_leaderboard(Some(&address), Default::default()).await? }))
}
