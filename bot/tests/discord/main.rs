//! The Discord adapter and interactions endpoint against the harness's fake Discord on
//! 127.0.0.1: interactions signed with an Ed25519 test key go in over real HTTP, and the REST calls
//! that come out are checked; refusals, rate limits and command registration behave as Discord
//! documents.
//!
//! - `interactions`: slash commands and button clicks, and interactions refused at the door;
//! - `delivery`: rate limits on the way out;
//! - `registration`: registering commands and checking the token;
//! - `threads`: a thread per incident.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod delivery;
mod interactions;
mod registration;
mod threads;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::http::StatusCode;
use ed25519_dalek::{Signer, SigningKey};
use sentinel_bot::chat::Directory;
use sentinel_bot::chat::discord::DiscordAdapter;
use sentinel_bot::harness::fakes::discord::FakeDiscord;
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::{
    Bot, Button, ButtonStyle, Clock, CommandSpec, Cx, Event, ManualClock, Mention, Message, Plugin, PluginError,
    Severity, SubcommandSpec,
};
use serde_json::{Value, json};

/// The application id the tests configure.
pub const APP: &str = "900000000000000001";

/// `/incident declare <text>` posts an alert and answers privately; the alert's button edits it,
/// replies in its thread and thanks the clicker.
pub struct Incidents;

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

/// A bot with the Discord adapter, [`Incidents`] and [`support::Opener`], serving the
/// interactions endpoint, on a manual clock, against a fake Discord.
pub struct Harness {
    pub bot: Bot,
    pub clock: ManualClock,
    pub fake: FakeDiscord,
    pub url: String,
    pub key: SigningKey,
    pub http: reqwest::Client,
    _db: TestDb,
}

pub fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

/// A Discord adapter on its own (no bot) for `fake`, on `clock`, with an empty directory.
pub fn lone_adapter(fake: &FakeDiscord, clock: &ManualClock) -> DiscordAdapter {
    let config = support::load(&config_text(&fake.url, "sqlite://unused.db"));
    let directory = Arc::new(Directory::default());
    DiscordAdapter::new(
        &config.discord,
        directory,
        Duration::from_secs(5),
        Arc::new(clock.clone()),
    )
    .unwrap()
}

/// The configuration: Discord at `fake_url`, #security-incidents, alice, bob and the responders.
pub fn config_text(fake_url: &str, db_url: &str) -> String {
    let public_key = hex::encode(signing_key().verifying_key().to_bytes());
    format!(
        "[database]\nurl = \"{db_url}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[chat]\nconsole = \"off\"\n\
         [discord]\nbot_token = \"discord-test-token\"\napplication_id = \"{APP}\"\npublic_key = \"{public_key}\"\n\
         api_url = \"{fake_url}\"\n\
         [outbox]\nretry_base = \"2s\"\nretry_max = \"1m\"\nmax_attempts = 5\n\
         [channels.security-incidents]\ndiscord = \"100000000000000010\"\n\
         [groups.responders]\ndiscord = \"300000000000000003\"\n[people.bob]\ndiscord = \"200000000000000002\"\n\
         [people.alice]\ndiscord = \"200000000000000001\"\n",
    )
}

impl Harness {
    pub async fn start() -> Self {
        let fake = FakeDiscord::start().await.unwrap();
        let db = TestDb::new().await;
        let config = support::load(&config_text(&fake.url, db.url()));
        let clock = ManualClock::new(sentinel_bot::harness::test_start());
        let adapter = DiscordAdapter::new(
            &config.discord,
            Arc::new(Directory::from_config(&config)),
            Duration::from_secs(5),
            Arc::new(clock.clone()),
        )
        .unwrap();
        let plugins: Vec<Arc<dyn Plugin>> = vec![Arc::new(Incidents), Arc::new(support::Opener)];
        let routes = sentinel_bot::ingress::discord::routes();
        let bot = support::start_bot(config, &clock, plugins, Arc::new(adapter), routes).await;
        let url = format!("http://{}/discord/interactions", bot.local_addr().unwrap());
        Self {
            bot,
            clock,
            fake,
            url,
            key: signing_key(),
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
        self.clock.now().timestamp().to_string()
    }

    /// POSTs `body` signed at `timestamp` with `key`, as Discord does.
    pub async fn send_signed(&self, body: &str, timestamp: &str, key: &SigningKey) -> (StatusCode, Value) {
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

    pub async fn send(&self, body: &Value) -> (StatusCode, Value) {
        self.send_signed(&body.to_string(), &self.now(), &self.key).await
    }
}

pub fn member() -> Value {
    json!({
        "user": {"id": "200000000000000002", "username": "bob", "global_name": "Bob B."},
        "roles": ["300000000000000003"], "nick": null
    })
}

pub fn slash_command(id: &str, name: &str, options: Value) -> Value {
    json!({
        "id": id, "application_id": APP, "type": 2, "token": format!("token-{id}"), "version": 1,
        "guild_id": "400000000000000004", "channel_id": "100000000000000020", "member": member(),
        "data": {"id": "800000000000000008", "name": name, "type": 1, "options": options}
    })
}

pub fn button_click(id: &str, custom_id: &str) -> Value {
    json!({
        "id": id, "application_id": APP, "type": 3, "token": format!("token-{id}"), "version": 1,
        "guild_id": "400000000000000004", "channel_id": "100000000000000010", "member": member(),
        "message": {"id": "500000000000000001"},
        "data": {"custom_id": custom_id, "component_type": 2}
    })
}

pub fn declare(id: &str, title: &str) -> Value {
    slash_command(
        id,
        "incident",
        json!([{"type": 1, "name": "declare", "options": [{"type": 3, "name": "args", "value": title}]}]),
    )
}

impl Harness {
    /// Submits `event` as if it had arrived, and waits for the pipeline.
    pub async fn push(&self, event: sentinel_bot::NewEvent) {
        self.bot.ingest().unwrap().submit(event).await.unwrap();
        self.settle().await;
    }
}
