//! A fake Slack Web API (under `<base>/api`) and `response_url` endpoint (`<base>/response/…`) on
//! 127.0.0.1, for the tests and the `storm` bench. It records every request as a
//! [`Call`](super::Call) and answers as Slack documents:
//!
//! - The Web API wants `Authorization: Bearer xox…` (`not_authed`); a method that changes
//!   something is a `POST` (a `GET` of one is refused with 405). A `response_url` needs no token.
//! - A message (`chat.postMessage`, `chat.update`, `chat.postEphemeral`, a `response_url` reply)
//!   over a documented limit gets Slack's refusal ([`limits::slack_refusal`]), HTTP 200 with
//!   `ok: false`; blocks over 13,000 characters get `msg_blocks_too_long`, as Slack does in
//!   practice; [`FakeSlack::refuse_over`] makes it stricter still (`msg_too_long`).
//! - `chat.postMessage` answers `ts` `1700000000.000001`, `…02`, … and keeps the message;
//!   `chat.update` edits a kept one (`message_not_found` otherwise).
//! - `conversations.history` is the channel's top level, newest first; `conversations.replies` a
//!   thread, parent first; `metadata` only with `include_all_metadata=true`; `limit` (default
//!   100) per page, the cursor an offset; `oldest` / `latest` bound the history.
//! - `conversations.create` refuses a taken name (`name_taken`) and answers `C0NEW`, `C0NEW2`, …;
//!   `conversations.list` lists them; `invite`, `join`, `auth.test`, `chat.postEphemeral` answer
//!   plausibly; anything else is `unknown_method`.
//!
//! Scripting: [`FakeSlack::fail_next`] (any answer, e.g. [`rate_limited`] or [`error`]),
//! [`FakeSlack::lose_next_posts`] and [`FakeSlack::lose_next_create`] (carried out, then answered
//! 500 as a lost answer would be). [`FakeSlack::rate_limit`] turns on Slack's rate limits on the
//! wall clock — for the bench, which measures pacing in real time; the tests run on a manual
//! clock and leave them off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Recorder, Reply, limits, lock, received, recorded, serve};

/// Slack's answer for a method it refuses: HTTP 200 with `{"ok": false, "error": code}`.
pub fn error(code: &str) -> Reply {
    Reply::ok(json!({"ok": false, "error": code}))
}

/// Slack's rate-limit answer: HTTP 429, `Retry-After: <seconds>`, `error: ratelimited`.
pub fn rate_limited(retry_after: u64) -> Reply {
    Reply::new(429, json!({"ok": false, "error": "ratelimited"})).header("retry-after", retry_after.to_string())
}

/// A server error (`status` 5xx or any other HTTP failure) with Slack's error body.
pub fn server_error(status: u16) -> Reply {
    Reply::new(status, json!({"ok": false, "error": "fatal_error"}))
}

/// The fake; clones share it.
#[derive(Clone)]
pub struct FakeSlack {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    recorder: Recorder,
    state: Arc<Mutex<Workspace>>,
}

recorded!(FakeSlack);

/// What the fake's workspace holds.
#[derive(Default)]
struct Workspace {
    posted: u64,
    /// Every message posted, oldest first: (channel, message as `conversations.history` shows it).
    messages: Vec<(String, Value)>,
    /// Channels created: (id, name).
    channels: Vec<(String, String)>,
    lose_next_create: bool,
    lose_posts: u32,
    rate_limits: Option<RateLimits>,
}

impl FakeSlack {
    /// Starts it on a free loopback port; it stops with the test's runtime.
    pub async fn start() -> std::io::Result<Self> {
        let mut fake = FakeSlack {
            base: String::new(),
            recorder: Recorder::default(),
            state: Arc::default(),
        };
        let app = axum::Router::new().fallback(answer).with_state(fake.clone());
        fake.base = serve(app).await?;
        Ok(fake)
    }

