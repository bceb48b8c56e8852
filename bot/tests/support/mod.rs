//! Helpers shared by the integration tests.

use async_trait::async_trait;
use sentinel_bot::{ChannelRef, Cx, Event, Message, NewEvent, Plugin, PluginError, Space, SpaceKey, Subscriptions};
use serde_json::json;

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
