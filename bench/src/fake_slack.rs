//! A fake Slack Web API on 127.0.0.1 for the `storm` benchmark: it enforces Slack's documented
//! rate limits and message limits, and records every post and update with the time it was
//! accepted.
//!
//! - `chat.postMessage`: "1 per second [per channel]. Short bursts >1 allowed" (Slack's rate-limit
//!   page): a token bucket per channel refilled at one message a second, holding `burst`
//!   messages. Beyond it: HTTP 429 with `Retry-After` (whole seconds until a token is back) and
//!   `{"ok":false,"error":"ratelimited"}`. Slack's unpublished workspace-wide limit is not modelled.
//! - `chat.update` and `conversations.history`: Web API Tier 3, "50+ per minute" per method per
//!   app and workspace, "sporadic bursts are welcome": one bucket per method of 50 a minute
//!   holding 10.
//! - Messages: at most 50 blocks, a section's text at most 3,000 characters, at most 10 fields of
//!   at most 2,000, `text` at most 40,000 (`invalid_blocks`, `msg_too_long`); blocks carrying more
//!   than 13,000 characters in all are refused with `msg_blocks_too_long`, as Slack does in
//!   practice although no document states the figure.
//! - `conversations.history` returns the channel's top-level messages, newest first, each with
//!   the `metadata` it was posted with when `include_all_metadata=true` (cursor = an offset).
//! - `auth.test`, `chat.postEphemeral` and `conversations.create` / `list` / `invite` / `join`
//!   answer plausibly, so every plugin runs unchanged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Messages a channel may post at once before the one-a-second pace applies.
pub const DEFAULT_BURST: f64 = 3.0;

/// A message Slack accepted.
#[derive(Debug, Clone)]
pub struct Posted {
    /// When it was accepted, since the fake started.
    pub at: Duration,
    /// The channel id.
    pub channel: String,
    /// Its `ts`.
    pub ts: String,
    /// The parent's `ts` for a thread reply.
    pub thread_ts: Option<String>,
    /// The request body as sent (text, blocks or attachments, metadata).
    pub body: Value,
}

/// An edit Slack accepted.
#[derive(Debug, Clone)]
pub struct Updated {
    /// When it was accepted, since the fake started.
    pub at: Duration,
    /// The channel id.
    pub channel: String,
    /// The `ts` of the edited message.
    pub ts: String,
    /// The request body.
    pub body: Value,
}

/// Everything the fake saw.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// Accepted posts, in order.
    pub posts: Vec<Posted>,
    /// Accepted edits, in order.
    pub updates: Vec<Updated>,
    /// 429 answers per method.
    pub rate_limited: HashMap<String, u64>,
    /// Refusals for a message over Slack's limits: (method, error).
    pub refused: Vec<(String, String)>,
}

/// A token bucket: `rate` tokens a second, at most `capacity`.
#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    rate: f64,
    at: Instant,
}

impl Bucket {
    fn new(capacity: f64, rate: f64) -> Self {
        Self {
            tokens: capacity,
            capacity,
            rate,
            at: Instant::now(),
        }
    }

    /// Takes a token, or says how long until one is back.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

#[derive(Debug)]
struct Inner {
    started: Instant,
    burst: f64,
    record: Record,
    channels: HashMap<String, Bucket>,
    methods: HashMap<&'static str, Bucket>,
    next_ts: u64,
    /// Top-level messages per channel: (ts, body), oldest first.
    history: HashMap<String, Vec<(String, Value)>>,
    created: Vec<(String, String)>,
}

/// The fake's shared state; clone it to read the record while it runs.
#[derive(Debug, Clone)]
pub struct FakeSlack {
    inner: Arc<Mutex<Inner>>,
}

impl FakeSlack {
    /// Starts the fake on `127.0.0.1:0` with a per-channel burst of `burst` posts; returns it and
    /// its API base URL (`http://127.0.0.1:<port>/api`).
    pub async fn start(burst: f64) -> anyhow::Result<(Self, String)> {
        let fake = FakeSlack {
            inner: Arc::new(Mutex::new(Inner {
                started: Instant::now(),
                burst: burst.max(1.0),
                record: Record::default(),
                channels: HashMap::new(),
                methods: HashMap::new(),
                next_ts: 0,
                history: HashMap::new(),
                created: Vec::new(),
            })),
        };
        let app = axum::Router::new().fallback(answer).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}/api", listener.local_addr()?);
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(cause = %err, "fake Slack stopped");
            }
        });
        Ok((fake, base))
    }

    /// When the fake started (the zero of every recorded time).
    pub fn started(&self) -> Instant {
        self.lock().started
    }

    /// A copy of what it recorded so far.
    pub fn record(&self) -> Record {
        self.lock().record.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn limited(method: &str, wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0);
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({"ok": false, "error": "ratelimited"})),
    )
        .into_response();
    if let Ok(value) = format!("{secs:.0}").parse() {
        response.headers_mut().insert("retry-after", value);
    }
    tracing::debug!(method, retry_after = secs, "fake Slack rate-limited a call");
    response
}

