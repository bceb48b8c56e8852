//! What a Slack slash command or interaction becomes, however it arrived: over HTTP
//! ([`super::slack`], signed) or over Socket Mode ([`super::slack_socket`]). Both paths store the
//! same inbox events under the same dedup keys (Slack's `trigger_id`), so a command Slack delivers
//! twice — by either path, or once by each — runs once.
//!
//! | input | stored | answer |
//! |---|---|---|
//! | a command no plugin owns | nothing | an ephemeral "unknown command" reply |
//! | a command | a command event | empty: the plugin's reply follows through `response_url` |
//! | a button click (or a link button, or another interaction type) | an action event per button | empty |
//! | a click that names no user | nothing | unreadable |
//! | the inbox cannot store it | nothing | command: an ephemeral "try again"; click: retry |

use serde::Deserialize;
use slack_morphism::prelude::{SlackCommandEvent, SlackInteractionActionContainer, SlackInteractionEvent};

use crate::chat::slack::render::action_id_of;
use crate::event::{Action, Actor, Command, NewEvent, Origin};
use crate::ids::Platform;
use crate::pipeline::ingest::{Accepted, Ingest};
use crate::pipeline::router::Router as EventRouter;

/// A slash command as Slack sends it (form fields over HTTP, the same fields as a JSON object over
/// Socket Mode): slack-morphism's typed event plus the caller's name.
#[derive(Deserialize)]
pub struct CommandForm {
    #[serde(flatten)]
    event: SlackCommandEvent,
    #[serde(default)]
    user_name: Option<String>,
}

/// What to answer Slack once a command or click was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Stored (or a duplicate, or nothing to store): acknowledge with nothing.
    Ack,
    /// Acknowledge with this ephemeral reply to the caller.
    Ephemeral(String),
    /// Not stored: do not acknowledge it as done, so that Slack (or the user) tries again.
    Retry(String),
}

/// Slack sent something it never sends (a click without a user): refused, not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub String);

/// Stores `form` as a command event, unless no plugin owns the command.
pub async fn take_command(ingest: &Ingest, router: &EventRouter, form: CommandForm) -> Answer {
    let event = form.event;
    let name = event.command.0.trim().trim_start_matches('/').to_owned();
    if !router.command_specs().iter().any(|spec| spec.name == name) {
        tracing::info!(command = %name, "slack command nobody handles");
        return Answer::Ephemeral(format!(
            "Unknown command `/{name}`: no Sentinel plugin handles it. Type `/sentinel help` for the list."
        ));
    }
    let command = Command {
        name,
        args: event.text.as_deref().unwrap_or_default().trim().to_owned(),
        origin: Origin {
            actor: Actor {
                platform: Platform::Slack,
                id: event.user_id.0.clone(),
                name: form.user_name.filter(|n| !n.is_empty()).unwrap_or(event.user_id.0),
                groups: Vec::new(),
            },
            channel: event.channel_id.0,
            response_url: Some(event.response_url.0.to_string()),
        },
    };
    let new = match NewEvent::command(&event.trigger_id.0, &command) {
        Ok(new) => new,
        Err(err) => {
            tracing::error!(cause = %err, "cannot encode a slack command");
            return Answer::Ephemeral("Sentinel could not read that command; please try again.".into());
        }
    };
    match ingest.submit(new).await {
        Ok(Accepted::New(id)) => {
            tracing::info!(command = %command.name, trigger = %event.trigger_id.0, id = id.0, "slack command stored");
            Answer::Ack
        }
        Ok(Accepted::Duplicate) => Answer::Ack,
        Err(err) => {
            tracing::error!(cause = %err, "slack command not stored");
            Answer::Ephemeral("Sentinel is busy and could not take that command; please try again in a moment.".into())
        }
    }
}

/// Stores each clicked button of a block action as an action event; other interactions (modals,
/// shortcuts: Sentinel posts none) are acknowledged and dropped.
pub async fn take_interaction(ingest: &Ingest, interaction: SlackInteractionEvent) -> Result<Answer, Unreadable> {
    let SlackInteractionEvent::BlockActions(event) = interaction else {
        return Ok(Answer::Ack);
    };
    let Some(user) = event.user else {
        return Err(Unreadable("the button click names no user".into()));
    };
    let channel = event.channel.map(|c| c.id.0).or_else(|| match event.container {
        SlackInteractionActionContainer::Message(m) => m.channel_id.map(|c| c.0),
        _ => None,
    });
    let actor = Actor {
        platform: Platform::Slack,
        id: user.id.0.clone(),
        name: user.username.or(user.name).unwrap_or_else(|| user.id.0.clone()),
        groups: Vec::new(),
    };
    let actions = event.actions.unwrap_or_default();
    for (index, clicked) in actions.iter().enumerate() {
        let Some(id) = action_id_of(&clicked.action_id.0) else {
            continue; // a link button: the browser opened it, nothing for a plugin
        };
        let action = Action {
            id: id.to_owned(),
            value: clicked.value.clone().unwrap_or_default(),
            origin: Origin {
                actor: actor.clone(),
                channel: channel.clone().unwrap_or_default(),
                response_url: event.response_url.as_ref().map(|u| u.0.to_string()),
            },
        };
        let dedup = if actions.len() == 1 {
            event.trigger_id.0.clone()
        } else {
            format!("{}:{index}", event.trigger_id.0)
        };
        let new = match NewEvent::action(&dedup, &action) {
            Ok(new) => new,
            Err(err) => {
                tracing::error!(cause = %err, "cannot encode a slack button click");
                continue;
            }
        };
        match ingest.submit(new).await {
            Ok(_) => tracing::info!(action = %action.id, trigger = %event.trigger_id.0, "slack button click stored"),
            Err(err) => {
                tracing::error!(cause = %err, "slack button click not stored");
                return Ok(Answer::Retry("could not store the click; try again".into()));
            }
        }
    }
    Ok(Answer::Ack)
}
