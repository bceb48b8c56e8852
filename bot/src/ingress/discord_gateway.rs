//! Discord interactions over the Gateway (`discord.interactions = "gateway"`): slash commands and
//! button clicks arrive as `INTERACTION_CREATE` on an outbound WebSocket, so Discord needs no
//! inbound port and no public key.
//!
//! The address comes from `GET {api_url}/api/v10/gateway/bot` (bot token); Sentinel connects with
//! `?v=10&encoding=json` and no compression, and identifies with intents 0 — interactions need
//! none, so no message content or member list ever reaches Sentinel.
//!
//! | from Discord | what happens |
//! |---|---|
//! | HELLO (op 10) | IDENTIFY (op 2) for a new session, RESUME (op 6, session id + last sequence) after a drop; the first HEARTBEAT after `heartbeat_interval × jitter` (0 ≤ jitter < 1), then every interval |
//! | READY | the session id and `resume_gateway_url` are kept (in memory, never logged) |
//! | `INTERACTION_CREATE` | stored in the inbox like the HTTP path ([`super::discord_interactions`], deduplicated by interaction id), **then** the answer the HTTP path would give as its body is POSTed to `/api/v10/interactions/{id}/{token}/callback` (Discord allows 3 seconds) |
//! | the same interaction again (a resumed session replays it) | not stored again, so it never runs twice; its answer is sent again, and Discord's "already acknowledged" (40060) is expected |
//! | HEARTBEAT (op 1) | a heartbeat at once |
//! | no HEARTBEAT ACK (op 11) before the next beat is due | the connection is a zombie: closed, reconnected and resumed |
//! | RECONNECT (op 7) | a new connection at once, resuming (a routine move, not a failure) |
//! | INVALID_SESSION (op 9) `true` / `false` | after 1 to 5 s (Discord's advice), a new connection that resumes / identifies afresh |
//! | close 4004 (authentication failed) and 4010–4014 (shard, version, intents) | the task stops and is retried by the supervisor's backoff (1 s doubling to 30 s), shown down in `/healthz`: retrying at once cannot help |
//! | close 4007 / 4009 (bad sequence, session timed out) | a new session; other closes and dropped connections: the task stops and the supervisor reconnects with backoff, resuming |
//!
//! The heartbeat runs on the bot's clock, so tests drive it with a manual clock.
//!
//! A race (shared with the HTTP path, wider here because the answer is a request of its own): a
//! fast plugin's follow-up can reach Discord before the callback did, and Discord refuses it (10015
//! "Unknown Webhook"). The Discord adapter ([`crate::chat::discord`]) knows the interaction's age
//! from its id (carried in `Origin.response_url`): while it is younger than
//! [`crate::chat::discord::ANSWER_WINDOW`] the follow-up is retried after a second on the bot's
//! clock, so the reply still arrives once as the ephemeral follow-up; only past that window does it
//! become a direct message.
//!
//! Known gap: the session lives only in memory. If Sentinel is killed (kill -9, a crash) after
//! storing an interaction but before its callback reached Discord, Discord does not dispatch it
//! again to the next session, and the user sees "The application did not respond". The stored
//! event still runs after the restart; Discord refuses follow-ups to an interaction never
//! answered, so its reply comes as a direct message once the answer window has passed. Answering
//! stored-but-unanswered interactions at start-up would not help: their 3 seconds are over long
//! before a restart.
//!
//! Why not serenity's `Shard`: serenity 0.12.5 always resumes at the URL it first connected to
//! (Discord asks clients to resume at `resume_gateway_url`), sends its first heartbeat without the
//! jitter Discord asks for, reads with no frame-size limit, and runs on tokio-tungstenite 0.21 with
//! its own TLS set-up. This small client uses the tokio-tungstenite 0.30 and rustls configuration
//! of Slack's Socket Mode client, and serenity's model types (opcodes, intents, interaction
//! responses) for the payloads.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use serenity::constants::Opcode;
use serenity::model::gateway::GatewayIntents;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::discord_interactions::{Interaction, Outcome, take};
use crate::clock::SharedClock;
use crate::config::{DiscordConfig, Secret};
use crate::pipeline::Shutdown;
use crate::pipeline::ingest::Ingest;
use crate::pipeline::router::Router as EventRouter;

