//! Where TriggerX's contracts live on one chain: the RPC URL plus the hub, gas registry and job
//! registry addresses every service that acts on a chain needs.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

use crate::ChainError;
use crate::deploy::ChainDeployment;

/// One chain's endpoint and TriggerX contracts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainContracts {
    /// Chain id.
    pub chain_id: u64,
    /// RPC URL.
    pub rpc_url: String,
    /// `TaskExecutionHub`: executes calls for keepers and charges owners.
    pub hub: Address,
    /// `TriggerGasRegistry`: owners' gas balances.
    pub gas_registry: Address,
    /// `JobRegistry`: jobs and their owners.
    pub job_registry: Address,
}

impl ChainContracts {
    /// The contracts of a deployment (fails when one of the three is missing).
    pub fn from_deployment(chain: &ChainDeployment) -> Result<ChainContracts, ChainError> {
        Ok(ChainContracts {
            chain_id: chain.chain_id,
            rpc_url: chain.rpc_url.clone(),
            hub: chain.address("TaskExecutionHub")?,
            gas_registry: chain.address("TriggerGasRegistry")?,
            job_registry: chain.address("JobRegistry")?,
        })
    }
}
