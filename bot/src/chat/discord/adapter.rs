//! Delivering messages through Discord's REST API (no gateway): channel messages with embeds and
//! buttons, edits in place, replies in a thread started from the parent message, ephemeral replies
//! as interaction follow-ups (or, once the interaction token has expired, a direct message).
//!
//! A follow-up can overtake the interaction's answer: the plugin's reply is delivered while
//! Sentinel's deferral (the HTTP response, or the Gateway path's callback POST) has not reached
//! Discord yet, and Discord refuses it with 404 code 10015 "Unknown Webhook". While the interaction
//! is young (its id is a snowflake, so its creation time is known) such a refusal is a retry after
//! [`EARLY_FOLLOWUP_RETRY`] on the bot's clock: nothing was posted, so the retry cannot post twice.
//! Only once [`ANSWER_WINDOW`] has passed since the interaction was created does a 401 / 404 mean
//! the token is gone, and the reply becomes a direct message, as for an expired token.
//!
//! A space (see [`crate::Cx::open_space`]) is a public thread in the parent channel, not attached
//! to a message; its id is a channel id, so its messages are posted to it like to any channel.
//! Discord has no invitations for public threads: the members are mentioned in the thread's first
//! message, which adds them. A thread reply inside a space (a thread cannot hold threads) is a
//! reply to its parent message in the same thread. Before a space's thread is started, the
//! parent channel's active threads are searched for one of that name, so a retry after a lost
//! answer (or a crash before the answer was recorded) does not leave two threads.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serenity::all::{ApplicationId, ChannelId, ChannelType, GuildId, MessageId};
use serenity::builder::{CreateCommand, CreateThread};
use serenity::http::{LightMethod, Route};
use sha2::{Digest, Sha256};

use super::api::{ApiError, DISCORD_URL, DiscordApi};
use super::render::{self, Rendered};
use crate::chat::{ChatAdapter, Delivered, Delivery, DeliveryError, Directory, OpenedSpace, SpaceRequest, Target, fit};
use crate::clock::SharedClock;
use crate::config::DiscordConfig;
use crate::ids::Platform;
use crate::message::Message;

/// The `Origin.response_url` prefix of a Discord interaction: `discord-interaction:{app}:{token}`.
pub const INTERACTION_PREFIX: &str = "discord-interaction:";

/// Discord's "Unknown Channel": a thread not created yet.
const UNKNOWN_CHANNEL: i64 = 10003;
/// Discord's "Invalid Form Body": a message over a limit, or otherwise malformed.
const INVALID_FORM_BODY: i64 = 50035;
/// Discord's "A thread has already been created for this message".
const THREAD_EXISTS: i64 = 160004;
/// Discord's "Unknown Webhook": a follow-up for an interaction Discord has no answer for (yet).
const UNKNOWN_WEBHOOK: i64 = 10015;
/// Discord's epoch (2015-01-01) in Unix milliseconds: a snowflake's creation time is
/// `(id >> 22) + DISCORD_EPOCH_MS`.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;
/// How long after an interaction's creation a 10015 on its follow-up still means "the answer is
/// on its way" rather than "the token is gone". Discord wants the answer within 3 seconds; the
/// Gateway path stores the interaction and POSTs the answer well inside that, so past 10 seconds
/// (3 s plus room for a slow callback, a retry and clock skew between Discord and us) the answer is
/// not coming and a direct message is the only way left to reach the user.
pub const ANSWER_WINDOW: Duration = Duration::from_secs(10);
/// The wait before a follow-up that overtook its interaction's answer is tried again.
pub const EARLY_FOLLOWUP_RETRY: Duration = Duration::from_secs(1);

/// Delivers messages to Discord.
pub struct DiscordAdapter {
    api: DiscordApi,
    directory: Arc<Directory>,
    application_id: Option<u64>,
    clock: SharedClock,
}

