//! `POST /webhooks/github`: verify, filter, store, then answer.
//!
//! | case | status |
//! |---|---|
//! | body over `http.max_body_bytes` | 413, read no further |
//! | body not complete within `http.body_read_timeout` | 408 |
//! | `X-Hub-Signature-256` missing or wrong (checked against every configured secret) | 401 |
//! | a client past its budget of such failures (`http.failed_auth_burst`) | 429, `Retry-After` |
//! | `X-GitHub-Event` or `X-GitHub-Delivery` missing | 400 |
//! | signed, but not one JSON object (with `repository.full_name` a string when there is a repository), or nested deeper than 64 levels | 400 |
//! | `ping` | 200 |
//! | repository outside `github.allowed_repositories` | 403 |
//! | an event no plugin wants | 202, `{"status":"ignored"}` |
//! | a delivery id seen before; for a security alert, the same alert, state and update time; for a completed workflow run, the same run and attempt (both also polled) | 200, `{"status":"duplicate"}` |
//! | stored (synced to disk) | 202, `{"status":"accepted"}` |
//! | the inbox cannot store it | 503 (GitHub shows the failure; redeliver later) |
//!
//! Every rejection is a metric and — bounded in size, once per client and window, the rest summed
//! up ([`super::refusal`]) — a security-log row (never the body or a secret).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use super::github_body::{self, BodyError, GitHubBody, MAX_DEPTH};
use super::header::header;
use super::hmac_sha256;
use super::refusal::{Caller, Refusal, Sender, read_body, refuse};
use crate::config::Secret;
use crate::event::NewEvent;
use crate::github::pull::runs::workflow_run_key;
use crate::http::client::Client;
use crate::http::{AppState, Routes};
use crate::metrics::StatusLabel;
use crate::pipeline::ingest::Accepted;

/// The route.
pub fn routes() -> Routes {
    Routes::new().route("/webhooks/github", post(receive))
}

async fn receive(State(state): State<AppState>, client: Client, headers: HeaderMap, body: Body) -> Response {
    let caller = Caller {
        source: "github",
        client,
        delivery: header(&headers, "x-github-delivery"),
    };
    let body = match read_body(&state, caller, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };

    let signature = header(&headers, "x-hub-signature-256");
    let verdict = match signature {
        None => Err("missing"),
        Some(sig) if verify(&state, sig, &body) => Ok(()),
        Some(_) => Err("invalid"),
    };
    let status = match verdict {
        Ok(()) => "valid",
        Err(status) => status,
    };
    state
        .shared
        .metrics
        .webhook_signatures
        .get_or_create(&StatusLabel {
            status: status.to_owned(),
        })
        .inc();
    if let Err(status) = verdict {
        let kind = if status == "missing" {
            "signature_missing"
        } else {
            "signature_invalid"
        };
        let refusal = Refusal::new(
            StatusCode::UNAUTHORIZED,
            kind,
            format!("X-Hub-Signature-256 is {status}"),
        );
        return refuse(&state, caller, Sender::Unverified, refusal).await;
    }
    // From here on the sender is GitHub (or holds the secret): refused, but never throttled.
    let refuse_signed = |status: StatusCode, kind: &'static str, detail: String| {
        refuse(&state, caller, Sender::Verified, Refusal::new(status, kind, detail))
    };

    let (Some(event), Some(delivery_id)) = (
        header(&headers, "x-github-event"),
        header(&headers, "x-github-delivery"),
    ) else {
        return refuse_signed(
            StatusCode::BAD_REQUEST,
            "headers_missing",
            "X-GitHub-Event and X-GitHub-Delivery are required".to_owned(),
        )
        .await;
    };
    let (text, read) = match github_body::read(&body, event) {
        Ok(read) => read,
        Err(BodyError::TooDeep) => {
            return refuse_signed(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("body nests JSON deeper than {MAX_DEPTH} levels"),
            )
            .await;
        }
        Err(BodyError::Malformed(err)) => {
            return refuse_signed(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("body is not a JSON object: {err}"),
            )
            .await;
        }
    };
    if event == "ping" {
        return fixed(StatusCode::OK, r#"{"status":"pong"}"#);
    }
    if let Some(repository) = &read.repository
        && !crate::repo_pattern::allowed(&state.shared.config.github.allowed_repositories, repository)
    {
        let detail = format!("repository {repository} is not in github.allowed_repositories");
        return refuse_signed(StatusCode::FORBIDDEN, "repository_not_allowed", detail).await;
    }
    if !state.router.wants_github(event) {
        return (
            StatusCode::ACCEPTED,
            Json(json!({ "status": "ignored", "reason": format!("no plugin handles `{event}` events") })),
        )
            .into_response();
    }
    // A security alert (or a completed workflow run) is keyed by its content, so that the same
    // change polled in pull mode, or a redelivery, is stored once; the delivery id stays in the log
    // lines below.
    let new_event = match content_key(event, text, &read) {
        Some(key) => NewEvent::github_alert(event, key, text.to_owned()),
        None => NewEvent::github(event, delivery_id, text.to_owned()),
    };
    match state.ingest.submit(new_event).await {
        Ok(Accepted::New(id)) => {
            tracing::info!(delivery = delivery_id, event, id = id.0, "webhook stored");
            fixed(StatusCode::ACCEPTED, r#"{"status":"accepted"}"#)
        }
        Ok(Accepted::Duplicate) => {
            tracing::info!(delivery = delivery_id, event, "duplicate webhook delivery ignored");
            fixed(StatusCode::OK, r#"{"status":"duplicate"}"#)
        }
        Err(err) => {
            tracing::error!(delivery = delivery_id, cause = %err, "webhook not stored");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "could not store the delivery; retry later" })),
            )
                .into_response()
        }
    }
}

