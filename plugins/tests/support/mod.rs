//! What the plugin test binaries share, written once: reading a configuration, starting a bot that
//! runs one plugin built the way `sentinel run` builds it, the real GitHub fixtures, the core's
//! `[github]` settings for a fake GitHub API, pushing domain events and button clicks as they arrive
//! from elsewhere, and reading what the bot printed and emitted.
//!
//! A flat test file includes it with `mod support;`, a test folder's `main.rs` with
//! `#[path = "../support/mod.rs"] mod support;`.

// Each test binary uses only part of this module.
#![allow(dead_code)]

use std::sync::Arc;

use sentinel_bot::chat::console::{Printed, PrintedKind};
use sentinel_bot::config::Config;
use sentinel_bot::harness::TestBot;
use sentinel_bot::harness::fakes::github::FakeGitHub;
use sentinel_bot::{Action, Actor, DedupKey, DomainEvent, NewEvent, Origin, Platform, Plugin};
use sentinel_plugins::PluginFactory;
use serde_json::Value;

/// The configuration `text` (TOML) describes.
pub fn config(text: &str) -> Config {
    let table = sentinel_bot::config::load::parse_table(text, "test").unwrap();
    sentinel_bot::config::load::from_table(table).unwrap()
}

/// What builds plugin `P` alone from `text` through the registry, as [`TestBot`] wants it (called
/// again on a restart), so what a bot shows is `P`'s doing and not another plugin's reaction to its
/// events.
pub fn alone<P: PluginFactory>(text: &str) -> impl Fn() -> Vec<Arc<dyn Plugin>> + Send + Sync + 'static {
    let config = config(text);
    move || {
        let plugin = sentinel_plugins::registry::build_one::<P>(&config).unwrap_or_else(|e| panic!("{e:?}"));
        vec![plugin.expect("the plugin is enabled")]
    }
}

/// A bot on a fresh database running plugin `P` alone, configured by `text`.
pub async fn start_alone<P: PluginFactory>(text: &str) -> TestBot {
    TestBot::start(text, alone::<P>(text)).await.unwrap()
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/github/");

/// The text of the real GitHub payload `tests/fixtures/github/<file>`.
pub fn fixture_text(file: &str) -> String {
    let path = format!("{FIXTURES}{file}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The real GitHub payload `tests/fixtures/github/<file>`.
pub fn fixture(file: &str) -> Value {
    serde_json::from_str(&fixture_text(file)).unwrap_or_else(|e| panic!("parse {file}: {e}"))
}

/// The core's `[github]` section pointing at `fake`: two attempts, 1 s then 2 s apart.
pub fn github_section(fake: &FakeGitHub) -> String {
    format!(
        "[github]\ntoken = \"ghp_test\"\napi_url = \"{}\"\nmax_attempts = 2\nretry_base = \"1s\"\nretry_max = \"2s\"\n",
        fake.url
    )
}

/// Domain event `kind` as another plugin's committed transaction leaves it in the inbox.
pub fn domain_event(dedup: String, kind: &str, payload: Value) -> NewEvent {
    let event = DomainEvent {
        kind: kind.to_owned(),
        payload,
    };
    NewEvent {
        dedup_key: DedupKey(dedup),
        kind: "domain",
        name: kind.to_owned(),
        owner: None,
        payload: serde_json::to_string(&event).unwrap(),
    }
}

/// The payloads of the domain events of `kind` emitted so far, in order.
pub async fn emitted(bot: &TestBot, kind: &str) -> Vec<Value> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM inbox WHERE kind = 'domain' AND name = $1 ORDER BY id")
            .bind(kind)
            .fetch_all(bot.bot().pool())
            .await
            .unwrap();
    rows.iter()
        .map(|r| serde_json::from_str::<DomainEvent>(r).unwrap().payload)
        .collect()
}

/// Console user `user` clicking the button `id` with `value` in `channel`.
pub fn click(dedup: &str, user: &str, channel: &str, id: &str, value: &str) -> NewEvent {
    let action = Action {
        id: id.to_owned(),
        value: value.to_owned(),
        origin: Origin {
            actor: Actor {
                platform: Platform::Console,
                id: user.to_owned(),
                name: user.to_owned(),
                groups: Vec::new(),
            },
            channel: channel.to_owned(),
            response_url: None,
        },
    };
    NewEvent::action(dedup, &action).unwrap()
}

/// What only the caller saw.
pub fn private(printed: &[Printed]) -> Vec<String> {
    printed
        .iter()
        .filter(|p| matches!(p.kind, PrintedKind::Ephemeral { .. }))
        .map(|p| p.message.text.clone())
        .collect()
}

/// The message texts of `printed`, in order.
pub fn texts(printed: &[Printed]) -> Vec<String> {
    printed.iter().map(|p| p.message.text.clone()).collect()
}
