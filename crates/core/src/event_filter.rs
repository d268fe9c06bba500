//! Event filters: comparisons on any parameter of the event, indexed or not, combined with `&&` and
//! `||` (and parentheses), e.g. `value > 1000 && to == 0xabc...`. Values are compared after decoding the
//! log with the event's ABI: numbers as 256-bit integers (signed for `intN`), everything else by
//! equality. The original's single filter (`event_filter_para_name == event_filter_value`) is the
//! one-comparison case.

use alloy_dyn_abi::{DynSolType, DynSolValue, Specifier};
use alloy_json_abi::Event;
use alloy_primitives::U256;

use crate::FieldError;
use crate::event::{filter_parameter_index, parse_event};
use crate::job::EventTrigger;

/// Longest filter expression accepted.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses an expression may have (the parser recurses once per level, so an
/// unbounded depth would let a request overflow the stack).
pub const MAX_FILTER_DEPTH: usize = 32;

/// A comparison operator.
/// The event and the whole filter of an event trigger: the original's single filter AND the expression.
pub fn compile(trigger: &EventTrigger) -> Result<(Event, EventFilter), FieldError> {
    let event = parse_event(&trigger.trigger_event, "trigger_event")?;
    let single = EventFilter::single(
        &event,
        &trigger.event_filter_para_name,
        &trigger.event_filter_value,
        "event_filter_value",
    )?;
    let expression = EventFilter::parse(&trigger.event_filter, &event, "event_filter")?;
    let filter = match (single, expression) {
        (EventFilter::Always, other) | (other, EventFilter::Always) => other,
        (a, b) => EventFilter::All(vec![a, b]),
    };
    Ok((event, filter))
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl CompareOp {
    fn is_ordering(self) -> bool {
        !matches!(self, CompareOp::Eq | CompareOp::Ne)
    }

    fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CompareOp::Eq => ordering == Equal,
            CompareOp::Ne => ordering != Equal,
            CompareOp::Gt => ordering == Greater,
            CompareOp::Ge => ordering != Less,
            CompareOp::Lt => ordering == Less,
            CompareOp::Le => ordering != Greater,
        }
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum EventFilter {
    /// Every log matches.
    Always,
    /// Parameter `index` (position in the event's inputs) compared with `value`.
    Compare {
        /// Parameter position.
        index: usize,
        /// Operator.
        op: CompareOp,
        /// The literal, converted to the parameter's type.
        value: DynSolValue,
    },
    /// Every part matches.
    All(Vec<EventFilter>),
    /// Some part matches.
    Any(Vec<EventFilter>),
}

fn cmp_values(a: &DynSolValue, b: &DynSolValue) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (DynSolValue::Uint(x, _), DynSolValue::Uint(y, _)) => Some(x.cmp(y)),
        (DynSolValue::Int(x, _), DynSolValue::Int(y, _)) => Some(x.cmp(y)),
        // Other types only meet == and != (the parser refuses ordering operators on them).
        _ if a == b => Some(std::cmp::Ordering::Equal),
        _ => Some(std::cmp::Ordering::Greater),
    }
}

impl EventFilter {
    /// The original's single filter: parameter `name` equals `value` (no filter when `name` is empty).
    pub fn single(event: &Event, name: &str, value: &str, field: &str) -> Result<Self, FieldError> {
        if name.trim().is_empty() {
            return Ok(EventFilter::Always);
        }
        let index = filter_parameter_index(event, name, field)?;
        Ok(EventFilter::Compare {
            index,
            op: CompareOp::Eq,
            value: literal(event, index, value, CompareOp::Eq, field)?,
        })
    }

    /// Parses `expression` against `event`'s parameters (an empty expression matches every log).
    pub fn parse(expression: &str, event: &Event, field: &str) -> Result<Self, FieldError> {
        if expression.len() > MAX_FILTER_LEN {
            return Err(FieldError::new("invalid_filter", field, format!("longer than {MAX_FILTER_LEN} characters")));
        }
        let tokens = tokenize(expression, field)?;
        if tokens.is_empty() {
            return Ok(EventFilter::Always);
        }
        let mut parser = Parser { tokens, position: 0, depth: 0, event, field };
        let filter = parser.or()?;
        if let Some(extra) = parser.tokens.get(parser.position) {
            return Err(FieldError::new("invalid_filter", field, format!("unexpected '{}'", extra.text())));
        }
        Ok(filter)
    }

