//! The incident commander's domain events this plugin consumes (see [`crate::domain`]), read leniently:
//! unknown fields are ignored, and a missing or unreadable time falls back to the handling time.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// `incident.opened`.
pub const OPENED: &str = "incident.opened";
/// `incident.acknowledged`.
pub const ACKNOWLEDGED: &str = "incident.acknowledged";
/// `incident.severity_changed`.
pub const SEVERITY_CHANGED: &str = "incident.severity_changed";
/// `incident.resolved`.
pub const RESOLVED: &str = "incident.resolved";
/// `incident.reopened`.
pub const REOPENED: &str = "incident.reopened";
/// `incident.closed`.
pub const CLOSED: &str = "incident.closed";
/// `incident.escalate_requested`.
pub const ESCALATE_REQUESTED: &str = "incident.escalate_requested";

/// Every kind this plugin subscribes to.
pub const ALL: [&str; 7] = [
    OPENED,
    ACKNOWLEDGED,
    SEVERITY_CHANGED,
    RESOLVED,
    REOPENED,
    CLOSED,
    ESCALATE_REQUESTED,
];

/// `incident.opened` { id, title, severity, opened_at, opened_by, repository, alert_keys }.
#[derive(Debug, Clone, Deserialize)]
pub struct Opened {
    /// The incident.
    pub id: i64,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// critical | high | medium | low.
    pub severity: String,
    /// When it opened (RFC 3339).
    #[serde(default)]
    pub opened_at: Option<String>,
    /// The repository, when it names one.
    #[serde(default)]
    pub repository: Option<String>,
}

/// `incident.severity_changed` { id, from, to, at, by, opened_at }: the old severity is the
/// snapshot's own, and the start time is the one recorded when the incident opened.
#[derive(Debug, Clone, Deserialize)]
pub struct SeverityChanged {
    /// The incident.
    pub id: i64,
    /// The new severity.
    pub to: String,
    /// When.
    #[serde(default)]
    pub at: Option<String>,
}

/// The acknowledged / resolved / reopened / closed / escalate_requested events: { id, at, by, … }.
#[derive(Debug, Clone, Deserialize)]
pub struct Change {
    /// The incident.
    pub id: i64,
    /// When.
    #[serde(default)]
    pub at: Option<String>,
    /// Who.
    #[serde(default)]
    pub by: Option<String>,
}

/// Reads an RFC 3339 time, else `fallback`.
pub fn time_or(text: Option<&str>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    text.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or(fallback)
}
