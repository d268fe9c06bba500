//! `triggerx aggregator`: joins a running network (its `up.json`-style description) and settles each
//! task attempt on the AttestationCenter as soon as a quorum of attesters agrees.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use triggerx_aggregator::AggregatorConfig;
use triggerx_chain::deploy::ChainRole;
use triggerx_keeper::operator::JoinFile;
use triggerx_p2p::P2pConfig;

use crate::cli::AggregatorArgs;
use crate::commands::devnet::wait_for_stop;
use crate::commands::secret_file::read_secret;

/// Runs the aggregator until Ctrl-C.
pub async fn run(data_dir: &Path, args: AggregatorArgs) -> anyhow::Result<()> {
    let submitter_key = read_secret(args.submitter_key_file.as_deref(), "TRIGGERX_AGGREGATOR_KEY")?
        .context("no submitter key: pass --submitter-key-file or set TRIGGERX_AGGREGATOR_KEY")?;
    let path = args.join.clone().unwrap_or_else(|| data_dir.join(triggerx_devnet::up_file::UP_FILE));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (is `triggerx up` running? or pass --join)", path.display()))?;
    let network: JoinFile = serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    let center_chain = network
        .chains
        .iter()
        .find(|c| c.contracts.attestation_center.is_some())
        .with_context(|| format!("{} names no chain with an AttestationCenter", path.display()))?
        .clone();
    let l1 = network
        .chains
        .iter()
        .find(|c| c.role == ChainRole::L1)
        .with_context(|| format!("{} names no L1 chain", path.display()))?
        .clone();
    let bootstrap = network
        .p2p_bootstrap
        .iter()
        .map(|a| a.parse().with_context(|| format!("p2p bootstrap address '{a}'")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let listen = args.p2p_listen.parse().with_context(|| format!("--p2p-listen '{}'", args.p2p_listen))?;
    let node = triggerx_aggregator::spawn(AggregatorConfig {
        submitter_key,
        dispatcher: network.dispatcher,
        center_chain: center_chain.clone(),
        l1,
        from_block: args.from_block,
        p2p: P2pConfig { listen, bootstrap, ..Default::default() },
        refresh: Duration::from_secs(10),
    })
    .await
    .context("starting the aggregator")?;
    println!(
        "aggregator {} settling on AttestationCenter {} (chain {}); Ctrl-C stops it",
        node.submitter,
        center_chain.contracts.attestation_center.unwrap_or_default(),
        center_chain.chain_id
    );
    wait_for_stop().await?;
    node.stop().await;
    eprintln!("aggregator stopped");
    Ok(())
}
