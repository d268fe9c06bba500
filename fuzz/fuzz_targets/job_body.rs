//! Fuzzes the job-creation body exactly as `POST /api/jobs` reads it: JSON into `CreateJobData`,
//! then the whole validation of the request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use triggerx_api::wire::{CreateJobData, validate_job_chain};

fuzz_target!(|data: &[u8]| {
    if let Ok(jobs) = serde_json::from_slice::<Vec<CreateJobData>>(data) {
        let _ = validate_job_chain(&jobs, chrono::Utc::now());
    }
});
