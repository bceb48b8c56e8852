//! The core's own plugin: `/sentinel help` lists every plugin's commands, `/sentinel status` reports
//! the bot's health, `/sentinel web` sends a private sign-in link to the web status page (when
//! `[web]` is configured), and a command no plugin owns gets a reply saying so.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use clap::{CommandFactory, Parser};

use crate::cx::Cx;
use crate::event::{Actor, Command, Event};
use crate::message::Message;
use crate::plugin::{CommandSpec, Plugin, PluginError, parse_args};
use crate::store::{inbox, outbox, timers};

/// Sentinel itself.
#[derive(Debug, Parser)]
#[command(
    name = "sentinel",
    no_binary_name = false,
    disable_help_subcommand = true,
    disable_help_flag = true
)]
enum SentinelCommand {
    /// List every command with its help.
    Help,
    /// Show the bot's health: backlogs, dead events, the next timer.
    Status,
    /// Get a private, single-use sign-in link to the web status page.
    Web,
}

/// The built-in plugin.
pub struct Builtin {
    specs: Arc<OnceLock<Vec<CommandSpec>>>,
}

impl Builtin {
    /// The plugin, and the slot the bot fills with every plugin's command specs once all are registered.
    pub fn new() -> (Self, Arc<OnceLock<Vec<CommandSpec>>>) {
        let specs = Arc::new(OnceLock::new());
        (Self { specs: specs.clone() }, specs)
    }

    /// The spec of `/sentinel`.
    pub fn spec() -> CommandSpec {
        CommandSpec::from_clap(crate::pipeline::router::BUILTIN, &SentinelCommand::command())
    }

    fn help(&self) -> String {
        let mut out = String::from("Commands:\n");
        for spec in self.specs.get().map(Vec::as_slice).unwrap_or_default() {
            out.push_str(&spec.help_text());
        }
        out
    }

    async fn status(&self, cx: &mut Cx<'_>) -> Result<String, PluginError> {
        let now = cx.now();
        let inbox = inbox::counts(cx.db()).await?;
        let outbox = outbox::counts(cx.db()).await?;
        let pending_timers = timers::count(cx.db()).await?;
        let next = timers::earliest(cx.db()).await?;
        let next = match next {
            Some(at) => format!("{} (in {})", at.format("%Y-%m-%d %H:%M:%S UTC"), describe(at - now)),
            None => "none".to_owned(),
        };
        // This very command is still pending while it runs; don't count it.
        let backlog = (inbox.pending - 1).max(0);
        let verdict = if inbox.dead > 0 || outbox.failed > 0 {
            "degraded"
        } else {
            "healthy"
        };
        let mut text = format!(
            "Sentinel is {verdict}.\n  Inbox backlog: {backlog}\n  Dead events: {}\n  Outbox backlog: {}\n  Failed messages: {}\n  Pending timers: {pending_timers}\n  Next timer: {next}",
            inbox.dead, outbox.pending, outbox.failed
        );
        text.push_str(&instances(cx).await?);
        Ok(text)
    }

    async fn command(&self, cx: &mut Cx<'_>, command: &Command) -> Result<(), PluginError> {
        if command.name != crate::pipeline::router::BUILTIN {
            let text = format!(
                "Unknown command `/{}`. Type `/sentinel help` for the list.",
                command.name
            );
            return cx.reply_private(&command.origin, Message::reply(text)).await;
        }
        let text = match parse_args::<SentinelCommand>(&command.name, &command.args) {
            Ok(SentinelCommand::Help) => self.help(),
            Ok(SentinelCommand::Status) => self.status(cx).await?,
            Ok(SentinelCommand::Web) => return web_link(cx, command).await,
            Err(usage) => format!("{usage}\n\n{}", Self::spec().help_text()),
        };
        cx.reply_private(&command.origin, Message::reply(text)).await
    }
}

