//! Outbox delivery over real HTTP on 127.0.0.1: retries with backoff, `Retry-After`, exactly one
//! delivered message, and in-place updates that reach the original message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use sentinel_bot::harness::TestBot;
use sentinel_bot::store::outbox;
use sentinel_bot::{Cx, Event, Message, Plugin, PluginError};

/// A chat endpoint that answers from a script (then 200 with an id) and records every request.
/// Scripted answers: status and an optional `Retry-After`.
type Script = Arc<Mutex<VecDeque<(u16, Option<&'static str>)>>>;

#[derive(Clone, Default)]
struct Sink {
    script: Script,
    requests: Arc<Mutex<Vec<(String, serde_json::Value, u16)>>>,
}

impl Sink {
    async fn start(script: &[(u16, Option<&'static str>)]) -> (Self, String) {
        let sink = Sink::default();
        sink.script.lock().expect("lock").extend(script.iter().copied());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(sink.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (sink, url)
    }

    fn requests(&self) -> Vec<(String, serde_json::Value, u16)> {
        self.requests.lock().expect("lock").clone()
    }
}

async fn receive(State(sink): State<Sink>, headers: HeaderMap, body: String) -> Response {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let (status, retry_after) = sink.script.lock().expect("lock").pop_front().unwrap_or((200, None));
    let n = sink.requests.lock().expect("lock").len();
    sink.requests.lock().expect("lock").push((key, body, status));
    let status = StatusCode::from_u16(status).expect("status");
    let mut response = if status.is_success() {
        axum::Json(serde_json::json!({ "id": format!("msg-{n}") })).into_response()
    } else {
        (status, "try later").into_response()
    };
    if let Some(after) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", after.parse().expect("header"));
    }
    response
}

/// `/say <text>` posts to #security-incidents; `/edit <text>` updates the keyed message.
struct Speaker;

#[async_trait]
impl Plugin for Speaker {
    fn name(&self) -> &'static str {
        "speaker"
    }

    fn commands(&self) -> Vec<sentinel_bot::CommandSpec> {
        ["say", "edit"]
            .into_iter()
            .map(|name| sentinel_bot::CommandSpec {
                name: name.into(),
                description: String::new(),
                subcommands: Vec::new(),
            })
            .collect()
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        let Event::Command(command) = event else { return Ok(()) };
        let message = Message::new("security-incidents", command.args.clone()).keyed("the-alert");
        let message = if command.name == "say" {
            message.keyed(format!("say-{}", command.args))
        } else {
            message
        };
        cx.send(message).await
    }
}

fn config(url: &str) -> String {
    format!("[chat.webhook]\nurl = \"{url}\"\n[outbox]\nretry_base = \"2s\"\nretry_max = \"1m\"\nmax_attempts = 5\n")
}

fn webhook_deliveries(bot: &TestBot) -> Vec<sentinel_bot::chat::console::Printed> {
    bot.all_printed()
}

#[tokio::test]
async fn two_server_errors_then_success_deliver_exactly_one_message_with_one_idempotency_key() {
    let (sink, url) = Sink::start(&[(500, None), (500, None)]).await;
    let mut bot = TestBot::start(&config(&url), || vec![std::sync::Arc::new(Speaker) as Arc<dyn Plugin>])
        .await
        .expect("start");
    bot.command("/say hello").await;
    assert_eq!(sink.requests().len(), 1, "first attempt made at once");

    // Backoff: 2 s after the first failure, 4 s after the second.
    bot.advance(Duration::seconds(1)).await;
    assert_eq!(sink.requests().len(), 1, "no retry before the backoff");
    bot.advance(Duration::seconds(1)).await;
    assert_eq!(sink.requests().len(), 2);
    bot.advance(Duration::seconds(3)).await;
    assert_eq!(sink.requests().len(), 2, "second backoff is 4 s");
    bot.advance(Duration::seconds(1)).await;
    bot.advance(Duration::minutes(10)).await;

    let requests = sink.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(
        requests.iter().filter(|r| r.2 == 200).count(),
        1,
        "exactly one delivered"
    );
    assert!(
        requests.iter().all(|r| r.0 == requests[0].0),
        "one idempotency key for every attempt"
    );
    assert_eq!(requests[2].1["text"], "hello\n");
    assert_eq!(requests[2].1["channel"], "security-incidents");
    let mut conn = bot.bot().pool().acquire().await.expect("conn");
    let counts = outbox::counts(&mut conn).await.expect("counts");
    assert_eq!((counts.pending, counts.failed), (0, 0));
    drop(conn);
    assert_eq!(webhook_deliveries(&bot).len(), 1, "the console got it once too");
    bot.stop().await;
}

#[tokio::test]
async fn a_429_with_retry_after_waits_at_least_that_long() {
    // Backoff alone would retry after 2 s; the platform asks for 30 s.
    let (sink, url) = Sink::start(&[(429, Some("30"))]).await;
    let mut bot = TestBot::start(&config(&url), || vec![Arc::new(Speaker) as Arc<dyn Plugin>])
        .await
        .expect("start");
    bot.command("/say slow down").await;
    bot.advance(Duration::seconds(29)).await;
    assert_eq!(sink.requests().len(), 1, "Retry-After honoured");
    bot.advance(Duration::seconds(1)).await;
    let requests = sink.requests();
    assert_eq!(requests.iter().map(|r| r.2).collect::<Vec<_>>(), [429, 200]);
    bot.stop().await;
}

#[tokio::test]
async fn a_retry_after_of_one_second_is_honoured_when_backoff_is_shorter() {
    let (sink, url) = Sink::start(&[(429, Some("1"))]).await;
    let config = format!("[chat.webhook]\nurl = \"{url}\"\n[outbox]\nretry_base = \"100ms\"\n");
    let mut bot = TestBot::start(&config, || vec![Arc::new(Speaker) as Arc<dyn Plugin>])
        .await
        .expect("start");
    bot.command("/say hi").await;
    bot.advance(Duration::milliseconds(500)).await;
    assert_eq!(sink.requests().len(), 1, "not before Retry-After: 1");
    bot.advance(Duration::milliseconds(500)).await;
    assert_eq!(sink.requests().iter().map(|r| r.2).collect::<Vec<_>>(), [429, 200]);
    bot.stop().await;
}

#[tokio::test]
async fn a_keyed_message_is_updated_in_place_and_a_channel_keeps_its_order() {
    let (sink, url) = Sink::start(&[(503, None)]).await;
    let mut bot = TestBot::start(&config(&url), || vec![Arc::new(Speaker) as Arc<dyn Plugin>])
        .await
        .expect("start");
    bot.command("/edit first version").await; // fails once, retried in 2 s
    bot.command("/edit second version").await; // must wait behind it, then edit it
    assert_eq!(
        sink.requests().len(),
        1,
        "the later message does not overtake the failed one"
    );
    bot.advance(Duration::seconds(2)).await;
    let requests = sink.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests[1].1["target"]["type"], "new");
    assert_eq!(
        requests[2].1["target"],
        serde_json::json!({"type": "update", "message_id": "msg-1"})
    );
    assert_eq!(requests[2].1["text"], "second version\n");
    bot.stop().await;
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_the_message_is_listed_as_failed() {
    let (sink, url) = Sink::start(&[(404, None)]).await;
    let mut bot = TestBot::start(&config(&url), || vec![Arc::new(Speaker) as Arc<dyn Plugin>])
        .await
        .expect("start");
    bot.command("/say into the void").await;
    bot.advance(Duration::hours(1)).await;
    assert_eq!(sink.requests().len(), 1);
    let mut conn = bot.bot().pool().acquire().await.expect("conn");
    let failed = outbox::failed(&mut conn).await.expect("failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].error, "endpoint answered 404 Not Found");
    assert_eq!(failed[0].text, "into the void");
    drop(conn);
    bot.stop().await;
}
