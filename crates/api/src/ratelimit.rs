//! Per-key rate limits in fixed one-minute windows: in process by default, in Redis when several API
//! servers must share one budget. Both give the same answer for the same traffic.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;
use triggerx_core::apikey::RATE_LIMIT_WINDOW_SECONDS;

/// Redis key prefix of the counters.
pub const REDIS_KEY_PREFIX: &str = "triggerx:rate_limit";

/// The verdict for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Requests allowed per window.
    pub limit: i64,
    /// Requests left in this window (0 when refused).
    pub remaining: i64,
    /// Unix second at which the window resets.
    pub reset_at: u64,
    /// Whether this request may proceed.
    pub allowed: bool,
}

/// Where counters live.
pub enum RateLimiter {
    /// In this process.
    Memory(Mutex<HashMap<String, (u64, i64)>>),
    /// In Redis, shared by every server using it.
    Redis(ConnectionManager),
}

fn current_window() -> (u64, u64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let window = now / RATE_LIMIT_WINDOW_SECONDS;
    (window, (window + 1) * RATE_LIMIT_WINDOW_SECONDS)
}

fn decide(count: i64, limit: i64, reset_at: u64) -> RateDecision {
    RateDecision { limit, remaining: (limit - count).max(0), reset_at, allowed: count <= limit }
}

impl RateLimiter {
    /// An in-process limiter.
    pub fn memory() -> Self {
        RateLimiter::Memory(Mutex::new(HashMap::new()))
    }

    /// A limiter on the Redis server at `url`.
    pub async fn redis(url: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        Ok(RateLimiter::Redis(ConnectionManager::new(client).await?))
    }

    /// Counts one request of the key identified by `key` against `limit` per window. `key` must be unique
    /// across every database sharing the Redis server (the key's random prefix and id are).
    pub async fn check(&self, key: &str, limit: i64) -> Result<RateDecision, redis::RedisError> {
        let (window, reset_at) = current_window();
        match self {
            RateLimiter::Memory(counters) => {
                // A poisoned lock only means another request panicked mid-update; the counts are still usable.
                let mut counters = counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let entry = counters.entry(key.to_string()).or_insert((window, 0));
                if entry.0 != window {
                    *entry = (window, 0);
                }
                entry.1 += 1;
                Ok(decide(entry.1, limit, reset_at))
            }
            RateLimiter::Redis(manager) => {
                let mut connection = manager.clone();
                let key = format!("{REDIS_KEY_PREFIX}:{key}:{window}");
                let (count,): (i64,) = redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .expire(&key, (RATE_LIMIT_WINDOW_SECONDS * 2) as i64)
                    .ignore()
                    .query_async(&mut connection)
                    .await?;
                Ok(decide(count, limit, reset_at))
            }
        }
    }
}
