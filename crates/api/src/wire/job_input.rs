//! The job creation body the TriggerX SDK posts (`CreateJobData`), the job update body, and the one
//! place where both are validated into domain values.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use triggerx_core::FieldError;
use triggerx_core::abi_args::{convert_arguments, encode_call, find_function, parse_abi};
use triggerx_core::address::normalize_address;
use triggerx_core::condition::{
    ConditionType, MAX_ORACLE_DECIMALS, ValueSourceType, check_key_route, parse_oracle_function,
};
use triggerx_core::event::{filter_parameter_index, parse_event};
use triggerx_core::ids::{ChainId, JobId, TaskDefinitionId, TriggerKind};
use triggerx_core::job::{
    ArgType, ConditionTrigger, DEFAULT_POLL_INTERVAL_MS, EventTrigger, NewJob, OracleCall, Target, TimeTrigger, Trigger,
};
use triggerx_core::job_update::ValidatedUpdate;
use triggerx_core::numbers::{Decimal, Wei};
use triggerx_core::schedule::{Schedule, ScheduleType, parse_specific, parse_timezone};
use triggerx_core::time::UnixMillis;

/// Longest time frame a job may have, in seconds (100 years).
pub const MAX_TIME_FRAME_SECONDS: i64 = 100 * 365 * 24 * 3600;
/// Most jobs one creation request (a chain) may hold.
pub const MAX_JOBS_PER_REQUEST: usize = 100;
/// Longest title.
pub const MAX_TITLE_LEN: usize = 256;
/// Longest ABI text.
pub const MAX_ABI_LEN: usize = 256 * 1024;
/// Longest poll interval of a condition job, in seconds (one day).
pub const MAX_POLL_INTERVAL_SECONDS: i64 = 86_400;
/// Most static arguments.
pub const MAX_ARGUMENTS: usize = 64;

/// Accepts a JSON string or number and keeps its text (the SDK sends chain ids either way).
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!("expected a string or number, found {other}"))),
    }
}

/// One element of the `POST /api/jobs` array (field names of the SDK's CreateJobData).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CreateJobData {
    /// On-chain job id (uint256 as a decimal string).
    #[schema(value_type = String)]
    pub job_id: Option<JobId>,
    pub user_address: Option<String>,
    #[schema(value_type = String)]
    pub ether_balance: Wei,
    #[schema(value_type = String)]
    pub token_balance: Wei,
    pub job_title: String,
    pub task_definition_id: Option<i64>,
    pub custom: bool,
    pub time_frame: Option<i64>,
    pub recurring: bool,
    #[schema(value_type = Option<f64>)]
    pub job_cost_prediction: Option<Decimal>,
    pub timezone: String,
    #[serde(deserialize_with = "string_or_number")]
    #[schema(value_type = Option<String>)]
    pub created_chain_id: Option<String>,
    pub schedule_type: Option<String>,
    pub time_interval: Option<i64>,
    pub cron_expression: Option<String>,
    pub specific_schedule: Option<String>,
    #[serde(deserialize_with = "string_or_number")]
    #[schema(value_type = Option<String>)]
    pub trigger_chain_id: Option<String>,
    pub trigger_contract_address: Option<String>,
    pub trigger_event: Option<String>,
    pub event_filter_para_name: Option<String>,
    pub event_filter_value: Option<String>,
    /// Filter expression over the event's parameters, e.g. `value > 1000 && to == 0xabc...`.
    pub event_filter: Option<String>,
    pub condition_type: Option<String>,
    #[schema(value_type = Option<f64>)]
    pub upper_limit: Option<Decimal>,
    #[schema(value_type = Option<f64>)]
    pub lower_limit: Option<Decimal>,
    pub value_source_type: Option<String>,
    pub value_source_url: Option<String>,
    pub selected_key_route: Option<String>,
    /// Condition jobs: seconds between reads of the value (default 1, at least 1).
    pub poll_interval: Option<i64>,
    /// Condition jobs: least seconds between two firings (default 0).
    pub cooldown: Option<i64>,
    /// Oracle sources: the view function with its outputs, e.g. `latestAnswer() returns (int256)`.
    pub oracle_function: Option<String>,
    /// Oracle sources: the call's arguments as strings.
    pub oracle_arguments: Option<Vec<String>>,
    /// Oracle sources: the integer read is divided by 10^oracle_decimals (default 0).
    pub oracle_decimals: Option<u8>,
    #[serde(deserialize_with = "string_or_number")]
    #[schema(value_type = Option<String>)]
    pub target_chain_id: Option<String>,
    pub target_contract_address: Option<String>,
    pub target_function: Option<String>,
    pub abi: Option<String>,
    pub arg_type: Option<i64>,
    pub arguments: Option<Vec<String>>,
    pub dynamic_arguments_script_url: Option<String>,
    /// Hosts the script's `fetch` may reach (`host` or `host:port`; none when absent).
    pub script_allowed_hosts: Option<Vec<String>>,
    pub is_imua: bool,
    pub is_safe: bool,
    pub safe_name: Option<String>,
    pub safe_address: Option<String>,
    pub language: Option<String>,
}

