//! API key lookups cached briefly by key hash, and per-key usage counters flushed to the store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use triggerx_core::apikey::ApiKeyInfo;
use triggerx_core::time::now_millis;
use triggerx_store::{Store, StoreError, hash_api_key};

/// How long a key lookup is trusted before the store is asked again. Changes made through this server
/// apply at once; changes made elsewhere (the CLI, another server) within this time.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(2);
/// Most key lookups kept; beyond it expired entries are dropped, and if none has expired the new lookup
/// is simply not cached. A flood of random keys therefore costs store lookups, never unbounded memory.
pub const MAX_CACHED_KEYS: usize = 10_000;
/// Gauge of cached key lookups.
pub const KEY_CACHE_ENTRIES: &str = "triggerx_api_key_cache_entries";
/// How often usage counters are written to the store.
pub const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// Key lookups, cached briefly by key hash (unknown keys too, so repeating a bad key does not hammer the
/// store), at most [`MAX_CACHED_KEYS`] of them.
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
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED_KEYS && !entries.contains_key(&hash) {
            entries.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
        }
        if entries.len() < MAX_CACHED_KEYS || entries.contains_key(&hash) {
            entries.insert(hash, (info.clone(), Instant::now()));
        }
        metrics::gauge!(KEY_CACHE_ENTRIES).set(entries.len() as f64);
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
    pub(crate) fn record(&self, key_id: i64, success: bool) {
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
