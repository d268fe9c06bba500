//! `triggerx dispatcher`: the dispatcher as its own process. Task requests come from the schedulers'
//! Redis stream, assignments go to keepers over P2P, outcomes come from the chains' hubs, and every
//! open task lives in the store, so a restarted dispatcher resumes and several share one store.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::U256;
use anyhow::Context;
use serde::Serialize;
use triggerx_chain::deployment::Deployment;
use triggerx_chain::hub::{trust_dispatcher, trusts_dispatcher};
use triggerx_dispatcher::{DispatcherChain, DispatcherConfig, RequestSource};
use triggerx_p2p::{P2pConfig, P2pNode};

use crate::cli::DispatcherArgs;
use crate::commands::devnet::{DEVNET_FILE, wait_for_stop};
use crate::commands::dispatcher_key::{DISPATCHER_KEY_FILE, load_or_create};
use crate::commands::secret_file::read_secret;
use crate::commands::{open_store, redact};

/// What keepers need to accept this dispatcher's assignments (written to dispatcher.json).
#[derive(Debug, Serialize)]
struct DispatcherDescription {
    dispatcher: alloy::primitives::Address,
    p2p_bootstrap: Vec<String>,
}

fn wei(text: &str, flag: &str) -> anyhow::Result<U256> {
    text.trim().parse::<U256>().with_context(|| format!("{flag}: '{text}' is not an amount of wei"))
}

/// Runs until Ctrl-C.
pub async fn run(data_dir: &Path, database_url: Option<&str>, args: DispatcherArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.deadline_secs >= 5, "--deadline-secs must be at least 5");
    anyhow::ensure!(args.max_attempts >= 1, "--max-attempts must be at least 1");
    let path = args.stream.deployment.clone().unwrap_or_else(|| data_dir.join(DEVNET_FILE));
    let deployment = Deployment::read(&path).with_context(|| format!("reading the chains from {}", path.display()))?;
    let key_file = args.key_file.clone().unwrap_or_else(|| data_dir.join(DISPATCHER_KEY_FILE));
    let key = load_or_create(&key_file)?;
    let admin_key = read_secret(args.admin_key_file.as_deref(), "TRIGGERX_ADMIN_KEY")?;
    let chains = DispatcherChain::from_deployment(&deployment, args.confirmations, Duration::from_millis(500));
    for chain in &deployment.chains {
        let hub = chain.contracts.hub;
        if let Some(admin) = &admin_key {
            trust_dispatcher(&chain.rpc_url, admin, hub, key.address())
                .await
                .with_context(|| format!("making the hub of chain {} trust {}", chain.chain_id, key.address()))?;
        }
        let trusted = trusts_dispatcher(&chain.rpc_url, hub, key.address())
            .await
            .with_context(|| format!("asking the hub of chain {} about {}", chain.chain_id, key.address()))?;
        anyhow::ensure!(
            trusted,
            "the hub {} of chain {} does not trust dispatcher {} (run once with --admin-key-file of the hub's admin, or \
             have the admin call setDispatcher)",
            hub,
            chain.chain_id,
            key.address()
        );
    }
    let store = open_store(data_dir, database_url).await?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("dispatcher-{}", std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into())));
    let config = DispatcherConfig {
        name: name.clone(),
        deadline: Duration::from_secs(args.deadline_secs),
        max_attempts: args.max_attempts,
        keeper_fee_wei: wei(&args.keeper_fee_wei, "--keeper-fee-wei")?,
        max_fee_wei: wei(&args.max_fee_wei, "--max-fee-wei")?,
        scripts: triggerx_dispatcher::ScriptSettings {
            sources: triggerx_script::SourceConfig {
                ipfs_gateway: args.ipfs_gateway.clone(),
                policy: triggerx_scheduler::AddressPolicy::allowing(args.allow_script_ranges.clone()),
                ..Default::default()
            },
            fetch_policy: triggerx_scheduler::AddressPolicy::allowing(args.allow_script_ranges.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let p2p = P2pConfig {
        listen: args.p2p_listen.parse().with_context(|| format!("--p2p-listen '{}'", args.p2p_listen))?,
        bootstrap: args
            .p2p_bootstrap
            .iter()
            .map(|a| a.parse().with_context(|| format!("--p2p-bootstrap '{a}'")))
            .collect::<anyhow::Result<_>>()?,
        ..Default::default()
    };
    let (node, reports) = P2pNode::start(p2p.accepting_tasks_from(vec![key.address()]), key.clone()).await?;
    let bootstrap: Vec<String> = node.listen_addrs.iter().map(ToString::to_string).collect();
    let queue = args.stream.queue();
    let service = triggerx_dispatcher::spawn(
        store,
        key.clone(),
        Arc::new(node),
        reports,
        config,
        chains,
        RequestSource::Redis(queue),
    )
    .await?;
    let out = args.out.clone().unwrap_or_else(|| data_dir.join("dispatcher.json"));
    let description = DispatcherDescription { dispatcher: key.address(), p2p_bootstrap: bootstrap.clone() };
    std::fs::write(&out, serde_json::to_string_pretty(&description)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "dispatcher {name} ({}) reading {} on {}; P2P {}; Ctrl-C stops it",
        key.address(),
        args.stream.redis_stream,
        redact(&args.stream.redis_url),
        bootstrap.join(", ")
    );
    wait_for_stop().await?;
    eprintln!("stopping...");
    service.stop().await;
    eprintln!("stopped");
    Ok(())
}
