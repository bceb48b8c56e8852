//! A fake Discord REST API (under `<url>/api/v10`) on 127.0.0.1 for tests. It records every request
//! as a [`Call`](super::Call) and answers as Discord documents:
//!
//! - Every route but an interaction's webhook wants `Authorization: Bot …` (401 otherwise).
//! - A message (create, edit, interaction follow-up) over a documented limit gets Discord's
//!   refusal ([`limits::discord_refusal`]: 400 with code 50035, or 50006 for an empty one);
//!   [`FakeDiscord::refuse_over`] makes it stricter (`MAX_EMBED_SIZE_EXCEEDED`).
//! - Ids are snowflakes counted from `500000000000000001`, one per request answered.
//! - A message created with `enforce_nonce` and a nonce already used in its channel is not created
//!   again: the earlier message is returned, as Discord does.
//! - A message to a channel it does not know is `10003 Unknown Channel`: it knows the channels
//!   and users of the tests (ids starting with `1` or `6`) and the threads started through it.
//! - Threads started from a message take the message's id; threads started in a channel are
//!   listed by `GET /guilds/{id}/threads/active`.
//! - `PUT …/commands` answers the commands it was given; `GET /users/@me` the bot.
//!
//! Scripting: [`FakeDiscord::fail_next`] (e.g. [`rate_limited`] or [`error`]) and
//! [`FakeDiscord::lose_next_thread`] / [`FakeDiscord::lose_next_posts`] (carried out, then answered
//! 500 as a lost answer would be).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Recorder, Reply, limits, lock, received, recorded, serve};

/// The path of Discord's API version 10, under the fake's URL.
pub const API: &str = "/api/v10";

/// Discord's error answer: `status` with `{"code": code, "message": message}`.
pub fn error(status: u16, code: u64, message: &str) -> Reply {
    Reply::new(status, json!({"code": code, "message": message}))
}

/// Discord's rate-limit answer: 429 with `retry_after` (seconds) in the body and the header.
pub fn rate_limited(retry_after: f64, global: bool) -> Reply {
    let body = json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": global});
    Reply::new(429, body).header("retry-after", format!("{}", retry_after.ceil()))
}

/// The fake; clones share it.
#[derive(Clone)]
pub struct FakeDiscord {
    /// `http://127.0.0.1:<port>`, the value for `discord.api_url`.
    pub url: String,
    recorder: Recorder,
    state: Arc<Mutex<Guild>>,
}

recorded!(FakeDiscord);

/// What the fake's guild holds.
struct Guild {
    next_id: u64,
    /// Every thread started through the fake.
    threads: HashSet<String>,
    /// Threads started in a channel (not from a message): (id, parent, name).
    channel_threads: Vec<(String, String, String)>,
    lose_next_thread: bool,
    /// Messages created with `enforce_nonce`: (channel, nonce) → message id.
    nonces: HashMap<(String, String), String>,
    /// Messages created in each channel (a nonce's repeat creates none).
    created: HashMap<String, usize>,
    lose_posts: u32,
}

impl FakeDiscord {
    /// Starts it on a free loopback port; it stops with the test's runtime.
    pub async fn start() -> std::io::Result<Self> {
        let mut fake = FakeDiscord {
            url: String::new(),
            recorder: Recorder::default(),
            state: Arc::new(Mutex::new(Guild {
                next_id: 500_000_000_000_000_000,
                threads: HashSet::new(),
                channel_threads: Vec::new(),
                lose_next_thread: false,
                nonces: HashMap::new(),
                created: HashMap::new(),
                lose_posts: 0,
            })),
        };
        let app = axum::Router::new().fallback(answer).with_state(fake.clone());
        fake.url = serve(app).await?;
        Ok(fake)
    }

    /// The next thread started in a channel is started, but answered with 500.
    pub fn lose_next_thread(&self) {
        lock(&self.state).lose_next_thread = true;
    }

    /// The next `n` messages created in a channel are created, but answered with 500 (the answer is
    /// lost).
    pub fn lose_next_posts(&self, n: u32) {
        lock(&self.state).lose_posts = n;
    }

    /// How many messages were created in `channel` (a repeat returned for its nonce is not one).
    pub fn created_in(&self, channel: &str) -> usize {
        lock(&self.state).created.get(channel).copied().unwrap_or(0)
    }

    /// The threads started in a channel: (id, parent, name).
    pub fn channel_threads(&self) -> Vec<(String, String, String)> {
        lock(&self.state).channel_threads.clone()
    }

