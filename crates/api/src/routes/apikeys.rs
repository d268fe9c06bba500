//! Admin routes for API keys: create (secret shown once), list, update, revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;
use triggerx_core::apikey::{ApiKeyInfo, CreateApiKeyRequest, CreatedApiKey, UpdateApiKeyRequest};

use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::JsonBody;
use crate::state::SharedState;

/// Every key (without secrets).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKeyInfo>,
}

/// Creates a key; the response is the only time its secret is shown.
#[utoipa::path(post, path = "/api/admin/api-keys", tag = "admin", request_body = CreateApiKeyRequest,
    responses((status = 201, body = CreatedApiKey), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_key(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<CreateApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    caller.require_admin()?;
    let created = state.store.create_api_key(body.owner.as_deref(), body.admin, body.rate_limit).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Lists keys.
#[utoipa::path(get, path = "/api/admin/api-keys", tag = "admin",
    responses((status = 200, body = ApiKeyList), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn list_keys(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<ApiKeyList>> {
    caller.require_admin()?;
    Ok(Json(ApiKeyList { api_keys: state.store.list_api_keys().await? }))
}

/// Changes a key's active flag or rate limit. `key` is the key's id or the key itself.
#[utoipa::path(put, path = "/api/admin/api-keys/{key}", tag = "admin", params(("key" = String, Path)),
    request_body = UpdateApiKeyRequest,
    responses((status = 200, body = ApiKeyInfo), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn update_key(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    JsonBody(body): JsonBody<UpdateApiKeyRequest>,
) -> ApiResult<Json<ApiKeyInfo>> {
    caller.require_admin()?;
    let found = state.store.find_api_key(&key).await?;
    let updated = state.store.update_api_key(found.id, body.is_active, body.rate_limit).await?;
    state.keys.clear();
    Ok(Json(updated))
}

/// Revokes a key. `key` is the key's id or the key itself.
#[utoipa::path(delete, path = "/api/admin/api-keys/{key}", tag = "admin", params(("key" = String, Path)),
    responses((status = 200, body = ApiKeyInfo), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn revoke_key(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
) -> ApiResult<Json<ApiKeyInfo>> {
    caller.require_admin()?;
    let found = state.store.find_api_key(&key).await?;
    let revoked = state.store.update_api_key(found.id, Some(false), None).await?;
    state.keys.clear();
    Ok(Json(revoked))
}
