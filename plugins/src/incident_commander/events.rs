//! Other plugins' domain events: alerts open incidents or link to them, alert changes and SLA
//! deadlines, warnings, escalations and breaches go on the timeline and the incident message.

use chrono::{DateTime, Utc};
use sentinel_bot::github::GITHUB_RESPONSE;
use sentinel_bot::{Cx, DomainEvent, DomainEventPayload, Message, PluginError, Severity};

use super::config::{Grouping, IncidentConfig};
use super::model::{Incident, IncidentId, IncidentState, LinkedAlert};
use super::ops;
use super::render;
use super::store::{self, Change, NewIncident};
use crate::alert_notifier::AlertState;
use crate::domain::alert::Alert;
use crate::domain::{
    self, AlertClosed, AlertIncidentRequested, AlertReopened, AlertTransition, SlaBreached, SlaDeadline, SlaPing,
    SlaPlanned, SlaWarning,
};

/// Domain events this plugin consumes (emitted by the alert notifier, the SLA escalator and the
/// core's GitHub worker, whose answers go to `tracking`).
pub const CONSUMED: &[&str] = &[
    GITHUB_RESPONSE,
    AlertIncidentRequested::KIND,
    AlertClosed::KIND,
    AlertReopened::KIND,
    SlaPlanned::KIND,
    SlaWarning::KIND,
    SlaPing::KIND,
    SlaBreached::KIND,
];

/// The actor recorded for changes GitHub made.
const GITHUB: &str = "github";
/// The actor recorded for what Sentinel decided by itself.
const SENTINEL: &str = "sentinel";
/// The actor recorded for SLA events.
const SLA: &str = "sla";

/// The alert as the incident remembers it.
fn linked(alert: &Alert) -> LinkedAlert {
    LinkedAlert {
        key: alert.key.clone(),
        source: alert.source.as_str().to_owned(),
        // Global advisories have no repository.
        repository: alert.repository.clone().unwrap_or_default(),
        number: alert.number.and_then(|n| i64::try_from(n).ok()),
        title: alert.title.clone(),
        severity: alert.severity.as_str().to_owned(),
        state: alert.state.as_str().to_owned(),
        url: alert.url.clone(),
    }
}

/// The key alerts sharing one incident have in common.
fn grouping_key(alert: &Alert, grouping: Grouping) -> String {
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let repository = alert.repository.as_deref().unwrap_or_default();
    match grouping {
        Grouping::Alert => format!("alert:{}", alert.key),
        Grouping::Repository => format!("repository:{repository}"),
        Grouping::RepositoryAdvisory => {
            let advisory = nonempty(&alert.ghsa)
                .or_else(|| nonempty(&alert.cve))
                .or_else(|| nonempty(&alert.rule).map(|r| format!("rule:{r}")))
                .or_else(|| nonempty(&alert.secret_type).map(|s| format!("secret:{s}")));
            match advisory {
                Some(advisory) => format!("repository_advisory:{repository}:{advisory}"),
                // Nothing to group on: the alert stands alone.
                None => format!("alert:{}", alert.key),
            }
        }
    }
}

/// Handles one consumed domain event.
pub async fn handle(cx: &mut Cx<'_>, config: &IncidentConfig, event: &DomainEvent) -> Result<(), PluginError> {
    if let Some(request) = domain::read::<AlertIncidentRequested>(event) {
        incident_requested(cx, config, request).await
    } else if let Some(AlertClosed(change)) = domain::read(event) {
        alert_changed(cx, config, change, true).await
    } else if let Some(AlertReopened(change)) = domain::read(event) {
        alert_changed(cx, config, change, false).await
    } else if let Some(planned) = domain::read::<SlaPlanned>(event) {
        sla_planned(cx, config, planned).await
    } else if let Some(SlaWarning(warning)) = domain::read(event) {
        sla_warning(cx, warning).await
    } else if let Some(ping) = domain::read::<SlaPing>(event) {
        sla_ping(cx, ping).await
    } else if let Some(SlaBreached(breach)) = domain::read(event) {
        sla_breached(cx, config, breach).await
    } else {
        Ok(())
    }
}

