//! Jobs as stored: common data, the call target, the trigger and the lifecycle status.

use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::condition::{ConditionType, ValueSourceType};
use crate::ids::{JobId, TaskDefinitionId};
use crate::numbers::Decimal;
use crate::schedule::{Schedule, ScheduleType, parse_specific, parse_timezone};
use crate::time::UnixMillis;

/// Lifecycle of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Created, waiting for its first trigger.
    Pending,
    /// Has run at least once and keeps running.
    Running,
    /// Stopped by its owner; resumes on request.
    Paused,
    /// Done: a one-shot job ran, or a chain finished.
    Completed,
    /// Its time frame ran out.
    Expired,
    /// Deleted by its owner; never scheduled again.
    Deleted,
}

impl JobStatus {
    /// Every status.
    pub const ALL: [JobStatus; 6] =
        [Self::Pending, Self::Running, Self::Paused, Self::Completed, Self::Expired, Self::Deleted];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Expired => "expired",
            Self::Deleted => "deleted",
        }
    }

    /// From the storage name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether schedulers should fire this job.
    pub fn is_schedulable(self) -> bool {
        matches!(self, Self::Pending | Self::Running)
    }

    /// Whether the status is final (no transition leaves it).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Expired | Self::Deleted)
    }
}

/// How a job takes its call arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArgType {
    /// 1: given in the job.
    Static,
    /// 2: computed by a script at execution time.
    Dynamic,
}

impl ArgType {
    /// The wire number.
    pub fn number(self) -> i64 {
        match self {
            Self::Static => 1,
            Self::Dynamic => 2,
        }
    }

    /// From the wire number.
    pub fn from_number(n: i64) -> Option<Self> {
        match n {
            1 => Some(Self::Static),
            2 => Some(Self::Dynamic),
            _ => None,
        }
    }
}

/// What a job calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Chain the call goes to.
    pub chain_id: String,
    /// Contract called (lower-case hex).
    pub contract_address: String,
    /// Function name or full signature.
    pub function: String,
    /// JSON ABI text containing the function.
    pub abi: String,
    /// Static or dynamic arguments.
    pub arg_type: ArgType,
    /// Static arguments as given (strings).
    pub arguments: Vec<String>,
    /// Script computing dynamic arguments (or, for custom script jobs, the whole call).
    pub dynamic_arguments_script_url: String,
    /// keccak256 of the script pinned at creation (`0x...`; empty for static jobs).
    pub script_hash: String,
    /// Hosts the script's `fetch` may reach (`host` or `host:port`).
    pub script_allowed_hosts: Vec<String>,
}

/// A time trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeTrigger {
    /// interval | cron | specific.
    pub schedule_type: ScheduleType,
    /// Seconds between runs (interval).
    pub time_interval: i64,
    /// Cron expression (cron).
    pub cron_expression: String,
    /// Instants (specific), as given.
    pub specific_schedule: String,
    /// Next occurrence (None when no more occurrences fall inside the time frame).
    pub next_execution_timestamp: Option<UnixMillis>,
}

impl TimeTrigger {
    /// The validated schedule and the time zone it is read in (`timezone` is the job's).
    pub fn schedule(&self, timezone: &str) -> Result<(Schedule, chrono_tz::Tz), FieldError> {
        let tz = parse_timezone(timezone, "timezone")?;
        let schedule = match self.schedule_type {
            ScheduleType::Interval => Schedule::interval(self.time_interval, "time_interval")?,
            ScheduleType::Cron => Schedule::cron(&self.cron_expression, "cron_expression")?,
            ScheduleType::Specific => {
                Schedule::Specific { instants: parse_specific(&self.specific_schedule, tz, "specific_schedule")? }
            }
        };
        Ok((schedule, tz))
    }
}

/// An event trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTrigger {
    /// Chain the event is watched on.
    pub trigger_chain_id: String,
    /// Contract emitting the event (lower-case hex).
    pub trigger_contract_address: String,
    /// Event signature or JSON ABI event.
    pub trigger_event: String,
    /// keccak256 of the canonical signature, 0x hex.
    pub topic0: String,
    /// Parameter the original single filter compares (empty: no filter).
    pub event_filter_para_name: String,
    /// Value the parameter must equal.
    pub event_filter_value: String,
    /// Filter expression (`crate::event_filter`); empty: none. Combined with the single filter by AND.
    pub event_filter: String,
}

/// A condition trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionTrigger {
    /// Comparison operator.
    pub condition_type: ConditionType,
    /// Upper limit, when the operator reads one.
    pub upper_limit: Option<Decimal>,
    /// Lower limit, when the operator reads one.
    pub lower_limit: Option<Decimal>,
    /// Where the value comes from.
    pub value_source_type: ValueSourceType,
    /// URL (or constant / contract reference) of the source.
    pub value_source_url: String,
    /// Dot path to the value in a JSON response (oracle: index of the output to read).
    pub selected_key_route: String,
    /// How often the value is read, milliseconds (default 1,000).
    pub poll_interval_ms: i64,
    /// Least time between two firings, milliseconds (0: none). A transition into true during the
    /// cool-down fires when it ends if the condition still holds then.
    pub cooldown_ms: i64,
    /// The view call of an `oracle` source (its contract is `value_source_url`).
    pub oracle: Option<OracleCall>,
}

