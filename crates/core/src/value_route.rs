//! Reads the watched value out of a JSON document by `selected_key_route`: a dot path whose numeric
//! parts index arrays (`data.0.price`); without a route, the document itself when it is a number,
//! else the first of the original's fallback fields. Numbers keep their exact text (the document is
//! walked as raw JSON, never through f64), and numeric strings (`"price": "64000.12"`) count as numbers.

use serde_json::value::RawValue;
use std::collections::HashMap;

use crate::numbers::Decimal;

/// Fields tried in order when a job gives no route (the original's fallback).
pub const FALLBACK_FIELDS: [&str; 6] = ["value", "price", "usd", "rate", "result", "data"];

/// Why no value could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RouteError(pub String);

fn child<'a>(raw: &'a RawValue, segment: &str, walked: &str) -> Result<&'a RawValue, RouteError> {
    let text = raw.get().trim_start();
    if text.starts_with('{') {
        let object: HashMap<String, &RawValue> = serde_json::from_str(raw.get())
            .map_err(|e| RouteError(format!("'{walked}' is not a valid JSON object: {e}")))?;
        object.get(segment).copied().ok_or_else(|| RouteError(format!("'{walked}' has no key '{segment}'")))
    } else if text.starts_with('[') {
        let array: Vec<&RawValue> = serde_json::from_str(raw.get())
            .map_err(|e| RouteError(format!("'{walked}' is not a valid JSON array: {e}")))?;
        let index: usize =
            segment.parse().map_err(|_| RouteError(format!("'{walked}' is an array; '{segment}' is not an index")))?;
        array.get(index).copied().ok_or_else(|| {
            RouteError(format!("'{walked}' has {} elements; index {index} is out of range", array.len()))
        })
    } else {
        Err(RouteError(format!("'{walked}' is a value, not an object or array; cannot take '{segment}'")))
    }
}

fn number(raw: &RawValue, walked: &str) -> Result<Decimal, RouteError> {
    let text = raw.get().trim();
    let candidate = if text.starts_with('"') {
        serde_json::from_str::<String>(text).map_err(|e| RouteError(format!("'{walked}': {e}")))?
    } else {
        text.to_string()
    };
    // The value itself is never quoted: a source's content must not come back through job views.
    Decimal::parse(&candidate, walked).map_err(|_| {
        let kind = match text.chars().next() {
            Some('"') => format!("a string of {} characters", candidate.chars().count()),
            Some('{') => "an object".to_string(),
            Some('[') => "an array".to_string(),
            Some('t' | 'f') => "a boolean".to_string(),
            Some('n') => "null".to_string(),
            _ => "not a decimal".to_string(),
        };
        RouteError(format!("'{walked}' is {kind}, not a number"))
    })
}

/// The decimal value at `route` in the JSON `document`.
pub fn value_at_route(document: &str, route: &str) -> Result<Decimal, RouteError> {
    let root: &RawValue =
        serde_json::from_str(document).map_err(|e| RouteError(format!("the response is not JSON: {e}")))?;
    if route.is_empty() {
        let text = root.get().trim_start();
        if !text.starts_with('{') {
            return number(root, "the response");
        }
        let object: HashMap<String, &RawValue> =
            serde_json::from_str(root.get()).map_err(|e| RouteError(format!("the response: {e}")))?;
        return FALLBACK_FIELDS
            .iter()
            .find_map(|field| object.get(*field).map(|raw| number(raw, field)))
            .unwrap_or_else(|| {
                Err(RouteError(format!(
                    "no selected_key_route and none of the fields {} in the response",
                    FALLBACK_FIELDS.join(", ")
                )))
            });
    }
    let mut current = root;
    let mut walked = String::new();
    for segment in route.split('.') {
        let here = if walked.is_empty() { "the response".to_string() } else { walked.clone() };
        current = child(current, segment, &here)?;
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(segment);
    }
    number(current, &walked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_keys_and_array_indices_exactly() {
        let doc = r#"{"data":[{"price":"64000.120000000000000001"},{"price":1e3}],"ok":true}"#;
        assert_eq!(value_at_route(doc, "data.0.price").unwrap().as_str(), "64000.120000000000000001");
        assert_eq!(value_at_route(doc, "data.1.price").unwrap().to_f64(), 1000.0);
        assert_eq!(value_at_route("42.5", "").unwrap().as_str(), "42.5");
        assert_eq!(value_at_route(r#"{"usd": 3.25, "rate": 9}"#, "").unwrap().as_str(), "3.25");
        assert_eq!(value_at_route(r#"{"1": {"x": 5}}"#, "1.x").unwrap().as_str(), "5");
    }

    #[test]
    fn errors_name_where_the_path_broke() {
        let doc = r#"{"data":[{"price":"n/a"}],"ok":true}"#;
        assert_eq!(
            value_at_route(doc, "data.3.price").unwrap_err().0,
            "'data' has 1 elements; index 3 is out of range"
        );
        assert_eq!(value_at_route(doc, "data.x").unwrap_err().0, "'data' is an array; 'x' is not an index");
        assert_eq!(value_at_route(doc, "prices").unwrap_err().0, "'the response' has no key 'prices'");
        assert_eq!(
            value_at_route(doc, "data.0.price").unwrap_err().0,
            "'data.0.price' is a string of 3 characters, not a number"
        );
        assert_eq!(
            value_at_route(doc, "ok.x").unwrap_err().0,
            "'ok' is a value, not an object or array; cannot take 'x'"
        );
        assert!(value_at_route("<html>", "").unwrap_err().0.starts_with("the response is not JSON"));
        assert!(value_at_route(r#"{"other": 1}"#, "").unwrap_err().0.contains("none of the fields"));
    }
}
