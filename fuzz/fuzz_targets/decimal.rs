//! Fuzzes decimal parsing and comparison: two texts split at the first newline; comparisons are
//! antisymmetric and reflexive.
#![no_main]

use libfuzzer_sys::fuzz_target;
use triggerx_core::numbers::Decimal;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (a, b) = text.split_once('\n').unwrap_or((text, "0"));
    if let (Ok(x), Ok(y)) = (Decimal::parse(a, "a"), Decimal::parse(b, "b")) {
        assert_eq!(x.compare(&y), y.compare(&x).reverse());
        assert_eq!(x.compare(&x), std::cmp::Ordering::Equal);
        let _ = x.to_f64();
    }
});
