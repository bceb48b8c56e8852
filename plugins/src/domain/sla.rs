//! SLA events, emitted by the SLA escalator.

use chrono::{DateTime, Utc};
use sentinel_bot::{DomainEventPayload, Severity};
use serde::{Deserialize, Serialize};

/// `sla.planned` — an incident's deadlines were set: when it opened, when its severity changed,
/// when it was reopened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaPlanned {
    /// The incident.
    pub incident_id: i64,
    /// The severity the deadlines are for; absent in hand-written events.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// When the first response is due.
    #[serde(default, with = "super::time::lenient")]
    pub respond_by: Option<DateTime<Utc>>,
    /// When the incident must be resolved.
    #[serde(default, with = "super::time::lenient")]
    pub resolve_by: Option<DateTime<Utc>>,
}

impl DomainEventPayload for SlaPlanned {
    const KIND: &'static str = "sla.planned";
}

/// What `sla.warning` and `sla.breached` carry: which deadline, and when it was noticed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaDeadline {
    /// The incident.
    pub incident_id: i64,
    /// `response` or `resolution`; readers take a missing one as `response`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The deadline.
    #[serde(default, with = "super::time::lenient")]
    pub deadline: Option<DateTime<Utc>>,
    /// When it was noticed; readers fall back to the handling time.
    #[serde(default, with = "super::time::lenient")]
    pub at: Option<DateTime<Utc>>,
}

/// `sla.warning` — a deadline is near (a configured fraction of its time has passed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SlaWarning(pub SlaDeadline);

impl DomainEventPayload for SlaWarning {
    const KIND: &'static str = "sla.warning";
}

/// `sla.breached` — a deadline passed (at most once per incident and kind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SlaBreached(pub SlaDeadline);

impl DomainEventPayload for SlaBreached {
    const KIND: &'static str = "sla.breached";
}

/// `sla.ping` — a level was notified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaPing {
    /// The incident.
    pub incident_id: i64,
    /// `team_lead`, `security_champion`, `repository_owner` or `emergency_contact`.
    #[serde(default)]
    pub level: Option<String>,
    /// The escalation chain's step from 1 (its reminders repeat the number), 0 for a manual
    /// escalation (`incident.escalate_requested`).
    #[serde(default)]
    pub step: Option<u32>,
    /// When; readers fall back to the handling time.
    #[serde(default, with = "super::time::lenient")]
    pub at: Option<DateTime<Utc>>,
    /// Who was notified: `[people]` / `[groups]` keys.
    #[serde(default)]
    pub mentions: Vec<String>,
}

impl DomainEventPayload for SlaPing {
    const KIND: &'static str = "sla.ping";
}
