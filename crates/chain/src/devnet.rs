//! A local devnet: two anvil chains (L1 and L2) with TriggerX deployed, described by a deployment file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ChainError;
use crate::anvil::{AnvilInstance, AnvilOptions, DevAccount, spawn_anvil};
use crate::deploy::{ChainDeployment, ChainRole, deploy_chain};

/// Chain id of the devnet's L1.
pub const L1_CHAIN_ID: u64 = 31337;
/// Chain id of the devnet's L2.
pub const L2_CHAIN_ID: u64 = 31338;

/// What a devnet (or a deployment to existing chains) consists of; written as the deployment file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Deployment {
    /// The chains, L1 first.
    pub chains: Vec<ChainDeployment>,
    /// Funded development accounts (index 0 deployed the contracts and administers them).
    pub accounts: Vec<DevAccount>,
}

impl Deployment {
    /// The chain with `role`.
    pub fn chain(&self, role: ChainRole) -> Result<&ChainDeployment, ChainError> {
        self.chains.iter().find(|c| c.role == role).ok_or_else(|| ChainError::Invalid(format!("no {role:?} chain")))
    }

    /// Writes the deployment file.
    pub fn write(&self, path: &Path) -> Result<(), ChainError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|source| ChainError::Io { context: format!("creating {}", parent.display()), source })?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| ChainError::Invalid(e.to_string()))?;
        std::fs::write(path, text + "\n")
            .map_err(|source| ChainError::Io { context: format!("writing {}", path.display()), source })
    }

    /// Reads a deployment file.
    pub fn read(path: &Path) -> Result<Deployment, ChainError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ChainError::Io { context: format!("reading {}", path.display()), source })?;
        serde_json::from_str(&text).map_err(|e| ChainError::Invalid(format!("{}: {e}", path.display())))
    }
}

/// A running devnet: its chains stop when it is dropped.
#[derive(Debug)]
pub struct Devnet {
    /// What was deployed.
    pub deployment: Deployment,
    /// The L1 chain process.
    pub l1: AnvilInstance,
    /// The L2 chain process.
    pub l2: AnvilInstance,
}

/// Devnet options.
#[derive(Debug, Clone)]
pub struct DevnetOptions {
    /// Seconds between blocks; `None` mines on every transaction.
    pub block_time: Option<f64>,
    /// L1 port (`None`: a free one).
    pub l1_port: Option<u16>,
    /// L2 port (`None`: a free one).
    pub l2_port: Option<u16>,
}

impl Devnet {
    /// Starts both chains and deploys TriggerX on them.
    pub async fn start(options: &DevnetOptions) -> Result<Devnet, ChainError> {
        let l1 = spawn_anvil(&AnvilOptions {
            chain_id: L1_CHAIN_ID,
            port: options.l1_port,
            block_time: options.block_time,
            accounts: 10,
        })
        .await?;
        let l2 = spawn_anvil(&AnvilOptions {
            chain_id: L2_CHAIN_ID,
            port: options.l2_port,
            block_time: options.block_time,
            accounts: 10,
        })
        .await?;
        let deployer = l1
            .accounts
            .first()
            .ok_or_else(|| ChainError::Tool("anvil created no accounts".into()))?
            .private_key
            .clone();
        let (l1_deployment, l2_deployment) = tokio::try_join!(
            deploy_chain(&l1.rpc_url, &deployer, ChainRole::L1),
            deploy_chain(&l2.rpc_url, &deployer, ChainRole::L2)
        )?;
        let deployment = Deployment { chains: vec![l1_deployment, l2_deployment], accounts: l1.accounts.clone() };
        Ok(Devnet { deployment, l1, l2 })
    }

    /// Stops both chains.
    pub async fn stop(self) {
        self.l1.stop().await;
        self.l2.stop().await;
    }
}

/// Deploys TriggerX to already running chains (`(role, rpc_url)` pairs) with `deployer_key`.
pub async fn deploy_existing(chains: &[(ChainRole, String)], deployer_key: &str) -> Result<Deployment, ChainError> {
    let mut deployed = Vec::new();
    for (role, url) in chains {
        deployed.push(deploy_chain(url, deployer_key, *role).await?);
    }
    Ok(Deployment { chains: deployed, accounts: Vec::new() })
}