fn required<'a, T>(value: &'a Option<T>, field: &str) -> Result<&'a T, FieldError> {
    value.as_ref().ok_or_else(|| FieldError::new("missing_field", field, "is required"))
}

fn required_text<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, FieldError> {
    match value.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => Ok(t),
        _ => Err(FieldError::new("missing_field", field, "is required")),
    }
}

fn check_script_url(url: &str, field: &str) -> Result<(), FieldError> {
    let ok = ["ipfs://", "https://", "http://"].iter().any(|p| url.starts_with(p)) && url.len() <= 2048;
    if ok {
        Ok(())
    } else {
        Err(FieldError::new("invalid_url", field, format!("'{url}' is not an ipfs:// or http(s):// URL")))
    }
}

/// Most hosts a script may be allowed to fetch from.
pub const MAX_SCRIPT_HOSTS: usize = 16;

/// The allowed hosts as stored: lower case, each `host` or `host:port` (no scheme, path or comma).
fn check_script_hosts(hosts: &[String]) -> Result<Vec<String>, FieldError> {
    if hosts.len() > MAX_SCRIPT_HOSTS {
        return Err(FieldError::new("too_many_hosts", "script_allowed_hosts", format!("at most {MAX_SCRIPT_HOSTS}")));
    }
    hosts
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let host = host.trim().to_ascii_lowercase();
            let parsed = url::Url::parse(&format!("http://{host}/")).ok();
            let plain = parsed.as_ref().is_some_and(|u| {
                u.path() == "/" && u.username().is_empty() && u.query().is_none() && u.host_str().is_some()
            });
            if host.is_empty() || host.len() > 253 || !plain || host.contains(['/', ',', '@', '?', '#']) {
                return Err(FieldError::new(
                    "invalid_host",
                    format!("script_allowed_hosts[{index}]"),
                    format!("'{host}' is not a host or host:port"),
                ));
            }
            Ok(host)
        })
        .collect()
}