/// Default poll interval of condition jobs.
pub const DEFAULT_POLL_INTERVAL_MS: i64 = 1_000;

/// An on-chain view call that yields a condition's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OracleCall {
    /// Chain the contract lives on.
    pub chain_id: String,
    /// Human-readable signature with outputs, e.g. `latestAnswer() returns (int256)`.
    pub function: String,
    /// Arguments as strings, converted by the parameter types.
    pub arguments: Vec<String>,
    /// The integer read is divided by 10^decimals.
    pub decimals: u8,
}

/// What the condition scheduler last saw and did for a job (reported on the job).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
pub struct ConditionState {
    /// The next observation of a true condition fires (false after a firing until it is seen false).
    pub armed: bool,
    /// Firings so far (the occurrence key of the n-th is `condition:<n>`).
    pub transitions: i64,
    /// When the last firing happened.
    pub last_fired_at: Option<UnixMillis>,
    /// The last value read.
    pub last_value: Option<Decimal>,
    /// When the value was last read (or the read failed).
    pub last_checked_at: Option<UnixMillis>,
    /// Why the last read failed (None when it succeeded).
    pub source_error: Option<String>,
    /// Reads failed in a row.
    pub source_failures: i64,
}

/// When a job fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Trigger {
    /// On a schedule.
    Time(TimeTrigger),
    /// On a log.
    Event(EventTrigger),
    /// On a value crossing limits.
    Condition(ConditionTrigger),
}

/// Everything a validated job creation carries (the store assigns user ids and timestamps).
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// On-chain job id.
    pub job_id: JobId,
    /// Owner (lower-case hex).
    pub user_address: String,
    /// Owner's gas balance as the client saw it.
    pub ether_balance: String,
    /// Owner's token balance as the client saw it.
    pub token_balance: String,
    /// Title.
    pub job_title: String,
    /// Task definition.
    pub task_definition_id: TaskDefinitionId,
    /// Custom script job.
    pub custom: bool,
    /// Seconds the job stays valid.
    pub time_frame: i64,
    /// Keeps firing after the first occurrence.
    pub recurring: bool,
    /// Cost prediction in ether.
    pub job_cost_prediction: Decimal,
    /// IANA time zone.
    pub timezone: String,
    /// Chain the job was registered on.
    pub created_chain_id: String,
    /// Imua flag of the original.
    pub is_imua: bool,
    /// Executed through a Safe wallet.
    pub is_safe: bool,
    /// Safe name.
    pub safe_name: String,
    /// Safe address (lower-case hex or empty).
    pub safe_address: String,
    /// Script language.
    pub language: String,
    /// Instant the time frame ends.
    pub expiration_time: UnixMillis,
    /// Call target.
    pub target: Target,
    /// Trigger.
    pub trigger: Trigger,
}

impl NewJob {
    /// How often the job may fire at most, in milliseconds: its interval, a cron schedule's shortest
    /// gap among its next occurrences, or a condition's poll interval; `None` for events and specific
    /// instants (their rate is not the owner's choice of period).
    pub fn period_ms(&self) -> Option<i64> {
        match &self.trigger {
            Trigger::Time(time) => match time.schedule(&self.timezone).ok()? {
                (Schedule::Interval { seconds }, _) => i64::try_from(seconds).ok().map(|s| s.saturating_mul(1000)),
                (schedule @ Schedule::Cron { .. }, tz) => {
                    // Gaps between occurrences only: from now to the first is not a period.
                    let mut at = schedule.next_after(chrono::Utc::now(), tz)?;
                    let mut shortest: Option<i64> = None;
                    for _ in 0..16 {
                        let Some(next) = schedule.next_after(at, tz) else { break };
                        let gap = (next - at).num_milliseconds();
                        shortest = Some(shortest.map_or(gap, |s| s.min(gap)));
                        at = next;
                    }
                    shortest
                }
                (Schedule::Specific { .. }, _) => None,
            },
            Trigger::Condition(condition) => Some(condition.poll_interval_ms),
            Trigger::Event(_) => None,
        }
    }
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// What was created.
    pub spec: NewJob,
    /// Owner's user id.
    pub user_id: i64,
    /// Next job in a chain.
    pub link_job_id: Option<JobId>,
    /// 0 none, 1 chain head, 2 chain member.
    pub chain_status: i64,
    /// Lifecycle status.
    pub status: JobStatus,
    /// Creation time.
    pub created_at: UnixMillis,
    /// Last change.
    pub updated_at: UnixMillis,
    /// Last execution.
    pub last_executed_at: Option<UnixMillis>,
    /// Condition jobs: what the scheduler last saw.
    pub condition_state: Option<ConditionState>,
}