    /// The range of one unsigned parameter every matching log must fall in, when the filter implies one
    /// (a comparison, or a conjunction with comparisons on that parameter): `(index, low, high)`,
    /// inclusive. Schedulers index jobs by it; `matches` stays the judge.
    pub fn uint_range(&self) -> Option<(usize, U256, U256)> {
        match self {
            EventFilter::Compare { index, op, value: DynSolValue::Uint(v, _) } => {
                let v = *v;
                let (low, high) = match op {
                    CompareOp::Eq => (v, v),
                    CompareOp::Gt => (v.checked_add(U256::from(1))?, U256::MAX),
                    CompareOp::Ge => (v, U256::MAX),
                    CompareOp::Lt => (U256::ZERO, v.checked_sub(U256::from(1))?),
                    CompareOp::Le => (U256::ZERO, v),
                    CompareOp::Ne => return None,
                };
                Some((*index, low, high))
            }
            EventFilter::All(parts) => {
                let mut found: Option<(usize, U256, U256)> = None;
                for (index, low, high) in parts.iter().filter_map(EventFilter::uint_range) {
                    found = match found {
                        None => Some((index, low, high)),
                        Some((i, l, h)) if i == index => Some((i, l.max(low), h.min(high))),
                        other => other,
                    };
                }
                found
            }
            _ => None,
        }
    }

    /// Whether a log whose parameters decoded to `values` (in the event's input order) matches.
    pub fn matches(&self, values: &[DynSolValue]) -> bool {
        match self {
            EventFilter::Always => true,
            EventFilter::Compare { index, op, value } => values
                .get(*index)
                .and_then(|actual| cmp_values(actual, value))
                .is_some_and(|ordering| op.holds(ordering)),
            EventFilter::All(parts) => parts.iter().all(|p| p.matches(values)),
            EventFilter::Any(parts) => parts.iter().any(|p| p.matches(values)),
        }
    }
}

