//! A fake Slack for Socket Mode on 127.0.0.1: `apps.connections.open` over HTTP (checks the
//! app-level token, hands out single-use `ws://` URLs), `auth.test` for a bot token (as a start-up
//! check asks it), the WebSocket itself (hello, envelopes in Slack's documented format,
//! disconnects), and `response_url` endpoints that record the replies.
//!
//! It behaves as Slack documents: each envelope goes to one open connection; one that is not
//! acknowledged is delivered again on a new connection, with `retry_attempt` counting the earlier
//! deliveries and `retry_reason` saying why (`0` and `""` on the first); an acknowledgement must name an envelope
//! sent on that connection and not acknowledged yet, with nothing but `envelope_id` and (where
//! the envelope accepts one) `payload` — anything else is a protocol violation, recorded and
//! answered by closing the connection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::store::DbPool;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response as WsResponse};

use super::{lock, serve};

/// The app-level token the fake accepts.
pub const APP_TOKEN: &str = "xapp-1-A0SENTINEL-1234-abcdef";

/// What the fake does on a connection, taken in order, one per connection (then `Normal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Delivers envelopes and takes acknowledgements.
    Normal,
    /// Delivers, reads the first acknowledgement, throws it away (it is "lost") and drops the
    /// connection without a close frame.
    LoseFirstAckThenDrop,
    /// Says hello, then `{"type": "disconnect", "reason": …}` and nothing more.
    Disconnect(&'static str),
    /// Delivers, and takes every acknowledgement as if it never reached Slack (the process died
    /// before it left): recorded as held, the envelope stays unacknowledged on this connection and
    /// goes out again once the connection is gone.
    HoldAcks,
}

/// An acknowledgement the fake accepted.
#[derive(Debug, Clone)]
pub struct Ack {
    /// The connection it came on (1, 2, …).
    pub connection: u64,
    /// The acknowledgement as sent.
    pub frame: Value,
    /// Inbox rows with the envelope's dedup key at the moment the acknowledgement arrived (-1
    /// without [`FakeSocketMode::watch_inbox`]).
    pub stored_before: i64,
}

#[derive(Default)]
struct State_ {
    tickets_issued: u64,
    tickets_used: Vec<u64>,
    opens: u64,
    refused_opens: Vec<String>,
    connections: u64,
    open_connections: u64,
    behaviours: VecDeque<Behaviour>,
    /// Envelopes not acknowledged yet: (envelope, the connection it is out on).
    pending: Vec<(Value, Option<u64>)>,
    /// Every delivery: (connection, envelope_id).
    deliveries: Vec<(u64, String)>,
    acks: Vec<Ack>,
    held_acks: Vec<Ack>,
    lost_acks: Vec<Value>,
    violations: Vec<String>,
    replies: Vec<(String, Value)>,
    pool: Option<DbPool>,
}

/// The fake; cheap to clone.
#[derive(Clone)]
pub struct FakeSocketMode {
    state: Arc<Mutex<State_>>,
    changed: Arc<watch::Sender<u64>>,
    ws_addr: std::net::SocketAddr,
    /// `http://127.0.0.1:<port>`, the value for `slack.api_url` without `/api`.
    pub base: String,
}

