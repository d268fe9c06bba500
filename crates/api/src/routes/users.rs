//! User routes: a user's record and notification e-mail, owner-checked.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;
use triggerx_core::address::normalize_address;
use triggerx_core::user::User;
use triggerx_store::check_email;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::JsonBody;
use crate::routes::Message;
use crate::state::SharedState;

/// `POST /api/users/email` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserEmail {
    pub user_address: String,
    pub email_id: String,
}

/// One user with the ids of their jobs.
#[utoipa::path(get, path = "/api/users/{address}", tag = "users", params(("address" = String, Path)),
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_user(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(address): Path<String>,
) -> ApiResult<Json<User>> {
    let address = normalize_address(&address, "address")?;
    caller.require_owner(&address)?;
    let user =
        state.store.user_by_address(&address).await?.ok_or_else(|| ApiError::NotFound(format!("user {address}")))?;
    Ok(Json(user))
}

/// Sets a user's notification e-mail.
#[utoipa::path(post, path = "/api/users/email", tag = "users", request_body = UserEmail,
    responses((status = 200, body = Message), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn set_email(
    State(state): State<SharedState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<UserEmail>,
) -> ApiResult<Json<Message>> {
    let address = normalize_address(&body.user_address, "user_address")?;
    caller.require_owner(&address)?;
    check_email(body.email_id.trim(), "email_id")?;
    state.store.set_user_email(&address, body.email_id.trim()).await?;
    Ok(Json(Message::new("email updated")))
}