/// The longest a WebSocket handshake, or the wait for HELLO, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Discord wants an interaction answered within 3 seconds; a later callback is refused anyway.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(3);

/// The largest frame read; Discord's payloads for a bot with no intents are far smaller.
const MAX_FRAME: usize = 4 * 1024 * 1024;

/// Connections in a row that end before READY or RESUMED before the task gives up to the
/// supervisor's backoff (a gateway that keeps asking to reconnect must not be hammered).
const MAX_FRUITLESS: u32 = 3;

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// The Gateway could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `discord.bot_token` is not set.
    #[error("discord.bot_token is not set")]
    NoToken,
    /// The HTTP or TLS client could not be built.
    #[error("cannot build the Discord Gateway client: {0}")]
    Client(String),
}

/// Discord did not hand out a Gateway address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Discord refused the bot token.
    #[error("Discord rejected the bot token ({0}); check discord.bot_token / SENTINEL_DISCORD_BOT_TOKEN")]
    Rejected(String),
    /// Discord could not be asked; retried with backoff.
    #[error("Discord could not be asked for the Gateway address: {0}")]
    Unreachable(String),
}

/// A Gateway session that can be resumed. Its id is a credential for the session: never logged.
#[derive(Clone)]
struct Session {
    id: String,
    seq: Option<u64>,
    resume_url: String,
}

/// Why one connection ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// Connect again at once (RECONNECT), resuming when a session is kept.
    Reconnect(String),
    /// INVALID_SESSION: connect again after 1 to 5 s.
    Invalidated,
    /// Sentinel is shutting down.
    Shutdown,
    /// Anything else: the supervisor reconnects after its backoff.
    Failed(String),
}

/// One frame from the Gateway.
#[derive(Deserialize)]
struct Frame {
    op: Opcode,
    #[serde(default)]
    d: Value,
    #[serde(default)]
    s: Option<u64>,
    #[serde(default)]
    t: Option<String>,
}

/// The Gateway receiver. The session outlives a connection (and a restart of the task), so a
/// reconnect resumes it.
pub struct Gateway {
    http: reqwest::Client,
    api_url: String,
    token: Secret,
    tls: Arc<rustls::ClientConfig>,
    clock: SharedClock,
    ingest: Ingest,
    router: Arc<EventRouter>,
    session: Mutex<Option<Session>>,
}

