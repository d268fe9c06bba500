//! `triggerx registrar`: keeps the store and every hub's keeper set equal to the L1 registrations.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use triggerx_chain::deploy::ChainRole;
use triggerx_chain::devnet::Deployment;
use triggerx_registrar::{HubTarget, Registrar, RegistrarConfig};

use crate::cli::RegistrarArgs;
use crate::commands::devnet::{DEVNET_FILE, wait_for_stop};
use crate::commands::open_store;

/// Runs the registrar until Ctrl-C.
pub async fn run(data_dir: &Path, database_url: Option<&str>, args: RegistrarArgs) -> anyhow::Result<()> {
    let path = args.deployment.clone().unwrap_or_else(|| data_dir.join(DEVNET_FILE));
    let deployment = Deployment::read(&path)
        .with_context(|| format!("reading {} (start `triggerx devnet` or pass --deployment)", path.display()))?;
    let l1 = deployment.chain(ChainRole::L1)?;
    let admin_key = match args.admin_key.clone().or_else(|| deployment.accounts.first().map(|a| a.private_key.clone()))
    {
        Some(key) => key,
        None => anyhow::bail!("no admin key: pass --admin-key or TRIGGERX_ADMIN_KEY"),
    };
    let hubs = deployment
        .chains
        .iter()
        .map(|c| Ok(HubTarget { rpc_url: c.rpc_url.clone(), hub: c.address("TaskExecutionHub")? }))
        .collect::<Result<Vec<_>, triggerx_chain::ChainError>>()?;
    let config = RegistrarConfig {
        l1_rpc_url: l1.rpc_url.clone(),
        keeper_registry: l1.address("KeeperRegistry")?,
        hubs,
        admin_key,
        confirmations: args.confirmations,
        start_block: None,
        poll_interval: Duration::from_secs(1),
    };
    let store = open_store(data_dir, database_url).await?;
    let registrar = Registrar::new(store, config).await.context("starting the registrar")?;
    println!(
        "registrar following KeeperRegistry {} on chain {}; Ctrl-C stops it",
        l1.address("KeeperRegistry")?,
        l1.chain_id
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = registrar.run(stopped);
    tokio::pin!(running);
    tokio::select! {
        result = &mut running => result?,
        signal = wait_for_stop() => {
            signal?;
            let _ = stop.send(true);
            running.await?;
        }
    }
    eprintln!("registrar stopped");
    Ok(())
}
