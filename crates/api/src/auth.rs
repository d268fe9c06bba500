//! Authentication and authorisation: the API key from `X-Api-Key` or `Authorization: Bearer`, per-key
//! rate limits and owner checks (the key cache and usage counters are in `key_cache`).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use triggerx_core::apikey::{ApiKeyInfo, Role};

use crate::error::{ApiError, ApiResult};
pub use crate::key_cache::{KEY_CACHE_TTL, KeyCache, USAGE_FLUSH_INTERVAL, UsageCounters};
use crate::state::SharedState;

/// The authenticated caller, available to every handler behind the auth layer.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key used.
    pub key: ApiKeyInfo,
    /// What the key may do (keys with no role are refused before a handler runs).
    role: Role,
}

impl Caller {
    /// Admin or owner.
    pub fn role(&self) -> Role {
        self.role.clone()
    }

    /// Refuses callers that are not admins.
    pub fn require_admin(&self) -> ApiResult<()> {
        match self.role() {
            Role::Admin => Ok(()),
            Role::Owner(_) => Err(ApiError::Forbidden("this operation needs an admin key".into())),
        }
    }

    /// Refuses callers that are neither admins nor `owner`.
    pub fn require_owner(&self, owner: &str) -> ApiResult<()> {
        match self.role() {
            Role::Admin => Ok(()),
            Role::Owner(mine) if mine.eq_ignore_ascii_case(owner) => Ok(()),
            Role::Owner(_) => Err(ApiError::Forbidden("this key belongs to another owner".into())),
        }
    }

    /// The owner an owner-key is limited to; `None` for admins.
    pub fn owner_scope(&self) -> Option<String> {
        match self.role() {
            Role::Admin => None,
            Role::Owner(owner) => Some(owner),
        }
    }
}

/// Reads the API key from `X-Api-Key` (any case) or `Authorization: Bearer`.
pub fn api_key_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if !value.is_empty() {
            return Some(value.to_string());
        }
    }
    let auth = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = auth.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_string())
}

fn set_rate_headers(headers: &mut HeaderMap, limit: i64, remaining: i64, reset_at: u64) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(reset_at));
}

/// Middleware: authenticates, applies the key's rate limit, counts usage.
pub async fn authenticate(State(state): State<SharedState>, mut request: Request, next: Next) -> Response {
    let Some(secret) = api_key_from_headers(request.headers()) else {
        return ApiError::Unauthorized.into_response();
    };
    let key = match state.keys.lookup(&state.store, &secret).await {
        Ok(Some(key)) if key.is_active => key,
        Ok(Some(_)) => return ApiError::Forbidden("this API key has been revoked".into()).into_response(),
        Ok(None) => return ApiError::Forbidden("unknown API key".into()).into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let decision = match state.limiter.check(&format!("{}:{}", key.key_prefix, key.id), key.rate_limit).await {
        Ok(decision) => decision,
        Err(e) => return ApiError::Unavailable(format!("rate limiter: {e}")).into_response(),
    };
    if !decision.allowed {
        state.usage.record(key.id, false);
        let mut response = ApiError::RateLimited { limit: decision.limit }.into_response();
        set_rate_headers(response.headers_mut(), decision.limit, 0, decision.reset_at);
        return response;
    }
    let Some(role) = key.role() else {
        return ApiError::Forbidden("this API key is neither an admin key nor owned by an address".into())
            .into_response();
    };
    let key_id = key.id;
    request.extensions_mut().insert(Caller { key, role });
    let mut response = next.run(request).await;
    state.usage.record(key_id, response.status().as_u16() < 400);
    set_rate_headers(response.headers_mut(), decision.limit, decision.remaining, decision.reset_at);
    response
}
