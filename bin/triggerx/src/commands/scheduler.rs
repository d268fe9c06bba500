//! `triggerx scheduler`: the trigger schedulers as their own process, sending task requests to the
//! dispatcher through a Redis stream. Run several against one PostgreSQL store and one Redis: one holds
//! the lease and runs the triggers, the others stand by and take over if it dies.

use std::path::Path;

use anyhow::Context;
use triggerx_chain::deployment::Deployment;
use triggerx_queue::redis_sender;

use crate::cli::SchedulerArgs;
use crate::commands::devnet::{DEVNET_FILE, wait_for_stop};
use crate::commands::open_store;
use triggerx_scheduler::{AddressPolicy, LeaseSettings, SchedulerConfig};

/// Runs until Ctrl-C.
pub async fn run(data_dir: &Path, database_url: Option<&str>, args: SchedulerArgs) -> anyhow::Result<()> {
    let path = args.stream.deployment.clone().unwrap_or_else(|| data_dir.join(DEVNET_FILE));
    let deployment = Deployment::read(&path).with_context(|| format!("reading the chains from {}", path.display()))?;
    let store = open_store(data_dir, database_url).await?;
    let config = args.stream.queue();
    let queue = redis_sender(&config, std::sync::Arc::new(store.clone()))
        .await
        .with_context(|| format!("connecting to redis at {}", crate::commands::redact(&args.stream.redis_url)))?;
    let holder = args.name.clone().unwrap_or_else(|| format!("scheduler-{}", std::process::id()));
    anyhow::ensure!(args.lease_ttl_ms >= 300, "--lease-ttl-ms must be at least 300");
    let lease = LeaseSettings { holder: holder.clone(), ttl: std::time::Duration::from_millis(args.lease_ttl_ms) };
    let config = SchedulerConfig {
        chains: deployment.chains.clone(),
        confirmations: args.confirmations,
        lease: Some(lease),
        outbound: AddressPolicy::allowing(args.allow_source_ranges.clone()),
    };
    let service = triggerx_scheduler::spawn(store, queue, config);
    println!(
        "scheduler {holder} started ({} chains); waiting for the lease. Ctrl-C stops it.",
        deployment.chains.len()
    );
    wait_for_stop().await?;
    eprintln!("stopping...");
    service.stop().await;
    eprintln!("stopped");
    Ok(())
}
