//! A fake Slack for Socket Mode on 127.0.0.1: `apps.connections.open` over HTTP (checks the
//! app-level token, hands out single-use `ws://` URLs), the WebSocket itself (hello, envelopes in
//! Slack's documented format, disconnects), and `response_url` endpoints that record the replies.
//!
//! It behaves as Slack documents: each envelope goes to one open connection; one that is not
//! acknowledged is delivered again on a new connection; an acknowledgement must name an envelope
//! sent on that connection and not acknowledged yet, with nothing but `envelope_id` and (where
//! the envelope accepts one) `payload` — anything else is a protocol violation, recorded and
//! answered by closing the connection.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sqlx::SqlitePool;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response as WsResponse};

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
}

/// An acknowledgement the fake accepted.
#[derive(Debug, Clone)]
pub struct Ack {
    pub connection: u64,
    pub frame: Value,
    /// Inbox rows with the envelope's dedup key at the moment the acknowledgement arrived.
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
    lost_acks: Vec<Value>,
    violations: Vec<String>,
    replies: Vec<(String, Value)>,
    pool: Option<SqlitePool>,
}

/// The fake; cheap to clone.
#[derive(Clone)]
pub struct FakeSocketMode {
    state: Arc<Mutex<State_>>,
    changed: Arc<watch::Sender<u64>>,
    ws_addr: std::net::SocketAddr,
    pub base: String,
}

impl FakeSocketMode {
    /// Starts the HTTP side and the WebSocket side; `base` is the value for `slack.api_url`
    /// without `/api`.
    pub async fn start() -> Self {
        let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = Self {
            state: Arc::default(),
            changed: Arc::new(watch::channel(0).0),
            ws_addr: ws.local_addr().unwrap(),
            base: format!("http://{}", http.local_addr().unwrap()),
        };
        let app = axum::Router::new().fallback(web_api).with_state(fake.clone());
        tokio::spawn(async move { axum::serve(http, app).await });
        let accepting = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = ws.accept().await {
                tokio::spawn(accepting.clone().connection(stream));
            }
        });
        fake
    }

    /// Lets the fake count inbox rows when an acknowledgement arrives.
    pub fn watch_inbox(&self, pool: SqlitePool) {
        self.state.lock().unwrap().pool = Some(pool);
    }

    /// The next connections behave so, in order.
    pub fn script(&self, behaviours: &[Behaviour]) {
        self.state.lock().unwrap().behaviours.extend(behaviours.iter().cloned());
    }

    /// Queues `envelope` for delivery on an open connection.
    pub fn deliver(&self, envelope: Value) {
        self.state.lock().unwrap().pending.push((envelope, None));
        self.changed.send_modify(|n| *n += 1);
    }

    pub fn opens(&self) -> u64 {
        self.state.lock().unwrap().opens
    }
    pub fn refused_opens(&self) -> Vec<String> {
        self.state.lock().unwrap().refused_opens.clone()
    }
    pub fn connections(&self) -> u64 {
        self.state.lock().unwrap().connections
    }
    pub fn open_connections(&self) -> u64 {
        self.state.lock().unwrap().open_connections
    }
    pub fn deliveries_of(&self, envelope_id: &str) -> Vec<u64> {
        let state = self.state.lock().unwrap();
        state
            .deliveries
            .iter()
            .filter(|(_, id)| id == envelope_id)
            .map(|(c, _)| *c)
            .collect()
    }
    pub fn acks(&self) -> Vec<Ack> {
        self.state.lock().unwrap().acks.clone()
    }
    pub fn lost_acks(&self) -> Vec<Value> {
        self.state.lock().unwrap().lost_acks.clone()
    }
    pub fn violations(&self) -> Vec<String> {
        self.state.lock().unwrap().violations.clone()
    }
    /// The bodies posted to `response_url` `/response/<trigger>`.
    pub fn replies_to(&self, trigger: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        let path = format!("/response/{trigger}");
        state
            .replies
            .iter()
            .filter(|(p, _)| *p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }
    pub fn pending(&self) -> usize {
        self.state.lock().unwrap().pending.len()
    }

    /// The WebSocket URL for a ticket (also for tests that speak to the fake directly).
    pub fn issue_url(&self) -> String {
        let mut state = self.state.lock().unwrap();
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
            let mut state = self.state.lock().unwrap();
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
        let open = self.state.lock().unwrap().open_connections;
        let hello = json!({
            "type": "hello",
            "num_connections": open,
            "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A0SENTINEL"}
        });
        if ws.send(Message::text(hello.to_string())).await.is_ok() {
            self.converse(&mut ws, id, behaviour).await;
        }
        let mut state = self.state.lock().unwrap();
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
                let mut state = self.state.lock().unwrap();
                let mut out = Vec::new();
                for (envelope, on) in state.pending.iter_mut() {
                    if on.is_none() {
                        *on = Some(id);
                        out.push(envelope.clone());
                    }
                }
                for envelope in &out {
                    let envelope_id = envelope["envelope_id"].as_str().unwrap().to_owned();
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
                        self.state.lock().unwrap().lost_acks.push(lost);
                        return; // dropped: no close frame
                    }
                    if !self.take_ack(id, text.as_str()).await {
                        let _ = ws.close(None).await;
                        return;
                    }
                }
                changed = changed.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Checks an acknowledgement as Slack would; false (and a violation) when it is not one.
    async fn take_ack(&self, connection: u64, text: &str) -> bool {
        let violation = |why: String| {
            self.state.lock().unwrap().violations.push(why);
            false
        };
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return violation(format!("not JSON: {text}"));
        };
        let Some(fields) = frame.as_object() else {
            return violation(format!("not an object: {text}"));
        };
        let Some(envelope_id) = frame["envelope_id"].as_str() else {
            return violation(format!("no envelope_id: {text}"));
        };
        if let Some(other) = fields.keys().find(|k| *k != "envelope_id" && *k != "payload") {
            return violation(format!("unknown field `{other}` in {text}"));
        }
        let (envelope, pool) = {
            let state = self.state.lock().unwrap();
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
                sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE dedup_key LIKE '%' || ?")
                    .bind(trigger)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
            None => -1,
        };
        let mut state = self.state.lock().unwrap();
        state.pending.retain(|(e, _)| e["envelope_id"] != envelope_id);
        state.acks.push(Ack {
            connection,
            frame,
            stored_before,
        });
        true
    }
}

/// `apps.connections.open` and the `response_url`s.
async fn web_api(State(fake): State<FakeSocketMode>, uri: Uri, headers: HeaderMap, body: String) -> Response {
    let path = uri.path().to_owned();
    if path == "/api/apps.connections.open" {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
        let refusal = match auth {
            None => Some("not_authed"),
            Some(auth) if auth == format!("Bearer {APP_TOKEN}") => None,
            Some(auth) if auth.starts_with("Bearer xoxb-") => Some("not_allowed_token_type"),
            Some(_) => Some("invalid_auth"),
        };
        if let Some(code) = refusal {
            fake.state.lock().unwrap().refused_opens.push(code.to_owned());
            return axum::Json(json!({"ok": false, "error": code})).into_response();
        }
        fake.state.lock().unwrap().opens += 1;
        return axum::Json(json!({"ok": true, "url": fake.issue_url()})).into_response();
    }
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    fake.state.lock().unwrap().replies.push((path, body));
    axum::Json(json!({"ok": true})).into_response()
}
