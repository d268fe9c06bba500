//! Time schedules: a fixed interval, a cron expression (with optional seconds) or a list of specific
//! instants, each read in an IANA time zone; computes the next occurrence.

use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde::{Deserialize, Serialize};

use crate::FieldError;

/// Shortest interval a job may use, in seconds.
pub const MIN_INTERVAL_SECONDS: u64 = 1;
/// Longest interval a job may use, in seconds (ten years).
pub const MAX_INTERVAL_SECONDS: u64 = 10 * 365 * 24 * 3600;
/// Most instants one `specific_schedule` may list.
pub const MAX_SPECIFIC_INSTANTS: usize = 1000;

/// How a time job's occurrences are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleType {
    /// Every `time_interval` seconds, first at creation + interval.
    Interval,
    /// At the instants a cron expression matches.
    Cron,
    /// At the listed instants.
    Specific,
}

impl ScheduleType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interval => "interval",
            Self::Cron => "cron",
            Self::Specific => "specific",
        }
    }

    /// From the wire name.
    pub fn parse(text: &str, field: &str) -> Result<Self, FieldError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "interval" | "" => Ok(Self::Interval),
            "cron" => Ok(Self::Cron),
            "specific" => Ok(Self::Specific),
            other => Err(FieldError::new(
                "invalid_schedule_type",
                field,
                format!("'{other}' is not one of interval, cron, specific"),
            )),
        }
    }
}

/// A validated schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Every `seconds`.
    Interval {
        /// Period in seconds.
        seconds: u64,
    },
    /// Cron expression (5 or 6 fields; 6 means seconds first), evaluated in the job's time zone.
    Cron {
        /// The expression as given.
        expression: String,
        /// Parsed form.
        cron: Box<Cron>,
    },
    /// Specific instants, sorted ascending.
    Specific {
        /// The instants.
        instants: Vec<DateTime<Utc>>,
    },
}

/// Parses an IANA time zone name; an empty name means UTC.
pub fn parse_timezone(name: &str, field: &str) -> Result<Tz, FieldError> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(Tz::UTC);
    }
    Tz::from_str(name)
        .map_err(|_| FieldError::new("invalid_timezone", field, format!("'{name}' is not an IANA time zone")))
}

/// Parses a cron expression with optional seconds.
pub fn parse_cron(expression: &str, field: &str) -> Result<Cron, FieldError> {
    let parser = CronParser::builder().seconds(Seconds::Optional).build();
    parser
        .parse(expression.trim())
        .map_err(|e| FieldError::new("invalid_cron", field, format!("'{}': {e}", expression.trim())))
}

/// Parses a specific schedule: instants separated by commas (or a JSON array of strings / numbers),
/// each RFC 3339, `YYYY-MM-DD HH:MM[:SS]` in the job's time zone, or Unix seconds.
pub fn parse_specific(text: &str, tz: Tz, field: &str) -> Result<Vec<DateTime<Utc>>, FieldError> {
    let items: Vec<String> = match serde_json::from_str::<Vec<serde_json::Value>>(text) {
        Ok(values) => {
            values.into_iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect()
        }
        Err(_) => text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
    };
    if items.is_empty() {
        return Err(FieldError::new("invalid_schedule", field, "no instants given"));
    }
    if items.len() > MAX_SPECIFIC_INSTANTS {
        return Err(FieldError::new("invalid_schedule", field, format!("at most {MAX_SPECIFIC_INSTANTS} instants")));
    }
    let mut instants = items.iter().map(|item| parse_instant(item, tz, field)).collect::<Result<Vec<_>, _>>()?;
    instants.sort();
    instants.dedup();
    Ok(instants)
}

