//! `triggerx up`: the whole keeper network in one process on this machine, composed from the
//! services: two anvil chains with the contracts, the store (SQLite in the data directory), the REST
//! API, the registrar, the health service, the trigger schedulers, the dispatcher, N keepers (each
//! registered on L1, synced to the hubs and the AttestationCenter, checking in, attesting each other's
//! executions) and the aggregator that settles their verdicts. Writes what it started to `up.json` (mode
//! 0600: it holds the admin key) in the data directory; Ctrl-C stops everything.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use triggerx_api::ApiConfig;
use triggerx_chain::deploy::ChainDeployment;
use triggerx_chain::deploy::ChainRole;
use triggerx_chain::hub::trust_dispatcher;
use triggerx_devnet::local_keepers::{register_local_keepers, start_local_keepers};
use triggerx_devnet::up_file::{UP_FILE, UpDescription, UpKeeper};
use triggerx_devnet::{Devnet, DevnetOptions};
use triggerx_dispatcher::{DispatcherChain, DispatcherConfig, RequestSource};
use triggerx_health::HealthConfig;
use triggerx_p2p::{P2pConfig, P2pNode};
use triggerx_queue::{RedisQueueConfig, redis_sender};
use triggerx_registrar::RegistrarConfig;
use triggerx_scheduler::{LeaseSettings, SchedulerConfig};

use crate::cli::UpArgs;
use crate::commands::api::{ADMIN_KEY_FILE, AdminKey, ensure_admin_key};
use crate::commands::devnet::{DEVNET_FILE, wait_for_stop};
use crate::commands::secret_file::write_private;
use crate::commands::{dispatcher_key, open_store, redact};

