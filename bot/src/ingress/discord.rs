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
//! Discord wants an answer within 3 seconds. What is stored and answered is decided by
//! [`super::discord_interactions`], which the Gateway path ([`super::discord_gateway`]) shares:
//! the interaction id is the dedup key, plugins answer later through the follow-up webhook. The
//! route is served only with `discord.interactions = "http"`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serenity::interactions_endpoint::Verifier;

use super::discord_interactions::{Interaction, Outcome, take};
use super::header::header;
use super::refusal::{Caller, Refusal, Sender, read_body, refuse};
use crate::http::client::Client;
use crate::http::{AppState, Routes};

/// How far a request's timestamp may be from now, either way.
pub const MAX_SKEW_SECS: i64 = 5 * 60;

/// The route.
pub fn routes() -> Routes {
    Routes::new().route("/discord/interactions", post(receive))
}

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

async fn receive(State(state): State<AppState>, client: Client, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(&state, caller(client), body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let now = state.shared.clock.now().timestamp();
    if let Err(refusal) = verify(state.shared.config.discord.public_key.as_deref(), &headers, &body, now) {
        return refuse(&state, caller(client), Sender::Unverified, refusal).await;
    }
    let detail = match serde_json::from_slice::<Interaction>(&body) {
        Ok(interaction) => match take(&state.ingest, &state.router, &interaction).await {
            Outcome::Answer(reply) => return (StatusCode::OK, Json(reply)).into_response(),
            Outcome::Malformed(detail) => detail,
        },
        Err(err) => format!("not a Discord interaction: {err}"),
    };
    let refusal = Refusal {
        status: StatusCode::BAD_REQUEST,
        kind: "malformed_body",
        detail,
    };
    refuse(&state, caller(client), Sender::Verified, refusal).await
}