/// What start-up learned about the credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// Discord refused the token: Sentinel must not start.
    #[error("Discord rejected the bot token ({0}); check discord.bot_token / SENTINEL_DISCORD_BOT_TOKEN")]
    Rejected(String),
    /// Discord could not be asked; messages wait in the outbox until it can.
    #[error("Discord could not be reached to check the bot token: {0}")]
    Unreachable(String),
}

/// The adapter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `discord.bot_token` is not set.
    #[error("discord.bot_token is not set")]
    NoToken,
    /// `discord.application_id` is not a number.
    #[error("discord.application_id `{0}` is not a Discord id")]
    ApplicationId(String),
    /// The HTTP client could not be built.
    #[error("{0}")]
    Client(ApiError),
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct ChannelInfo {
    guild_id: Option<String>,
}

#[derive(Deserialize)]
struct ActiveThreads {
    threads: Vec<ThreadInfo>,
}

#[derive(Deserialize)]
struct ThreadInfo {
    id: String,
    parent_id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Me {
    id: String,
    username: String,
}

impl DiscordAdapter {
    /// An adapter for `config`, each request limited to `timeout`; rate-limit windows are measured
    /// on `clock`.
    pub fn new(
        config: &DiscordConfig,
        directory: Arc<Directory>,
        timeout: Duration,
        clock: SharedClock,
    ) -> Result<Self, BuildError> {
        let token = config
            .bot_token
            .as_ref()
            .filter(|t| !t.is_empty())
            .ok_or(BuildError::NoToken)?;
        let application_id = match config.application_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(id) => Some(snowflake(id).ok_or_else(|| BuildError::ApplicationId(id.to_owned()))?),
        };
        let base = if config.api_url.trim().is_empty() {
            DISCORD_URL
        } else {
            config.api_url.as_str()
        };
        let api = DiscordApi::new(token, base, timeout, clock.clone()).map_err(BuildError::Client)?;
        Ok(Self {
            api,
            directory,
            application_id,
            clock,
        })
    }

    /// Checks the token with `GET /users/@me`; on success says which bot it is.
    pub async fn check_credentials(&self) -> Result<String, CredentialsError> {
        let none: Option<&()> = None;
        match self.api.call::<Me>(Route::UserMe, LightMethod::Get, none).await {
            Ok(me) => Ok(format!("Discord: signed in as {} ({})", me.username, me.id)),
            Err(ApiError::Status { status, message, .. }) if status == 401 || status == 403 => {
                Err(CredentialsError::Rejected(format!("HTTP {status}: {message}")))
            }
            Err(err) => Err(CredentialsError::Unreachable(err.to_string())),
        }
    }

    /// Replaces the application's slash commands with `commands`: globally, or in one guild (where
    /// changes show at once, handy while testing). Returns how many Discord now has.
    pub async fn register_commands(&self, commands: &[CreateCommand], guild: Option<u64>) -> Result<usize, ApiError> {
        let application_id = ApplicationId::new(
            self.application_id
                .ok_or_else(|| ApiError::Invalid("discord.application_id is not set".into()))?,
        );
        let route = match guild {
            Some(guild) => Route::GuildCommands {
                application_id,
                guild_id: GuildId::new(guild),
            },
            None => Route::Commands { application_id },
        };
        let registered: Vec<serde_json::Value> = self.api.call(route, LightMethod::Put, Some(&commands)).await?;
        Ok(registered.len())
    }

    /// Starts a public thread named `name` in `channel` (not attached to a message); returns its id,
    /// which is also the channel id to post into.
    pub async fn create_thread(&self, channel: &str, name: &str) -> Result<String, DeliveryError> {
        let channel_id = channel_id(channel)?;
        let request = CreateThread::new(fit::cut_plain(name, 100)).kind(ChannelType::PublicThread);
        let created: Created = self
            .api
            .call(Route::ChannelThreads { channel_id }, LightMethod::Post, Some(&request))
            .await
            .map_err(|err| classify(err, "creating a thread"))?;
        Ok(created.id)
    }

