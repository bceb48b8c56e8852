//! The incident commander's vocabulary: ids, states, stages, and one incident as stored.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sentinel_bot::Severity;

/// An incident's number, the one people type: `/incident ack 3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncidentId(pub i64);

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The text was not an incident number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an incident id (a number such as 3 or #3)")]
pub struct BadIncidentId(pub String);

impl FromStr for IncidentId {
    type Err = BadIncidentId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digits = text.trim().trim_start_matches('#');
        match digits.parse::<i64>() {
            Ok(n) if n > 0 => Ok(IncidentId(n)),
            _ => Err(BadIncidentId(text.to_owned())),
        }
    }
}

/// Where an incident is in its life: open → acknowledged → resolved → closed, with reopen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentState {
    /// Declared or opened from an alert; nobody has acknowledged it yet.
    Open,
    /// Someone is on it.
    Acknowledged,
    /// The threat is dealt with; the post-mortem and lessons learned may still be under way.
    Resolved,
    /// Done. Only `reopen` changes it.
    Closed,
}

impl IncidentState {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Resolved => "resolved",
            IncidentState::Closed => "closed",
        }
    }

    /// Parses the stored name (an unknown name reads as open, which keeps the incident visible).
    pub fn parse(text: &str) -> Self {
        match text {
            "acknowledged" => IncidentState::Acknowledged,
            "resolved" => IncidentState::Resolved,
            "closed" => IncidentState::Closed,
            _ => IncidentState::Open,
        }
    }

    /// Open or acknowledged: the incident still needs work.
    pub fn is_active(self) -> bool {
        matches!(self, IncidentState::Open | IncidentState::Acknowledged)
    }
}

impl fmt::Display for IncidentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The phases of the security guide's incident response plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// 1. Detection & Analysis.
    Detection,
    /// 2. Containment & Mitigation.
    Containment,
    /// 3. Investigation.
    Investigation,
    /// 4. Recovery.
    Recovery,
    /// 5. Lessons Learned.
    Lessons,
}

impl Stage {
    /// Every stage, in the plan's order.
    pub const ALL: [Stage; 5] = [
        Stage::Detection,
        Stage::Containment,
        Stage::Investigation,
        Stage::Recovery,
        Stage::Lessons,
    ];

    /// The stored and typed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Detection => "detection",
            Stage::Containment => "containment",
            Stage::Investigation => "investigation",
            Stage::Recovery => "recovery",
            Stage::Lessons => "lessons",
        }
    }

    /// The name the guide gives it.
    pub fn title(self) -> &'static str {
        match self {
            Stage::Detection => "Detection & Analysis",
            Stage::Containment => "Containment & Mitigation",
            Stage::Investigation => "Investigation",
            Stage::Recovery => "Recovery",
            Stage::Lessons => "Lessons Learned",
        }
    }

    /// Parses the stored name (an unknown name reads as detection, the first stage).
    pub fn parse_stored(text: &str) -> Self {
        text.parse().unwrap_or(Stage::Detection)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not a stage name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage `{0}` (expected detection, containment, investigation, recovery or lessons)")]
pub struct UnknownStage(pub String);

impl FromStr for Stage {
    type Err = UnknownStage;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "detection" | "analysis" | "detect" => Ok(Stage::Detection),
            "containment" | "mitigation" | "contain" => Ok(Stage::Containment),
            "investigation" | "investigate" => Ok(Stage::Investigation),
            "recovery" | "recover" => Ok(Stage::Recovery),
            "lessons" | "lessons-learned" | "lessons_learned" | "post-incident" => Ok(Stage::Lessons),
            _ => Err(UnknownStage(text.to_owned())),
        }
    }
}

/// One incident, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Its number.
    pub id: IncidentId,
    /// What it is about.
    pub title: String,
    /// How bad it is now.
    pub severity: Severity,
    /// Where it is in its life.
    pub state: IncidentState,
    /// The response-plan stage it is in.
    pub stage: Stage,
    /// Who leads the response.
    pub commander: Option<String>,
    /// Who does the work.
    pub assignee: Option<String>,
    /// The repository of its first alert, when it came from one.
    pub repository: Option<String>,
    /// The grouping key later alerts are matched on, when it came from an alert.
    pub grouping_key: Option<String>,
    /// The resolution summary.
    pub summary: Option<String>,
    /// When and by whom it was opened.
    pub opened_at: DateTime<Utc>,
    /// Who opened it.
    pub opened_by: String,
    /// First acknowledgement.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// Latest resolution (cleared by reopen).
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When it was closed (cleared by reopen).
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// The SLA response deadline, once the SLA escalator has planned it.
    pub respond_by: Option<DateTime<Utc>>,
    /// The SLA resolution deadline.
    pub resolve_by: Option<DateTime<Utc>>,
    /// The SLA escalator reported the response deadline breached.
    pub response_breached: bool,
    /// The SLA escalator reported the resolution deadline breached.
    pub resolution_breached: bool,
}

