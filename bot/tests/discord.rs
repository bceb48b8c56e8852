//! The Discord adapter and interactions endpoint against a fake Discord on 127.0.0.1: interactions
//! signed with an Ed25519 test key go in over real HTTP, and the REST calls that come out are
//! checked; refusals, rate limits and command registration behave as Discord documents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/platform_limits.rs"]
mod platform_limits;
mod support;

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ed25519_dalek::{Signer, SigningKey};
use sentinel_bot::chat::Directory;
use sentinel_bot::chat::discord::{CredentialsError, DiscordAdapter, commands};
use sentinel_bot::store::outbox;
use sentinel_bot::{
    Bot, BotOptions, Button, ButtonStyle, Clock, CommandSpec, Cx, Event, ManualClock, Mention, Message, Plugin,
    PluginError, Severity, SubcommandSpec,
};
use serde_json::{Value, json};

const API: &str = "/api/v10";
const APP: &str = "900000000000000001";

/// One request the fake received.
#[derive(Debug, Clone)]
struct Call {
    method: Method,
    path: String,
    body: Value,
    auth: Option<String>,
}

/// A fake Discord REST API: records every request; answers from a script of failures first.
#[derive(Clone, Default)]
struct FakeDiscord {
    calls: Arc<Mutex<Vec<Call>>>,
    failures: Arc<Mutex<VecDeque<(String, u16, Value)>>>,
    threads: Arc<Mutex<HashSet<String>>>,
    next_id: Arc<Mutex<u64>>,
    /// Threads started in a channel (not from a message): (id, parent, name).
    channel_threads: Arc<Mutex<Vec<(String, String, String)>>>,
    /// The next thread start succeeds but answers 500, as a lost answer would.
    lose_next_thread: Arc<AtomicBool>,
}

impl FakeDiscord {
    async fn start() -> (Self, String) {
        let fake = FakeDiscord::default();
        *fake.next_id.lock().unwrap() = 500_000_000_000_000_000;
        let app = axum::Router::new().fallback(answer).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (fake, base)
    }

    fn fail_next(&self, path: &str, status: u16, body: Value) {
        self.failures
            .lock()
            .unwrap()
            .push_back((format!("{API}{path}"), status, body));
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn calls_to(&self, method: Method, path: &str) -> Vec<Call> {
        let path = format!("{API}{path}");
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && c.path == path)
            .collect()
    }
}

