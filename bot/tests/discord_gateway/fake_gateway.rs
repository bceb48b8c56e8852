//! A fake Discord for the Gateway on 127.0.0.1: the REST side (`GET /api/v10/gateway/bot`, the
//! interaction callback, follow-up webhooks, direct messages) and the Gateway WebSocket with
//! Discord's documented frames: HELLO (op 10), IDENTIFY (op 2) → READY, RESUME (op 6) → replay +
//! RESUMED, HEARTBEAT (op 1) → HEARTBEAT ACK (op 11), RECONNECT (op 7), INVALID_SESSION (op 9),
//! DISPATCH (op 0) `INTERACTION_CREATE`, and close 4004 for a refused token.
//!
//! It enforces what Discord enforces: the bot token on REST and in IDENTIFY / RESUME, `?v=10&
//! encoding=json`, RESUME only at the `resume_gateway_url` with a known session and a sequence it
//! sent, an interaction answered once (40060 "already acknowledged" after that) and within 3
//! seconds of its dispatch (10062 "Unknown interaction" later), and follow-ups only for an
//! interaction already answered (10015 "Unknown Webhook" before: a plugin's reply that overtakes
//! the callback is refused, as Discord refuses it, and recorded). Anything a client should never
//! send is recorded as a violation.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use sentinel_bot::store::DbPool;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response as WsResponse};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// The bot token the fake accepts.
pub const BOT_TOKEN: &str = "discord-gateway-test-token";
/// The application id.
pub const APP: &str = "900000000000000001";

/// What the fake does on a connection, taken in order, one per connection (then `Normal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Starts or resumes the session, dispatches, acknowledges heartbeats.
    Normal,
    /// Dispatches the first interaction, then drops the connection without a close frame. Discord
    /// delivers at least once: an event in flight when a connection dies may come again after the
    /// resume, and the fake takes that worst case (it replays it whatever sequence RESUME names).
    DropAfterDispatch,
    /// Sends RECONNECT (op 7) once the session is ready.
    Reconnect,
    /// Answers IDENTIFY or RESUME with INVALID_SESSION (op 9) and this `d`.
    InvalidSession(bool),
    /// Closes with 4004 "Authentication failed." on IDENTIFY (the token was reset after the
    /// client fetched the Gateway address).
    AuthFailed,
}

/// An interaction callback the fake received.
#[derive(Debug, Clone)]
pub struct Callback {
    pub interaction: String,
    pub body: Value,
    pub status: u16,
    /// Inbox rows with the interaction's id as dedup key when the callback arrived.
    pub stored_before: i64,
}

struct Session {
    seq: u64,
    /// Every dispatch sent in this session: (seq, frame).
    log: Vec<(u64, Value)>,
    /// Events to send again on the next resume (see `DropAfterDispatch`).
    in_flight: Vec<(u64, Value)>,
}

#[derive(Default)]
struct State_ {
    heartbeat_interval: u64,
    ack_heartbeats: bool,
    behaviours: VecDeque<Behaviour>,
    gateway_bot_calls: u64,
    refused_rest: Vec<String>,
    connections: u64,
    open_connections: u64,
    /// (connection, path) of every connection.
    paths: Vec<(u64, String)>,
    /// IDENTIFY payloads (token replaced), by connection.
    identifies: Vec<(u64, Value)>,
    /// RESUME payloads (token replaced), by connection.
    resumes: Vec<(u64, Value)>,
    /// Heartbeats: (connection, d).
    heartbeats: Vec<(u64, Value)>,
    /// Close codes the fake sent.
    closes: Vec<u16>,
    sessions: HashMap<String, Session>,
    /// Interactions waiting for a ready connection.
    pending: Vec<Value>,
    /// Interaction id → (token, when dispatched first).
    dispatched: HashMap<String, (String, Instant)>,
    answered: Vec<String>,
    callbacks: Vec<Callback>,
    followups: Vec<(String, Value)>,
    /// Follow-ups refused because the interaction was not answered yet.
    early_followups: Vec<(String, Value)>,
    direct_messages: Vec<Value>,
    violations: Vec<String>,
    pool: Option<DbPool>,
}

