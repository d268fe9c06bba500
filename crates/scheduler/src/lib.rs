//! The trigger scheduler service: time, event and condition triggers turn jobs into task requests on
//! the task queue (the dispatcher, its own crate, takes them from there), under a lease when several
//! scheduler processes share a store ([`supervisor`]).

pub mod condition_sources;
pub mod condition_triggers;
pub mod event_triggers;
pub mod listener_index;
pub mod supervisor;
pub mod time_triggers;
pub mod timers;

pub use condition_sources::FetchLimits;
pub use condition_triggers::{ConditionTriggerConfig, ConditionTriggerError, ConditionTriggerStats, ConditionTriggers};
pub use event_triggers::{EventChain, EventTriggerConfig, EventTriggerError, EventTriggerStats, EventTriggers};
pub use supervisor::{LeaseSettings, SchedulerConfig, SchedulerHandle, TRIGGERS_LEASE, spawn};
pub use time_triggers::{MissedPolicy, TimeTriggerConfig, TimeTriggerError, TimeTriggerStats, TimeTriggers};
pub use triggerx_http::{AddressPolicy, IpNet};
