//! The incident's message (one per channel, edited in place on every change) and the notes in its
//! thread and space.

use sentinel_bot::{Cx, Mention, Message, PluginError};

use super::super::config::IncidentConfig;
use super::super::model::{Incident, IncidentId};
use super::super::render::{self, View};
use super::super::space;
use super::super::store::{self};
use super::super::tracking;

/// Re-sends the incident's message (the core edits it in place), in the incident channel and in
/// the incident's space; opens the space first when the incident should have one and has none.
pub async fn publish(cx: &mut Cx<'_>, config: &IncidentConfig, id: IncidentId) -> Result<(), PluginError> {
    let Some(incident) = store::get(cx.db(), id).await? else {
        return Ok(());
    };
    // Every change re-sends the message, so this is where a space opens — before anything is sent
    // to it — whether the incident was declared, opened from an alert or raised to `min_severity`.
    let space = space::ensure(cx, config, &incident).await?;
    let message = current(cx, config, &incident, space.as_ref().map(|s| s.name.as_str())).await?;
    cx.send(message.clone()).await?;
    if let Some(space) = space {
        // The same message, keyed the same way: the core keeps one per channel and edits each.
        let mut copy = message;
        copy.channel = space.channel;
        cx.send(copy).await?;
    }
    // Every change of an incident re-sends its message, so this is where its issue follows.
    tracking::sync(cx, config, id).await
}

/// The incident's message as it stands now, for the incident channel: its current stage's
/// checklist, linked alerts, last update, tracking issue and `space` (the space's name, if any).
pub(super) async fn current(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    incident: &Incident,
    space: Option<&str>,
) -> Result<Message, PluginError> {
    let id = incident.id;
    let checks = store::checks(cx.db(), id, Some(incident.stage)).await?;
    let alerts = store::alerts(cx.db(), id).await?;
    let last_update = store::last_update(cx.db(), id).await?;
    let tracking_issue = tracking::link(cx, id).await?;
    let now = cx.now();
    Ok(render::incident_message(
        &config.channel,
        &View {
            incident,
            checks: &checks,
            alerts: &alerts,
            last_update: last_update.as_ref(),
            tracking_issue: tracking_issue.as_deref(),
            space,
            now,
        },
    ))
}

/// Posts a note in the incident's thread and, when the incident has a space, in the space (as a
/// message of its own there: the space is the incident's conversation).
pub async fn note(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    id: IncidentId,
    message: Message,
) -> Result<(), PluginError> {
    let mut threaded = message.clone().in_thread(render::message_key(id));
    threaded.channel = config.channel.as_str().into();
    cx.send(threaded).await?;
    if let Some(space) = space::of(cx, id).await? {
        let mut copy = message;
        copy.channel = space.channel;
        cx.send(copy).await?;
    }
    Ok(())
}

/// A mention of `name` when it is a configured person.
pub(super) fn mention_of(cx: &Cx<'_>, name: &str) -> Option<Mention> {
    cx.directory()
        .has_person(name)
        .then(|| Mention::Person(name.to_owned()))
}