    /// The value for `slack.api_url`.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.base)
    }

    /// A `response_url` for `trigger`; what is posted there is recorded under `/response/<trigger>`.
    pub fn response_url(&self, trigger: &str) -> String {
        format!("{}/response/{trigger}", self.base)
    }

    /// The next `n` posts are carried out, but answered with 500 (the answer is lost).
    pub fn lose_next_posts(&self, n: u32) {
        lock(&self.state).lose_posts = n;
    }

    /// The next `conversations.create` creates the channel, but answers 500.
    pub fn lose_next_create(&self) {
        lock(&self.state).lose_next_create = true;
    }

    /// Turns on Slack's rate limits, on the wall clock: `chat.postMessage` "1 per second [per
    /// channel]. Short bursts >1 allowed" — a bucket per channel refilled at one a second and
    /// holding `burst`; `chat.update` and `conversations.history` Tier 3 ("50+ per minute",
    /// "sporadic bursts are welcome") — a bucket per method of 50 a minute holding 10. Beyond
    /// them: 429 with `Retry-After` (whole seconds until a token is back). Slack's unpublished
    /// workspace-wide limit is not modelled.
    pub fn rate_limit(&self, burst: f64) {
        lock(&self.state).rate_limits = Some(RateLimits {
            burst: burst.max(1.0),
            channels: HashMap::new(),
            methods: HashMap::new(),
        });
    }

    /// The messages in `channel` (top level and replies), oldest first, as last edited.
    pub fn messages_in(&self, channel: &str) -> Vec<Value> {
        lock(&self.state)
            .messages
            .iter()
            .filter(|(c, _)| c == channel)
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// The channels created: (id, name).
    pub fn channels(&self) -> Vec<(String, String)> {
        lock(&self.state).channels.clone()
    }

    /// Answers a request that no script took; `Err` is a refusal of what was sent (a limit, a
    /// missing token), with its reason; an answer about the workspace (`name_taken`,
    /// `message_not_found`) is not one.
    fn respond(&self, method: &Method, path: &str, body: &Value, auth: Option<&str>) -> Result<Reply, (Reply, String)> {
        let refuse = |code: &str| Err((error(code), code.to_owned()));
        if path.starts_with("/response/") {
            self.check_message(body)?;
            return Ok(Reply::ok(json!({"ok": true})));
        }
        let Some(name) = path.strip_prefix("/api/") else {
            return Ok(Reply::new(404, json!({"ok": false, "error": "not_found"})));
        };
        if !auth.is_some_and(|a| a.starts_with("Bearer xox")) {
            return refuse("not_authed");
        }
        let reads = [
            "auth.test",
            "conversations.list",
            "conversations.history",
            "conversations.replies",
        ];
        if method != Method::POST && !reads.contains(&name) {
            let why = format!("{method} for {name}, which changes something");
            return Err((
                Reply::new(405, json!({"ok": false, "error": "method_not_allowed"})),
                why,
            ));
        }
        if let Some(wait) = self.rate_limited(name, body) {
            return Ok(rate_limited(wait.as_secs_f64().ceil().max(1.0) as u64));
        }
        let param = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut state = lock(&self.state);
        let reply = match name {
            "auth.test" => auth_test(),
            "chat.postMessage" => {
                self.check_message(body)?;
                state.posted += 1;
                let ts = format!("1700000000.{:06}", state.posted);
                let channel = param("channel");
                let mut message = json!({"type": "message", "ts": ts, "user": "U0BOT", "bot_id": "B0BOT"});
                for field in ["text", "thread_ts", "metadata", "blocks", "attachments"] {
                    if let Some(value) = body.get(field) {
                        message[field] = value.clone();
                    }
                }
                state.messages.push((channel.clone(), message));
                if state.lose_posts > 0 {
                    state.lose_posts -= 1;
                    return Ok(server_error(500));
                }
                json!({"ok": true, "channel": channel, "ts": ts, "message": {"ts": ts}})
            }
            "chat.update" => {
                self.check_message(body)?;
                let (channel, ts) = (param("channel"), param("ts"));
                let Some((_, message)) = state.messages.iter_mut().find(|(c, m)| *c == channel && m["ts"] == ts) else {
                    return Ok(error("message_not_found"));
                };
                for field in ["text", "metadata", "blocks", "attachments"] {
                    if let Some(value) = body.get(field) {
                        message[field] = value.clone();
                    }
                }
                json!({"ok": true, "channel": channel, "ts": ts, "message": {}})
            }
            "chat.postEphemeral" => {
                self.check_message(body)?;
                json!({"ok": true, "message_ts": "1700000000.999999"})
            }
            "conversations.history" | "conversations.replies" => history(&state, name, &param),
            "conversations.create" => {
                let name = param("name");
                if state.channels.iter().any(|(_, n)| *n == name) {
                    return Ok(error("name_taken"));
                }
                let id = match state.channels.len() {
                    0 => "C0NEW".to_owned(),
                    n => format!("C0NEW{}", n + 1),
                };
                state.channels.push((id.clone(), name.clone()));
                if std::mem::take(&mut state.lose_next_create) {
                    return Ok(server_error(500));
                }
                json!({"ok": true, "channel": {"id": id, "name": name, "created": 1700000000}})
            }
            "conversations.list" => {
                let channels: Vec<Value> = state
                    .channels
                    .iter()
                    .map(|(id, name)| {
                        json!({"id": id, "name": name, "created": 1700000000, "is_channel": true,
                               "is_archived": false, "is_member": true})
                    })
                    .collect();
                json!({"ok": true, "channels": channels, "response_metadata": {"next_cursor": ""}})
            }
            "conversations.invite" | "conversations.join" => {
                json!({"ok": true, "channel": {"id": param("channel"), "created": 1700000000}})
            }
            _ => return Ok(error("unknown_method")),
        };
        Ok(Reply::ok(reply))
    }

    /// Slack's refusal of a message body, if it gets one.
    fn check_message(&self, body: &Value) -> Result<(), (Reply, String)> {
        let refusal = limits::slack_refusal(body)
            .or_else(|| limits::slack_blocks_too_long(body).then(|| "msg_blocks_too_long".to_owned()))
            .or_else(|| self.recorder.too_big(body).then(|| "msg_too_long".to_owned()));
        match refusal {
            // The code is the first word; the rest says why, for the test's failure message.
            Some(why) => Err((error(why.split(' ').next().unwrap_or_default()), why)),
            None => Ok(()),
        }
    }

    /// How long until `method` may be called again, when rate limits are on and spent.
    fn rate_limited(&self, method: &str, body: &Value) -> Option<Duration> {
        let mut state = lock(&self.state);
        let limits = state.rate_limits.as_mut()?;
        let now = Instant::now();
        let bucket = match method {
            "chat.postMessage" => {
                let channel = body
                    .get("channel")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let burst = limits.burst;
                limits
                    .channels
                    .entry(channel)
                    .or_insert_with(|| Bucket::new(burst, 1.0))
            }
            "chat.update" => limits.methods.entry("chat.update").or_insert_with(Bucket::tier3),
            "conversations.history" => limits
                .methods
                .entry("conversations.history")
                .or_insert_with(Bucket::tier3),
            _ => return None,
        };
        bucket.take(now).err()
    }
}

