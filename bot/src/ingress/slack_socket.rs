//! Slack Socket Mode: slash commands and button clicks over an outbound WebSocket, so Slack needs
//! no inbound port (`slack.app_token`).
//!
//! Each connection asks `apps.connections.open` (with the app-level token) for a single-use
//! `wss://` URL, connects, and reads Slack's envelopes:
//!
//! | frame | what happens |
//! |---|---|
//! | `hello` | connected (logged with Slack's count of open connections) |
//! | `slash_commands`, `interactive` | stored in the inbox like the HTTP path ([`super::slack_events`], same dedup keys), **then** acknowledged `{"envelope_id": …}` |
//! | a command no plugin owns, or a store failure | acknowledged with the same ephemeral reply the HTTP path answers (`payload`) |
//! | a click that cannot be stored | not acknowledged: Slack delivers it again |
//! | `events_api`, unknown types, unreadable payloads | acknowledged (retrying would not help), logged |
//! | `disconnect` `refresh_requested` / `warning` | a new connection at once (a routine refresh, not a failure) |
//! | `disconnect` `link_disabled` | Socket Mode was turned off for the app: the task stops and is retried with backoff |
//! | the socket drops, or no frame for twice [`IDLE`] after a ping | the task stops and the supervisor reconnects with backoff (1 s doubling to 30 s), shown down in `/healthz` meanwhile |
//!
//! Storing before acknowledging means a connection lost between the two loses nothing: Slack
//! re-sends the unacknowledged envelope, the inbox recognises it by its `trigger_id`, and it is
//! acknowledged without running twice. Like over HTTP, a command's answer is empty and the
//! plugin's reply goes to the command's `response_url`; only the immediate ephemeral answers the
//! HTTP path gives in its response body travel in the acknowledgement's `payload`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use slack_morphism::prelude::SlackInteractionEvent;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::slack_events::{Answer, CommandForm, Unreadable, take_command, take_interaction};
use crate::config::{Secret, SlackConfig};
use crate::pipeline::Shutdown;
use crate::pipeline::ingest::Ingest;
use crate::pipeline::router::Router as EventRouter;

/// After this long without a frame from Slack, ping; after twice as long, reconnect (a half-open
/// connection behind a NAT never says it died).
pub const IDLE: Duration = Duration::from_secs(30);

/// The longest a WebSocket handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Slack's error codes for `apps.connections.open` that mean "try again later".
const TRANSIENT: [&str; 5] = [
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Slack did not hand out a Socket Mode URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Slack refused the token: wrong, revoked, not an app-level token, or Socket Mode is off.
    #[error(
        "Slack rejected the app-level token ({0}); check slack.app_token / SENTINEL_SLACK_APP_TOKEN: an xapp-… \
         token with the connections:write scope, for an app with Socket Mode turned on"
    )]
    Rejected(String),
    /// Slack could not be asked; the connection is retried with backoff.
    #[error("Slack could not be asked for a Socket Mode URL: {0}")]
    Unreachable(String),
}

/// Socket Mode could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `slack.app_token` is not set.
    #[error("slack.app_token is not set")]
    NoToken,
    /// The HTTP or TLS client could not be built.
    #[error("cannot build the Socket Mode client: {0}")]
    Client(String),
}

/// The Socket Mode receiver: what every connection shares.
pub struct SocketMode {
    http: reqwest::Client,
    api_url: String,
    token: Secret,
    tls: Arc<rustls::ClientConfig>,
    ingest: Ingest,
    router: Arc<EventRouter>,
}

/// Why one connection ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// Slack asked for a new connection (`disconnect`): open one at once.
    Refresh(String),
    /// Sentinel is shutting down.
    Shutdown,
    /// Anything else: the supervisor reconnects after its backoff.
    Failed(String),
}

/// What one frame asks for.
#[derive(Debug, PartialEq)]
enum Step {
    /// Send this acknowledgement.
    Ack(Value),
    /// Nothing to send.
    Nothing,
    /// The connection is to end.
    End(Ended),
}

/// Any frame Slack sends on the socket; which fields are set depends on `type`.
#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    envelope_id: Option<String>,
    #[serde(default)]
    accepts_response_payload: bool,
    #[serde(default)]
    payload: Value,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    num_connections: Option<u64>,
}

