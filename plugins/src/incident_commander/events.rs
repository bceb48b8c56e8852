//! Other plugins' domain events: alerts open incidents or link to them, alert changes and SLA
//! deadlines, warnings, escalations and breaches go on the timeline and the incident message.

use chrono::{DateTime, Utc};
use sentinel_bot::github::GITHUB_RESPONSE;
use sentinel_bot::{Cx, DomainEvent, Message, PluginError, Severity};
use serde::Deserialize;

use super::config::{Grouping, IncidentConfig};
use super::model::{IncidentId, IncidentState, LinkedAlert};
use super::ops;
use super::render;
use super::store::{self, Change, NewIncident};
use crate::domain::{
    ALERT_CLOSED, ALERT_INCIDENT_REQUESTED, ALERT_REOPENED, SLA_BREACHED, SLA_PING, SLA_PLANNED, SLA_WARNING,
};

/// Domain events this plugin consumes (emitted by the alert notifier, the SLA escalator and the
/// core's GitHub worker, whose answers go to `tracking`).
pub const CONSUMED: &[&str] = &[
    GITHUB_RESPONSE,
    ALERT_INCIDENT_REQUESTED,
    ALERT_CLOSED,
    ALERT_REOPENED,
    SLA_PLANNED,
    SLA_WARNING,
    SLA_PING,
    SLA_BREACHED,
];

/// The actor recorded for changes GitHub made.
const GITHUB: &str = "github";
/// The actor recorded for what Sentinel decided by itself.
const SENTINEL: &str = "sentinel";
/// The actor recorded for SLA events.
const SLA: &str = "sla";

/// The alert fields this plugin uses (the alert notifier sends more).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Alert {
    key: String,
    source: String,
    /// Global advisories have no repository: the notifier sends `null`, read here as empty.
    #[serde(deserialize_with = "null_as_empty")]
    repository: String,
    number: Option<i64>,
    severity: String,
    state: String,
    title: String,
    cve: Option<String>,
    ghsa: Option<String>,
    rule: Option<String>,
    secret_type: Option<String>,
    url: Option<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

impl Alert {
    fn linked(&self) -> LinkedAlert {
        LinkedAlert {
            key: self.key.clone(),
            source: self.source.clone(),
            repository: self.repository.clone(),
            number: self.number,
            title: self.title.clone(),
            severity: self.severity.clone(),
            state: if self.state.is_empty() {
                "open".to_owned()
            } else {
                self.state.clone()
            },
            url: self.url.clone(),
        }
    }

