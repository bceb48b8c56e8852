//! What each operation does, one family per file. Every operation checks everything first and
//! answers bad input with [`PluginError::User`] before it writes anything (the dispatcher answers
//! the caller privately and rolls back), so a refused request changes nothing.
//!
//! - `lifecycle`: open, declare, acknowledge, resolve, reopen, close, escalate.
//! - `progress`: the work on an incident — people, updates, severity, stage, checklist.
//! - `views`: list, show, timeline, post-mortem.
//! - `message`: the incident's message and the notes in its thread and space.

use sentinel_bot::{Cx, Message, Origin, PluginError};

use super::commands::{Op, spec};
use super::config::IncidentConfig;
use super::model::{Incident, IncidentId, IncidentState};
use super::store::{self, Filter};
use crate::domain::IncidentChange;
use chrono::{DateTime, Utc};

mod lifecycle;
mod message;
mod progress;
mod views;

pub use lifecycle::{open, resolve_as};
pub use message::{note, publish};
pub use progress::set_severity;
pub use views::post_mortem_markdown;

use lifecycle::{ack, close, declare, escalate, reopen, resolve};
use progress::{assign, change_stage, check, severity, update};
use views::{list, post_mortem, show, timeline};

/// The payload of a plain state change `by` someone `now`.
pub(super) fn changed(id: IncidentId, now: DateTime<Utc>, by: &str) -> IncidentChange {
    IncidentChange {
        id: id.0,
        at: Some(now),
        by: Some(by.to_owned()),
    }
}

/// Who asked, as the timeline names them, and where to answer.
pub struct Caller<'a> {
    /// Their `[people]` key or display name.
    pub name: String,
    /// Where the command or click came from.
    pub origin: &'a Origin,
}

/// Runs `op` for `caller`.
pub async fn run(cx: &mut Cx<'_>, config: &IncidentConfig, caller: &Caller<'_>, op: Op) -> Result<(), PluginError> {
    match op {
        Op::Declare { severity, title } => declare(cx, config, caller, severity, &title).await,
        Op::Ack(id) => ack(cx, config, caller, id).await,
        Op::Assign(id, person) => assign(cx, config, caller, id, &person, false).await,
        Op::Commander(id, person) => assign(cx, config, caller, id, &person, true).await,
        Op::Update(id, text) => update(cx, config, caller, id, &text).await,
        Op::Severity(id, level) => severity(cx, config, caller, id, level).await,
        Op::Stage(id, stage) => change_stage(cx, config, caller, id, stage).await,
        Op::Check(id, item) => check(cx, config, caller, id, &item).await,
        Op::Resolve(id, summary) => resolve(cx, config, caller, id, summary.as_deref()).await,
        Op::Reopen(id) => reopen(cx, config, caller, id).await,
        Op::Close(id) => close(cx, config, caller, id).await,
        Op::Escalate(id) => escalate(cx, config, caller, id).await,
        Op::List(filter) => list(cx, caller, filter).await,
        Op::Show(id) => show(cx, config, caller, id).await,
        Op::Timeline(id) => timeline(cx, caller, id).await,
        Op::Postmortem(id) => post_mortem(cx, config, caller, id).await,
        Op::Help => reply(cx, caller, spec().help_text()).await,
    }
}

pub(super) async fn reply(cx: &mut Cx<'_>, caller: &Caller<'_>, text: impl Into<String>) -> Result<(), PluginError> {
    cx.reply_private(caller.origin, Message::reply(text)).await?;
    Ok(())
}

/// The incident `id`, or a user failure naming the incidents that do exist.
pub(super) async fn load(cx: &mut Cx<'_>, id: IncidentId) -> Result<Incident, PluginError> {
    if let Some(incident) = store::get(cx.db(), id).await? {
        return Ok(incident);
    }
    let active = store::list(cx.db(), Filter::Active, 20).await?;
    let known = if active.is_empty() {
        "There are no open incidents.".to_owned()
    } else {
        let ids: Vec<String> = active.iter().map(|i| i.id.to_string()).collect();
        format!("Open incidents: {}.", ids.join(", "))
    };
    Err(PluginError::User(format!("There is no incident {id}. {known}")))
}

/// The incident `id` unless it is closed, which only `reopen` may change.
pub(super) async fn load_changeable(cx: &mut Cx<'_>, id: IncidentId) -> Result<Incident, PluginError> {
    let incident = load(cx, id).await?;
    if incident.state == IncidentState::Closed {
        return Err(PluginError::User(format!(
            "Incident {id} is closed, so it cannot be changed. Reopen it first: /incident reopen {}",
            id.0
        )));
    }
    Ok(incident)
}