async fn incident_requested(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    request: AlertIncidentRequested,
) -> Result<(), PluginError> {
    let alert = request.alert;
    if alert.key.is_empty() {
        tracing::warn!("ignoring alert.incident_requested without an alert key");
        return Ok(());
    }
    let severity = alert.severity;
    let key = grouping_key(&alert, config.grouping);
    let now = cx.now();
    if let Some(id) = store::active_for_group(cx.db(), &key).await? {
        return link(cx, config, id, &alert, severity).await;
    }
    let already: Vec<IncidentId> = store::incidents_of_alert(cx.db(), &alert.key).await?;
    for id in already {
        if store::get(cx.db(), id).await?.is_some_and(|i| i.state.is_active()) {
            // Already part of an active incident (say, grouped under another key before a config change).
            return Ok(());
        }
    }
    let requested = request.requested_by.filter(|r| !r.is_empty());
    let wanted = requested.is_some() || severity >= config.auto_open_min_severity;
    if !wanted {
        tracing::debug!(alert = %alert.key, severity = %alert.severity, "alert below the auto-open severity");
        return Ok(());
    }
    let repository = alert.repository.as_deref().filter(|r| !r.is_empty());
    let title = match repository {
        None => alert.title.clone(),
        Some(repository) => format!("{} ({repository})", alert.title),
    };
    let opened_by = requested.clone().unwrap_or_else(|| SENTINEL.to_owned());
    let linked = linked(&alert);
    let how = match &requested {
        Some(who) => format!("opened on request of {who} from alert {}", linked.describe()),
        None => format!("opened automatically from alert {}", linked.describe()),
    };
    let new = NewIncident {
        title: &title,
        severity,
        opened_by: &opened_by,
        repository,
        grouping_key: Some(&key),
    };
    let id = ops::open(cx, config, &new, std::slice::from_ref(&alert.key), &how).await?;
    store::link_alert(cx.db(), id, &linked, now).await?;
    ops::publish(cx, config, id).await
}

/// Links another alert to an active incident, raising its severity when the alert is worse.
async fn link(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    id: IncidentId,
    alert: &Alert,
    severity: Severity,
) -> Result<(), PluginError> {
    let now = cx.now();
    let linked = linked(alert);
    if !store::link_alert(cx.db(), id, &linked, now).await? {
        return Ok(());
    }
    let what = linked.describe();
    store::record(
        cx.db(),
        id,
        now,
        SENTINEL,
        "alert_linked",
        &format!("linked alert {what}"),
    )
    .await?;
    ops::note(
        cx,
        config,
        id,
        Message::new("", format!("🔗 Linked another alert to incident {id}: {what}")),
    )
    .await?;
    let Some(incident) = store::get(cx.db(), id).await? else {
        return Ok(());
    };
    match severity {
        severity if severity > incident.severity => {
            ops::set_severity(
                cx,
                config,
                &incident,
                severity,
                SENTINEL,
                " (a more severe alert was linked)",
            )
            .await
        }
        _ => ops::publish(cx, config, id).await,
    }
}

async fn alert_changed(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    change: AlertTransition,
    closed: bool,
) -> Result<(), PluginError> {
    let alert = change.alert;
    let ids = store::incidents_of_alert(cx.db(), &alert.key).await?;
    if ids.is_empty() {
        return Ok(());
    }
    let state = match (closed, alert.state) {
        (true, AlertState::Open) if change.action.is_empty() => "closed".to_owned(),
        (true, AlertState::Open) => change.action.clone(),
        (true, state) => state.as_str().to_owned(),
        (false, _) => "open".to_owned(),
    };
    store::set_alert_state(cx.db(), &alert.key, &state).await?;
    let actor = change
        .actor
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| GITHUB.to_owned());
    let mut linked = linked(&alert);
    linked.state = state.clone();
    let now = cx.now();
    for id in ids {
        let (kind, text) = if closed {
            ("alert_closed", format!("alert closed ({state}): {}", linked.describe()))
        } else {
            ("alert_reopened", format!("alert reopened: {}", linked.describe()))
        };
        store::record(cx.db(), id, now, &actor, kind, &text).await?;
        let Some(incident) = store::get(cx.db(), id).await? else {
            continue;
        };
        let icon = if closed { "✔" } else { "↩" };
        ops::note(cx, config, id, Message::new("", format!("{icon} {actor}: {text}"))).await?;
        let all_closed = store::alerts(cx.db(), id).await?.iter().all(LinkedAlert::is_closed);
        if closed && config.resolve_on_alert_closed && incident.state.is_active() && all_closed {
            ops::resolve_as(cx, config, id, GITHUB, Some("every linked alert was closed on GitHub")).await?;
        } else if incident.state != IncidentState::Closed {
            ops::publish(cx, config, id).await?;
        }
    }
    Ok(())
}

