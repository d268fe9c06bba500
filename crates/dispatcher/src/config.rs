//! Dispatcher settings: deadlines, attempts, fees, leases, and the chains it dispatches to.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use triggerx_chain::cost::DEFAULT_FIXED_FEE_WEI;

/// Most a job owner pays for one execution unless configured otherwise, wei (0.01 ETH).
pub const DEFAULT_MAX_FEE_WEI: u128 = 10_000_000_000_000_000;

/// Dispatcher tunables.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// This dispatcher's name in task leases (unique among the dispatchers sharing a store, stable
    /// across its restarts so it resumes its own tasks at once).
    pub name: String,
    /// How long a performer has to get its transaction mined: the assignment's on-chain deadline.
    pub deadline: Duration,
    /// Assignments per task before it fails.
    pub max_attempts: u32,
    /// A keeper whose assignment expired is skipped for this long.
    pub failure_cooldown: Duration,
    /// How often the watchdog looks for tasks that need a dispatcher.
    pub sweep_interval: Duration,
    /// Tasks the watchdog takes per sweep.
    pub sweep_batch: i64,
    /// A dispatcher keeps its tasks this long past their deadline (or past its last sweep); then any
    /// other dispatcher may take them over.
    pub lease_grace: Duration,
    /// A task row without an assignment this old is assigned by the watchdog.
    pub unassigned_after: Duration,
    /// Fee paid to the keeper on top of the gas, wei (signed into every assignment).
    pub keeper_fee_wei: U256,
    /// Most the owner pays for one execution, wei (signed into every assignment).
    pub max_fee_wei: U256,
    /// How jobs' scripts are fetched and run.
    pub scripts: crate::scripts::ScriptSettings,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            name: "dispatcher".into(),
            deadline: Duration::from_secs(30),
            max_attempts: 3,
            failure_cooldown: Duration::from_secs(300),
            sweep_interval: Duration::from_millis(250),
            sweep_batch: 200,
            lease_grace: Duration::from_secs(30),
            unassigned_after: Duration::from_secs(2),
            keeper_fee_wei: U256::from(DEFAULT_FIXED_FEE_WEI),
            max_fee_wei: U256::from(DEFAULT_MAX_FEE_WEI),
            scripts: crate::scripts::ScriptSettings::default(),
        }
    }
}

/// One chain the dispatcher assigns tasks on.
#[derive(Debug, Clone)]
pub struct DispatcherChain {
    /// Chain id.
    pub chain_id: u64,
    /// RPC URLs, preferred first.
    pub rpc_urls: Vec<String>,
    /// Its `TaskExecutionHub`.
    pub hub: Address,
    /// Blocks an execution must be buried under before it counts.
    pub confirmations: u64,
    /// How often the chain is polled for executions.
    pub poll_interval: Duration,
}

impl DispatcherChain {
    /// One deployed chain, executions counted after `confirmations` blocks and polled every
    /// `poll_interval`.
    pub fn for_chain(
        chain: &triggerx_chain::deploy::ChainDeployment,
        confirmations: u64,
        poll_interval: Duration,
    ) -> DispatcherChain {
        DispatcherChain {
            chain_id: chain.chain_id,
            rpc_urls: chain.rpc_urls(),
            hub: chain.contracts.hub,
            confirmations,
            poll_interval,
        }
    }

    /// Every chain of a deployment, as [`DispatcherChain::for_chain`] makes them.
    pub fn from_deployment(
        deployment: &triggerx_chain::deployment::Deployment,
        confirmations: u64,
        poll_interval: Duration,
    ) -> Vec<DispatcherChain> {
        deployment.chains.iter().map(|c| DispatcherChain::for_chain(c, confirmations, poll_interval)).collect()
    }
}
