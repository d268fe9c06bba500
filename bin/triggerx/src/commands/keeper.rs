//! `triggerx keeper`: runs a keeper node from its TOML config (`--config`, default keeper.toml in the
//! data directory); `keeper keygen` writes a keeper's three keys as encrypted keystores; `keeper
//! register` registers the keeper on L1's `KeeperRegistry`.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use triggerx_chain::deploy::signer_from_key;
use triggerx_keeper::keys::{KeeperKeys, KeySource};
use triggerx_keeper::operator::{self, Registration, read_config};
use triggerx_keeper::settings::KeeperFile;

use crate::cli::{KeeperArgs, KeeperCommand};
use crate::commands::devnet::wait_for_stop;
use crate::commands::secret_file::read_secret;

/// Environment variable holding the keystore password.
pub const PASSWORD_ENV: &str = "TRIGGERX_KEYSTORE_PASSWORD";
/// Config file name in the data directory.
pub const KEEPER_FILE: &str = "keeper.toml";

/// Runs `triggerx keeper ...`.
pub async fn run(data_dir: &Path, args: KeeperArgs) -> anyhow::Result<()> {
    let config_path = args.config.clone().unwrap_or_else(|| data_dir.join(KEEPER_FILE));
    match args.command {
        Some(KeeperCommand::Keygen { out, controller_key_file }) => {
            let controller_key = read_secret(controller_key_file.as_deref(), "TRIGGERX_CONTROLLER_KEY")?;
            keygen(&out, controller_key.as_deref())
        }
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
    let controller = controller_key.map(signer_from_key).transpose().context("the controller key")?;
    let keys = KeeperKeys::generate(controller);
    let password = password(true)?;
    let KeySource::Keystores { controller, consensus, bls } = keys.write_keystores(out, &password)? else {
        anyhow::bail!("keystores expected");
    };
    let public = keys.bls.public_key().g2_words();
    println!("controller (operator) address {}", keys.controller.address());
    println!("consensus address             {}", keys.consensus.address());
    println!("BLS public key                [{}, {}, {}, {}]", public[0], public[1], public[2], public[3]);
    println!("Put these in the keeper config:");
    println!("[keys]\ncontroller = {:?}\nconsensus = {:?}\nbls = {:?}", controller, consensus, bls);
    Ok(())
}

fn load_keys(file: &KeeperFile) -> anyhow::Result<KeeperKeys> {
    let source = file.key_source()?;
    let password = if source.needs_password() { password(false)? } else { String::new() };
    Ok(KeeperKeys::load(&source, &password)?)
}

async fn register(config_path: &Path) -> anyhow::Result<()> {
    let file = read_config(config_path)?;
    let keys = load_keys(&file)?;
    match operator::register(&file, &keys).await? {
        Registration::AlreadyRegistered { operator } => {
            println!("operator {operator} is already registered (consensus {})", keys.consensus.address())
        }
        Registration::Registered { operator, voting_power } => println!(
            "registered operator {operator} (consensus {}, voting power {voting_power}) on KeeperRegistry {}",
            keys.consensus.address(),
            file.l1()?.keeper_registry
        ),
    }
    Ok(())
}

async fn run_node(config_path: &Path) -> anyhow::Result<()> {
    let file = read_config(config_path)?;
    let keys = load_keys(&file)?;
    let config = file.node_config(&keys)?;
    match operator::is_registered(&file, &keys).await {
        Ok(Some(false)) => tracing::warn!(
            operator = %keys.controller.address(),
            "not registered on L1: no task will be assigned until `triggerx keeper register` runs"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not read the L1 registration"),
    }
    let chains: Vec<u64> = config.chains.iter().map(|c| c.chain_id).collect();
    let node = triggerx_keeper::spawn(config).await.context("starting the keeper")?;
    println!("keeper {} running (consensus {})", node.address, keys.consensus.address());
    println!("  peer   {}", node.p2p.peer_id);
    for address in &node.p2p.listen_addrs {
        println!("  listen {address}");
    }
    println!("  chains {chains:?}");
    println!("Ctrl-C stops it.");
    wait_for_stop().await?;
    eprintln!("stopping...");
    node.stop().await;
    eprintln!("stopped");
    Ok(())
}