    /// The guild `channel` is in (`GET /channels/{id}`'s `guild_id`; `None` for a DM): a message
    /// opens at `https://discord.com/channels/{guild}/{channel}/{message}`.
    pub async fn guild_of(&self, channel: &str) -> Result<Option<String>, DeliveryError> {
        let channel_id = channel_id(channel)?;
        let none: Option<&()> = None;
        let info: ChannelInfo = self
            .api
            .call(Route::Channel { channel_id }, LightMethod::Get, none)
            .await
            .map_err(|err| classify(err, "reading the channel"))?;
        Ok(info.guild_id)
    }

    /// An active thread called `name` in `parent`, when there is one.
    async fn find_thread(&self, parent: &str, name: &str) -> Result<Option<String>, DeliveryError> {
        let none: Option<&()> = None;
        let Some(guild_id) = self
            .guild_of(parent)
            .await?
            .as_deref()
            .and_then(snowflake)
            .map(GuildId::new)
        else {
            return Ok(None);
        };
        let active: ActiveThreads = self
            .api
            .call(Route::GuildThreadsActive { guild_id }, LightMethod::Get, none)
            .await
            .map_err(|err| classify(err, "listing active threads"))?;
        Ok(active
            .threads
            .into_iter()
            .find(|t| t.parent_id.as_deref() == Some(parent) && t.name.as_deref() == Some(name))
            .map(|t| t.id))
    }

    async fn post(&self, channel: &str, rendered: Rendered, key: &str) -> Result<Delivered, ApiError> {
        self.post_with(channel, rendered, key, None).await
    }

    /// Posts to `channel`, as a reply to the message `reference` when given.
    async fn post_with(
        &self,
        channel: &str,
        rendered: Rendered,
        key: &str,
        reference: Option<&str>,
    ) -> Result<Delivered, ApiError> {
        let channel_id = ChannelId::new(snowflake(channel).ok_or_else(|| bad_channel(channel))?);
        let mut body = rendered.create(nonce(key));
        if let Some(parent) = reference {
            let message_id = MessageId::new(
                snowflake(parent).ok_or_else(|| ApiError::Invalid(format!("`{parent}` is not a message id")))?,
            );
            body = body.reference_message((channel_id, message_id));
        }
        let created: Created = self
            .api
            .call(Route::ChannelMessages { channel_id }, LightMethod::Post, Some(&body))
            .await?;
        Ok(Delivered { message_id: created.id })
    }

    async fn edit(&self, channel: &str, message_id: &str, rendered: Rendered) -> Result<Delivered, ApiError> {
        let channel_id = ChannelId::new(snowflake(channel).ok_or_else(|| bad_channel(channel))?);
        let message_id = MessageId::new(
            snowflake(message_id).ok_or_else(|| ApiError::Invalid(format!("`{message_id}` is not a message id")))?,
        );
        let body = rendered.edit();
        let edited: Created = self
            .api
            .call(
                Route::ChannelMessage { channel_id, message_id },
                LightMethod::Patch,
                Some(&body),
            )
            .await?;
        Ok(Delivered { message_id: edited.id })
    }

