//! Times, durations and SLA clocks as the pages show them.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// `2026-03-02 09:00 UTC`. Written field by field: a page lists a time per row, and chrono's
/// `format` parses its pattern again at every call.
pub fn time(at: DateTime<Utc>) -> String {
    let year = at.year();
    if !(0..=9999).contains(&year) {
        // chrono writes such years with a sign; keep its form for them.
        return at.format("%Y-%m-%d %H:%M UTC").to_string();
    }
    format!(
        "{year:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.month(),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// A duration in words (`3h 5m`), as chat shows it.
pub fn span(span: chrono::Duration) -> String {
    sentinel_bot::chat::duration::human(span)
}

/// A deadline as a live clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    /// `in 59m` or `overdue by 3m`, at render.
    pub words: String,
    /// The deadline, for the countdown script.
    pub deadline_ms: i64,
    /// The deadline, readable.
    pub at: String,
    /// The deadline passed (or a breach was recorded).
    pub breached: bool,
}

impl Clock {
    /// The clock of `deadline` at `now`; `breached` is the breach the SLA escalator recorded.
    pub fn new(deadline: DateTime<Utc>, now: DateTime<Utc>, breached: bool) -> Self {
        let left = deadline - now;
        let words = if left >= chrono::Duration::zero() {
            format!("in {}", span(left))
        } else {
            format!("overdue by {}", span(-left))
        };
        Self {
            words,
            deadline_ms: deadline.timestamp_millis(),
            at: time(deadline),
            breached: breached || left < chrono::Duration::zero(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn times_read_as_chrono_formats_them() {
        for ms in [
            0,
            1_772_442_000_000,
            1_772_445_599_999,
            253_402_300_799_000,
            -62_135_596_800_000,
        ] {
            let at = Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
            assert_eq!(time(at), at.format("%Y-%m-%d %H:%M UTC").to_string(), "{ms}");
        }
        let far = Utc.with_ymd_and_hms(12_345, 6, 7, 8, 9, 0).single().unwrap_or_default();
        assert_eq!(time(far), far.format("%Y-%m-%d %H:%M UTC").to_string());
    }
}
