//! Alert events, emitted by the alert notifier.
//!
//! `alert` is the alert itself ([`Alert`]): `key`, `source`, `repository`, `number`, `severity`,
//! `state`, `title`, `summary`, `package`, `ecosystem`, `vulnerable_range`, `patched_version`,
//! `manifest`, `cve`, `ghsa`, `cvss`, `rule`, `tool`, `location`, `branch`, `secret_type`,
//! `publicly_leaked`, `validity`, `url`, `created_at`. `grouping_key` is
//! `<repository>:<ghsa, else cve, else rule, else alert key>` (just the id for an alert without a
//! repository): alerts sharing it are one problem and belong in one incident.

use sentinel_bot::DomainEventPayload;
use serde::{Deserialize, Serialize};

pub use crate::alert_notifier::Alert;

/// `alert.raised` — Sentinel saw an alert for the first time. The payload is the alert itself
/// (not wrapped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlertRaised(pub Alert);

impl DomainEventPayload for AlertRaised {
    const KIND: &'static str = "alert.raised";
}

/// `alert.incident_requested` — an alert wants an incident: it was raised or reopened at or above
/// `incident_severity`, an open alert rose to it, or someone pressed "Open incident".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertIncidentRequested {
    /// The alert.
    pub alert: Alert,
    /// Alerts sharing it belong in one incident.
    #[serde(default)]
    pub grouping_key: String,
    /// The clicker's `[people]` key or display name, when a person asked (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
}

impl DomainEventPayload for AlertIncidentRequested {
    const KIND: &'static str = "alert.incident_requested";
}

/// What `alert.closed` and `alert.reopened` carry: the alert and what GitHub said happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertTransition {
    /// The alert after the change.
    pub alert: Alert,
    /// GitHub's action (`fixed`, `dismissed`, `reopened`, …); empty when not given.
    #[serde(default)]
    pub action: String,
    /// GitHub login of who did it, or null.
    #[serde(default)]
    pub actor: Option<String>,
    /// Alerts sharing it belong in one incident.
    #[serde(default)]
    pub grouping_key: String,
}

/// `alert.closed` — an open alert was fixed, dismissed, resolved or withdrawn (only with
/// `resolve_incidents = true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlertClosed(pub AlertTransition);

impl DomainEventPayload for AlertClosed {
    const KIND: &'static str = "alert.closed";
}

/// `alert.reopened` — a closed alert is open again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlertReopened(pub AlertTransition);

impl DomainEventPayload for AlertReopened {
    const KIND: &'static str = "alert.reopened";
}

/// `alert.acknowledged` — someone pressed "Acknowledge" (once per person while the alert stays in
/// the same state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertAcknowledged {
    /// The alert.
    pub alert: Alert,
    /// Who: their `[people]` key or display name.
    pub by: String,
    /// Alerts sharing it belong in one incident.
    #[serde(default)]
    pub grouping_key: String,
}

impl DomainEventPayload for AlertAcknowledged {
    const KIND: &'static str = "alert.acknowledged";
}