/// The instances part of `/sentinel status`: one line per registered instance, alive or gone, with
/// its last heartbeat; the one answering is marked.
async fn instances(cx: &mut Cx<'_>) -> Result<String, PluginError> {
    let now = cx.now();
    let this = cx.instance().to_owned();
    let within = crate::store::instances::alive_within(cx.config().cluster.heartbeat.std());
    let cluster = crate::cluster::view_at(cx.db(), &this, now, within).await?;
    let mut text = format!("\n  Instances alive: {}", cluster.alive);
    for instance in &cluster.instances {
        let state = match (instance.alive, instance.stopped) {
            (true, _) => "alive",
            (false, Some(_)) => "stopped",
            (false, None) => "gone",
        };
        let marker = if instance.this { " (this one)" } else { "" };
        text.push_str(&format!(
            "\n    {}{marker}: {state}, last heartbeat {} ago, {} {}",
            instance.name,
            crate::chat::duration::human(chrono::Duration::seconds(instance.heartbeat_age_seconds)),
            instance.host,
            instance.version,
        ));
        if instance.this && !cluster.jobs_held.is_empty() {
            text.push_str(&format!(", leads {}", cluster.jobs_held.join(", ")));
        }
    }
    Ok(text)
}

/// `/sentinel web`: a fresh sign-in link for the caller, sent only to them. The token is 256 random
/// bits; only its SHA-256 is stored (table `web_links`, migration `0015_web.sql`), with who asked and
/// when it expires. The web page resolves the person's roles when the link is used.
async fn web_link(cx: &mut Cx<'_>, command: &Command) -> Result<(), PluginError> {
    let Some(web) = cx.config().web.clone() else {
        let text = "The web status page is off: it needs a `[web]` section with `public_url` in the configuration.";
        return cx.reply_private(&command.origin, Message::reply(text)).await;
    };
    let now = cx.now();
    let ttl = chrono::Duration::from_std(web.link_ttl.std()).unwrap_or(chrono::Duration::minutes(10));
    let person = cx.directory().display(&command.origin.actor);
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| PluginError::failed(format!("no randomness for a sign-in link: {err}")))?;
    let token = hex::encode(bytes);
    insert_web_link(
        cx.db(),
        &token_hash(&token),
        &command.origin.actor,
        &person,
        now,
        now + ttl,
    )
    .await?;
    let url = format!("{}/web/signin?token={token}", web.base_url());
    let text = format!(
        "Your sign-in link to Sentinel's status page (it works once, for {}; do not share it):\n{url}",
        crate::chat::duration::human(ttl)
    );
    cx.reply_private(&command.origin, Message::reply(text)).await
}

/// The stored form of a sign-in or session token: its SHA-256, hex-encoded.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

async fn insert_web_link(
    conn: &mut crate::store::Conn,
    hash: &str,
    actor: &Actor,
    person: &str,
    now: chrono::DateTime<chrono::Utc>,
    expires: chrono::DateTime<chrono::Utc>,
) -> Result<(), PluginError> {
    let actor = serde_json::to_string(actor).map_err(|err| PluginError::failed(err.to_string()))?;
    sqlx::query(
        "INSERT INTO web_links (token_hash, actor, person, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(actor)
    .bind(person)
    .bind(crate::store::to_ms(now))
    .bind(crate::store::to_ms(expires))
    .execute(conn)
    .await?;
    Ok(())
}

/// A signed duration in words: `3h 5m`, `overdue by 2m` (see [`crate::chat::duration`]).
pub fn describe(span: chrono::Duration) -> String {
    let text = crate::chat::duration::human(span);
    if span < chrono::Duration::zero() {
        format!("overdue by {text}")
    } else {
        text
    }
}

#[async_trait]
impl Plugin for Builtin {
    fn name(&self) -> &'static str {
        crate::pipeline::router::BUILTIN
    }

    fn commands(&self) -> Vec<CommandSpec> {
        vec![Self::spec()]
    }

    async fn handle(&self, cx: &mut Cx<'_>, event: &Event) -> Result<(), PluginError> {
        match event {
            Event::Command(command) => self.command(cx, command).await,
            _ => Ok(()),
        }
    }
}