fn literal(event: &Event, index: usize, text: &str, op: CompareOp, field: &str) -> Result<DynSolValue, FieldError> {
    let param = &event.inputs[index];
    let ty: DynSolType =
        param.resolve().map_err(|e| FieldError::new("invalid_event", field, format!("type '{}': {e}", param.ty)))?;
    let name = if param.name.is_empty() { format!("arg{index}") } else { param.name.clone() };
    let hashed = param.indexed
        && matches!(
            ty,
            DynSolType::String
                | DynSolType::Bytes
                | DynSolType::Array(_)
                | DynSolType::FixedArray(..)
                | DynSolType::Tuple(_)
        );
    if hashed {
        return Err(FieldError::new(
            "invalid_filter",
            field,
            format!(
                "'{name}' is an indexed {}: the log holds only its hash, so it cannot be compared",
                ty.sol_type_name()
            ),
        ));
    }
    if op.is_ordering() && !matches!(ty, DynSolType::Uint(_) | DynSolType::Int(_)) {
        return Err(FieldError::new(
            "invalid_filter",
            field,
            format!("'{name}' is a {}: only == and != apply to it", ty.sol_type_name()),
        ));
    }
    ty.coerce_str(text.trim()).map_err(|e| {
        FieldError::new(
            "invalid_filter",
            field,
            format!("'{text}' is not a valid {} for '{name}': {e}", ty.sol_type_name()),
        )
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Op(CompareOp),
    And,
    Or,
    Open,
    Close,
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Word(w) => w.clone(),
            Token::Quoted(q) => format!("\"{q}\""),
            Token::Op(op) => format!("{op:?}"),
            Token::And => "&&".into(),
            Token::Or => "||".into(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
        }
    }
}

fn tokenize(text: &str, field: &str) -> Result<Vec<Token>, FieldError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '&' if next == Some('&') => {
                tokens.push(Token::And);
                i += 2;
            }
            '|' if next == Some('|') => {
                tokens.push(Token::Or);
                i += 2;
            }
            '=' if next == Some('=') => {
                tokens.push(Token::Op(CompareOp::Eq));
                i += 2;
            }
            '!' if next == Some('=') => {
                tokens.push(Token::Op(CompareOp::Ne));
                i += 2;
            }
            '>' | '<' => {
                let or_equal = next == Some('=');
                tokens.push(Token::Op(match (c, or_equal) {
                    ('>', true) => CompareOp::Ge,
                    ('>', false) => CompareOp::Gt,
                    (_, true) => CompareOp::Le,
                    _ => CompareOp::Lt,
                }));
                i += if or_equal { 2 } else { 1 };
            }
            '"' | '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == c)
                    .ok_or_else(|| FieldError::new("invalid_filter", field, "unterminated quoted value"))?;
                tokens.push(Token::Quoted(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() && !"()&|=!<>\"'".contains(chars[i]) {
                    i += 1;
                }
                if start == i {
                    return Err(FieldError::new("invalid_filter", field, format!("unexpected '{c}'")));
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(match word.to_ascii_lowercase().as_str() {
                    "and" => Token::And,
                    "or" => Token::Or,
                    _ => Token::Word(word),
                });
            }
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    position: usize,
    /// Parentheses open at the current position.
    depth: usize,
    event: &'a Event,
    field: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn take(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn error(&self, message: impl Into<String>) -> FieldError {
        FieldError::new("invalid_filter", self.field, message)
    }

    fn or(&mut self) -> Result<EventFilter, FieldError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.take();
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { EventFilter::Any(parts) })
    }

    fn and(&mut self) -> Result<EventFilter, FieldError> {
        let mut parts = vec![self.comparison()?];
        while self.peek() == Some(&Token::And) {
            self.take();
            parts.push(self.comparison()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { EventFilter::All(parts) })
    }

    fn comparison(&mut self) -> Result<EventFilter, FieldError> {
        match self.take() {
            Some(Token::Open) => {
                self.depth += 1;
                if self.depth > MAX_FILTER_DEPTH {
                    return Err(self.error(format!("parentheses nested deeper than {MAX_FILTER_DEPTH} levels")));
                }
                let inner = self.or()?;
                self.depth -= 1;
                match self.take() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(self.error("missing ')'")),
                }
            }
            Some(Token::Word(name)) => {
                let index = filter_parameter_index(self.event, &name, self.field)?;
                let op = match self.take() {
                    Some(Token::Op(op)) => op,
                    other => {
                        return Err(self.error(format!(
                            "expected ==, !=, >, >=, < or <= after '{name}', found {}",
                            other.map(|t| format!("'{}'", t.text())).unwrap_or_else(|| "the end".into())
                        )));
                    }
                };
                let text = match self.take() {
                    Some(Token::Word(w)) | Some(Token::Quoted(w)) => w,
                    _ => return Err(self.error(format!("missing the value '{name}' is compared with"))),
                };
                Ok(EventFilter::Compare { index, op, value: literal(self.event, index, &text, op, self.field)? })
            }
            Some(other) => Err(self.error(format!("expected a parameter name, found '{}'", other.text()))),
            None => Err(self.error("the expression ends too early")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use alloy_primitives::{Address, I256};

    use super::*;
    use crate::event::parse_event;

    fn transfer() -> Event {
        parse_event("Transfer(address indexed from, address indexed to, uint256 value)", "e").unwrap()
    }

    fn log(from: u8, to: u8, value: u64) -> Vec<DynSolValue> {
        vec![
            DynSolValue::Address(Address::repeat_byte(from)),
            DynSolValue::Address(Address::repeat_byte(to)),
            DynSolValue::Uint(U256::from(value), 256),
        ]
    }

    #[test]
    fn compares_indexed_and_non_indexed_parameters() {
        let to = format!("{}", Address::repeat_byte(0xab));
        let filter = EventFilter::parse(&format!("value > 1000 && to == {to}"), &transfer(), "f").unwrap();
        assert!(filter.matches(&log(1, 0xab, 1001)));
        assert!(!filter.matches(&log(1, 0xab, 1000)), "> is strict");
        assert!(!filter.matches(&log(1, 0xac, 5000)), "other recipient");
        // Literals take what Solidity tooling takes: `1e3` is 1000, `1 gwei` is 10^9.
        let either = EventFilter::parse(
            "(value <= 10 || value >= 1e3) and from != 0x0101010101010101010101010101010101010101",
            &transfer(),
            "f",
        )
        .unwrap();
        assert!(either.matches(&log(2, 3, 5)) && either.matches(&log(2, 3, 1000)));
        assert!(!either.matches(&log(2, 3, 500)) && !either.matches(&log(1, 3, 5)));
        assert_eq!(EventFilter::parse("  ", &transfer(), "f").unwrap(), EventFilter::Always);
    }

    #[test]
    fn signed_values_and_positional_names() {
        let event = parse_event("Moved(int256 delta, string note)", "e").unwrap();
        let filter = EventFilter::parse("arg0 < -5 && note == \"big move\"", &event, "f").unwrap();
        let values =
            |d: i64, n: &str| vec![DynSolValue::Int(I256::try_from(d).unwrap(), 256), DynSolValue::String(n.into())];
        assert!(filter.matches(&values(-6, "big move")));
        assert!(!filter.matches(&values(-5, "big move")) && !filter.matches(&values(-9, "small")));
    }

    /// Review M2: 2,040 nested parentheses (within the length limit) overflowed the parser's stack.
    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let nested = |depth: usize| format!("{}value > 1{}", "(".repeat(depth), ")".repeat(depth));
        assert!(nested(2040).len() <= MAX_FILTER_LEN);
        let error = EventFilter::parse(&nested(2040), &transfer(), "event_filter").unwrap_err();
        assert!(error.to_string().contains("nested deeper than 32"), "{error}");
        let deepest = EventFilter::parse(&nested(MAX_FILTER_DEPTH), &transfer(), "event_filter").unwrap();
        assert!(deepest.matches(&log(1, 2, 2)) && !deepest.matches(&log(1, 2, 1)));
        assert!(EventFilter::parse(&nested(MAX_FILTER_DEPTH + 1), &transfer(), "event_filter").is_err());
    }

    #[test]
    fn bad_filters_say_what_is_wrong() {
        let cases = [
            ("amount > 5", "not a parameter"),
            ("value >", "missing the value"),
            ("value 5", "expected =="),
            ("to > 0x0101010101010101010101010101010101010101", "only == and !="),
            ("value == abc", "not a valid uint256"),
            ("(value == 1", "missing ')'"),
            ("value == 1 value == 2", "unexpected"),
            ("value == 'x", "unterminated"),
        ];
        for (expression, expected) in cases {
            let error = EventFilter::parse(expression, &transfer(), "event_filter").unwrap_err();
            assert!(error.to_string().contains(expected), "{expression}: {error}");
        }
        let hashed = parse_event("Named(string indexed name)", "e").unwrap();
        let error = EventFilter::parse("name == \"x\"", &hashed, "f").unwrap_err();
        assert!(error.to_string().contains("only its hash"), "{error}");
    }

    #[test]
    fn ranges_implied_by_filters() {
        let range = |text: &str| EventFilter::parse(text, &transfer(), "f").unwrap().uint_range();
        let u = U256::from;
        assert_eq!(range("value >= 10 && value < 15"), Some((2, u(10), u(14))));
        assert_eq!(range("value == 7 && to == 0x0101010101010101010101010101010101010101"), Some((2, u(7), u(7))));
        assert_eq!(range("value > 3"), Some((2, u(4), U256::MAX)));
        assert_eq!(range("value < 0"), None, "empty: no index, the filter judges");
        assert_eq!(range("value > 3 || value < 1"), None);
        assert_eq!(range("value != 3"), None);
    }

    #[test]
    fn the_originals_single_filter() {
        let filter = EventFilter::single(&transfer(), "value", "7", "f").unwrap();
        assert!(filter.matches(&log(1, 2, 7)) && !filter.matches(&log(1, 2, 8)));
        assert_eq!(EventFilter::single(&transfer(), "", "", "f").unwrap(), EventFilter::Always);
    }
}
