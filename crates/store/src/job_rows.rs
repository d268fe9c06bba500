//! Decoding a stored job row (with its trigger table's columns) back into the domain `Job`, naming the
//! corrupt column when one does not decode.

use sqlx::any::AnyRow;
use triggerx_core::condition::{ConditionType, ValueSourceType};
use triggerx_core::ids::{JobId, TaskDefinitionId, TriggerKind};
use triggerx_core::job::{
    ArgType, ConditionState, ConditionTrigger, EventTrigger, Job, JobStatus, NewJob, OracleCall, Target, TimeTrigger,
    Trigger,
};
use triggerx_core::numbers::Decimal;
use triggerx_core::schedule::ScheduleType;

use crate::StoreError;
use crate::rows::{corrupt, flag, get, json};

fn optional_decimal(row: &AnyRow, column: &'static str) -> Result<Option<Decimal>, StoreError> {
    get::<Option<String>>(row, column)?
        .map(|text| Decimal::parse(&text, column).map_err(|e| corrupt(column, e)))
        .transpose()
}

fn oracle_from_row(row: &AnyRow) -> Result<Option<OracleCall>, StoreError> {
    let function: String = get(row, "oracle_function")?;
    if function.is_empty() {
        return Ok(None);
    }
    let decimals: i64 = get(row, "oracle_decimals")?;
    Ok(Some(OracleCall {
        chain_id: get(row, "oracle_chain_id")?,
        function,
        arguments: json(row, "oracle_arguments")?,
        decimals: u8::try_from(decimals).map_err(|e| corrupt("oracle_decimals", e))?,
    }))
}

/// The condition scheduler's state columns of a row.
pub(crate) fn condition_state_from_row(row: &AnyRow) -> Result<ConditionState, StoreError> {
    Ok(ConditionState {
        armed: flag(row, "armed")?,
        transitions: get(row, "transitions")?,
        last_fired_at: get(row, "last_fired_at")?,
        last_value: optional_decimal(row, "last_value")?,
        last_checked_at: get(row, "last_checked_at")?,
        source_error: get(row, "source_error")?,
        source_failures: get(row, "source_failures")?,
    })
}

/// The `time_jobs` columns of a row.
pub(crate) fn time_trigger_from_row(row: &AnyRow) -> Result<TimeTrigger, StoreError> {
    let schedule_name: String = get(row, "schedule_type")?;
    Ok(TimeTrigger {
        schedule_type: ScheduleType::parse(&schedule_name, "schedule_type").map_err(|e| corrupt("schedule_type", e))?,
        time_interval: get(row, "time_interval")?,
        cron_expression: get(row, "cron_expression")?,
        specific_schedule: get(row, "specific_schedule")?,
        next_execution_timestamp: get(row, "next_execution_timestamp")?,
    })
}

pub(crate) fn job_from_row(row: &AnyRow) -> Result<Job, StoreError> {
    let job_id_text: String = get(row, "job_id")?;
    let job_id = JobId::parse(&job_id_text, "job_id").map_err(|e| corrupt("job_id", e))?;
    let tdid_number: i64 = get(row, "task_definition_id")?;
    let task_definition_id =
        TaskDefinitionId::from_number(tdid_number).ok_or_else(|| corrupt("task_definition_id", tdid_number))?;
    let status_name: String = get(row, "status")?;
    let status = JobStatus::from_name(&status_name).ok_or_else(|| corrupt("status", &status_name))?;
    let arg_type_number: i64 = get(row, "arg_type")?;
    let link: Option<String> = get(row, "link_job_id")?;
    let trigger = match task_definition_id.trigger() {
        TriggerKind::Time => Trigger::Time(time_trigger_from_row(row)?),
        TriggerKind::Event => Trigger::Event(EventTrigger {
            trigger_chain_id: get(row, "trigger_chain_id")?,
            trigger_contract_address: get(row, "trigger_contract_address")?,
            trigger_event: get(row, "trigger_event")?,
            topic0: get(row, "topic0")?,
            event_filter_para_name: get(row, "event_filter_para_name")?,
            event_filter_value: get(row, "event_filter_value")?,
            event_filter: get(row, "event_filter")?,
        }),
        TriggerKind::Condition => {
            let condition_name: String = get(row, "condition_type")?;
            let source_name: String = get(row, "value_source_type")?;
            Trigger::Condition(ConditionTrigger {
                condition_type: ConditionType::parse(&condition_name, "condition_type")
                    .map_err(|e| corrupt("condition_type", e))?,
                upper_limit: optional_decimal(row, "upper_limit")?,
                lower_limit: optional_decimal(row, "lower_limit")?,
                value_source_type: ValueSourceType::parse(&source_name, "value_source_type")
                    .map_err(|e| corrupt("value_source_type", e))?,
                value_source_url: get(row, "value_source_url")?,
                selected_key_route: get(row, "selected_key_route")?,
                poll_interval_ms: get(row, "poll_interval_ms")?,
                cooldown_ms: get(row, "cooldown_ms")?,
                oracle: oracle_from_row(row)?,
            })
        }
    };
    let condition_state = match task_definition_id.trigger() {
        TriggerKind::Condition => Some(condition_state_from_row(row)?),
        _ => None,
    };
    let cost: String = get(row, "job_cost_prediction")?;
    Ok(Job {
        spec: NewJob {
            job_id,
            user_address: get(row, "user_address")?,
            ether_balance: get(row, "ether_balance")?,
            token_balance: get(row, "token_balance")?,
            job_title: get(row, "job_title")?,
            task_definition_id,
            custom: flag(row, "custom")?,
            time_frame: get(row, "time_frame")?,
            recurring: flag(row, "recurring")?,
            job_cost_prediction: Decimal::parse(&cost, "job_cost_prediction")
                .map_err(|e| corrupt("job_cost_prediction", e))?,
            timezone: get(row, "timezone")?,
            created_chain_id: get(row, "created_chain_id")?,
            is_imua: flag(row, "is_imua")?,
            is_safe: flag(row, "is_safe")?,
            safe_name: get(row, "safe_name")?,
            safe_address: get(row, "safe_address")?,
            language: get(row, "language")?,
            expiration_time: get(row, "expiration_time")?,
            target: Target {
                chain_id: get(row, "target_chain_id")?,
                contract_address: get(row, "target_contract_address")?,
                function: get(row, "target_function")?,
                abi: get(row, "abi")?,
                arg_type: ArgType::from_number(arg_type_number).ok_or_else(|| corrupt("arg_type", arg_type_number))?,
                arguments: json(row, "arguments")?,
                dynamic_arguments_script_url: get(row, "dynamic_arguments_script_url")?,
                script_hash: get(row, "script_hash")?,
                script_allowed_hosts: get::<String>(row, "script_hosts")?
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .map(str::to_string)
                    .collect(),
            },
            trigger,
        },
        user_id: get(row, "user_id")?,
        link_job_id: link
            .map(|l| JobId::parse(&l, "link_job_id").map_err(|e| corrupt("link_job_id", e)))
            .transpose()?,
        chain_status: get(row, "chain_status")?,
        status,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        last_executed_at: get(row, "last_executed_at")?,
        condition_state,
    })
}
