//! The liveness loop: marks silent keepers offline, then claims and sends offline alerts (each offline
//! period is claimed once in the store, so exactly one alert per transition goes out).

use std::sync::Arc;

use triggerx_core::time::now_millis;

use crate::alerts::AlertKind;
use crate::server::HealthState;

/// Runs forever (aborted with the service).
pub async fn run(state: Arc<HealthState>) {
    let mut tick = tokio::time::interval(state.config.monitor_interval);
    loop {
        tick.tick().await;
        if let Err(e) = evaluate(&state).await {
            tracing::warn!(error = %e, "liveness evaluation failed");
        }
    }
}

/// One evaluation.
pub async fn evaluate(state: &HealthState) -> Result<(), crate::HealthError> {
    let now = now_millis();
    let offline_after = i64::try_from(state.config.offline_after.as_millis()).unwrap_or(i64::MAX);
    let alert_after = i64::try_from(state.config.alert_after.as_millis()).unwrap_or(i64::MAX);
    for keeper in state.store.mark_silent_keepers_offline(now, offline_after).await? {
        tracing::warn!(%keeper, "keeper went offline");
    }
    for keeper in state.store.claim_offline_alerts(now, alert_after).await? {
        tracing::warn!(keeper = %keeper.keeper_address, "keeper offline past the alert delay; alerting");
        for failure in state.config.channels.send(AlertKind::Offline, &keeper).await {
            tracing::warn!(error = %failure, "offline alert failed");
        }
    }
    Ok(())
}
