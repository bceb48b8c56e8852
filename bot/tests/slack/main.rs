//! The Slack adapter and ingress against the harness's fake Slack on 127.0.0.1: signed slash
//! commands and button clicks go in over real HTTP, and the Web API calls that come out are
//! checked; refusals, rate limits and server errors behave as Slack's documentation says they
//! should.
//!
//! - `commands`: slash commands and button clicks, and requests refused at the door;
//! - `delivery`: rate limits, server errors and lost answers on the way out;
//! - `channels`: the token check and a channel per incident.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod channels;
mod commands;
mod delivery;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::StatusCode;
use sentinel_bot::chat::Directory;
use sentinel_bot::chat::slack::SlackAdapter;
use sentinel_bot::config::Secret;
use sentinel_bot::harness::fakes::slack::FakeSlack;
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::ingress::slack::sign;
use sentinel_bot::{
    Bot, Button, ButtonStyle, CommandSpec, Cx, Event, ManualClock, Mention, Message, Plugin, PluginError, Severity,
};
use serde_json::json;

/// The signing secret the tests configure.
pub const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// `/say <text>` posts an alert to #security-incidents and tells the caller privately;
/// the alert's Acknowledge button updates the alert, replies in its thread and thanks the clicker.
pub struct Speaker;

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

/// A bot with the Slack adapter, [`Speaker`] and [`support::Opener`], serving Slack's HTTP
/// endpoints, on a manual clock, against a fake Slack.
pub struct Harness {
    pub bot: Bot,
    pub clock: ManualClock,
    pub fake: FakeSlack,
    pub url: String,
    pub http: reqwest::Client,
    _db: TestDb,
}

/// The configuration: Slack at `api_url`, #security-incidents, alice, bob and two groups.
pub fn config_text(api_url: &str, db_url: &str) -> String {
    format!(
        "[database]\nurl = \"{db_url}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[chat]\nconsole = \"off\"\n\
         [slack]\nbot_token = \"xoxb-test-token\"\nsigning_secret = \"{SECRET}\"\napi_url = \"{api_url}\"\npost_interval = \"0s\"\n\
         [outbox]\nretry_base = \"2s\"\nretry_max = \"1m\"\nmax_attempts = 5\n\
         [channels.security-incidents]\nslack = \"C0INC\"\n[people.alice]\nslack = \"U0ALICE\"\n\
         [people.bob]\nslack = \"U0BOB\"\n[groups.responders]\nmembers = [\"bob\"]\n[groups.secops]\nslack = \"S0SEC\"\n",
    )
}

impl Harness {
    pub async fn start() -> Self {
        let fake = FakeSlack::start().await.unwrap();
        let db = TestDb::new().await;
        let config = support::load(&config_text(&fake.api_url(), db.url()));
        let clock = ManualClock::new(sentinel_bot::harness::test_start());
        let adapter = SlackAdapter::new(
            &config.slack,
            Arc::new(Directory::from_config(&config)),
            Duration::from_secs(5),
        )
        .unwrap();
        let plugins: Vec<Arc<dyn Plugin>> = vec![Arc::new(Speaker), Arc::new(support::Opener)];
        let routes = sentinel_bot::ingress::slack::routes();
        let bot = support::start_bot(config, &clock, plugins, Arc::new(adapter), routes).await;
        let url = format!("http://{}", bot.local_addr().unwrap());
        Self {
            bot,
            clock,
            fake,
            url,
            http: reqwest::Client::new(),
            _db: db,
        }
    }

    pub async fn settle(&self) {
        self.bot.settle(Duration::from_secs(20)).await.unwrap();
    }

    pub async fn advance(&self, by: chrono::Duration) {
        support::advance(&self.bot, &self.clock, by).await;
    }

    pub fn now(&self) -> String {
        self.clock_now().timestamp().to_string()
    }

    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use sentinel_bot::Clock;
        self.clock.now()
    }

    /// POSTs a form body signed at `timestamp` (or with `signature` when given).
    pub async fn post(&self, path: &str, body: &str, timestamp: &str, signature: Option<&str>) -> (StatusCode, String) {
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

    pub fn command_form(&self, command: &str, text: &str, trigger: &str) -> String {
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
            ("response_url", &self.fake.response_url(trigger)),
            ("trigger_id", trigger),
        ];
        serde_urlencoded::to_string(fields).unwrap()
    }

    pub fn click_form(&self, action_id: &str, value: &str, trigger: &str) -> String {
        let payload = json!({
            "type": "block_actions",
            "team": {"id": "T0ACME", "domain": "acme"},
            "user": {"id": "U0BOB", "username": "bob", "team_id": "T0ACME"},
            "api_app_id": "A0SENTINEL",
            "token": "legacy",
            "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0INC", "is_ephemeral": false},
            "trigger_id": trigger,
            "channel": {"id": "C0INC", "name": "security-incidents"},
            "response_url": self.fake.response_url(trigger),
            "actions": [{
                "type": "button", "action_id": action_id, "block_id": "b1",
                "text": {"type": "plain_text", "text": "Acknowledge"}, "value": value, "action_ts": "1700000001.000000"
            }]
        });
        serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
    }
}

impl Harness {
    /// Submits `event` as if it had arrived, and waits for the pipeline.
    pub async fn push(&self, event: sentinel_bot::NewEvent) -> sentinel_bot::pipeline::ingest::Accepted {
        let accepted = self.bot.ingest().unwrap().submit(event).await.unwrap();
        self.settle().await;
        accepted
    }

    pub fn paths(&self) -> Vec<String> {
        self.fake.calls().into_iter().map(|c| c.path).collect()
    }
}