impl CreateJobData {
    /// Validates this job at instant `now`. Errors name the field without a prefix.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<NewJob, FieldError> {
        let job_id = *required(&self.job_id, "job_id")?;
        let user_address = normalize_address(required_text(&self.user_address, "user_address")?, "user_address")?;
        if self.job_title.len() > MAX_TITLE_LEN {
            return Err(FieldError::new("too_long", "job_title", format!("at most {MAX_TITLE_LEN} characters")));
        }
        let tdid_number = *required(&self.task_definition_id, "task_definition_id")?;
        let task_definition_id = TaskDefinitionId::from_number(tdid_number).ok_or_else(|| {
            FieldError::new(
                "invalid_task_definition_id",
                "task_definition_id",
                format!("{tdid_number} is not one of 1..7"),
            )
        })?;
        let time_frame = *required(&self.time_frame, "time_frame")?;
        if !(1..=MAX_TIME_FRAME_SECONDS).contains(&time_frame) {
            return Err(FieldError::new(
                "invalid_time_frame",
                "time_frame",
                format!("must be 1..={MAX_TIME_FRAME_SECONDS} seconds, got {time_frame}"),
            ));
        }
        let expiration_time = now.timestamp_millis().saturating_add(time_frame.saturating_mul(1000));
        let tz = parse_timezone(&self.timezone, "timezone")?;
        let created_chain_id = match &self.created_chain_id {
            Some(c) if !c.trim().is_empty() => ChainId::parse(c, "created_chain_id")?.to_string(),
            _ => String::new(),
        };
        let job_cost_prediction = self.job_cost_prediction.clone().unwrap_or_default();
        if !job_cost_prediction.as_str().is_empty() && job_cost_prediction.to_f64() < 0.0 {
            return Err(FieldError::new("invalid_number", "job_cost_prediction", "must not be negative"));
        }
        let safe_address = match self.safe_address.as_deref().map(str::trim) {
            Some(a) if !a.is_empty() => normalize_address(a, "safe_address")?,
            _ if self.is_safe => {
                return Err(FieldError::new("missing_field", "safe_address", "is required when is_safe is true"));
            }
            _ => String::new(),
        };
        let target = self.validate_target(task_definition_id)?;
        let trigger = self.validate_trigger(task_definition_id, now, tz, expiration_time)?;
        Ok(NewJob {
            job_id,
            user_address,
            ether_balance: self.ether_balance.to_string(),
            token_balance: self.token_balance.to_string(),
            job_title: self.job_title.trim().to_string(),
            task_definition_id,
            custom: self.custom || task_definition_id == TaskDefinitionId::CustomScript,
            time_frame,
            recurring: self.recurring,
            job_cost_prediction: if job_cost_prediction.as_str().is_empty() {
                Decimal::parse("0", "")?
            } else {
                job_cost_prediction
            },
            timezone: tz.name().to_string(),
            created_chain_id,
            is_imua: self.is_imua,
            is_safe: self.is_safe,
            safe_name: self.safe_name.clone().unwrap_or_default(),
            safe_address,
            language: self.language.clone().unwrap_or_default(),
            expiration_time,
            target,
            trigger,
        })
    }

    fn validate_target(&self, tdid: TaskDefinitionId) -> Result<Target, FieldError> {
        let chain_id = ChainId::parse(required_text(&self.target_chain_id, "target_chain_id")?, "target_chain_id")?;
        let contract_address = normalize_address(
            required_text(&self.target_contract_address, "target_contract_address")?,
            "target_contract_address",
        )?;
        let arg_type_number = self.arg_type.unwrap_or(if tdid.is_dynamic() { 2 } else { 1 });
        let arg_type = ArgType::from_number(arg_type_number).ok_or_else(|| {
            FieldError::new(
                "invalid_arg_type",
                "arg_type",
                format!("{arg_type_number} is not 1 (static) or 2 (dynamic)"),
            )
        })?;
        if (arg_type == ArgType::Dynamic) != tdid.is_dynamic() {
            return Err(FieldError::new(
                "inconsistent_arg_type",
                "arg_type",
                format!(
                    "task_definition_id {} needs arg_type {}",
                    tdid.number(),
                    if tdid.is_dynamic() { 2 } else { 1 }
                ),
            ));
        }
        let arguments = self.arguments.clone().unwrap_or_default();
        if arguments.len() > MAX_ARGUMENTS {
            return Err(FieldError::new("too_many_arguments", "arguments", format!("at most {MAX_ARGUMENTS}")));
        }
        let script_url = self.dynamic_arguments_script_url.clone().unwrap_or_default().trim().to_string();
        let function_name = required_text(&self.target_function, "target_function")?;
        let abi_text = required_text(&self.abi, "abi")?;
        if abi_text.len() > MAX_ABI_LEN {
            return Err(FieldError::new("too_long", "abi", format!("at most {MAX_ABI_LEN} bytes")));
        }
        let abi = parse_abi(abi_text, "abi")?;
        match arg_type {
            ArgType::Static => {
                let function = find_function(&abi, function_name, Some(arguments.len()), "target_function")?;
                let values = convert_arguments(function, &arguments, "arguments")?;
                encode_call(function, &values, "arguments")?;
            }
            ArgType::Dynamic => {
                // The script supplies the arguments, so an overloaded bare name is resolved at run time.
                match find_function(&abi, function_name, None, "target_function") {
                    Err(e) if e.code != "ambiguous_function" => return Err(e),
                    _ => {}
                }
                if script_url.is_empty() {
                    return Err(FieldError::new(
                        "missing_field",
                        "dynamic_arguments_script_url",
                        "is required for dynamic arguments",
                    ));
                }
                check_script_url(&script_url, "dynamic_arguments_script_url")?;
            }
        }
        let script_allowed_hosts = check_script_hosts(self.script_allowed_hosts.as_deref().unwrap_or_default())?;
        Ok(Target {
            chain_id: chain_id.to_string(),
            contract_address,
            function: function_name.to_string(),
            abi: abi_text.to_string(),
            arg_type,
            arguments,
            dynamic_arguments_script_url: script_url,
            // Pinned by the API once it fetched the script.
            script_hash: String::new(),
            script_allowed_hosts,
        })
    }

    fn validate_trigger(
        &self,
        tdid: TaskDefinitionId,
        now: DateTime<Utc>,
        tz: chrono_tz::Tz,
        expiration_time: UnixMillis,
    ) -> Result<Trigger, FieldError> {
        match tdid.trigger() {
            TriggerKind::Time => {
                let schedule_type = ScheduleType::parse(self.schedule_type.as_deref().unwrap_or(""), "schedule_type")?;
                let schedule = match schedule_type {
                    ScheduleType::Interval => {
                        Schedule::interval(*required(&self.time_interval, "time_interval")?, "time_interval")?
                    }
                    ScheduleType::Cron => {
                        Schedule::cron(required_text(&self.cron_expression, "cron_expression")?, "cron_expression")?
                    }
                    ScheduleType::Specific => Schedule::Specific {
                        instants: parse_specific(
                            required_text(&self.specific_schedule, "specific_schedule")?,
                            tz,
                            "specific_schedule",
                        )?,
                    },
                };
                let next = schedule.next_after(now, tz).map(|t| t.timestamp_millis()).filter(|t| *t <= expiration_time);
                if next.is_none() {
                    let field = match schedule_type {
                        ScheduleType::Interval => "time_interval",
                        ScheduleType::Cron => "cron_expression",
                        ScheduleType::Specific => "specific_schedule",
                    };
                    return Err(FieldError::new(
                        "no_occurrence",
                        field,
                        "the schedule has no occurrence before the time frame ends",
                    ));
                }
                Ok(Trigger::Time(TimeTrigger {
                    schedule_type,
                    time_interval: if schedule_type == ScheduleType::Interval {
                        self.time_interval.unwrap_or_default()
                    } else {
                        0
                    },
                    cron_expression: if schedule_type == ScheduleType::Cron {
                        self.cron_expression.clone().unwrap_or_default().trim().to_string()
                    } else {
                        String::new()
                    },
                    specific_schedule: if schedule_type == ScheduleType::Specific {
                        self.specific_schedule.clone().unwrap_or_default().trim().to_string()
                    } else {
                        String::new()
                    },
                    next_execution_timestamp: next,
                }))
            }
            TriggerKind::Event => {
                let chain =
                    ChainId::parse(required_text(&self.trigger_chain_id, "trigger_chain_id")?, "trigger_chain_id")?;
                let contract = normalize_address(
                    required_text(&self.trigger_contract_address, "trigger_contract_address")?,
                    "trigger_contract_address",
                )?;
                let event_text = required_text(&self.trigger_event, "trigger_event")?;
                let event = parse_event(event_text, "trigger_event")?;
                let para = self.event_filter_para_name.clone().unwrap_or_default().trim().to_string();
                let value = self.event_filter_value.clone().unwrap_or_default().trim().to_string();
                match (para.is_empty(), value.is_empty()) {
                    (true, true) => {}
                    (false, false) => {
                        filter_parameter_index(&event, &para, "event_filter_para_name")?;
                    }
                    (true, false) => {
                        return Err(FieldError::new(
                            "missing_field",
                            "event_filter_para_name",
                            "is required with event_filter_value",
                        ));
                    }
                    (false, true) => {
                        return Err(FieldError::new(
                            "missing_field",
                            "event_filter_value",
                            "is required with event_filter_para_name",
                        ));
                    }
                }
                let expression = self.event_filter.clone().unwrap_or_default().trim().to_string();
                let trigger = EventTrigger {
                    trigger_chain_id: chain.to_string(),
                    trigger_contract_address: contract,
                    trigger_event: event_text.to_string(),
                    topic0: format!("{:#x}", event.selector()),
                    event_filter_para_name: para,
                    event_filter_value: value,
                    event_filter: expression,
                };
                // Compiling checks every literal against its parameter's type.
                triggerx_core::event_filter::compile(&trigger)?;
                Ok(Trigger::Event(trigger))
            }
            TriggerKind::Condition => {
                let condition_type =
                    ConditionType::parse(required_text(&self.condition_type, "condition_type")?, "condition_type")?;
                condition_type.check_limits(self.lower_limit.as_ref(), self.upper_limit.as_ref(), "")?;
                let value_source_type = ValueSourceType::parse(
                    required_text(&self.value_source_type, "value_source_type")?,
                    "value_source_type",
                )?;
                let url = self.value_source_url.clone().unwrap_or_default().trim().to_string();
                if url.is_empty() {
                    return Err(FieldError::new("missing_field", "value_source_url", "is required"));
                }
                value_source_type.check_url(&url, "value_source_url")?;
                let route = self.selected_key_route.clone().unwrap_or_default().trim().to_string();
                check_key_route(&route, "selected_key_route")?;
                let poll_interval = self.poll_interval.unwrap_or(DEFAULT_POLL_INTERVAL_MS / 1000);
                if !(1..=MAX_POLL_INTERVAL_SECONDS).contains(&poll_interval) {
                    return Err(FieldError::new(
                        "invalid_poll_interval",
                        "poll_interval",
                        format!("must be 1..={MAX_POLL_INTERVAL_SECONDS} seconds, got {poll_interval}"),
                    ));
                }
                let cooldown = self.cooldown.unwrap_or(0);
                if !(0..=MAX_TIME_FRAME_SECONDS).contains(&cooldown) {
                    return Err(FieldError::new(
                        "invalid_cooldown",
                        "cooldown",
                        format!("must be 0..={MAX_TIME_FRAME_SECONDS} seconds, got {cooldown}"),
                    ));
                }
                let oracle = match value_source_type {
                    ValueSourceType::Oracle => Some(self.oracle_call(&route)?),
                    _ => None,
                };
                Ok(Trigger::Condition(ConditionTrigger {
                    condition_type,
                    upper_limit: self.upper_limit.clone(),
                    lower_limit: self.lower_limit.clone(),
                    value_source_type,
                    value_source_url: if oracle.is_some() { normalize_address(&url, "value_source_url")? } else { url },
                    selected_key_route: route,
                    poll_interval_ms: poll_interval * 1000,
                    cooldown_ms: cooldown * 1000,
                    oracle,
                }))
            }
        }
    }
}

