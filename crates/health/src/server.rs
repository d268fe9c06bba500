//! `POST /health`: verifies a keeper's signed check-in (signature, clock, replay, registration looked
//! up at check-in time) and records it; a keeper returning after an offline alert gets its "back online" alert.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use triggerx_core::address::normalize_address;
use triggerx_core::checkin::CheckIn;
use triggerx_core::time::now_millis;
use triggerx_store::{CheckinOutcome, CheckinRecord, Store};

use crate::HealthConfig;
use crate::alerts::AlertKind;

/// Shared state of the server and monitor.
pub struct HealthState {
    /// The store.
    pub store: Store,
    /// Settings.
    pub config: HealthConfig,
}

type Reply = (StatusCode, Json<serde_json::Value>);

fn error(status: StatusCode, code: &str, field: &str, message: impl Into<String>) -> Reply {
    (status, Json(json!({"error": {"code": code, "message": message.into(), "field": field}})))
}

/// The router.
pub fn router(state: Arc<HealthState>) -> Router {
    Router::new().route("/health", post(check_in)).with_state(state)
}

async fn check_in(State(state): State<Arc<HealthState>>, body: axum::body::Bytes) -> Reply {
    let checkin: CheckIn = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_body", "body", e.to_string()),
    };
    if let Err(e) = checkin.verify() {
        let status = if e.field == "signature" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
        return error(status, e.code, &e.field, e.message);
    }
    let now = now_millis();
    let signed_at = checkin.timestamp.saturating_mul(1000);
    let skew = i64::try_from(state.config.max_clock_skew.as_millis()).unwrap_or(i64::MAX);
    if (now - signed_at).abs() > skew {
        return error(
            StatusCode::BAD_REQUEST,
            "stale_timestamp",
            "timestamp",
            format!("more than {:?} from the server clock", state.config.max_clock_skew),
        );
    }
    let (Ok(keeper), Ok(consensus)) = (
        normalize_address(&checkin.keeper_address, "keeper_address"),
        normalize_address(&checkin.consensus_address, "consensus_address"),
    ) else {
        return error(StatusCode::BAD_REQUEST, "invalid_address", "keeper_address", "bad address");
    };
    let record = CheckinRecord {
        keeper_address: &keeper,
        consensus_address: &consensus,
        version: &checkin.version,
        peer_id: &checkin.peer_id,
        signed_at,
    };
    let offline_after = i64::try_from(state.config.offline_after.as_millis()).unwrap_or(i64::MAX);
    match state.store.record_checkin(&record, now, offline_after).await {
        Ok(CheckinOutcome::Accepted { keeper_id, was_alerted_offline }) => {
            if was_alerted_offline {
                if let Ok(Some(contacts)) = state.store.keeper_contacts(keeper_id).await {
                    for failure in state.config.channels.send(AlertKind::BackOnline, &contacts).await {
                        tracing::warn!(error = %failure, "back-online alert failed");
                    }
                }
                tracing::info!(%keeper, "keeper back online");
            }
            (StatusCode::OK, Json(json!({"status": "ok", "keeper_id": keeper_id})))
        }
        Ok(CheckinOutcome::NotRegistered) => {
            error(StatusCode::FORBIDDEN, "not_registered", "keeper_address", "no registered keeper has this address")
        }
        Ok(CheckinOutcome::WrongConsensusAddress) => error(
            StatusCode::FORBIDDEN,
            "wrong_consensus_address",
            "consensus_address",
            "not the registered consensus address",
        ),
        Ok(CheckinOutcome::Replayed) => {
            error(StatusCode::CONFLICT, "replayed", "timestamp", "not newer than the last accepted check-in")
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "", e.to_string()),
    }
}
