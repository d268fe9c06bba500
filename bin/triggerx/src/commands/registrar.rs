//! `triggerx registrar`: keeps the store and every hub's keeper set equal to the L1 registrations.

use std::path::Path;

use anyhow::Context;
use triggerx_chain::deployment::Deployment;
use triggerx_registrar::RegistrarConfig;

use crate::cli::RegistrarArgs;
use crate::commands::devnet::{DEVNET_FILE, wait_for_stop};
use crate::commands::open_store;
use crate::commands::secret_file::read_secret;

/// Runs the registrar until Ctrl-C.
pub async fn run(data_dir: &Path, database_url: Option<&str>, args: RegistrarArgs) -> anyhow::Result<()> {
    let path = args.deployment.clone().unwrap_or_else(|| data_dir.join(DEVNET_FILE));
    let deployment = Deployment::read(&path)
        .with_context(|| format!("reading {} (start `triggerx devnet` or pass --deployment)", path.display()))?;
    let admin_key = read_secret(args.admin_key_file.as_deref(), "TRIGGERX_ADMIN_KEY")?
        .or_else(|| deployment.accounts.first().map(|a| a.private_key.clone()))
        .context("no admin key: pass --admin-key-file or set TRIGGERX_ADMIN_KEY")?;
    let config = RegistrarConfig::for_deployment(&deployment, &admin_key, args.confirmations)?;
    let (registry, l1) = (config.keeper_registry, config.l1_rpc_url.clone());
    let store = open_store(data_dir, database_url).await?;
    let registrar = triggerx_registrar::spawn(store, config).await.context("starting the registrar")?;
    println!("registrar following KeeperRegistry {registry} at {}; Ctrl-C stops it", crate::commands::redact(&l1));
    wait_for_stop().await?;
    registrar.stop().await;
    eprintln!("registrar stopped");
    Ok(())
}
