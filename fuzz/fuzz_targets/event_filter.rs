//! Fuzzes the event-filter language: any text parses or is refused, and a parsed filter evaluates
//! any log of its event without panicking.
#![no_main]

use alloy_dyn_abi::DynSolValue;
use alloy_json_abi::Event;
use alloy_primitives::{Address, I256, U256};
use libfuzzer_sys::fuzz_target;
use triggerx_core::event_filter::EventFilter;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(event) = Event::parse("event E(address indexed from, uint256 value, int128 delta, string note, bytes32 tag)")
    else {
        return;
    };
    if let Ok(filter) = EventFilter::parse(text, &event, "event_filter") {
        let seed = data.len() as u64;
        let values = vec![
            DynSolValue::Address(Address::with_last_byte(seed as u8)),
            DynSolValue::Uint(U256::from(seed), 256),
            DynSolValue::Int(I256::try_from(seed as i64 - 64).unwrap_or_default(), 128),
            DynSolValue::String(text.chars().take(8).collect()),
            DynSolValue::FixedBytes(Default::default(), 32),
        ];
        let _ = filter.matches(&values);
        let _ = filter.uint_range();
    }
});
