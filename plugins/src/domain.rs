//! Domain events: the facts plugins announce to each other, by name. A plugin emits them with
//! `cx.emit(kind, payload)` and subscribes with `Subscriptions::domain`.

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