impl FakeSocketMode {
    /// Starts the HTTP side and the WebSocket side; `base` is the value for `slack.api_url`
    /// without `/api`.
    pub async fn start() -> std::io::Result<Self> {
        let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut fake = Self {
            state: Arc::default(),
            changed: Arc::new(watch::channel(0).0),
            ws_addr: ws.local_addr()?,
            base: String::new(),
        };
        let app = axum::Router::new().fallback(web_api).with_state(fake.clone());
        fake.base = serve(app).await?;
        let accepting = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = ws.accept().await {
                tokio::spawn(accepting.clone().connection(stream));
            }
        });
        Ok(fake)
    }

    /// Lets the fake count inbox rows when an acknowledgement arrives.
    pub fn watch_inbox(&self, pool: DbPool) {
        lock(&self.state).pool = Some(pool);
    }

    /// The next connections behave so, in order.
    pub fn script(&self, behaviours: &[Behaviour]) {
        lock(&self.state).behaviours.extend(behaviours.iter().cloned());
    }

    /// Queues `envelope` for delivery on an open connection.
    pub fn deliver(&self, envelope: Value) {
        lock(&self.state).pending.push((envelope, None));
        self.changed.send_modify(|n| *n += 1);
    }

    /// How many `apps.connections.open` calls it answered with a URL.
    pub fn opens(&self) -> u64 {
        lock(&self.state).opens
    }
    /// The errors it refused `apps.connections.open` calls with.
    pub fn refused_opens(&self) -> Vec<String> {
        lock(&self.state).refused_opens.clone()
    }
    /// How many WebSocket connections were made.
    pub fn connections(&self) -> u64 {
        lock(&self.state).connections
    }
    /// How many WebSocket connections are open now.
    pub fn open_connections(&self) -> u64 {
        lock(&self.state).open_connections
    }
    /// The connections `envelope_id` was delivered on, in order.
    pub fn deliveries_of(&self, envelope_id: &str) -> Vec<u64> {
        let state = lock(&self.state);
        state
            .deliveries
            .iter()
            .filter(|(_, id)| id == envelope_id)
            .map(|(c, _)| *c)
            .collect()
    }
    /// The acknowledgements it accepted.
    pub fn acks(&self) -> Vec<Ack> {
        lock(&self.state).acks.clone()
    }
    /// The acknowledgements that never counted (see [`Behaviour::HoldAcks`]).
    pub fn held_acks(&self) -> Vec<Ack> {
        lock(&self.state).held_acks.clone()
    }
    /// The acknowledgements it threw away (see [`Behaviour::LoseFirstAckThenDrop`]).
    pub fn lost_acks(&self) -> Vec<Value> {
        lock(&self.state).lost_acks.clone()
    }
    /// What the client did against the protocol.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.state).violations.clone()
    }
    /// The bodies posted to `response_url` `/response/<trigger>`.
    pub fn replies_to(&self, trigger: &str) -> Vec<Value> {
        let state = lock(&self.state);
        let path = format!("/response/{trigger}");
        state
            .replies
            .iter()
            .filter(|(p, _)| *p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }
    /// How many envelopes are not acknowledged yet.
    pub fn pending(&self) -> usize {
        lock(&self.state).pending.len()
    }

    /// The WebSocket URL for a ticket (also for tests that speak to the fake directly).
    pub fn issue_url(&self) -> String {
        let mut state = lock(&self.state);
        state.tickets_issued += 1;
        format!(
            "ws://{}/link/?ticket={}&app_id=A0SENTINEL",
            self.ws_addr, state.tickets_issued
        )
    }

    async fn connection(self, stream: tokio::net::TcpStream) {
        let mut ticket = None;
        // The callback's signature is tungstenite's (its error is a whole HTTP response).
        #[allow(clippy::result_large_err)]
        let callback = |request: &Request, response: WsResponse| {
            ticket = request
                .uri()
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("ticket=")))
                .and_then(|t| t.parse::<u64>().ok());
            Ok(response)
        };
        let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
            return;
        };
        let (id, behaviour) = {
            let mut state = lock(&self.state);
            let valid = ticket.is_some_and(|t| t <= state.tickets_issued && !state.tickets_used.contains(&t));
            if !valid {
                state
                    .violations
                    .push(format!("a connection with an unknown or used ticket {ticket:?}"));
                return;
            }
            state.tickets_used.extend(ticket);
            state.connections += 1;
            state.open_connections += 1;
            let behaviour = state.behaviours.pop_front().unwrap_or(Behaviour::Normal);
            (state.connections, behaviour)
        };
        let open = lock(&self.state).open_connections;
        let hello = json!({
            "type": "hello",
            "num_connections": open,
            "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A0SENTINEL"}
        });
        if ws.send(Message::text(hello.to_string())).await.is_ok() {
            self.converse(&mut ws, id, behaviour).await;
        }
        let mut state = lock(&self.state);
        state.open_connections -= 1;
        // What was out on this connection and not acknowledged goes out again on another one.
        for (_, on) in state.pending.iter_mut() {
            if *on == Some(id) {
                *on = None;
            }
        }
        drop(state);
        self.changed.send_modify(|n| *n += 1);
    }

    async fn converse<S>(&self, ws: &mut tokio_tungstenite::WebSocketStream<S>, id: u64, behaviour: Behaviour)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        if let Behaviour::Disconnect(reason) = behaviour {
            let frame = json!({"type": "disconnect", "reason": reason,
                               "debug_info": {"host": "applink-fake"}});
            let _ = ws.send(Message::text(frame.to_string())).await;
            // Slack closes it a little later; the client is expected to go first.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await;
            return;
        }
        let mut changed = self.changed.subscribe();
        loop {
            let out: Vec<Value> = {
                let mut state = lock(&self.state);
                let mut out = Vec::new();
                for (envelope, on) in state.pending.iter_mut() {
                    if on.is_none() {
                        *on = Some(id);
                        out.push(envelope.clone());
                    }
                }
                for envelope in &mut out {
                    let envelope_id = envelope["envelope_id"].as_str().unwrap_or_default().to_owned();
                    let earlier = state.deliveries.iter().filter(|(_, e)| *e == envelope_id).count();
                    // The Events API's retry fields; Slack retries an unacknowledged envelope
                    // as it retries an HTTP request that timed out.
                    envelope["retry_attempt"] = json!(earlier);
                    envelope["retry_reason"] = json!(if earlier == 0 { "" } else { "http_timeout" });
                    state.deliveries.push((id, envelope_id));
                }
                out
            };
            for envelope in out {
                if ws.send(Message::text(envelope.to_string())).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                frame = ws.next() => {
                    let Some(Ok(frame)) = frame else { return };
                    let Message::Text(text) = frame else { continue };
                    if behaviour == Behaviour::LoseFirstAckThenDrop {
                        let lost: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                        lock(&self.state).lost_acks.push(lost);
                        return; // dropped: no close frame
                    }
                    if !self.take_ack(id, text.as_str(), behaviour == Behaviour::HoldAcks).await {
                        let _ = ws.close(None).await;
                        return;
                    }
                }
                changed = changed.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Checks an acknowledgement as Slack would; false (and a violation) when it is not one. A
    /// `held` one is recorded but leaves the envelope unacknowledged.
    async fn take_ack(&self, connection: u64, text: &str, held: bool) -> bool {
        let violation = |why: String| {
            lock(&self.state).violations.push(why);
            false
        };
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return violation(format!("not JSON: {text}"));
        };
        let Some(fields) = frame.as_object() else {
            return violation(format!("not an object: {text}"));
        };
        let Some(envelope_id) = frame["envelope_id"].as_str().map(str::to_owned) else {
            return violation(format!("no envelope_id: {text}"));
        };
        if let Some(other) = fields.keys().find(|k| *k != "envelope_id" && *k != "payload") {
            return violation(format!("unknown field `{other}` in {text}"));
        }
        let (envelope, pool) = {
            let state = lock(&self.state);
            let envelope = state
                .pending
                .iter()
                .find(|(e, on)| e["envelope_id"] == envelope_id && *on == Some(connection))
                .map(|(e, _)| e.clone());
            (envelope, state.pool.clone())
        };
        let Some(envelope) = envelope else {
            return violation(format!("an ack for an envelope not out on this connection: {text}"));
        };
        if fields.contains_key("payload") && envelope["accepts_response_payload"] != true {
            return violation(format!("a payload for an envelope that accepts none: {text}"));
        }
        let stored_before = match pool {
            Some(pool) => {
                let trigger = envelope["payload"]["trigger_id"].as_str().unwrap_or_default();
                sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE dedup_key LIKE '%' || $1")
                    .bind(trigger)
                    .fetch_one(&pool)
                    .await
                    .unwrap_or(-1)
            }
            None => -1,
        };
        let mut state = lock(&self.state);
        let ack = Ack {
            connection,
            frame,
            stored_before,
        };
        if held {
            state.held_acks.push(ack);
            return true;
        }
        state.pending.retain(|(e, _)| e["envelope_id"] != envelope_id);
        state.acks.push(ack);
        true
    }
}