fn ok(body: Value) -> Response {
    axum::Json(body).into_response()
}

fn refuse(error: &str) -> Response {
    ok(json!({"ok": false, "error": error}))
}

async fn answer(
    State(fake): State<FakeSlack>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer xoxb-"));
    if !bearer {
        return refuse("not_authed");
    }
    let body: Value = serde_json::from_str(&body).unwrap_or_else(|_| {
        // Form-encoded or empty bodies: the parameters Slack also accepts that way.
        Value::Object(
            serde_urlencoded::from_str::<Vec<(String, String)>>(&body)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    });
    let param = |name: &str| -> Option<String> {
        query
            .get(name)
            .cloned()
            .or_else(|| body.get(name).and_then(Value::as_str).map(str::to_owned))
    };
    let now = Instant::now();
    let mut inner = fake.lock();
    let at = now.saturating_duration_since(inner.started);
    let method = uri.path().trim_start_matches("/api/").to_owned();
    match method.as_str() {
        "auth.test" => ok(json!({
            "ok": true, "user_id": "U0BOT", "team_id": "T0BENCH", "user": "sentinel", "team": "Bench",
            "url": "https://bench.slack.com/", "bot_id": "B0BOT"
        })),
        "chat.postMessage" => {
            let channel = param("channel").unwrap_or_default();
            let burst = inner.burst;
            let bucket = inner
                .channels
                .entry(channel.clone())
                .or_insert_with(|| Bucket::new(burst, 1.0));
            if let Err(wait) = bucket.take(now) {
                *inner.record.rate_limited.entry(method.clone()).or_default() += 1;
                return limited(&method, wait);
            }
            if let Err(error) = check_message(&body) {
                inner.record.refused.push((method, error.to_owned()));
                return refuse(error);
            }
            inner.next_ts += 1;
            let ts = format!("1700000000.{:06}", inner.next_ts);
            let thread_ts = param("thread_ts");
            if thread_ts.is_none() {
                inner
                    .history
                    .entry(channel.clone())
                    .or_default()
                    .push((ts.clone(), body.clone()));
            }
            inner.record.posts.push(Posted {
                at,
                channel: channel.clone(),
                ts: ts.clone(),
                thread_ts,
                body,
            });
            ok(json!({"ok": true, "channel": channel, "ts": ts, "message": {"ts": ts}}))
        }
        "chat.update" => {
            if let Err(wait) = tier3(&mut inner, "chat.update", now) {
                *inner.record.rate_limited.entry(method.clone()).or_default() += 1;
                return limited(&method, wait);
            }
            if let Err(error) = check_message(&body) {
                inner.record.refused.push((method, error.to_owned()));
                return refuse(error);
            }
            let channel = param("channel").unwrap_or_default();
            let ts = param("ts").unwrap_or_default();
            // A thread reply is edited in place too, but is not in the channel's history.
            let reply = inner.record.posts.iter().any(|p| p.ts == ts && p.thread_ts.is_some());
            let known = inner
                .history
                .get_mut(&channel)
                .and_then(|messages| messages.iter_mut().find(|(t, _)| *t == ts));
            match known {
                Some(slot) => slot.1 = body.clone(),
                None if reply => {}
                None => return refuse("message_not_found"),
            }
            inner.record.updates.push(Updated {
                at,
                channel: channel.clone(),
                ts: ts.clone(),
                body,
            });
            ok(json!({"ok": true, "channel": channel, "ts": ts, "message": {}}))
        }
        "conversations.history" => {
            if let Err(wait) = tier3(&mut inner, "conversations.history", now) {
                *inner.record.rate_limited.entry(method.clone()).or_default() += 1;
                return limited(&method, wait);
            }
            history(&inner, &param)
        }
        "chat.postEphemeral" => ok(json!({"ok": true, "message_ts": "1700000000.999999"})),
        "conversations.create" => {
            let name = param("name").unwrap_or_default();
            if inner.created.iter().any(|(_, n)| *n == name) {
                return refuse("name_taken");
            }
            let id = format!("C0SPACE{}", inner.created.len() + 1);
            inner.created.push((id.clone(), name.clone()));
            ok(json!({"ok": true, "channel": {"id": id, "name": name, "created": 1700000000}}))
        }
        "conversations.list" => {
            let channels: Vec<Value> = inner
                .created
                .iter()
                .map(|(id, name)| {
                    json!({"id": id, "name": name, "created": 1700000000, "is_channel": true,
                           "is_archived": false, "is_member": true})
                })
                .collect();
            ok(json!({"ok": true, "channels": channels, "response_metadata": {"next_cursor": ""}}))
        }
        "conversations.invite" | "conversations.join" => {
            ok(json!({"ok": true, "channel": {"id": param("channel"), "created": 1700000000}}))
        }
        _ => refuse("unknown_method"),
    }
}

fn tier3(inner: &mut Inner, method: &'static str, now: Instant) -> Result<(), Duration> {
    inner
        .methods
        .entry(method)
        .or_insert_with(|| Bucket::new(10.0, 50.0 / 60.0))
        .take(now)
}

/// `conversations.history`: top-level messages, newest first, `limit` (default 100) from the
/// offset in `cursor`, bounded by `oldest` / `latest`.
fn history(inner: &Inner, param: &dyn Fn(&str) -> Option<String>) -> Response {
    let Some(channel) = param("channel") else {
        return refuse("channel_not_found");
    };
    let metadata = param("include_all_metadata").is_some_and(|v| v == "true" || v == "1");
    let limit: usize = param("limit").and_then(|l| l.parse().ok()).unwrap_or(100).clamp(1, 999);
    let offset: usize = param("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let oldest: f64 = param("oldest").and_then(|t| t.parse().ok()).unwrap_or(0.0);
    let latest: f64 = param("latest").and_then(|t| t.parse().ok()).unwrap_or(f64::MAX);
    let mut messages: Vec<Value> = inner
        .history
        .get(&channel)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .rev()
        .filter(|(ts, _)| ts.parse::<f64>().is_ok_and(|t| t >= oldest && t <= latest))
        .map(|(ts, body)| {
            let mut message = json!({"type": "message", "ts": ts, "user": "U0BOT", "bot_id": "B0BOT"});
            for key in ["text", "blocks", "attachments"] {
                if let Some(value) = body.get(key) {
                    message[key] = value.clone();
                }
            }
            if let (true, Some(meta)) = (metadata, body.get("metadata")) {
                message["metadata"] = meta.clone();
            }
            message
        })
        .skip(offset)
        .collect();
    let has_more = messages.len() > limit;
    messages.truncate(limit);
    let next = if has_more {
        (offset + limit).to_string()
    } else {
        String::new()
    };
    ok(json!({
        "ok": true, "messages": messages, "has_more": has_more,
        "response_metadata": {"next_cursor": next}
    }))
}

/// Slack's limits on a posted or edited message.
fn check_message(body: &Value) -> Result<(), &'static str> {
    if body
        .get("text")
        .and_then(Value::as_str)
        .is_some_and(|t| t.chars().count() > 40_000)
    {
        return Err("msg_too_long");
    }
    let mut blocks: Vec<&Value> = body
        .get("blocks")
        .and_then(Value::as_array)
        .map(|b| b.iter().collect())
        .unwrap_or_default();
    for attachment in body.get("attachments").and_then(Value::as_array).into_iter().flatten() {
        let inner: Vec<&Value> = attachment
            .get("blocks")
            .and_then(Value::as_array)
            .map(|b| b.iter().collect())
            .unwrap_or_default();
        if inner.len() > 50 {
            return Err("invalid_blocks");
        }
        blocks.extend(inner);
    }
    if body
        .get("blocks")
        .and_then(Value::as_array)
        .is_some_and(|b| b.len() > 50)
    {
        return Err("invalid_blocks");
    }
    let mut total = 0;
    for block in blocks {
        if let Some(text) = block.pointer("/text/text").and_then(Value::as_str) {
            let n = text.chars().count();
            if n > 3000 {
                return Err("invalid_blocks");
            }
            total += n;
        }
        let fields = block
            .get("fields")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if fields.len() > 10 {
            return Err("invalid_blocks");
        }
        for field in fields {
            let n = field
                .get("text")
                .and_then(Value::as_str)
                .map_or(0, |t| t.chars().count());
            if n > 2000 {
                return Err("invalid_blocks");
            }
            total += n;
        }
        for element in block.get("elements").and_then(Value::as_array).into_iter().flatten() {
            total += element
                .get("text")
                .and_then(Value::as_str)
                .map_or(0, |t| t.chars().count());
        }
    }
    if total > 13_000 {
        return Err("msg_blocks_too_long");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_posts_its_burst_then_one_a_second() {
        let start = Instant::now();
        let mut bucket = Bucket::new(3.0, 1.0);
        for _ in 0..3 {
            assert!(bucket.take(start).is_ok());
        }
        let wait = bucket.take(start).unwrap_err();
        assert!(
            wait > Duration::from_millis(990) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(bucket.take(start + Duration::from_millis(500)).is_err());
        assert!(bucket.take(start + Duration::from_millis(1000)).is_ok());
        assert!(bucket.take(start + Duration::from_millis(1100)).is_err());
    }

    #[test]
    fn messages_over_slacks_limits_are_refused() {
        let section = |n: usize| json!({"type": "section", "text": {"type": "mrkdwn", "text": "x".repeat(n)}});
        assert_eq!(check_message(&json!({"blocks": [section(3000)]})), Ok(()));
        assert_eq!(
            check_message(&json!({"blocks": [section(3001)]})),
            Err("invalid_blocks")
        );
        let many: Vec<Value> = (0..51).map(|_| section(1)).collect();
        assert_eq!(
            check_message(&json!({"attachments": [{"blocks": many}]})),
            Err("invalid_blocks")
        );
        let five: Vec<Value> = (0..5).map(|_| section(2900)).collect();
        assert_eq!(check_message(&json!({"blocks": five})), Err("msg_blocks_too_long"));
        let fields: Vec<Value> = (0..11).map(|_| json!({"type": "mrkdwn", "text": "f"})).collect();
        assert_eq!(
            check_message(&json!({"blocks": [{"type": "section", "fields": fields}]})),
            Err("invalid_blocks")
        );
    }
}

#[cfg(test)]
mod http_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use slack_morphism::api::SlackApiConversationsHistoryResponse;

    use super::*;

    /// What the Slack adapter sends and reads back, over HTTP: a post with metadata, the channel's
    /// history with it, and a 429 with `Retry-After` once the channel's burst is spent.
    #[tokio::test]
    async fn posts_come_back_in_history_with_their_metadata_and_bursts_are_limited() {
        let (fake, api) = FakeSlack::start(2.0).await.unwrap();
        let client = reqwest::Client::new();
        let post = |text: &str| {
            client
                .post(format!("{api}/chat.postMessage"))
                .bearer_auth("xoxb-test")
                .json(&json!({
                    "channel": "C1", "text": text,
                    "metadata": {"event_type": "sentinel_message", "event_payload": {"key": text}}
                }))
                .send()
        };
        assert_eq!(post("one").await.unwrap().status(), 200);
        assert_eq!(post("two").await.unwrap().status(), 200);
        let limited = post("three").await.unwrap();
        assert_eq!(limited.status(), 429);
        assert_eq!(limited.headers()["retry-after"], "1");

        let history: Value = client
            .get(format!(
                "{api}/conversations.history?channel=C1&include_all_metadata=true&limit=1"
            ))
            .bearer_auth("xoxb-test")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(history["ok"], true);
        assert_eq!(history["has_more"], true);
        let parsed: SlackApiConversationsHistoryResponse = serde_json::from_value(history).unwrap();
        let newest = &parsed.messages[0];
        assert_eq!(newest.content.text.as_deref(), Some("two"));
        let metadata = newest.content.metadata.as_ref().unwrap();
        assert_eq!(metadata.event_type, "sentinel_message");
        assert_eq!(
            metadata.event_payload.as_ref().unwrap().get("key").map(String::as_str),
            Some("two")
        );
        let record = fake.record();
        assert_eq!(record.posts.len(), 2);
        assert_eq!(record.rate_limited.get("chat.postMessage"), Some(&1));
    }
}
