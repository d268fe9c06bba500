//! TriggerX REST API (the original's dbserver): jobs, tasks, users, keepers, leaderboards, fees and API
//! keys over the store, with per-key auth and rate limits, Prometheus metrics and an OpenAPI document.

pub mod auth;
pub mod chain_access;
pub mod error;
pub mod extract;
pub mod fees;
pub mod key_cache;
pub mod metrics;
mod openapi;
mod ownership;
pub mod ratelimit;
pub mod routes;
pub mod state;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router, middleware};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
pub use triggerx_http::{AddressPolicy, ServerLimits};
use triggerx_store::Store;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, StartError};
pub use fees::{ChainAccess, FeeConfig};
use ratelimit::RateLimiter;
use routes::{apikeys, jobs, keepers, leaderboard, scripts, system, tasks, users};
use state::{AppState, SharedState};
pub use triggerx_chain::deploy::ChainDeployment;

/// Builds the router and the OpenAPI document describing it.
pub fn router_and_openapi(state: SharedState) -> (Router, utoipa::openapi::OpenApi) {
    let protected = OpenApiRouter::new()
        .routes(routes!(jobs::create_jobs, jobs::list_jobs))
        .routes(routes!(jobs::check_jobs))
        .routes(routes!(jobs::jobs_by_api_key))
        .routes(routes!(jobs::jobs_of_user))
        .routes(routes!(jobs::job_of_user))
        .routes(routes!(jobs::get_job, jobs::delete_job))
        .routes(routes!(jobs::update_job))
        .routes(routes!(jobs::delete_job_legacy))
        .routes(routes!(jobs::pause_job))
        .routes(routes!(jobs::resume_job))
        .routes(routes!(jobs::set_last_executed))
        .routes(routes!(jobs::task_fees))
        .routes(routes!(jobs::tasks_of_job))
        .routes(routes!(tasks::create_task))
        .routes(routes!(tasks::get_task))
        .routes(routes!(tasks::tasks_of_job))
        .routes(routes!(tasks::recent_tasks))
        .routes(routes!(tasks::tasks_of_user))
        .routes(routes!(tasks::update_execution))
        .routes(routes!(users::get_user))
        .routes(routes!(users::set_email))
        .routes(routes!(keepers::upsert_keeper))
        .routes(routes!(keepers::keeper_form))
        .routes(routes!(keepers::performers))
        .routes(routes!(keepers::get_keeper))
        .routes(routes!(keepers::task_count))
        .routes(routes!(keepers::points))
        .routes(routes!(keepers::increment_tasks))
        .routes(routes!(keepers::add_points))
        .routes(routes!(keepers::update_chat_id))
        .routes(routes!(leaderboard::keepers))
        .routes(routes!(leaderboard::users))
        .routes(routes!(leaderboard::search_user))
        .routes(routes!(leaderboard::search_keeper))
        .routes(routes!(fees::get_fees))
        .routes(routes!(apikeys::create_key, apikeys::list_keys))
        .routes(routes!(apikeys::update_key, apikeys::revoke_key))
        .routes(routes!(tasks::request_task))
        .routes(routes!(scripts::validate_code))
        .routes(routes!(scripts::set_secrets, scripts::secret_names))
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate));
    let public = OpenApiRouter::new().routes(routes!(system::health)).routes(routes!(system::metrics));
    let (router, mut document) =
        OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()).merge(protected).merge(public).split_for_parts();
    document.paths.paths.insert("/api/openapi.json".into(), openapi_path_item());
    let served = Arc::new(document.clone());
    let router = router
        .route("/api/openapi.json", get(move || async move { Json(served.as_ref().clone()) }))
        .fallback(|| async { ApiError::NotFound("route".into()).into_response() })
        .method_not_allowed_fallback(|method: Method| async move {
            (
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                ApiError::bad("method_not_allowed", "method", format!("{method} is not allowed here")),
            )
                .into_response()
        })
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http())
        .with_state(state);
    (router, document)
}