impl Gateway {
    /// The receiver for `config`, storing through `ingest`; REST calls are limited to `timeout`.
    pub fn new(
        config: &DiscordConfig,
        clock: SharedClock,
        ingest: Ingest,
        router: Arc<EventRouter>,
        timeout: Duration,
    ) -> Result<Self, BuildError> {
        let token = config
            .bot_token
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
            clock,
            ingest,
            router,
            session: Mutex::new(None),
        })
    }

    /// Keeps a Gateway connection open until `shutdown`. Returns on a failure (logged), for the
    /// supervisor to retry; a kept session is resumed then.
    pub async fn run(self: Arc<Self>, mut shutdown: Shutdown) {
        let mut fruitless = 0;
        loop {
            let resume = self.session();
            let url = match &resume {
                Some(session) => session.resume_url.clone(),
                None => {
                    let url = tokio::select! {
                        url = gateway_url(&self.http, &self.api_url, &self.token) => url,
                        () = shutdown.wait() => return,
                    };
                    match url {
                        Ok(url) => url,
                        Err(err) => {
                            tracing::error!(cause = %err, "discord gateway: no connection");
                            return;
                        }
                    }
                }
            };
            let (ended, established) = self.serve(&url, resume, &mut shutdown).await;
            fruitless = if established { 0 } else { fruitless + 1 };
            match ended {
                Ended::Shutdown => return,
                Ended::Failed(cause) => {
                    tracing::warn!(cause = %cause, "discord gateway: connection lost");
                    return;
                }
                _ if fruitless >= MAX_FRUITLESS => {
                    tracing::warn!("discord gateway: {fruitless} connections in a row ended before a session began");
                    return;
                }
                Ended::Reconnect(reason) => {
                    tracing::info!(reason = %reason, "discord gateway: reconnecting");
                }
                Ended::Invalidated => {
                    let wait = Duration::from_millis(1000 + u64::from(random_u32() % 4000));
                    tracing::info!(wait = ?wait, "discord gateway: session invalidated");
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = shutdown.wait() => return,
                    }
                }
            }
        }
    }

    fn session(&self) -> Option<Session> {
        self.session.lock().ok().and_then(|s| s.clone())
    }

    fn set_session(&self, change: impl FnOnce(&mut Option<Session>)) {
        if let Ok(mut session) = self.session.lock() {
            change(&mut session);
        }
    }

    /// Connects to `url`, identifies or resumes, and handles frames until the connection ends.
    /// Also says whether a session began (READY or RESUMED).
    async fn serve(&self, url: &str, resume: Option<Session>, shutdown: &mut Shutdown) -> (Ended, bool) {
        let mut socket = match self.connect(url).await {
            Ok(socket) => socket,
            Err(cause) => return (Ended::Failed(cause), false),
        };
        let interval = match hello(&mut socket).await {
            Ok(interval) => interval,
            Err(cause) => return (Ended::Failed(cause), false),
        };
        let mut seq = resume.as_ref().and_then(|s| s.seq);
        let opening = match &resume {
            Some(session) => json!({"op": 6, "d": {
                "token": self.token.expose(), "session_id": session.id, "seq": session.seq,
            }}),
            None => json!({"op": 2, "d": {
                "token": self.token.expose(),
                "intents": GatewayIntents::empty().bits(),
                "properties": {"os": std::env::consts::OS, "browser": "sentinel", "device": "sentinel"},
            }}),
        };
        if let Err(err) = send(&mut socket, &opening).await {
            return (Ended::Failed(format!("cannot identify: {err}")), false);
        }
        let jitter = f64::from(random_u32()) / (f64::from(u32::MAX) + 1.0);
        let mut next_beat = self.clock.now() + chrono_of(interval.mul_f64(jitter));
        let mut acked = true;
        let mut established = false;
        loop {
            let message = tokio::select! {
                message = socket.next() => message,
                () = self.clock.sleep_until(next_beat) => {
                    if !acked {
                        close(&mut socket, 4000).await;
                        return (Ended::Failed("no heartbeat ACK since the last beat".into()), established);
                    }
                    if let Err(err) = send(&mut socket, &json!({"op": 1, "d": seq})).await {
                        return (Ended::Failed(format!("cannot heartbeat: {err}")), established);
                    }
                    acked = false;
                    next_beat = self.clock.now() + chrono_of(interval);
                    continue;
                }
                () = shutdown.wait() => {
                    close(&mut socket, 1000).await;
                    return (Ended::Shutdown, established);
                }
            };
            let text = match message {
                None => return (Ended::Failed("Discord closed the connection".into()), established),
                Some(Err(err)) => return (Ended::Failed(err.to_string()), established),
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return (self.closed(code, &reason), established);
                }
                Some(Ok(_)) => continue, // pings are answered by tungstenite; nothing else is sent
            };
            let frame: Frame = match serde_json::from_str(text.as_str()) {
                Ok(frame) => frame,
                Err(err) => {
                    tracing::warn!(cause = %err, "discord gateway: a frame that is not a gateway payload");
                    continue;
                }
            };
            match frame.op {
                Opcode::Dispatch => {
                    if frame.s.is_some() {
                        seq = frame.s;
                        self.set_session(|s| {
                            if let Some(s) = s {
                                s.seq = seq;
                            }
                        });
                    }
                    match frame.t.as_deref() {
                        Some("READY") => match ready(frame.d, seq) {
                            Some(session) => {
                                self.set_session(|s| *s = Some(session));
                                established = true;
                                tracing::info!("discord gateway: connected (new session)");
                            }
                            None => return (Ended::Failed("READY without a session".into()), false),
                        },
                        Some("RESUMED") => {
                            established = true;
                            tracing::info!("discord gateway: session resumed");
                        }
                        Some("INTERACTION_CREATE") => self.interaction(frame.d).await,
                        _ => {} // with intents 0 nothing else matters to Sentinel
                    }
                }
                Opcode::Heartbeat => {
                    if let Err(err) = send(&mut socket, &json!({"op": 1, "d": seq})).await {
                        return (Ended::Failed(format!("cannot heartbeat: {err}")), established);
                    }
                }
                Opcode::HeartbeatAck => acked = true,
                Opcode::Reconnect => {
                    // Not 1000/1001: those would end the session Discord wants resumed.
                    close(&mut socket, 4000).await;
                    return (
                        Ended::Reconnect("Discord asked for a new connection".into()),
                        established,
                    );
                }
                Opcode::InvalidSession => {
                    if frame.d.as_bool() != Some(true) {
                        self.set_session(|s| *s = None);
                    }
                    close(&mut socket, 4000).await;
                    return (Ended::Invalidated, established);
                }
                _ => {}
            }
        }
    }

    async fn connect(&self, url: &str) -> Result<Socket, String> {
        let mut url = reqwest::Url::parse(url).map_err(|err| format!("not a Gateway address: {err}"))?;
        if !matches!(url.scheme(), "wss" | "ws") {
            return Err("the Gateway address is not a ws:// or wss:// URL".into());
        }
        url.query_pairs_mut()
            .clear()
            .append_pair("v", "10")
            .append_pair("encoding", "json");
        let limits = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME));
        let connector = Some(Connector::Rustls(self.tls.clone()));
        let connect = tokio_tungstenite::connect_async_tls_with_config(url.as_str(), Some(limits), true, connector);
        match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok((socket, _))) => Ok(socket),
            Ok(Err(err)) => Err(format!("cannot connect: {err}")),
            Err(_) => Err("the WebSocket handshake timed out".into()),
        }
    }

    /// What a close frame from Discord means.
    fn closed(&self, code: u16, reason: &str) -> Ended {
        match code {
            4004 => Ended::Failed(format!(
                "Discord refused the bot token (close {code} {reason}); check discord.bot_token / \
                 SENTINEL_DISCORD_BOT_TOKEN"
            )),
            4010..=4014 => Ended::Failed(format!(
                "Discord refused the identification (close {code} {reason}); retrying cannot help until the \
                 application's settings change"
            )),
            4007 | 4009 => {
                self.set_session(|s| *s = None);
                Ended::Failed(format!(
                    "Discord ended the session (close {code} {reason}); a new one starts"
                ))
            }
            _ => Ended::Failed(format!("Discord closed the connection (close {code} {reason})")),
        }
    }

    /// Stores an `INTERACTION_CREATE`, then answers it through the callback endpoint.
    async fn interaction(&self, data: Value) {
        let interaction: Interaction = match serde_json::from_value(data) {
            Ok(interaction) => interaction,
            Err(err) => {
                tracing::warn!(cause = %err, "discord gateway: an interaction Sentinel cannot read");
                return;
            }
        };
        // Both go into a URL path: a snowflake, and a token that cannot leave its path segment.
        let id_ok = !interaction.id.is_empty() && interaction.id.chars().all(|c| c.is_ascii_digit());
        let token_ok = !interaction.token.is_empty()
            && interaction
                .token
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '/' | '?' | '#' | '%' | '\\'));
        if !id_ok || !token_ok {
            tracing::warn!("discord gateway: an interaction whose id or token is not Discord's format");
            return;
        }
        let reply = match take(&self.ingest, &self.router, &interaction).await {
            Outcome::Answer(reply) => reply,
            Outcome::Malformed(detail) => {
                tracing::warn!(interaction = %interaction.id, detail = %detail, "discord gateway: interaction refused");
                return;
            }
        };
        let url = format!(
            "{}/api/v10/interactions/{}/{}/callback",
            self.api_url, interaction.id, interaction.token
        );
        let response = self.http.post(url).timeout(CALLBACK_TIMEOUT).json(&reply).send().await;
        match response {
            Ok(response) if response.status().is_success() => {
                tracing::debug!(interaction = %interaction.id, "discord gateway: interaction answered");
            }
            Ok(response) => {
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if body["code"] == 40060 {
                    // A replayed interaction that was answered before: nothing to do.
                    tracing::info!(interaction = %interaction.id, "discord gateway: interaction was already answered");
                } else {
                    tracing::warn!(interaction = %interaction.id, status = %status, code = %body["code"], "discord gateway: Discord refused the answer");
                }
            }
            // The URL holds the interaction token: the error is logged without it.
            Err(err) => {
                tracing::warn!(interaction = %interaction.id, cause = %err.without_url(), "discord gateway: cannot answer the interaction");
            }
        }
    }
}

