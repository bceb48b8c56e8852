//! `POST /slack/commands` (slash commands, form-encoded) and `POST /slack/interactions` (button
//! clicks, a form with one `payload` field of JSON): verify, store as command and action events,
//! answer at once.
//!
//! | case | status |
//! |---|---|
//! | body over `http.max_body_bytes` | 413 |
//! | `X-Slack-Signature` or `X-Slack-Request-Timestamp` missing | 401 |
//! | timestamp more than 5 minutes from now (a replay) | 401 |
//! | signature not `v0=` HMAC-SHA256 of `v0:{timestamp}:{body}` under the signing secret | 401 |
//! | signed, but not the form Slack sends | 400 |
//! | a command no plugin owns | 200, an ephemeral "unknown command" reply |
//! | a command, stored | 200, empty: the reply follows through `response_url` |
//! | a button click, stored (or a link button, or another interaction type) | 200, empty |
//! | the inbox cannot store it | command: 200 with an ephemeral "try again"; click: 503 |
//!
//! Slack wants an answer within 3 seconds, so nothing here waits for a plugin: the event is stored
//! and acknowledged, and the plugin's reply arrives as an ephemeral outbox row carrying the
//! command's `response_url`. Slack's `trigger_id` is the dedup key. What a command or click
//! becomes is shared with Socket Mode ([`super::slack_events`]).

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use slack_morphism::prelude::SlackInteractionEvent;

pub use super::header::header;
use super::hmac_sha256;
use super::refusal::Refusal;
use super::refusal::{Caller, Sender, read_body, refuse};
use super::slack_events::{Answer, CommandForm, Unreadable, take_command, take_interaction};
use crate::config::Secret;
use crate::http::client::Client;
use crate::http::{AppState, Routes};

/// How far a request's timestamp may be from now, either way (Slack's recommendation).
pub const MAX_SKEW_SECS: i64 = 5 * 60;

/// The routes.
pub fn routes() -> Routes {
    Routes::new()
        .route("/slack/commands", post(commands))
        .route("/slack/interactions", post(interactions))
}

#[derive(Deserialize)]
struct InteractionForm {
    payload: String,
}

/// Checks Slack's signature headers against `body`, with `now` in Unix seconds.
pub fn verify(secret: Option<&Secret>, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), Refusal> {
    let (Some(signature), Some(timestamp)) = (
        header(headers, "x-slack-signature"),
        header(headers, "x-slack-request-timestamp"),
    ) else {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "signature_missing",
            "X-Slack-Signature and X-Slack-Request-Timestamp are required",
        ));
    };
    let Some(secret) = secret.filter(|s| !s.is_empty()) else {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "signature_invalid",
            "slack.signing_secret is not configured",
        ));
    };
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|ts| (now - ts).abs() <= MAX_SKEW_SECS);
    if !fresh {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "timestamp_stale",
            "X-Slack-Request-Timestamp is more than 5 minutes from now",
        ));
    }
    if !signature_matches(secret, timestamp, body, signature) {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "signature_invalid",
            "X-Slack-Signature does not match the body",
        ));
    }
    Ok(())
}

/// True when `signature` is `v0=<hex>` of HMAC-SHA256(`v0:{timestamp}:{body}`) under `secret`;
/// compared in constant time.
pub fn signature_matches(secret: &Secret, timestamp: &str, body: &[u8], signature: &str) -> bool {
    signature
        .strip_prefix("v0=")
        .is_some_and(|hex_digest| hmac_sha256::verify(secret, &[b"v0:", timestamp.as_bytes(), b":", body], hex_digest))
}

/// The `X-Slack-Signature` for `body` sent at `timestamp` (for tests and local tools).
pub fn sign(secret: &Secret, timestamp: &str, body: &[u8]) -> String {
    let digest = hmac_sha256::sign(secret, &[b"v0:", timestamp.as_bytes(), b":", body]);
    format!("v0={digest}")
}

fn caller(client: Client) -> Caller<'static> {
    Caller {
        source: "slack",
        client,
        delivery: None,
    }
}

async fn verified(state: &AppState, client: Client, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let body = read_body(state, caller(client), body).await?;
    let now = state.shared.clock.now().timestamp();
    if let Err(refusal) = verify(state.shared.config.slack.signing_secret.as_ref(), headers, &body, now) {
        return Err(refuse(state, caller(client), Sender::Unverified, refusal).await);
    }
    Ok(body)
}

async fn commands(State(state): State<AppState>, client: Client, headers: HeaderMap, body: Body) -> Response {
    let body = match verified(&state, client, &headers, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let form: CommandForm = match serde_urlencoded::from_bytes(&body) {
        Ok(form) => form,
        Err(err) => {
            let refusal = Refusal::new(
                StatusCode::BAD_REQUEST,
                "malformed_body",
                format!("not a Slack slash command form: {err}"),
            );
            return refuse(&state, caller(client), Sender::Verified, refusal).await;
        }
    };
    answer(take_command(&state.ingest, &state.router, form).await)
}

async fn interactions(State(state): State<AppState>, client: Client, headers: HeaderMap, body: Body) -> Response {
    let body = match verified(&state, client, &headers, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let interaction = serde_urlencoded::from_bytes::<InteractionForm>(&body)
        .map_err(|err| format!("not a Slack interaction form: {err}"))
        .and_then(|form| {
            serde_json::from_str::<SlackInteractionEvent>(&form.payload)
                .map_err(|err| format!("the interaction payload is not one Slack sends: {err}"))
        });
    let taken = match interaction {
        Ok(interaction) => take_interaction(&state.ingest, interaction).await,
        Err(detail) => Err(Unreadable(detail)),
    };
    match taken {
        Ok(taken) => answer(taken),
        Err(Unreadable(detail)) => {
            let refusal = Refusal::new(StatusCode::BAD_REQUEST, "malformed_body", detail);
            refuse(&state, caller(client), Sender::Verified, refusal).await
        }
    }
}

/// The HTTP answer to a taken command or click.
fn answer(taken: Answer) -> Response {
    match taken {
        Answer::Ack => StatusCode::OK.into_response(),
        Answer::Ephemeral(text) => (
            StatusCode::OK,
            Json(json!({ "response_type": "ephemeral", "text": text })),
        )
            .into_response(),
        Answer::Retry(reason) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": reason }))).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(signature: &str, timestamp: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-slack-signature", signature.parse().expect("header"));
        headers.insert("x-slack-request-timestamp", timestamp.parse().expect("header"));
        headers
    }

    #[test]
    fn signatures_follow_slacks_documented_example() {
        // The worked example in Slack's "Verifying requests from Slack".
        let secret = Secret::new("8f742231b10e8888abcd99yyyzzz85a5");
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(sign(&secret, "1531420618", body), expected);
        assert!(verify(Some(&secret), &headers(expected, "1531420618"), body, 1531420618 + 299).is_ok());
        let stale = verify(Some(&secret), &headers(expected, "1531420618"), body, 1531420618 + 301);
        assert_eq!(
            stale.map_err(|r| (r.status, r.kind)),
            Err((StatusCode::UNAUTHORIZED, "timestamp_stale"))
        );
        let forged = verify(Some(&secret), &headers(expected, "1531420618"), b"text=rm", 1531420618);
        assert_eq!(forged.map_err(|r| r.kind), Err("signature_invalid"));
        assert_eq!(
            verify(Some(&secret), &HeaderMap::new(), body, 0).map_err(|r| r.kind),
            Err("signature_missing")
        );
    }
}