impl SocketMode {
    /// The receiver for `config`, storing through `ingest`; each call to Slack's Web API is
    /// limited to `timeout`.
    pub fn new(
        config: &SlackConfig,
        ingest: Ingest,
        router: Arc<EventRouter>,
        timeout: Duration,
    ) -> Result<Self, BuildError> {
        let token = config
            .app_token
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or(BuildError::NoToken)?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|err| BuildError::Client(err.to_string()))?;
        Ok(Self {
            http,
            api_url: config.api_url.trim_end_matches('/').to_owned(),
            token,
            tls: tls_config()?,
            ingest,
            router,
        })
    }

    /// Asks `apps.connections.open` for a fresh single-use WebSocket URL (it holds a ticket: never
    /// logged).
    pub async fn open_url(&self) -> Result<String, OpenError> {
        open_url(&self.http, &self.api_url, &self.token).await
    }

    /// Keeps one Socket Mode connection open until `shutdown`, reconnecting at once when Slack
    /// asks for a refresh. Returns on a failure (logged), for the supervisor to retry.
    pub async fn run(self: Arc<Self>, mut shutdown: Shutdown) {
        loop {
            let url = tokio::select! {
                url = self.open_url() => url,
                () = shutdown.wait() => return,
            };
            let url = match url {
                Ok(url) => url,
                Err(err) => {
                    tracing::error!(cause = %err, "slack socket mode: no connection");
                    return;
                }
            };
            match self.serve(&url, &mut shutdown).await {
                Ended::Refresh(reason) => {
                    tracing::info!(reason = %reason, "slack socket mode: Slack asked for a new connection");
                }
                Ended::Shutdown => return,
                Ended::Failed(cause) => {
                    tracing::warn!(cause = %cause, "slack socket mode: connection lost");
                    return;
                }
            }
        }
    }

    /// Connects to `url` and handles frames until the connection ends.
    async fn serve(&self, url: &str, shutdown: &mut Shutdown) -> Ended {
        let connector = Some(Connector::Rustls(self.tls.clone()));
        let connect = tokio_tungstenite::connect_async_tls_with_config(url, None, true, connector);
        let mut socket = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok((socket, _))) => socket,
            Ok(Err(err)) => return Ended::Failed(format!("cannot connect: {err}")),
            Err(_) => return Ended::Failed("the WebSocket handshake timed out".into()),
        };
        let mut pinged = false;
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(IDLE, socket.next()) => next,
                () = shutdown.wait() => {
                    let _ = socket.close(None).await;
                    return Ended::Shutdown;
                }
            };
            let message = match next {
                Err(_) if pinged => return Ended::Failed(format!("no frame from Slack for {:?}", IDLE * 2)),
                Err(_) => {
                    pinged = true;
                    if let Err(err) = socket.send(Message::Ping(Default::default())).await {
                        return Ended::Failed(format!("cannot ping: {err}"));
                    }
                    continue;
                }
                Ok(None) => return Ended::Failed("Slack closed the connection".into()),
                Ok(Some(Err(err))) => return Ended::Failed(err.to_string()),
                Ok(Some(Ok(message))) => message,
            };
            pinged = false;
            let step = match message {
                Message::Text(text) => self.frame(text.as_str()).await,
                Message::Close(close) => {
                    let why = close.map(|c| format!("{} {}", c.code, c.reason)).unwrap_or_default();
                    return Ended::Failed(format!("Slack closed the connection {why}").trim_end().to_owned());
                }
                _ => Step::Nothing, // pings are answered by tungstenite; pongs and binary say nothing
            };
            match step {
                Step::Ack(ack) => {
                    if let Err(err) = send(&mut socket, &ack).await {
                        return Ended::Failed(format!("cannot acknowledge: {err}"));
                    }
                }
                Step::Nothing => {}
                Step::End(ended) => {
                    let _ = socket.close(None).await;
                    return ended;
                }
            }
        }
    }

    /// Handles one text frame: stores what it carries, then says how to acknowledge it.
    async fn frame(&self, text: &str) -> Step {
        let frame: Frame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(err) => {
                tracing::warn!(cause = %err, "slack socket mode: a frame that is not an envelope");
                return Step::Nothing;
            }
        };
        match frame.kind.as_str() {
            "hello" => {
                tracing::info!(connections = frame.num_connections, "slack socket mode: connected");
                return Step::Nothing;
            }
            "disconnect" => {
                let reason = frame.reason.unwrap_or_default();
                return Step::End(if reason == "link_disabled" {
                    Ended::Failed(
                        "Socket Mode is turned off for this Slack app (disconnect: link_disabled); \
                         turn it on under Settings → Socket Mode"
                            .into(),
                    )
                } else {
                    Ended::Refresh(reason)
                });
            }
            _ => {}
        }
        let Some(envelope_id) = frame.envelope_id else {
            tracing::warn!(kind = %frame.kind, "slack socket mode: a frame without an envelope id");
            return Step::Nothing;
        };
        let answer = match frame.kind.as_str() {
            "slash_commands" => match serde_json::from_value::<CommandForm>(frame.payload) {
                Ok(form) => take_command(&self.ingest, &self.router, form).await,
                Err(err) => unreadable(&envelope_id, format!("not a Slack slash command: {err}")),
            },
            "interactive" => match serde_json::from_value::<SlackInteractionEvent>(frame.payload) {
                Ok(interaction) => match take_interaction(&self.ingest, interaction).await {
                    Ok(answer) => answer,
                    Err(Unreadable(detail)) => unreadable(&envelope_id, detail),
                },
                Err(err) => unreadable(&envelope_id, format!("not an interaction Slack sends: {err}")),
            },
            // Sentinel subscribes to no events; anything else is acknowledged so it is not re-sent.
            _ => Answer::Ack,
        };
        match answer {
            Answer::Ack => Step::Ack(json!({ "envelope_id": envelope_id })),
            Answer::Ephemeral(text) if frame.accepts_response_payload => Step::Ack(json!({
                "envelope_id": envelope_id,
                "payload": { "response_type": "ephemeral", "text": text },
            })),
            Answer::Ephemeral(_) => Step::Ack(json!({ "envelope_id": envelope_id })),
            Answer::Retry(reason) => {
                tracing::warn!(envelope = %envelope_id, reason = %reason, "slack socket mode: not acknowledged; Slack will re-send it");
                Step::Nothing
            }
        }
    }
}

