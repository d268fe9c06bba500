//! Log output: readable lines for people by default, JSON for machines.

use tracing_subscriber::EnvFilter;

/// How logs are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum, Default)]
pub enum LogFormat {
    /// Compact lines for a terminal.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Default filter when `RUST_LOG` is unset: our crates at info, noisy dependencies quieter.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn,hyper=warn,libp2p=warn,libp2p_swarm=warn";

/// Installs the global subscriber.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.compact().with_target(false).init(),
        LogFormat::Json => builder.json().init(),
    }
}