/// True for the requests that carry a message body.
fn carries_message(_method: &str, path: &str) -> bool {
    ["/api/chat.postMessage", "/api/chat.update", "/api/chat.postEphemeral"].contains(&path)
        || path.starts_with("/response/")
}

/// `conversations.history` or `conversations.replies` (`method`).
fn history(state: &Workspace, method: &str, param: &dyn Fn(&str) -> String) -> Value {
    let replies = method == "conversations.replies";
    let channel = param("channel");
    let thread = param("ts");
    let with_metadata = matches!(param("include_all_metadata").as_str(), "true" | "1");
    let limit: usize = param("limit").parse().unwrap_or(100).clamp(1, 999);
    let offset: usize = param("cursor").parse().unwrap_or(0);
    let oldest: f64 = param("oldest").parse().unwrap_or(0.0);
    let latest: f64 = param("latest").parse().unwrap_or(f64::MAX);
    let ts = |m: &Value| m["ts"].as_str().and_then(|t| t.parse::<f64>().ok()).unwrap_or_default();
    let mut found: Vec<Value> = state
        .messages
        .iter()
        .filter(|(c, _)| *c == channel)
        .map(|(_, m)| m)
        .filter(|m| {
            if replies {
                m["ts"] == thread.as_str() || m["thread_ts"] == thread.as_str()
            } else {
                m["thread_ts"].is_null() && (oldest..=latest).contains(&ts(m))
            }
        })
        .map(|m| {
            let mut m = m.clone();
            if let (false, Some(fields)) = (with_metadata, m.as_object_mut()) {
                fields.remove("metadata");
            }
            m
        })
        .collect();
    if !replies {
        found.reverse();
    }
    let page: Vec<Value> = found.iter().skip(offset).take(limit).cloned().collect();
    let next = if offset + limit < found.len() {
        (offset + limit).to_string()
    } else {
        String::new()
    };
    json!({"ok": true, "messages": page, "has_more": !next.is_empty(),
           "response_metadata": {"next_cursor": next}})
}

