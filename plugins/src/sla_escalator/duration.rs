//! Policy durations: wall-clock time (`4h`, `7d`, `1w`) or business time (`1 business day`,
//! `8 business hours`, `30 business minutes`), counted only inside the configured working week.

use std::fmt;
use std::str::FromStr;

use sentinel_bot::config::HumanDuration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A span written in a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaDuration {
    /// Elapsed real time, whatever the day or hour.
    Wall(chrono::Duration),
    /// Time that only passes inside business hours.
    Business {
        /// How many units.
        amount: u32,
        /// Which unit.
        unit: BusinessUnit,
    },
}

/// The unit of a business-time span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusinessUnit {
    /// One working day: the length of the configured working hours (09:00–17:00 is 8 hours).
    Day,
    /// One hour inside working hours.
    Hour,
    /// One minute inside working hours.
    Minute,
}

/// A resolved span: an amount of real or of business time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The amount.
    pub amount: chrono::Duration,
    /// True when it counts only inside business hours.
    pub business: bool,
}

impl Span {
    /// `fraction` of this span, in the same kind of time.
    pub fn scale(self, fraction: f64) -> Span {
        // Millisecond precision is far finer than anything a deadline is written in.
        let ms = (self.amount.num_milliseconds() as f64 * fraction).round() as i64;
        Span {
            amount: chrono::Duration::milliseconds(ms),
            business: self.business,
        }
    }

    /// This span less `used` (never negative).
    pub fn minus(self, used: chrono::Duration) -> Span {
        Span {
            amount: (self.amount - used).max(chrono::Duration::zero()),
            business: self.business,
        }
    }
}

impl SlaDuration {
    /// No time at all: "immediately".
    pub const ZERO: SlaDuration = SlaDuration::Wall(chrono::Duration::zero());

    /// Whole hours of wall-clock time.
    pub const fn hours(hours: i64) -> Self {
        SlaDuration::Wall(chrono::Duration::hours(hours))
    }

    /// Whole minutes of wall-clock time.
    pub const fn minutes(minutes: i64) -> Self {
        SlaDuration::Wall(chrono::Duration::minutes(minutes))
    }

    /// Whole days of wall-clock time.
    pub const fn days(days: i64) -> Self {
        SlaDuration::Wall(chrono::Duration::days(days))
    }

    /// Whole business days.
    pub const fn business_days(amount: u32) -> Self {
        SlaDuration::Business {
            amount,
            unit: BusinessUnit::Day,
        }
    }

    /// The span this is, given how long a business day is.
    pub fn span(self, business_day: chrono::Duration) -> Span {
        match self {
            SlaDuration::Wall(amount) => Span {
                amount,
                business: false,
            },
            SlaDuration::Business { amount, unit } => {
                let one = match unit {
                    BusinessUnit::Day => business_day,
                    BusinessUnit::Hour => chrono::Duration::hours(1),
                    BusinessUnit::Minute => chrono::Duration::minutes(1),
                };
                Span {
                    amount: one * i32::try_from(amount).unwrap_or(i32::MAX),
                    business: true,
                }
            }
        }
    }

    /// True for a span of no time.
    pub fn is_zero(self) -> bool {
        match self {
            SlaDuration::Wall(d) => d.is_zero(),
            SlaDuration::Business { amount, .. } => amount == 0,
        }
    }
}

impl FromStr for SlaDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let words: Vec<String> = trimmed.split_whitespace().map(str::to_ascii_lowercase).collect();
        if words.iter().any(|w| w == "business") {
            let bad = || {
                format!(
                    "`{text}` is not a business duration such as `1 business day`, `8 business hours` or `30 business minutes`"
                )
            };
            let [amount, business, unit] = words.as_slice() else {
                return Err(bad());
            };
            if business != "business" {
                return Err(bad());
            }
            let amount: u32 = amount.parse().map_err(|_| bad())?;
            let unit = match unit.as_str() {
                "day" | "days" => BusinessUnit::Day,
                "hour" | "hours" => BusinessUnit::Hour,
                "minute" | "minutes" => BusinessUnit::Minute,
                _ => return Err(bad()),
            };
            return Ok(SlaDuration::Business { amount, unit });
        }
        if trimmed == "0" {
            return Ok(SlaDuration::ZERO);
        }
        let human: HumanDuration = trimmed.parse()?;
        chrono::Duration::from_std(human.std())
            .map(SlaDuration::Wall)
            .map_err(|_| format!("`{text}` is too long"))
    }
}

impl fmt::Display for SlaDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlaDuration::Wall(d) => f.write_str(&exact(*d)),
            SlaDuration::Business { amount, unit } => {
                let unit = match unit {
                    BusinessUnit::Day => "day",
                    BusinessUnit::Hour => "hour",
                    BusinessUnit::Minute => "minute",
                };
                let plural = if *amount == 1 { "" } else { "s" };
                write!(f, "{amount} business {unit}{plural}")
            }
        }
    }
}

/// A wall-clock duration in the largest unit that divides it: `1h`, `7d`, `90s`.
fn exact(d: chrono::Duration) -> String {
    let secs = d.num_seconds();
    if secs == 0 {
        return "0m".to_owned();
    }
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

impl<'de> Deserialize<'de> for SlaDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for SlaDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wall_and_business_forms_and_prints_them_back() {
        assert_eq!("4h".parse(), Ok(SlaDuration::hours(4)));
        assert_eq!("1w".parse(), Ok(SlaDuration::days(7)));
        assert_eq!("0".parse(), Ok(SlaDuration::ZERO));
        assert_eq!("1 business day".parse(), Ok(SlaDuration::business_days(1)));
        assert_eq!(
            "8 Business Hours".parse(),
            Ok(SlaDuration::Business {
                amount: 8,
                unit: BusinessUnit::Hour
            })
        );
        assert!("1 business week".parse::<SlaDuration>().is_err());
        assert!("soon".parse::<SlaDuration>().is_err());
        assert_eq!(SlaDuration::days(7).to_string(), "7d");
        assert_eq!(SlaDuration::hours(24).to_string(), "1d");
        assert_eq!(SlaDuration::minutes(15).to_string(), "15m");
        assert_eq!(SlaDuration::business_days(2).to_string(), "2 business days");
    }

    #[test]
    fn a_business_day_is_as_long_as_the_working_hours() {
        let span = SlaDuration::business_days(2).span(chrono::Duration::hours(8));
        assert_eq!(span.amount, chrono::Duration::hours(16));
        assert!(span.business);
        assert_eq!(span.scale(0.75).amount, chrono::Duration::hours(12));
    }
}
