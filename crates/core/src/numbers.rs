//! Numbers from JSON that must not lose precision: decimal values (condition limits, costs) and wei
//! amounts, accepted as JSON numbers or strings and kept as canonical decimal text.

use std::cmp::Ordering;

use alloy_primitives::U256;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::FieldError;

/// A finite decimal number kept as text, e.g. `"1000.5"`, `"-3"`, `"0.000001"`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decimal(String);

impl Decimal {
    /// Validates decimal text: optional sign, digits, optional fraction, optional exponent.
    pub fn parse(text: &str, field: &str) -> Result<Self, FieldError> {
        let t = text.trim();
        let ok = !t.is_empty()
            && t.parse::<f64>().map(f64::is_finite).unwrap_or(false)
            && t.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
        if ok {
            Ok(Decimal(t.trim_start_matches('+').to_string()))
        } else {
            Err(FieldError::new("invalid_number", field, format!("'{t}' is not a decimal number")))
        }
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as f64 (for display and rough checks; comparisons use [`Decimal::compare`]).
    pub fn to_f64(&self) -> f64 {
        self.0.parse().unwrap_or(f64::NAN)
    }

    /// Exact numeric order (`1.50 == 1.5`, `0.1 + tiny` above `0.1`): never goes through a float.
    pub fn compare(&self, other: &Decimal) -> Ordering {
        let (a, b) = (Normalized::of(&self.0), Normalized::of(&other.0));
        match a.sign.cmp(&b.sign) {
            Ordering::Equal if a.sign == 0 => Ordering::Equal,
            Ordering::Equal => {
                let magnitude = a.point.cmp(&b.point).then_with(|| a.digits.cmp(&b.digits));
                if a.sign > 0 { magnitude } else { magnitude.reverse() }
            }
            unequal => unequal,
        }
    }
}

/// value = sign x 0.DIGITS x 10^point, DIGITS without leading or trailing zeros (empty for zero).
struct Normalized {
    sign: i8,
    digits: String,
    point: i128,
}

impl Normalized {
    fn of(text: &str) -> Self {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.trim_start_matches('+')),
        };
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(at) => (&unsigned[..at], saturating_exponent(&unsigned[at + 1..])),
            None => (unsigned, 0),
        };
        let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let joined = format!("{integer}{fraction}");
        let significant = joined.trim_start_matches('0');
        // i128 cannot overflow here: the exponent is clamped to i64 and the lengths are below 2^63.
        let point = integer.len() as i128 + exponent - (joined.len() - significant.len()) as i128;
        let digits = significant.trim_end_matches('0').to_string();
        let sign = match (digits.is_empty(), negative) {
            (true, _) => 0,
            (false, true) => -1,
            (false, false) => 1,
        };
        Normalized { sign, digits, point }
    }
}

/// The exponent of decimal text, clamped to the i64 range: an exponent too large for i64 means a
/// value so large (or so close to zero) that clamping keeps every comparison right, where parsing it
/// as 0 or letting it overflow would not.
fn saturating_exponent(text: &str) -> i128 {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.trim_start_matches('+')),
    };
    let magnitude = match digits.trim_start_matches('0') {
        "" => 0,
        significant if significant.len() > 19 => i128::from(i64::MAX),
        significant => significant.parse::<i128>().unwrap_or(0).min(i128::from(i64::MAX)),
    };
    if negative { -magnitude } else { magnitude }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Emit a JSON number so existing clients (the SDK) read numbers where they sent numbers.
        match serde_json::Number::from_string_unchecked_safe(&self.0) {
            Some(n) => n.serialize(serializer),
            None => serializer.serialize_str(&self.0),
        }
    }
}

/// Builds a JSON number from validated decimal text without going through a lossy float when the
/// text is an integer.
trait NumberFromText {
    fn from_string_unchecked_safe(text: &str) -> Option<serde_json::Number>;
}

impl NumberFromText for serde_json::Number {
    fn from_string_unchecked_safe(text: &str) -> Option<serde_json::Number> {
        if let Ok(i) = text.parse::<i64>() {
            return Some(i.into());
        }
        if let Ok(u) = text.parse::<u64>() {
            return Some(u.into());
        }
        text.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Number(n) => Ok(Decimal(n.to_string())),
            serde_json::Value::String(s) => Decimal::parse(&s, "").map_err(|e| serde::de::Error::custom(e.message)),
            other => Err(serde::de::Error::custom(format!("expected a number, found {other}"))),
        }
    }
}

impl utoipa::PartialSchema for Decimal {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .description(Some("decimal number (a JSON number, or a string for exact values)"))
            .into()
    }
}
impl utoipa::ToSchema for Decimal {}