/// The dev account that pays for the aggregator's settlements.
const AGGREGATOR_ACCOUNT: usize = 8;

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
    let accounts = deployment.accounts.clone();
    anyhow::ensure!(
        accounts.len() > AGGREGATOR_ACCOUNT + 1 && usize::from(args.keepers) < AGGREGATOR_ACCOUNT,
        "not enough dev accounts for {} keepers and the aggregator",
        args.keepers
    );

    step(&bar, "opening the store");
    let store = open_store(data_dir, database_url).await?;
    let admin_key = match ensure_admin_key(&store, data_dir).await? {
        AdminKey::Created(key, _) => key,
        AdminKey::Existing(path) => {
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?.trim().to_string()
        }
        AdminKey::ManagedElsewhere => {
            let created = store.create_api_key(None, true, Some(triggerx_store::DEFAULT_ADMIN_RATE_LIMIT)).await?;
            write_private(&data_dir.join(ADMIN_KEY_FILE), &format!("{}\n", created.key))?;
            created.key
        }
    };

    step(&bar, "registering the keepers on L1");
    let keys = register_local_keepers(&deployment, usize::from(args.keepers)).await?;

    step(&bar, "syncing the keeper set (registrar)");
    let registrar_config = RegistrarConfig::for_deployment(&deployment, &accounts[0].private_key, 0)?;
    let registrar = triggerx_registrar::spawn(store.clone(), registrar_config).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);

    step(&bar, "starting health, dispatcher and keepers");
    let health =
        triggerx_health::spawn(store.clone(), HealthConfig { listen: args.health_listen, ..Default::default() })
            .await?;
    let health_url = format!("http://{}", health.address);
    let dispatcher_key = dispatcher_key::load_or_create(&data_dir.join(dispatcher_key::DISPATCHER_KEY_FILE))?;
    for chain in &deployment.chains {
        let hub = chain.contracts.hub;
        trust_dispatcher(&chain.rpc_url, &accounts[0].private_key, hub, dispatcher_key.address())
            .await
            .with_context(|| format!("trusting the dispatcher on chain {}", chain.chain_id))?;
    }
    // The dispatcher's P2P node is also the network's bootstrap peer; without a dispatcher here a
    // node of its own is (external dispatchers and keepers join through it).
    let bootstrap_key = if args.no_dispatcher { PrivateKeySigner::random() } else { dispatcher_key.clone() };
    let p2p_config = P2pConfig::default().accepting_tasks_from(vec![dispatcher_key.address()]);
    let (p2p_node, reports) = P2pNode::start(p2p_config, bootstrap_key).await?;
    let p2p_node = Arc::new(p2p_node);
    let bootstrap = p2p_node.listen_addrs.clone();
    // Automine makes a block only per transaction: a log would wait for the next one.
    let confirmations = if args.block_time > 0.0 { 1 } else { 0 };
    let dispatcher_chains = DispatcherChain::from_deployment(&deployment, confirmations, Duration::from_millis(250));
    let dispatcher_config = DispatcherConfig {
        name: "up-dispatcher".into(),
        deadline: Duration::from_secs(args.deadline_secs),
        scripts: triggerx_dispatcher::ScriptSettings {
            sources: local_scripts(&args.ipfs_gateway),
            fetch_policy: triggerx_scheduler::AddressPolicy::with_loopback(),
            ..Default::default()
        },
        ..Default::default()
    };
    let (queue, source, lease) = match &args.redis_url {
        None => {
            let (queue, requests) = triggerx_queue::in_process();
            (queue, RequestSource::InProcess(requests), None)
        }
        Some(url) => {
            let config = RedisQueueConfig { stream: args.redis_stream.clone(), ..RedisQueueConfig::new(url) };
            let queue = redis_sender(&config, Arc::new(store.clone()))
                .await
                .with_context(|| format!("connecting to redis at {}", redact(url)))?;
            // Other `triggerx scheduler` processes may share the work: take turns through the lease.
            let lease = LeaseSettings { holder: format!("up-{}", std::process::id()), ttl: Duration::from_secs(5) };
            (queue, RequestSource::Redis(config), Some(lease))
        }
    };
    let schedulers = (!args.no_schedulers).then(|| {
        // The demo serves its price on 127.0.0.1, so `up` (a local network) lets sources reach loopback.
        let outbound = triggerx_scheduler::AddressPolicy::with_loopback();
        let config = SchedulerConfig { chains: deployment.chains.clone(), confirmations, lease, outbound };
        triggerx_scheduler::spawn(store.clone(), queue.clone(), config)
    });
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
    let keepers = start_local_keepers(&keys, &deployment, dispatcher_key.address(), &bootstrap, &health_url).await?;
    // The aggregator pays for settlements from a dev account of its own (keepers use 1..=7, the demo
    // user the last one): no other service sends with its key.
    let aggregator = triggerx_aggregator::spawn(triggerx_aggregator::AggregatorConfig {
        submitter_key: accounts[AGGREGATOR_ACCOUNT].private_key.clone(),
        dispatcher: dispatcher_key.address(),
        center_chain: deployment.chain(ChainRole::L2)?.clone(),
        l1: deployment.chain(ChainRole::L1)?.clone(),
        from_block: 0,
        p2p: P2pConfig { bootstrap: bootstrap.clone(), ..Default::default() },
        refresh: Duration::from_secs(10),
    })
    .await
    .context("starting the aggregator")?;
    let chains: Vec<ChainDeployment> = deployment.chains.clone();
    let waiting = Instant::now();
    while store.performers().await?.len() < keepers.len() {
        anyhow::ensure!(waiting.elapsed() < Duration::from_secs(60), "keepers did not come online within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    step(&bar, "starting the API");
    let api = triggerx_api::spawn(
        store.clone(),
        ApiConfig {
            chains: chains.clone(),
            task_queue: Some(queue),
            outbound: triggerx_scheduler::AddressPolicy::with_loopback(),
            scripts: local_scripts(&args.ipfs_gateway),
            ..ApiConfig::on(args.api_listen)
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
    // It holds the admin key: readable by the owner only.
    write_private(&out, &(serde_json::to_string_pretty(&description)? + "\n"))?;
    println!("{}", description.summary(&out));
    if args.demo {
        let (store, stopped) = (store.clone(), stopped.clone());
        let (api_url, admin_key) = (description.api_url.clone(), description.admin_key.clone());
        let l2 = deployment.chain(ChainRole::L2)?.clone();
        let user = accounts.last().cloned().context("no dev account for the demo user")?;
        tokio::spawn(async move {
            if let Err(e) = triggerx_devnet::demo::run(store, api_url, admin_key, l2, user, stopped).await {
                eprintln!("demo failed: {e:#}");
            }
        });
    }

    wait_for_stop().await?;
    eprintln!("stopping...");
    let _ = stop.send(true);
    registrar.stop().await;
    if let Some(schedulers) = schedulers {
        schedulers.stop().await;
    }
    if let Some(dispatcher) = dispatcher {
        dispatcher.stop().await;
    }
    drop(keepers);
    aggregator.stop().await;
    drop(p2p_node);
    health.stop();
    api.stop().await?;
    devnet.stop().await;
    let _ = std::fs::remove_file(&out);
    eprintln!("stopped");
    Ok(())
}

/// Where `up` reads job scripts: the gateway given, and loopback allowed (like its condition sources)
/// so scripts served on this machine work.
fn local_scripts(ipfs_gateway: &str) -> triggerx_script::SourceConfig {
    triggerx_script::SourceConfig {
        ipfs_gateway: ipfs_gateway.to_string(),
        policy: triggerx_scheduler::AddressPolicy::with_loopback(),
        ..Default::default()
    }
}
