//! Domain events: the facts plugins announce to each other. Each event is one typed payload,
//! defined once here and used by the plugin that publishes it (`cx.publish(&IncidentOpened { … })`)
//! and by every plugin that consumes it (`event.decode::<IncidentOpened>()`), so a renamed field
//! fails to compile instead of being read as missing. Subscribe with the payload's
//! [`KIND`](sentinel_bot::DomainEventPayload::KIND).
//!
//! The JSON on the wire is what running installations already hold in their inboxes: the field
//! names are the contract, and a field older readers did without is `#[serde(default)]`.
//! Times are RFC 3339 UTC strings to the second (`2026-03-02T09:00:00Z`, see [`time`]); any
//! RFC 3339 time decodes.
//!
//! - [`alert`] — emitted by the alert notifier: `alert.raised`, `alert.incident_requested`,
//!   `alert.closed`, `alert.reopened`, `alert.acknowledged`.
//! - [`sla`] — emitted by the SLA escalator: `sla.planned`, `sla.warning`, `sla.ping`,
//!   `sla.breached`.
//! - [`incident`] — emitted by the incident commander: `incident.opened`, `incident.acknowledged`,
//!   `incident.assigned`, `incident.severity_changed`, `incident.resolved`, `incident.reopened`,
//!   `incident.closed`, `incident.escalate_requested`.
//! - [`audit`] — emitted by the audit scheduler: `audit.completed`, `audit.overdue`. The audit
//!   scheduler consumes `alert.*`, `incident.*` and `sla.breached` for its monthly report.

use sentinel_bot::{DomainEvent, DomainEventPayload};

pub mod alert;
pub mod audit;
pub mod incident;
pub mod sla;
pub mod time;

pub use alert::{AlertAcknowledged, AlertClosed, AlertIncidentRequested, AlertRaised, AlertReopened, AlertTransition};
pub use audit::{AuditCompleted, AuditOverdue};
pub use incident::{
    IncidentAcknowledged, IncidentAssigned, IncidentChange, IncidentClosed, IncidentEscalateRequested, IncidentOpened,
    IncidentReopened, IncidentResolved, IncidentSeverityChanged,
};
pub use sla::{SlaBreached, SlaDeadline, SlaPing, SlaPlanned, SlaWarning};

#[cfg(test)]
mod tests;

/// The event as a `T`, when it is one. A `T` whose payload does not fit the contract is another
/// plugin's bug that a retry will not fix: it is logged and skipped (`None`), not parked as dead.
pub fn read<T: DomainEventPayload>(event: &DomainEvent) -> Option<T> {
    if !event.is::<T>() {
        return None;
    }
    match event.decode::<T>() {
        Ok(payload) => Some(payload),
        Err(err) => {
            tracing::warn!(kind = %event.kind, cause = %err, "ignoring a domain event with an unexpected payload");
            None
        }
    }
}
