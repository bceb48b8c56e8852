//! What a Discord interaction becomes, however it arrived: POSTed to `/discord/interactions`
//! ([`super::discord`], signed) or dispatched as `INTERACTION_CREATE` on the Gateway
//! ([`super::discord_gateway`]). Both paths store the same inbox events under the same dedup key
//! (the interaction id), so an interaction delivered twice — a resumed Gateway session replays
//! what it dispatched — runs once; and both give Discord the same answer, as the HTTP response
//! body or as the body of `POST /interactions/{id}/{token}/callback`.
//!
//! | interaction | stored | answer |
//! |---|---|---|
//! | PING | nothing | PONG (type 1) |
//! | a command no plugin owns | nothing | an ephemeral "unknown command" message |
//! | a slash command | a command event | deferred ephemeral answer (type 5): the reply follows up |
//! | a button | an action event | deferred update (type 6): nothing shown until a plugin acts |
//! | autocomplete | nothing | no choices |
//! | the inbox cannot store it | nothing | an ephemeral "try again" message |
//! | another type, or no user / channel / data | nothing | malformed: refused |
//!
//! Plugins answer later through the interaction's follow-up webhook, whose address travels as
//! `Origin.response_url` (`discord-interaction:{application_id}:{id}:{token}`, valid 15 minutes; the
//! id tells the adapter how young the interaction is, see [`crate::chat::discord`]). Only
//! the fields Sentinel uses are read, so new fields Discord adds never break it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use serenity::builder::{CreateInteractionResponse, CreateInteractionResponseMessage};

use crate::chat::discord::commands::args_of;
use crate::chat::discord::render::parse_custom_id;
use crate::chat::discord::{interaction_url, parse_interaction};
use crate::event::{Action, Actor, Command, NewEvent, Origin};
use crate::ids::Platform;
use crate::pipeline::ingest::{Accepted, Ingest};
use crate::pipeline::router::Router as EventRouter;

/// The parts of an interaction Sentinel reads.
#[derive(Deserialize)]
pub struct Interaction {
    /// The interaction id: the dedup key, and part of the callback address.
    pub id: String,
    application_id: String,
    #[serde(rename = "type")]
    kind: u8,
    /// The interaction token (a credential for 15 minutes: never logged).
    pub token: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    channel_id: Option<String>,
    #[serde(default)]
    channel: Option<Channel>,
    /// In a server: the member (with their roles).
    #[serde(default)]
    member: Option<Member>,
    /// In a direct message: the user.
    #[serde(default)]
    user: Option<User>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    options: Vec<Value>,
    #[serde(default)]
    custom_id: Option<String>,
}

#[derive(Deserialize)]
struct Channel {
    id: String,
}

#[derive(Deserialize)]
struct Member {
    user: User,
    #[serde(default)]
    nick: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Deserialize)]
struct User {
    id: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    global_name: Option<String>,
}

const PING: u8 = 1;
const APPLICATION_COMMAND: u8 = 2;
const MESSAGE_COMPONENT: u8 = 3;
const AUTOCOMPLETE: u8 = 4;

/// An interaction response body.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Reply {
    /// Built with serenity's builder.
    Response(Box<CreateInteractionResponse>),
    /// A bare `{"type": n}`: serenity would add `"data": null`, Discord's own examples send none.
    Bare(Value),
}

/// What to do with an interaction once it was taken.
pub enum Outcome {
    /// Answer Discord with this body.
    Answer(Reply),
    /// Discord never sends this: refused, nothing stored.
    Malformed(String),
}

/// Stores `interaction` when it is a command a plugin owns or a button click, and says how to
/// answer it.
pub async fn take(ingest: &Ingest, router: &EventRouter, interaction: &Interaction) -> Outcome {
    match interaction.kind {
        PING => Outcome::Answer(Reply::Bare(json!({ "type": 1 }))),
        APPLICATION_COMMAND => command(ingest, router, interaction).await,
        MESSAGE_COMPONENT => component(ingest, interaction).await,
        AUTOCOMPLETE => Outcome::Answer(Reply::Response(Box::new(CreateInteractionResponse::Autocomplete(
            Default::default(),
        )))),
        other => Outcome::Malformed(format!("interaction type {other} is not one Sentinel handles")),
    }
}

