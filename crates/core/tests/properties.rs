//! Property tests of the parsers strangers feed: the event-filter language against a model of its
//! meaning, decimal comparison against exact integer arithmetic, interval / cron / specific schedules,
//! and argument conversion round trips. Any input text must give a value or an error, never a panic.
#![allow(clippy::unwrap_used)]

use alloy_dyn_abi::{DynSolValue, JsonAbiExt};
use alloy_json_abi::{Event, Function};
use alloy_primitives::{Address, I256, U256};
use chrono::{DateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use triggerx_core::abi_args::{convert_arguments, encode_call, render_values};
use triggerx_core::event_filter::EventFilter;
use triggerx_core::numbers::Decimal;
use triggerx_core::schedule::{Schedule, parse_specific};

fn transfer() -> Event {
    Event::parse("event Transfer(address indexed from, address indexed to, uint256 value)").unwrap()
}

/// A filter expression over `value` and its meaning.
#[derive(Debug, Clone)]
enum Expr {
    Compare(&'static str, u128),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    fn text(&self) -> String {
        match self {
            Expr::Compare(op, n) => format!("value {op} {n}"),
            Expr::And(a, b) => format!("({} && {})", a.text(), b.text()),
            Expr::Or(a, b) => format!("({} || {})", a.text(), b.text()),
        }
    }

    fn holds(&self, value: u128) -> bool {
        match self {
            Expr::Compare(op, n) => match *op {
                "==" => value == *n,
                "!=" => value != *n,
                ">" => value > *n,
                ">=" => value >= *n,
                "<" => value < *n,
                _ => value <= *n,
            },
            Expr::And(a, b) => a.holds(value) && b.holds(value),
            Expr::Or(a, b) => a.holds(value) || b.holds(value),
        }
    }
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = (prop::sample::select(vec!["==", "!=", ">", ">=", "<", "<="]), 0u128..2_000)
        .prop_map(|(op, n)| Expr::Compare(op, n));
    leaf.prop_recursive(5, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn log_values(value: u128) -> Vec<DynSolValue> {
    vec![
        DynSolValue::Address(Address::with_last_byte(1)),
        DynSolValue::Address(Address::with_last_byte(2)),
        DynSolValue::Uint(U256::from(value), 256),
    ]
}

/// `mantissa` x 10^-`scale` written out as a decimal literal.
fn decimal_text(mantissa: i64, scale: u32) -> String {
    let digits = mantissa.unsigned_abs().to_string();
    let sign = if mantissa < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale as usize + 1);
    let (int, frac) = padded.split_at(padded.len() - scale as usize);
    format!("{sign}{int}.{frac}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_filter_means_what_its_expression_says(e in expr(), value in 0u128..2_100) {
        let filter = EventFilter::parse(&e.text(), &transfer(), "event_filter").unwrap();
        prop_assert_eq!(filter.matches(&log_values(value)), e.holds(value), "{}", e.text());
    }

    #[test]
    fn any_filter_text_parses_or_is_refused(text in "[a-z0-9 ()&|=!<>\"'.x-]{0,200}") {
        let _ = EventFilter::parse(&text, &transfer(), "event_filter");
    }

    #[test]
    fn a_uint_range_the_filter_implies_holds_for_every_match(e in expr(), value in 0u128..2_100) {
        let filter = EventFilter::parse(&e.text(), &transfer(), "event_filter").unwrap();
        if let Some((index, low, high)) = filter.uint_range() {
            prop_assert_eq!(index, 2);
            if e.holds(value) {
                prop_assert!(U256::from(value) >= low && U256::from(value) <= high, "{} outside {}..={}", value, low, high);
            }
        }
    }

    #[test]
    fn decimals_compare_like_exact_numbers(a in any::<i64>(), sa in 0u32..12, b in any::<i64>(), sb in 0u32..12) {
        let (x, y) = (Decimal::parse(&decimal_text(a, sa), "x").unwrap(), Decimal::parse(&decimal_text(b, sb), "y").unwrap());
        // a / 10^sa against b / 10^sb, exactly: a * 10^sb against b * 10^sa (fits in i128).
        let exact = (i128::from(a) * 10i128.pow(sb)).cmp(&(i128::from(b) * 10i128.pow(sa)));
        prop_assert_eq!(x.compare(&y), exact, "{} vs {}", x, y);
        prop_assert_eq!(y.compare(&x), exact.reverse());
    }

    #[test]
    fn exponent_forms_compare_equal_to_their_plain_forms(m in -1_000_000i64..1_000_000, e in -30i32..30) {
        let plain = if e >= 0 {
            format!("{m}{}", "0".repeat(e as usize))
        } else {
            decimal_text(m, e.unsigned_abs())
        };
        let x = Decimal::parse(&format!("{m}e{e}"), "x").unwrap();
        let y = Decimal::parse(&plain, "y").unwrap();
        prop_assert_eq!(x.compare(&y), std::cmp::Ordering::Equal, "{}e{} vs {}", m, e, plain);
    }

    #[test]
    fn any_number_text_parses_or_is_refused_and_compares(a in "[-+0-9.eE]{0,40}", b in "[-+0-9.eE]{0,40}") {
        if let (Ok(x), Ok(y)) = (Decimal::parse(&a, "a"), Decimal::parse(&b, "b")) {
            prop_assert_eq!(x.compare(&y), y.compare(&x).reverse());
            prop_assert_eq!(x.compare(&x), std::cmp::Ordering::Equal);
        }
    }

    #[test]
    fn an_interval_schedule_steps_by_its_interval(seconds in 1i64..100_000, start in 0i64..4_000_000_000) {
        let schedule = Schedule::interval(seconds, "interval").unwrap();
        let after = Utc.timestamp_opt(start, 0).unwrap();
        let next = schedule.next_after(after, Tz::UTC).unwrap();
        prop_assert_eq!((next - after).num_seconds(), seconds);
    }

    #[test]
    fn a_cron_schedule_gives_the_next_matching_second(step in prop::sample::select(vec![1u32, 2, 3, 5, 10, 15, 30]),
                                                        start in 0i64..4_000_000_000, millis in 0i64..1000,
                                                        zone in prop::sample::select(vec!["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])) {
        let tz: Tz = zone.parse().unwrap();
        let schedule = Schedule::cron(&format!("*/{step} * * * * *"), "cron").unwrap();
        let after = Utc.timestamp_opt(start, 0).unwrap() + chrono::Duration::milliseconds(millis);
        let next = schedule.next_after(after, tz).unwrap();
        prop_assert!(next > after);
        prop_assert_eq!(next.nanosecond(), 0);
        prop_assert_eq!(next.second() % step, 0);
        prop_assert!((next - after).num_milliseconds() <= i64::from(step) * 1000, "{} after {}", next, after);
    }

    #[test]
    fn a_specific_schedule_visits_each_instant_once_in_order(instants in prop::collection::vec(0i64..4_000_000_000, 1..50)) {
        let text = instants.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ");
        let parsed = parse_specific(&text, Tz::UTC, "schedule").unwrap();
        let schedule = Schedule::Specific { instants: parsed.clone() };
        let mut expected: Vec<DateTime<Utc>> = instants.iter().map(|s| Utc.timestamp_opt(*s, 0).unwrap()).collect();
        expected.sort();
        expected.dedup();
        prop_assert_eq!(&parsed, &expected);
        let mut visited = Vec::new();
        let mut cursor = Utc.timestamp_opt(-1, 0).unwrap();
        while let Some(next) = schedule.next_after(cursor, Tz::UTC) {
            visited.push(next);
            cursor = next;
        }
        prop_assert_eq!(visited, expected);
    }

    #[test]
    fn any_schedule_text_parses_or_is_refused(text in "[0-9 ,:T\\-Z\\[\\]\"]{0,80}", cron in "[0-9*/, \\-A-Z?LW#]{0,40}") {
        let _ = parse_specific(&text, Tz::UTC, "schedule");
        let _ = Schedule::cron(&cron, "cron");
    }

    #[test]
    fn converted_arguments_encode_and_decode_to_what_was_given(
        amount in any::<u128>(), delta in any::<i64>(), flag in any::<bool>(), to in any::<[u8; 20]>(), note in "\\PC{0,40}"
    ) {
        let function = Function::parse("function call(uint256 amount, int256 delta, bool flag, address to, string note)").unwrap();
        let to = Address::from(to);
        let given = vec![amount.to_string(), delta.to_string(), flag.to_string(), format!("{to:#x}"), note.clone()];
        let values = convert_arguments(&function, &given, "arguments").unwrap();
        prop_assert_eq!(render_values(&values), given);
        let calldata = encode_call(&function, &values, "arguments").unwrap();
        let decoded = function.abi_decode_input(&calldata[4..]).unwrap();
        prop_assert_eq!(decoded, vec![
            DynSolValue::Uint(U256::from(amount), 256),
            DynSolValue::Int(I256::try_from(delta).unwrap(), 256),
            DynSolValue::Bool(flag),
            DynSolValue::Address(to),
            DynSolValue::String(note),
        ]);
        let _ = function.abi_encode_input(&values).unwrap();
    }

    #[test]
    fn any_argument_text_converts_or_is_refused(texts in prop::collection::vec("\\PC{0,30}", 4)) {
        let function = Function::parse("function call(uint8 a, int16 b, bytes4 c, address[] d)").unwrap();
        if let Ok(values) = convert_arguments(&function, &texts, "arguments") {
            prop_assert!(encode_call(&function, &values, "arguments").is_ok());
        }
    }
}