/// `GET {api_url}/api/v10/gateway/bot`: the Gateway's address.
pub async fn gateway_url(http: &reqwest::Client, api_url: &str, token: &Secret) -> Result<String, UrlError> {
    let response = http
        .get(format!("{api_url}/api/v10/gateway/bot"))
        .header("authorization", format!("Bot {}", token.expose()))
        .send()
        .await
        .map_err(|err| UrlError::Unreachable(err.without_url().to_string()))?;
    let status = response.status();
    if status.as_u16() == 401 || status.as_u16() == 403 {
        return Err(UrlError::Rejected(format!("HTTP {status}")));
    }
    if !status.is_success() {
        return Err(UrlError::Unreachable(format!("HTTP {status}")));
    }
    let body: Value = response
        .json()
        .await
        .map_err(|err| UrlError::Unreachable(format!("an answer that is not Discord's JSON: {}", err.without_url())))?;
    body["url"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| UrlError::Unreachable("no url in the answer".into()))
}

/// Checks `config`'s bot token against `/gateway/bot` at start-up: a rejected token stops the
/// start with a clear message; an unreachable Discord only warns (the connection retries).
pub async fn check_gateway(config: &DiscordConfig, timeout: Duration) -> Result<(), UrlError> {
    let Some(token) = config.bot_token.as_ref().filter(|t| !t.is_empty()) else {
        return Err(UrlError::Rejected("discord.bot_token is not set".into()));
    };
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|err| UrlError::Unreachable(err.to_string()))?;
    gateway_url(&http, config.api_url.trim_end_matches('/'), token)
        .await
        .map(drop)
}

