//! Fuzzes the value route of condition sources: a route (first line) walked through any document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use triggerx_core::value_route::value_at_route;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (route, document) = text.split_once('\n').unwrap_or(("", text));
    let _ = value_at_route(document, route);
});
