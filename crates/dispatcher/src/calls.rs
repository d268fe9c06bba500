//! The call a job makes, encoded once per job version: the ABI is parsed and the arguments converted
//! when a job is first dispatched (or changed), not for every task.

use std::collections::HashMap;
use std::sync::Mutex;

use alloy::primitives::{Address, Bytes};
use triggerx_core::ids::JobId;
use triggerx_core::job::{ArgType, Job};
use triggerx_core::target_call::encode_target_call;
use triggerx_core::time::UnixMillis;

/// Jobs whose encoded call is kept.
const CACHED_CALLS: usize = 10_000;

/// A job's encoded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCall {
    /// The chain it goes to.
    pub chain_id: u64,
    /// The contract called.
    pub target: Address,
    /// The calldata.
    pub calldata: Bytes,
    /// The arguments as converted for the ABI (shown on the task).
    pub converted_arguments: Vec<String>,
}

/// Encoded calls by job and version.
#[derive(Debug, Default)]
pub struct CallCache {
    calls: Mutex<HashMap<JobId, (UnixMillis, JobCall)>>,
}

impl CallCache {
    /// The call of `job` (encoded now if this version of the job was not seen yet), or why it cannot be
    /// made (shown as the task's error).
    pub fn call(&self, job: &Job) -> Result<JobCall, String> {
        let id = job.spec.job_id;
        if let Ok(calls) = self.calls.lock()
            && let Some((version, call)) = calls.get(&id)
            && *version == job.updated_at
        {
            return Ok(call.clone());
        }
        let call = encode(job)?;
        if let Ok(mut calls) = self.calls.lock() {
            if calls.len() >= CACHED_CALLS {
                calls.clear();
            }
            calls.insert(id, (job.updated_at, call.clone()));
        }
        Ok(call)
    }
}

fn encode(job: &Job) -> Result<JobCall, String> {
    let target = &job.spec.target;
    if target.arg_type == ArgType::Dynamic {
        return Err("dynamic_arguments: the call of a scripted job is decided by its script, not encoded".into());
    }
    let call = encode_target_call(target, &target.arguments)?;
    Ok(JobCall {
        chain_id: call.chain_id,
        target: call.contract,
        calldata: call.calldata.into(),
        converted_arguments: call.converted_arguments,
    })
}