    /// A reply under `parent`: in the thread started from it (whose id is the parent's id),
    /// creating the thread on the first reply.
    async fn reply(&self, delivery: &Delivery<'_>, parent: &str, rendered: Rendered) -> Result<Delivered, ApiError> {
        match self.post(parent, rendered.clone(), delivery.idempotency_key).await {
            Err(ApiError::Status { code, .. }) if code == UNKNOWN_CHANNEL => {}
            other => return other,
        }
        let channel_id = ChannelId::new(snowflake(delivery.channel).ok_or_else(|| bad_channel(delivery.channel))?);
        let message_id = MessageId::new(
            snowflake(parent).ok_or_else(|| ApiError::Invalid(format!("`{parent}` is not a message id")))?,
        );
        let name = delivery
            .message
            .thread
            .as_ref()
            .map(|k| k.as_str().to_owned())
            .or_else(|| delivery.message.title.clone())
            .unwrap_or_else(|| "Sentinel".into());
        let request = CreateThread::new(fit::cut_plain(&name, 100));
        match self
            .api
            .send(
                Route::ChannelMessageThreads { channel_id, message_id },
                LightMethod::Post,
                Some(&request),
            )
            .await
        {
            Ok(_) => {}
            Err(ApiError::Status { code, .. }) if code == THREAD_EXISTS => {}
            Err(err) => return Err(err),
        }
        self.post(parent, rendered, delivery.idempotency_key).await
    }

    async fn ephemeral(
        &self,
        delivery: &Delivery<'_>,
        user: &str,
        response_url: Option<&str>,
        rendered: Rendered,
    ) -> Result<Delivered, ApiError> {
        if let Some(address) = response_url.and_then(parse_interaction) {
            let body = rendered.clone().followup(true);
            let route = Route::WebhookFollowupMessages {
                application_id: ApplicationId::new(address.application_id),
                token: address.token,
            };
            match self.api.call::<Created>(route, LightMethod::Post, Some(&body)).await {
                Ok(created) => return Ok(Delivered { message_id: created.id }),
                // The reply overtook the interaction's answer: Discord has nothing to follow up yet.
                Err(ApiError::Status { status: 404, code, .. })
                    if code == UNKNOWN_WEBHOOK && self.is_young(address.interaction_id) =>
                {
                    return Err(ApiError::NotAnsweredYet {
                        after: EARLY_FOLLOWUP_RETRY,
                    });
                }
                // The interaction token lives 15 minutes; after that, a direct message.
                Err(ApiError::Status { status, .. }) if status == 401 || status == 404 => {
                    tracing::info!(status, "interaction token expired; replying by direct message");
                }
                Err(err) => return Err(err),
            }
        }
        let recipient = snowflake(user).ok_or_else(|| ApiError::Invalid(format!("`{user}` is not a user id")))?;
        let dm: Created = self
            .api
            .call(
                Route::UserMeDmChannels,
                LightMethod::Post,
                Some(&serde_json::json!({ "recipient_id": recipient.to_string() })),
            )
            .await?;
        self.post(&dm.id, rendered, delivery.idempotency_key).await
    }
}

impl DiscordAdapter {
    /// Whether the interaction `id` was created less than [`ANSWER_WINDOW`] ago on the bot's
    /// clock (an address without an id, from before ids were carried, is never young).
    fn is_young(&self, id: Option<u64>) -> bool {
        let Some(created) = id.and_then(|id| i64::try_from(id >> 22).ok()) else {
            return false;
        };
        let age_ms = self.clock.now().timestamp_millis() - (created + DISCORD_EPOCH_MS);
        i64::try_from(ANSWER_WINDOW.as_millis()).is_ok_and(|window| age_ms < window)
    }

    async fn send(&self, delivery: &Delivery<'_>, rendered: Rendered) -> Result<Delivered, ApiError> {
        match delivery.target {
            Target::New => self.post(delivery.channel, rendered, delivery.idempotency_key).await,
            Target::Update { message_id } => self.edit(delivery.channel, message_id, rendered).await,
            // A space is a thread already: the reply stays in it, pointing at its parent.
            Target::Reply { parent_id } if delivery.in_space => {
                self.post_with(delivery.channel, rendered, delivery.idempotency_key, Some(parent_id))
                    .await
            }
            Target::Reply { parent_id } => self.reply(delivery, parent_id, rendered).await,
            Target::Ephemeral { user, response_url } => self.ephemeral(delivery, user, response_url, rendered).await,
        }
    }
}

