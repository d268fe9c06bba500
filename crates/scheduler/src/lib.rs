//! The trigger schedulers: they turn jobs into task requests (time, event and condition triggers) on
//! the task queue; the dispatcher (its own crate) takes them from there.

pub mod condition_sources;
pub mod condition_triggers;
pub mod event_triggers;
pub mod listener_index;
pub mod time_triggers;
pub mod timers;

pub use condition_sources::FetchLimits;
pub use condition_triggers::{ConditionTriggerConfig, ConditionTriggerError, ConditionTriggerStats, ConditionTriggers};
pub use event_triggers::{EventChain, EventTriggerConfig, EventTriggerError, EventTriggerStats, EventTriggers};
pub use time_triggers::{MissedPolicy, TimeTriggerConfig, TimeTriggerError, TimeTriggerStats, TimeTriggers};
