//! Shared state of the API server.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use triggerx_store::Store;

use crate::chain_access::{ChainAccess, FeeConfig};
use crate::key_cache::{KeyCache, UsageCounters};
use crate::ratelimit::RateLimiter;

/// Everything handlers share.
pub struct AppState {
    /// The job store.
    pub store: Store,
    /// Per-key rate limits.
    pub limiter: RateLimiter,
    /// Cached key lookups.
    pub keys: KeyCache,
    /// Per-key request counts awaiting a flush.
    pub usage: UsageCounters,
    /// Fee estimation parameters.
    pub fees: FeeConfig,
    /// The chains this server predicts fees on.
    pub chains: ChainAccess,
    /// Prometheus renderer.
    pub metrics: PrometheusHandle,
    /// Where admin task requests go (absent when no dispatcher runs with this API).
    pub task_queue: Option<triggerx_queue::TaskQueueSender>,
    /// Which hosts condition sources may name.
    pub outbound: triggerx_http::AddressPolicy,
    /// What one owner key may create.
    pub quotas: crate::JobQuotas,
    /// Where job scripts are fetched from.
    pub scripts: triggerx_script::SourceConfig,
    /// The client `/api/code/validate` runs fetch with (through `outbound`).
    pub script_fetch: triggerx_script::FetchClient,
}

/// State as handlers receive it.
pub type SharedState = Arc<AppState>;
