//! Scheduling. For now the dispatcher: turns a task request (job, occurrence) into a task row, assigns
//! it to a keeper and sees it through to a report or re-assignment. Triggers feed it in a later stage.

pub mod dispatcher;
pub mod rotation;

pub use dispatcher::{DispatchError, Dispatcher, DispatcherConfig, TaskRequest};
