//! TriggerX persistence: one `Store` over SQLite (the embedded default) or PostgreSQL, chosen by URL.
//!
//! Both backends run the same SQL (written with `$N` placeholders, which both accept) through sqlx's
//! `Any` driver; only the DDL differs, in `migrations/sqlite` and `migrations/postgres`, applied at start.

mod apikeys;
mod checkpoints;
mod connect;
mod dispatch;
mod error;
mod job_rows;
mod jobs;
mod keepers;
mod leases;
mod liveness;
mod outcomes;
pub use keepers::check_email;
pub use liveness::{CheckinOutcome, CheckinRecord, OfflineKeeper};
mod rows;
mod schedules;
mod scripts;
mod tasks;
mod users;

pub use apikeys::{API_KEY_PREFIX, DEFAULT_ADMIN_RATE_LIMIT, hash_api_key};
pub use connect::{Backend, Store};
pub use dispatch::{ChainExecution, NewAssignment};
pub use error::StoreError;
pub use jobs::CreatedJobs;
pub use outcomes::{ATTESTER_POINTS, PERFORMER_POINTS, TaskSettlement};
pub use schedules::{NextOccurrence, TimeSchedule};
pub use scripts::{MAX_SECRETS, MAX_STORAGE_KEYS, MAX_STORAGE_VALUE_BYTES, check_storage_updates};
pub use tasks::NewTask;
