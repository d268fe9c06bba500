//! `triggerx keeper`: runs a keeper node from its TOML config (`--config`, default keeper.toml in the
//! data directory); `keeper keygen` writes a keeper's three keys as encrypted keystores; `keeper
//! register` registers the keeper on L1's `KeeperRegistry`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use triggerx_chain::contracts::ChainContracts;
use triggerx_chain::deploy::{ChainRole, signer_from_key};
use triggerx_chain::keepers::{operator_status, register_keeper};
use triggerx_keeper::KeeperNode;
use triggerx_keeper::keys::{KeeperKeys, KeySource};
use triggerx_keeper::settings::{DEFAULT_VOTING_POWER, KeeperFile, L1Section};

use crate::cli::{KeeperArgs, KeeperCommand};
use crate::commands::devnet::wait_for_stop;
use crate::commands::up::UpDescription;

/// Environment variable holding the keystore password.
pub const PASSWORD_ENV: &str = "TRIGGERX_KEYSTORE_PASSWORD";
/// Config file name in the data directory.
pub const KEEPER_FILE: &str = "keeper.toml";

/// Runs `triggerx keeper ...`.
pub async fn run(data_dir: &Path, args: KeeperArgs) -> anyhow::Result<()> {
    let config_path = args.config.clone().unwrap_or_else(|| data_dir.join(KEEPER_FILE));
    match args.command {
        Some(KeeperCommand::Keygen { out, controller_key }) => keygen(&out, controller_key.as_deref()),
        Some(KeeperCommand::Register) => register(&config_path).await,
        None => run_node(&config_path).await,
    }
}

fn password(confirm: bool) -> anyhow::Result<String> {
    if let Ok(password) = std::env::var(PASSWORD_ENV) {
        return Ok(password);
    }
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "keystores need a password: set {PASSWORD_ENV} or run in a terminal to be asked"
    );
    let password = rpassword::prompt_password("keystore password: ")?;
    if confirm {
        let again = rpassword::prompt_password("again: ")?;
        anyhow::ensure!(password == again, "the two passwords differ");
    }
    anyhow::ensure!(!password.is_empty(), "an empty password protects nothing");
    Ok(password)
}

fn keygen(out: &Path, controller_key: Option<&str>) -> anyhow::Result<()> {
    let controller = controller_key.map(signer_from_key).transpose().context("--controller-key")?;
    let keys = KeeperKeys::generate(controller);
    let password = password(true)?;
    let KeySource::Keystores { controller, consensus, bls } = keys.write_keystores(out, &password)? else {
        anyhow::bail!("keystores expected");
    };
    let public = keys.bls.public_key();
    println!("controller (operator) address {}", keys.controller.address());
    println!("consensus address             {}", keys.consensus.address());
    println!("BLS public key                [{}, {}, {}, {}]", public[0], public[1], public[2], public[3]);
    println!("Put these in the keeper config:");
    println!("[keys]\ncontroller = {:?}\nconsensus = {:?}\nbls = {:?}", controller, consensus, bls);
    Ok(())
}

/// Reads the config file and fills what it leaves out from the `triggerx up` it joins.
fn read_config(path: &Path) -> anyhow::Result<KeeperFile> {
    let mut file = KeeperFile::read(path)?;
    if let Some(join) = file.join.clone() {
        fill_from_up(&mut file, &join)?;
    }
    Ok(file)
}

fn fill_from_up(file: &mut KeeperFile, up_path: &PathBuf) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(up_path)
        .with_context(|| format!("join = {}: is `triggerx up` running?", up_path.display()))?;
    let up: UpDescription = serde_json::from_str(&text).with_context(|| format!("parsing {}", up_path.display()))?;
    file.dispatcher.get_or_insert(up.dispatcher);
    file.health_url.get_or_insert(up.health_url.clone());
    if file.p2p.bootstrap.is_empty() {
        file.p2p.bootstrap = up.p2p_bootstrap.clone();
    }
    if file.l1.is_none()
        && let Some(l1) = up.chains.iter().find(|c| c.role == ChainRole::L1)
    {
        file.l1 = Some(L1Section { rpc_url: l1.rpc_url.clone(), keeper_registry: l1.address("KeeperRegistry")? });
    }
    if file.chains.is_empty() {
        file.chains = up.chains.iter().map(ChainContracts::from_deployment).collect::<Result<_, _>>()?;
    }
    Ok(())
}

fn load_keys(file: &KeeperFile) -> anyhow::Result<KeeperKeys> {
    let source = file.key_source()?;
    let password = if source.needs_password() { password(false)? } else { String::new() };
    Ok(KeeperKeys::load(&source, &password)?)
}

async fn register(config_path: &Path) -> anyhow::Result<()> {
    let file = read_config(config_path)?;
    let l1 = file.l1()?.clone();
    let keys = load_keys(&file)?;
    let operator = keys.controller.address();
    let status = operator_status(&l1.rpc_url, l1.keeper_registry, operator)
        .await
        .with_context(|| format!("reading KeeperRegistry {} on {}", l1.keeper_registry, l1.rpc_url))?;
    if status.registered {
        anyhow::ensure!(
            status.consensus == keys.consensus.address(),
            "operator {operator} is already registered with consensus address {}, not this config's {}",
            status.consensus,
            keys.consensus.address()
        );
        println!("operator {operator} is already registered (consensus {})", status.consensus);
        return Ok(());
    }
    anyhow::ensure!(
        status.whitelisted,
        "operator {operator} is not whitelisted on KeeperRegistry {}; the registry owner must whitelist it first",
        l1.keeper_registry
    );
    let voting_power = file.voting_power.unwrap_or(DEFAULT_VOTING_POWER);
    anyhow::ensure!(voting_power > 0, "voting_power must be positive");
    register_keeper(
        &l1.rpc_url,
        &keys.controller_hex(),
        l1.keeper_registry,
        keys.consensus.address(),
        keys.bls.public_key(),
        alloy::primitives::U256::from(voting_power),
    )
    .await
    .with_context(|| format!("registering {operator}"))?;
    println!(
        "registered operator {operator} (consensus {}, voting power {voting_power}) on KeeperRegistry {}",
        keys.consensus.address(),
        l1.keeper_registry
    );
    Ok(())
}

async fn run_node(config_path: &Path) -> anyhow::Result<()> {
    let file = read_config(config_path)?;
    let keys = load_keys(&file)?;
    let config = file.node_config(&keys)?;
    if let Some(l1) = &file.l1 {
        match operator_status(&l1.rpc_url, l1.keeper_registry, keys.controller.address()).await {
            Ok(status) if !status.registered => tracing::warn!(
                operator = %keys.controller.address(),
                "not registered on L1: no task will be assigned until `triggerx keeper register` runs"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the L1 registration"),
        }
    }
    let chains: Vec<u64> = config.chains.iter().map(|c| c.chain_id).collect();
    let node = KeeperNode::start(config).await.context("starting the keeper")?;
    println!("keeper {} running (consensus {})", node.address, keys.consensus.address());
    println!("  peer   {}", node.p2p.peer_id);
    for address in &node.p2p.listen_addrs {
        println!("  listen {address}");
    }
    println!("  chains {chains:?}");
    println!("Ctrl-C stops it.");
    wait_for_stop().await?;
    eprintln!("stopping...");
    drop(node);
    eprintln!("stopped");
    Ok(())
}
