//! Event triggers: the event given as a signature or a JSON ABI event, its topic0, and the original's
//! single-parameter filter (`event_filter_para_name` / `event_filter_value`).

use alloy_dyn_abi::{DynSolValue, EventExt};
use alloy_json_abi::Event;
use alloy_primitives::B256;

use crate::FieldError;

/// Parses `trigger_event`: `Transfer(address,address,uint256)`, a signature with names and `indexed`,
/// or a JSON ABI event object.
pub fn parse_event(text: &str, field: &str) -> Result<Event, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(FieldError::new("missing_field", field, "the event is empty"));
    }
    if t.starts_with('{') {
        return serde_json::from_str::<Event>(t)
            .map_err(|e| FieldError::new("invalid_event", field, format!("not a JSON ABI event: {e}")));
    }
    Event::parse(t)
        .map_err(|e| FieldError::new("invalid_event", field, format!("'{t}' is not an event signature: {e}")))
}

/// Finds the parameter a filter names: by its name, or by position as `N` or `argN`.
pub fn filter_parameter_index(event: &Event, name: &str, field: &str) -> Result<usize, FieldError> {
    let name = name.trim();
    if let Some(i) = event.inputs.iter().position(|p| !p.name.is_empty() && p.name == name) {
        return Ok(i);
    }
    let positional = name.strip_prefix("arg").unwrap_or(name).parse::<usize>().ok();
    match positional {
        Some(i) if i < event.inputs.len() => Ok(i),
        _ => Err(FieldError::new(
            "unknown_event_parameter",
            field,
            format!("'{name}' is not a parameter of {} (use its name, or its position as argN)", event.signature()),
        )),
    }
}

/// Decodes a log of `event` into its parameters in declaration order (indexed ones from the topics,
/// the others from the data).
pub fn decode_log_values(event: &Event, topics: &[B256], data: &[u8]) -> Result<Vec<DynSolValue>, FieldError> {
    let decoded = event
        .decode_log_parts(topics.iter().copied(), data)
        .map_err(|e| FieldError::new("undecodable_log", "log", format!("not a {} log: {e}", event.signature())))?;
    let (mut indexed, mut body) = (decoded.indexed.into_iter(), decoded.body.into_iter());
    event
        .inputs
        .iter()
        .map(|p| if p.indexed { indexed.next() } else { body.next() })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| FieldError::new("undecodable_log", "log", format!("{} log is incomplete", event.signature())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signatures_and_abi() {
        let e = parse_event("Transfer(address,address,uint256)", "e").unwrap();
        assert_eq!(e.selector(), alloy_primitives::keccak256("Transfer(address,address,uint256)"));
        let named = parse_event("Transfer(address indexed from, address indexed to, uint256 value)", "e").unwrap();
        assert_eq!(filter_parameter_index(&named, "value", "f").unwrap(), 2);
        assert_eq!(filter_parameter_index(&e, "arg1", "f").unwrap(), 1);
        assert!(filter_parameter_index(&e, "amount", "f").is_err());
        let abi = r#"{"type":"event","name":"Ping","anonymous":false,"inputs":[{"name":"n","type":"uint256","indexed":false}]}"#;
        assert_eq!(parse_event(abi, "e").unwrap().name, "Ping");
        assert!(parse_event("Transfer(address,", "e").is_err());
    }
}
