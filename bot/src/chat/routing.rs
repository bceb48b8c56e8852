//! Which platform channels a logical channel reaches.

use std::collections::BTreeMap;

use crate::config::{ChannelConfig, Config};
use crate::ids::{ChannelRef, Platform};

/// Maps logical channels to (platform, channel id) pairs for the adapters that run.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    console: bool,
    webhook: bool,
    slack: bool,
    discord: bool,
    channels: BTreeMap<String, ChannelConfig>,
}

impl Routing {
    /// Routing for the adapters `config` enables.
    pub fn from_config(config: &Config) -> Self {
        Self {
            console: config.console_enabled(),
            webhook: config.chat.webhook.is_some(),
            slack: config.slack_enabled(),
            discord: config.discord_enabled(),
            channels: config.channels.clone(),
        }
    }

    /// Every destination of `channel`. The console and the generic webhook receive every logical
    /// channel under its own name; Slack and Discord receive the channels mapped for them.
    pub fn destinations(&self, channel: &ChannelRef) -> Vec<(Platform, String)> {
        let mut out = Vec::new();
        if self.console {
            out.push((Platform::Console, channel.0.clone()));
        }
        if self.webhook {
            out.push((Platform::Webhook, channel.0.clone()));
        }
        if let Some(mapped) = self.channels.get(channel.as_str()) {
            if let (true, Some(id)) = (self.slack, &mapped.slack) {
                out.push((Platform::Slack, id.clone()));
            }
            if let (true, Some(id)) = (self.discord, &mapped.discord) {
                out.push((Platform::Discord, id.clone()));
            }
        }
        out
    }

    /// The platforms with a running adapter.
    pub fn platforms(&self) -> Vec<Platform> {
        [
            (self.console, Platform::Console),
            (self.webhook, Platform::Webhook),
            (self.slack, Platform::Slack),
            (self.discord, Platform::Discord),
        ]
        .into_iter()
        .filter_map(|(on, platform)| on.then_some(platform))
        .collect()
    }
}
