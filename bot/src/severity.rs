//! The four severity levels every alert, incident and SLA policy speaks in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How bad something is, from the security guide's levels. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fix in the normal cycle.
    Low,
    /// Fix within the month.
    Medium,
    /// Fix within the week.
    High,
    /// Drop everything.
    Critical,
}

impl Severity {
    /// Every level, most severe first.
    pub const ALL: [Severity; 4] = [Severity::Critical, Severity::High, Severity::Medium, Severity::Low];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    /// A coloured marker for text renderings.
    pub fn emoji(self) -> &'static str {
        match self {
            Severity::Critical => "🔴",
            Severity::High => "🟠",
            Severity::Medium => "🟡",
            Severity::Low => "🔵",
        }
    }

    /// An RGB colour for embeds and attachments.
    pub fn colour(self) -> u32 {
        match self {
            Severity::Critical => 0xD0_21_2E,
            Severity::High => 0xF5_7C_00,
            Severity::Medium => 0xF2_C7_44,
            Severity::Low => 0x2F_80_ED,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of `critical`, `high`, `medium`, `low`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}` (expected critical, high, medium or low)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "critical" | "crit" | "p1" => Ok(Severity::Critical),
            "high" | "p2" => Ok(Severity::High),
            "medium" | "moderate" | "med" | "p3" => Ok(Severity::Medium),
            "low" | "p4" => Ok(Severity::Low),
            _ => Err(UnknownSeverity(text.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_github_aliases_and_orders_by_badness() {
        assert_eq!("Moderate".parse::<Severity>(), Ok(Severity::Medium));
        assert_eq!(" critical ".parse::<Severity>(), Ok(Severity::Critical));
        assert!("severe".parse::<Severity>().is_err());
        assert!(Severity::Critical > Severity::High && Severity::Medium > Severity::Low);
    }
}