/// The fake; cheap to clone.
#[derive(Clone)]
pub struct FakeGateway {
    state: Arc<Mutex<State_>>,
    changed: Arc<watch::Sender<u64>>,
    /// While true, callbacks wait before Discord takes them (a slow answer).
    hold: Arc<watch::Sender<bool>>,
    ws_addr: std::net::SocketAddr,
    /// The value for `discord.api_url`.
    pub base: String,
}

impl FakeGateway {
    /// Starts the REST side and the Gateway, which says `heartbeat_interval` in HELLO.
    pub async fn start(heartbeat_interval: Duration) -> Self {
        let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = Self {
            state: Arc::new(Mutex::new(State_ {
                heartbeat_interval: heartbeat_interval.as_millis() as u64,
                ack_heartbeats: true,
                ..Default::default()
            })),
            changed: Arc::new(watch::channel(0).0),
            hold: Arc::new(watch::channel(false).0),
            ws_addr: ws.local_addr().unwrap(),
            base: format!("http://{}", http.local_addr().unwrap()),
        };
        let app = axum::Router::new().fallback(rest).with_state(fake.clone());
        tokio::spawn(async move { axum::serve(http, app).await });
        let accepting = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = ws.accept().await {
                tokio::spawn(accepting.clone().connection(stream));
            }
        });
        fake
    }

    /// Lets the fake count inbox rows when a callback arrives.
    pub fn watch_inbox(&self, pool: DbPool) {
        self.state.lock().unwrap().pool = Some(pool);
    }

    /// The next connections behave so, in order.
    pub fn script(&self, behaviours: &[Behaviour]) {
        self.state.lock().unwrap().behaviours.extend(behaviours.iter().copied());
    }

    /// While `on`, interaction callbacks wait (unanswered, unrecorded) until it is off again: the
    /// answer is slow to reach Discord, and a plugin's follow-up overtakes it. Keep it short:
    /// Discord's 3 seconds run from the dispatch.
    pub fn hold_callbacks(&self, on: bool) {
        self.hold.send_replace(on);
    }

    /// Whether heartbeats are acknowledged (a zombie connection acknowledges none).
    pub fn ack_heartbeats(&self, on: bool) {
        self.state.lock().unwrap().ack_heartbeats = on;
    }

    /// Dispatches `interaction` as `INTERACTION_CREATE` on the ready connection.
    pub fn dispatch(&self, interaction: Value) {
        self.state.lock().unwrap().pending.push(interaction);
        self.changed.send_modify(|n| *n += 1);
    }

    pub fn gateway_bot_calls(&self) -> u64 {
        self.state.lock().unwrap().gateway_bot_calls
    }
    pub fn refused_rest(&self) -> Vec<String> {
        self.state.lock().unwrap().refused_rest.clone()
    }
    pub fn connections(&self) -> u64 {
        self.state.lock().unwrap().connections
    }
    pub fn open_connections(&self) -> u64 {
        self.state.lock().unwrap().open_connections
    }
    pub fn paths(&self) -> Vec<(u64, String)> {
        self.state.lock().unwrap().paths.clone()
    }
    pub fn identifies(&self) -> Vec<(u64, Value)> {
        self.state.lock().unwrap().identifies.clone()
    }
    pub fn resumes(&self) -> Vec<(u64, Value)> {
        self.state.lock().unwrap().resumes.clone()
    }
    pub fn heartbeats(&self) -> Vec<(u64, Value)> {
        self.state.lock().unwrap().heartbeats.clone()
    }
    pub fn closes(&self) -> Vec<u16> {
        self.state.lock().unwrap().closes.clone()
    }
    pub fn callbacks(&self) -> Vec<Callback> {
        self.state.lock().unwrap().callbacks.clone()
    }
    /// Follow-ups posted with `token`.
    pub fn followups(&self, token: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state
            .followups
            .iter()
            .filter(|(t, _)| t == token)
            .map(|(_, b)| b.clone())
            .collect()
    }
    pub fn early_followups(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().early_followups.clone()
    }
    /// The texts delivered as follow-ups for an interaction `token`.
    pub fn delivered(&self, token: &str) -> Vec<String> {
        self.followups(token)
            .iter()
            .map(|b| b["content"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
    pub fn direct_messages(&self) -> Vec<Value> {
        self.state.lock().unwrap().direct_messages.clone()
    }
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }
    /// True once a connection has READY or RESUMED and nothing is waiting to be dispatched.
    pub fn idle(&self) -> bool {
        self.state.lock().unwrap().pending.is_empty()
    }

    fn violation(&self, why: String) {
        self.state.lock().unwrap().violations.push(why);
    }

    async fn connection(self, stream: tokio::net::TcpStream) {
        let mut target = (String::new(), String::new());
        // The callback's signature is tungstenite's (its error is a whole HTTP response).
        #[allow(clippy::result_large_err)]
        let callback = |request: &Request, response: WsResponse| {
            target = (
                request.uri().path().to_owned(),
                request.uri().query().unwrap_or_default().to_owned(),
            );
            Ok(response)
        };
        let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
            return;
        };
        let (path, query) = target;
        let (id, behaviour, interval) = {
            let mut state = self.state.lock().unwrap();
            state.connections += 1;
            state.open_connections += 1;
            let id = state.connections;
            state.paths.push((id, path.clone()));
            let behaviour = state.behaviours.pop_front().unwrap_or(Behaviour::Normal);
            (id, behaviour, state.heartbeat_interval)
        };
        let mut params: Vec<&str> = query.split('&').collect();
        params.sort_unstable();
        if params != ["encoding=json", "v=10"] {
            self.violation(format!("connection {id}: query `{query}`, not v=10&encoding=json"));
        }
        let hello = json!({"op": 10, "d": {"heartbeat_interval": interval}, "s": null, "t": null});
        if ws.send(Message::text(hello.to_string())).await.is_ok() {
            self.converse(&mut ws, id, &path, behaviour).await;
        }
        self.state.lock().unwrap().open_connections -= 1;
        self.changed.send_modify(|n| *n += 1);
    }

    async fn close<S>(&self, ws: &mut tokio_tungstenite::WebSocketStream<S>, code: u16, reason: &str)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        self.state.lock().unwrap().closes.push(code);
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.into(),
        };
        let _ = ws.close(Some(frame)).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), ws.next()).await;
    }

    /// Reads client frames until `op` 2 or 6, taking heartbeats meanwhile.
    async fn opening<S>(&self, ws: &mut tokio_tungstenite::WebSocketStream<S>, id: u64) -> Option<Value>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        loop {
            let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(Duration::from_secs(30), ws.next()).await
            else {
                return None;
            };
            let frame: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
            match frame["op"].as_u64() {
                Some(2) | Some(6) => return Some(frame),
                Some(1) => self.heartbeat(ws, id, &frame).await,
                _ => self.violation(format!("connection {id}: `{text}` before IDENTIFY or RESUME")),
            }
        }
    }

    async fn heartbeat<S>(&self, ws: &mut tokio_tungstenite::WebSocketStream<S>, id: u64, frame: &Value)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let ack = {
            let mut state = self.state.lock().unwrap();
            state.heartbeats.push((id, frame["d"].clone()));
            state.ack_heartbeats
        };
        self.changed.send_modify(|n| *n += 1);
        if ack {
            let _ = ws.send(Message::text(json!({"op": 11}).to_string())).await;
        }
    }

    async fn converse<S>(
        &self,
        ws: &mut tokio_tungstenite::WebSocketStream<S>,
        id: u64,
        path: &str,
        behaviour: Behaviour,
    ) where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let Some(opening) = self.opening(ws, id).await else {
            return;
        };
        let mut redacted = opening["d"].clone();
        let token_ok = redacted["token"] == BOT_TOKEN;
        redacted["token"] = json!(if token_ok { "<the bot token>" } else { "<another token>" });
        let resuming = opening["op"] == 6;
        {
            let mut state = self.state.lock().unwrap();
            if resuming {
                state.resumes.push((id, redacted));
            } else {
                state.identifies.push((id, redacted));
            }
        }
        if !token_ok || behaviour == Behaviour::AuthFailed {
            return self.close(ws, 4004, "Authentication failed.").await;
        }
        if let Behaviour::InvalidSession(resumable) = behaviour {
            let _ = ws
                .send(Message::text(json!({"op": 9, "d": resumable}).to_string()))
                .await;
            let _ = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
            return;
        }
        let session_id = if resuming {
            let d = &opening["d"];
            let session_id = d["session_id"].as_str().unwrap_or_default().to_owned();
            if path != "/resume" {
                self.violation(format!(
                    "connection {id}: RESUME at `{path}`, not the resume_gateway_url"
                ));
            }
            let replay = {
                let mut state = self.state.lock().unwrap();
                match state.sessions.get_mut(&session_id) {
                    Some(session) if d["seq"].as_u64().is_some_and(|s| s <= session.seq) => {
                        let from = d["seq"].as_u64().unwrap_or_default();
                        let mut replay: Vec<(u64, Value)> = std::mem::take(&mut session.in_flight);
                        replay.extend(session.log.iter().filter(|(s, _)| *s > from).cloned());
                        replay.sort_by_key(|(s, _)| *s);
                        replay.dedup_by_key(|(s, _)| *s);
                        Some(replay)
                    }
                    _ => None,
                }
            };
            let Some(replay) = replay else {
                let _ = ws.send(Message::text(json!({"op": 9, "d": false}).to_string())).await;
                let _ = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
                return;
            };
            for (_, frame) in replay {
                if ws.send(Message::text(frame.to_string())).await.is_err() {
                    return;
                }
            }
            let seq = self.next_seq(&session_id);
            let resumed = json!({"op": 0, "t": "RESUMED", "s": seq, "d": {}});
            if ws.send(Message::text(resumed.to_string())).await.is_err() {
                return;
            }
            session_id
        } else {
            let session_id = format!("fake-session-{id}");
            self.state.lock().unwrap().sessions.insert(
                session_id.clone(),
                Session {
                    seq: 0,
                    log: Vec::new(),
                    in_flight: Vec::new(),
                },
            );
            let seq = self.next_seq(&session_id);
            let ready = json!({"op": 0, "t": "READY", "s": seq, "d": {
                "v": 10,
                "user": {"id": "700000000000000007", "username": "sentinel", "discriminator": "0", "bot": true},
                "guilds": [],
                "session_id": session_id,
                "resume_gateway_url": format!("ws://{}/resume", self.ws_addr),
                "shard": [0, 1],
                "application": {"id": APP, "flags": 0}
            }});
            if ws.send(Message::text(ready.to_string())).await.is_err() {
                return;
            }
            session_id
        };
        if behaviour == Behaviour::Reconnect {
            let _ = ws.send(Message::text(json!({"op": 7, "d": null}).to_string())).await;
            let _ = tokio::time::timeout(Duration::from_secs(10), ws.next()).await;
            return;
        }
        let mut changed = self.changed.subscribe();
        loop {
            let out: Vec<Value> = std::mem::take(&mut self.state.lock().unwrap().pending);
            for interaction in out {
                let seq = self.next_seq(&session_id);
                let frame = json!({"op": 0, "t": "INTERACTION_CREATE", "s": seq, "d": interaction});
                {
                    let mut state = self.state.lock().unwrap();
                    let key = interaction["id"].as_str().unwrap_or_default().to_owned();
                    let token = interaction["token"].as_str().unwrap_or_default().to_owned();
                    state.dispatched.entry(key).or_insert((token, Instant::now()));
                    if let Some(session) = state.sessions.get_mut(&session_id) {
                        session.log.push((seq, frame.clone()));
                        if behaviour == Behaviour::DropAfterDispatch {
                            session.in_flight.push((seq, frame.clone()));
                        }
                    }
                }
                if ws.send(Message::text(frame.to_string())).await.is_err() {
                    return;
                }
                if behaviour == Behaviour::DropAfterDispatch {
                    return; // dropped: no close frame
                }
            }
            tokio::select! {
                frame = ws.next() => {
                    let Some(Ok(frame)) = frame else { return };
                    let Message::Text(text) = frame else { continue };
                    let frame: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                    match frame["op"].as_u64() {
                        Some(1) => self.heartbeat(ws, id, &frame).await,
                        Some(2) => return self.close(ws, 4005, "Already authenticated.").await,
                        _ => {
                            self.violation(format!("connection {id}: unexpected `{text}`"));
                            return self.close(ws, 4001, "Unknown opcode.").await;
                        }
                    }
                }
                changed = changed.changed() => if changed.is_err() { return },
            }
        }
    }

    fn next_seq(&self, session_id: &str) -> u64 {
        let mut state = self.state.lock().unwrap();
        let session = state.sessions.get_mut(session_id).unwrap();
        session.seq += 1;
        session.seq
    }

    /// `POST /interactions/{id}/{token}/callback` as Discord answers it.
    async fn callback(&self, interaction: &str, token: &str, body: Value) -> (u16, Value) {
        let mut hold = self.hold.subscribe();
        let _ = hold.wait_for(|held| !*held).await;
        let (known, pool) = {
            let state = self.state.lock().unwrap();
            let known = state.dispatched.get(interaction).cloned();
            (known, state.pool.clone())
        };
        let stored_before = match pool {
            Some(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE dedup_key LIKE '%' || $1")
                .bind(interaction)
                .fetch_one(&pool)
                .await
                .unwrap(),
            None => -1,
        };
        let answer = match known {
            Some((t, at)) if t == token && at.elapsed() <= Duration::from_secs(3) => {
                let mut state = self.state.lock().unwrap();
                if state.answered.iter().any(|a| a == interaction) {
                    (
                        400,
                        json!({"code": 40060, "message": "Interaction has already been acknowledged."}),
                    )
                } else if ![1, 4, 5, 6, 7, 8, 9].contains(&body["type"].as_u64().unwrap_or(0)) {
                    state.violations.push(format!("a callback of no known type: {body}"));
                    (400, json!({"code": 50035, "message": "Invalid Form Body"}))
                } else {
                    state.answered.push(interaction.to_owned());
                    (204, Value::Null)
                }
            }
            _ => (404, json!({"code": 10062, "message": "Unknown interaction"})),
        };
        self.state.lock().unwrap().callbacks.push(Callback {
            interaction: interaction.to_owned(),
            body,
            status: answer.0,
            stored_before,
        });
        answer
    }
}

