//! An incident's life: opened (declared or from an alert), acknowledged, resolved, reopened,
//! closed, and the request to escalate it. Each change goes on the timeline, is announced as a
//! domain event and refreshes the incident's message.

use sentinel_bot::{Cx, DomainEventPayload, Message, PluginError, Severity};

use super::super::config::IncidentConfig;
use super::super::model::{Incident, IncidentId, IncidentState, Stage};
use super::super::render::{self};
use super::super::space;
use super::super::store::{self, Change, Filter, NewIncident};
use super::message::{note, publish};
use super::{Caller, changed, load, load_changeable, reply};
use crate::domain::{
    IncidentAcknowledged, IncidentChange, IncidentClosed, IncidentEscalateRequested, IncidentOpened, IncidentReopened,
    IncidentResolved,
};

/// Creates an incident with its detection checklist and emits `incident.opened`.
pub async fn open(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    new: &NewIncident<'_>,
    alert_keys: &[String],
    how: &str,
) -> Result<IncidentId, PluginError> {
    let now = cx.now();
    let id = store::insert(cx.db(), new, now).await?;
    store::enter_stage(
        cx.db(),
        id,
        Stage::Detection,
        config.checklists.of(Stage::Detection),
        now,
    )
    .await?;
    store::record(cx.db(), id, now, new.opened_by, "declared", how).await?;
    cx.publish(&IncidentOpened {
        id: id.0,
        title: new.title.to_owned(),
        severity: new.severity,
        opened_at: Some(now),
        opened_by: new.opened_by.to_owned(),
        repository: new.repository.map(str::to_owned),
        alert_keys: alert_keys.to_vec(),
    })
    .await?;
    Ok(id)
}

pub(super) async fn declare(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    severity: Severity,
    title: &str,
) -> Result<(), PluginError> {
    let new = NewIncident {
        title,
        severity,
        opened_by: &caller.name,
        repository: None,
        grouping_key: None,
    };
    let id = open(
        cx,
        config,
        &new,
        &[],
        &format!("declared a {severity} incident: {title}"),
    )
    .await?;
    publish(cx, config, id).await?;
    let also = space::of(cx, id)
        .await?
        .map(|s| format!(" and #{}", s.name))
        .unwrap_or_default();
    reply(
        cx,
        caller,
        format!(
            "Declared incident {id} ({severity}): {title}. It is in #{}{also}; acknowledge it with /incident ack {}",
            config.channel, id.0
        ),
    )
    .await
}

pub(super) async fn ack(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: Option<IncidentId>,
) -> Result<(), PluginError> {
    let id = match id {
        Some(id) => id,
        None => only_unacknowledged(cx, caller).await?,
    };
    let incident = load(cx, id).await?;
    match incident.state {
        IncidentState::Open => {}
        IncidentState::Acknowledged => {
            let by = incident.acknowledged_by.as_deref().unwrap_or("someone");
            let at = incident.acknowledged_at.map(render::time).unwrap_or_default();
            return Err(PluginError::User(format!(
                "Incident {id} is already acknowledged (by {by} at {at})."
            )));
        }
        IncidentState::Resolved | IncidentState::Closed => {
            return Err(PluginError::User(format!(
                "Incident {id} is {}, so it cannot be acknowledged. To work on it again: /incident reopen {}",
                incident.state, id.0
            )));
        }
    }
    let now = cx.now();
    store::update(cx.db(), id, Change::Acknowledge { by: &caller.name }, now).await?;
    let change = Announcement {
        by: &caller.name,
        kind: "acknowledged",
        timeline: "acknowledged",
        event: IncidentAcknowledged,
        note: format!("✅ {} acknowledged incident {id}.", caller.name),
    };
    announce(cx, config, id, change).await?;
    reply(cx, caller, format!("Acknowledged incident {id}.")).await
}

/// A state change as everyone hears of it: the timeline, the domain event for other plugins, the
/// refreshed incident message and a note in its thread.
pub(super) struct Announcement<'a, E> {
    by: &'a str,
    kind: &'static str,
    timeline: &'a str,
    /// The domain event's constructor, e.g. `IncidentAcknowledged`.
    event: fn(IncidentChange) -> E,
    note: String,
}

pub(super) async fn announce<E: DomainEventPayload>(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    id: IncidentId,
    change: Announcement<'_, E>,
) -> Result<(), PluginError> {
    let now = cx.now();
    store::record(cx.db(), id, now, change.by, change.kind, change.timeline).await?;
    cx.publish(&(change.event)(changed(id, now, change.by))).await?;
    publish(cx, config, id).await?;
    note(cx, config, id, Message::new("", change.note)).await
}

/// Picks the incident `ack` without an id means: the caller's only unacknowledged one (as commander
/// or assignee), else the only one there is.
pub(super) async fn only_unacknowledged(cx: &mut Cx<'_>, caller: &Caller<'_>) -> Result<IncidentId, PluginError> {
    let waiting: Vec<Incident> = store::list(cx.db(), Filter::Active, 100)
        .await?
        .into_iter()
        .filter(|i| i.state == IncidentState::Open)
        .collect();
    let mine: Vec<&Incident> = waiting
        .iter()
        .filter(|i| i.assignee.as_deref() == Some(&caller.name) || i.commander.as_deref() == Some(&caller.name))
        .collect();
    let all: Vec<&Incident> = waiting.iter().collect();
    match (mine.as_slice(), all.as_slice()) {
        ([only], _) | ([], [only]) => Ok(only.id),
        (_, []) => Err(PluginError::User(
            "No incident is waiting for acknowledgement.".to_owned(),
        )),
        _ => {
            let ids: Vec<String> = waiting.iter().map(|i| i.id.0.to_string()).collect();
            Err(PluginError::User(format!(
                "Several incidents are waiting for acknowledgement: {}. Say which: /incident ack <id>",
                ids.iter().map(|i| format!("#{i}")).collect::<Vec<_>>().join(", ")
            )))
        }
    }
}

