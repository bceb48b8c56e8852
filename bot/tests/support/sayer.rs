//! `/say <text>` answers the caller privately; a `say` click thanks the clicker: the plugin the
//! inbound-transport tests (Slack Socket Mode, Discord Gateway) drive. Include with `#[path]`.

use async_trait::async_trait;
use sentinel_bot::{CommandSpec, Cx, Event, Message, Plugin, PluginError};

/// The plugin.
pub struct Sayer;

#[async_trait]
impl Plugin for Sayer {
    fn name(&self) -> &'static str {
        "say"
    }

    fn commands(&self) -> Vec<CommandSpec> {
        vec![CommandSpec {
            name: "say".into(),
            description: "Say something".into(),
            subcommands: Vec::new(),
        }]
    }

    fn subscriptions(&self) -> sentinel_bot::Subscriptions {
        sentinel_bot::Subscriptions {
            actions: vec!["say".into()],
            ..Default::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        match event {
            Event::Command(command) => {
                cx.reply_private(&command.origin, Message::reply(format!("Said: {}", command.args)))
                    .await
            }
            Event::Action(action) => {
                let reply = format!("Thanks, {} ({})", action.origin.actor.name, action.value);
                cx.reply_private(&action.origin, Message::reply(reply)).await
            }
            _ => Ok(()),
        }
    }
}
