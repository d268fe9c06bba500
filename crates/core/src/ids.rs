//! Identifiers: uint256 job ids (decimal strings on the wire), chain ids, task definition ids.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::U256;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::FieldError;

/// A job id as issued by the on-chain `JobRegistry`: a full uint256, written as a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub U256);

impl JobId {
    /// Parses a decimal (or `0x` hexadecimal) uint256.
    pub fn parse(text: &str, field: &str) -> Result<Self, FieldError> {
        let text = text.trim();
        let parsed = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            U256::from_str_radix(hex, 16)
        } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            U256::from_str_radix(text, 10)
        } else {
            return Err(FieldError::new("invalid_job_id", field, format!("'{text}' is not a uint256 decimal string")));
        };
        parsed
            .map(JobId)
            .map_err(|_| FieldError::new("invalid_job_id", field, format!("'{text}' does not fit in a uint256")))
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for JobId {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s, "job_id")
    }
}

impl Serialize for JobId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for JobId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let text = match &value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) if n.is_u64() => n.to_string(),
            _ => return Err(serde::de::Error::custom("job_id must be a uint256 decimal string")),
        };
        JobId::parse(&text, "job_id").map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for JobId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9]{1,78}$"))
            .description(Some("uint256 job id as a decimal string"))
            .into()
    }
}
impl utoipa::ToSchema for JobId {}

/// An EVM chain id (positive, fits in u64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChainId(pub u64);

impl ChainId {
    /// Parses a chain id given as a decimal string.
    pub fn parse(text: &str, field: &str) -> Result<Self, FieldError> {
        match text.trim().parse::<u64>() {
            Ok(0) => Err(FieldError::new("invalid_chain_id", field, "chain id must be positive")),
            Ok(id) => Ok(ChainId(id)),
            Err(_) => Err(FieldError::new("invalid_chain_id", field, format!("'{text}' is not a decimal chain id"))),
        }
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a job's tasks are: trigger kind x argument kind (the original's task definitions 1..7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskDefinitionId {
    /// 1: time trigger, static arguments.
    TimeStatic,
    /// 2: time trigger, dynamic arguments.
    TimeDynamic,
    /// 3: event trigger, static arguments.
    EventStatic,
    /// 4: event trigger, dynamic arguments.
    EventDynamic,
    /// 5: condition trigger, static arguments.
    ConditionStatic,
    /// 6: condition trigger, dynamic arguments.
    ConditionDynamic,
    /// 7: custom script decides and computes the call.
    CustomScript,
}

/// The trigger kind a task definition implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// Fires on a schedule.
    Time,
    /// Fires on a contract log.
    Event,
    /// Fires when a watched value satisfies a condition.
    Condition,
}

impl TaskDefinitionId {
    /// Every task definition, in numeric order.
    pub const ALL: [TaskDefinitionId; 7] = [
        Self::TimeStatic,
        Self::TimeDynamic,
        Self::EventStatic,
        Self::EventDynamic,
        Self::ConditionStatic,
        Self::ConditionDynamic,
        Self::CustomScript,
    ];

    /// The wire number, 1..=7.
    pub fn number(self) -> i64 {
        match self {
            Self::TimeStatic => 1,
            Self::TimeDynamic => 2,
            Self::EventStatic => 3,
            Self::EventDynamic => 4,
            Self::ConditionStatic => 5,
            Self::ConditionDynamic => 6,
            Self::CustomScript => 7,
        }
    }

    /// From the wire number.
    pub fn from_number(n: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.number() == n)
    }

    /// Which trigger fires the job. Custom scripts run on a schedule (interval), like the original.
    pub fn trigger(self) -> TriggerKind {
        match self {
            Self::TimeStatic | Self::TimeDynamic | Self::CustomScript => TriggerKind::Time,
            Self::EventStatic | Self::EventDynamic => TriggerKind::Event,
            Self::ConditionStatic | Self::ConditionDynamic => TriggerKind::Condition,
        }
    }

    /// Whether arguments are computed by a script rather than given statically.
    pub fn is_dynamic(self) -> bool {
        matches!(self, Self::TimeDynamic | Self::EventDynamic | Self::ConditionDynamic | Self::CustomScript)
    }
}

impl Serialize for TaskDefinitionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.number())
    }
}

impl utoipa::PartialSchema for TaskDefinitionId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(1))
            .maximum(Some(7))
            .description(Some("1 time/static, 2 time/dynamic, 3 event/static, 4 event/dynamic, 5 condition/static, 6 condition/dynamic, 7 custom script"))
            .into()
    }
}
impl utoipa::ToSchema for TaskDefinitionId {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_id_keeps_all_256_bits() {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        let id = JobId::parse(max, "job_id").unwrap();
        assert_eq!(id.to_string(), max);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{max}\""));
        assert!(JobId::parse(&format!("{max}0"), "job_id").is_err());
        assert!(JobId::parse("-1", "job_id").is_err());
        assert!(JobId::parse("", "job_id").is_err());
        assert_eq!(JobId::parse("0x10", "job_id").unwrap().to_string(), "16");
    }

    #[test]
    fn chain_id_must_be_positive_decimal() {
        assert_eq!(ChainId::parse("31337", "c").unwrap(), ChainId(31337));
        assert!(ChainId::parse("0", "c").is_err());
        assert!(ChainId::parse("abc", "c").is_err());
    }

    #[test]
    fn task_definitions_round_trip() {
        for d in TaskDefinitionId::ALL {
            assert_eq!(TaskDefinitionId::from_number(d.number()), Some(d));
        }
        assert_eq!(TaskDefinitionId::from_number(8), None);
        assert!(TaskDefinitionId::EventDynamic.is_dynamic());
        assert_eq!(TaskDefinitionId::ConditionStatic.trigger(), TriggerKind::Condition);
    }
}
