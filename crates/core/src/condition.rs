//! Condition triggers: the seven comparison operators, value sources, and which limits each needs.

use std::cmp::Ordering;

use alloy_json_abi::Function;
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

    /// Whether `value` satisfies this operator with these limits (exact decimal comparison; a missing
    /// limit the operator needs makes it false, validation refuses such jobs).
    pub fn holds(self, value: &Decimal, lower: Option<&Decimal>, upper: Option<&Decimal>) -> bool {
        let against = |limit: Option<&Decimal>| limit.map(|l| value.compare(l));
        match self {
            Self::GreaterThan => against(lower) == Some(Ordering::Greater),
            Self::GreaterEqual => against(lower).is_some_and(|o| o != Ordering::Less),
            Self::LessThan => against(upper) == Some(Ordering::Less),
            Self::LessEqual => against(upper).is_some_and(|o| o != Ordering::Greater),
            Self::Between => {
                against(lower).is_some_and(|o| o != Ordering::Less)
                    && against(upper).is_some_and(|o| o != Ordering::Greater)
            }
            Self::Equals => against(lower) == Some(Ordering::Equal),
            Self::NotEquals => against(lower).is_some_and(|o| o != Ordering::Equal),
        }
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
                    (Some(l), Some(u)) if l.compare(u) == Ordering::Greater => Err(FieldError::new(
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
            Self::Oracle => crate::address::normalize_address(url, field).map(|_| ()),
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

/// Most decimals an oracle value may be scaled by (10^77 still fits a uint256).
pub const MAX_ORACLE_DECIMALS: u8 = 77;

/// Parses an oracle's view function (`latestAnswer() returns (int256)`, or the `function ... view
/// returns (...)` form) and checks that output `output` (from `selected_key_route`, default 0) is an
/// integer.
pub fn parse_oracle_function(text: &str, output: &str, field: &str) -> Result<(Function, usize), FieldError> {
    let text = text.trim();
    let with_keyword = if text.starts_with("function ") { text.to_string() } else { format!("function {text}") };
    let function = Function::parse(&with_keyword)
        .map_err(|e| FieldError::new("invalid_oracle_function", field, format!("'{text}': {e}")))?;
    if function.outputs.is_empty() {
        return Err(FieldError::new(
            "invalid_oracle_function",
            field,
            format!("'{text}' declares no outputs; write it as e.g. 'latestAnswer() returns (int256)'"),
        ));
    }
    let index: usize = if output.is_empty() {
        0
    } else {
        output.parse().map_err(|_| {
            FieldError::new(
                "invalid_key_route",
                "selected_key_route",
                format!("for an oracle source this is the index of the output to read, not '{output}'"),
            )
        })?
    };
    let Some(chosen) = function.outputs.get(index) else {
        return Err(FieldError::new(
            "invalid_key_route",
            "selected_key_route",
            format!("'{text}' has {} outputs; index {index} is out of range", function.outputs.len()),
        ));
    };
    if !(chosen.ty.starts_with("uint") || chosen.ty.starts_with("int")) {
        return Err(FieldError::new(
            "invalid_oracle_function",
            field,
            format!("output {index} of '{text}' is a {}, not an integer", chosen.ty),
        ));
    }
    Ok((function, index))
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
    fn operators_compare_exact_decimals() {
        let v = d("100.000000000000000001");
        let (l, u) = (d("100"), d("200"));
        assert!(ConditionType::GreaterThan.holds(&v, Some(&l), None));
        assert!(!ConditionType::GreaterThan.holds(&l, Some(&l), None));
        assert!(ConditionType::GreaterEqual.holds(&d("100.00"), Some(&l), None));
        assert!(ConditionType::LessThan.holds(&v, None, Some(&u)));
        assert!(!ConditionType::LessThan.holds(&u, None, Some(&u)));
        assert!(ConditionType::LessEqual.holds(&d("2e2"), None, Some(&u)));
        assert!(ConditionType::Between.holds(&l, Some(&l), Some(&u)));
        assert!(ConditionType::Between.holds(&u, Some(&l), Some(&u)));
        assert!(!ConditionType::Between.holds(&d("200.0001"), Some(&l), Some(&u)));
        assert!(ConditionType::Equals.holds(&d("100.0"), Some(&l), None));
        assert!(!ConditionType::Equals.holds(&v, Some(&l), None));
        assert!(ConditionType::NotEquals.holds(&v, Some(&l), None));
        assert!(!ConditionType::GreaterThan.holds(&v, None, None));
    }

    #[test]
    fn oracle_functions_need_an_integer_output() {
        let (f, i) = parse_oracle_function("latestAnswer() returns (int256)", "", "f").unwrap();
        assert_eq!((f.name.as_str(), i), ("latestAnswer", 0));
        let (_, i) = parse_oracle_function(
            "function latestRoundData() view returns (uint80, int256, uint256, uint256, uint80)",
            "1",
            "f",
        )
        .unwrap();
        assert_eq!(i, 1);
        assert!(parse_oracle_function("latestAnswer()", "", "f").unwrap_err().message.contains("no outputs"));
        assert_eq!(
            parse_oracle_function("name() returns (string)", "", "f").unwrap_err().code,
            "invalid_oracle_function"
        );
        assert_eq!(parse_oracle_function("x() returns (uint256)", "2", "f").unwrap_err().field, "selected_key_route");
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