/// The incident an SLA event is about, when this plugin knows it.
async fn sla_incident(cx: &mut Cx<'_>, incident_id: i64, kind: &str) -> Result<Option<Incident>, PluginError> {
    let incident = store::get(cx.db(), IncidentId(incident_id)).await?;
    if incident.is_none() {
        tracing::debug!(incident = incident_id, kind, "SLA event for an unknown incident");
    }
    Ok(incident)
}

/// Which deadline an `sla.warning` or `sla.breached` is about, and when it is.
fn deadline_of(sla: &SlaDeadline) -> (&str, String) {
    let which = sla.kind.as_deref().unwrap_or("response");
    let deadline = sla.deadline.map(render::time).unwrap_or_else(|| "unknown".to_owned());
    (which, deadline)
}

async fn sla_planned(cx: &mut Cx<'_>, config: &IncidentConfig, sla: SlaPlanned) -> Result<(), PluginError> {
    let Some(incident) = sla_incident(cx, sla.incident_id, SlaPlanned::KIND).await? else {
        return Ok(());
    };
    let id = incident.id;
    let now = cx.now();
    let change = Change::Deadlines {
        respond_by: sla.respond_by,
        resolve_by: sla.resolve_by,
    };
    store::update(cx.db(), id, change, now).await?;
    let show = |t: Option<DateTime<Utc>>| t.map(render::time).unwrap_or_else(|| "—".to_owned());
    let severity = sla.severity.unwrap_or(incident.severity);
    let text = format!(
        "SLA planned ({severity}): respond by {}, resolve by {}",
        show(sla.respond_by),
        show(sla.resolve_by)
    );
    store::record(cx.db(), id, now, SLA, "sla_planned", &text).await?;
    ops::publish(cx, config, id).await
}

async fn sla_warning(cx: &mut Cx<'_>, sla: SlaDeadline) -> Result<(), PluginError> {
    let Some(incident) = sla_incident(cx, sla.incident_id, SlaWarning::KIND).await? else {
        return Ok(());
    };
    let at = sla.at.unwrap_or_else(|| cx.now());
    let (which, deadline) = deadline_of(&sla);
    let text = format!("{which} deadline {deadline} is near");
    store::record(cx.db(), incident.id, at, SLA, "sla_warning", &text).await?;
    Ok(())
}

async fn sla_ping(cx: &mut Cx<'_>, sla: SlaPing) -> Result<(), PluginError> {
    let Some(incident) = sla_incident(cx, sla.incident_id, SlaPing::KIND).await? else {
        return Ok(());
    };
    let at = sla.at.unwrap_or_else(|| cx.now());
    let level = sla.level.unwrap_or_else(|| "someone".to_owned());
    let step = sla.step.map(|s| format!(" (step {s})")).unwrap_or_default();
    let who = if sla.mentions.is_empty() {
        String::new()
    } else {
        format!(": {}", sla.mentions.join(", "))
    };
    let text = format!("escalated to {level}{step}{who}");
    store::record(cx.db(), incident.id, at, SLA, "sla_ping", &text).await?;
    Ok(())
}

async fn sla_breached(cx: &mut Cx<'_>, config: &IncidentConfig, sla: SlaDeadline) -> Result<(), PluginError> {
    let Some(incident) = sla_incident(cx, sla.incident_id, SlaBreached::KIND).await? else {
        return Ok(());
    };
    let id = incident.id;
    let at = sla.at.unwrap_or_else(|| cx.now());
    let (which, deadline) = deadline_of(&sla);
    let change = if which == "resolution" {
        Change::ResolutionBreached
    } else {
        Change::ResponseBreached
    };
    let now = cx.now();
    store::update(cx.db(), id, change, now).await?;
    let text = format!("{which} SLA breached (deadline {deadline})");
    store::record(cx.db(), id, at, SLA, "sla_breached", &text).await?;
    ops::publish(cx, config, id).await?;
    ops::note(cx, config, id, Message::new("", format!("⏰ Incident {id}: {text}."))).await
}
