//! `POST /webhooks/github`: verify, filter, store, then answer.
//!
//! | case | status |
//! |---|---|
//! | body over `http.max_body_bytes` | 413, read no further |
//! | body not complete within `http.body_read_timeout` | 408 |
//! | `X-Hub-Signature-256` missing or wrong (checked against every configured secret) | 401 |
//! | a client past its budget of such failures (`http.failed_auth_burst`) | 429, `Retry-After` |
//! | `X-GitHub-Event` or `X-GitHub-Delivery` missing | 400 |
//! | signed, but not JSON, or JSON nested deeper than 64 levels | 400 |
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
use serde::Deserialize;
use serde_json::json;

use super::header::header;
use super::hmac_sha256;
use super::json_depth;
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

/// The parts of a body the ingress itself reads; everything else is left to the plugins.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    repository: Option<Repository<'a>>,
}

#[derive(Deserialize)]
struct Repository<'a> {
    #[serde(borrow)]
    full_name: std::borrow::Cow<'a, str>,
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
    // Whatever is stored must decode in the dispatcher, whose JSON parser stops at 128 levels.
    if json_depth::deeper_than(&body, json_depth::MAX_DEPTH) {
        return refuse_signed(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("body nests JSON deeper than {} levels", json_depth::MAX_DEPTH),
        )
        .await;
    }
    // JSON is UTF-8: checking that first lets the payload be stored as the very text that was signed.
    let parsed = std::str::from_utf8(&body)
        .map_err(|err| err.to_string())
        .and_then(|text| {
            serde_json::from_str::<Envelope<'_>>(text)
                .map(|envelope| (text, envelope))
                .map_err(|err| err.to_string())
        });
    let (text, envelope) = match parsed {
        Ok(parsed) => parsed,
        Err(err) => {
            return refuse_signed(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("body is not JSON: {err}"),
            )
            .await;
        }
    };
    if event == "ping" {
        return fixed(StatusCode::OK, r#"{"status":"pong"}"#);
    }
    if let Some(repository) = &envelope.repository
        && !crate::repo_pattern::allowed(&state.shared.config.github.allowed_repositories, &repository.full_name)
    {
        let detail = format!(
            "repository {} is not in github.allowed_repositories",
            repository.full_name
        );
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
    let new_event = match alert_key(event, text) {
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

/// The content key of a security alert delivery (see [`NewEvent::github_alert_key`]) or of a
/// completed workflow run (see [`workflow_run_key`]), the keys pull mode gives the same changes;
/// other events, and payloads lacking a part of the key, are keyed by their delivery id.
fn alert_key(event: &str, text: &str) -> Option<crate::ids::DedupKey> {
    match event {
        "dependabot_alert" | "code_scanning_alert" | "secret_scanning_alert" | "repository_advisory" => {
            // Only the few fields of the key are read (serde skips the rest of the ~10 KB without
            // building it); they are handed to the one definition of the key as a small JSON value.
            let parts: AlertKeyParts<'_> = serde_json::from_str(text).ok()?;
            NewEvent::github_alert_key(event, &parts.into_value())
        }
        "workflow_run" => workflow_run_key(&serde_json::from_str(text).ok()?),
        _ => None,
    }
}

/// The parts of a security alert payload that its content key is made of: the repository's name
/// and the alert's (or advisory's) number or GHSA id, state and update time. Values are kept as
/// JSON, so that [`NewEvent::github_alert_key`] judges their types as it does for a polled alert.
#[derive(Deserialize)]
struct AlertKeyParts<'a> {
    #[serde(borrow, default)]
    repository: Option<KeyRepository<'a>>,
    #[serde(default)]
    alert: Option<KeyFields>,
    #[serde(default)]
    repository_advisory: Option<KeyFields>,
}

#[derive(Deserialize)]
struct KeyRepository<'a> {
    #[serde(borrow, default)]
    full_name: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct KeyFields {
    #[serde(default)]
    number: Option<serde_json::Value>,
    #[serde(default)]
    ghsa_id: Option<serde_json::Value>,
    #[serde(default)]
    state: Option<serde_json::Value>,
    #[serde(default)]
    updated_at: Option<serde_json::Value>,
}

impl AlertKeyParts<'_> {
    fn into_value(self) -> serde_json::Value {
        let fields = |f: KeyFields| {
            let mut object = serde_json::Map::new();
            for (name, value) in [
                ("number", f.number),
                ("ghsa_id", f.ghsa_id),
                ("state", f.state),
                ("updated_at", f.updated_at),
            ] {
                if let Some(value) = value {
                    object.insert(name.to_owned(), value);
                }
            }
            serde_json::Value::Object(object)
        };
        let mut payload = serde_json::Map::new();
        if let Some(name) = self.repository.and_then(|r| r.full_name) {
            payload.insert("repository".to_owned(), json!({ "full_name": name }));
        }
        if let Some(alert) = self.alert {
            payload.insert("alert".to_owned(), fields(alert));
        }
        if let Some(advisory) = self.repository_advisory {
            payload.insert("repository_advisory".to_owned(), fields(advisory));
        }
        serde_json::Value::Object(payload)
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

    /// The door reads only the key's fields; the key must be the one the whole payload gives, for
    /// every real alert payload and for the odd shapes (no number, a number of another type, no
    /// repository, a part that is not a string).
    #[test]
    fn the_alert_key_read_from_the_key_fields_is_the_key_of_the_whole_payload() {
        let whole =
            |event: &str, text: &str| NewEvent::github_alert_key(event, &serde_json::from_str(text).expect("json"));
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/github");
        let mut real = 0;
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let event = name.split('.').next().unwrap_or_default();
            if !name.ends_with(".json") || !event.ends_with("_alert") && event != "repository_advisory" {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("fixture");
            let key = alert_key(event, &text);
            assert_eq!(key, whole(event, &text), "{name}");
            // (The code and secret scanning fixtures carry no update time, and
            // `repository_vulnerability_alert` is not keyed by content: keyed by their delivery.)
            real += usize::from(key.is_some());
        }
        assert!(real >= 3, "the alert fixtures were read and keyed ({real})");
        for (event, text) in [
            (
                "repository_advisory",
                r#"{"repository_advisory": {"ghsa_id": "GHSA-1234", "state": "published", "updated_at": "2026-01-01T00:00:00Z"}, "repository": {"full_name": "Acme/Web"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": {"number": "7", "ghsa_id": "GHSA-x", "state": "open", "updated_at": "t"}, "repository": {"full_name": "a/b"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": {"number": 7, "state": "open", "updated_at": "t"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": {"number": 7, "state": " ", "updated_at": "t"}, "repository": {"full_name": "a/b"}}"#,
            ),
            (
                "dependabot_alert",
                r#"{"alert": {"number": 7, "state": 3, "updated_at": "t"}, "repository": {"full_name": "a/b"}}"#,
            ),
            (
                "code_scanning_alert",
                r#"{"alert": null, "repository": {"full_name": "a/b"}}"#,
            ),
            (
                "secret_scanning_alert",
                r#"{"alert": {"number": 7, "state": "open", "updated_at": "t", "extra": [1, {"deep": true}]}, "repository": {"full_name": "a/b", "id": 1}}"#,
            ),
        ] {
            assert_eq!(alert_key(event, text), whole(event, text), "{text}");
        }
    }

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
