//! Job ownership on-chain: a job posted to the API must exist in the `JobRegistry` of its chain
//! (`created_chain_id`, else `target_chain_id`) with `user_address` as its owner, wherever this server
//! serves that chain, so nobody registers someone else's job.

use alloy::primitives::{Address, U256};
use triggerx_chain::ChainError;
use triggerx_chain::bindings::JobRegistry;
use triggerx_core::job::NewJob;

use crate::error::{ApiError, ApiResult};
use crate::fees::ChainAccess;

impl ChainAccess {
    /// Checks every job of a creation request against its chain's registry.
    pub async fn check_job_owners(&self, jobs: &[NewJob]) -> ApiResult<()> {
        for (index, job) in jobs.iter().enumerate() {
            let chain_text = if job.created_chain_id.is_empty() { &job.target.chain_id } else { &job.created_chain_id };
            let Ok(chain_id) = chain_text.parse::<u64>() else { continue };
            let Some((contracts, provider)) = self.served(chain_id) else { continue };
            let registry = JobRegistry::new(contracts.contracts.job_registry, provider.clone());
            let job_id: U256 = job.job_id.0;
            let owner = match registry.getJobOwner(job_id).call().await {
                Ok(owner) => owner,
                Err(e) => match ChainError::from(e) {
                    ChainError::Reverted { .. } => Address::ZERO,
                    other => return Err(ApiError::Unavailable(format!("chain {chain_id}: {other}"))),
                },
            };
            let claimed: Address = job
                .user_address
                .parse()
                .map_err(|_| ApiError::bad("invalid_address", format!("[{index}].user_address"), "not an address"))?;
            if owner == Address::ZERO {
                return Err(ApiError::bad(
                    "job_not_on_chain",
                    format!("[{index}].job_id"),
                    format!(
                        "job {} is not in the JobRegistry of chain {chain_id}; create it on-chain first",
                        job.job_id
                    ),
                ));
            }
            if owner != claimed {
                return Err(ApiError::Forbidden(format!(
                    "job {} on chain {chain_id} belongs to {owner:#x}, not {}",
                    job.job_id, job.user_address
                )));
            }
        }
        Ok(())
    }
}