#[async_trait]
impl ChatAdapter for DiscordAdapter {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    /// A message Discord refuses as an invalid form (400, code 50035: too big, too many parts) is
    /// sent once more in its minimal rendering ([`crate::Message::minimal`]) rather than left failed.
    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let rendered = render::render(delivery.message, |m| {
            self.directory.render_mention(Platform::Discord, m)
        });
        let result = match self.send(&delivery, rendered).await {
            Err(ApiError::Status {
                status: 400,
                code,
                message,
            }) if code == INVALID_FORM_BODY => {
                tracing::warn!(cause = %message, "Discord refused the message; sending its minimal rendering");
                let minimal = delivery.message.minimal();
                let rendered = render::render(&minimal, |m| self.directory.render_mention(Platform::Discord, m));
                self.send(&delivery, rendered).await
            }
            other => other,
        };
        result.map_err(|err| classify(err, "delivering the message"))
    }

    /// A public thread in the parent channel; the members (people and groups known to the
    /// directory) are mentioned in its first message (its nonce keeps a repeat within minutes to
    /// one). A name the directory does not know is logged and left out; a failed first message is
    /// logged and does not undo the thread.
    async fn open_space(&self, request: SpaceRequest<'_>) -> Result<OpenedSpace, DeliveryError> {
        let space = request.space;
        let name = fit::cut_plain(space.name.trim(), 100);
        // An earlier attempt may have started the thread and lost the answer (or crashed before
        // recording it): look before starting another. Not being allowed to look is no reason
        // not to start one.
        let existing = match self.find_thread(request.parent, &name).await {
            Ok(found) => found,
            Err(DeliveryError::Permanent(reason)) => {
                tracing::info!(space = %space.key, cause = %reason, "cannot list active threads; starting one");
                None
            }
            Err(retry) => return Err(retry),
        };
        let thread = match existing {
            Some(thread) => {
                tracing::info!(space = %space.key, %thread, "thread exists from an earlier attempt; using it");
                thread
            }
            None => self.create_thread(request.parent, &name).await?,
        };
        let mut skipped = Vec::new();
        let mut first = Message::new(space.channel(), format!("Space for {}", space.name.trim()));
        for member in &space.members {
            match self.directory.mention_of(member) {
                Some(mention) => first.mentions.push(mention),
                None => skipped.push(member.clone()),
            }
        }
        if !skipped.is_empty() {
            tracing::info!(space = %space.key, ?skipped, "members unknown to the directory were not mentioned");
        }
        if !first.mentions.is_empty() {
            let rendered = render::render(&first, |m| self.directory.render_mention(Platform::Discord, m));
            if let Err(err) = self.post(&thread, rendered, request.idempotency_key).await {
                tracing::warn!(space = %space.key, %thread, cause = %err, "members not mentioned in the new thread");
            }
        }
        Ok(OpenedSpace { channel_id: thread })
    }
}

/// An interaction's follow-up address, parsed from `Origin.response_url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InteractionAddress<'a> {
    /// The application the interaction belongs to.
    pub application_id: u64,
    /// The interaction's id (a snowflake: it says when the interaction was created); `None` in
    /// addresses stored before the id was carried.
    pub interaction_id: Option<u64>,
    /// The interaction token (a credential for 15 minutes: never logged).
    pub token: &'a str,
}

/// The `Origin.response_url` of an interaction: `discord-interaction:{application_id}:{id}:{token}`.
pub fn interaction_url(application_id: &str, interaction_id: &str, token: &str) -> String {
    format!("{INTERACTION_PREFIX}{application_id}:{interaction_id}:{token}")
}

/// `discord-interaction:{application_id}:{id}:{token}` (or the older
/// `discord-interaction:{application_id}:{token}`) → its parts. Discord's tokens are base64-like
/// and hold no `:`, so a numeric part before a second `:` is the id.
pub fn parse_interaction(response_url: &str) -> Option<InteractionAddress<'_>> {
    let rest = response_url.strip_prefix(INTERACTION_PREFIX)?;
    let (application, rest) = rest.split_once(':')?;
    let (interaction_id, token) = match rest.split_once(':') {
        Some((id, token)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => (Some(snowflake(id)?), token),
        _ => (None, rest),
    };
    if token.is_empty() {
        return None;
    }
    Some(InteractionAddress {
        application_id: snowflake(application)?,
        interaction_id,
        token,
    })
}