/// The REST API: `/gateway/bot`, callbacks, follow-ups, direct messages.
async fn rest(State(fake): State<FakeGateway>, method: Method, uri: Uri, headers: HeaderMap, body: String) -> Response {
    let path = uri.path().strip_prefix("/api/v10").unwrap_or(uri.path()).to_owned();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let bot_auth = headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bot {BOT_TOKEN}"));
    let reply = |status: u16, body: Value| {
        let status = StatusCode::from_u16(status).unwrap();
        if body.is_null() {
            status.into_response()
        } else {
            (status, axum::Json(body)).into_response()
        }
    };
    let unauthorized = || reply(401, json!({"message": "401: Unauthorized", "code": 0}));
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["gateway", "bot"]) => {
            if !bot_auth {
                fake.state.lock().unwrap().refused_rest.push(path.clone());
                return unauthorized();
            }
            fake.state.lock().unwrap().gateway_bot_calls += 1;
            reply(
                200,
                json!({
                    "url": format!("ws://{}", fake.ws_addr),
                    "shards": 1,
                    "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}
                }),
            )
        }
        ("GET", ["users", "@me"]) if bot_auth => reply(
            200,
            json!({"id": "700000000000000007", "username": "sentinel", "bot": true}),
        ),
        ("POST", ["interactions", id, token, "callback"]) => {
            let (status, answer) = fake.callback(id, token, body).await;
            reply(status, answer)
        }
        ("POST", ["webhooks", app, token]) => {
            let answered = {
                let state = fake.state.lock().unwrap();
                state
                    .dispatched
                    .iter()
                    .any(|(id, (t, _))| t == token && state.answered.contains(id))
            };
            if *app != APP || !answered {
                // Not the client's fault alone: the plugin's reply can overtake the callback.
                fake.state
                    .lock()
                    .unwrap()
                    .early_followups
                    .push(((*token).to_owned(), body.clone()));
                return reply(404, json!({"code": 10015, "message": "Unknown Webhook"}));
            }
            fake.state
                .lock()
                .unwrap()
                .followups
                .push(((*token).to_owned(), body.clone()));
            reply(
                200,
                json!({"id": "500000000000000099", "channel_id": "100000000000000020", "content": body["content"]}),
            )
        }
        ("POST", ["users", "@me", "channels"]) if bot_auth => {
            reply(200, json!({"id": "600000000000000006", "type": 1}))
        }
        ("POST", ["channels", _, "messages"]) if bot_auth => {
            fake.state.lock().unwrap().direct_messages.push(body.clone());
            reply(
                200,
                json!({"id": "500000000000000098", "channel_id": "600000000000000006"}),
            )
        }
        _ if !bot_auth && !path.starts_with("/interactions") && !path.starts_with("/webhooks") => unauthorized(),
        _ => reply(404, json!({"code": 0, "message": "404: Not Found"})),
    }
}
