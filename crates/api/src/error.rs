//! API errors: every failure is JSON `{"error": {"code", "message", "field"}}` with a fitting status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use triggerx_core::FieldError;
use triggerx_store::StoreError;

/// Errors of the API crate, each mapped to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or a field is invalid.
    #[error("{0}")]
    BadRequest(FieldError),
    /// 401: no API key.
    #[error("missing API key")]
    Unauthorized,
    /// 403: the key is unknown, revoked, or not allowed to touch this resource.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0} not found")]
    NotFound(String),
    /// 409: the request collides with stored state.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than allowed.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 415: the body is not JSON.
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// 429: over the key's rate limit.
    #[error("rate limit exceeded: {limit} requests per minute")]
    RateLimited {
        /// The key's limit.
        limit: i64,
    },
    /// 429: the owner is at a quota (live jobs).
    #[error("{0}")]
    QuotaExceeded(String),
    /// 503: a dependency (database, Redis) is unavailable.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or corrupt data; logged, never caused by input.
    #[error("internal error")]
    Internal(String),
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Redis (shared rate limits) is unreachable or misconfigured.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A configured chain is unusable.
    #[error("chain: {0}")]
    Chain(#[from] triggerx_chain::ChainError),
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

/// The body of every error response.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// Machine-readable code, e.g. `invalid_address`.
    code: String,
    /// What was wrong, for a person.
    message: String,
    /// The offending field, e.g. `[0].target_contract_address`, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl ApiError {
    /// A 400 naming `field`.
    pub fn bad(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadRequest(FieldError::new(code, field, message))
    }

    fn status_code_and_field(&self) -> (StatusCode, &str, Option<String>) {
        match self {
            ApiError::BadRequest(e) => {
                (StatusCode::BAD_REQUEST, e.code, (!e.field.is_empty()).then(|| e.field.clone()))
            }
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "missing_api_key", Some("X-Api-Key".into())),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", None),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", Some("body".into())),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", Some("Content-Type".into()))
            }
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", None),
            ApiError::QuotaExceeded(_) => (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded", None),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, field) = self.status_code_and_field();
        let message = match &self {
            ApiError::BadRequest(e) => e.message.clone(),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "internal error".to_string()
            }
            other => other.to_string(),
        };
        let body = ErrorBody { error: ErrorDetail { code: code.to_string(), message, field } };
        (status, Json(body)).into_response()
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::BadRequest(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Invalid(field) => ApiError::BadRequest(field),
            unavailable if unavailable.is_unavailable() => ApiError::Unavailable(unavailable.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
