//! Times, durations and SLA clocks as the pages show them.

use chrono::{DateTime, Utc};

/// `2026-03-02 09:00 UTC`.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
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