async fn answer(
    State(fake): State<FakeDiscord>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let path = uri.path().to_owned();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    fake.calls.lock().unwrap().push(Call {
        method: method.clone(),
        path: path.clone(),
        body: body.clone(),
        auth,
    });
    let failure = {
        let mut failures = fake.failures.lock().unwrap();
        match failures.front() {
            Some((p, _, _)) if *p == path => failures.pop_front(),
            _ => None,
        }
    };
    if let Some((_, status, body)) = failure {
        let mut response = (StatusCode::from_u16(status).unwrap(), axum::Json(body.clone())).into_response();
        if let Some(after) = body.get("retry_after").and_then(Value::as_f64) {
            response
                .headers_mut()
                .insert("retry-after", format!("{}", after.ceil()).parse().unwrap());
        }
        return response;
    }
    // A message over one of Discord's documented limits is refused as Discord refuses it.
    let carries_message = matches!(method.as_str(), "POST" | "PATCH")
        && (path.ends_with("/messages")
            || path.contains("/messages/") && !path.ends_with("/threads")
            || path.contains("/webhooks/"));
    if let Some((status, answer)) = platform_limits::discord_refusal(&body).filter(|_| carries_message) {
        return (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response();
    }
    let id = {
        let mut next = fake.next_id.lock().unwrap();
        *next += 1;
        next.to_string()
    };
    let rest = path.strip_prefix(API).unwrap_or(&path);
    let parts: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let message = |id: &str| json!({"id": id, "channel_id": parts.get(1), "content": body["content"]});
    let reply = match (method.as_str(), parts.as_slice()) {
        ("GET", ["users", "@me"]) => json!({"id": "700000000000000007", "username": "sentinel", "bot": true}),
        ("POST", ["users", "@me", "channels"]) => json!({"id": "600000000000000006", "type": 1}),
        ("POST", ["channels", channel, "messages"]) => {
            let known =
                fake.threads.lock().unwrap().contains(*channel) || channel.starts_with('1') || channel.starts_with('6');
            if !known {
                return (
                    StatusCode::NOT_FOUND,
                    axum::Json(json!({"code": 10003, "message": "Unknown Channel"})),
                )
                    .into_response();
            }
            message(&id)
        }
        ("PATCH", ["channels", _, "messages", message_id]) => message(message_id),
        ("POST", ["channels", _, "messages", message_id, "threads"]) => {
            fake.threads.lock().unwrap().insert((*message_id).to_owned());
            json!({"id": message_id, "type": 11, "name": body["name"]})
        }
        ("POST", ["channels", parent, "threads"]) => {
            fake.threads.lock().unwrap().insert(id.clone());
            let name = body["name"].as_str().unwrap_or_default().to_owned();
            fake.channel_threads
                .lock()
                .unwrap()
                .push((id.clone(), (*parent).to_owned(), name));
            if fake.lose_next_thread.swap(false, Ordering::SeqCst) {
                return (StatusCode::INTERNAL_SERVER_ERROR, "lost").into_response();
            }
            json!({"id": id, "type": 11, "name": body["name"]})
        }
        ("GET", ["channels", channel]) => json!({"id": channel, "type": 0, "guild_id": "400000000000000004"}),
        ("GET", ["guilds", _, "threads", "active"]) => {
            let threads: Vec<Value> = fake
                .channel_threads
                .lock()
                .unwrap()
                .iter()
                .map(|(id, parent, name)| json!({"id": id, "type": 11, "parent_id": parent, "name": name}))
                .collect();
            json!({"threads": threads, "members": []})
        }
        ("POST", ["webhooks", _, _]) => message(&id),
        ("PUT", ["applications", _, "commands"]) | ("PUT", ["applications", _, "guilds", _, "commands"]) => {
            body.clone()
        }
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

/// `/incident declare <text>` posts an alert and answers privately; the alert's button edits it,
/// replies in its thread and thanks the clicker.
struct Incidents;

#[async_trait]
impl Plugin for Incidents {
    fn name(&self) -> &'static str {
        "incidents"
    }

    fn commands(&self) -> Vec<CommandSpec> {
        vec![CommandSpec {
            name: "incident".into(),
            description: "Run security incidents".into(),
            subcommands: vec![SubcommandSpec {
                name: "declare".into(),
                usage: "<title…>".into(),
                help: "Declare an incident".into(),
            }],
        }]
    }

    fn subscriptions(&self) -> sentinel_bot::Subscriptions {
        sentinel_bot::Subscriptions {
            actions: vec!["incident".into()],
            ..Default::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        match event {
            Event::Command(command) => {
                let title = command
                    .args
                    .strip_prefix("declare ")
                    .unwrap_or(&command.args)
                    .to_owned();
                let alert = Message::new("security-incidents", "Declared")
                    .title(title.clone())
                    .severity(Severity::Critical)
                    .field("State", "open")
                    .button(Button::action("Acknowledge", "incident.ack", "7").styled(ButtonStyle::Danger))
                    .mention(Mention::Group("responders".into()))
                    .keyed("incident-7");
                cx.send(alert).await?;
                cx.reply_private(&command.origin, Message::reply(format!("Declared: {title}")))
                    .await
            }
            Event::Action(action) => {
                let by = cx.directory().display(&action.origin.actor);
                cx.send(
                    Message::new("security-incidents", format!("Acknowledged by {by}"))
                        .title("Incident 7")
                        .keyed("incident-7"),
                )
                .await?;
                cx.send(
                    Message::new("security-incidents", format!("{by} took #{}", action.value)).in_thread("incident-7"),
                )
                .await?;
                cx.reply_private(&action.origin, Message::reply("Thanks!")).await
            }
            _ => Ok(()),
        }
    }
}

struct Harness {
    bot: Bot,
    clock: ManualClock,
    fake: FakeDiscord,
    url: String,
    key: SigningKey,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn config_text(fake_url: &str, db: &std::path::Path) -> String {
    let public_key = hex::encode(signing_key().verifying_key().to_bytes());
    format!(
        "[database]\nurl = \"sqlite://{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[chat]\nconsole = \"off\"\n\
         [discord]\nbot_token = \"discord-test-token\"\napplication_id = \"{APP}\"\npublic_key = \"{public_key}\"\n\
         api_url = \"{fake_url}\"\n\
         [outbox]\nretry_base = \"2s\"\nretry_max = \"1m\"\nmax_attempts = 5\n\
         [channels.security-incidents]\ndiscord = \"100000000000000010\"\n\
         [groups.responders]\ndiscord = \"300000000000000003\"\n[people.bob]\ndiscord = \"200000000000000002\"\n\
         [people.alice]\ndiscord = \"200000000000000001\"\n",
        db.display()
    )
}

fn load(text: &str) -> sentinel_bot::config::Config {
    sentinel_bot::config::load::from_table(sentinel_bot::config::load::parse_table(text, "test").unwrap()).unwrap()
}

impl Harness {
    async fn start() -> Self {
        let (fake, fake_url) = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let config = load(&config_text(&fake_url, &dir.path().join("sentinel.db")));
        let clock = ManualClock::new(sentinel_bot::harness::test_start());
        let adapter = DiscordAdapter::new(
            &config.discord,
            Arc::new(Directory::from_config(&config)),
            Duration::from_secs(5),
            Arc::new(clock.clone()),
        )
        .unwrap();
        let bot = Bot::start(BotOptions {
            config,
            clock: Arc::new(clock.clone()),
            plugins: vec![Arc::new(Incidents), Arc::new(support::Opener)],
            adapters: vec![Arc::new(adapter)],
            console: sentinel_bot::chat::console::ConsoleSink::Stdout,
            serve_http: true,
            routes: sentinel_bot::ingress::discord::routes(),
        })
        .await
        .unwrap();
        let url = format!("http://{}/discord/interactions", bot.local_addr().unwrap());
        Self {
            bot,
            clock,
            fake,
            url,
            key: signing_key(),
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn settle(&self) {
        self.bot.settle(Duration::from_secs(20)).await.unwrap();
    }

    async fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
        self.settle().await;
    }

    fn now(&self) -> String {
        self.clock.now().timestamp().to_string()
    }

    /// POSTs `body` signed at `timestamp` with `key`, as Discord does.
    async fn send_signed(&self, body: &str, timestamp: &str, key: &SigningKey) -> (StatusCode, Value) {
        let signature = key.sign(format!("{timestamp}{body}").as_bytes());
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-signature-ed25519", hex::encode(signature.to_bytes()))
            .header("x-signature-timestamp", timestamp)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        let json = response.json().await.unwrap_or(Value::Null);
        self.settle().await;
        (status, json)
    }

    async fn send(&self, body: &Value) -> (StatusCode, Value) {
        self.send_signed(&body.to_string(), &self.now(), &self.key).await
    }
}

fn member() -> Value {
    json!({
        "user": {"id": "200000000000000002", "username": "bob", "global_name": "Bob B."},
        "roles": ["300000000000000003"], "nick": null
    })
}

fn slash_command(id: &str, name: &str, options: Value) -> Value {
    json!({
        "id": id, "application_id": APP, "type": 2, "token": format!("token-{id}"), "version": 1,
        "guild_id": "400000000000000004", "channel_id": "100000000000000020", "member": member(),
        "data": {"id": "800000000000000008", "name": name, "type": 1, "options": options}
    })
}

fn button_click(id: &str, custom_id: &str) -> Value {
    json!({
        "id": id, "application_id": APP, "type": 3, "token": format!("token-{id}"), "version": 1,
        "guild_id": "400000000000000004", "channel_id": "100000000000000010", "member": member(),
        "message": {"id": "500000000000000001"},
        "data": {"custom_id": custom_id, "component_type": 2}
    })
}

fn declare(id: &str, title: &str) -> Value {
    slash_command(
        id,
        "incident",
        json!([{"type": 1, "name": "declare", "options": [{"type": 3, "name": "args", "value": title}]}]),
    )
}

#[tokio::test]
async fn a_slash_command_and_a_button_click_become_the_expected_rest_calls() {
    let h = Harness::start().await;
    let (status, body) = h
        .send(&json!({"id": "1", "application_id": APP, "type": 1, "token": "t", "version": 1}))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"type": 1})), "PING → PONG");

    let (status, body) = h.send(&declare("1001", "Leaked AWS key")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&body["type"], &body["data"]["flags"]),
        (&json!(5), &json!(64)),
        "deferred, ephemeral"
    );

    let posts = h.fake.calls_to(Method::POST, "/channels/100000000000000010/messages");
    assert_eq!(posts.len(), 1, "{:?}", h.fake.calls());
    let post = &posts[0];
    assert_eq!(post.auth.as_deref(), Some("Bot discord-test-token"));
    assert_eq!(post.body["content"], "<@&300000000000000003>");
    assert_eq!(post.body["allowed_mentions"]["roles"], json!(["300000000000000003"]));
    assert_eq!(post.body["embeds"][0]["title"], "🔴 Leaked AWS key");
    assert_eq!(post.body["embeds"][0]["color"], 0xD0212E);
    assert_eq!(
        post.body["embeds"][0]["fields"][0],
        json!({"name": "State", "value": "open", "inline": true})
    );
    assert_eq!(
        post.body["components"][0]["components"][0]["custom_id"],
        "incident.ack|7"
    );
    assert_eq!(post.body["enforce_nonce"], true);
    let alert_id = "500000000000000001";

    let followups = h.fake.calls_to(Method::POST, &format!("/webhooks/{APP}/token-1001"));
    assert_eq!(followups.len(), 1, "the private reply is the interaction's follow-up");
    assert_eq!(followups[0].body["content"], "Declared: Leaked AWS key");
    assert_eq!(followups[0].body["flags"], 64);

    let (status, body) = h.send(&button_click("1002", "incident.ack|7")).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"type": 6})),
        "acknowledged without a change"
    );
    let edits = h.fake.calls_to(
        Method::PATCH,
        &format!("/channels/100000000000000010/messages/{alert_id}"),
    );
    assert_eq!(edits.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(edits[0].body["embeds"][0]["description"], "Acknowledged by bob");
    assert_eq!(
        edits[0].body["components"],
        json!([]),
        "the button is gone with the new version"
    );

    // The thread reply: the thread does not exist yet, so it is started from the alert first.
    let threads = h.fake.calls_to(
        Method::POST,
        &format!("/channels/100000000000000010/messages/{alert_id}/threads"),
    );
    assert_eq!(threads.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(threads[0].body["name"], "incident-7");
    let in_thread = h.fake.calls_to(Method::POST, &format!("/channels/{alert_id}/messages"));
    assert_eq!(
        in_thread.len(),
        2,
        "one refused before the thread existed, one delivered"
    );
    assert_eq!(in_thread[1].body["content"], "bob took #7");
    let thanks = h.fake.calls_to(Method::POST, &format!("/webhooks/{APP}/token-1002"));
    assert_eq!(thanks[0].body["content"], "Thanks!");

    // Discord retries an interaction it got no answer for; the interaction id keeps it to one.
    h.send(&button_click("1002", "incident.ack|7")).await;
    assert_eq!(
        h.fake
            .calls_to(
                Method::PATCH,
                &format!("/channels/100000000000000010/messages/{alert_id}")
            )
            .len(),
        1
    );
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn forged_stale_malformed_and_unknown_interactions_get_clear_answers() {
    let h = Harness::start().await;
    let body = declare("2001", "x").to_string();

    let impostor = SigningKey::from_bytes(&[9u8; 32]);
    let (status, answer) = h.send_signed(&body, &h.now(), &impostor).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"], "X-Signature-Ed25519 does not match the body");

    let stale = (h.clock.now().timestamp() - 301).to_string();
    let (status, answer) = h.send_signed(&body, &stale, &h.key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"], "X-Signature-Timestamp is more than 5 minutes from now");

    let response = h.http.post(&h.url).body(body.clone()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);

    let (status, answer) = h.send_signed("{\"type\": \"nope\"}", &h.now(), &h.key).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("not a Discord interaction"),
        "{answer}"
    );

    let (status, answer) = h.send(&slash_command("2002", "nope", json!([]))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["type"], 4);
    assert_eq!(answer["data"]["flags"], 64);
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Unknown command `/nope`: no Sentinel plugin handles it."),
        "{answer}"
    );
    assert!(
        h.fake.calls().is_empty(),
        "nothing reached Discord: {:?}",
        h.fake.calls()
    );
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_429_waits_for_retry_after_and_then_delivers_exactly_once() {
    let h = Harness::start().await;
    h.fake.fail_next(
        "/channels/100000000000000010/messages",
        429,
        json!({"message": "You are being rate limited.", "retry_after": 1.5, "global": false}),
    );
    h.send(&declare("3001", "Slow")).await;
    let path = "/channels/100000000000000010/messages";
    assert_eq!(h.fake.calls_to(Method::POST, path).len(), 1);

    // The outbox's own backoff (2 s) is longer here; the wait is the longer of the two.
    h.advance(chrono::Duration::milliseconds(1500)).await;
    assert_eq!(h.fake.calls_to(Method::POST, path).len(), 1, "not before the backoff");
    h.advance(chrono::Duration::milliseconds(500)).await;
    let posts = h.fake.calls_to(Method::POST, path);
    assert_eq!(posts.len(), 2, "delivered on the retry");
    assert_eq!(
        posts[0].body["nonce"], posts[1].body["nonce"],
        "the same nonce makes a resend harmless"
    );
    h.advance(chrono::Duration::minutes(10)).await;
    assert_eq!(h.fake.calls_to(Method::POST, path).len(), 2, "exactly once");

    let mut conn = h.bot.pool().acquire().await.unwrap();
    let counts = outbox::counts(&mut conn).await.unwrap();
    assert_eq!((counts.pending, counts.failed), (0, 0));
    drop(conn);
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn an_exhausted_bucket_holds_the_next_message_until_it_resets() {
    let (fake, fake_url) = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = load(&config_text(&fake_url, &dir.path().join("db")));
    let clock = ManualClock::new(sentinel_bot::harness::test_start());
    let adapter = DiscordAdapter::new(
        &config.discord,
        Arc::new(Directory::default()),
        Duration::from_secs(5),
        Arc::new(clock.clone()),
    )
    .unwrap();
    // A 429 on the global limit closes every route until it passes.
    fake.fail_next(
        "/users/@me",
        429,
        json!({"message": "You are being rate limited.", "retry_after": 60.0, "global": true}),
    );
    assert!(matches!(
        adapter.check_credentials().await,
        Err(CredentialsError::Unreachable(_))
    ));
    let message = Message::new("c", "hello");
    let delivery = sentinel_bot::chat::Delivery {
        idempotency_key: "k1",
        channel: "100000000000000010",
        target: sentinel_bot::chat::Target::New,
        message: &message,
        in_space: false,
        look_first: false,
    };
    use sentinel_bot::chat::ChatAdapter;
    match adapter.deliver(delivery).await {
        Err(sentinel_bot::chat::DeliveryError::Retry { after, .. }) => {
            assert_eq!(after, Some(Duration::from_secs(60)), "held back without a request");
        }
        other => panic!("expected a retry, got {other:?}"),
    }
    assert_eq!(fake.calls().len(), 1, "only the rate-limited call reached Discord");
    clock.advance(chrono::Duration::seconds(60));
    assert!(adapter.deliver(delivery).await.is_ok());
    assert_eq!(
        adapter.check_credentials().await,
        Ok("Discord: signed in as sentinel (700000000000000007)".into())
    );
}

#[tokio::test]
async fn register_commands_overwrites_every_command_and_a_bad_token_is_reported() {
    let (fake, fake_url) = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = load(&config_text(&fake_url, &dir.path().join("db")));
    let clock = ManualClock::new(sentinel_bot::harness::test_start());
    let adapter = DiscordAdapter::new(
        &config.discord,
        Arc::new(Directory::default()),
        Duration::from_secs(5),
        Arc::new(clock),
    )
    .unwrap();
    let specs = vec![sentinel_bot::builtin::Builtin::spec(), Incidents.commands().remove(0)];
    let count = adapter
        .register_commands(&commands::commands(&specs), Some(400000000000000004))
        .await
        .unwrap();
    assert_eq!(count, 2);
    let put = fake.calls_to(
        Method::PUT,
        &format!("/applications/{APP}/guilds/400000000000000004/commands"),
    );
    assert_eq!(put.len(), 1);
    let names: Vec<&str> = put[0]
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sentinel", "incident"]);
    assert_eq!(put[0].body[1]["options"][0]["name"], "declare");
    assert_eq!(put[0].body[1]["options"][0]["options"][0]["description"], "<title…>");

    adapter
        .register_commands(&commands::commands(&specs), None)
        .await
        .unwrap();
    assert_eq!(
        fake.calls_to(Method::PUT, &format!("/applications/{APP}/commands"))
            .len(),
        1
    );

    fake.fail_next("/users/@me", 401, json!({"message": "401: Unauthorized", "code": 0}));
    let refused = adapter.check_credentials().await.unwrap_err();
    assert_eq!(
        refused,
        CredentialsError::Rejected("HTTP 401: 401: Unauthorized".into())
    );
    assert!(!refused.to_string().contains("discord-test-token"));
}

impl Harness {
    /// Submits `event` as if it had arrived, and waits for the pipeline.
    async fn push(&self, event: sentinel_bot::NewEvent) {
        self.bot.ingest().unwrap().submit(event).await.unwrap();
        self.settle().await;
    }
}

#[tokio::test]
async fn a_plugin_opens_a_thread_per_incident_and_posts_into_it_once() {
    let h = Harness::start().await;
    h.push(support::incident("d-1", 12, "sql-injection", "first", true))
        .await;
    let started = h.fake.calls_to(Method::POST, "/channels/100000000000000010/threads");
    assert_eq!(started.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(started[0].body["name"], "inc-12-sql-injection");
    assert_eq!(started[0].body["type"], 11, "a public thread");
    let thread = h.fake.channel_threads.lock().unwrap()[0].0.clone();

    let posts = h.fake.calls_to(Method::POST, &format!("/channels/{thread}/messages"));
    let contents: Vec<&Value> = posts.iter().map(|p| &p.body["content"]).collect();
    assert_eq!(
        contents,
        [
            "Space for inc-12-sql-injection\ncc <@200000000000000001> <@&300000000000000003>",
            "Status: first",
            "Note: first"
        ],
        "members are mentioned (secops is unknown here), then the messages follow in the thread"
    );
    assert_eq!(
        posts[0].body["allowed_mentions"]["users"],
        json!(["200000000000000001"])
    );
    let status_id = (thread.parse::<u64>().unwrap() + 2).to_string();
    assert_eq!(
        posts[2].body["message_reference"]["message_id"], status_id,
        "a thread reply inside the space replies to its parent in the same thread"
    );

    h.push(support::incident("d-1", 12, "sql-injection", "first", true))
        .await;
    h.push(support::incident("d-2", 12, "sql-injection", "second", true))
        .await;
    assert_eq!(h.fake.channel_threads.lock().unwrap().len(), 1, "nothing opened twice");
    let edits = h
        .fake
        .calls_to(Method::PATCH, &format!("/channels/{thread}/messages/{status_id}"));
    assert_eq!(edits.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(edits[0].body["content"], "Status: second");
    let posts = h.fake.calls_to(Method::POST, &format!("/channels/{thread}/messages"));
    assert_eq!(posts.len(), 4);
    assert_eq!(posts[3].body["content"], "Note: second");
    assert_eq!(posts[3].body["message_reference"]["message_id"], status_id);

    let mut conn = h.bot.pool().acquire().await.unwrap();
    let counts = outbox::counts(&mut conn).await.unwrap();
    assert_eq!((counts.pending, counts.failed), (0, 0));
    drop(conn);
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_retried_thread_start_uses_the_thread_an_earlier_attempt_made() {
    let h = Harness::start().await;
    h.fake.lose_next_thread.store(true, Ordering::SeqCst);
    h.push(support::incident("d-1", 5, "leak", "first", true)).await;
    assert_eq!(
        h.fake
            .calls_to(Method::POST, "/channels/100000000000000010/threads")
            .len(),
        1
    );
    h.advance(chrono::Duration::seconds(2)).await;
    assert_eq!(
        h.fake
            .calls_to(Method::POST, "/channels/100000000000000010/threads")
            .len(),
        1,
        "found among the active threads, not started again"
    );
    assert_eq!(
        h.fake
            .calls_to(Method::GET, "/guilds/400000000000000004/threads/active")
            .len(),
        2,
        "looked before each attempt"
    );
    let thread = h.fake.channel_threads.lock().unwrap()[0].0.clone();
    let posts = h.fake.calls_to(Method::POST, &format!("/channels/{thread}/messages"));
    let contents: Vec<&Value> = posts.iter().map(|p| &p.body["content"]).collect();
    assert_eq!(
        contents,
        [
            "Space for inc-5-leak\ncc <@200000000000000001> <@&300000000000000003>",
            "Status: first",
            "Note: first"
        ]
    );
    h.bot.shutdown(Duration::from_secs(5)).await;
}
