//! How domain events carry a time: an RFC 3339 UTC string to the second, `2026-03-02T09:00:00Z`
//! (what the plugins have always written). Reading accepts any RFC 3339 time, with an offset or
//! fractional seconds (the audit scheduler once wrote `2026-03-02T09:00:00.123+00:00`).
//!
//! Use with `#[serde(with = "crate::domain::time")]`, or [`lenient`] for an optional time whose
//! readers fall back to the handling time.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Writes `at` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Reads any RFC 3339 time as UTC.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(serde::de::Error::custom)
}

/// An optional time: written like [`serialize`] (`null` when absent); read leniently, so a
/// missing, `null` or unreadable time is `None` and the reader uses its own fallback.
pub mod lenient {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the time, or `null`.
    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => super::serialize(at, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Reads an RFC 3339 time; anything else is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let value = Option::<serde_json::Value>::deserialize(deserializer)?;
        Ok(value
            .as_ref()
            .and_then(serde_json::Value::as_str)
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.with_timezone(&Utc)))
    }
}