/// Waits for HELLO and returns its heartbeat interval.
async fn hello(socket: &mut Socket) -> Result<Duration, String> {
    let first = tokio::time::timeout(CONNECT_TIMEOUT, socket.next()).await;
    let Ok(Some(Ok(Message::Text(text)))) = first else {
        return Err("no HELLO from the Gateway".into());
    };
    let frame: Frame = serde_json::from_str(text.as_str()).map_err(|err| format!("no HELLO: {err}"))?;
    match (frame.op, frame.d["heartbeat_interval"].as_u64()) {
        (Opcode::Hello, Some(ms)) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err("the first frame was not a HELLO with a heartbeat interval".into()),
    }
}

/// The session READY starts.
fn ready(data: Value, seq: Option<u64>) -> Option<Session> {
    Some(Session {
        id: data["session_id"].as_str()?.to_owned(),
        seq,
        resume_url: data["resume_gateway_url"].as_str()?.to_owned(),
    })
}

async fn send(socket: &mut Socket, payload: &Value) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    socket.send(Message::text(payload.to_string())).await
}

async fn close(socket: &mut Socket, code: u16) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: "".into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(Some(frame))).await;
}

fn chrono_of(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// A random number for the jitter Discord asks for (uniformity is all that matters).
fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        return chrono::Utc::now().timestamp_subsec_nanos();
    }
    u32::from_le_bytes(bytes)
}

/// TLS for `wss://`: the bundled Mozilla roots and the ring provider, as for Slack's Socket Mode.
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
