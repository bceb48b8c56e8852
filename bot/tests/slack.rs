//! The Slack adapter and ingress against a fake Slack on 127.0.0.1: signed slash commands and
//! button clicks go in over real HTTP, and the Web API calls that come out are checked; refusals,
//! rate limits and server errors behave as Slack's documentation says they should.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/platform_limits.rs"]
mod platform_limits;
mod support;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sentinel_bot::chat::Directory;
use sentinel_bot::chat::slack::{CredentialsError, SlackAdapter};
use sentinel_bot::config::Secret;
use sentinel_bot::ingress::slack::sign;
use sentinel_bot::store::outbox;
use sentinel_bot::{
    Bot, BotOptions, Button, ButtonStyle, CommandSpec, Cx, Event, ManualClock, Mention, Message, Plugin, PluginError,
    Severity,
};
use serde_json::{Value, json};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// A scripted failure: the path it applies to, the status and the `Retry-After` header.
type Failure = (String, u16, Option<&'static str>);

/// One request the fake received.
#[derive(Debug, Clone)]
struct Call {
    path: String,
    body: Value,
    auth: Option<String>,
}

/// A fake Slack Web API plus response_url endpoint: records every request, answers from a script
/// of failures (status, Retry-After) before answering normally.
#[derive(Clone, Default)]
struct FakeSlack {
    calls: Arc<Mutex<Vec<Call>>>,
    failures: Arc<Mutex<VecDeque<Failure>>>,
    posted: Arc<Mutex<u32>>,
    /// Channels created: (id, name).
    channels: Arc<Mutex<Vec<(String, String)>>>,
    /// The next conversations.create creates the channel but answers 500, as a lost answer would.
    lose_next_create: Arc<AtomicBool>,
    /// Posts still to be lost: each is posted, then answered with 500.
    lose_posts: Arc<Mutex<u32>>,
    /// Every message posted, as conversations.history returns them (with `channel` added).
    messages: Arc<Mutex<Vec<Value>>>,
}

impl FakeSlack {
    async fn start() -> (Self, String) {
        let fake = FakeSlack::default();
        let app = axum::Router::new().fallback(answer).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (fake, base)
    }

    /// The next request to `path` fails with `status` (and `Retry-After`).
    fn fail_next(&self, path: &str, status: u16, retry_after: Option<&'static str>) {
        self.failures
            .lock()
            .unwrap()
            .push_back((path.into(), status, retry_after));
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The next `n` posts are carried out, but answered with 500 (the answer is lost).
    fn lose_next_posts(&self, n: u32) {
        *self.lose_posts.lock().unwrap() = n;
    }

    /// The messages in `channel` (top-level and replies), oldest first.
    fn messages_in(&self, channel: &str) -> Vec<Value> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m["channel"] == channel)
            .cloned()
            .collect()
    }

    fn calls_to(&self, path: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.path == path).collect()
    }
}

