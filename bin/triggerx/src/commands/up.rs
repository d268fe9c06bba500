//! `triggerx up`: the whole keeper network in one process on this machine: two anvil chains with the
//! contracts, the store (SQLite in the data directory), the REST API, the registrar, the health service,
//! the time, event and condition schedulers, the dispatcher and N keepers, each registered on L1, synced to the hubs and checking in. Writes what
//! it started to `up.json` in the data directory; Ctrl-C stops everything.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use triggerx_api::{ApiConfig, FeeConfig};
use triggerx_chain::contracts::ChainContracts;
use triggerx_chain::deploy::signer_from_key;
use triggerx_chain::deploy::{ChainDeployment, ChainRole};
use triggerx_chain::devnet::{Devnet, DevnetOptions};
use triggerx_chain::hub::trust_dispatcher;
use triggerx_chain::keepers::{register_keeper, whitelist_keepers};
use triggerx_dispatcher::{DispatcherChain, DispatcherConfig, RequestSource};
use triggerx_health::HealthConfig;
use triggerx_keeper::keys::KeeperKeys;
use triggerx_keeper::{KeeperConfig, KeeperNode};
use triggerx_p2p::{P2pConfig, P2pNode};
use triggerx_queue::{RedisQueueConfig, redis_sender};
use triggerx_registrar::{HubTarget, Registrar, RegistrarConfig};

use crate::cli::UpArgs;
use crate::commands::api::{ADMIN_KEY_FILE, AdminKey, ensure_admin_key};
use crate::commands::devnet::{DEVNET_FILE, wait_for_stop};
use crate::commands::triggers::{LeaseSettings, run_leased};
use crate::commands::{demo, dispatcher_key, open_store, redact, triggers};

/// Description file of a running `triggerx up` in the data directory.
pub const UP_FILE: &str = "up.json";
/// Voting power each local keeper registers with.
const LOCAL_VOTING_POWER: u64 = 100;

/// What `up` started (written to `up.json`).
#[derive(Debug, Serialize, Deserialize)]
pub struct UpDescription {
    /// REST API base URL.
    pub api_url: String,
    /// Admin API key.
    pub admin_key: String,
    /// Health service URL.
    pub health_url: String,
    /// Address whose signature keepers accept on tasks.
    pub dispatcher: Address,
    /// P2P addresses a keeper joins the network through (the dispatcher's node).
    #[serde(default)]
    pub p2p_bootstrap: Vec<String>,
    /// The chains and their contracts.
    pub chains: Vec<ChainDeployment>,
    /// The keepers.
    pub keepers: Vec<UpKeeper>,
}

/// One local keeper.
#[derive(Debug, Serialize, Deserialize)]
pub struct UpKeeper {
    /// Controller (registered) address.
    pub address: Address,
    /// Consensus address.
    pub consensus_address: Address,
    /// libp2p peer id.
    pub peer_id: String,
}

impl UpDescription {
    /// What the `triggerx up` running with `data_dir` started.
    pub fn read(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(UP_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {} (is `triggerx up` running with this --data-dir?)", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

fn step(bar: &ProgressBar, message: &str) {
    bar.set_message(message.to_string());
}

/// Runs everything until Ctrl-C.
pub async fn run(data_dir: &Path, database_url: Option<&str>, args: UpArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.block_time >= 0.0 && args.block_time.is_finite(),
        "--block-time must be 0 or a positive number of seconds"
    );
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));

    step(&bar, "starting L1 and L2 and deploying the contracts");
    let devnet = Devnet::start(&DevnetOptions {
        block_time: (args.block_time > 0.0).then_some(args.block_time),
        l1_port: None,
        l2_port: None,
    })
    .await
    .context("starting the devnet")?;
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    devnet.deployment.write(&data_dir.join(DEVNET_FILE))?;
    let deployment = devnet.deployment.clone();
    let l1 = deployment.chain(ChainRole::L1)?.clone();
    let accounts = deployment.accounts.clone();
    anyhow::ensure!(accounts.len() > usize::from(args.keepers), "not enough dev accounts for {} keepers", args.keepers);

    step(&bar, "opening the store");
    let store = open_store(data_dir, database_url).await?;
    let admin_key = match ensure_admin_key(&store, data_dir).await? {
        AdminKey::Created(key, _) => key,
        AdminKey::Existing(path) => {
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?.trim().to_string()
        }
        AdminKey::ManagedElsewhere => {
            let created = store.create_api_key(None, true, Some(triggerx_store::DEFAULT_ADMIN_RATE_LIMIT)).await?;
            std::fs::write(data_dir.join(ADMIN_KEY_FILE), format!("{}\n", created.key))?;
            created.key
        }
    };

