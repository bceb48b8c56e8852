//! Escalation levels, escalation steps and the per-severity policy, with the defaults from the
//! security monitoring guide: its SLA table (response / resolution time per severity) and its
//! escalation matrix (L1 team lead, 1 business day → L2 security champion, 4 h → L3 repository
//! owner, 1 h → L4 emergency contact, immediate).

use std::fmt;

use sentinel_bot::Severity;
use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;
use super::config::BusinessHoursConfig;
use super::duration::SlaDuration;

/// Who is notified, from the guide's escalation matrix; ordered from L1 to L4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// L1: the team lead.
    TeamLead,
    /// L2: the security champion.
    SecurityChampion,
    /// L3: the repository owner.
    RepositoryOwner,
    /// L4: the emergency contact.
    EmergencyContact,
}

impl Level {
    /// Every level, L1 first.
    pub const ALL: [Level; 4] = [
        Level::TeamLead,
        Level::SecurityChampion,
        Level::RepositoryOwner,
        Level::EmergencyContact,
    ];

    /// The config and event name: `team_lead`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Level::TeamLead => "team_lead",
            Level::SecurityChampion => "security_champion",
            Level::RepositoryOwner => "repository_owner",
            Level::EmergencyContact => "emergency_contact",
        }
    }

    /// The name people read: `L3 repository owner`.
    pub fn label(self) -> &'static str {
        match self {
            Level::TeamLead => "L1 team lead",
            Level::SecurityChampion => "L2 security champion",
            Level::RepositoryOwner => "L3 repository owner",
            Level::EmergencyContact => "L4 emergency contact",
        }
    }

    /// One level higher; the emergency contact is the top and stays.
    pub fn next(self) -> Level {
        match self {
            Level::TeamLead => Level::SecurityChampion,
            Level::SecurityChampion => Level::RepositoryOwner,
            Level::RepositoryOwner | Level::EmergencyContact => Level::EmergencyContact,
        }
    }

    /// Parses the config and event name.
    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|level| level.as_str() == name)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One step of an escalation chain: `after` the incident opened, notify a level, and remind it
/// `repeat` more times `repeat_every` apart until someone acknowledges. A step's reminders stop
/// when the next step starts.
// No container `default`: a step without `notify` means nothing, so the key is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// How long after the incident opened this step notifies ("0s" = at once). Wall-clock ("1h")
    /// or business time ("1 business day").
    #[serde(default = "zero")]
    pub after: SlaDuration,
    /// The level notified: team_lead, security_champion, repository_owner or emergency_contact.
    pub notify: Level,
    /// How long to wait between reminders to the same level; required when `repeat` > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_every: Option<SlaDuration>,
    /// How many reminders follow the first notification (0 = none).
    #[serde(default)]
    pub repeat: u32,
}

fn zero() -> SlaDuration {
    SlaDuration::ZERO
}

impl Step {
    fn new(after: SlaDuration, notify: Level, repeat_every: SlaDuration, repeat: u32) -> Self {
        Self {
            after,
            notify,
            repeat_every: (repeat > 0).then_some(repeat_every),
            repeat,
        }
    }
}

/// The policy of one severity, as in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeverityPolicy {
    /// Time to acknowledge.
    pub respond: SlaDuration,
    /// Time to resolve.
    pub resolve: SlaDuration,
    /// Fractions of each deadline at which a warning is posted.
    pub warn_at: Vec<f64>,
    /// The escalation chain, in the order its steps start.
    pub steps: Vec<Step>,
}

/// The guide's defaults. Each chain starts at the level the issue names for the severity and
/// climbs one level when that level's own response time from the escalation matrix passes
/// unanswered (L3 has 1 h, L2 4 h, L1 1 business day) and again at the response deadline, where
/// the breach is posted to the next level.
pub fn default_policy(severity: Severity) -> SeverityPolicy {
    use Level::*;
    let (respond, resolve, steps) = match severity {
        Severity::Critical => (
            SlaDuration::hours(1),
            SlaDuration::hours(24),
            vec![Step::new(
                SlaDuration::ZERO,
                EmergencyContact,
                SlaDuration::minutes(15),
                3,
            )],
        ),
        Severity::High => (
            SlaDuration::hours(4),
            SlaDuration::days(7),
            vec![
                Step::new(SlaDuration::ZERO, RepositoryOwner, SlaDuration::minutes(30), 1),
                Step::new(SlaDuration::hours(1), EmergencyContact, SlaDuration::hours(1), 2),
            ],
        ),
        Severity::Medium => (
            SlaDuration::hours(24),
            SlaDuration::days(30),
            vec![
                Step::new(SlaDuration::ZERO, SecurityChampion, SlaDuration::hours(2), 1),
                Step::new(SlaDuration::hours(4), RepositoryOwner, SlaDuration::hours(4), 4),
            ],
        ),
        Severity::Low => (
            SlaDuration::days(7),
            SlaDuration::days(90),
            vec![
                Step::new(SlaDuration::ZERO, TeamLead, SlaDuration::ZERO, 0),
                Step::new(
                    SlaDuration::business_days(1),
                    SecurityChampion,
                    SlaDuration::business_days(1),
                    2,
                ),
            ],
        ),
    };
    SeverityPolicy {
        respond,
        resolve,
        warn_at: vec![0.75],
        steps,
    }
}

/// What an incident's clocks run on: the policy of its severity and the business calendar, frozen
/// when it opened (and again when its severity changes), so later config edits do not move its
/// deadlines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The severity the policy is for.
    pub severity: Severity,
    /// The policy.
    #[serde(flatten)]
    pub policy: SeverityPolicy,
    /// The working week business durations count in.
    pub business_hours: BusinessHoursConfig,
}

impl Snapshot {
    /// The calendar, parsed.
    pub fn calendar(&self) -> Result<BusinessCalendar, String> {
        BusinessCalendar::from_config(&self.business_hours).map_err(|(key, message)| format!("{key}: {message}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_climb_and_stop_at_the_emergency_contact() {
        assert_eq!(Level::TeamLead.next(), Level::SecurityChampion);
        assert_eq!(Level::RepositoryOwner.next(), Level::EmergencyContact);
        assert_eq!(Level::EmergencyContact.next(), Level::EmergencyContact);
        assert_eq!(Level::parse("repository_owner"), Some(Level::RepositoryOwner));
    }

    #[test]
    fn defaults_follow_the_guide() {
        let critical = default_policy(Severity::Critical);
        assert_eq!(
            (critical.respond, critical.resolve),
            (SlaDuration::hours(1), SlaDuration::hours(24))
        );
        assert_eq!(critical.steps[0].notify, Level::EmergencyContact);
        let high = default_policy(Severity::High);
        assert_eq!(
            (high.respond, high.resolve),
            (SlaDuration::hours(4), SlaDuration::days(7))
        );
        assert_eq!(high.steps[0].notify, Level::RepositoryOwner);
        let medium = default_policy(Severity::Medium);
        assert_eq!(
            (medium.respond, medium.resolve),
            (SlaDuration::hours(24), SlaDuration::days(30))
        );
        assert_eq!(medium.steps[0].notify, Level::SecurityChampion);
        let low = default_policy(Severity::Low);
        assert_eq!(
            (low.respond, low.resolve),
            (SlaDuration::days(7), SlaDuration::days(90))
        );
        assert_eq!(low.steps[0].notify, Level::TeamLead);
        assert_eq!(low.steps[1].after, SlaDuration::business_days(1));
    }
}