/// `apps.connections.open` under `api_url` with the app-level `token`.
pub async fn open_url(http: &reqwest::Client, api_url: &str, token: &Secret) -> Result<String, OpenError> {
    let response = http
        .post(format!("{api_url}/apps.connections.open"))
        .bearer_auth(token.expose())
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .map_err(|err| OpenError::Unreachable(describe(&err)))?;
    let status = response.status();
    if status.as_u16() == 429 || status.is_server_error() {
        return Err(OpenError::Unreachable(format!("HTTP {status}")));
    }
    if status.is_client_error() {
        return Err(OpenError::Rejected(format!("HTTP {status}")));
    }
    let body: Value = response
        .json()
        .await
        .map_err(|err| OpenError::Unreachable(format!("an answer that is not Slack's JSON: {}", describe(&err))))?;
    if body["ok"].as_bool() == Some(true)
        && let Some(url) = body["url"].as_str()
    {
        return Ok(url.to_owned());
    }
    let code = body["error"].as_str().unwrap_or("no url in the answer").to_owned();
    if TRANSIENT.contains(&code.as_str()) {
        Err(OpenError::Unreachable(code))
    } else {
        Err(OpenError::Rejected(code))
    }
}

/// Checks `config`'s app-level token at start-up: a rejected token stops the start with a clear
/// message; an unreachable Slack only warns (the connections retry).
pub async fn check_app_token(config: &SlackConfig, timeout: Duration) -> Result<(), OpenError> {
    let Some(token) = config.app_token.as_ref().filter(|t| !t.is_empty()) else {
        return Err(OpenError::Rejected("slack.app_token is not set".into()));
    };
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|err| OpenError::Unreachable(err.to_string()))?;
    // The URL is not used: unused, it expires by itself.
    open_url(&http, config.api_url.trim_end_matches('/'), token)
        .await
        .map(drop)
}

/// Logs an envelope that cannot be read and acknowledges it: Slack would only re-send the same.
fn unreadable(envelope_id: &str, detail: String) -> Answer {
    tracing::warn!(envelope = %envelope_id, detail = %detail, "slack socket mode: an envelope Sentinel cannot read");
    Answer::Ack
}

async fn send(socket: &mut Socket, ack: &Value) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    socket.send(Message::text(ack.to_string())).await
}

/// A reqwest error, its kind first (the URL it names is the Web API's, nothing secret).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    format!("{kind}: {err}")
}

/// TLS for `wss://`: the bundled Mozilla roots (like the other clients: no system CA store needed)
/// and the ring provider, named here because more than one is compiled in.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, BuildError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|err| BuildError::Client(err.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
