//! What a caller can read: the list of incidents, one incident, its timeline and post-mortem.

use sentinel_bot::{Cx, Message, PluginError};

use super::super::config::IncidentConfig;
use super::super::model::{IncidentId, Stage};
use super::super::postmortem;
use super::super::render;
use super::super::space;
use super::super::store::{self, Filter};
use super::super::tracking;
use super::{Caller, load, reply};

pub(super) async fn list(cx: &mut Cx<'_>, caller: &Caller<'_>, filter: Filter) -> Result<(), PluginError> {
    let incidents = store::list(cx.db(), filter, 50).await?;
    let text = if incidents.is_empty() {
        match filter {
            Filter::Active => "No open incidents.".to_owned(),
            Filter::All => "No incidents yet.".to_owned(),
        }
    } else {
        let heading = match filter {
            Filter::Active => "Open incidents:",
            Filter::All => "Incidents, newest first:",
        };
        let lines: Vec<String> = incidents.iter().map(render::list_line).collect();
        format!("{heading}\n{}", lines.join("\n"))
    };
    reply(cx, caller, text).await
}

pub(super) async fn show(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
) -> Result<(), PluginError> {
    let incident = load(cx, id).await?;
    let space = space::of(cx, id).await?;
    let mut message = super::message::current(cx, config, &incident, space.as_ref().map(|s| s.name.as_str())).await?;
    // A copy for the caller: not the channel's message, so neither keyed nor clickable.
    message.key = None;
    message.buttons.clear();
    cx.reply_private(caller.origin, message).await?;
    Ok(())
}

pub(super) async fn timeline(cx: &mut Cx<'_>, caller: &Caller<'_>, id: IncidentId) -> Result<(), PluginError> {
    let incident = load(cx, id).await?;
    let entries = store::timeline(cx.db(), id).await?;
    let lines: Vec<String> = entries.iter().map(render::timeline_line).collect();
    reply(
        cx,
        caller,
        format!("Timeline of incident {id}: {}\n{}", incident.title, lines.join("\n")),
    )
    .await
}

/// The post-mortem of incident `id` as of now, when it exists.
pub async fn post_mortem_markdown(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    id: IncidentId,
) -> Result<Option<String>, PluginError> {
    let Some(incident) = store::get(cx.db(), id).await? else {
        return Ok(None);
    };
    let visits = store::stage_visits(cx.db(), id).await?;
    let checks = store::checks(cx.db(), id, None).await?;
    let alerts = store::alerts(cx.db(), id).await?;
    let entries = store::timeline(cx.db(), id).await?;
    let now = cx.now();
    Ok(Some(postmortem::markdown(&postmortem::Facts {
        incident: &incident,
        visits: &visits,
        checks: &checks,
        alerts: &alerts,
        timeline: &entries,
        lessons: config.checklists.of(Stage::Lessons),
        now,
    })))
}

pub(super) async fn post_mortem(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    caller: &Caller<'_>,
    id: IncidentId,
) -> Result<(), PluginError> {
    let incident = load(cx, id).await?;
    let body = post_mortem_markdown(cx, config, id).await?.unwrap_or_default();
    let now = cx.now();
    store::record(cx.db(), id, now, &caller.name, "postmortem", "posted the post-mortem").await?;
    let issue = tracking::post_mortem(cx, config, id, &body).await?.unwrap_or_default();
    let message = Message::new(
        config.channel.as_str(),
        format!("Post-mortem of incident {id}: {}", incident.title),
    )
    .title(format!("Post-mortem: incident {id} — {}", incident.title))
    .severity(incident.severity)
    .body(body);
    cx.send(message.clone()).await?;
    let mut also = String::new();
    if let Some(space) = space::of(cx, id).await? {
        also = format!(" and #{}", space.name);
        let mut copy = message;
        copy.channel = space.channel;
        cx.send(copy).await?;
    }
    reply(
        cx,
        caller,
        format!(
            "Posted the post-mortem of incident {id} to #{}{also}{issue}.",
            config.channel
        ),
    )
    .await
}
