//! What the dispatcher knows of one chain: its hub, how far the chain is settled (every execution up
//! to that time has been recorded, so a later-mined transaction can only carry a later timestamp and
//! the hub refuses an assignment past its deadline), and direct look-ups of one task's execution.

use std::sync::atomic::{AtomicU64, Ordering};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use triggerx_chain::ChainError;
use triggerx_chain::bindings::{JobRegistry, TaskExecutionHub, TriggerGasRegistry};
use triggerx_chain::hub::{HubExecution, decode_execution};

use crate::config::DispatcherChain;

/// Blocks searched back for one task's execution when the follower did not see it.
const EXECUTION_LOOKBACK_BLOCKS: u64 = 50_000;

/// One chain as the dispatcher sees it.
pub struct ChainView {
    /// Its settings.
    pub chain: DispatcherChain,
    provider: DynProvider,
    /// Unix seconds up to which every block's executions are recorded.
    settled: AtomicU64,
}

impl ChainView {
    /// A view of `chain` (no request is made yet).
    pub fn new(chain: DispatcherChain) -> Result<Self, ChainError> {
        let provider = triggerx_chain::provider::connect(&chain.rpc_urls)?;
        Ok(ChainView { chain, provider, settled: AtomicU64::new(0) })
    }

    /// The provider.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The hub.
    pub fn hub(&self) -> Address {
        self.chain.hub
    }

    /// Records that every execution up to `unix_secs` is known.
    pub fn advance(&self, unix_secs: u64) {
        self.settled.fetch_max(unix_secs, Ordering::Relaxed);
    }

    /// Whether the chain is settled past `deadline_secs`: an assignment with that deadline that has not
    /// executed by now never will.
    pub fn settled_past(&self, deadline_secs: u64) -> bool {
        self.settled.load(Ordering::Relaxed) > deadline_secs
    }

    /// Whether the hub marked on-chain task `id` executed.
    pub async fn is_executed(&self, id: U256) -> Result<bool, ChainError> {
        Ok(TaskExecutionHub::new(self.chain.hub, self.provider.clone()).isExecuted(id).call().await?)
    }

    /// The gas balance of the owner of job `job_id` in the hub's gas registry.
    pub async fn owner_balance(&self, job_id: U256) -> Result<U256, ChainError> {
        let hub = TaskExecutionHub::new(self.chain.hub, self.provider.clone());
        let (jobs_call, gas_call) = (hub.jobRegistry(), hub.gasRegistry());
        let (jobs, gas) = tokio::join!(jobs_call.call(), gas_call.call());
        let owner = JobRegistry::new(jobs?, self.provider.clone()).getJobOwner(job_id).call().await?;
        Ok(TriggerGasRegistry::new(gas?, self.provider.clone()).getBalance(owner).call().await?)
    }

    /// The hub's `FunctionExecuted` for on-chain task `id` in recent blocks, if any.
    pub async fn find_execution(&self, id: U256) -> Result<Option<HubExecution>, ChainError> {
        let head = self.provider.get_block_number().await?;
        let filter = Filter::new()
            .address(self.chain.hub)
            .event_signature(TaskExecutionHub::FunctionExecuted::SIGNATURE_HASH)
            .topic1(B256::from(id))
            .from_block(head.saturating_sub(EXECUTION_LOOKBACK_BLOCKS))
            .to_block(head);
        let logs = self.provider.get_logs(&filter).await?;
        Ok(logs.iter().find_map(decode_execution))
    }
}