/// A non-negative integer amount of wei, kept exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Wei(pub U256);

impl Wei {
    /// Parses a non-negative integer given as decimal text.
    pub fn parse(text: &str, field: &str) -> Result<Self, FieldError> {
        let t = text.trim();
        if !t.is_empty()
            && t.bytes().all(|b| b.is_ascii_digit())
            && let Ok(v) = U256::from_str_radix(t, 10)
        {
            return Ok(Wei(v));
        }
        // Accept exact integers written in float notation, e.g. 1e18 or 5.0.
        match t.parse::<f64>() {
            Ok(f) if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 1e38 => Ok(Wei(U256::from(f as u128))),
            _ => Err(FieldError::new(
                "invalid_amount",
                field,
                format!("'{t}' is not a non-negative integer amount of wei"),
            )),
        }
    }
}

impl std::fmt::Display for Wei {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Wei {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Wei {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Number(n) => {
                Wei::parse(&n.to_string(), "").map_err(|e| serde::de::Error::custom(e.message))
            }
            serde_json::Value::String(s) => Wei::parse(&s, "").map_err(|e| serde::de::Error::custom(e.message)),
            serde_json::Value::Null => Ok(Wei::default()),
            other => Err(serde::de::Error::custom(format!("expected an amount of wei, found {other}"))),
        }
    }
}

impl utoipa::PartialSchema for Wei {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9]+$"))
            .description(Some("amount in wei as a decimal string (numbers accepted on input)"))
            .into()
    }
}
impl utoipa::ToSchema for Wei {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_text() {
        assert_eq!(Decimal::parse("1000.5", "f").unwrap().as_str(), "1000.5");
        assert_eq!(Decimal::parse("+2e3", "f").unwrap().to_f64(), 2000.0);
        assert!(Decimal::parse("abc", "f").is_err());
        assert!(Decimal::parse("inf", "f").is_err());
        assert!(Decimal::parse("NaN", "f").is_err());
        let d: Decimal = serde_json::from_str("0.1").unwrap();
        assert_eq!(d.as_str(), "0.1");
        assert_eq!(serde_json::to_string(&d).unwrap(), "0.1");
    }

    #[test]
    fn decimals_compare_exactly() {
        let d = |s: &str| Decimal::parse(s, "f").unwrap();
        let cases = [
            ("1.50", "1.5", Ordering::Equal),
            ("0", "-0.000", Ordering::Equal),
            ("100", "99.999999999999999999999", Ordering::Greater),
            ("0.1000000000000000000001", "0.1", Ordering::Greater),
            ("-2", "-10", Ordering::Greater),
            ("-0.5", "0.1", Ordering::Less),
            ("1e3", "999.9", Ordering::Greater),
            ("2.5E-3", "0.0025", Ordering::Equal),
            ("123456789012345678901234567890", "123456789012345678901234567891", Ordering::Less),
            ("007", "7.000", Ordering::Equal),
        ];
        for (a, b, expected) in cases {
            assert_eq!(d(a).compare(&d(b)), expected, "{a} vs {b}");
            assert_eq!(d(b).compare(&d(a)), expected.reverse(), "{b} vs {a}");
        }
    }

    /// Review M3: exponents at and beyond the i64 range overflowed (a panic in debug builds, a wrong
    /// order in release) or were read as 0.
    #[test]
    fn extreme_exponents_compare_without_overflow() {
        let d = |s: &str| Decimal::parse(s, "f").unwrap();
        let tiny = d("0.01e-9223372036854775808");
        assert_eq!(tiny.compare(&d("100")), Ordering::Less);
        assert_eq!(tiny.compare(&d("0")), Ordering::Greater);
        assert_eq!(d("-0.01e-9223372036854775808").compare(&d("0")), Ordering::Less);
        assert_eq!(d("0e9223372036854775807").compare(&d("0")), Ordering::Equal);
        let tinier = d("5e-99999999999999999999999");
        assert_eq!(tinier.compare(&d("0")), Ordering::Greater);
        assert_eq!(tinier.compare(&d("1e-300")), Ordering::Less);
        assert_eq!(d("1e-0000000000000000000000005").compare(&d("0.00001")), Ordering::Equal);
    }

    #[test]
    fn wei_is_exact() {
        let w: Wei = serde_json::from_str("\"123456789012345678901234567890\"").unwrap();
        assert_eq!(w.to_string(), "123456789012345678901234567890");
        let w: Wei = serde_json::from_str("1e18").unwrap();
        assert_eq!(w.to_string(), "1000000000000000000");
        assert!(serde_json::from_str::<Wei>("-1").is_err());
        assert!(serde_json::from_str::<Wei>("1.5").is_err());
    }
}
