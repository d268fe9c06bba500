//! A local devnet: two anvil chains (L1 and L2) with TriggerX deployed, described by a deployment file.

use triggerx_chain::ChainError;
use triggerx_chain::deploy::{ChainRole, add_attestation_center, deploy_chain};
use triggerx_chain::deployment::Deployment;

use crate::anvil::{AnvilInstance, AnvilOptions, spawn_anvil};

/// Chain id of the devnet's L1.
pub const L1_CHAIN_ID: u64 = 31337;
/// Chain id of the devnet's L2.
pub const L2_CHAIN_ID: u64 = 31338;

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
        let mut chains = vec![l1_deployment, l2_deployment];
        add_attestation_center(&mut chains, &deployer).await?;
        let deployment = Deployment { chains, accounts: l1.accounts.clone() };
        Ok(Devnet { deployment, l1, l2 })
    }

    /// Stops both chains.
    pub async fn stop(self) {
        self.l1.stop().await;
        self.l2.stop().await;
    }
}
