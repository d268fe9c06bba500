//! `triggerx api`: the REST API server. On first start it creates an admin key, prints it and keeps it
//! in the data directory (readable by the owner only) so a new user can start calling the API at once.

use std::path::{Path, PathBuf};

use anyhow::Context;
use triggerx_api::ApiConfig;
use triggerx_chain::deployment::Deployment;
use triggerx_store::Store;

use crate::cli::ApiArgs;
use crate::commands::devnet::DEVNET_FILE;
use crate::commands::{open_store, redact};

/// File in the data directory holding the admin key created at first start.
pub const ADMIN_KEY_FILE: &str = "admin-key";

/// Runs the API until Ctrl-C.
pub async fn run(data_dir: &Path, database_url: Option<&str>, args: ApiArgs) -> anyhow::Result<()> {
    let chains = match args.deployment.clone().or_else(|| {
        let default = data_dir.join(DEVNET_FILE);
        default.exists().then_some(default)
    }) {
        Some(path) => Deployment::read(&path).with_context(|| format!("chains of {}", path.display()))?.chains,
        None => Vec::new(),
    };
    let store = open_store(data_dir, database_url).await?;
    let admin_key = ensure_admin_key(&store, data_dir).await?;
    let config = ApiConfig {
        redis_url: args.redis_url.clone(),
        chains: chains.clone(),
        outbound: triggerx_scheduler::AddressPolicy::allowing(args.allow_source_ranges.clone()),
        scripts: triggerx_script::SourceConfig {
            ipfs_gateway: args.ipfs_gateway.clone(),
            policy: triggerx_scheduler::AddressPolicy::allowing(args.allow_source_ranges.clone()),
            ..Default::default()
        },
        quotas: triggerx_api::JobQuotas {
            live: args.max_live_jobs_per_owner,
            fast: args.max_fast_jobs_per_owner,
            fast_period_ms: args.fast_period_secs.saturating_mul(1000),
        },
        ..ApiConfig::on(args.listen)
    };
    let running = triggerx_api::spawn(store, config)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("starting the API on {}", args.listen))?;
    let database = database_url.map(redact).unwrap_or_else(|| Store::sqlite_url(data_dir).unwrap_or_default());
    println!("TriggerX API listening on http://{}", running.address);
    println!("  database:    {database}");
    println!(
        "  rate limits: {}",
        args.redis_url.as_deref().map(|u| format!("redis {u}")).unwrap_or_else(|| "in process".into())
    );
    let chain_ids: Vec<u64> = chains.iter().map(|c| c.chain_id).collect();
    println!("  chains:      {chain_ids:?} (fees are predicted on these)");
    println!("  OpenAPI:     http://{}/api/openapi.json", running.address);
    match admin_key {
        AdminKey::Created(key, path) => {
            println!("  admin key:   {key}");
            println!("               (saved to {}; shown only now)", path.display());
        }
        AdminKey::Existing(path) => println!("  admin key:   in {}", path.display()),
        AdminKey::ManagedElsewhere => println!("  admin key:   create one with `triggerx apikey create --admin`"),
    }
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    tracing::info!("stopping");
    running.stop().await.context("stopping the API")?;
    Ok(())
}

/// The admin key situation at start-up.
pub enum AdminKey {
    /// Created now (the secret, and the file it was saved to).
    Created(String, PathBuf),
    /// One exists and its secret is in this file.
    Existing(PathBuf),
    /// One exists but its secret is not in the data directory.
    ManagedElsewhere,
}

/// Creates the first admin key of an empty key table and saves it to the data directory.
pub async fn ensure_admin_key(store: &Store, data_dir: &Path) -> anyhow::Result<AdminKey> {
    let path = data_dir.join(ADMIN_KEY_FILE);
    let keys = store.list_api_keys().await?;
    if keys.iter().any(|k| k.is_admin && k.is_active) {
        return Ok(if path.exists() { AdminKey::Existing(path) } else { AdminKey::ManagedElsewhere });
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let created = store.create_api_key(None, true, Some(triggerx_store::DEFAULT_ADMIN_RATE_LIMIT)).await?;
    write_secret(&path, &created.key)?;
    Ok(AdminKey::Created(created.key, path))
}

fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "{secret}")?;
    Ok(())
}
