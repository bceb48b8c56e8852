//! Small fake Slack Web API and Discord REST API on 127.0.0.1 that record every request and
//! refuse, as the real ones do, any message body over a documented limit
//! (`crate::platform_limits`). `refuse_over` makes a fake stricter than documented, as a platform
//! may be (Slack's `msg_blocks_too_long` comes below its documented limits), to exercise what
//! Sentinel does when a message it rendered within the limits is still refused as too big.
//! Include with `#[path]` next to `platform_limits.rs`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::platform_limits::{discord_refusal, slack_refusal, units};

/// One request a fake received, and the error it answered with, if any.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub body: Value,
    pub refused: Option<String>,
}

/// What the fakes share.
#[derive(Clone, Default)]
struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
    /// Refuse message bodies whose strings hold more than this many units (0: no extra limit).
    refuse_over: Arc<AtomicUsize>,
    next_id: Arc<AtomicU64>,
}

impl Recorder {
    fn record(&self, method: &Method, path: &str, body: &Value, refused: Option<String>) {
        self.calls.lock().unwrap().push(Call {
            method: method.to_string(),
            path: path.to_owned(),
            body: body.clone(),
            refused,
        });
    }

    fn too_big(&self, body: &Value) -> bool {
        let limit = self.refuse_over.load(Ordering::SeqCst);
        limit > 0 && text_units(body) > limit
    }
}

/// The units of every string in `body`.
pub fn text_units(body: &Value) -> usize {
    match body {
        Value::String(s) => units(s),
        Value::Array(items) => items.iter().map(text_units).sum(),
        Value::Object(map) => map.values().map(text_units).sum(),
        _ => 0,
    }
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

macro_rules! fake_api {
    ($name:ident) => {
        impl $name {
            /// Every request so far.
            pub fn calls(&self) -> Vec<Call> {
                self.recorder.calls.lock().unwrap().clone()
            }

            /// The requests whose path ends with `suffix`.
            pub fn calls_to(&self, suffix: &str) -> Vec<Call> {
                self.calls()
                    .into_iter()
                    .filter(|c| c.path.ends_with(suffix))
                    .collect()
            }

            /// The message bodies it accepted (posts, edits, replies).
            pub fn accepted_messages(&self) -> Vec<Call> {
                self.calls()
                    .into_iter()
                    .filter(|c| c.refused.is_none() && is_message(&c.path))
                    .collect()
            }

            /// From now on, refuse message bodies with more than `units` of text.
            pub fn refuse_over(&self, units: usize) {
                self.recorder.refuse_over.store(units, Ordering::SeqCst);
            }
        }
    };
}

fn is_message(path: &str) -> bool {
    path.ends_with("chat.postMessage")
        || path.ends_with("chat.update")
        || path.ends_with("chat.postEphemeral")
        || path.ends_with("/messages")
        || (path.contains("/messages/") && !path.ends_with("/threads"))
        || path.starts_with("/api/v10/webhooks/")
}

/// A fake Slack Web API under `<base>/api`.
#[derive(Clone, Default)]
pub struct FakeSlack {
    recorder: Recorder,
}

fake_api!(FakeSlack);

impl FakeSlack {
    /// Starts it; returns it and the value for `slack.api_url`.
    pub async fn start() -> (Self, String) {
        let fake = Self::default();
        let app = axum::Router::new().fallback(slack).with_state(fake.clone());
        let base = serve(app).await;
        (fake, format!("{base}/api"))
    }
}

async fn slack(State(fake): State<FakeSlack>, method: Method, uri: Uri, body: String) -> Response {
    let path = uri.path().to_owned();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let refused = if is_message(&path) {
        slack_refusal(&body).or_else(|| fake.recorder.too_big(&body).then(|| "msg_too_long".to_owned()))
    } else {
        None
    };
    fake.recorder.record(&method, &path, &body, refused.clone());
    if let Some(code) = refused {
        // Slack refuses with HTTP 200 and `ok: false`; the detail is not part of the code.
        let code = code.split(' ').next().unwrap_or_default().to_owned();
        return axum::Json(json!({"ok": false, "error": code})).into_response();
    }
    let n = fake.recorder.next_id.fetch_add(1, Ordering::SeqCst) + 1;
    let channel = body["channel"].as_str().unwrap_or("C0").to_owned();
    let reply = match path.rsplit('/').next().unwrap_or_default() {
        "auth.test" => json!({"ok": true, "user_id": "U0BOT", "team_id": "T0", "user": "sentinel", "team": "Acme",
                              "url": "https://acme.slack.com/"}),
        "chat.postMessage" => {
            let ts = format!("1700000000.{n:06}");
            json!({"ok": true, "channel": channel, "ts": ts, "message": {"ts": ts}})
        }
        "chat.update" => json!({"ok": true, "channel": channel, "ts": body["ts"], "message": {}}),
        "chat.postEphemeral" => json!({"ok": true, "message_ts": format!("1700000001.{n:06}")}),
        _ => json!({"ok": false, "error": "unknown_method"}),
    };
    axum::Json(reply).into_response()
}

/// A fake Discord REST API (its base URL is the value for `discord.api_url`).
#[derive(Clone, Default)]
pub struct FakeDiscord {
    recorder: Recorder,
}

fake_api!(FakeDiscord);

impl FakeDiscord {
    /// Starts it; returns it and the value for `discord.api_url`.
    pub async fn start() -> (Self, String) {
        let fake = Self::default();
        fake.recorder.next_id.store(500_000_000_000_000_000, Ordering::SeqCst);
        let app = axum::Router::new().fallback(discord).with_state(fake.clone());
        let base = serve(app).await;
        (fake, base)
    }
}

async fn discord(State(fake): State<FakeDiscord>, method: Method, uri: Uri, body: String) -> Response {
    let path = uri.path().to_owned();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let refused = if is_message(&path) && method != Method::GET {
        discord_refusal(&body).or_else(|| {
            fake.recorder.too_big(&body).then(|| {
                (
                    400,
                    json!({"code": 50035, "message": "Invalid Form Body",
                           "errors": {"embeds": {"_errors": [{"code": "MAX_EMBED_SIZE_EXCEEDED",
                                                               "message": "Embed size exceeds maximum size"}]}}}),
                )
            })
        })
    } else {
        None
    };
    fake.recorder
        .record(&method, &path, &body, refused.as_ref().map(|(_, b)| b.to_string()));
    if let Some((status, answer)) = refused {
        return (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response();
    }
    let id = (fake.recorder.next_id.fetch_add(1, Ordering::SeqCst) + 1).to_string();
    let parts: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    let reply = match (method.as_str(), parts.as_slice()) {
        ("GET", ["users", "@me"]) => json!({"id": "700000000000000007", "username": "sentinel", "bot": true}),
        ("POST", ["channels", channel, "messages"]) => json!({"id": id, "channel_id": channel}),
        ("PATCH", ["channels", channel, "messages", message]) => json!({"id": message, "channel_id": channel}),
        ("POST", ["channels", _, "messages", message, "threads"]) => json!({"id": message, "type": 11}),
        ("POST", ["webhooks", _, _]) => json!({"id": id}),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"code": 0, "message": "404: Not Found"})),
            )
                .into_response();
        }
    };
    axum::Json(reply).into_response()
}
