//! Authentication and authorisation: the API key from `X-Api-Key` or `Authorization: Bearer`, a short
//! in-memory cache of key lookups, per-key rate limits, usage counters, and owner checks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use triggerx_core::apikey::{ApiKeyInfo, Role};
use triggerx_core::time::now_millis;
use triggerx_store::{Store, StoreError, hash_api_key};

use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;

/// How long a key lookup is trusted before the store is asked again. Changes made through this server
/// apply at once; changes made elsewhere (the CLI, another server) within this time.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(2);
/// How often usage counters are written to the store.
pub const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// The authenticated caller, available to every handler behind the auth layer.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key used.
    pub key: ApiKeyInfo,
}

impl Caller {
    /// Admin or owner.
    pub fn role(&self) -> Role {
        self.key.role()
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

/// Key lookups, cached briefly by key hash (unknown keys too, so bad keys cannot hammer the store).
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, (Option<ApiKeyInfo>, Instant)>>,
}

impl KeyCache {
    /// The key with secret `secret`, from the cache or the store.
    pub async fn lookup(&self, store: &Store, secret: &str) -> Result<Option<ApiKeyInfo>, StoreError> {
        let hash = hash_api_key(secret);
        if let Some((info, at)) = self.lock().get(&hash)
            && at.elapsed() < KEY_CACHE_TTL
        {
            return Ok(info.clone());
        }
        let info = store.api_key_by_secret(secret).await?;
        self.lock().insert(hash, (info.clone(), Instant::now()));
        Ok(info)
    }

    /// Forgets every cached lookup (after a key changes through this server).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Option<ApiKeyInfo>, Instant)>> {
        // The map holds only cache entries; a poisoned lock leaves them valid.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Per-key request counts gathered in memory and flushed to the store periodically, so a read
/// request never waits for a write.
#[derive(Default)]
pub struct UsageCounters {
    counts: Mutex<HashMap<i64, (i64, i64, i64)>>,
}

impl UsageCounters {
    fn record(&self, key_id: i64, success: bool) {
        let mut counts = self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = counts.entry(key_id).or_insert((0, 0, 0));
        if success {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
        entry.2 = now_millis();
    }

    /// Writes gathered counts to the store.
    pub async fn flush(&self, store: &Store) {
        let drained: Vec<(i64, (i64, i64, i64))> = {
            let mut counts = self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            counts.drain().collect()
        };
        for (key_id, (ok, failed, last_used)) in drained {
            if let Err(e) = store.record_api_key_usage(key_id, ok, failed, last_used).await {
                tracing::warn!(key_id, error = %e, "could not record API key usage");
            }
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
    let key_id = key.id;
    request.extensions_mut().insert(Caller { key });
    let mut response = next.run(request).await;
    state.usage.record(key_id, response.status().as_u16() < 400);
    set_rate_headers(response.headers_mut(), decision.limit, decision.remaining, decision.reset_at);
    response
}