fn parse_instant(item: &str, tz: Tz, field: &str) -> Result<DateTime<Utc>, FieldError> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(item) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(secs) = item.parse::<i64>()
        && let Some(dt) = Utc.timestamp_opt(secs, 0).single()
    {
        return Ok(dt);
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(item, format) {
            // A local time skipped by a DST change does not exist; an ambiguous one takes the earlier.
            return tz.from_local_datetime(&naive).earliest().map(|dt| dt.with_timezone(&Utc)).ok_or_else(|| {
                FieldError::new("invalid_schedule", field, format!("'{item}' does not exist in {tz} (DST gap)"))
            });
        }
    }
    Err(FieldError::new(
        "invalid_schedule",
        field,
        format!("'{item}' is not an RFC 3339 time, local date-time or Unix seconds"),
    ))
}

impl Schedule {
    /// Validates an interval in seconds.
    pub fn interval(seconds: i64, field: &str) -> Result<Self, FieldError> {
        match u64::try_from(seconds) {
            Ok(s) if (MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(&s) => Ok(Self::Interval { seconds: s }),
            _ => Err(FieldError::new(
                "invalid_interval",
                field,
                format!("interval must be {MIN_INTERVAL_SECONDS}..={MAX_INTERVAL_SECONDS} seconds, got {seconds}"),
            )),
        }
    }

    /// Validates a cron schedule.
    pub fn cron(expression: &str, field: &str) -> Result<Self, FieldError> {
        let cron = parse_cron(expression, field)?;
        Ok(Self::Cron { expression: expression.trim().to_string(), cron: Box::new(cron) })
    }

    /// The first occurrence strictly after `after`, in zone `tz`; `None` when there is none.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        match self {
            Self::Interval { seconds } => {
                after.checked_add_signed(chrono::Duration::seconds(i64::try_from(*seconds).ok()?))
            }
            Self::Cron { cron, expression } => {
                // Cron instants are whole seconds: search from the whole second of `after` (strictly
                // after it), and drop any sub-second part croner carries over.
                next_cron_instant(cron, after.with_nanosecond(0)?, tz, every_hour(expression))
            }
            Self::Specific { instants } => instants.iter().copied().find(|i| *i > after),
        }
    }
}

/// Whether a cron expression's hour field is a wildcard (`*`, `*/n`): such a job runs through the hour
/// the clocks repeat, as in Vixie cron; a job at fixed hours runs once.
fn every_hour(expression: &str) -> bool {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    let hour = if fields.len() >= 6 { fields.get(2) } else { fields.get(1) };
    hour.is_some_and(|h| h.starts_with('*'))
}

