//! `POST /discord/interactions`: Discord's interactions endpoint.
//!
//! | case | status |
//! |---|---|
//! | body over `http.max_body_bytes` | 413 |
//! | `X-Signature-Ed25519` or `X-Signature-Timestamp` missing | 401 |
//! | signature not Ed25519 over `timestamp + body` under `discord.public_key` | 401 |
//! | timestamp more than 5 minutes from now (a replay) | 401 |
//! | signed, but not an interaction | 400 |
//! | PING | 200, PONG |
//! | a command no plugin owns | 200, an ephemeral "unknown command" message |
//! | a slash command, stored | 200, deferred ephemeral answer (type 5): the reply follows up |
//! | a button, stored | 200, deferred update (type 6): nothing shown until a plugin acts |
//! | autocomplete | 200, no choices |
//! | another interaction type | 400 |
//! | the inbox cannot store it | 200, an ephemeral "try again" message |
//!
//! Discord wants an answer within 3 seconds; plugins answer later through the interaction's
//! follow-up webhook, whose address travels as `Origin.response_url`
//! (`discord-interaction:{application_id}:{token}`, valid 15 minutes). The interaction id is the
//! dedup key. Only the fields Sentinel uses are read, so new fields Discord adds never break it.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use serenity::builder::{CreateInteractionResponse, CreateInteractionResponseMessage};
use serenity::interactions_endpoint::Verifier;

use super::header::header;
use super::refusal::{Caller, Refusal, Sender, read_body, refuse};
use crate::chat::discord::commands::args_of;
use crate::chat::discord::render::parse_custom_id;
use crate::chat::discord::{INTERACTION_PREFIX, parse_interaction};
use crate::event::{Action, Actor, Command, NewEvent, Origin};
use crate::http::client::Client;
use crate::http::{AppState, Routes};
use crate::ids::Platform;
use crate::pipeline::ingest::Accepted;

/// How far a request's timestamp may be from now, either way.
pub const MAX_SKEW_SECS: i64 = 5 * 60;

/// The route.
pub fn routes() -> Routes {
    Routes::new().route("/discord/interactions", post(receive))
}

/// The parts of an interaction Sentinel reads.
#[derive(Deserialize)]
struct Interaction {
    id: String,
    application_id: String,
    #[serde(rename = "type")]
    kind: u8,
    token: String,
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

/// Checks Discord's signature headers against `body` with the hex public key, `now` in Unix seconds.
pub fn verify(public_key: Option<&str>, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), Refusal> {
    let (Some(signature), Some(timestamp)) = (
        header(headers, "x-signature-ed25519"),
        header(headers, "x-signature-timestamp"),
    ) else {
        return Err(Refusal {
            status: StatusCode::UNAUTHORIZED,
            kind: "signature_missing",
            detail: "X-Signature-Ed25519 and X-Signature-Timestamp are required".into(),
        });
    };
    let key = public_key
        .and_then(|hex_key| hex::decode(hex_key.trim()).ok())
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .and_then(|bytes| Verifier::try_new(bytes).ok());
    let Some(verifier) = key else {
        return Err(Refusal {
            status: StatusCode::UNAUTHORIZED,
            kind: "signature_invalid",
            detail: "discord.public_key is not a valid Ed25519 public key".into(),
        });
    };
    if verifier.verify(signature, timestamp, body).is_err() {
        return Err(Refusal {
            status: StatusCode::UNAUTHORIZED,
            kind: "signature_invalid",
            detail: "X-Signature-Ed25519 does not match the body".into(),
        });
    }
    // serenity's verifier checks the signature only; a replayed request is refused here.
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|ts| (now - ts).abs() <= MAX_SKEW_SECS);
    if !fresh {
        return Err(Refusal {
            status: StatusCode::UNAUTHORIZED,
            kind: "timestamp_stale",
            detail: "X-Signature-Timestamp is more than 5 minutes from now".into(),
        });
    }
    Ok(())
}