impl CreateJobData {
    /// The view call of an oracle source: function, arguments checked against its parameters,
    /// decimals, and the chain (`trigger_chain_id`, else `created_chain_id`).
    fn oracle_call(&self, route: &str) -> Result<OracleCall, FieldError> {
        let text = required_text(&self.oracle_function, "oracle_function")?;
        let (function, _) = parse_oracle_function(text, route, "oracle_function")?;
        let arguments = self.oracle_arguments.clone().unwrap_or_default();
        convert_arguments(&function, &arguments, "oracle_arguments")?;
        let decimals = self.oracle_decimals.unwrap_or(0);
        if decimals > MAX_ORACLE_DECIMALS {
            return Err(FieldError::new(
                "invalid_oracle_decimals",
                "oracle_decimals",
                format!("at most {MAX_ORACLE_DECIMALS}, got {decimals}"),
            ));
        }
        let chain = match self.trigger_chain_id.as_deref().map(str::trim) {
            Some(c) if !c.is_empty() => c,
            _ => required_text(&self.created_chain_id, "created_chain_id")?,
        };
        let chain_id = ChainId::parse(chain, "trigger_chain_id")?;
        Ok(OracleCall { chain_id: chain_id.to_string(), function: text.to_string(), arguments, decimals })
    }
}

