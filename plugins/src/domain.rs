//! Domain events: the facts plugins announce to each other, by name. A plugin emits them with
//! `cx.emit(kind, payload)` and subscribes with `Subscriptions::domain`.
//!
//! ## Alerts (emitted by the alert notifier)
//!
//! `alert` below is an alert as JSON ([`crate::alert_notifier::Alert`]): `key`, `source`,
//! `repository`, `number`, `severity`, `state`, `title`, `summary`, `package`, `ecosystem`,
//! `vulnerable_range`, `patched_version`, `manifest`, `cve`, `ghsa`, `cvss`, `rule`, `tool`,
//! `location`, `branch`, `secret_type`, `publicly_leaked`, `validity`, `url`, `created_at`.
//! `grouping_key` is `<repository>:<ghsa, else cve, else rule, else alert key>` (just the id for an
//! alert without a repository): alerts sharing it are one problem and belong in one incident.
//!
//! - [`ALERT_RAISED`] `alert.raised` — Sentinel saw an alert for the first time. Payload: the alert
//!   itself (not wrapped).
//! - [`ALERT_INCIDENT_REQUESTED`] `alert.incident_requested` — an alert wants an incident: it was
//!   raised or reopened at or above `incident_severity`, an open alert rose to it, or someone
//!   pressed "Open incident". Payload: `{ alert, grouping_key }`, plus `requested_by` (the clicker's
//!   `[people]` key or display name) when a person asked.
//! - [`ALERT_CLOSED`] `alert.closed` — an open alert was fixed, dismissed, resolved or withdrawn
//!   (only with `resolve_incidents = true`). Payload: `{ alert, action, actor, grouping_key }`,
//!   where `action` is GitHub's (`fixed`, `dismissed`, …) and `actor` its GitHub login or null.
//! - [`ALERT_REOPENED`] `alert.reopened` — a closed alert is open again. Payload:
//!   `{ alert, action, actor, grouping_key }`.
//! - [`ALERT_ACKNOWLEDGED`] `alert.acknowledged` — someone pressed "Acknowledge" (once per person
//!   while the alert stays in the same state). Payload: `{ alert, by, grouping_key }`.

/// Sentinel saw an alert for the first time.
pub const ALERT_RAISED: &str = "alert.raised";
/// An alert wants an incident.
pub const ALERT_INCIDENT_REQUESTED: &str = "alert.incident_requested";
/// An open alert was closed on GitHub.
pub const ALERT_CLOSED: &str = "alert.closed";
/// A closed alert is open again.
pub const ALERT_REOPENED: &str = "alert.reopened";
/// Someone acknowledged an alert in chat.
pub const ALERT_ACKNOWLEDGED: &str = "alert.acknowledged";

// ## SLA (emitted by the SLA escalator). Times are RFC 3339 UTC strings.

/// `sla.planned` — an incident's deadlines were set: when it opened, when its severity changed,
/// when it was reopened. Payload: `{ incident_id, severity, respond_by, resolve_by }`.
pub const SLA_PLANNED: &str = "sla.planned";
/// `sla.warning` — a deadline is near (a configured fraction of its time has passed). Payload:
/// `{ incident_id, kind: "response" | "resolution", deadline, at }`.
pub const SLA_WARNING: &str = "sla.warning";
/// `sla.ping` — a level was notified. Payload: `{ incident_id, level: "team_lead" |
/// "security_champion" | "repository_owner" | "emergency_contact", step, at, mentions: [String] }`;
/// `step` is the escalation chain's step from 1 (its reminders repeat the number), 0 for a manual
/// escalation (`incident.escalate_requested`); `mentions` are `[people]` / `[groups]` keys.
pub const SLA_PING: &str = "sla.ping";
/// `sla.breached` — a deadline passed (at most once per incident and kind). Payload:
/// `{ incident_id, kind: "response" | "resolution", deadline, at }`.
pub const SLA_BREACHED: &str = "sla.breached";

// ## Incidents (emitted by the incident commander). Times are RFC 3339 UTC strings; `by` is a
// `[people]` key or display name (`sentinel` when Sentinel decided, `github` when an alert closure
// resolved the incident).

/// `incident.opened` — an incident was declared or opened from an alert. Payload: `{ id, title,
/// severity, opened_at, opened_by, repository: string | null, alert_keys: [String] }`.
pub const INCIDENT_OPENED: &str = "incident.opened";
/// `incident.acknowledged` — someone acknowledged an open incident. Payload: `{ id, at, by }`.
pub const INCIDENT_ACKNOWLEDGED: &str = "incident.acknowledged";
/// `incident.assigned` — an incident got a (new) assignee. Payload: `{ id, assignee, at, by }`.
pub const INCIDENT_ASSIGNED: &str = "incident.assigned";
/// `incident.severity_changed` — by command, or raised by a more severe linked alert. Payload:
/// `{ id, from, to, at, by, opened_at }`.
pub const INCIDENT_SEVERITY_CHANGED: &str = "incident.severity_changed";
/// `incident.resolved` — an incident was resolved. Payload: `{ id, at, by, summary: string | null }`.
pub const INCIDENT_RESOLVED: &str = "incident.resolved";
/// `incident.reopened` — a resolved or closed incident is active again (acknowledged when it had
/// been acknowledged before, else open). Payload: `{ id, at, by }`.
pub const INCIDENT_REOPENED: &str = "incident.reopened";
/// `incident.closed` — a resolved incident was closed. Payload: `{ id, at, by }`.
pub const INCIDENT_CLOSED: &str = "incident.closed";
/// `incident.escalate_requested` — someone pressed Escalate or typed `/incident escalate`.
/// Payload: `{ id, at, by }`.
pub const INCIDENT_ESCALATE_REQUESTED: &str = "incident.escalate_requested";

// ## Audits (emitted by the audit scheduler). Times are RFC 3339 UTC strings. The audit scheduler
// consumes alert.*, incident.* and sla.breached for its monthly report.

/// `audit.completed` — every item of an audit run is done, checked or skipped. Payload:
/// `{ run_id, audit: "daily" | "weekly" | "monthly" | "quarterly", completed_at, done_by: [String] }`.
pub const AUDIT_COMPLETED: &str = "audit.completed";
/// `audit.overdue` — an audit run is still incomplete after its `overdue_after` and was escalated.
/// Payload: `{ run_id, audit, open_items: [String], escalated_to, at }`.
pub const AUDIT_OVERDUE: &str = "audit.overdue";