fn caller(client: Client) -> Caller<'static> {
    Caller {
        source: "discord",
        client,
        delivery: None,
    }
}

fn answer(response: CreateInteractionResponse) -> Response {
    (StatusCode::OK, Json(response)).into_response()
}

fn ephemeral(text: impl Into<String>) -> Response {
    answer(CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new().content(text).ephemeral(true),
    ))
}

async fn receive(State(state): State<AppState>, client: Client, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(&state, caller(client), body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let now = state.shared.clock.now().timestamp();
    if let Err(refusal) = verify(state.shared.config.discord.public_key.as_deref(), &headers, &body, now) {
        return refuse(&state, caller(client), Sender::Unverified, refusal).await;
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(interaction) => interaction,
        Err(err) => {
            let refusal = Refusal {
                status: StatusCode::BAD_REQUEST,
                kind: "malformed_body",
                detail: format!("not a Discord interaction: {err}"),
            };
            return refuse(&state, caller(client), Sender::Verified, refusal).await;
        }
    };
    match interaction.kind {
        // serenity would add `"data": null`; Discord's own examples send the bare type.
        PING => (StatusCode::OK, Json(json!({ "type": 1 }))).into_response(),
        APPLICATION_COMMAND => command(&state, client, interaction).await,
        MESSAGE_COMPONENT => component(&state, client, interaction).await,
        AUTOCOMPLETE => answer(CreateInteractionResponse::Autocomplete(Default::default())),
        other => {
            let refusal = Refusal {
                status: StatusCode::BAD_REQUEST,
                kind: "malformed_body",
                detail: format!("interaction type {other} is not one Sentinel handles"),
            };
            refuse(&state, caller(client), Sender::Verified, refusal).await
        }
    }
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
    let response_url = format!(
        "{INTERACTION_PREFIX}{}:{}",
        interaction.application_id, interaction.token
    );
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

async fn command(state: &AppState, client: Client, interaction: Interaction) -> Response {
    let (Some(origin), Some(data)) = (origin(&interaction), interaction.data.as_ref()) else {
        let refusal = Refusal {
            status: StatusCode::BAD_REQUEST,
            kind: "malformed_body",
            detail: "the command names no user, channel or command data".into(),
        };
        return refuse(state, caller(client), Sender::Verified, refusal).await;
    };
    let name = data.name.clone().unwrap_or_default();
    if !state.router.command_specs().iter().any(|spec| spec.name == name) {
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
    match state.ingest.submit(new).await {
        Ok(accepted) => {
            if let Accepted::New(id) = accepted {
                tracing::info!(command = %command.name, interaction = %interaction.id, id = id.0, "discord command stored");
            }
            // "Thinking…", visible to the caller only; the plugin's first reply replaces it.
            answer(CreateInteractionResponse::Defer(
                CreateInteractionResponseMessage::new().ephemeral(true),
            ))
        }
        Err(err) => {
            tracing::error!(cause = %err, "discord command not stored");
            ephemeral("Sentinel is busy and could not take that command; please try again in a moment.")
        }
    }
}

async fn component(state: &AppState, client: Client, interaction: Interaction) -> Response {
    let custom_id = interaction.data.as_ref().and_then(|d| d.custom_id.clone());
    let (Some(origin), Some(custom_id)) = (origin(&interaction), custom_id) else {
        let refusal = Refusal {
            status: StatusCode::BAD_REQUEST,
            kind: "malformed_body",
            detail: "the button click names no user, channel or custom_id".into(),
        };
        return refuse(state, caller(client), Sender::Verified, refusal).await;
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
    match state.ingest.submit(new).await {
        Ok(_) => {
            tracing::info!(action = %action.id, interaction = %interaction.id, "discord button click stored");
            // Acknowledge without a visible change: the plugin edits the message or replies.
            (StatusCode::OK, Json(json!({ "type": 6 }))).into_response()
        }
        Err(err) => {
            tracing::error!(cause = %err, "discord button click not stored");
            ephemeral("Sentinel is busy and could not take that click; please try again in a moment.")
        }
    }
}
