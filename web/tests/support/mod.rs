//! A running Sentinel for the web tests: the real bot with the real plugins on a real database (a
//! SQLite file, or PostgreSQL when `SENTINEL_TEST_ENGINE=postgres`: see `harness::test_db`),
//! a manual clock, the console as its chat (so `/sentinel web`'s private reply can be read back),
//! and the HTTP server with the web routes on 127.0.0.1.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod alerts;
pub mod browser;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sentinel_bot::chat::console::{ConsoleSink, Printed, parse_console_line};
use sentinel_bot::config::ConsoleMode;
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::{Bot, BotOptions, ManualClock, NewEvent};

/// The address links are issued for; tests swap it for the server's real address.
pub const PUBLIC_URL: &str = "http://sentinel.test";

/// The people and roles the tests use: `alice` is a responder, `bob` holds no incident role.
pub const CONFIG: &str = r#"
[http]
listen = "127.0.0.1:0"

[web]
public_url = "http://sentinel.test"
link_ttl = "10m"
session_ttl = "12h"

[people.alice]
github = "alice"

[people.bob]
github = "bob"

[plugins.incident_commander.roles]
responder = ["alice"]
commander = []
admin = []
"#;

/// A running bot with the web page.
pub struct WebBot {
    bot: Option<Bot>,
    /// The manual clock.
    pub clock: ManualClock,
    printed: Arc<Mutex<Vec<Printed>>>,
    typed: u64,
    _db: TestDb,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    public_url: String,
}

impl WebBot {
    /// Starts Sentinel with [`CONFIG`] plus `extra` TOML.
    pub async fn start(extra: &str) -> Self {
        Self::start_with(PUBLIC_URL, extra).await
    }

    /// Starts Sentinel as seen at `public_url`.
    pub async fn start_with_public_url(public_url: &str) -> Self {
        Self::start_with(public_url, "").await
    }

    async fn start_with(public_url: &str, extra: &str) -> Self {
        Self::start_full(public_url, extra, |_, _| Vec::new()).await
    }

    /// Starts Sentinel with [`CONFIG`] plus `extra` TOML and the chat adapters `adapters` builds
    /// from the loaded config (besides the console).
    pub async fn start_with_chat(
        extra: &str,
        adapters: impl FnOnce(&sentinel_bot::config::Config, &ManualClock) -> Vec<Arc<dyn sentinel_bot::chat::ChatAdapter>>,
    ) -> Self {
        Self::start_full(PUBLIC_URL, extra, adapters).await
    }

    async fn start_full(
        public_url: &str,
        extra: &str,
        adapters: impl FnOnce(&sentinel_bot::config::Config, &ManualClock) -> Vec<Arc<dyn sentinel_bot::chat::ChatAdapter>>,
    ) -> Self {
        let db = TestDb::new().await;
        let text = format!("{}\n{extra}", CONFIG.replace(PUBLIC_URL, public_url));
        let table = sentinel_bot::config::load::parse_table(&text, "test").unwrap();
        let mut config = sentinel_bot::config::load::from_table(table).unwrap();
        config.database.url = db.url().to_owned();
        config.chat.console = ConsoleMode::On;
        let clock = ManualClock::new(sentinel_bot::harness::test_start());
        let (sink, printed) = ConsoleSink::memory(false);
        let plugins = sentinel_plugins::build(&config).unwrap();
        let routes = sentinel_web::routes(&config).unwrap().expect("[web] is configured");
        let adapters = adapters(&config, &clock);
        let bot = Bot::start(BotOptions {
            config,
            clock: Arc::new(clock.clone()),
            plugins,
            adapters,
            console: sink,
            serve_http: true,
            routes,
        })
        .await
        .unwrap();
        let addr: SocketAddr = bot.local_addr().expect("serving HTTP");
        let web = Self {
            bot: Some(bot),
            clock,
            printed,
            typed: 0,
            _db: db,
            base: format!("http://{addr}"),
            public_url: public_url.to_owned(),
        };
        web.settle().await;
        web
    }

    /// The bot.
    pub fn bot(&self) -> &Bot {
        self.bot.as_ref().unwrap()
    }

    /// Waits until nothing is due.
    pub async fn settle(&self) {
        self.bot().settle(Duration::from_secs(20)).await.unwrap();
    }

    /// Types `line` at the console as `user` and returns what was printed because of it.
    pub async fn command_as(&mut self, user: &str, line: &str) -> Vec<Printed> {
        self.typed += 1;
        let before = self.printed.lock().unwrap().len();
        let command = parse_console_line(line, user).unwrap();
        let event = NewEvent::command(&format!("web-test:{}", self.typed), &command).unwrap();
        self.bot().ingest().unwrap().submit(event).await.unwrap();
        self.settle().await;
        self.printed.lock().unwrap()[before..].to_vec()
    }

    /// Asks `/sentinel web` as `user` and returns the link from the private reply, pointed at the
    /// test server.
    pub async fn sign_in_link(&mut self, user: &str) -> String {
        let printed = self.command_as(user, "/sentinel web").await;
        let reply = printed
            .iter()
            .find(|p| p.text.contains("/web/signin?token="))
            .unwrap_or_else(|| panic!("no link in {printed:?}"));
        assert!(
            matches!(reply.kind, sentinel_bot::chat::console::PrintedKind::Ephemeral { .. }),
            "the link is sent privately: {reply:?}"
        );
        let start = reply
            .text
            .find(&self.public_url)
            .expect("the link starts with public_url");
        let link: String = reply.text[start..].split_whitespace().next().unwrap().to_owned();
        link.replacen(&self.public_url, &self.base, 1)
    }

    /// Moves the clock and lets what is due run.
    pub async fn advance(&mut self, by: chrono::Duration) {
        self.clock.advance(by);
        self.settle().await;
    }

    /// Security-log rows of `kind`, as `(source, detail)`.
    pub async fn security_log(&self, kind: &str) -> Vec<(String, String)> {
        sqlx::query_as("SELECT source, detail FROM security_log WHERE kind = $1 ORDER BY id")
            .bind(kind)
            .fetch_all(self.bot().pool())
            .await
            .unwrap()
    }

    /// Stops the bot.
    pub async fn stop(mut self) {
        if let Some(bot) = self.bot.take() {
            bot.shutdown(Duration::from_secs(5)).await;
        }
    }
}

/// Uses a sign-in link; the session cookie.
pub async fn sign_in(link: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client.post(link).send().await.unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}
