//! Slack Socket Mode against a fake Slack on 127.0.0.1 (`apps.connections.open` over HTTP, the
//! WebSocket, Slack's documented envelopes): commands and clicks are stored before they are
//! acknowledged, a lost acknowledgement does not run a command twice, Slack's refreshes reconnect,
//! and a wrong app-level token says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/sayer.rs"]
mod sayer;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sayer::Sayer;
use sentinel_bot::harness::fakes::slack_socket::{APP_TOKEN, Behaviour, FakeSocketMode};
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::ingress::slack_socket::{OpenError, check_app_token};
use sentinel_bot::{Bot, BotOptions, ManualClock};
use serde_json::{Value, json};

struct Harness {
    bot: Bot,
    fake: FakeSocketMode,
    _db: TestDb,
}

impl Harness {
    async fn start(app_token: &str, connections: usize, script: &[Behaviour]) -> Self {
        let fake = FakeSocketMode::start().await.unwrap();
        fake.script(script);
        let db = TestDb::new().await;
        let text = format!(
            "[database]\nurl = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[chat]\nconsole = \"off\"\n\
             [slack]\nbot_token = \"xoxb-test-token\"\napp_token = \"{app_token}\"\nsocket_connections = {connections}\n\
             api_url = \"{}/api\"\npost_interval = \"0s\"\n",
            db.url(),
            fake.base
        );
        let table = sentinel_bot::config::load::parse_table(&text, "test").unwrap();
        let config = sentinel_bot::config::load::from_table(table).unwrap();
        let adapter = sentinel_bot::chat::slack::SlackAdapter::new(
            &config.slack,
            Arc::new(sentinel_bot::chat::Directory::from_config(&config)),
            Duration::from_secs(5),
        )
        .unwrap();
        let clock = ManualClock::new(sentinel_bot::harness::test_start());
        let bot = Bot::start(BotOptions {
            config,
            clock: Arc::new(clock),
            plugins: vec![Arc::new(Sayer)],
            adapters: vec![Arc::new(adapter)],
            console: sentinel_bot::chat::console::ConsoleSink::Stdout,
            serve_http: true,
            routes: sentinel_bot::http::Routes::new(),
        })
        .await
        .unwrap();
        fake.watch_inbox(bot.pool().clone());
        Self { bot, fake, _db: db }
    }

    /// Waits (up to 10 s) until `done` holds.
    async fn until(&self, what: &str, done: impl Fn(&FakeSocketMode) -> bool) {
        for _ in 0..1000 {
            if done(&self.fake) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what}; violations: {:?}", self.fake.violations());
    }

    async fn settle(&self) {
        self.bot.settle(Duration::from_secs(20)).await.unwrap();
    }

    async fn healthz(&self) -> Value {
        let url = format!("http://{}/healthz", self.bot.local_addr().unwrap());
        reqwest::get(url).await.unwrap().json().await.unwrap()
    }

    async fn stop(self) {
        assert_eq!(self.fake.violations(), Vec::<String>::new());
        self.bot.shutdown(Duration::from_secs(5)).await;
    }
}

/// A slash command envelope as Slack's Socket Mode documentation shows it.
fn slash_command(fake: &FakeSocketMode, envelope_id: &str, command: &str, text: &str, trigger: &str) -> Value {
    json!({
        "payload": {
            "token": "bHKJ2n9AW6Ju3MjciOHfbA1b",
            "team_id": "T0ACME",
            "team_domain": "acme",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": "U0ALICE",
            "user_name": "alice.s",
            "command": command,
            "text": text,
            "api_app_id": "A0SENTINEL",
            "is_enterprise_install": "false",
            "response_url": format!("{}/response/{trigger}", fake.base),
            "trigger_id": trigger
        },
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": true
    })
}

/// A button click (block_actions) envelope.
fn click(fake: &FakeSocketMode, envelope_id: &str, trigger: &str) -> Value {
    json!({
        "payload": {
            "type": "block_actions",
            "team": {"id": "T0ACME", "domain": "acme"},
            "user": {"id": "U0BOB", "username": "bob", "team_id": "T0ACME"},
            "api_app_id": "A0SENTINEL",
            "token": "legacy",
            "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0INC", "is_ephemeral": false},
            "trigger_id": trigger,
            "channel": {"id": "C0INC", "name": "security-incidents"},
            "response_url": format!("{}/response/{trigger}", fake.base),
            "actions": [{
                "type": "button", "action_id": "say.ok", "block_id": "b1",
                "text": {"type": "plain_text", "text": "OK"}, "value": "42", "action_ts": "1700000001.000000"
            }]
        },
        "envelope_id": envelope_id,
        "type": "interactive",
        "accepts_response_payload": false
    })
}

