//! `up.json`: what a running `triggerx up` started (API URL and admin key, health URL, the dispatcher
//! and the P2P addresses to join through, the chains and the keepers), for the CLI and for keepers that
//! join it; and the summary `up` prints.

use std::path::Path;

use alloy::primitives::Address;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use triggerx_chain::deploy::ChainDeployment;

/// Description file of a running `triggerx up` in the data directory.
pub const UP_FILE: &str = "up.json";

/// What `up` started.
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
    /// P2P addresses a keeper joins the network through.
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

    /// What `up` prints once everything runs (written to `out`).
    pub fn summary(&self, out: &Path) -> String {
        let mut lines = vec![
            "TriggerX is up.".to_string(),
            format!("  API        {}   (admin key in {})", self.api_url, out.display()),
            format!("  OpenAPI    {}/api/openapi.json", self.api_url),
            format!("  health     {}/health", self.health_url),
            format!("  dispatcher {}", self.dispatcher),
        ];
        for chain in &self.chains {
            lines.push(format!("  {:?} chain {} at {}", chain.role, chain.chain_id, chain.rpc_url));
            for (name, address) in chain.contracts.named() {
                lines.push(format!("      {name:<20} {address}"));
            }
        }
        for (i, k) in self.keepers.iter().enumerate() {
            lines.push(format!(
                "  keeper {}   {} (consensus {}, peer {})",
                i + 1,
                k.address,
                k.consensus_address,
                k.peer_id
            ));
        }
        lines.push(format!(
            "Written to {}. Run a job now: triggerx task run --job ID. Ctrl-C stops everything.",
            out.display()
        ));
        lines.join("\n")
    }
}