async fn answer(State(fake): State<FakeSlack>, method: Method, uri: Uri, headers: HeaderMap, body: String) -> Response {
    let body = parameters(&uri, &body);
    let call = received(&method, uri.path(), &headers, body);
    fake.recorder.take(call, |call| {
        fake.respond(&method, &call.path, &call.body, call.auth.as_deref())
    })
}

/// The request's parameters: a JSON body, or a form, with the query's parameters added.
fn parameters(uri: &Uri, body: &str) -> Value {
    let form = |text: &str| -> serde_json::Map<String, Value> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(text)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    };
    let mut params = match serde_json::from_str::<Value>(body) {
        Ok(json) => json,
        Err(_) if body.is_empty() || body.contains('=') => Value::Object(form(body)),
        Err(_) => Value::String(body.to_owned()),
    };
    if let (Some(query), Some(fields)) = (uri.query(), params.as_object_mut()) {
        fields.extend(form(query));
    }
    params
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

    /// Web API Tier 3: 50 a minute, bursts of 10.
    fn tier3() -> Self {
        Self::new(10.0, 50.0 / 60.0)
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

/// Slack's rate-limit bookkeeping, when turned on.
struct RateLimits {
    burst: f64,
    channels: HashMap<String, Bucket>,
    methods: HashMap<&'static str, Bucket>,
}

/// Slack's `auth.test` answer for the fake's bot (`U0BOT` in workspace Acme).
pub(super) fn auth_test() -> Value {
    json!({
        "ok": true, "user_id": "U0BOT", "team_id": "T0ACME", "user": "sentinel", "team": "Acme",
        "url": "https://acme.slack.com/", "bot_id": "B0BOT"
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

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
    fn blocks_over_13000_characters_are_refused() {
        let section = |n: usize| json!({"type": "section", "text": {"type": "mrkdwn", "text": "x".repeat(n)}});
        let four: Vec<Value> = (0..4).map(|_| section(2900)).collect();
        assert!(!limits::slack_blocks_too_long(&json!({"blocks": four})));
        let five: Vec<Value> = (0..5).map(|_| section(2900)).collect();
        assert!(limits::slack_blocks_too_long(
            &json!({"attachments": [{"blocks": five}]})
        ));
    }

    /// What the Slack adapter sends and reads back, over HTTP: a post with metadata, the channel's
    /// history with it, and a 429 with `Retry-After` once the channel's burst is spent.
    #[tokio::test]
    async fn posts_come_back_in_history_with_their_metadata_and_bursts_are_limited() {
        let fake = FakeSlack::start().await.unwrap();
        fake.rate_limit(2.0);
        let api = fake.api_url();
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

        let history = |query: &str| {
            client
                .get(format!("{api}/conversations.history?channel=C1&limit=1{query}"))
                .bearer_auth("xoxb-test")
                .send()
        };
        let page: Value = history("&include_all_metadata=true")
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["ok"], true);
        assert_eq!(page["has_more"], true);
        let parsed: slack_morphism::api::SlackApiConversationsHistoryResponse = serde_json::from_value(page).unwrap();
        let newest = &parsed.messages[0];
        assert_eq!(newest.content.text.as_deref(), Some("two"));
        let metadata = newest.content.metadata.as_ref().unwrap();
        assert_eq!(metadata.event_type, "sentinel_message");
        let plain: Value = history("").await.unwrap().json().await.unwrap();
        assert_eq!(
            plain["messages"][0]["metadata"],
            Value::Null,
            "metadata only when asked for"
        );
        assert_eq!(fake.accepted_messages().len(), 2);
        assert_eq!(fake.calls_to("chat.postMessage")[2].status, 429);

        let unsigned = client.post(format!("{api}/chat.postMessage")).send().await.unwrap();
        assert_eq!(unsigned.json::<Value>().await.unwrap()["error"], "not_authed");
    }
}
