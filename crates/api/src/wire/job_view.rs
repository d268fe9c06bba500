//! The job as the API answers it: the response shape of the original dbserver (`job_data` plus one
//! `*_job_data` per trigger kind).

use serde::Serialize;
use triggerx_core::condition::{ConditionType, ValueSourceType};
use triggerx_core::ids::{JobId, TaskDefinitionId};
use triggerx_core::job::{ConditionState, Job, JobStatus, OracleCall, Trigger};
use triggerx_core::numbers::Decimal;
use triggerx_core::schedule::ScheduleType;
use triggerx_core::time::{UnixMillis, rfc3339};

/// `job_data` of the response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobDataView {
    pub job_id: JobId,
    pub job_title: String,
    pub task_definition_id: TaskDefinitionId,
    pub user_id: i64,
    pub user_address: String,
    pub link_job_id: Option<JobId>,
    pub chain_status: i64,
    pub custom: bool,
    pub time_frame: i64,
    pub recurring: bool,
    pub status: JobStatus,
    pub job_cost_prediction: Decimal,
    pub timezone: String,
    pub is_imua: bool,
    pub is_safe: bool,
    pub safe_name: String,
    pub safe_address: String,
    pub language: String,
    pub created_chain_id: String,
    #[serde(serialize_with = "rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UnixMillis,
    #[serde(serialize_with = "rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: UnixMillis,
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_executed_at: Option<UnixMillis>,
    #[serde(serialize_with = "rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub expiration_time: UnixMillis,
}

/// Target fields repeated in each trigger view, as the original did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TargetView {
    pub target_chain_id: String,
    pub target_contract_address: String,
    pub target_function: String,
    pub abi: String,
    pub arg_type: i64,
    pub arguments: Vec<String>,
    pub dynamic_arguments_script_url: String,
    /// keccak256 of the script pinned at creation.
    pub script_hash: String,
    /// Hosts the script may fetch from.
    pub script_allowed_hosts: Vec<String>,
}

/// `time_job_data` of the response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimeJobView {
    pub job_id: JobId,
    pub task_definition_id: TaskDefinitionId,
    pub schedule_type: ScheduleType,
    pub time_interval: i64,
    pub cron_expression: String,
    pub specific_schedule: String,
    pub timezone: String,
    #[serde(serialize_with = "rfc3339::option::serialize")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_execution_timestamp: Option<UnixMillis>,
    #[serde(serialize_with = "rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub expiration_time: UnixMillis,
    pub recurring: bool,
    pub is_active: bool,
    #[serde(flatten)]
    pub target: TargetView,
}

/// `event_job_data` of the response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventJobView {
    pub job_id: JobId,
    pub task_definition_id: TaskDefinitionId,
    pub trigger_chain_id: String,
    pub trigger_contract_address: String,
    pub trigger_event: String,
    pub topic0: String,
    pub event_filter_para_name: String,
    pub event_filter_value: String,
    pub event_filter: String,
    #[serde(serialize_with = "rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub expiration_time: UnixMillis,
    pub recurring: bool,
    pub is_active: bool,
    #[serde(flatten)]
    pub target: TargetView,
}

/// `condition_job_data` of the response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConditionJobView {
    pub job_id: JobId,
    pub task_definition_id: TaskDefinitionId,
    pub condition_type: ConditionType,
    pub upper_limit: Option<Decimal>,
    pub lower_limit: Option<Decimal>,
    pub value_source_type: ValueSourceType,
    pub value_source_url: String,
    pub selected_key_route: String,
    /// Seconds between reads of the value.
    pub poll_interval: f64,
    /// Seconds between two firings at least.
    pub cooldown: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oracle: Option<OracleCall>,
    /// What the scheduler last saw (value, failures) and how often the job fired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ConditionState>,
    #[serde(serialize_with = "rfc3339::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub expiration_time: UnixMillis,
    pub recurring: bool,
    pub is_active: bool,
    #[serde(flatten)]
    pub target: TargetView,
}

