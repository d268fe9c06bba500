//! The deployment file: the chains TriggerX runs on with their contracts, and (for local networks)
//! funded development accounts. Written by `triggerx devnet`, read by every service.

use std::path::Path;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use crate::ChainError;

/// File name of the deployment file in a data directory.
pub const DEVNET_FILE: &str = "devnet.json";
use crate::deploy::{ChainDeployment, ChainRole, deploy_chain};

/// A funded development account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DevAccount {
    /// Its address.
    pub address: Address,
    /// Its private key, 0x hex (development only).
    pub private_key: String,
}

/// The chains (and, for a local devnet, its funded accounts); written as the deployment file.
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

/// Deploys TriggerX to already running chains (`(role, rpc_url)` pairs) with `deployer_key`.
pub async fn deploy_existing(chains: &[(ChainRole, String)], deployer_key: &str) -> Result<Deployment, ChainError> {
    let mut deployed = Vec::new();
    for (role, url) in chains {
        deployed.push(deploy_chain(url, deployer_key, *role).await?);
    }
    crate::deploy::add_attestation_center(&mut deployed, deployer_key).await?;
    Ok(Deployment { chains: deployed, accounts: Vec::new() })
}
