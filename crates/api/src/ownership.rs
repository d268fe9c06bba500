//! Job ownership on-chain: a job posted to the API must be in the `JobRegistry` of the chain it was
//! created on (`created_chain_id`, else `target_chain_id`) and of the chain it runs on (whose hub charges
//! the registry's owner), with `user_address` as its owner. A chain this server does not serve is a 400
//! naming the field, never a skipped check; a server that serves no chain takes jobs from admin keys only.

use alloy::primitives::{Address, U256};
use alloy::providers::DynProvider;
use triggerx_chain::ChainError;
use triggerx_chain::bindings::JobRegistry;
use triggerx_chain::deploy::ChainDeployment;
use triggerx_core::apikey::Role;
use triggerx_core::job::NewJob;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::fees::ChainAccess;

impl ChainAccess {
    /// Checks every job of a creation request against the registries of its chains.
    pub async fn check_job_owners(&self, caller: &Caller, jobs: &[NewJob]) -> ApiResult<()> {
        for (index, (job, (created, target))) in jobs.iter().zip(self.chains_of_jobs(caller, jobs)?).enumerate() {
            let claimed: Address = job
                .user_address
                .parse()
                .map_err(|_| ApiError::bad("invalid_address", format!("[{index}].user_address"), "not an address"))?;
            check_owner(index, created, job, claimed).await?;
            if target.0 != created.0 {
                check_owner(index, target, job, claimed).await?;
            }
        }
        Ok(())
    }

    /// The chain each job was created on and the chain it runs on, both served here; a 400 naming the
    /// field otherwise. A server without chains cannot check owners: only admin keys pass.
    pub fn chains_of_jobs(
        &self,
        caller: &Caller,
        jobs: &[NewJob],
    ) -> ApiResult<Vec<(ServedChain<'_>, ServedChain<'_>)>> {
        if self.is_empty() {
            return match caller.role() {
                Role::Admin => Ok(Vec::new()),
                Role::Owner(_) => Err(ApiError::Forbidden(
                    "this server serves no chain, so it cannot check who owns a job on-chain: only an admin key \
                     may create jobs here"
                        .into(),
                )),
            };
        }
        let mut chains = Vec::with_capacity(jobs.len());
        for (index, job) in jobs.iter().enumerate() {
            let (created_text, created_field) = if job.created_chain_id.is_empty() {
                (&job.target.chain_id, "target_chain_id")
            } else {
                (&job.created_chain_id, "created_chain_id")
            };
            let created = self.chain_of(index, created_text, created_field)?;
            let target = self.chain_of(index, &job.target.chain_id, "target_chain_id")?;
            chains.push((created, target));
        }
        Ok(chains)
    }

    /// The served chain named by `[index].field`, or a 400 naming that field.
    fn chain_of(&self, index: usize, text: &str, field: &str) -> ApiResult<ServedChain<'_>> {
        let field = format!("[{index}].{field}");
        let chain_id = text
            .trim()
            .parse::<u64>()
            .map_err(|_| ApiError::bad("invalid_chain_id", field.clone(), format!("'{text}' is not a chain id")))?;
        Ok((chain_id, self.get(chain_id, &field)?))
    }
}

/// A chain id and the chain this server serves under it.
pub type ServedChain<'a> = (u64, &'a (ChainDeployment, DynProvider));

/// Refuses the job unless the `JobRegistry` of `chain` names `claimed` as its owner.
async fn check_owner(index: usize, chain: ServedChain<'_>, job: &NewJob, claimed: Address) -> ApiResult<()> {
    let (chain_id, (contracts, provider)) = chain;
    let registry = JobRegistry::new(contracts.contracts.job_registry, provider.clone());
    let job_id: U256 = job.job_id.0;
    let owner = match registry.getJobOwner(job_id).call().await {
        Ok(owner) => owner,
        Err(e) => match ChainError::from(e) {
            ChainError::Reverted { .. } => Address::ZERO,
            other => return Err(ApiError::Unavailable(format!("chain {chain_id}: {other}"))),
        },
    };
    if owner == Address::ZERO {
        return Err(ApiError::bad(
            "job_not_on_chain",
            format!("[{index}].job_id"),
            format!("job {} is not in the JobRegistry of chain {chain_id}; create it on-chain first", job.job_id),
        ));
    }
    if owner != claimed {
        return Err(ApiError::Forbidden(format!(
            "job {} on chain {chain_id} belongs to {owner:#x}, not {}",
            job.job_id, job.user_address
        )));
    }
    Ok(())
}
