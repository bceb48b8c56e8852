//! Incident events, emitted by the incident commander. `by` is a `[people]` key or display name
//! (`sentinel` when Sentinel decided, `github` when an alert closure resolved the incident).

use chrono::{DateTime, Utc};
use sentinel_bot::{DomainEventPayload, Severity};
use serde::{Deserialize, Serialize};

/// The events of an incident's life from opening to closing: what a plugin that keeps its own
/// view of every incident's state and times (the SLA escalator, the audit report) subscribes to.
/// Assignments and escalation requests are not part of it; a plugin that wants them adds them.
pub const LIFECYCLE_KINDS: [&str; 6] = [
    IncidentOpened::KIND,
    IncidentAcknowledged::KIND,
    IncidentSeverityChanged::KIND,
    IncidentResolved::KIND,
    IncidentReopened::KIND,
    IncidentClosed::KIND,
];

/// `incident.opened` — an incident was declared or opened from an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentOpened {
    /// The incident.
    pub id: i64,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// Its severity.
    pub severity: Severity,
    /// When it opened; readers fall back to the handling time.
    #[serde(default, with = "super::time::lenient")]
    pub opened_at: Option<DateTime<Utc>>,
    /// Who opened it.
    #[serde(default)]
    pub opened_by: String,
    /// The repository it is about, or null.
    #[serde(default)]
    pub repository: Option<String>,
    /// The alerts it was opened from (`Alert::key`).
    #[serde(default)]
    pub alert_keys: Vec<String>,
}

impl DomainEventPayload for IncidentOpened {
    const KIND: &'static str = "incident.opened";
}

/// What a plain state change carries: `incident.acknowledged`, `.reopened`, `.closed` and
/// `.escalate_requested`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentChange {
    /// The incident.
    pub id: i64,
    /// When; readers fall back to the handling time.
    #[serde(default, with = "super::time::lenient")]
    pub at: Option<DateTime<Utc>>,
    /// Who.
    #[serde(default)]
    pub by: Option<String>,
}

/// `incident.acknowledged` — someone acknowledged an open incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentAcknowledged(pub IncidentChange);

impl DomainEventPayload for IncidentAcknowledged {
    const KIND: &'static str = "incident.acknowledged";
}

/// `incident.reopened` — a resolved or closed incident is active again (acknowledged when it had
/// been acknowledged before, else open).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentReopened(pub IncidentChange);

impl DomainEventPayload for IncidentReopened {
    const KIND: &'static str = "incident.reopened";
}

/// `incident.closed` — a resolved incident was closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentClosed(pub IncidentChange);

impl DomainEventPayload for IncidentClosed {
    const KIND: &'static str = "incident.closed";
}

/// `incident.escalate_requested` — someone pressed Escalate or typed `/incident escalate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentEscalateRequested(pub IncidentChange);

impl DomainEventPayload for IncidentEscalateRequested {
    const KIND: &'static str = "incident.escalate_requested";
}

/// `incident.assigned` — an incident got a (new) assignee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentAssigned {
    /// The incident.
    pub id: i64,
    /// The new assignee.
    pub assignee: String,
    /// When.
    #[serde(with = "super::time")]
    pub at: DateTime<Utc>,
    /// Who assigned.
    pub by: String,
}

impl DomainEventPayload for IncidentAssigned {
    const KIND: &'static str = "incident.assigned";
}

/// `incident.severity_changed` — by command, or raised by a more severe linked alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSeverityChanged {
    /// The incident.
    pub id: i64,
    /// The severity before; absent in hand-written events.
    #[serde(default)]
    pub from: Option<Severity>,
    /// The severity now.
    pub to: Severity,
    /// When; readers fall back to the handling time.
    #[serde(default, with = "super::time::lenient")]
    pub at: Option<DateTime<Utc>>,
    /// Who.
    #[serde(default)]
    pub by: Option<String>,
    /// When the incident opened (deadlines count from it).
    #[serde(default, with = "super::time::lenient")]
    pub opened_at: Option<DateTime<Utc>>,
}

impl DomainEventPayload for IncidentSeverityChanged {
    const KIND: &'static str = "incident.severity_changed";
}

/// `incident.resolved` — an incident was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentResolved {
    /// The incident.
    pub id: i64,
    /// When; readers fall back to the handling time.
    #[serde(default, with = "super::time::lenient")]
    pub at: Option<DateTime<Utc>>,
    /// Who.
    #[serde(default)]
    pub by: Option<String>,
    /// What was done, or null.
    #[serde(default)]
    pub summary: Option<String>,
}

impl DomainEventPayload for IncidentResolved {
    const KIND: &'static str = "incident.resolved";
}