    /// The key alerts sharing one incident have in common.
    fn grouping_key(&self, grouping: Grouping) -> String {
        let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        match grouping {
            Grouping::Alert => format!("alert:{}", self.key),
            Grouping::Repository => format!("repository:{}", self.repository),
            Grouping::RepositoryAdvisory => {
                let advisory = nonempty(&self.ghsa)
                    .or_else(|| nonempty(&self.cve))
                    .or_else(|| nonempty(&self.rule).map(|r| format!("rule:{r}")))
                    .or_else(|| nonempty(&self.secret_type).map(|s| format!("secret:{s}")));
                match advisory {
                    Some(advisory) => format!("repository_advisory:{}:{advisory}", self.repository),
                    // Nothing to group on: the alert stands alone.
                    None => format!("alert:{}", self.key),
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct IncidentRequested {
    alert: Alert,
    #[serde(default)]
    requested_by: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AlertChanged {
    alert: Alert,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    actor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SlaEvent {
    incident_id: i64,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    respond_by: Option<DateTime<Utc>>,
    #[serde(default)]
    resolve_by: Option<DateTime<Utc>>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    deadline: Option<DateTime<Utc>>,
    #[serde(default)]
    at: Option<DateTime<Utc>>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    step: Option<u32>,
    #[serde(default)]
    mentions: Vec<String>,
}

/// Handles one consumed domain event.
pub async fn handle(cx: &mut Cx<'_>, config: &IncidentConfig, event: &DomainEvent) -> Result<(), PluginError> {
    match event.kind.as_str() {
        ALERT_INCIDENT_REQUESTED => match parse::<IncidentRequested>(event) {
            Some(request) => incident_requested(cx, config, request).await,
            None => Ok(()),
        },
        ALERT_CLOSED | ALERT_REOPENED => match parse::<AlertChanged>(event) {
            Some(change) => alert_changed(cx, config, change, event.kind == ALERT_CLOSED).await,
            None => Ok(()),
        },
        SLA_PLANNED | SLA_WARNING | SLA_PING | SLA_BREACHED => match parse::<SlaEvent>(event) {
            Some(sla) => sla_event(cx, config, &event.kind, sla).await,
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// A payload of the wrong shape is another plugin's bug; retrying will not fix it, so it is logged
/// and skipped rather than parked as dead.
fn parse<T: serde::de::DeserializeOwned>(event: &DomainEvent) -> Option<T> {
    match serde_json::from_value(event.payload.clone()) {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::warn!(kind = %event.kind, cause = %err, "ignoring a domain event with an unexpected payload");
            None
        }
    }
}

async fn incident_requested(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    request: IncidentRequested,
) -> Result<(), PluginError> {
    let alert = request.alert;
    if alert.key.is_empty() {
        tracing::warn!("ignoring alert.incident_requested without an alert key");
        return Ok(());
    }
    let severity = alert.severity.parse::<Severity>().ok();
    let key = alert.grouping_key(config.grouping);
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
    let wanted = requested.is_some() || severity.is_some_and(|s| s >= config.auto_open_min_severity);
    if !wanted {
        tracing::debug!(alert = %alert.key, severity = %alert.severity, "alert below the auto-open severity");
        return Ok(());
    }
    let title = if alert.repository.is_empty() {
        alert.title.clone()
    } else {
        format!("{} ({})", alert.title, alert.repository)
    };
    let opened_by = requested.clone().unwrap_or_else(|| SENTINEL.to_owned());
    let linked = alert.linked();
    let how = match &requested {
        Some(who) => format!("opened on request of {who} from alert {}", linked.describe()),
        None => format!("opened automatically from alert {}", linked.describe()),
    };
    let new = NewIncident {
        title: &title,
        severity: severity.unwrap_or(Severity::High),
        opened_by: &opened_by,
        repository: (!alert.repository.is_empty()).then_some(alert.repository.as_str()),
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
    severity: Option<Severity>,
) -> Result<(), PluginError> {
    let now = cx.now();
    let linked = alert.linked();
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
        Some(severity) if severity > incident.severity => {
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
    change: AlertChanged,
    closed: bool,
) -> Result<(), PluginError> {
    let alert = change.alert;
    let ids = store::incidents_of_alert(cx.db(), &alert.key).await?;
    if ids.is_empty() {
        return Ok(());
    }
    let state = match (closed, alert.state.as_str()) {
        (true, "" | "open" | "reopened") => change.action.clone().unwrap_or_else(|| "closed".to_owned()),
        (true, state) => state.to_owned(),
        (false, _) => "open".to_owned(),
    };
    store::set_alert_state(cx.db(), &alert.key, &state).await?;
    let actor = change
        .actor
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| GITHUB.to_owned());
    let mut linked = alert.linked();
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

async fn sla_event(cx: &mut Cx<'_>, config: &IncidentConfig, kind: &str, sla: SlaEvent) -> Result<(), PluginError> {
    let id = IncidentId(sla.incident_id);
    let Some(incident) = store::get(cx.db(), id).await? else {
        tracing::debug!(incident = sla.incident_id, kind, "SLA event for an unknown incident");
        return Ok(());
    };
    let at = sla.at.unwrap_or_else(|| cx.now());
    let which = sla.kind.as_deref().unwrap_or("response");
    let deadline = sla.deadline.map(render::time).unwrap_or_else(|| "unknown".to_owned());
    match kind {
        SLA_PLANNED => {
            let now = cx.now();
            let change = Change::Deadlines {
                respond_by: sla.respond_by,
                resolve_by: sla.resolve_by,
            };
            store::update(cx.db(), id, change, now).await?;
            let show = |t: Option<DateTime<Utc>>| t.map(render::time).unwrap_or_else(|| "—".to_owned());
            let severity = sla.severity.unwrap_or_else(|| incident.severity.to_string());
            let text = format!(
                "SLA planned ({severity}): respond by {}, resolve by {}",
                show(sla.respond_by),
                show(sla.resolve_by)
            );
            store::record(cx.db(), id, now, SLA, "sla_planned", &text).await?;
            ops::publish(cx, config, id).await
        }
        SLA_WARNING => {
            let text = format!("{which} deadline {deadline} is near");
            store::record(cx.db(), id, at, SLA, "sla_warning", &text).await?;
            Ok(())
        }
        SLA_PING => {
            let level = sla.level.unwrap_or_else(|| "someone".to_owned());
            let step = sla.step.map(|s| format!(" (step {s})")).unwrap_or_default();
            let who = if sla.mentions.is_empty() {
                String::new()
            } else {
                format!(": {}", sla.mentions.join(", "))
            };
            store::record(
                cx.db(),
                id,
                at,
                SLA,
                "sla_ping",
                &format!("escalated to {level}{step}{who}"),
            )
            .await?;
            Ok(())
        }
        SLA_BREACHED => {
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
        _ => Ok(()),
    }
}
