//! Fuzzes log decoding, what an RPC node (untrusted) hands the event scheduler: topics and data of
//! any length against an event with indexed and dynamic parameters.
#![no_main]

use alloy_json_abi::Event;
use alloy_primitives::B256;
use libfuzzer_sys::fuzz_target;
use triggerx_core::event::decode_log_values;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = Event::parse("event E(address indexed from, string indexed label, uint256[] values, bytes note)")
    else {
        return;
    };
    let topic_count = data.first().map_or(0, |n| usize::from(*n % 5));
    let rest = data.get(1..).unwrap_or_default();
    let topics: Vec<B256> = rest.chunks(32).take(topic_count).map(B256::left_padding_from).collect();
    let body = rest.get(topic_count * 32..).unwrap_or_default();
    let _ = decode_log_values(&event, &topics, body);
});