/// The content key of a security alert delivery (see [`GitHubBody::alert_key`]) or of a
/// completed workflow run (see [`workflow_run_key`]), the keys pull mode gives the same changes;
/// other events, and payloads lacking a part of the key, are keyed by their delivery id.
fn content_key(event: &str, text: &str, read: &GitHubBody<'_>) -> Option<crate::ids::DedupKey> {
    match event {
        "workflow_run" => workflow_run_key(&serde_json::from_str(text).ok()?),
        _ => read.alert_key(event),
    }
}

/// A constant JSON answer: the hot path builds no JSON value for it.
fn fixed(status: StatusCode, body: &'static str) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn verify(state: &AppState, signature: &str, body: &[u8]) -> bool {
    let github = &state.shared.config.github;
    github
        .webhook_secret
        .iter()
        .chain(github.previous_webhook_secrets.iter())
        .any(|secret| signature_matches(secret, signature, body))
}

/// Checks `sha256=<hex>` against the HMAC-SHA256 of `body` under `secret`, in constant time.
pub fn signature_matches(secret: &Secret, signature: &str, body: &[u8]) -> bool {
    signature
        .strip_prefix("sha256=")
        .is_some_and(|hex_digest| hmac_sha256::verify(secret, &[body], hex_digest))
}

/// The `X-Hub-Signature-256` value for `body` under `secret` (for `sentinel simulate` and tests).
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    format!("sha256={}", hmac_sha256::sign(secret, &[body]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_use_githubs_documented_scheme() {
        // The example from GitHub's "Validating webhook deliveries" documentation.
        let secret = Secret::new("It's a Secret to Everybody");
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(&secret, b"Hello, World!"), signature);
        assert!(signature_matches(&secret, signature, b"Hello, World!"));
        assert!(!signature_matches(&secret, signature, b"Hello, World?"));
        assert!(!signature_matches(&secret, "sha1=757107ea", b"Hello, World!"));
        assert!(!signature_matches(&Secret::new("other"), signature, b"Hello, World!"));
    }

    #[test]
    fn the_allow_list_takes_repositories_and_whole_organisations() {
        use crate::repo_pattern::allowed;
        let patterns: Vec<crate::RepoPattern> = vec!["acme/*".parse().unwrap(), "octo/app".parse().unwrap()];
        assert!(allowed(&patterns, "acme/anything"));
        assert!(allowed(&patterns, "Octo/App"));
        assert!(!allowed(&patterns, "octo/other"));
        assert!(!allowed(&patterns, "acmeish/x"));
        assert!(allowed(&[], "any/repo"));
    }
}
