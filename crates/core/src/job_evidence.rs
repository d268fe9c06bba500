//! What an attester needs of a job to check one of its tasks on its own data: the trigger, the
//! target call and the job's window, with the checks themselves (an occurrence is in the job's
//! schedule and window and was not executed early; a log matches the job's event filter; the
//! assigned calldata is what the job's ABI and arguments encode). Pure rules; fetching the chain's
//! data is the caller's.

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::event::decode_log_values;
use crate::event_filter::compile;
use crate::job::{ArgType, Job, Target, Trigger};
use crate::schedule::Schedule;
use crate::target_call::encode_target_call;
use crate::time::{UnixMillis, to_datetime};

/// Seconds a block's timestamp may run behind the scheduler's clock (the chain's and the scheduler's
/// clocks are not the same clock).
pub const CLOCK_TOLERANCE_SECS: u64 = 5;

/// A job as the dispatcher assigned its task (the dispatcher's envelope signature covers it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEvidence {
    /// Task definition 1..=7.
    pub task_definition_id: u16,
    /// The job's time zone (cron and specific schedules are read in it).
    pub timezone: String,
    /// When the job was created, Unix milliseconds.
    pub created_at: UnixMillis,
    /// When the job's window closes, Unix milliseconds.
    pub expiration_time: UnixMillis,
    /// What it calls.
    pub target: Target,
    /// When it fires.
    pub trigger: Trigger,
}

/// An occurrence key, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurrence {
    /// `time:<unix millis>`: a scheduled instant.
    Time(UnixMillis),
    /// `event:<block hash>:<log index>`: a log.
    Event {
        /// The block holding the log.
        block_hash: B256,
        /// Its index in the block.
        log_index: u64,
    },
    /// `condition:<n>`: the n-th time the condition became true.
    Condition(u64),
}

impl Occurrence {
    /// Parses `key`; the error names what is wrong.
    pub fn parse(key: &str) -> Result<Occurrence, String> {
        let bad = || format!("bad_occurrence: '{key}' is not an occurrence key");
        let (kind, rest) = key.split_once(':').ok_or_else(bad)?;
        match kind {
            "time" => rest.parse().map(Occurrence::Time).map_err(|_| bad()),
            "event" => {
                let (hash, index) = rest.split_once(':').ok_or_else(bad)?;
                Ok(Occurrence::Event {
                    block_hash: hash.parse().map_err(|_| bad())?,
                    log_index: index.parse().map_err(|_| bad())?,
                })
            }
            "condition" => rest.parse().map(Occurrence::Condition).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl JobEvidence {
    /// The evidence of `job`.
    pub fn of(job: &Job) -> JobEvidence {
        JobEvidence {
            task_definition_id: job.spec.task_definition_id.number() as u16,
            timezone: job.spec.timezone.clone(),
            created_at: job.created_at,
            expiration_time: job.spec.expiration_time,
            target: job.spec.target.clone(),
            trigger: job.spec.trigger.clone(),
        }
    }

    /// Whether `occurrence` is one of this job's kind of trigger.
    pub fn check_kind(&self, occurrence: &Occurrence) -> Result<(), String> {
        let matches = matches!(
            (occurrence, &self.trigger),
            (Occurrence::Time(_), Trigger::Time(_))
                | (Occurrence::Event { .. }, Trigger::Event(_))
                | (Occurrence::Condition(_), Trigger::Condition(_))
        );
        if matches { Ok(()) } else { Err("trigger_kind_mismatch: the occurrence is not of the job's trigger".into()) }
    }

    /// A time occurrence `at` is in the job's window, is an instant of its schedule (cron and specific
    /// schedules; an interval's instants depend on the scheduler's history and are checked against the
    /// window only), and was not executed before it (`executed_at`: the block's timestamp, seconds).
    pub fn check_time(&self, at: UnixMillis, executed_at: u64) -> Result<(), String> {
        let Trigger::Time(time) = &self.trigger else { return Err("trigger_kind_mismatch: not a time job".into()) };
        let tolerance_ms = (CLOCK_TOLERANCE_SECS * 1000) as i64;
        if at + tolerance_ms < self.created_at || (self.expiration_time > 0 && at > self.expiration_time + tolerance_ms)
        {
            return Err(format!("occurrence_outside_window: {at} is outside the job's window"));
        }
        if executed_at.saturating_add(CLOCK_TOLERANCE_SECS) < u64::try_from(at / 1000).unwrap_or(u64::MAX) {
            return Err(format!("executed_early: the block at {executed_at} s precedes the occurrence at {at} ms"));
        }
        let (schedule, tz) = time.schedule(&self.timezone).map_err(|e| format!("bad_schedule: {e}"))?;
        if matches!(schedule, Schedule::Interval { .. }) {
            return Ok(());
        }
        let instant = to_datetime(at);
        let just_before = instant - chrono::Duration::milliseconds(1);
        if schedule.next_after(just_before, tz) != Some(instant) {
            return Err(format!("not_scheduled: {at} is not an instant of the job's schedule"));
        }
        Ok(())
    }

    /// A log (`address`, `topics`, `data`) is from the job's contract and event and passes its filter.
    pub fn check_event(&self, address: Address, topics: &[B256], data: &[u8]) -> Result<(), String> {
        let Trigger::Event(trigger) = &self.trigger else {
            return Err("trigger_kind_mismatch: not an event job".into());
        };
        let contract: Address = trigger
            .trigger_contract_address
            .parse()
            .map_err(|_| "bad_job: the trigger contract is not an address".to_string())?;
        if address != contract {
            return Err(format!("log_from_other_contract: the log is from {address}, the job watches {contract}"));
        }
        let (event, filter) = compile(trigger).map_err(|e| format!("bad_job: {e}"))?;
        if topics.first() != Some(&event.selector()) {
            return Err("log_of_other_event: the log is not the job's event".into());
        }
        let values = decode_log_values(&event, topics, data).map_err(|e| format!("log_undecodable: {e}"))?;
        if !filter.matches(&values) {
            return Err("log_filtered_out: the log does not pass the job's filter".into());
        }
        Ok(())
    }

    /// For static arguments: `calldata` to `target` is what the job's ABI and arguments encode.
    /// Dynamic arguments are checked by replaying the task's recorded script run instead.
    pub fn check_static_call(&self, target: Address, calldata: &[u8]) -> Result<(), String> {
        if self.target.arg_type != ArgType::Static || self.task_definition_id == 7 {
            return Ok(());
        }
        let call = encode_target_call(&self.target, &self.target.arguments).map_err(|e| format!("bad_job: {e}"))?;
        if call.contract != target {
            return Err(format!("target_mismatch: assigned {target}, the job calls {}", call.contract));
        }
        if call.calldata != calldata {
            return Err(
                "calldata_mismatch: the assigned calldata is not what the job's ABI and arguments encode".into()
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn occurrence_keys_parse_and_bad_ones_are_named() {
        assert_eq!(Occurrence::parse("time:1700000000000").unwrap(), Occurrence::Time(1_700_000_000_000));
        let hash = B256::repeat_byte(7);
        assert_eq!(
            Occurrence::parse(&format!("event:{hash:#x}:3")).unwrap(),
            Occurrence::Event { block_hash: hash, log_index: 3 }
        );
        assert_eq!(Occurrence::parse("condition:2").unwrap(), Occurrence::Condition(2));
        for bad in ["", "time:", "time:x", "event:0x12:1", "manual:1", "condition:-1"] {
            assert!(Occurrence::parse(bad).unwrap_err().starts_with("bad_occurrence"), "{bad}");
        }
    }
}
