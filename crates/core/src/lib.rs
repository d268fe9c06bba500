//! TriggerX domain model: jobs, triggers, tasks, keepers, users, API keys and the rules that validate them.
//!
//! Nothing in this crate performs I/O. Every other crate depends on it; it depends on none of them.

pub mod abi_args;
pub mod address;
pub mod apikey;
pub mod assignment;
pub mod checkin;
pub mod checkpoint;
pub mod condition;
pub mod error;
pub mod event;
pub mod event_filter;
pub mod ids;
pub mod job;
pub mod job_evidence;
pub mod job_update;
pub mod keeper;
pub mod keeper_form;
pub mod ledger;
pub mod numbers;
pub mod paging;
pub mod redact;
pub mod schedule;
pub mod target_call;
pub mod task;
pub mod time;
pub mod user;
pub mod value_route;

pub use error::{CoreError, FieldError};
pub use ids::{ChainId, JobId, TaskDefinitionId};