/// `apps.connections.open`, `auth.test` and the `response_url`s.
async fn web_api(State(fake): State<FakeSocketMode>, uri: Uri, headers: HeaderMap, body: String) -> Response {
    let path = uri.path().to_owned();
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if path == "/api/auth.test" {
        let answer = match auth {
            None => json!({"ok": false, "error": "not_authed"}),
            Some(auth) if auth.starts_with("Bearer xoxb-") => super::slack::auth_test(),
            Some(_) => json!({"ok": false, "error": "invalid_auth"}),
        };
        return axum::Json(answer).into_response();
    }
    if path == "/api/apps.connections.open" {
        let refusal = match auth {
            None => Some("not_authed"),
            Some(auth) if auth == format!("Bearer {APP_TOKEN}") => None,
            Some(auth) if auth.starts_with("Bearer xoxb-") => Some("not_allowed_token_type"),
            Some(_) => Some("invalid_auth"),
        };
        if let Some(code) = refusal {
            lock(&fake.state).refused_opens.push(code.to_owned());
            return axum::Json(json!({"ok": false, "error": code})).into_response();
        }
        lock(&fake.state).opens += 1;
        return axum::Json(json!({"ok": true, "url": fake.issue_url()})).into_response();
    }
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    lock(&fake.state).replies.push((path, body));
    axum::Json(json!({"ok": true})).into_response()
}