    step(&bar, "registering the keepers on L1");
    let keepers_accounts = &accounts[1..=usize::from(args.keepers)];
    let keys = keepers_accounts
        .iter()
        .map(|a| Ok(KeeperKeys::generate(Some(signer_from_key(&a.private_key)?))))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let registry_address = l1.address("KeeperRegistry")?;
    let operators = keepers_accounts.iter().map(|a| a.address).collect();
    whitelist_keepers(&l1.rpc_url, &accounts[0].private_key, registry_address, operators).await?;
    for key in &keys {
        register_keeper(
            &l1.rpc_url,
            &key.controller_hex(),
            registry_address,
            key.consensus.address(),
            key.bls.public_key(),
            U256::from(LOCAL_VOTING_POWER),
        )
        .await?;
    }

    step(&bar, "syncing the keeper set (registrar)");
    let hubs = deployment
        .chains
        .iter()
        .map(|c| Ok(HubTarget { rpc_url: c.rpc_url.clone(), hub: c.address("TaskExecutionHub")? }))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let registrar = Arc::new(
        Registrar::new(
            store.clone(),
            RegistrarConfig {
                l1_rpc_url: l1.rpc_url.clone(),
                keeper_registry: registry_address,
                hubs,
                admin_key: accounts[0].private_key.clone(),
                confirmations: 0,
                start_block: None,
                poll_interval: Duration::from_secs(1),
            },
        )
        .await?,
    );
    while registrar.step().await?.scanned_to.is_some() {}
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let registrar_task = {
        let (registrar, stopped) = (registrar.clone(), stopped.clone());
        tokio::spawn(async move {
            if let Err(e) = registrar.run(stopped).await {
                tracing::error!(error = %e, "registrar stopped");
            }
        })
    };

