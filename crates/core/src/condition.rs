//! Condition triggers: the seven comparison operators, value sources, and which limits each needs.

use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::numbers::Decimal;

/// How the watched value is compared with the limits (the original's semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConditionType {
    /// value > lower_limit
    GreaterThan,
    /// value >= lower_limit
    GreaterEqual,
    /// value < upper_limit
    LessThan,
    /// value <= upper_limit
    LessEqual,
    /// lower_limit <= value <= upper_limit
    Between,
    /// value == lower_limit
    Equals,
    /// value != lower_limit
    NotEquals,
}

impl ConditionType {
    /// Every operator.
    pub const ALL: [ConditionType; 7] = [
        Self::GreaterThan,
        Self::GreaterEqual,
        Self::LessThan,
        Self::LessEqual,
        Self::Between,
        Self::Equals,
        Self::NotEquals,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GreaterThan => "greater_than",
            Self::GreaterEqual => "greater_equal",
            Self::LessThan => "less_than",
            Self::LessEqual => "less_equal",
            Self::Between => "between",
            Self::Equals => "equals",
            Self::NotEquals => "not_equals",
        }
    }

    /// From the wire name.
    pub fn parse(text: &str, field: &str) -> Result<Self, FieldError> {
        let t = text.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|c| c.as_str() == t).ok_or_else(|| {
            FieldError::new(
                "invalid_condition_type",
                field,
                format!("'{t}' is not one of greater_than, greater_equal, less_than, less_equal, between, equals, not_equals"),
            )
        })
    }

    /// Checks that the limits this operator reads are present and consistent.
    pub fn check_limits(
        self,
        lower: Option<&Decimal>,
        upper: Option<&Decimal>,
        prefix: &str,
    ) -> Result<(), FieldError> {
        let need = |present: Option<&Decimal>, name: &str| {
            present.map(|_| ()).ok_or_else(|| {
                FieldError::new("missing_field", format!("{prefix}{name}"), format!("{} needs {name}", self.as_str()))
            })
        };
        match self {
            Self::GreaterThan | Self::GreaterEqual | Self::Equals | Self::NotEquals => need(lower, "lower_limit"),
            Self::LessThan | Self::LessEqual => need(upper, "upper_limit"),
            Self::Between => {
                need(lower, "lower_limit")?;
                need(upper, "upper_limit")?;
                match (lower, upper) {
                    (Some(l), Some(u)) if l.to_f64() > u.to_f64() => Err(FieldError::new(
                        "invalid_limits",
                        format!("{prefix}lower_limit"),
                        format!("lower_limit {l} is above upper_limit {u}"),
                    )),
                    _ => Ok(()),
                }
            }
        }
    }
}

/// Where the watched value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueSourceType {
    /// HTTP GET returning JSON; the value sits at `selected_key_route`.
    Api,
    /// An on-chain view call.
    Oracle,
    /// A constant given in `value_source_url`.
    Static,
    /// A WebSocket stream of JSON messages.
    Websocket,
}

impl ValueSourceType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Oracle => "oracle",
            Self::Static => "static",
            Self::Websocket => "websocket",
        }
    }

    /// From the wire name.
    pub fn parse(text: &str, field: &str) -> Result<Self, FieldError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "api" => Ok(Self::Api),
            "oracle" => Ok(Self::Oracle),
            "static" => Ok(Self::Static),
            "websocket" => Ok(Self::Websocket),
            other => Err(FieldError::new(
                "invalid_value_source_type",
                field,
                format!("'{other}' is not one of api, oracle, static, websocket"),
            )),
        }
    }

    /// Checks `value_source_url` for this kind of source.
    pub fn check_url(self, url: &str, field: &str) -> Result<(), FieldError> {
        let url = url.trim();
        let bad = |why: &str| Err(FieldError::new("invalid_url", field, format!("'{url}': {why}")));
        match self {
            Self::Api if !(url.starts_with("http://") || url.starts_with("https://")) => {
                bad("an api source needs an http(s) URL")
            }
            Self::Websocket if !(url.starts_with("ws://") || url.starts_with("wss://")) => {
                bad("a websocket source needs a ws(s) URL")
            }
            Self::Static => Decimal::parse(url, field).map(|_| ()),
            Self::Oracle if url.is_empty() => bad("an oracle source needs the contract to call"),
            _ if url.len() > 2048 => bad("longer than 2048 characters"),
            _ => Ok(()),
        }
    }
}

/// Checks a `selected_key_route`: dot-separated keys, numeric parts index arrays (`data.0.price`).
pub fn check_key_route(route: &str, field: &str) -> Result<(), FieldError> {
    if route.is_empty() {
        return Ok(());
    }
    if route.split('.').any(str::is_empty) {
        return Err(FieldError::new("invalid_key_route", field, format!("'{route}' has an empty path segment")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s, "x").unwrap()
    }

    #[test]
    fn limits_follow_the_operator() {
        assert!(ConditionType::GreaterThan.check_limits(Some(&d("1")), None, "").is_ok());
        assert_eq!(ConditionType::GreaterThan.check_limits(None, Some(&d("1")), "").unwrap_err().field, "lower_limit");
        assert_eq!(ConditionType::LessEqual.check_limits(Some(&d("1")), None, "").unwrap_err().field, "upper_limit");
        assert_eq!(
            ConditionType::Between.check_limits(Some(&d("5")), Some(&d("1")), "").unwrap_err().code,
            "invalid_limits"
        );
        assert!(ConditionType::Between.check_limits(Some(&d("1")), Some(&d("5")), "").is_ok());
    }

    #[test]
    fn sources_check_their_urls() {
        assert!(ValueSourceType::Api.check_url("https://x/price", "u").is_ok());
        assert!(ValueSourceType::Api.check_url("ftp://x", "u").is_err());
        assert!(ValueSourceType::Websocket.check_url("https://x", "u").is_err());
        assert!(ValueSourceType::Static.check_url("12.5", "u").is_ok());
        assert!(ValueSourceType::parse("carrier-pigeon", "t").is_err());
        assert!(check_key_route("data..price", "r").is_err());
        assert!(check_key_route("data.0.price", "r").is_ok());
    }
}