fn openapi_path_item() -> utoipa::openapi::PathItem {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder};
    use utoipa::openapi::{PathItem, ResponseBuilder};
    PathItem::new(
        HttpMethod::Get,
        OperationBuilder::new()
            .summary(Some("This OpenAPI 3.1 document"))
            .tag("system")
            .response("200", ResponseBuilder::new().description("OpenAPI document").build())
            .build(),
    )
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Redis URL for shared rate limits; in-process limits when absent.
    pub redis_url: Option<String>,
    /// Fee estimation parameters.
    pub fees: FeeConfig,
    /// Chains (RPC URL and contracts) fees are predicted on.
    pub chains: Vec<ChainDeployment>,
    /// Queue of task requests to the dispatcher (`triggerx up` wires one in).
    pub task_queue: Option<triggerx_queue::TaskQueueSender>,
    /// Connection, request and time limits of the HTTP server.
    pub limits: ServerLimits,
    /// Which hosts condition sources of new jobs may name (public ones only unless ranges are allowed).
    pub outbound: AddressPolicy,
    /// What one owner's key may create (admin keys are not limited).
    pub quotas: JobQuotas,
    /// Where scripts of new jobs are fetched (their hash is pinned) and how `/api/code/validate` runs
    /// them (its `fetch` calls go through `outbound`).
    pub scripts: triggerx_script::SourceConfig,
}

/// Default of [`JobQuotas::live`].
pub const DEFAULT_MAX_LIVE_JOBS_PER_OWNER: i64 = 1_000;
/// Default of [`JobQuotas::fast`].
pub const DEFAULT_MAX_FAST_JOBS_PER_OWNER: i64 = 100;
/// Default of [`JobQuotas::fast_period_ms`]: jobs firing every 10 s or more often are fast.
pub const DEFAULT_FAST_PERIOD_MS: i64 = 10_000;

/// Per-owner quotas of owner keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobQuotas {
    /// Most live jobs (pending, running, paused).
    pub live: i64,
    /// Most live jobs that fire every `fast_period_ms` or more often (intervals, cron, condition polls).
    pub fast: i64,
    /// The period at or under which a job is fast.
    pub fast_period_ms: i64,
}

impl Default for JobQuotas {
    fn default() -> Self {
        JobQuotas {
            live: DEFAULT_MAX_LIVE_JOBS_PER_OWNER,
            fast: DEFAULT_MAX_FAST_JOBS_PER_OWNER,
            fast_period_ms: DEFAULT_FAST_PERIOD_MS,
        }
    }
}

impl ApiConfig {
    /// A server on `listen` with every other setting at its default: in-process rate limits, default
    /// fees, no chains (admin keys create jobs), no task queue, default limits, public condition sources
    /// only, the default job quotas. Callers change what they need with `..ApiConfig::on(listen)`.
    pub fn on(listen: SocketAddr) -> ApiConfig {
        ApiConfig {
            listen,
            redis_url: None,
            fees: FeeConfig::default(),
            chains: Vec::new(),
            task_queue: None,
            limits: ServerLimits::default(),
            outbound: AddressPolicy::public_only(),
            quotas: JobQuotas::default(),
            scripts: triggerx_script::SourceConfig::default(),
        }
    }
}

/// Builds the shared state for `store` and `config`.
pub async fn build_state(store: Store, config: &ApiConfig) -> Result<SharedState, StartError> {
    let limiter = match &config.redis_url {
        Some(url) => RateLimiter::redis(url).await?,
        None => RateLimiter::memory(),
    };
    Ok(Arc::new(AppState {
        store,
        limiter,
        keys: Default::default(),
        usage: Default::default(),
        fees: config.fees.clone(),
        chains: ChainAccess::new(&config.chains)?,
        metrics: metrics::prometheus(),
        task_queue: config.task_queue.clone(),
        outbound: config.outbound.clone(),
        quotas: config.quotas,
        scripts: config.scripts.clone(),
        script_fetch: triggerx_script::FetchClient::new(config.outbound.clone()),
    }))
}

/// A running server.
pub struct RunningApi {
    /// Where it listens.
    pub address: SocketAddr,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningApi {
    /// Stops accepting, finishes in-flight requests, flushes usage counters.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(());
        self.task.await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Binds `config.listen` and serves in the background until stopped.
pub async fn spawn(store: Store, config: ApiConfig) -> Result<RunningApi, Box<dyn std::error::Error + Send + Sync>> {
    let state = build_state(store, &config).await?;
    if state.chains.is_empty() {
        tracing::warn!(
            "this API serves no chain: it cannot check job owners on-chain, so only admin keys may create jobs"
        );
    }
    let listener = TcpListener::bind(config.listen).await?;
    let address = listener.local_addr()?;
    let (router, _) = router_and_openapi(state.clone());
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let flusher = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(auth::USAGE_FLUSH_INTERVAL);
            loop {
                tick.tick().await;
                state.usage.flush(&state.store).await;
            }
        })
    };
    let limits = config.limits.clone();
    let task = tokio::spawn(async move {
        let served = triggerx_http::serve(listener, router, limits, async move {
            let _ = stopped.await;
        })
        .await;
        flusher.abort();
        state.usage.flush(&state.store).await;
        served
    });
    Ok(RunningApi { address, shutdown, task })
}