    /// Answers a request that no script took; `Err` is a refusal with its reason.
    fn respond(&self, method: &Method, path: &str, body: &Value, auth: Option<&str>) -> Result<Reply, (Reply, String)> {
        let not_found = || Ok(error(404, 0, "404: Not Found"));
        let Some(rest) = path.strip_prefix(API) else {
            return not_found();
        };
        let parts: Vec<&str> = rest.trim_matches('/').split('/').collect();
        let webhook = parts.first() == Some(&"webhooks");
        if !webhook && !auth.is_some_and(|a| a.starts_with("Bot ")) {
            return Err((error(401, 0, "401: Unauthorized"), "no bot token".into()));
        }
        if carries_message(method.as_str(), path) {
            let refusal = limits::discord_refusal(body).or_else(|| {
                self.recorder.too_big(body).then(|| {
                    let errors = json!({"embeds": {"_errors": [{"code": "MAX_EMBED_SIZE_EXCEEDED",
                                                                "message": "Embed size exceeds maximum size"}]}});
                    (
                        400,
                        json!({"code": 50035, "message": "Invalid Form Body", "errors": errors}),
                    )
                })
            });
            if let Some((status, answer)) = refusal {
                return Err((Reply::new(status, answer.clone()), answer.to_string()));
            }
        }
        let mut guild = lock(&self.state);
        guild.next_id += 1;
        let id = guild.next_id.to_string();
        let message = |id: &str| json!({"id": id, "channel_id": parts.get(1), "content": body["content"]});
        let reply = match (method.as_str(), parts.as_slice()) {
            ("GET", ["users", "@me"]) => json!({"id": "700000000000000007", "username": "sentinel", "bot": true}),
            ("POST", ["users", "@me", "channels"]) => json!({"id": "600000000000000006", "type": 1}),
            ("POST", ["channels", channel, "messages"]) => {
                let known = guild.threads.contains(*channel) || channel.starts_with(['1', '6']);
                if !known {
                    // Not a refusal of what was sent: the channel (a thread not started yet) is not there.
                    return Ok(error(404, 10003, "Unknown Channel"));
                }
                // "If true and nonce is present, it will be checked for uniqueness in the past few
                // minutes. If another message was created by the same author with the same nonce,
                // that message will be returned and no new message will be created." (The fake's
                // memory lasts as long as the test.)
                let nonce = body["nonce"].as_str().filter(|_| body["enforce_nonce"] == true);
                let key = nonce.map(|n| ((*channel).to_owned(), n.to_owned()));
                if let Some(earlier) = key.as_ref().and_then(|key| guild.nonces.get(key)) {
                    return Ok(Reply::ok(message(&earlier.clone())));
                }
                if let Some(key) = key {
                    guild.nonces.insert(key, id.clone());
                }
                *guild.created.entry((*channel).to_owned()).or_default() += 1;
                if guild.lose_posts > 0 {
                    guild.lose_posts -= 1;
                    return Ok(error(500, 0, "500: Internal Server Error"));
                }
                message(&id)
            }
            ("PATCH", ["channels", _, "messages", message_id]) => message(message_id),
            ("POST", ["channels", _, "messages", message_id, "threads"]) => {
                guild.threads.insert((*message_id).to_owned());
                json!({"id": message_id, "type": 11, "name": body["name"]})
            }
            ("POST", ["channels", parent, "threads"]) => {
                guild.threads.insert(id.clone());
                let name = body["name"].as_str().unwrap_or_default().to_owned();
                guild.channel_threads.push((id.clone(), (*parent).to_owned(), name));
                if std::mem::take(&mut guild.lose_next_thread) {
                    return Ok(error(500, 0, "500: Internal Server Error"));
                }
                json!({"id": id, "type": 11, "name": body["name"]})
            }
            ("GET", ["channels", channel]) => json!({"id": channel, "type": 0, "guild_id": "400000000000000004"}),
            ("GET", ["guilds", _, "threads", "active"]) => {
                let threads: Vec<Value> = guild
                    .channel_threads
                    .iter()
                    .map(|(id, parent, name)| json!({"id": id, "type": 11, "parent_id": parent, "name": name}))
                    .collect();
                json!({"threads": threads, "members": []})
            }
            ("POST", ["webhooks", _, _]) => message(&id),
            ("PUT", ["applications", _, "commands"]) | ("PUT", ["applications", _, "guilds", _, "commands"]) => {
                body.clone()
            }
            _ => return not_found(),
        };
        Ok(Reply::ok(reply))
    }
}

/// True for the requests that carry a message body.
fn carries_message(method: &str, path: &str) -> bool {
    matches!(method, "POST" | "PATCH")
        && (path.ends_with("/messages")
            || path.contains("/messages/") && !path.ends_with("/threads")
            || path.contains("/webhooks/"))
}

async fn answer(
    State(fake): State<FakeDiscord>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let body = serde_json::from_str(&body).unwrap_or(Value::Null);
    let call = received(&method, uri.path(), &headers, body);
    fake.recorder.take(call, |call| {
        fake.respond(&method, &call.path, &call.body, call.auth.as_deref())
    })
}