async fn answer(State(fake): State<FakeSlack>, method: Method, uri: Uri, headers: HeaderMap, body: String) -> Response {
    let path = uri.path().to_owned();
    // Methods that read are GETs (arguments in the query); every method that changes something is a POST.
    let reads = [
        "/api/auth.test",
        "/api/conversations.list",
        "/api/conversations.history",
        "/api/conversations.replies",
    ];
    assert!(
        method == Method::POST || reads.contains(&path.as_str()),
        "{method} {path}"
    );
    let body_json = if method == Method::GET {
        let query: std::collections::HashMap<String, String> =
            serde_urlencoded::from_str(uri.query().unwrap_or_default()).unwrap();
        serde_json::to_value(query).unwrap()
    } else {
        serde_json::from_str(&body).unwrap_or(Value::String(body))
    };
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    fake.calls.lock().unwrap().push(Call {
        path: path.clone(),
        body: body_json.clone(),
        auth,
    });
    let failure = {
        let mut failures = fake.failures.lock().unwrap();
        match failures.front() {
            Some((p, _, _)) if *p == path => failures.pop_front(),
            _ => None,
        }
    };
    if let Some((_, status, retry_after)) = failure {
        let mut response = (
            StatusCode::from_u16(status).unwrap(),
            // A 200 that says no is how Slack refuses a token; 429 and 5xx say "later".
            axum::Json(json!({"ok": false, "error": if status == 200 { "invalid_auth" } else { "ratelimited" }})),
        )
            .into_response();
        if let Some(after) = retry_after {
            response.headers_mut().insert("retry-after", after.parse().unwrap());
        }
        return response;
    }
    // A message over one of Slack's documented limits is refused as Slack refuses it.
    let carries_message = ["/api/chat.postMessage", "/api/chat.update", "/api/chat.postEphemeral"]
        .contains(&path.as_str())
        || path.starts_with("/response/");
    if let Some(code) = platform_limits::slack_refusal(&body_json).filter(|_| carries_message) {
        return axum::Json(json!({"ok": false, "error": code.split(' ').next().unwrap()})).into_response();
    }
    let channel = body_json["channel"].as_str().unwrap_or("C0").to_owned();
    let reply = match path.as_str() {
        "/api/auth.test" => json!({
            "ok": true, "user_id": "U0BOT", "team_id": "T0ACME", "user": "sentinel", "team": "Acme",
            "url": "https://acme.slack.com/"
        }),
        "/api/chat.postMessage" => {
            let ts = {
                let mut posted = fake.posted.lock().unwrap();
                *posted += 1;
                format!("1700000000.{:06}", *posted)
            };
            let mut message = json!({"type": "message", "ts": ts, "channel": channel, "text": body_json["text"]});
            for field in ["thread_ts", "metadata", "blocks", "attachments"] {
                if !body_json[field].is_null() {
                    message[field] = body_json[field].clone();
                }
            }
            fake.messages.lock().unwrap().push(message);
            let mut lose = fake.lose_posts.lock().unwrap();
            if *lose > 0 {
                *lose -= 1;
                return (StatusCode::INTERNAL_SERVER_ERROR, "lost after posting").into_response();
            }
            json!({"ok": true, "channel": channel, "ts": ts, "message": {"ts": ts}})
        }
        "/api/conversations.history" | "/api/conversations.replies" => {
            // As Slack documents: history is the channel's top level, newest first; replies is a
            // thread, parent first; metadata only with include_all_metadata=true; `limit` per page.
            let replies = path.ends_with("replies");
            let with_metadata = body_json["include_all_metadata"] == "true";
            let limit: usize = body_json["limit"].as_str().and_then(|l| l.parse().ok()).unwrap_or(100);
            let offset: usize = body_json["cursor"].as_str().and_then(|c| c.parse().ok()).unwrap_or(0);
            let mut found: Vec<Value> = fake
                .messages_in(&channel)
                .into_iter()
                .filter(|m| {
                    if replies {
                        m["ts"] == body_json["ts"] || m["thread_ts"] == body_json["ts"]
                    } else {
                        m["thread_ts"].is_null()
                    }
                })
                .map(|mut m| {
                    if !with_metadata {
                        m.as_object_mut().unwrap().remove("metadata");
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
        "/api/chat.update" => json!({"ok": true, "channel": channel, "ts": body_json["ts"], "message": {}}),
        "/api/chat.postEphemeral" => json!({"ok": true, "message_ts": "1700000000.999999"}),
        "/api/conversations.create" => {
            let name = body_json["name"].as_str().unwrap_or_default().to_owned();
            let mut channels = fake.channels.lock().unwrap();
            if channels.iter().any(|(_, n)| *n == name) {
                return axum::Json(json!({"ok": false, "error": "name_taken"})).into_response();
            }
            let id = match channels.len() {
                0 => "C0NEW".to_owned(),
                n => format!("C0NEW{}", n + 1),
            };
            channels.push((id.clone(), name.clone()));
            if fake.lose_next_create.swap(false, Ordering::SeqCst) {
                return (StatusCode::INTERNAL_SERVER_ERROR, "lost").into_response();
            }
            json!({"ok": true, "channel": {"id": id, "name": name, "created": 1700000000}})
        }
        "/api/conversations.list" => {
            let channels: Vec<Value> = fake
                .channels
                .lock()
                .unwrap()
                .iter()
                .map(|(id, name)| {
                    json!({"id": id, "name": name, "created": 1700000000, "is_channel": true,
                           "is_archived": false, "is_member": true})
                })
                .collect();
            json!({"ok": true, "channels": channels, "response_metadata": {"next_cursor": ""}})
        }
        "/api/conversations.invite" => json!({"ok": true, "channel": {"id": "C0NEW", "created": 1700000000}}),
        p if p.starts_with("/response/") => json!({"ok": true}),
        _ => json!({"ok": false, "error": "unknown_method"}),
    };
    axum::Json(reply).into_response()
}

/// `/say <text>` posts an alert to #security-incidents and tells the caller privately;
/// the alert's Acknowledge button updates the alert, replies in its thread and thanks the clicker.
struct Speaker;

#[async_trait]
impl Plugin for Speaker {
    fn name(&self) -> &'static str {
        "speaker"
    }

    fn commands(&self) -> Vec<CommandSpec> {
        vec![CommandSpec {
            name: "say".into(),
            description: "Post an alert".into(),
            subcommands: Vec::new(),
        }]
    }

    fn subscriptions(&self) -> sentinel_bot::Subscriptions {
        sentinel_bot::Subscriptions {
            actions: vec!["speaker".into()],
            ..Default::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        match event {
            Event::Command(command) => {
                let alert = Message::new("security-incidents", command.args.clone())
                    .title("Leaked key")
                    .severity(Severity::High)
                    .field("Repository", "org/app")
                    .button(Button::action("Acknowledge", "speaker.ack", "42").styled(ButtonStyle::Primary))
                    .mention(Mention::Person("alice".into()))
                    .keyed("alert-42");
                cx.send(alert).await?;
                cx.reply_private(&command.origin, Message::reply(format!("Posted: {}", command.args)))
                    .await
            }
            Event::Action(action) => {
                let by = cx.directory().display(&action.origin.actor);
                cx.send(
                    Message::new("security-incidents", format!("Acknowledged by {by}"))
                        .title("Leaked key")
                        .keyed("alert-42"),
                )
                .await?;
                cx.send(
                    Message::new("security-incidents", format!("{by} is on it ({})", action.value))
                        .in_thread("alert-42"),
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
    fake: FakeSlack,
    fake_url: String,
    url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn config_text(fake_url: &str, db: &std::path::Path) -> String {
    format!(
        "[database]\nurl = \"sqlite://{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[chat]\nconsole = \"off\"\n\
         [slack]\nbot_token = \"xoxb-test-token\"\nsigning_secret = \"{SECRET}\"\napi_url = \"{fake_url}/api\"\npost_interval = \"0s\"\n\
         [outbox]\nretry_base = \"2s\"\nretry_max = \"1m\"\nmax_attempts = 5\n\
         [channels.security-incidents]\nslack = \"C0INC\"\n[people.alice]\nslack = \"U0ALICE\"\n\
         [people.bob]\nslack = \"U0BOB\"\n[groups.responders]\nmembers = [\"bob\"]\n[groups.secops]\nslack = \"S0SEC\"\n",
        db.display()
    )
}

impl Harness {
    async fn start() -> Self {
        let (fake, fake_url) = FakeSlack::start().await;
        let dir = tempfile::tempdir().unwrap();
        let text = config_text(&fake_url, &dir.path().join("sentinel.db"));
        let table = sentinel_bot::config::load::parse_table(&text, "test").unwrap();
        let config = sentinel_bot::config::load::from_table(table).unwrap();
        let clock = ManualClock::new(sentinel_bot::harness::test_start());
        let adapter = SlackAdapter::new(
            &config.slack,
            Arc::new(Directory::from_config(&config)),
            Duration::from_secs(5),
        )
        .unwrap();
        let bot = Bot::start(BotOptions {
            config,
            clock: Arc::new(clock.clone()),
            plugins: vec![Arc::new(Speaker), Arc::new(support::Opener)],
            adapters: vec![Arc::new(adapter)],
            console: sentinel_bot::chat::console::ConsoleSink::Stdout,
            serve_http: true,
            routes: sentinel_bot::ingress::slack::routes(),
        })
        .await
        .unwrap();
        let url = format!("http://{}", bot.local_addr().unwrap());
        Self {
            bot,
            clock,
            fake,
            fake_url,
            url,
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
        self.clock_now().timestamp().to_string()
    }

    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use sentinel_bot::Clock;
        self.clock.now()
    }

    /// POSTs a form body signed at `timestamp` (or with `signature` when given).
    async fn post(&self, path: &str, body: &str, timestamp: &str, signature: Option<&str>) -> (StatusCode, String) {
        let signature = signature
            .map(str::to_owned)
            .unwrap_or_else(|| sign(&Secret::new(SECRET), timestamp, body.as_bytes()));
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", timestamp)
            .header("x-slack-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        let text = response.text().await.unwrap();
        self.settle().await;
        (status, text)
    }

    fn command_form(&self, command: &str, text: &str, trigger: &str) -> String {
        let fields = [
            ("token", "legacy-verification-token"),
            ("team_id", "T0ACME"),
            ("team_domain", "acme"),
            ("channel_id", "C0GENERAL"),
            ("channel_name", "general"),
            ("user_id", "U0ALICE"),
            ("user_name", "alice.s"),
            ("command", command),
            ("text", text),
            ("response_url", &format!("{}/response/{trigger}", self.fake_url)),
            ("trigger_id", trigger),
        ];
        serde_urlencoded::to_string(fields).unwrap()
    }

    fn click_form(&self, action_id: &str, value: &str, trigger: &str) -> String {
        let payload = json!({
            "type": "block_actions",
            "team": {"id": "T0ACME", "domain": "acme"},
            "user": {"id": "U0BOB", "username": "bob", "team_id": "T0ACME"},
            "api_app_id": "A0SENTINEL",
            "token": "legacy",
            "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0INC", "is_ephemeral": false},
            "trigger_id": trigger,
            "channel": {"id": "C0INC", "name": "security-incidents"},
            "response_url": format!("{}/response/{trigger}", self.fake_url),
            "actions": [{
                "type": "button", "action_id": action_id, "block_id": "b1",
                "text": {"type": "plain_text", "text": "Acknowledge"}, "value": value, "action_ts": "1700000001.000000"
            }]
        });
        serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
    }
}

#[tokio::test]
async fn a_slash_command_and_a_button_click_become_the_expected_web_api_calls() {
    let h = Harness::start().await;
    let form = h.command_form("/say", "AWS key in org/app", "111.222.aaa");
    let (status, body) = h.post("/slack/commands", &form, &h.now(), None).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, ""),
        "acknowledged at once, reply follows"
    );

    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 1, "{:?}", h.fake.calls());
    let post = &posts[0];
    assert_eq!(post.auth.as_deref(), Some("Bearer xoxb-test-token"));
    assert_eq!(post.body["channel"], "C0INC");
    assert_eq!(post.body["text"], "🟠 Leaked key: AWS key in org/app\ncc <@U0ALICE>");
    let attachment = &post.body["attachments"][0];
    assert_eq!(attachment["color"], "#F57C00");
    let blocks = attachment["blocks"].as_array().unwrap();
    assert_eq!(
        blocks[0]["text"]["text"],
        "🟠 *Leaked key*\nAWS key in org/app\ncc <@U0ALICE>"
    );
    assert_eq!(blocks[1]["fields"][0]["text"], "*Repository*\norg/app");
    assert_eq!(blocks[2]["elements"][0]["action_id"], "speaker.ack");
    assert_eq!(blocks[2]["elements"][0]["value"], "42");

    let replies = h.fake.calls_to("/response/111.222.aaa");
    assert_eq!(replies.len(), 1, "the private reply goes to the command's response_url");
    assert_eq!(replies[0].body["text"], "Posted: AWS key in org/app");
    assert_eq!(replies[0].auth, None, "response_url needs no token");

    let click = h.click_form("speaker.ack", "42", "333.444.bbb");
    let (status, body) = h.post("/slack/interactions", &click, &h.now(), None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    let updates = h.fake.calls_to("/api/chat.update");
    assert_eq!(updates.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(
        updates[0].body["ts"], "1700000000.000001",
        "the alert is edited in place"
    );
    assert_eq!(updates[0].body["channel"], "C0INC");
    assert_eq!(updates[0].body["text"], "Leaked key: Acknowledged by bob");
    assert_eq!(
        updates[0].body["attachments"],
        json!([]),
        "the old coloured attachment is cleared"
    );
    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 2);
    assert_eq!(
        posts[1].body["thread_ts"], "1700000000.000001",
        "the reply is in the alert's thread"
    );
    assert_eq!(posts[1].body["text"], "bob is on it (42)");
    let thanks = h.fake.calls_to("/response/333.444.bbb");
    assert_eq!(thanks.len(), 1);
    assert_eq!(thanks[0].body["text"], "Thanks!");

    // Slack may deliver the same click twice; the trigger id keeps it to one event.
    h.post("/slack/interactions", &click, &h.now(), None).await;
    assert_eq!(h.fake.calls_to("/api/chat.update").len(), 1);
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn forged_stale_malformed_and_unknown_requests_get_clear_answers() {
    let h = Harness::start().await;
    let form = h.command_form("/say", "hi", "1.1.a");

    let (status, body) = h.post("/slack/commands", &form, &h.now(), Some("v0=deadbeef")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("X-Slack-Signature does not match the body"), "{body}");

    let stale = (h.clock_now().timestamp() - 301).to_string();
    let (status, body) = h.post("/slack/commands", &form, &stale, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("more than 5 minutes"), "{body}");

    let response = h
        .http
        .post(format!("{}/slack/commands", h.url))
        .body(form.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("X-Slack-Signature and X-Slack-Request-Timestamp are required")
    );

    let (status, body) = h.post("/slack/commands", "text=no+command+here", &h.now(), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("not a Slack slash command form"), "{body}");

    let (status, body) = h
        .post("/slack/interactions", "payload=%7Bnot+json", &h.now(), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("interaction payload"), "{body}");

    let unknown = h.command_form("/nope", "x", "1.1.b");
    let (status, body) = h.post("/slack/commands", &unknown, &h.now(), None).await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["response_type"], "ephemeral");
    assert_eq!(
        body["text"],
        "Unknown command `/nope`: no Sentinel plugin handles it. Type `/sentinel help` for the list."
    );

    assert!(h.fake.calls().is_empty(), "nothing reached Slack: {:?}", h.fake.calls());
    let since = h.clock_now() - chrono::Duration::hours(1);
    let mut conn = h.bot.pool().acquire().await.unwrap();
    let logged = sentinel_bot::store::security_log::count_since(&mut conn, None, since)
        .await
        .unwrap();
    assert_eq!(
        logged, 1,
        "one client's refusals within a minute: the first is logged, the rest folded"
    );
    // When the window ends, the folded refusals are written as summary rows that count them all.
    h.clock.advance(chrono::Duration::seconds(61));
    let mut refused = 0;
    for _ in 0..200 {
        refused = sentinel_bot::store::security_log::count_since(&mut conn, None, since)
            .await
            .unwrap();
        if refused == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(refused, 5, "every refusal is counted in the security log");
    drop(conn);
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_429_waits_for_retry_after_and_then_delivers_exactly_once() {
    let h = Harness::start().await;
    h.fake.fail_next("/api/chat.postMessage", 429, Some("30"));
    let form = h.command_form("/say", "slow down", "5.5.a");
    h.post("/slack/commands", &form, &h.now(), None).await;
    assert_eq!(h.fake.calls_to("/api/chat.postMessage").len(), 1);

    h.advance(chrono::Duration::seconds(29)).await;
    assert_eq!(
        h.fake.calls_to("/api/chat.postMessage").len(),
        1,
        "Retry-After: 30 honoured"
    );
    h.advance(chrono::Duration::seconds(1)).await;
    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 2, "retried once, after 30 s");
    assert_eq!(posts[0].body, posts[1].body, "the same message");
    h.advance(chrono::Duration::minutes(10)).await;
    assert_eq!(h.fake.calls_to("/api/chat.postMessage").len(), 2, "and never again");

    let mut conn = h.bot.pool().acquire().await.unwrap();
    let counts = outbox::counts(&mut conn).await.unwrap();
    assert_eq!((counts.pending, counts.failed), (0, 0));
    drop(conn);
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_server_error_is_retried_and_an_expired_response_url_falls_back_to_post_ephemeral() {
    let h = Harness::start().await;
    h.fake.fail_next("/api/chat.postMessage", 500, None);
    let form = h.command_form("/say", "hello", "6.6.a");
    h.fake.fail_next("/response/6.6.a", 404, None);
    h.post("/slack/commands", &form, &h.now(), None).await;
    // The failed post blocks only its own channel; the private reply goes out.
    let ephemeral = h.fake.calls_to("/api/chat.postEphemeral");
    assert_eq!(ephemeral.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(ephemeral[0].body["channel"], "C0GENERAL");
    assert_eq!(ephemeral[0].body["user"], "U0ALICE");
    assert_eq!(ephemeral[0].body["text"], "Posted: hello");

    h.advance(chrono::Duration::seconds(2)).await;
    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 2, "retried after the backoff");
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn start_up_checks_the_token_and_channels_can_be_created_per_incident() {
    let (fake, fake_url) = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(&fake_url, &dir.path().join("db"));
    let config =
        sentinel_bot::config::load::from_table(sentinel_bot::config::load::parse_table(&text, "t").unwrap()).unwrap();
    let adapter = SlackAdapter::new(&config.slack, Arc::new(Directory::default()), Duration::from_secs(5)).unwrap();
    assert_eq!(
        adapter.check_credentials().await,
        Ok("Slack: signed in as sentinel (U0BOT) in workspace Acme".into())
    );
    fake.fail_next("/api/auth.test", 200, None);
    assert_eq!(
        adapter.check_credentials().await,
        Err(CredentialsError::Rejected("invalid_auth".into()))
    );
    fake.fail_next("/api/auth.test", 503, None);
    assert!(matches!(
        adapter.check_credentials().await,
        Err(CredentialsError::Unreachable(_))
    ));

    let channel = adapter
        .create_channel("Incident 42: leaked key", &["U0ALICE".into(), "U0BOB".into()])
        .await
        .unwrap();
    assert_eq!(channel, "C0NEW");
    let created = fake.calls_to("/api/conversations.create");
    assert_eq!(created[0].body["name"], "incident-42--leaked-key");
    let invited = fake.calls_to("/api/conversations.invite");
    assert_eq!(
        invited[0].body,
        json!({"channel": "C0NEW", "users": ["U0ALICE", "U0BOB"]})
    );

    // A bad token is reported without printing it.
    let bad = CredentialsError::Rejected("invalid_auth".into()).to_string();
    assert!(!bad.contains("xoxb"), "{bad}");
}

impl Harness {
    /// Submits `event` as if it had arrived, and waits for the pipeline.
    async fn push(&self, event: sentinel_bot::NewEvent) -> sentinel_bot::pipeline::ingest::Accepted {
        let accepted = self.bot.ingest().unwrap().submit(event).await.unwrap();
        self.settle().await;
        accepted
    }

    fn paths(&self) -> Vec<String> {
        self.fake.calls().into_iter().map(|c| c.path).collect()
    }
}

#[tokio::test]
async fn a_plugin_opens_a_channel_per_incident_invites_responders_and_posts_into_it_once() {
    let h = Harness::start().await;
    h.push(support::incident("d-1", 12, "SQL Injection", "first", true))
        .await;
    assert_eq!(
        h.paths(),
        [
            "/api/conversations.create",
            "/api/conversations.invite",
            "/api/chat.postMessage",
            "/api/chat.postMessage"
        ],
        "the channel exists before anything is posted to it"
    );
    let created = h.fake.calls_to("/api/conversations.create");
    assert_eq!(created[0].body["name"], "inc-12-sql-injection");
    assert_eq!(created[0].body["is_private"], false);
    let invited = h.fake.calls_to("/api/conversations.invite");
    assert_eq!(
        invited[0].body,
        json!({"channel": "C0NEW", "users": ["U0ALICE", "U0BOB"]}),
        "alice, and the responders group by its members; secops has no members listed"
    );
    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts[0].body["channel"], "C0NEW");
    assert_eq!(posts[0].body["text"], "Status: first");
    assert_eq!(posts[1].body["channel"], "C0NEW");
    assert_eq!(posts[1].body["text"], "Note: first");
    assert_eq!(posts[1].body["thread_ts"], "1700000000.000001");

    // A replayed delivery, then a new event for the same incident: no second channel or invite.
    h.push(support::incident("d-1", 12, "SQL Injection", "first", true))
        .await;
    h.push(support::incident("d-2", 12, "SQL Injection", "second", true))
        .await;
    assert_eq!(h.fake.calls_to("/api/conversations.create").len(), 1);
    assert_eq!(h.fake.calls_to("/api/conversations.invite").len(), 1);
    let updates = h.fake.calls_to("/api/chat.update");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].body["channel"], "C0NEW");
    assert_eq!(updates[0].body["ts"], "1700000000.000001");
    assert_eq!(updates[0].body["text"], "Status: second");
    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 3);
    assert_eq!(
        (&posts[2].body["channel"], &posts[2].body["thread_ts"]),
        (&json!("C0NEW"), &json!("1700000000.000001"))
    );

    let mut conn = h.bot.pool().acquire().await.unwrap();
    let counts = outbox::counts(&mut conn).await.unwrap();
    assert_eq!((counts.pending, counts.failed), (0, 0));
    let channel: Option<String> =
        sqlx::query_scalar("SELECT channel_id FROM spaces WHERE platform = 'slack' AND key = 'incident-12'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(channel.as_deref(), Some("C0NEW"));
    drop(conn);
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_lost_answer_to_conversations_create_finds_the_channel_on_the_retry() {
    let h = Harness::start().await;
    h.fake.lose_next_create.store(true, Ordering::SeqCst);
    h.push(support::incident("d-1", 7, "leaked-key", "first", true)).await;
    assert_eq!(
        h.paths(),
        ["/api/conversations.create"],
        "the messages wait for the channel"
    );

    h.advance(chrono::Duration::seconds(2)).await;
    assert_eq!(
        h.paths(),
        [
            "/api/conversations.create",
            "/api/conversations.create",
            "/api/conversations.list",
            "/api/conversations.invite",
            "/api/chat.postMessage",
            "/api/chat.postMessage"
        ]
    );
    assert_eq!(h.fake.channels.lock().unwrap().len(), 1, "one channel");
    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert!(posts.iter().all(|p| p.body["channel"] == "C0NEW"), "{posts:?}");
    let mut conn = h.bot.pool().acquire().await.unwrap();
    let counts = outbox::counts(&mut conn).await.unwrap();
    assert_eq!((counts.pending, counts.failed), (0, 0));
    drop(conn);
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_found_in_the_channel_and_not_posted_again() {
    let h = Harness::start().await;
    // Slack posts the alert, then the answer is lost (500).
    h.fake.lose_next_posts(1);
    let form = h.command_form("/say", "AWS key in org/app", "7.7.a");
    h.post("/slack/commands", &form, &h.now(), None).await;
    assert_eq!(h.fake.messages_in("C0INC").len(), 1, "posted once");
    assert_eq!(
        h.fake.messages_in("C0INC")[0]["metadata"]["event_type"],
        "sentinel_message",
        "tagged with its idempotency key"
    );

    h.advance(chrono::Duration::seconds(2)).await;
    let lookups = h.fake.calls_to("/api/conversations.history");
    assert_eq!(lookups.len(), 1, "looked before posting again: {:?}", h.fake.calls());
    assert_eq!(lookups[0].body["channel"], "C0INC");
    assert_eq!(lookups[0].body["include_all_metadata"], "true");
    assert_eq!(h.fake.calls_to("/api/chat.postMessage").len(), 1, "not posted again");
    assert_eq!(h.fake.messages_in("C0INC").len(), 1);

    // The adopted message is the one later changes edit, and its thread gets the reply once,
    // although that reply's answer is lost as well.
    h.fake.lose_next_posts(1);
    let click = h.click_form("speaker.ack", "42", "7.7.b");
    h.post("/slack/interactions", &click, &h.now(), None).await;
    let updates = h.fake.calls_to("/api/chat.update");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].body["ts"], "1700000000.000001");
    h.advance(chrono::Duration::seconds(2)).await;
    let replies = h.fake.calls_to("/api/conversations.replies");
    assert_eq!(replies.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(replies[0].body["ts"], "1700000000.000001");
    let thread: Vec<Value> = h
        .fake
        .messages_in("C0INC")
        .into_iter()
        .filter(|m| m["thread_ts"] == "1700000000.000001")
        .collect();
    assert_eq!(thread.len(), 1, "one reply in the thread: {thread:?}");

    let mut conn = h.bot.pool().acquire().await.unwrap();
    let counts = outbox::counts(&mut conn).await.unwrap();
    assert_eq!((counts.pending, counts.failed), (0, 0));
    drop(conn);
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_rate_limited_post_is_looked_for_nowhere_and_posted_once_after_retry_after() {
    let h = Harness::start().await;
    // A 429 says Slack did not post: no look-up is needed before the retry.
    h.fake.fail_next("/api/chat.postMessage", 429, Some("3"));
    let form = h.command_form("/say", "hello", "8.8.a");
    h.post("/slack/commands", &form, &h.now(), None).await;
    h.advance(chrono::Duration::seconds(3)).await;
    assert_eq!(h.fake.calls_to("/api/conversations.history").len(), 0);
    assert_eq!(h.fake.messages_in("C0INC").len(), 1);
    h.bot.shutdown(Duration::from_secs(5)).await;
}
