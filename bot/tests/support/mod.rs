//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sentinel_bot::chat::ChatAdapter;
use sentinel_bot::config::Config;
use sentinel_bot::store::outbox;
use sentinel_bot::{
    Bot, BotOptions, ChannelRef, Cx, Event, ManualClock, Message, NewEvent, Plugin, PluginError, Space, SpaceKey,
    Subscriptions,
};
use serde_json::json;

/// The configuration in `text`.
pub fn load(text: &str) -> Config {
    sentinel_bot::config::load::from_table(sentinel_bot::config::load::parse_table(text, "test").unwrap()).unwrap()
}

/// Starts the bot of `config` with `plugins` and one chat `adapter`, serving `routes` over HTTP,
/// on `clock`.
pub async fn start_bot(
    config: Config,
    clock: &ManualClock,
    plugins: Vec<Arc<dyn Plugin>>,
    adapter: Arc<dyn ChatAdapter>,
    routes: axum::Router<sentinel_bot::http::AppState>,
) -> Bot {
    Bot::start(BotOptions {
        config,
        clock: Arc::new(clock.clone()),
        plugins,
        adapters: vec![adapter],
        console: sentinel_bot::chat::console::ConsoleSink::Stdout,
        serve_http: true,
        routes,
    })
    .await
    .unwrap()
}

/// Moves `clock` on by `by` and waits for what comes due.
pub async fn advance(bot: &Bot, clock: &ManualClock, by: chrono::Duration) {
    clock.advance(by);
    bot.settle(Duration::from_secs(20)).await.unwrap();
}

/// Asserts that every message went out (none pending, none failed), then stops the bot.
pub async fn all_delivered_then_stop(bot: Bot) {
    let mut conn = bot.pool().acquire().await.unwrap();
    let counts = outbox::counts(&mut conn).await.unwrap();
    assert_eq!((counts.pending, counts.failed), (0, 0));
    drop(conn);
    bot.shutdown(Duration::from_secs(5)).await;
}

/// On an `incident` GitHub event `{"n", "slug", "text", "open"}`: opens the space `incident-<n>`
/// (`inc-<n>-<slug>` under #security-incidents, with alice, the responders and the secops group)
/// unless `open` is false, then posts a keyed status message in it and a thread reply under it.
pub struct Opener;

#[async_trait]
impl Plugin for Opener {
    fn name(&self) -> &'static str {
        "opener"
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            github: vec!["incident".into()],
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        let Event::GitHub(delivery) = event else { return Ok(()) };
        let payload = &delivery.payload;
        let n = payload["n"].as_u64().unwrap_or_default();
        let text = payload["text"].as_str().unwrap_or_default();
        let key = format!("incident-{n}");
        let channel = if payload["open"].as_bool() != Some(false) {
            let slug = payload["slug"].as_str().unwrap_or("x");
            let space = Space::new(key.as_str(), format!("inc-{n}-{slug}"), "security-incidents").members([
                "alice",
                "responders",
                "secops",
            ]);
            cx.open_space(space).await?
        } else {
            ChannelRef::space(&SpaceKey::from(key.as_str()))
        };
        cx.send(Message::new(channel.clone(), format!("Status: {text}")).keyed(key.as_str()))
            .await?;
        cx.send(Message::new(channel, format!("Note: {text}")).in_thread(key.as_str()))
            .await
    }
}

/// The `incident` event `delivery` for [`Opener`].
pub fn incident(delivery: &str, n: u64, slug: &str, text: &str, open: bool) -> NewEvent {
    let body = json!({"n": n, "slug": slug, "text": text, "open": open});
    NewEvent::github("incident", delivery, body.to_string())
}
