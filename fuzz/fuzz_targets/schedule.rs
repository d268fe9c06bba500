//! Fuzzes schedules: specific instants (first line, in the time zone of the second) and cron
//! expressions (third line), each asked for its next occurrences.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use triggerx_core::schedule::{Schedule, parse_specific, parse_timezone};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let (specific, zone, cron) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    let tz = parse_timezone(zone, "timezone").unwrap_or(chrono_tz::Tz::UTC);
    let Some(start) = Utc.timestamp_opt(1_700_000_000, 0).single() else { return };
    if let Ok(instants) = parse_specific(specific, tz, "schedule") {
        let _ = Schedule::Specific { instants }.next_after(start, tz);
    }
    if let Ok(schedule) = Schedule::cron(cron, "cron") {
        let mut at = start;
        for _ in 0..3 {
            match schedule.next_after(at, tz) {
                Some(next) => {
                    assert!(next > at);
                    at = next;
                }
                None => break,
            }
        }
    }
});
