//! The plugin: routes commands, buttons and domain events, with the role check in front.

use async_trait::async_trait;
use sentinel_bot::github::{GITHUB_RESPONSE, GitHubResponse};
use sentinel_bot::{CommandSpec, Cx, Event, Message, Origin, Plugin, PluginError, Subscriptions};

use super::auth;
use super::commands::{self, Op};
use super::config::IncidentConfig;
use super::events;
use super::ops::{self, Caller};
use super::tracking;

/// The incident commander.
pub struct IncidentCommander {
    config: IncidentConfig,
}

impl IncidentCommander {
    /// The plugin's name: it keys its config section, timers and handling records.
    pub const NAME: &'static str = "incident_commander";

    /// A commander with `config`.
    pub fn new(config: IncidentConfig) -> Self {
        Self { config }
    }

    /// Checks the caller's role, runs `op`, and answers bad input privately; `typed` is true for a
    /// typed command (its usage line is appended to the answer), false for a button.
    async fn perform(&self, cx: &mut Cx<'_>, origin: &Origin, op: Op, typed: bool) -> Result<(), PluginError> {
        let held = auth::role_of(&self.config.roles, cx.directory(), &origin.actor);
        let needed = op.needs();
        let name = cx.directory().display(&origin.actor);
        if held < needed {
            // Only the sub-command and incident: free text (titles, updates) stays out of the log.
            let what = if typed {
                format!("/{} {}", commands::COMMAND, op.subcommand())
            } else {
                format!("the {} button", op.subcommand())
            };
            let on = op.incident().map(|id| format!(" on {id}")).unwrap_or_default();
            let detail = format!(
                "{name} ({}:{}) tried {what}{on}; needs {needed}, has {held}",
                origin.actor.platform, origin.actor.id
            );
            cx.security_log("unauthorized_command", origin.actor.platform, &detail)
                .await?;
            tracing::info!(actor = %name, op = op.subcommand(), needed = %needed, "refused an incident command");
            let text = auth::refusal(op.describe(), needed, held);
            return cx.reply_private(origin, Message::reply(text)).await;
        }
        let caller = Caller { name, origin };
        let subcommand = op.subcommand();
        match ops::run(cx, &self.config, &caller, op).await {
            // A typed command's usage line helps unless the answer already says what to type.
            Err(PluginError::User(text)) => Err(PluginError::User(
                match typed.then(|| commands::spec().usage_of(subcommand)).flatten() {
                    Some(usage) if !text.contains("/incident ") => format!("{text}\nUsage: {usage}"),
                    _ => text,
                },
            )),
            other => other,
        }
    }
}

#[async_trait]
impl Plugin for IncidentCommander {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn channels(&self) -> Vec<String> {
        vec![self.config.channel.clone()]
    }

    fn commands(&self) -> Vec<CommandSpec> {
        vec![commands::spec()]
    }

    fn subscriptions(&self) -> Subscriptions {
        Subscriptions {
            domain: events::CONSUMED.iter().map(|k| (*k).to_owned()).collect(),
            actions: vec!["incident".to_owned()],
            ..Subscriptions::default()
        }
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        match event {
            Event::Command(command) => match commands::parse(&command.args) {
                Ok(op) => self.perform(cx, &command.origin, op, true).await,
                Err(text) => Err(PluginError::User(text)),
            },
            Event::Action(action) => match commands::parse_action(action) {
                Ok(op) => self.perform(cx, &action.origin, op, false).await,
                Err(text) => Err(PluginError::User(text)),
            },
            Event::Domain(domain) => match GitHubResponse::for_plugin(event, Self::NAME) {
                Some(response) => tracking::on_response(cx, &self.config, &response).await,
                // Another plugin's answer.
                None if domain.kind == GITHUB_RESPONSE => Ok(()),
                None => events::handle(cx, &self.config, domain).await,
            },
            Event::GitHub(_) | Event::Timer(_) | Event::Schedule(_) => Ok(()),
        }
    }
}