/// Validates a whole creation request: every element, one owner, no repeated job id.
/// Field paths are prefixed with the element's index: `[1].time_frame`.
pub fn validate_job_chain(jobs: &[CreateJobData], now: DateTime<Utc>) -> Result<Vec<NewJob>, FieldError> {
    if jobs.is_empty() {
        return Err(FieldError::new("empty_request", "body", "no jobs given"));
    }
    if jobs.len() > MAX_JOBS_PER_REQUEST {
        return Err(FieldError::new(
            "too_many_jobs",
            "body",
            format!("at most {MAX_JOBS_PER_REQUEST} jobs per request"),
        ));
    }
    let mut validated: Vec<NewJob> = Vec::with_capacity(jobs.len());
    for (index, job) in jobs.iter().enumerate() {
        let prefix = format!("[{index}]");
        let new_job = job.validate(now).map_err(|e| e.within(&prefix))?;
        if let Some(first) = validated.first()
            && first.user_address != new_job.user_address
        {
            return Err(FieldError::new(
                "mixed_owners",
                format!("{prefix}.user_address"),
                "every job of a chain must have the same owner",
            ));
        }
        if validated.iter().any(|j| j.job_id == new_job.job_id) {
            return Err(FieldError::new(
                "duplicate_job_id",
                format!("{prefix}.job_id"),
                "job id repeated in the request",
            ));
        }
        validated.push(new_job);
    }
    Ok(validated)
}