#[tokio::test]
async fn a_command_over_the_socket_is_stored_before_its_ack_and_answered_once() {
    let h = Harness::start(APP_TOKEN, 1, &[]).await;
    h.until("a connection", |f| f.open_connections() == 1).await;

    h.fake
        .deliver(slash_command(&h.fake, "env-1", "/say", "hello", "111.222.aaa"));
    h.until("the ack", |f| f.acks().len() == 1).await;
    let ack = &h.fake.acks()[0];
    assert_eq!(
        ack.frame,
        json!({"envelope_id": "env-1"}),
        "an empty ack: the reply follows"
    );
    assert_eq!(ack.stored_before, 1, "in the inbox before it was acknowledged");
    h.settle().await;
    let replies = h.fake.replies_to("111.222.aaa");
    assert_eq!(replies.len(), 1, "answered once through response_url");
    assert_eq!(replies[0]["text"], "Said: hello");

    // A command no plugin owns is answered in the ack's payload, as the HTTP path answers it.
    h.fake
        .deliver(slash_command(&h.fake, "env-2", "/nope", "", "333.444.bbb"));
    h.until("the second ack", |f| f.acks().len() == 2).await;
    let ack = &h.fake.acks()[1].frame;
    assert_eq!(ack["envelope_id"], "env-2");
    assert_eq!(ack["payload"]["response_type"], "ephemeral");
    assert!(
        ack["payload"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Unknown command `/nope`"),
        "{ack}"
    );

    // A button click over the socket reaches its plugin too.
    h.fake.deliver(click(&h.fake, "env-3", "555.666.ccc"));
    h.until("the click's ack", |f| f.acks().len() == 3).await;
    assert_eq!(h.fake.acks()[2].frame, json!({"envelope_id": "env-3"}));
    assert_eq!(h.fake.acks()[2].stored_before, 1);
    h.settle().await;
    let thanks = h.fake.replies_to("555.666.ccc");
    assert_eq!(thanks.len(), 1);
    assert_eq!(thanks[0]["text"], "Thanks, bob (42)");
    h.stop().await;
}

#[tokio::test]
async fn a_socket_dropped_before_the_ack_gets_the_envelope_again_and_the_command_runs_once() {
    let h = Harness::start(APP_TOKEN, 1, &[Behaviour::LoseFirstAckThenDrop]).await;
    h.until("a connection", |f| f.open_connections() == 1).await;
    h.fake
        .deliver(slash_command(&h.fake, "env-7", "/say", "once", "777.888.ddd"));

    // The first ack is lost with its connection; Slack re-sends the envelope on the next one.
    h.until("the ack on a new connection", |f| f.acks().len() == 1).await;
    assert_eq!(h.fake.lost_acks(), vec![json!({"envelope_id": "env-7"})]);
    assert_eq!(h.fake.deliveries_of("env-7"), vec![1, 2]);
    let ack = &h.fake.acks()[0];
    assert_eq!((ack.connection, &ack.frame), (2, &json!({"envelope_id": "env-7"})));
    assert_eq!(h.fake.opens(), 2, "a fresh URL for the new connection");

    h.settle().await;
    assert_eq!(h.fake.replies_to("777.888.ddd").len(), 1, "the command ran once");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE kind = 'command'")
        .fetch_one(h.bot.pool())
        .await
        .unwrap();
    assert_eq!(stored, 1);
    // The drop was a failure: the supervisor restarted the task after its backoff.
    let health = h.healthz().await;
    assert_eq!(health["tasks"]["slack_socket:0"]["restarts"], 1, "{health}");
    assert_eq!(health["tasks"]["slack_socket:0"]["running"], true, "{health}");
    h.stop().await;
}

#[tokio::test]
async fn a_refresh_requested_disconnect_reconnects_at_once_and_is_no_failure() {
    let h = Harness::start(APP_TOKEN, 1, &[Behaviour::Disconnect("refresh_requested")]).await;
    h.until("the second connection", |f| {
        f.connections() == 2 && f.open_connections() == 1
    })
    .await;
    assert_eq!(h.fake.opens(), 2);
    h.fake.deliver(click(&h.fake, "env-9", "999.000.eee"));
    h.until("the ack", |f| f.acks().len() == 1).await;
    assert_eq!(h.fake.acks()[0].connection, 2);
    h.settle().await;
    assert_eq!(h.fake.replies_to("999.000.eee").len(), 1);
    let health = h.healthz().await;
    assert_eq!(health["tasks"]["slack_socket:0"]["restarts"], 0, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    h.stop().await;
}

#[tokio::test]
async fn several_connections_share_the_envelopes() {
    let h = Harness::start(APP_TOKEN, 2, &[]).await;
    h.until("two connections", |f| f.open_connections() == 2).await;
    let health = h.healthz().await;
    for task in ["slack_socket:0", "slack_socket:1"] {
        assert_eq!(health["tasks"][task]["running"], true, "{health}");
    }
    for n in 0..6 {
        let trigger = format!("{n}.0.fff");
        h.fake.deliver(slash_command(
            &h.fake,
            &format!("env-{n}"),
            "/say",
            &n.to_string(),
            &trigger,
        ));
    }
    h.until("six acks", |f| f.acks().len() == 6).await;
    h.settle().await;
    for n in 0..6 {
        assert_eq!(h.fake.replies_to(&format!("{n}.0.fff")).len(), 1, "command {n}");
    }
    h.stop().await;
}

#[tokio::test]
async fn a_wrong_or_missing_app_token_is_a_clear_error() {
    let fake = FakeSocketMode::start().await.unwrap();
    let config = |token: Option<&str>| {
        let mut config = sentinel_bot::config::SlackConfig {
            api_url: format!("{}/api", fake.base),
            ..Default::default()
        };
        config.app_token = token.map(sentinel_bot::config::Secret::new);
        config
    };
    let timeout = Duration::from_secs(5);
    let wrong = check_app_token(&config(Some("xapp-1-wrong-secret")), timeout).await;
    assert_eq!(wrong, Err(OpenError::Rejected("invalid_auth".into())));
    let message = wrong.unwrap_err().to_string();
    assert!(
        message.contains("slack.app_token") && message.contains("SENTINEL_SLACK_APP_TOKEN"),
        "{message}"
    );
    assert!(!message.contains("wrong-secret"), "the token never prints: {message}");
    let bot_token = check_app_token(&config(Some("xoxb-a-bot-token")), timeout).await;
    assert_eq!(bot_token, Err(OpenError::Rejected("not_allowed_token_type".into())));
    assert!(check_app_token(&config(None), timeout).await.is_err());
    assert_eq!(check_app_token(&config(Some(APP_TOKEN)), timeout).await, Ok(()));

    // A running bot with a wrong token shows the connection down in /healthz, never connected.
    let h = Harness::start("xapp-1-wrong-secret", 1, &[]).await;
    h.until("a refused open", |f| !f.refused_opens().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let health = h.healthz().await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["tasks"]["slack_socket:0"]["running"], false, "{health}");
    assert_eq!(h.fake.connections(), 0);
    h.stop().await;
}

/// The fake itself refuses what Slack refuses: an ack for an envelope it never sent, a field
/// Slack does not know, a payload for an envelope that accepts none.
#[tokio::test]
async fn the_fake_refuses_acks_slack_would_refuse() {
    let fake = FakeSocketMode::start().await.unwrap();
    let bad_acks = [
        json!({"envelope_id": "never-sent"}),
        json!({"envelope_id": "env-c", "response": {}}),
        json!({"envelope_id": "env-c", "payload": {"text": "no"}}),
    ];
    for (n, bad) in bad_acks.iter().enumerate() {
        let (mut ws, _) = tokio_tungstenite::connect_async(fake.issue_url()).await.unwrap();
        let hello: Value = serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
        assert_eq!(hello["type"], "hello");
        fake.deliver(click(&fake, "env-c", &format!("c.{n}")));
        let envelope = ws.next().await.unwrap().unwrap();
        assert!(envelope.to_text().unwrap().contains("env-c"));
        ws.send(tokio_tungstenite::tungstenite::Message::text(bad.to_string()))
            .await
            .unwrap();
        // The fake closes the connection; the envelope stays unacknowledged.
        while let Some(Ok(frame)) = ws.next().await {
            if frame.is_close() {
                break;
            }
        }
        assert_eq!(fake.violations().len(), n + 1, "{:?}", fake.violations());
        assert_eq!(fake.acks().len(), n, "only the proper acks of earlier rounds count");
        // Acknowledge it properly on a fresh connection so the next round starts clean.
        let (mut ws, _) = tokio_tungstenite::connect_async(fake.issue_url()).await.unwrap();
        ws.next().await.unwrap().unwrap(); // hello
        ws.next().await.unwrap().unwrap(); // env-c again
        ws.send(tokio_tungstenite::tungstenite::Message::text(
            json!({"envelope_id": "env-c"}).to_string(),
        ))
        .await
        .unwrap();
        while fake.pending() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        ws.close(None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A ticket is good for one connection only.
    let url = fake.issue_url();
    let (_first, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    if let Ok((mut second, _)) = tokio_tungstenite::connect_async(&url).await {
        assert!(
            second
                .next()
                .await
                .is_none_or(|frame| frame.is_err() || frame.unwrap().is_close())
        );
    }
    assert!(fake.violations().last().unwrap().contains("used ticket"));
}
