//! `triggerx devnet`: two local anvil chains (L1, L2) with TriggerX deployed, described in a deployment
//! file; Ctrl-C stops both chains. With `--rpc-url l1=URL --rpc-url l2=URL --deployer-key KEY` it deploys
//! to existing chains and exits.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use triggerx_chain::deploy::ChainRole;
use triggerx_chain::deployment::{Deployment, deploy_existing};
use triggerx_devnet::{Devnet, DevnetOptions};

use crate::cli::DevnetArgs;

/// Deployment file name in the data directory.
pub use triggerx_chain::deployment::DEVNET_FILE;

/// Runs the devnet command.
pub async fn run(data_dir: &Path, args: DevnetArgs) -> anyhow::Result<()> {
    let out = args.out.clone().unwrap_or_else(|| data_dir.join(DEVNET_FILE));
    if !args.rpc_urls.is_empty() {
        return deploy_to_existing(&args, &out).await;
    }
    if !(args.block_time >= 0.0 && args.block_time.is_finite()) {
        anyhow::bail!("--block-time must be 0 (automine) or a positive number of seconds");
    }
    let spinner = spinner("starting L1 and L2 and deploying TriggerX");
    let options = DevnetOptions {
        block_time: (args.block_time > 0.0).then_some(args.block_time),
        l1_port: args.l1_port,
        l2_port: args.l2_port,
    };
    let devnet = Devnet::start(&options).await.context("starting the devnet")?;
    spinner.finish_and_clear();
    devnet.deployment.write(&out)?;
    print_summary(&devnet.deployment, &out);
    println!("Press Ctrl-C to stop both chains.");
    wait_for_stop().await?;
    devnet.stop().await;
    eprintln!("devnet stopped");
    Ok(())
}

async fn deploy_to_existing(args: &DevnetArgs, out: &Path) -> anyhow::Result<()> {
    let key = args.deployer_key.as_deref().context("--rpc-url needs --deployer-key (or TRIGGERX_DEPLOYER_KEY)")?;
    let mut chains = Vec::new();
    for entry in &args.rpc_urls {
        let (role, url) =
            entry.split_once('=').with_context(|| format!("--rpc-url '{entry}': expected l1=URL or l2=URL"))?;
        let role = match role.trim().to_ascii_lowercase().as_str() {
            "l1" => ChainRole::L1,
            "l2" => ChainRole::L2,
            other => anyhow::bail!("--rpc-url '{entry}': role '{other}' is not l1 or l2"),
        };
        chains.push((role, url.trim().to_string()));
    }
    let spinner = spinner("deploying TriggerX");
    let deployment = deploy_existing(&chains, key).await.context("deploying")?;
    spinner.finish_and_clear();
    deployment.write(out)?;
    print_summary(&deployment, out);
    Ok(())
}

fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn print_summary(deployment: &Deployment, out: &Path) {
    for chain in &deployment.chains {
        println!("{:?} chain {} at {}", chain.role, chain.chain_id, chain.rpc_url);
        for (name, address) in chain.contracts.named() {
            println!("  {name:<20} {address}");
        }
    }
    if let Some(first) = deployment.accounts.first() {
        println!("{} funded dev accounts; deployer and admin: {}", deployment.accounts.len(), first.address);
    }
    println!("deployment file: {}", out.display());
}

pub async fn wait_for_stop() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