/// The first instant strictly after `whole` whose wall time in `tz` matches `cron`. Croner alone skips
/// the repeated hour when the clocks go back (found by a property test: an every-second job lost an
/// hour of occurrences), so for jobs that run every hour the wall clock is also searched one UTC
/// offset at a time, each held fixed, and the earliest valid instant wins.
fn next_cron_instant(cron: &Cron, whole: DateTime<Utc>, tz: Tz, repeated_hour_runs: bool) -> Option<DateTime<Utc>> {
    let offset = |t: DateTime<Utc>| t.with_timezone(&tz).offset().fix();
    let utc = |t: DateTime<chrono::FixedOffset>| t.with_timezone(&Utc).with_nanosecond(0);
    let mut best = cron
        .find_next_occurrence(&whole.with_timezone(&tz), false)
        .ok()
        .and_then(|t| t.with_timezone(&Utc).with_nanosecond(0))
        .filter(|t| *t > whole);
    if !repeated_hour_runs {
        return best;
    }
    let (mut from, mut inclusive) = (whole, false);
    for _ in 0..4 {
        let fixed = offset(from);
        let Some(candidate) = cron.find_next_occurrence(&from.with_timezone(&fixed), inclusive).ok().and_then(utc)
        else {
            break;
        };
        if candidate <= whole {
            break;
        }
        if offset(candidate) == fixed {
            best = Some(best.map_or(candidate, |b| b.min(candidate)));
            break;
        }
        // The offset changes before the candidate: go on from the first instant of the next offset.
        let (mut before, mut changed) = (from, candidate);
        while (changed - before).num_seconds() > 1 {
            let middle = before + (changed - before) / 2;
            if offset(middle) == fixed {
                before = middle;
            } else {
                changed = middle;
            }
        }
        if best.is_some_and(|b| b < changed) {
            break;
        }
        (from, inclusive) = (changed, true);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_the_clocks_go_back_hourly_jobs_run_through_the_repeated_hour_and_fixed_ones_once() {
        let tz = parse_timezone("America/New_York", "tz").unwrap();
        // 2026-11-01 02:00 EDT becomes 01:00 EST (06:00 UTC).
        let every_minute = Schedule::cron("0 * * * * *", "cron").unwrap();
        let last_edt = Utc.with_ymd_and_hms(2026, 11, 1, 5, 59, 0).unwrap();
        assert_eq!(every_minute.next_after(last_edt, tz).unwrap(), Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap());
        let daily = Schedule::cron("0 30 1 * * *", "cron").unwrap();
        let first = daily.next_after(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(), tz).unwrap();
        assert_eq!(first, Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap(), "01:30 EDT");
        let second = daily.next_after(first, tz).unwrap();
        assert_eq!(second, Utc.with_ymd_and_hms(2026, 11, 2, 6, 30, 0).unwrap(), "not again at 01:30 EST");
    }

    #[test]
    fn cron_with_seconds_respects_time_zone_and_dst() {
        let tz = parse_timezone("Europe/Berlin", "tz").unwrap();
        let daily = Schedule::cron("0 0 9 * * *", "cron").unwrap();
        // Berlin moves from UTC+1 to UTC+2 on 2026-03-29: 09:00 local is 08:00 UTC before, 07:00 UTC after.
        let before = Utc.with_ymd_and_hms(2026, 3, 28, 0, 0, 0).unwrap();
        let first = daily.next_after(before, tz).unwrap();
        assert_eq!(first, Utc.with_ymd_and_hms(2026, 3, 28, 8, 0, 0).unwrap());
        let second = daily.next_after(first, tz).unwrap();
        assert_eq!(second, Utc.with_ymd_and_hms(2026, 3, 29, 7, 0, 0).unwrap());
        let every_5s = Schedule::cron("*/5 * * * * *", "cron").unwrap();
        let with_millis = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 4).unwrap() + chrono::Duration::milliseconds(135);
        assert_eq!(
            every_5s.next_after(with_millis, Tz::UTC).unwrap(),
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 5).unwrap(),
            "cron instants are whole seconds"
        );
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 1).unwrap();
        assert_eq!(every_5s.next_after(t, Tz::UTC).unwrap(), Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 5).unwrap());
    }

    #[test]
    fn cron_in_zone_fires_at_local_time() {
        let tz = parse_timezone("Asia/Kolkata", "tz").unwrap();
        let daily = Schedule::cron("0 9 * * *", "cron").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        // 09:00 IST is 03:30 UTC.
        assert_eq!(daily.next_after(t, tz).unwrap(), Utc.with_ymd_and_hms(2026, 1, 1, 3, 30, 0).unwrap());
    }

    #[test]
    fn specific_instants_in_many_forms() {
        let tz = parse_timezone("America/New_York", "tz").unwrap();
        let list = parse_specific("2026-07-01 12:00, 2026-01-01T00:00:00Z, 1800000000", tz, "s").unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0], Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(list[1], Utc.with_ymd_and_hms(2026, 7, 1, 16, 0, 0).unwrap());
        let json = parse_specific(r#"["2026-01-01T00:00:00Z"]"#, tz, "s").unwrap();
        assert_eq!(json.len(), 1);
        assert!(parse_specific("2026-03-08 02:30", tz, "s").is_err(), "DST gap must be refused");
        assert!(parse_specific("tomorrow", tz, "s").is_err());
    }

    #[test]
    fn rejects_bad_inputs() {
        assert_eq!(parse_cron("61 * * * *", "c").unwrap_err().code, "invalid_cron");
        assert_eq!(parse_timezone("Mars/Olympus", "t").unwrap_err().code, "invalid_timezone");
        assert!(Schedule::interval(0, "i").is_err());
        assert!(Schedule::interval(-5, "i").is_err());
        assert!(ScheduleType::parse("weekly", "s").is_err());
    }
}
