//! Job owners' on-chain actions: registering a job in `JobRegistry` (returning its packed id) and
//! depositing gas in `TriggerGasRegistry`.

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolEvent;

use crate::ChainError;
use crate::bindings::{JobRegistry, TriggerGasRegistry};
use crate::deploy::wallet_provider;

/// What `JobRegistry.createJob` takes.
#[derive(Debug, Clone)]
pub struct JobRegistration {
    /// Job name.
    pub name: String,
    /// 1..7 (see the registry).
    pub job_type: u8,
    /// Seconds the job stays valid.
    pub time_frame: u64,
    /// Contract the job calls.
    pub target: Address,
    /// Type-specific data (`interval_job_data` for time jobs).
    pub data: Bytes,
}

impl JobRegistration {
    /// A job of `job_type` (1..7) calling `target` for `time_frame` seconds: time types (1, 2, 7)
    /// carry `interval` seconds (> 0; cron and specific schedules pass any positive number), the
    /// others whether they recur.
    pub fn of_type(name: &str, job_type: u8, target: Address, time_frame: u64, interval: u64, recurring: bool) -> Self {
        let data = match job_type {
            1 | 2 | 7 => interval_job_data(interval),
            _ => alloy::sol_types::SolValue::abi_encode(&recurring).into(),
        };
        JobRegistration { name: name.into(), job_type, time_frame, target, data }
    }

    /// This registration for a scripted job (types 2, 4, 6, 7): the registry wants the script's
    /// reference (its hash) as the data's second word.
    pub fn with_script(mut self, script: alloy::primitives::B256) -> Self {
        let mut data = self.data[..32.min(self.data.len())].to_vec();
        data.extend_from_slice(script.as_slice());
        self.data = data.into();
        self
    }

    /// A static time job calling `target` every `interval` seconds for `time_frame` seconds.
    pub fn interval(name: &str, target: Address, interval: u64, time_frame: u64) -> Self {
        Self::of_type(name, 1, target, time_frame, interval, true)
    }

    /// A static event job (type 3) calling `target` for `time_frame` seconds.
    pub fn event(name: &str, target: Address, recurring: bool, time_frame: u64) -> Self {
        Self::of_type(name, 3, target, time_frame, 0, recurring)
    }

    /// A static condition job (type 5) calling `target` for `time_frame` seconds.
    pub fn condition(name: &str, target: Address, recurring: bool, time_frame: u64) -> Self {
        Self::of_type(name, 5, target, time_frame, 0, recurring)
    }
}

/// Registers a job as the owner of `owner_key` and returns the id from `JobCreated`.
pub async fn register_job(
    rpc_url: &str,
    owner_key: &str,
    job_registry: Address,
    job: &JobRegistration,
) -> Result<U256, ChainError> {
    let registry = JobRegistry::new(job_registry, wallet_provider(rpc_url, owner_key)?);
    let receipt = registry
        .createJob(job.name.clone(), job.job_type, U256::from(job.time_frame), job.target, job.data.clone())
        .send()
        .await?
        .get_receipt()
        .await?;
    receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| JobRegistry::JobCreated::decode_log(&l.inner).ok())
        .map(|created| created.jobId)
        .ok_or_else(|| ChainError::Rpc("createJob emitted no JobCreated".into()))
}

/// The `data` of a time job: `abi.encode(uint256 interval)`.
pub fn interval_job_data(interval_seconds: u64) -> Bytes {
    alloy::sol_types::SolValue::abi_encode(&U256::from(interval_seconds)).into()
}

/// Deposits `amount` wei of gas for the owner of `owner_key`.
pub async fn deposit_gas(
    rpc_url: &str,
    owner_key: &str,
    gas_registry: Address,
    amount: U256,
) -> Result<(), ChainError> {
    let registry = TriggerGasRegistry::new(gas_registry, wallet_provider(rpc_url, owner_key)?);
    registry.depositETH(amount).value(amount).send().await?.get_receipt().await?;
    Ok(())
}