fn ephemeral(text: impl Into<String>) -> Outcome {
    Outcome::Answer(Reply::Response(Box::new(CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new().content(text).ephemeral(true),
    ))))
}

/// Who, where and how to answer.
fn origin(interaction: &Interaction) -> Option<Origin> {
    let (user, nick, roles) = match (&interaction.member, &interaction.user) {
        (Some(member), _) => (&member.user, member.nick.clone(), member.roles.clone()),
        (None, Some(user)) => (user, None, Vec::new()),
        (None, None) => return None,
    };
    let name = nick
        .or_else(|| user.global_name.clone())
        .or_else(|| user.username.clone())
        .unwrap_or_else(|| user.id.clone());
    let channel = interaction
        .channel_id
        .clone()
        .or_else(|| interaction.channel.as_ref().map(|c| c.id.clone()))?;
    let response_url = interaction_url(&interaction.application_id, &interaction.id, &interaction.token);
    // Only an address the adapter can use again is worth carrying.
    let response_url = parse_interaction(&response_url).is_some().then_some(response_url);
    Some(Origin {
        actor: Actor {
            platform: Platform::Discord,
            id: user.id.clone(),
            name,
            groups: roles,
        },
        channel,
        response_url,
    })
}

async fn command(ingest: &Ingest, router: &EventRouter, interaction: &Interaction) -> Outcome {
    let (Some(origin), Some(data)) = (origin(interaction), interaction.data.as_ref()) else {
        return Outcome::Malformed("the command names no user, channel or command data".into());
    };
    let name = data.name.clone().unwrap_or_default();
    if !router.command_specs().iter().any(|spec| spec.name == name) {
        tracing::info!(command = %name, "discord command nobody handles");
        return ephemeral(format!(
            "Unknown command `/{name}`: no Sentinel plugin handles it. Type `/sentinel help` for the list, \
             and ask an admin to run `sentinel discord register-commands`."
        ));
    }
    let command = Command {
        name,
        args: args_of(&data.options),
        origin,
    };
    let new = match NewEvent::command(&interaction.id, &command) {
        Ok(new) => new,
        Err(err) => {
            tracing::error!(cause = %err, "cannot encode a discord command");
            return ephemeral("Sentinel could not read that command; please try again.");
        }
    };
    match ingest.submit(new).await {
        Ok(accepted) => {
            if let Accepted::New(id) = accepted {
                tracing::info!(command = %command.name, interaction = %interaction.id, id = id.0, "discord command stored");
            }
            // "Thinking…", visible to the caller only; the plugin's first reply replaces it.
            Outcome::Answer(Reply::Response(Box::new(CreateInteractionResponse::Defer(
                CreateInteractionResponseMessage::new().ephemeral(true),
            ))))
        }
        Err(err) => {
            tracing::error!(cause = %err, "discord command not stored");
            ephemeral("Sentinel is busy and could not take that command; please try again in a moment.")
        }
    }
}

async fn component(ingest: &Ingest, interaction: &Interaction) -> Outcome {
    let custom_id = interaction.data.as_ref().and_then(|d| d.custom_id.clone());
    let (Some(origin), Some(custom_id)) = (origin(interaction), custom_id) else {
        return Outcome::Malformed("the button click names no user, channel or custom_id".into());
    };
    let (id, value) = parse_custom_id(&custom_id);
    let action = Action {
        id: id.to_owned(),
        value: value.to_owned(),
        origin,
    };
    let new = match NewEvent::action(&interaction.id, &action) {
        Ok(new) => new,
        Err(err) => {
            tracing::error!(cause = %err, "cannot encode a discord button click");
            return ephemeral("Sentinel could not read that click; please try again.");
        }
    };
    match ingest.submit(new).await {
        Ok(_) => {
            tracing::info!(action = %action.id, interaction = %interaction.id, "discord button click stored");
            // Acknowledge without a visible change: the plugin edits the message or replies.
            Outcome::Answer(Reply::Bare(json!({ "type": 6 })))
        }
        Err(err) => {
            tracing::error!(cause = %err, "discord button click not stored");
            ephemeral("Sentinel is busy and could not take that click; please try again in a moment.")
        }
    }
}