    step(&bar, "starting health, dispatcher and keepers");
    let health =
        triggerx_health::spawn(store.clone(), HealthConfig { listen: args.health_listen, ..Default::default() })
            .await?;
    let health_url = format!("http://{}", health.address);
    let dispatcher_key = dispatcher_key::load_or_create(&data_dir.join(dispatcher_key::DISPATCHER_KEY_FILE))?;
    for chain in &deployment.chains {
        let hub = chain.address("TaskExecutionHub")?;
        trust_dispatcher(&chain.rpc_url, &accounts[0].private_key, hub, dispatcher_key.address())
            .await
            .with_context(|| format!("trusting the dispatcher on chain {}", chain.chain_id))?;
    }
    // The dispatcher's P2P node is also the network's bootstrap peer; without a dispatcher here a
    // node of its own is (external dispatchers and keepers join through it).
    let bootstrap_key = if args.no_dispatcher { PrivateKeySigner::random() } else { dispatcher_key.clone() };
    let (p2p_node, reports) = P2pNode::start(P2pConfig::default(), bootstrap_key).await?;
    let p2p_node = Arc::new(p2p_node);
    let bootstrap = p2p_node.listen_addrs.clone();
    // Automine makes a block only per transaction: a log would wait for the next one.
    let confirmations = if args.block_time > 0.0 { 1 } else { 0 };
    let dispatcher_chains = deployment
        .chains
        .iter()
        .map(|c| {
            Ok(DispatcherChain {
                chain_id: c.chain_id,
                rpc_url: c.rpc_url.clone(),
                hub: c.address("TaskExecutionHub")?,
                confirmations,
                poll_interval: Duration::from_millis(250),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let dispatcher_config = DispatcherConfig {
        name: "up-dispatcher".into(),
        deadline: Duration::from_secs(args.deadline_secs),
        ..Default::default()
    };
    let (queue, source, schedulers) = match &args.redis_url {
        None => {
            let (queue, requests) = triggerx_queue::in_process();
            let schedulers = triggers::spawn(&store, &queue, &deployment.chains, confirmations, &stopped);
            (queue, RequestSource::InProcess(requests), tokio::spawn(schedulers.join()))
        }
        Some(url) => {
            let config = RedisQueueConfig { stream: args.redis_stream.clone(), ..RedisQueueConfig::new(url) };
            let queue = redis_sender(&config, Arc::new(store.clone()))
                .await
                .with_context(|| format!("connecting to redis at {}", redact(url)))?;
            let schedulers = if args.no_schedulers {
                tokio::spawn(async {})
            } else {
                let lease = LeaseSettings { holder: format!("up-{}", std::process::id()), ttl: Duration::from_secs(5) };
                let (store, queue, chains, stopped) =
                    (store.clone(), queue.clone(), deployment.chains.clone(), stopped.clone());
                tokio::spawn(async move { run_leased(&store, &queue, &chains, confirmations, &lease, stopped).await })
            };
            (queue, RequestSource::Redis(config), schedulers)
        }
    };
    let dispatcher = if args.no_dispatcher {
        None
    } else {
        let service = triggerx_dispatcher::spawn(
            store.clone(),
            dispatcher_key.clone(),
            p2p_node.clone(),
            reports,
            dispatcher_config,
            dispatcher_chains,
            source,
        )
        .await?;
        Some(service)
    };
    let chains: Vec<ChainContracts> =
        deployment.chains.iter().map(ChainContracts::from_deployment).collect::<Result<_, _>>()?;
    let mut keepers = Vec::new();
    for key in &keys {
        let node = KeeperNode::start(KeeperConfig {
            controller_key: key.controller_hex(),
            consensus_key: key.consensus_hex(),
            dispatcher: dispatcher_key.address(),
            chains: chains.clone(),
            p2p: P2pConfig {
                bootstrap: bootstrap.clone(),
                identity_seed: Some(key.p2p_identity_seed()),
                ..Default::default()
            },
            health_url: Some(health_url.clone()),
            checkin_interval: Duration::from_secs(30),
        })
        .await?;
        keepers.push(node);
    }
    let waiting = Instant::now();
    while store.performers().await?.len() < keepers.len() {
        anyhow::ensure!(waiting.elapsed() < Duration::from_secs(60), "keepers did not come online within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    step(&bar, "starting the API");
    let api = triggerx_api::spawn(
        store.clone(),
        ApiConfig {
            listen: args.api_listen,
            redis_url: None,
            fees: FeeConfig::default(),
            chains: chains.clone(),
            task_queue: Some(queue),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("starting the API on {}: {e}", args.api_listen))?;
    bar.finish_and_clear();

    let description = UpDescription {
        api_url: format!("http://{}", api.address),
        admin_key,
        health_url,
        dispatcher: dispatcher_key.address(),
        p2p_bootstrap: bootstrap.iter().map(ToString::to_string).collect(),
        chains: deployment.chains.clone(),
        keepers: keepers
            .iter()
            .zip(&keys)
            .map(|(k, c)| UpKeeper {
                address: k.address,
                consensus_address: c.consensus.address(),
                peer_id: k.p2p.peer_id.to_string(),
            })
            .collect(),
    };
    let out = args.out.clone().unwrap_or_else(|| data_dir.join(UP_FILE));
    std::fs::write(&out, serde_json::to_string_pretty(&description)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    print_summary(&description, &out);
    if args.demo {
        let (store, stopped) = (store.clone(), stopped.clone());
        let (api_url, admin_key) = (description.api_url.clone(), description.admin_key.clone());
        let l2 = deployment.chain(ChainRole::L2)?.clone();
        let user = accounts.last().cloned().context("no dev account for the demo user")?;
        tokio::spawn(async move {
            if let Err(e) = demo::run(store, api_url, admin_key, l2, user, stopped).await {
                eprintln!("demo failed: {e:#}");
            }
        });
    }

    wait_for_stop().await?;
    eprintln!("stopping...");
    let _ = stop.send(true);
    let _ = registrar_task.await;
    let _ = schedulers.await;
    if let Some(dispatcher) = dispatcher {
        dispatcher.stop().await;
    }
    drop(keepers);
    drop(p2p_node);
    health.stop();
    api.stop().await?;
    devnet.stop().await;
    let _ = std::fs::remove_file(&out);
    eprintln!("stopped");
    Ok(())
}

fn print_summary(d: &UpDescription, out: &Path) {
    println!("TriggerX is up.");
    println!("  API        {}   (admin key {})", d.api_url, d.admin_key);
    println!("  OpenAPI    {}/api/openapi.json", d.api_url);
    println!("  health     {}/health", d.health_url);
    println!("  dispatcher {}", d.dispatcher);
    for chain in &d.chains {
        println!("  {:?} chain {} at {}", chain.role, chain.chain_id, chain.rpc_url);
        for (name, address) in &chain.contracts {
            println!("      {name:<20} {address}");
        }
    }
    for (i, k) in d.keepers.iter().enumerate() {
        println!("  keeper {}   {} (consensus {}, peer {})", i + 1, k.address, k.consensus_address, k.peer_id);
    }
    println!("Written to {}. Run a job now: triggerx task run --job ID. Ctrl-C stops everything.", out.display());
}
