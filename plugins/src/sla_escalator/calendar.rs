//! Business-hours arithmetic: adding business time to an instant and measuring the business time
//! between two instants, in the configured zone, across weekends and daylight-saving changes.
//!
//! Business time passes only inside each working day's window (e.g. 09:00–17:00 local time, Monday
//! to Friday). Windows are turned into UTC instants one local date at a time, so a window on a day
//! the clocks change is exactly as long as it really is.

use std::str::FromStr;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use super::config::BusinessHoursConfig;
use super::duration::Span;

/// How far ahead a search for business time gives up: a calendar must have at least one working
/// day a week, so this is only reached by absurd spans.
const MAX_DAYS: u32 = 366 * 20;

/// A working week in a time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    tz: Tz,
    days: [bool; 7],
    start: NaiveTime,
    end: NaiveTime,
}

impl BusinessCalendar {
    /// Parses `config`; the error names the offending key (relative to `business_hours`).
    pub fn from_config(config: &BusinessHoursConfig) -> Result<Self, (&'static str, String)> {
        let tz = Tz::from_str(config.time_zone.trim()).map_err(|_| {
            (
                "time_zone",
                format!("`{}` is not an IANA time zone such as Europe/Berlin", config.time_zone),
            )
        })?;
        let mut days = [false; 7];
        for day in &config.days {
            let weekday = Weekday::from_str(day.trim())
                .map_err(|_| ("days", format!("`{day}` is not a weekday such as Mon or Tuesday")))?;
            days[weekday.num_days_from_monday() as usize] = true;
        }
        if !days.contains(&true) {
            return Err(("days", "at least one working day is needed".to_owned()));
        }
        let time = |key: &'static str, text: &str| {
            NaiveTime::parse_from_str(text.trim(), "%H:%M")
                .map_err(|_| (key, format!("`{text}` is not a time such as 09:00")))
        };
        let start = time("start", &config.start)?;
        let end = time("end", &config.end)?;
        if end <= start {
            return Err((
                "end",
                format!("the working day must end after it starts ({})", config.start),
            ));
        }
        Ok(Self { tz, days, start, end })
    }

    /// The length of one working day: what `1 business day` means.
    pub fn day_length(&self) -> chrono::Duration {
        self.end - self.start
    }

    /// `from` plus `span`: plain addition for wall-clock time; for business time, the instant at
    /// which that much working time has passed (counting from the next window when `from` is outside one).
    pub fn add(&self, from: DateTime<Utc>, span: Span) -> DateTime<Utc> {
        if !span.business {
            return from + span.amount;
        }
        let mut remaining = span.amount;
        if remaining <= chrono::Duration::zero() {
            return from;
        }
        let mut date = from.with_timezone(&self.tz).date_naive();
        for _ in 0..MAX_DAYS {
            if let Some((open, close)) = self.window(date) {
                let begin = open.max(from);
                if begin < close {
                    let available = close - begin;
                    if remaining <= available {
                        return begin + remaining;
                    }
                    remaining -= available;
                }
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        DateTime::<Utc>::MAX_UTC
    }

    /// The time of `span`'s kind that passed between `from` and `to`: wall-clock time, or only
    /// the part inside business hours. Zero when `to` is not after `from`.
    pub fn elapsed(&self, from: DateTime<Utc>, to: DateTime<Utc>, business: bool) -> chrono::Duration {
        if to <= from {
            return chrono::Duration::zero();
        }
        if !business {
            return to - from;
        }
        let mut total = chrono::Duration::zero();
        let mut date = from.with_timezone(&self.tz).date_naive();
        let last = to.with_timezone(&self.tz).date_naive();
        while date <= last {
            if let Some((open, close)) = self.window(date) {
                let begin = open.max(from);
                let end = close.min(to);
                if begin < end {
                    total += end - begin;
                }
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        total
    }

    /// The working window of a local date, as UTC instants; `None` on a day off.
    fn window(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.days[date.weekday().num_days_from_monday() as usize] {
            return None;
        }
        let open = self.instant(date, self.start);
        let close = self.instant(date, self.end);
        (open < close).then_some((open, close))
    }

    /// The UTC instant of a local wall-clock time. In an autumn overlap the first occurrence
    /// counts; a time skipped by a spring gap is read with the offset before the gap, which lands
    /// as far after the gap as it was into it (02:30 on a 02:00→03:00 day is 03:30).
    fn instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = date.and_time(time);
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
            LocalResult::None => {
                let before = self.tz.offset_from_utc_datetime(&(local - chrono::Duration::days(1)));
                let offset = chrono::Offset::fix(&before);
                Utc.from_utc_datetime(&(local - chrono::Duration::seconds(i64::from(offset.local_minus_utc()))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(tz: &str, days: &[&str], start: &str, end: &str) -> BusinessCalendar {
        let config = BusinessHoursConfig {
            time_zone: tz.to_owned(),
            days: days.iter().map(|d| (*d).to_owned()).collect(),
            start: start.to_owned(),
            end: end.to_owned(),
        };
        match BusinessCalendar::from_config(&config) {
            Ok(calendar) => calendar,
            Err(err) => panic!("{err:?}"),
        }
    }

    fn berlin() -> BusinessCalendar {
        calendar("Europe/Berlin", &["Mon", "Tue", "Wed", "Thu", "Fri"], "09:00", "17:00")
    }

    fn utc(text: &str) -> DateTime<Utc> {
        match DateTime::parse_from_rfc3339(text) {
            Ok(at) => at.with_timezone(&Utc),
            Err(err) => panic!("{text}: {err}"),
        }
    }

    fn business(hours: i64) -> Span {
        Span {
            amount: chrono::Duration::hours(hours),
            business: true,
        }
    }

    #[test]
    fn a_business_day_from_friday_afternoon_ends_on_monday_afternoon() {
        let cal = berlin();
        // Friday 2026-03-06 16:00 CET (15:00 UTC): one hour left on Friday, seven on Monday.
        let end = cal.add(utc("2026-03-06T15:00:00Z"), business(8));
        assert_eq!(end, utc("2026-03-09T15:00:00Z")); // Monday 16:00 CET
        assert_eq!(
            cal.elapsed(utc("2026-03-06T15:00:00Z"), end, true),
            chrono::Duration::hours(8)
        );
        // Starting on Saturday counts from Monday's opening.
        assert_eq!(
            cal.add(utc("2026-03-07T10:00:00Z"), business(8)),
            utc("2026-03-09T16:00:00Z")
        );
        // Exactly at closing time, the next working window is where it goes on.
        assert_eq!(
            cal.add(utc("2026-03-06T16:00:00Z"), business(1)),
            utc("2026-03-09T09:00:00Z")
        );
    }

    #[test]
    fn the_weekend_of_the_spring_dst_change_shifts_the_utc_hour_of_opening() {
        let cal = berlin();
        // Friday 2026-03-27 16:00 CET = 15:00 UTC; the clocks go forward on Sunday 2026-03-29.
        // Monday opens at 09:00 CEST = 07:00 UTC, so seven business hours end at 16:00 CEST = 14:00 UTC.
        let from = utc("2026-03-27T15:00:00Z");
        let end = cal.add(from, business(8));
        assert_eq!(end, utc("2026-03-30T14:00:00Z"));
        // Naive UTC arithmetic would have said 15:00 UTC (17:00 CEST), an hour late.
        assert_ne!(end, utc("2026-03-30T15:00:00Z"));
        assert_eq!(cal.elapsed(from, end, true), chrono::Duration::hours(8));
        // Over the whole weekend only the Friday hour and the Monday hours count.
        assert_eq!(
            cal.elapsed(from, utc("2026-03-30T08:00:00Z"), true),
            chrono::Duration::hours(2)
        );
    }

    #[test]
    fn a_window_on_the_day_the_clocks_change_is_as_long_as_it_really_is() {
        // Sunday-only hours 01:00–05:00 in Berlin: on 2026-03-29 that is 00:00–03:00 UTC, three hours.
        let cal = calendar("Europe/Berlin", &["Sun"], "01:00", "05:00");
        let from = utc("2026-03-28T12:00:00Z");
        assert_eq!(cal.add(from, business(3)), utc("2026-03-29T03:00:00Z"));
        // The fourth hour comes from the next Sunday (01:00 CEST = 23:00 UTC on Saturday).
        assert_eq!(cal.add(from, business(4)), utc("2026-04-05T00:00:00Z"));
        // In autumn (2026-10-25) the same window is five hours long: 00:00–04:00 UTC.
        let autumn = utc("2026-10-24T12:00:00Z");
        assert_eq!(cal.add(autumn, business(5)), utc("2026-10-25T04:00:00Z"));
    }

    #[test]
    fn a_time_inside_the_spring_gap_is_read_after_the_gap() {
        let cal = calendar("Europe/Berlin", &["Sun"], "02:30", "06:00");
        // 02:30 does not exist on 2026-03-29; it is read as 03:30 CEST = 01:30 UTC; 06:00 CEST = 04:00 UTC.
        assert_eq!(
            cal.add(utc("2026-03-28T12:00:00Z"), business(1)),
            utc("2026-03-29T02:30:00Z")
        );
        assert_eq!(
            cal.elapsed(utc("2026-03-28T12:00:00Z"), utc("2026-03-29T12:00:00Z"), true),
            chrono::Duration::minutes(150)
        );
    }

    #[test]
    fn wall_clock_spans_ignore_the_calendar() {
        let cal = berlin();
        let span = Span {
            amount: chrono::Duration::hours(4),
            business: false,
        };
        assert_eq!(cal.add(utc("2026-03-28T10:00:00Z"), span), utc("2026-03-28T14:00:00Z"));
        assert_eq!(
            cal.elapsed(utc("2026-03-28T10:00:00Z"), utc("2026-03-28T14:00:00Z"), false),
            chrono::Duration::hours(4)
        );
    }

    #[test]
    fn bad_settings_name_their_key() {
        let bad = BusinessHoursConfig {
            time_zone: "Mars/Olympus".into(),
            ..BusinessHoursConfig::default()
        };
        assert_eq!(BusinessCalendar::from_config(&bad).map_err(|e| e.0), Err("time_zone"));
        let bad = BusinessHoursConfig {
            start: "18:00".into(),
            ..BusinessHoursConfig::default()
        };
        assert_eq!(BusinessCalendar::from_config(&bad).map_err(|e| e.0), Err("end"));
        let bad = BusinessHoursConfig {
            days: vec!["Funday".into()],
            ..BusinessHoursConfig::default()
        };
        assert_eq!(BusinessCalendar::from_config(&bad).map_err(|e| e.0), Err("days"));
    }
}
