//! Keeper routes: registration data and counters (admin keys), the sign-up form, public reads.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use triggerx_core::keeper::{Keeper, KeeperForm, KeeperUpsert};

use triggerx_core::address::normalize_address;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, path_number};
use crate::routes::Message;
use crate::state::SharedState;

/// List of keepers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeeperList {
    pub keepers: Vec<Keeper>,
}

/// A keeper's task count.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskCount {
    pub keeper_id: i64,
    pub no_executed_tasks: i64,
}

/// A keeper's points.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Points {
    pub keeper_id: i64,
    pub keeper_points: f64,
}

/// `POST /api/keepers/{id}/add-points` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPoints {
    pub points: f64,
}

/// `POST /api/keepers/update-chat-id` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatId {
    pub keeper_address: String,
    pub chat_id: i64,
}

async fn keeper_by_path(state: &SharedState, id: &str) -> ApiResult<Keeper> {
    let id = path_number(id, "keeper_id")?;
    state.store.keeper(id).await?.ok_or_else(|| ApiError::NotFound(format!("keeper {id}")))
}

/// Creates or updates a keeper's registration data (registrar; admin key).
#[utoipa::path(post, path = "/api/keepers", tag = "keepers", request_body = KeeperUpsert,
    responses((status = 200, body = Keeper), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn upsert_keeper(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<KeeperUpsert>,
) -> ApiResult<Json<Keeper>> {
    caller.require_admin()?;
    Ok(Json(state.store.upsert_keeper(&body).await?))
}

/// Records a keeper sign-up form: sent by an admin key, or signed by the keeper itself (its consensus key
/// once registered, else its own address), so nobody else redirects its rewards or its alerts.
#[utoipa::path(post, path = "/api/keepers/form", tag = "keepers", request_body = KeeperForm,
    responses((status = 201, body = Keeper), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn keeper_form(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<KeeperForm>,
) -> ApiResult<(StatusCode, Json<Keeper>)> {
    if caller.require_admin().is_err() {
        if body.signature.is_none() {
            return Err(ApiError::Forbidden(
                "only the keeper (a form signed by its consensus key, with signed_at) or an admin key may change a \
                 keeper's record"
                    .into(),
            ));
        }
        let signer = body.signer(Utc::now().timestamp())?;
        let keeper_address = normalize_address(&body.keeper_address, "keeper_address")?;
        let expected = match state.store.keeper_by_address(&keeper_address).await? {
            Some(known) if !known.consensus_address.is_empty() => known.consensus_address,
            _ => keeper_address,
        };
        if !format!("{signer:#x}").eq_ignore_ascii_case(&expected) {
            return Err(ApiError::Forbidden(format!(
                "the form is signed by {signer:#x}; only {expected} (the keeper's consensus key) or an admin key may \
                 change this keeper's record"
            )));
        }
    }
    Ok((StatusCode::CREATED, Json(state.store.submit_keeper_form(&body).await?)))
}

/// The keeper record as `caller` may see it: contact fields only for admins.
fn shown_to(caller: &Caller, keeper: Keeper) -> Keeper {
    if caller.require_admin().is_ok() { keeper } else { keeper.without_contacts() }
}

/// Keepers that may perform tasks now (registered and online).
#[utoipa::path(get, path = "/api/keepers/performers", tag = "keepers",
    responses((status = 200, body = KeeperList)), security(("api_key" = [])))]
pub async fn performers(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<KeeperList>> {
    let keepers = state.store.performers().await?.into_iter().map(|k| shown_to(&caller, k)).collect();
    Ok(Json(KeeperList { keepers }))
}

/// One keeper.
#[utoipa::path(get, path = "/api/keepers/{id}", tag = "keepers", params(("id" = i64, Path)),
    responses((status = 200, body = Keeper), (status = 404, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_keeper(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Keeper>> {
    Ok(Json(shown_to(&caller, keeper_by_path(&state, &id).await?)))
}

/// A keeper's executed-task count.
#[utoipa::path(get, path = "/api/keepers/{id}/task-count", tag = "keepers", params(("id" = i64, Path)),
    responses((status = 200, body = TaskCount), (status = 404, body = ErrorBody)), security(("api_key" = [])))]
pub async fn task_count(State(state): State<SharedState>, Path(id): Path<String>) -> ApiResult<Json<TaskCount>> {
    let k = keeper_by_path(&state, &id).await?;
    Ok(Json(TaskCount { keeper_id: k.keeper_id, no_executed_tasks: k.no_executed_tasks }))
}

/// A keeper's points.
#[utoipa::path(get, path = "/api/keepers/{id}/points", tag = "keepers", params(("id" = i64, Path)),
    responses((status = 200, body = Points), (status = 404, body = ErrorBody)), security(("api_key" = [])))]
pub async fn points(State(state): State<SharedState>, Path(id): Path<String>) -> ApiResult<Json<Points>> {
    let k = keeper_by_path(&state, &id).await?;
    Ok(Json(Points { keeper_id: k.keeper_id, keeper_points: k.keeper_points }))
}

/// Adds one executed task to a keeper (admin key).
#[utoipa::path(post, path = "/api/keepers/{id}/increment-tasks", tag = "keepers", params(("id" = i64, Path)),
    responses((status = 200, body = TaskCount), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn increment_tasks(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<TaskCount>> {
    caller.require_admin()?;
    let id = path_number(&id, "keeper_id")?;
    Ok(Json(TaskCount { keeper_id: id, no_executed_tasks: state.store.increment_keeper_tasks(id).await? }))
}

/// Adds points to a keeper (admin key).
#[utoipa::path(post, path = "/api/keepers/{id}/add-points", tag = "keepers", params(("id" = i64, Path)),
    request_body = AddPoints,
    responses((status = 200, body = Points), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn add_points(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AddPoints>,
) -> ApiResult<Json<Points>> {
    caller.require_admin()?;
    let id = path_number(&id, "keeper_id")?;
    Ok(Json(Points { keeper_id: id, keeper_points: state.store.add_keeper_points(id, body.points).await? }))
}

/// Links a Telegram chat to a keeper (admin key).
#[utoipa::path(post, path = "/api/keepers/update-chat-id", tag = "keepers", request_body = ChatId,
    responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn update_chat_id(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<ChatId>,
) -> ApiResult<Json<Message>> {
    caller.require_admin()?;
    state.store.set_keeper_chat_id(&body.keeper_address, body.chat_id).await?;
    Ok(Json(Message::new("chat id updated")))
}
