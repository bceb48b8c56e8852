//! Durations written the way people say them: `90s`, `15m`, `4h`, `7d`, `1w`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A span of time read from config in human form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub std::time::Duration);

impl HumanDuration {
    /// From whole seconds.
    pub const fn secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }

    /// From whole milliseconds.
    pub const fn millis(millis: u64) -> Self {
        Self(std::time::Duration::from_millis(millis))
    }

    /// From whole minutes.
    pub const fn minutes(minutes: u64) -> Self {
        Self::secs(minutes * 60)
    }

    /// From whole hours.
    pub const fn hours(hours: u64) -> Self {
        Self::secs(hours * 3600)
    }

    /// From whole days.
    pub const fn days(days: u64) -> Self {
        Self::secs(days * 86_400)
    }

    /// As a `std` duration.
    pub fn std(self) -> std::time::Duration {
        self.0
    }

    /// As a `chrono` duration (saturating at chrono's range, far beyond any real setting).
    pub fn chrono(self) -> chrono::Duration {
        chrono::Duration::from_std(self.0).unwrap_or(chrono::Duration::MAX)
    }
}

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(text.trim())
            .map(HumanDuration)
            .map_err(|err| format!("`{text}` is not a duration such as 90s, 15m, 4h or 7d ({err})"))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_human_forms() {
        assert_eq!("90s".parse(), Ok(HumanDuration::secs(90)));
        assert_eq!("4h".parse(), Ok(HumanDuration::hours(4)));
        assert_eq!("7d".parse(), Ok(HumanDuration::days(7)));
        assert_eq!("1h 30m".parse(), Ok(HumanDuration::minutes(90)));
        assert!("soon".parse::<HumanDuration>().is_err());
    }
}