/// One job in API responses.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub job_data: JobDataView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_job_data: Option<TimeJobView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_job_data: Option<EventJobView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition_job_data: Option<ConditionJobView>,
}

impl From<&Job> for JobView {
    /// The response shape of the original dbserver.
    fn from(job: &Job) -> JobView {
        let s = &job.spec;
        let target = TargetView {
            target_chain_id: s.target.chain_id.clone(),
            target_contract_address: s.target.contract_address.clone(),
            target_function: s.target.function.clone(),
            abi: s.target.abi.clone(),
            arg_type: s.target.arg_type.number(),
            arguments: s.target.arguments.clone(),
            dynamic_arguments_script_url: s.target.dynamic_arguments_script_url.clone(),
            script_hash: s.target.script_hash.clone(),
            script_allowed_hosts: s.target.script_allowed_hosts.clone(),
        };
        let is_active = job.status.is_schedulable();
        let mut view = JobView {
            job_data: JobDataView {
                job_id: s.job_id,
                job_title: s.job_title.clone(),
                task_definition_id: s.task_definition_id,
                user_id: job.user_id,
                user_address: s.user_address.clone(),
                link_job_id: job.link_job_id,
                chain_status: job.chain_status,
                custom: s.custom,
                time_frame: s.time_frame,
                recurring: s.recurring,
                status: job.status,
                job_cost_prediction: s.job_cost_prediction.clone(),
                timezone: s.timezone.clone(),
                is_imua: s.is_imua,
                is_safe: s.is_safe,
                safe_name: s.safe_name.clone(),
                safe_address: s.safe_address.clone(),
                language: s.language.clone(),
                created_chain_id: s.created_chain_id.clone(),
                created_at: job.created_at,
                updated_at: job.updated_at,
                last_executed_at: job.last_executed_at,
                expiration_time: s.expiration_time,
            },
            time_job_data: None,
            event_job_data: None,
            condition_job_data: None,
        };
        match &s.trigger {
            Trigger::Time(t) => {
                view.time_job_data = Some(TimeJobView {
                    job_id: s.job_id,
                    task_definition_id: s.task_definition_id,
                    schedule_type: t.schedule_type,
                    time_interval: t.time_interval,
                    cron_expression: t.cron_expression.clone(),
                    specific_schedule: t.specific_schedule.clone(),
                    timezone: s.timezone.clone(),
                    next_execution_timestamp: t.next_execution_timestamp,
                    expiration_time: s.expiration_time,
                    recurring: s.recurring,
                    is_active,
                    target,
                })
            }
            Trigger::Event(e) => {
                view.event_job_data = Some(EventJobView {
                    job_id: s.job_id,
                    task_definition_id: s.task_definition_id,
                    trigger_chain_id: e.trigger_chain_id.clone(),
                    trigger_contract_address: e.trigger_contract_address.clone(),
                    trigger_event: e.trigger_event.clone(),
                    topic0: e.topic0.clone(),
                    event_filter_para_name: e.event_filter_para_name.clone(),
                    event_filter_value: e.event_filter_value.clone(),
                    event_filter: e.event_filter.clone(),
                    expiration_time: s.expiration_time,
                    recurring: s.recurring,
                    is_active,
                    target,
                })
            }
            Trigger::Condition(c) => {
                view.condition_job_data = Some(ConditionJobView {
                    job_id: s.job_id,
                    task_definition_id: s.task_definition_id,
                    condition_type: c.condition_type,
                    upper_limit: c.upper_limit.clone(),
                    lower_limit: c.lower_limit.clone(),
                    value_source_type: c.value_source_type,
                    value_source_url: c.value_source_url.clone(),
                    selected_key_route: c.selected_key_route.clone(),
                    poll_interval: c.poll_interval_ms as f64 / 1000.0,
                    cooldown: c.cooldown_ms as f64 / 1000.0,
                    oracle: c.oracle.clone(),
                    state: job.condition_state.clone(),
                    expiration_time: s.expiration_time,
                    recurring: s.recurring,
                    is_active,
                    target,
                })
            }
        }
        view
    }
}
