//! Report periods: a calendar month or quarter in the plugin's time zone.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// A month (`2026-03`) or a quarter (`2026-Q1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    /// A calendar month, 1-12.
    Month(i32, u32),
    /// A calendar quarter, 1-4.
    Quarter(i32, u32),
}

impl Period {
    /// The month containing `at` in `tz`.
    pub fn month_of(at: DateTime<Utc>, tz: Tz) -> Self {
        let local = at.with_timezone(&tz);
        Period::Month(local.year(), local.month())
    }

    /// The quarter containing `at` in `tz`.
    pub fn quarter_of(at: DateTime<Utc>, tz: Tz) -> Self {
        let local = at.with_timezone(&tz);
        Period::Quarter(local.year(), (local.month() - 1) / 3 + 1)
    }

    /// The period before this one, of the same kind.
    pub fn previous(self) -> Self {
        match self {
            Period::Month(year, 1) => Period::Month(year - 1, 12),
            Period::Month(year, month) => Period::Month(year, month - 1),
            Period::Quarter(year, 1) => Period::Quarter(year - 1, 4),
            Period::Quarter(year, quarter) => Period::Quarter(year, quarter - 1),
        }
    }

    /// The period after this one.
    pub fn next(self) -> Self {
        match self {
            Period::Month(year, 12) => Period::Month(year + 1, 1),
            Period::Month(year, month) => Period::Month(year, month + 1),
            Period::Quarter(year, 4) => Period::Quarter(year + 1, 1),
            Period::Quarter(year, quarter) => Period::Quarter(year, quarter + 1),
        }
    }

    fn first_day(self) -> NaiveDate {
        let (year, month) = match self {
            Period::Month(year, month) => (year, month),
            Period::Quarter(year, quarter) => (year, (quarter - 1) * 3 + 1),
        };
        NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default()
    }

    /// The first instant of the period in `tz`.
    pub fn start(self, tz: Tz) -> DateTime<Utc> {
        local_midnight(self.first_day(), tz)
    }

    /// The first instant after the period in `tz`.
    pub fn end(self, tz: Tz) -> DateTime<Utc> {
        self.next().start(tz)
    }

    /// The last calendar day of the period.
    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or_default()
    }

    /// The first calendar day of the period.
    pub fn first_date(self) -> NaiveDate {
        self.first_day()
    }

    /// How people name it: `March 2026`, `Q1 2026`.
    pub fn label(self) -> String {
        match self {
            Period::Month(..) => self.first_day().format("%B %Y").to_string(),
            Period::Quarter(year, quarter) => format!("Q{quarter} {year}"),
        }
    }

    /// Whether the period has ended by `now`.
    pub fn is_complete(self, now: DateTime<Utc>, tz: Tz) -> bool {
        self.end(tz) <= now
    }

    /// `monthly` or `quarterly`.
    pub fn kind(self) -> &'static str {
        match self {
            Period::Month(..) => "monthly",
            Period::Quarter(..) => "quarterly",
        }
    }
}

/// Midnight of `date` in `tz`; on a day that starts in a DST gap, the first instant that exists.
fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        chrono::LocalResult::None => {
            let later = midnight + chrono::Duration::hours(1);
            tz.from_local_datetime(&later)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month(year, month) => write!(f, "{year:04}-{month:02}"),
            Period::Quarter(year, quarter) => write!(f, "{year:04}-Q{quarter}"),
        }
    }
}

impl FromStr for Period {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not a month such as 2026-03 or a quarter such as 2026-Q1");
        let (year, rest) = text.trim().split_once('-').ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        if !(1970..=9999).contains(&year) {
            return Err(bad());
        }
        if let Some(quarter) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
            let quarter: u32 = quarter.parse().map_err(|_| bad())?;
            return (1..=4)
                .contains(&quarter)
                .then_some(Period::Quarter(year, quarter))
                .ok_or_else(bad);
        }
        let month: u32 = rest.parse().map_err(|_| bad())?;
        (1..=12)
            .contains(&month)
            .then_some(Period::Month(year, month))
            .ok_or_else(bad)
    }
}