/// One checklist item of one stage of one incident.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckItem {
    /// The stage it belongs to.
    pub stage: Stage,
    /// Its 1-based number within the stage.
    pub position: i64,
    /// What to do.
    pub item: String,
    /// Who ticked it and when.
    pub checked: Option<(String, DateTime<Utc>)>,
}

/// An alert linked to an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedAlert {
    /// The alert notifier's key for it.
    pub key: String,
    /// dependabot, code_scanning, secret_scanning, …
    pub source: String,
    /// `org/repo`.
    pub repository: String,
    /// GitHub's alert number.
    pub number: Option<i64>,
    /// Its title.
    pub title: String,
    /// Its severity.
    pub severity: String,
    /// open, fixed, dismissed, …
    pub state: String,
    /// Its page on GitHub.
    pub url: Option<String>,
}

impl LinkedAlert {
    /// True when the alert no longer needs work.
    pub fn is_closed(&self) -> bool {
        !matches!(self.state.as_str(), "open" | "reopened" | "")
    }

    /// A short one-line description.
    pub fn describe(&self) -> String {
        let number = self.number.map(|n| format!("#{n}")).unwrap_or_default();
        format!(
            "{} {}{number} ({}, {}): {}",
            self.source, self.repository, self.severity, self.state, self.title
        )
    }
}

/// One stay of an incident in a stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StageVisit {
    /// The stage.
    pub stage: Stage,
    /// When the incident entered it.
    pub entered_at: DateTime<Utc>,
    /// When it left (or was closed); `None` while it is still there.
    pub left_at: Option<DateTime<Utc>>,
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (a person, `github`, `sentinel`, `sla`).
    pub actor: String,
    /// What kind of entry: `declared`, `acknowledged`, `stage`, `check`, `alert_linked`, `sla_breached`, …
    pub kind: String,
    /// What happened, in words.
    pub text: String,
}

/// How far an incident's GitHub tracking issue has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackingState {
    /// The create request is out; no answer yet.
    Creating,
    /// GitHub created the issue; its number is known.
    Tracked,
    /// The create failed.
    Failed,
}

impl TrackingState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackingState::Creating => "creating",
            TrackingState::Tracked => "tracked",
            TrackingState::Failed => "failed",
        }
    }

    /// Parses the stored name (an unknown name reads as failed, which sends nothing).
    pub fn parse(text: &str) -> Self {
        match text {
            "creating" => TrackingState::Creating,
            "tracked" => TrackingState::Tracked,
            _ => TrackingState::Failed,
        }
    }
}

/// An incident's GitHub tracking issue, as stored (migration `0008_incident_tracking.sql`).
#[derive(Debug, Clone, PartialEq)]
pub struct Tracking {
    /// The incident.
    pub incident: IncidentId,
    /// `org/repo` the issue lives in.
    pub repository: String,
    /// How far it has got.
    pub state: TrackingState,
    /// GitHub's issue number, once known.
    pub issue_number: Option<i64>,
    /// The issue's page, once known.
    pub html_url: Option<String>,
    /// The issue fields last sent; `None` when unknown (after a failed update).
    pub synced: Option<serde_json::Value>,
    /// The number of the latest update sent.
    pub sent_seq: i64,
    /// The highest update number GitHub accepted.
    pub applied_seq: i64,
    /// A post-mortem waits for the issue number.
    pub postmortem: bool,
    /// The failed create certainly created nothing, so the next change may try again.
    pub retry_create: bool,
    /// The channel has been told about the current run of failures.
    pub failure_noted: bool,
    /// The latest failure.
    pub last_error: Option<String>,
}

impl Tracking {
    /// `acme/security-incidents#7`, or the repository alone while the number is unknown.
    pub fn reference(&self) -> String {
        match self.issue_number {
            Some(number) => format!("{}#{number}", self.repository),
            None => self.repository.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_stages_parse_the_way_people_type_them() {
        assert_eq!("#3".parse::<IncidentId>(), Ok(IncidentId(3)));
        assert_eq!(" 12 ".parse::<IncidentId>(), Ok(IncidentId(12)));
        assert!("0".parse::<IncidentId>().is_err());
        assert!("abc".parse::<IncidentId>().is_err());
        assert_eq!("Mitigation".parse::<Stage>(), Ok(Stage::Containment));
        assert_eq!("lessons-learned".parse::<Stage>(), Ok(Stage::Lessons));
        assert!("cleanup".parse::<Stage>().is_err());
    }
}
