//! What the API reads and writes on the wire: the job bodies clients post (parsed once, here, into
//! core's domain values) and the job as the API answers it.

pub mod job_input;
pub mod job_view;

pub use job_input::{CreateJobData, JobUpdate, validate_job_chain};
pub use job_view::JobView;
