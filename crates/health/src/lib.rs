//! Health service: keepers check in with signed payloads; keepers silent past a threshold are marked
//! offline; a keeper offline longer than the alert delay, and again when it returns, causes exactly one
//! alert per transition on each configured channel (Telegram Bot API, SMTP e-mail, webhook).

pub mod alerts;
pub mod monitor;
pub mod server;

use std::net::SocketAddr;
use std::time::Duration;

pub use alerts::{AlertChannels, AlertKind};

/// Errors of the health service.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// Store access failed.
    #[error(transparent)]
    Store(#[from] triggerx_store::StoreError),
    /// An alert could not be delivered.
    #[error("alert via {channel}: {detail}")]
    Alert {
        /// Channel name.
        channel: &'static str,
        /// What failed.
        detail: String,
    },
    /// The server could not start.
    #[error("starting the health server: {0}")]
    Io(#[from] std::io::Error),
}

/// Health service settings.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// Address of the check-in server.
    pub listen: SocketAddr,
    /// A keeper silent this long is offline (default 70 s).
    pub offline_after: Duration,
    /// A keeper offline this long is alerted (default 10 min).
    pub alert_after: Duration,
    /// How often liveness is evaluated.
    pub monitor_interval: Duration,
    /// Largest accepted difference between a check-in's timestamp and the server clock.
    pub max_clock_skew: Duration,
    /// Where alerts go.
    pub channels: AlertChannels,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9004)),
            offline_after: Duration::from_secs(70),
            alert_after: Duration::from_secs(600),
            monitor_interval: Duration::from_secs(5),
            max_clock_skew: Duration::from_secs(60),
            channels: AlertChannels::default(),
        }
    }
}

/// A running health service.
pub struct RunningHealth {
    /// Where check-ins are accepted.
    pub address: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    monitor: tokio::task::JoinHandle<()>,
}

impl RunningHealth {
    /// Stops the server and the monitor.
    pub fn stop(self) {
        self.server.abort();
        self.monitor.abort();
    }
}

/// Starts the check-in server and the liveness monitor.
pub async fn spawn(store: triggerx_store::Store, config: HealthConfig) -> Result<RunningHealth, HealthError> {
    let state = std::sync::Arc::new(server::HealthState { store: store.clone(), config: config.clone() });
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let address = listener.local_addr()?;
    let router = server::router(state.clone());
    let server = tokio::spawn(async move {
        let limits = triggerx_http::ServerLimits::default();
        if let Err(e) = triggerx_http::serve(listener, router, limits, std::future::pending()).await {
            tracing::error!(error = %e, "health server stopped");
        }
    });
    let monitor = tokio::spawn(monitor::run(state));
    Ok(RunningHealth { address, server, monitor })
}