/// `PUT /api/jobs/update/{id}` body: each present field is changed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct JobUpdate {
    pub job_title: Option<String>,
    pub recurring: Option<bool>,
    /// `paused` pauses; `pending`, `running` or `active` resume.
    pub status: Option<String>,
    pub time_frame: Option<i64>,
    #[schema(value_type = Option<f64>)]
    pub job_cost_prediction: Option<Decimal>,
    pub timezone: Option<String>,
    pub time_interval: Option<i64>,
    /// Ignored: the job id comes from the path (accepted because the original's clients send it).
    #[schema(value_type = Option<String>)]
    pub job_id: Option<serde_json::Value>,
}

impl JobUpdate {
    /// Validates each present field.
    pub fn validate(&self) -> Result<ValidatedUpdate, FieldError> {
        if let Some(title) = &self.job_title
            && title.len() > MAX_TITLE_LEN
        {
            return Err(FieldError::new("too_long", "job_title", format!("at most {MAX_TITLE_LEN} characters")));
        }
        let pause = match self.status.as_deref().map(|s| s.trim().to_ascii_lowercase()) {
            None => None,
            Some(s) if s == "paused" => Some(true),
            Some(s) if ["pending", "running", "active"].contains(&s.as_str()) => Some(false),
            Some(s) => {
                return Err(FieldError::new(
                    "invalid_status",
                    "status",
                    format!("'{s}' cannot be set; use paused or active"),
                ));
            }
        };
        if let Some(tf) = self.time_frame
            && !(1..=MAX_TIME_FRAME_SECONDS).contains(&tf)
        {
            return Err(FieldError::new(
                "invalid_time_frame",
                "time_frame",
                format!("must be 1..={MAX_TIME_FRAME_SECONDS} seconds"),
            ));
        }
        if let Some(cost) = &self.job_cost_prediction
            && cost.to_f64() < 0.0
        {
            return Err(FieldError::new("invalid_number", "job_cost_prediction", "must not be negative"));
        }
        let timezone = match &self.timezone {
            Some(tz) => Some(parse_timezone(tz, "timezone")?.name().to_string()),
            None => None,
        };
        if let Some(interval) = self.time_interval {
            Schedule::interval(interval, "time_interval")?;
        }
        Ok(ValidatedUpdate {
            job_title: self.job_title.as_ref().map(|t| t.trim().to_string()),
            recurring: self.recurring,
            pause,
            time_frame: self.time_frame,
            job_cost_prediction: self.job_cost_prediction.clone(),
            timezone,
            time_interval: self.time_interval,
        })
    }
}
