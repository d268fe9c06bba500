//! Unauthenticated system routes: health and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;

use crate::state::SharedState;

/// Health of the server and its database.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: String,
    /// `ok`, or the database error.
    pub database: String,
    pub version: String,
}

/// Whether the server and its database answer (503 when the database does not).
#[utoipa::path(get, path = "/api/health", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<SharedState>) -> (StatusCode, Json<Health>) {
    let version = env!("CARGO_PKG_VERSION").to_string();
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(Health { status: "ok".into(), database: "ok".into(), version })),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health { status: "degraded".into(), database: e.to_string(), version }),
        ),
    }
}

/// Prometheus metrics in text format.
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<SharedState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