/// Resolves an incident, recording and announcing it. Used by the command, the button and alert
/// closures.
pub async fn resolve_as(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    id: IncidentId,
    by: &str,
    summary: Option<&str>,
) -> Result<(), PluginError> {
    let now = cx.now();
    let unacknowledged = store::get(cx.db(), id)
        .await?
        .is_some_and(|i| i.acknowledged_at.is_none());
    if unacknowledged {
        // Resolving is a response: time to acknowledge must not stay open for the audit.
        store::record(cx.db(), id, now, by, "acknowledged", "acknowledged (by resolving)").await?;
    }
    store::update(cx.db(), id, Change::Resolve { by, summary }, now).await?;
    let text = match summary {
        Some(summary) => format!("resolved: {summary}"),
        None => "resolved".to_owned(),
    };
    store::record(cx.db(), id, now, by, "resolved", &text).await?;
    cx.publish(&IncidentResolved {
        id: id.0,
        at: Some(now),
        by: Some(by.to_owned()),
        summary: summary.map(str::to_owned),
    })
    .await?;
    publish(cx, config, id).await?;
    let suffix = summary.map(|s| format!(": {s}")).unwrap_or_default();
    note(
        cx,
        config,
        id,
        Message::new("", format!("🏁 {by} resolved incident {id}{suffix}")),
    )
    .await
}

pub(super) async fn resolve(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
    summary: Option<&str>,
) -> Result<(), PluginError> {
    let incident = load_changeable(cx, id).await?;
    if incident.state == IncidentState::Resolved {
        let by = incident.resolved_by.as_deref().unwrap_or("someone");
        let at = incident.resolved_at.map(render::time).unwrap_or_default();
        return Err(PluginError::User(format!(
            "Incident {id} is already resolved (by {by} at {at}). Close it with /incident close {}",
            id.0
        )));
    }
    resolve_as(cx, config, id, &caller.name, summary).await?;
    reply(cx, caller, format!("Resolved incident {id}.")).await
}

pub(super) async fn reopen(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
) -> Result<(), PluginError> {
    let incident = load(cx, id).await?;
    if incident.state.is_active() {
        return Err(PluginError::User(format!(
            "Incident {id} is {}, not resolved or closed, so there is nothing to reopen.",
            incident.state
        )));
    }
    // Work resumes where it was: an incident someone had acknowledged does not need acknowledging again.
    let to = if incident.acknowledged_at.is_some() {
        IncidentState::Acknowledged
    } else {
        IncidentState::Open
    };
    let now = cx.now();
    if incident.state == IncidentState::Closed {
        store::resume_stage(cx.db(), id, incident.stage, now).await?;
    }
    store::update(cx.db(), id, Change::Reopen { to }, now).await?;
    let change = Announcement {
        by: &caller.name,
        kind: "reopened",
        timeline: &format!("reopened ({to})"),
        event: IncidentReopened,
        note: format!("🔁 {} reopened incident {id}.", caller.name),
    };
    announce(cx, config, id, change).await?;
    reply(cx, caller, format!("Reopened incident {id}; it is {to}.")).await
}

pub(super) async fn close(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
) -> Result<(), PluginError> {
    let incident = load(cx, id).await?;
    match incident.state {
        IncidentState::Resolved => {}
        IncidentState::Closed => return Err(PluginError::User(format!("Incident {id} is already closed."))),
        IncidentState::Open | IncidentState::Acknowledged => {
            return Err(PluginError::User(format!(
                "Incident {id} is {}; resolve it before closing it: /incident resolve {} [summary]",
                incident.state, id.0
            )));
        }
    }
    let now = cx.now();
    store::leave_stage(cx.db(), id, now).await?;
    store::update(cx.db(), id, Change::Close { by: &caller.name }, now).await?;
    let change = Announcement {
        by: &caller.name,
        kind: "closed",
        timeline: "closed",
        event: IncidentClosed,
        note: format!("🔒 {} closed incident {id}.", caller.name),
    };
    announce(cx, config, id, change).await?;
    reply(cx, caller, format!("Closed incident {id}.")).await
}

pub(super) async fn escalate(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
) -> Result<(), PluginError> {
    let incident = load(cx, id).await?;
    if !incident.state.is_active() {
        return Err(PluginError::User(format!(
            "Incident {id} is {}; there is nothing to escalate.",
            incident.state
        )));
    }
    let now = cx.now();
    store::record(cx.db(), id, now, &caller.name, "escalate", "asked for escalation").await?;
    cx.publish(&IncidentEscalateRequested(changed(id, now, &caller.name)))
        .await?;
    note(
        cx,
        config,
        id,
        Message::new("", format!("🚨 {} asked to escalate incident {id}.", caller.name)),
    )
    .await?;
    reply(cx, caller, format!("Asked for incident {id} to be escalated.")).await
}
