//! Timestamps: stored as Unix milliseconds, shown as RFC 3339 UTC.

use chrono::{DateTime, TimeZone, Utc};

/// Milliseconds since the Unix epoch.
pub type UnixMillis = i64;

/// The current time in Unix milliseconds.
pub fn now_millis() -> UnixMillis {
    Utc::now().timestamp_millis()
}

/// Converts Unix milliseconds to a UTC date-time (out-of-range values clamp to the epoch).
pub fn to_datetime(millis: UnixMillis) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(millis).single().unwrap_or_default()
}

/// Serde helpers rendering `UnixMillis` as RFC 3339 strings.
pub mod rfc3339 {
    use super::*;
    use serde::Serializer;

    /// Serializes milliseconds as an RFC 3339 string.
    pub fn serialize<S: Serializer>(millis: &UnixMillis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_datetime(*millis).to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }

    /// Serde helpers for `Option<UnixMillis>`.
    pub mod option {
        use super::*;

        /// Serializes optional milliseconds as an RFC 3339 string or null.
        pub fn serialize<S: Serializer>(millis: &Option<UnixMillis>, s: S) -> Result<S::Ok, S::Error> {
            match millis {
                Some(m) => super::serialize(m, s),
                None => s.serialize_none(),
            }
        }
    }
}
