//! The report's own record of other plugins' facts: `alert.*`, `incident.*` and `sla.breached`
//! domain events become rows of `audit_alerts` and `audit_incidents`, so the monthly report never
//! reads another plugin's tables.

use chrono::{DateTime, Utc};
use sentinel_bot::{Cx, DomainEvent, DomainEventPayload, PluginError};

use super::store::{self, AlertFact, IncidentChange};
use crate::domain::alert::Alert;
use crate::domain::incident::LIFECYCLE_KINDS;
use crate::domain::{
    self, AlertClosed, AlertRaised, AlertReopened, IncidentAcknowledged, IncidentClosed, IncidentOpened,
    IncidentReopened, IncidentResolved, IncidentSeverityChanged, SlaBreached,
};

/// The domain events recorded here.
pub fn consumed() -> impl Iterator<Item = &'static str> {
    [AlertRaised::KIND, AlertClosed::KIND, AlertReopened::KIND]
        .into_iter()
        .chain(LIFECYCLE_KINDS)
        .chain([SlaBreached::KIND])
}

/// Records one consumed domain event; a time the event lacks is the handling time.
pub async fn record(cx: &mut Cx<'_>, event: &DomainEvent) -> Result<(), PluginError> {
    let now = cx.now();
    let at = |time: Option<DateTime<Utc>>| time.unwrap_or(now);
    if let Some(AlertRaised(alert)) = domain::read(event) {
        store::alert_opened(cx.db(), &alert_fact(&alert, now)).await?;
    } else if let Some(AlertReopened(change)) = domain::read(event) {
        store::alert_opened(cx.db(), &alert_fact(&change.alert, now)).await?;
    } else if let Some(AlertClosed(change)) = domain::read(event) {
        let action = if change.action.is_empty() {
            "closed"
        } else {
            &change.action
        };
        store::alert_closed(cx.db(), &alert_fact(&change.alert, now), action, now).await?;
    } else if let Some(opened) = domain::read::<IncidentOpened>(event) {
        let title = if opened.title.is_empty() {
            "untitled"
        } else {
            &opened.title
        };
        let severity = opened.severity.as_str();
        store::incident_opened(cx.db(), opened.id, title, severity, at(opened.opened_at)).await?;
    } else if let Some(IncidentAcknowledged(change)) = domain::read(event) {
        store::incident_changed(cx.db(), change.id, IncidentChange::Acknowledged, at(change.at)).await?;
    } else if let Some(changed) = domain::read::<IncidentSeverityChanged>(event) {
        let change = IncidentChange::Severity(changed.to.as_str());
        store::incident_changed(cx.db(), changed.id, change, at(changed.at)).await?;
    } else if let Some(resolved) = domain::read::<IncidentResolved>(event) {
        let change = IncidentChange::Resolved(resolved.by.as_deref(), resolved.summary.as_deref());
        store::incident_changed(cx.db(), resolved.id, change, at(resolved.at)).await?;
    } else if let Some(IncidentReopened(change)) = domain::read(event) {
        store::incident_changed(cx.db(), change.id, IncidentChange::Reopened, at(change.at)).await?;
    } else if let Some(IncidentClosed(change)) = domain::read(event) {
        store::incident_changed(cx.db(), change.id, IncidentChange::Closed, at(change.at)).await?;
    } else if let Some(SlaBreached(breach)) = domain::read(event) {
        let change = match breach.kind.as_deref() {
            Some("response") => IncidentChange::ResponseBreached,
            _ => IncidentChange::ResolutionBreached,
        };
        store::incident_changed(cx.db(), breach.incident_id, change, at(breach.at)).await?;
    }
    Ok(())
}

/// What the report keeps of an alert, announced `now`.
fn alert_fact(alert: &Alert, now: DateTime<Utc>) -> AlertFact {
    AlertFact {
        key: alert.key.clone(),
        source: alert.source.as_str().to_owned(),
        repository: alert.repository.clone(),
        number: alert.number.and_then(|n| i64::try_from(n).ok()),
        severity: Some(alert.severity.as_str().to_owned()),
        title: alert.title.clone(),
        package: alert.package.clone(),
        cve: alert.cve.clone(),
        ghsa: alert.ghsa.clone(),
        url: alert.url.clone(),
        created_at: alert.created_at,
        raised_at: now,
        closed_at: None,
        close_action: None,
    }
}
