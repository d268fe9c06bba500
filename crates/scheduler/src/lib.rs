//! Scheduling: the trigger schedulers that turn jobs into task requests (time, event and condition triggers), and the
//! dispatcher that turns a task request (job, occurrence) into a task row, assigns it to a keeper and
//! sees it through to a report or re-assignment.

pub mod condition_sources;
pub mod condition_triggers;
pub mod dispatcher;
pub mod event_triggers;
pub mod listener_index;
pub mod rotation;
pub mod time_triggers;
pub mod timers;

pub use condition_sources::FetchLimits;
pub use condition_triggers::{ConditionTriggerConfig, ConditionTriggerError, ConditionTriggerStats, ConditionTriggers};
pub use dispatcher::{DispatchError, Dispatcher, DispatcherConfig, TaskRequest};
pub use event_triggers::{EventChain, EventTriggerConfig, EventTriggerError, EventTriggerStats, EventTriggers};
pub use time_triggers::{MissedPolicy, TimeTriggerConfig, TimeTriggerError, TimeTriggerStats, TimeTriggers};