fn snowflake(id: &str) -> Option<u64> {
    id.trim().parse::<u64>().ok().filter(|id| *id != 0)
}

fn channel_id(channel: &str) -> Result<ChannelId, DeliveryError> {
    snowflake(channel)
        .map(ChannelId::new)
        .ok_or_else(|| DeliveryError::Permanent(format!("`{channel}` is not a Discord channel id")))
}

fn bad_channel(channel: &str) -> ApiError {
    ApiError::Invalid(format!("`{channel}` is not a Discord channel id"))
}

/// Discord's nonce is at most 25 characters; the idempotency key is longer, so hash it.
fn nonce(key: &str) -> String {
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    digest.chars().take(25).collect()
}

fn classify(err: ApiError, what: &str) -> DeliveryError {
    match err {
        ApiError::RateLimited { after } => DeliveryError::Retry {
            after: Some(after),
            reason: format!("Discord rate-limited {what}"),
        },
        ApiError::NotAnsweredYet { after } => DeliveryError::Retry {
            after: Some(after),
            reason: format!("{what}: the interaction's answer has not reached Discord yet (10015)"),
        },
        ApiError::Network(reason) => DeliveryError::Retry {
            after: None,
            reason: format!("{what}: {reason}"),
        },
        ApiError::Status { status, .. } if status >= 500 || status == 408 => DeliveryError::Retry {
            after: None,
            reason: format!("Discord answered HTTP {status} to {what}"),
        },
        ApiError::Status {
            status, code, message, ..
        } => DeliveryError::Permanent(format!(
            "Discord refused {what}: HTTP {status}, {message} (code {code})"
        )),
        ApiError::Invalid(reason) => DeliveryError::Permanent(format!("{what}: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interaction_addresses_and_nonces() {
        let old =
            parse_interaction("discord-interaction:123:tok-en").map(|a| (a.application_id, a.interaction_id, a.token));
        assert_eq!(old, Some((123, None, "tok-en")));
        let url = interaction_url("123", "456", "tok-en");
        let new = parse_interaction(&url).map(|a| (a.application_id, a.interaction_id, a.token));
        assert_eq!(new, Some((123, Some(456), "tok-en")));
        assert_eq!(parse_interaction("discord-interaction:123:456:"), None);
        assert_eq!(parse_interaction("discord-interaction:x:tok"), None);
        assert_eq!(parse_interaction("discord-interaction:123:"), None);
        assert_eq!(parse_interaction("https://hooks.slack.com/x"), None);
        assert_eq!(nonce("12:plugin:1:discord:99").len(), 25);
        assert_ne!(nonce("a"), nonce("b"));
    }

    #[test]
    fn server_errors_and_limits_are_retried_and_refusals_are_not() {
        let limited = classify(
            ApiError::RateLimited {
                after: Duration::from_millis(1500),
            },
            "x",
        );
        assert_eq!(
            limited,
            DeliveryError::Retry {
                after: Some(Duration::from_millis(1500)),
                reason: "Discord rate-limited x".into()
            }
        );
        let missing = ApiError::Status {
            status: 404,
            code: 10003,
            message: "Unknown Channel".into(),
        };
        assert_eq!(
            classify(missing, "x"),
            DeliveryError::Permanent("Discord refused x: HTTP 404, Unknown Channel (code 10003)".into())
        );
        let down = ApiError::Status {
            status: 502,
            code: 0,
            message: String::new(),
        };
        assert!(matches!(classify(down, "x"), DeliveryError::Retry { .. }));
    }
}
