//! Delivering messages through Slack's Web API with slack-morphism: `chat.postMessage`,
//! `chat.update`, thread replies (`thread_ts`), ephemeral replies (the command's `response_url`,
//! else `chat.postEphemeral`), and `conversations.create` + `conversations.invite` for a channel
//! per incident (a space, see [`crate::Cx::open_space`]).
//!
//! Opening a space is safe to repeat: when `conversations.create` answers `name_taken` (an earlier
//! attempt created the channel but its answer was lost, or the channel exists already), the
//! channel is looked up by name with `conversations.list` and used; members already in it are not
//! an error.
//!
//! Errors: a 429 is retried after Slack's `Retry-After`; 5xx, timeouts, network failures and
//! Slack's transient error codes are retried with backoff; every other refusal (`channel_not_found`,
//! `invalid_auth`, `invalid_blocks`, …) is permanent and listed by `sentinel dead list`.
//!
//! Exactly once, also when an answer is lost: Slack has no idempotency key, so every post carries
//! its outbox idempotency key in its message metadata (see [`super::idempotency`]); after a
//! failure whose outcome is unknown, the next attempt looks for a message with that tag in the
//! channel or thread and adopts it instead of posting again.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use super::{idempotency, render};
use crate::chat::{ChatAdapter, Delivered, Delivery, DeliveryError, Directory, OpenedSpace, SpaceRequest, Target};
use crate::config::{Secret, SlackConfig};
use crate::ids::Platform;

type Connector = SlackClientHyperHttpsConnector;

/// Slack's error codes that mean "try again later".
const TRANSIENT: [&str; 6] = [
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
];

/// Transient codes that say Slack did not carry the call out.
const NOT_CARRIED_OUT: [&str; 2] = ["ratelimited", "team_added_to_org"];

/// Pages of `conversations.list` read when looking for a channel by name (1000 channels a page).
const LIST_PAGES: usize = 50;

/// Delivers messages to Slack.
pub struct SlackAdapter {
    client: SlackClient<Connector>,
    token: SlackApiToken,
    directory: Arc<Directory>,
    timeout: Duration,
    post_interval: Duration,
}

/// What start-up learned about the credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// Slack refused the token: Sentinel must not start.
    #[error("Slack rejected the bot token ({0}); check slack.bot_token / SENTINEL_SLACK_BOT_TOKEN")]
    Rejected(String),
    /// Slack could not be asked; messages wait in the outbox until it can.
    #[error("Slack could not be reached to check the bot token: {0}")]
    Unreachable(String),
}

/// The adapter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `slack.bot_token` is not set.
    #[error("slack.bot_token is not set")]
    NoToken,
}

impl SlackAdapter {
    /// An adapter for `config`, with each API call limited to `timeout`. An `http://` API URL (a
    /// local fake, a test proxy) is allowed when configured; otherwise only HTTPS is spoken.
    pub fn new(config: &SlackConfig, directory: Arc<Directory>, timeout: Duration) -> Result<Self, BuildError> {
        let token = config
            .bot_token
            .as_ref()
            .filter(|t| !t.is_empty())
            .ok_or(BuildError::NoToken)?;
        // Bundled Mozilla roots, like the GitHub and Discord clients: no system CA store needed.
        let builder = hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots();
        // slack-morphism's default connector is HTTPS-only; a plain-HTTP base URL needs this one.
        let builder = if config.api_url.starts_with("http://") {
            builder.https_or_http()
        } else {
            builder.https_only()
        };
        let https = builder.enable_http1().enable_http2().build();
        let api_url = config.api_url.trim_end_matches('/');
        let connector = SlackClientHyperConnector::with_connector(https).with_slack_api_url(api_url);
        Ok(Self {
            client: SlackClient::new(connector),
            token: api_token(token),
            directory,
            timeout,
            post_interval: config.post_interval.std(),
        })
    }

    /// Checks the token with `auth.test`; on success says which bot in which workspace it is.
    pub async fn check_credentials(&self) -> Result<String, CredentialsError> {
        let session = self.client.open_session(&self.token);
        match self.timed(session.auth_test()).await {
            Ok(Ok(me)) => Ok(format!(
                "Slack: signed in as {} ({}) in workspace {}",
                me.user.as_deref().unwrap_or("the bot"),
                me.user_id,
                me.team
            )),
            Ok(Err(SlackClientError::ApiError(err))) if TRANSIENT.contains(&err.code.as_str()) => {
                Err(CredentialsError::Unreachable(err.code))
            }
            Ok(Err(SlackClientError::ApiError(err))) => Err(CredentialsError::Rejected(err.code)),
            Ok(Err(SlackClientError::HttpError(err))) if err.status_code.is_client_error() => {
                Err(CredentialsError::Rejected(format!("HTTP {}", err.status_code)))
            }
            Ok(Err(err)) => Err(CredentialsError::Unreachable(describe(&err))),
            Err(_) => Err(CredentialsError::Unreachable("timed out".into())),
        }
    }

    /// The workspace's address, `auth.test`'s `url` (such as `https://acme.slack.com/`): a message
    /// opens at `{url}archives/{channel}/p{ts without its dot}`. The web page asks once.
    pub async fn workspace_url(&self) -> Result<String, String> {
        let session = self.client.open_session(&self.token);
        match self.timed(session.auth_test()).await {
            Ok(Ok(me)) => Ok(me.url.0.to_string()),
            Ok(Err(err)) => Err(describe(&err)),
            Err(_) => Err("timed out".into()),
        }
    }

    /// Creates a public channel `name` (lowercase, at most 80 characters) and invites `members`
    /// (Slack user ids); returns the new channel's id. The bot is a member as its creator.
    /// When a channel of that name exists already (`name_taken`: a retry after a lost answer, or
    /// an earlier channel), that channel is used.
    pub async fn create_channel(&self, name: &str, members: &[String]) -> Result<String, DeliveryError> {
        let channel = self.create_or_find(&channel_name(name)).await?;
        self.invite(&channel, members).await?;
        Ok(channel)
    }

    /// `conversations.create`, or on `name_taken` the existing channel of that name.
    async fn create_or_find(&self, name: &str) -> Result<String, DeliveryError> {
        let session = self.client.open_session(&self.token);
        let request = SlackApiConversationsCreateRequest::new(name.to_owned()).with_is_private(false);
        match self
            .timed(session.conversations_create(&request))
            .await
            .map_err(|_| timeout("conversations.create"))?
        {
            Ok(created) => Ok(created.channel.id.0),
            Err(SlackClientError::ApiError(err)) if err.code == "name_taken" => {
                tracing::info!(channel = name, "Slack channel exists already; using it");
                self.find_channel(name).await
            }
            Err(err) => Err(classify(err, "conversations.create")),
        }
    }

    /// The public channel called `name`, joined when the bot is not in it.
    async fn find_channel(&self, name: &str) -> Result<String, DeliveryError> {
        let session = self.client.open_session(&self.token);
        let mut cursor: Option<SlackCursorId> = None;
        for _ in 0..LIST_PAGES {
            let request = SlackApiConversationsListRequest::new()
                .with_limit(1000)
                .with_exclude_archived(false)
                .with_types(vec![SlackConversationType::Public])
                .opt_cursor(cursor.take());
            let page = self
                .timed(session.conversations_list(&request))
                .await
                .map_err(|_| timeout("conversations.list"))?
                .map_err(|err| classify(err, "conversations.list"))?;
            if let Some(found) = page.channels.iter().find(|c| c.name.as_deref() == Some(name)) {
                if found.flags.is_archived == Some(true) {
                    return Err(DeliveryError::Permanent(format!(
                        "Slack channel #{name} exists but is archived; unarchive it or rename it"
                    )));
                }
                if found.flags.is_member == Some(false) {
                    let join = SlackApiConversationsJoinRequest::new(found.id.clone());
                    self.timed(session.conversations_join(&join))
                        .await
                        .map_err(|_| timeout("conversations.join"))?
                        .map_err(|err| classify(err, "conversations.join"))?;
                }
                return Ok(found.id.0.clone());
            }
            cursor = page
                .response_metadata
                .and_then(|meta| meta.next_cursor)
                .filter(|next| !next.0.is_empty());
            if cursor.is_none() {
                break;
            }
        }
        Err(DeliveryError::Permanent(format!(
            "Slack says the channel name #{name} is taken, but no public channel of that name is listed"
        )))
    }

    /// `conversations.invite` for `members` (Slack user ids). Someone already in the channel is no
    /// error: then each is invited on their own, so the others still get in.
    async fn invite(&self, channel: &str, members: &[String]) -> Result<(), DeliveryError> {
        if members.is_empty() {
            return Ok(());
        }
        let everyone = members.iter().map(|m| SlackUserId::new(m.clone())).collect();
        if self.invite_users(channel, everyone).await? || members.len() == 1 {
            return Ok(());
        }
        for member in members {
            self.invite_users(channel, vec![SlackUserId::new(member.clone())])
                .await?;
        }
        Ok(())
    }

    /// One `conversations.invite`; false when Slack says someone is in the channel already.
    async fn invite_users(&self, channel: &str, users: Vec<SlackUserId>) -> Result<bool, DeliveryError> {
        let session = self.client.open_session(&self.token);
        let invite = SlackApiConversationsInviteRequest::new(SlackChannelId::new(channel.to_owned()), users);
        match self
            .timed(session.conversations_invite(&invite))
            .await
            .map_err(|_| timeout("conversations.invite"))?
        {
            Ok(_) => Ok(true),
            Err(SlackClientError::ApiError(err)) if err.code == "already_in_channel" => Ok(false),
            // The bot is in the channel as its creator.
            Err(SlackClientError::ApiError(err)) if err.code == "cant_invite_self" => Ok(true),
            Err(err) => Err(classify(err, "conversations.invite")),
        }
    }

    /// The `ts` of the message tagged with `key` among the newest of the channel, or of the thread
    /// under `thread`.
    async fn find_posted(
        &self,
        channel: &str,
        thread: Option<&str>,
        key: &str,
    ) -> Result<Option<String>, DeliveryError> {
        let session = self.client.open_session(&self.token);
        let method = if thread.is_some() {
            "conversations.replies"
        } else {
            "conversations.history"
        };
        let mut cursor: Option<String> = None;
        for _ in 0..idempotency::PAGES {
            let limit = idempotency::PAGE_SIZE.to_string();
            let params = vec![
                ("channel", Some(channel)),
                ("ts", thread),
                ("limit", Some(limit.as_str())),
                ("include_all_metadata", Some("true")),
                ("cursor", cursor.as_deref()),
            ];
            let page: SlackApiConversationsHistoryResponse = self
                .timed(session.http_session_api.http_get(method, &params, None))
                .await
                .map_err(|_| timeout(method))?
                .map_err(|err| classify(err, method))?;
            if let Some(found) = page
                .messages
                .iter()
                .find(|message| idempotency::is_tagged(message.content.metadata.as_ref(), key))
            {
                return Ok(Some(found.origin.ts.0.clone()));
            }
            cursor = page
                .response_metadata
                .and_then(|meta| meta.next_cursor)
                .map(|next| next.0)
                .filter(|next| !next.is_empty());
            if cursor.is_none() {
                break;
            }
        }
        Ok(None)
    }

    async fn timed<F: std::future::Future>(&self, call: F) -> Result<F::Output, tokio::time::error::Elapsed> {
        tokio::time::timeout(self.timeout, call).await
    }

    /// Posts a new message or a thread reply, tagged with its idempotency key (message metadata).
    /// When an earlier attempt's outcome is unknown, the channel (or thread) is searched for a
    /// message with that tag first, and one found is adopted instead of posting again.
    async fn post(
        &self,
        delivery: &Delivery<'_>,
        mut content: SlackMessageContent,
        thread: Option<&str>,
    ) -> Result<Delivered, DeliveryError> {
        if delivery.look_first {
            match self
                .find_posted(delivery.channel, thread, delivery.idempotency_key)
                .await
            {
                Ok(Some(ts)) => {
                    tracing::info!(
                        channel = delivery.channel,
                        "message found on Slack after a lost answer; not posting it again"
                    );
                    return Ok(Delivered { message_id: ts });
                }
                Ok(None) => {}
                // Without the history scopes (or membership) Slack will not show the channel: a
                // possible double is better than a lost alert.
                Err(DeliveryError::Permanent(reason)) => {
                    tracing::warn!(channel = delivery.channel, cause = %reason, "cannot look for an earlier attempt; posting again");
                }
                Err(retry) => return Err(retry),
            }
        }
        content.metadata = Some(idempotency::tag(delivery.idempotency_key));
        let session = self.client.open_session(&self.token);
        let request = SlackApiChatPostMessageRequest::new(SlackChannelId::new(delivery.channel.to_owned()), content)
            .opt_thread_ts(thread.map(|ts| SlackTs::new(ts.to_owned())));
        let posted = self
            .timed(session.chat_post_message(&request))
            .await
            .map_err(|_| timeout("chat.postMessage"))?
            .map_err(|err| classify(err, "chat.postMessage"))?;
        Ok(Delivered {
            message_id: posted.ts.0,
        })
    }

    async fn update(
        &self,
        delivery: &Delivery<'_>,
        mut content: SlackMessageContent,
        ts: &str,
    ) -> Result<Delivered, DeliveryError> {
        // chat.update keeps whatever is left out, so an edit that drops the colour must say so.
        content.blocks.get_or_insert_with(Vec::new);
        content.attachments.get_or_insert_with(Vec::new);
        let session = self.client.open_session(&self.token);
        let request = SlackApiChatUpdateRequest::new(
            SlackChannelId::new(delivery.channel.to_owned()),
            content,
            SlackTs::new(ts.to_owned()),
        );
        let updated = self
            .timed(session.chat_update(&request))
            .await
            .map_err(|_| timeout("chat.update"))?
            .map_err(|err| classify(err, "chat.update"))?;
        Ok(Delivered {
            message_id: updated.ts.0,
        })
    }

    async fn ephemeral(
        &self,
        delivery: &Delivery<'_>,
        content: SlackMessageContent,
        user: &str,
        response_url: Option<&str>,
    ) -> Result<Delivered, DeliveryError> {
        let delivered = Delivered {
            message_id: delivery.idempotency_key.to_owned(),
        };
        if let Some(url) = response_url.and_then(|u| u.parse().ok()) {
            let request = SlackApiPostWebhookMessageRequest::new(content.clone());
            match self
                .timed(self.client.respond_to_event(&SlackResponseUrl::new(url), &request))
                .await
            {
                Ok(Ok(_)) => return Ok(delivered),
                // A response_url lives 30 minutes and takes 5 replies; past that, post it directly.
                Ok(Err(SlackClientError::HttpError(err))) if err.status_code.is_client_error() => {
                    tracing::info!(status = %err.status_code, "response_url no longer usable; using chat.postEphemeral");
                }
                Ok(Err(SlackClientError::ApiError(err))) if err.code != "ratelimited" => {
                    tracing::info!(code = %err.code, "response_url refused the reply; using chat.postEphemeral");
                }
                Ok(Err(err)) => return Err(classify(err, "the response_url")),
                Err(_) => return Err(timeout("the response_url")),
            }
        }
        let session = self.client.open_session(&self.token);
        let request = SlackApiChatPostEphemeralRequest::new(
            SlackChannelId::new(delivery.channel.to_owned()),
            SlackUserId::new(user.to_owned()),
            content,
        );
        self.timed(session.chat_post_ephemeral(&request))
            .await
            .map_err(|_| timeout("chat.postEphemeral"))?
            .map_err(|err| classify(err, "chat.postEphemeral"))?;
        Ok(delivered)
    }
}

impl SlackAdapter {
    async fn send(&self, delivery: &Delivery<'_>, content: SlackMessageContent) -> Result<Delivered, DeliveryError> {
        match delivery.target {
            Target::New => self.post(delivery, content, None).await,
            Target::Reply { parent_id } => self.post(delivery, content, Some(parent_id)).await,
            Target::Update { message_id } => self.update(delivery, content, message_id).await,
            Target::Ephemeral { user, response_url } => self.ephemeral(delivery, content, user, response_url).await,
        }
    }
}

/// Slack's answers to a message too big or with blocks it cannot take, as [`classify`] words them.
const TOO_BIG: [&str; 5] = [
    "msg_too_long",
    "msg_blocks_too_long",
    "invalid_blocks",
    "invalid_attachments",
    "too_many_attachments",
];

fn refused_as_too_big(reason: &str) -> bool {
    reason.starts_with("Slack refused ") && reason.rsplit(": ").next().is_some_and(|code| TOO_BIG.contains(&code))
}

#[async_trait]
impl ChatAdapter for SlackAdapter {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    fn post_interval(&self) -> Option<Duration> {
        Some(self.post_interval)
    }

    /// A message Slack refuses as too big (or as blocks it cannot take) is sent once more in its
    /// minimal rendering ([`crate::Message::minimal`]) rather than left failed.
    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let content = render::render(delivery.message, |m| self.directory.render_mention(Platform::Slack, m));
        match self.send(&delivery, content).await {
            Err(DeliveryError::Permanent(reason)) if refused_as_too_big(&reason) => {
                tracing::warn!(cause = %reason, "Slack refused the message; sending its minimal rendering");
                let minimal = delivery.message.minimal();
                let content = render::render(&minimal, |m| self.directory.render_mention(Platform::Slack, m));
                self.send(&delivery, content).await
            }
            other => other,
        }
    }

    /// A public channel named after the space, with its members invited. A member who cannot be
    /// invited (no Slack id, a group known only by its user group id, a refused invitation) is
    /// logged and left out: the channel is still used, and they can be added by hand.
    async fn open_space(&self, request: SpaceRequest<'_>) -> Result<OpenedSpace, DeliveryError> {
        let space = request.space;
        let mut name = channel_name(&space.name);
        if name.is_empty() {
            name = channel_name(space.key.as_str());
        }
        if name.is_empty() {
            return Err(DeliveryError::Permanent(format!(
                "space `{}` has no usable Slack channel name",
                space.key
            )));
        }
        let (users, skipped) = self.directory.user_ids(Platform::Slack, &space.members);
        if !skipped.is_empty() {
            tracing::info!(space = %space.key, ?skipped, "members with no Slack user to invite (a group needs `members`)");
        }
        let channel = self.create_or_find(&name).await?;
        match self.invite(&channel, &users).await {
            Ok(()) => {}
            Err(DeliveryError::Permanent(reason)) => {
                tracing::warn!(space = %space.key, %channel, cause = %reason, "members not invited; the channel is used without them");
            }
            Err(retry) => return Err(retry),
        }
        Ok(OpenedSpace { channel_id: channel })
    }
}

fn api_token(token: &Secret) -> SlackApiToken {
    SlackApiToken::new(SlackApiTokenValue::new(token.expose().to_owned()))
}

/// A valid Slack channel name: lowercase letters, digits, `-` and `_`, at most 80 characters.
pub fn channel_name(name: &str) -> String {
    let cleaned: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(80)
        .collect();
    cleaned.trim_matches('-').to_owned()
}

/// Slack may have carried the call out before the time ran out.
fn timeout(what: &str) -> DeliveryError {
    DeliveryError::Unknown(format!("Slack did not answer {what} in time"))
}

/// How a failed call should be treated. Never includes the token: slack-morphism's errors carry
/// the status, Slack's error code and the response body only. A failure after which Slack may
/// still have carried the call out (a 5xx, a lost connection, an unreadable answer, Slack's own
/// "it may have partly succeeded" codes) is [`DeliveryError::Unknown`].
fn classify(err: SlackClientError, what: &str) -> DeliveryError {
    match err {
        SlackClientError::RateLimitError(limit) => DeliveryError::Retry {
            // Slack always sends Retry-After with a 429; one second is the floor of its limits.
            after: Some(limit.retry_after.unwrap_or(Duration::from_secs(1))),
            reason: format!("Slack rate-limited {what}"),
        },
        SlackClientError::ApiError(api) if NOT_CARRIED_OUT.contains(&api.code.as_str()) => DeliveryError::Retry {
            after: None,
            reason: format!("Slack answered {what} with {}", api.code),
        },
        SlackClientError::ApiError(api) if TRANSIENT.contains(&api.code.as_str()) => {
            DeliveryError::Unknown(format!("Slack answered {what} with {}", api.code))
        }
        SlackClientError::ApiError(api) => DeliveryError::Permanent(format!("Slack refused {what}: {}", api.code)),
        SlackClientError::HttpError(http) if http.status_code.is_server_error() || http.status_code.as_u16() == 408 => {
            DeliveryError::Unknown(format!("Slack answered {what} with HTTP {}", http.status_code))
        }
        SlackClientError::HttpError(http) => {
            DeliveryError::Permanent(format!("Slack answered {what} with HTTP {}", http.status_code))
        }
        other => DeliveryError::Unknown(format!("{what} failed: {}", describe(&other))),
    }
}

fn describe(err: &SlackClientError) -> String {
    match err {
        SlackClientError::ApiError(api) => api.code.clone(),
        SlackClientError::HttpError(http) => format!("HTTP {}", http.status_code),
        SlackClientError::RateLimitError(_) => "rate limited".into(),
        SlackClientError::HttpProtocolError(_) => "connection failed".into(),
        SlackClientError::ProtocolError(_) => "unreadable answer".into(),
        _ => "client error".into(),
    }
}

#[cfg(test)]
mod tests {
    use slack_morphism::errors::{SlackClientApiError, SlackRateLimitError};

    use super::*;

    #[test]
    fn channel_names_are_made_valid() {
        assert_eq!(channel_name("Incident 42: Leaked Key!"), "incident-42--leaked-key");
        assert_eq!(channel_name(&"x".repeat(100)).len(), 80);
        assert_eq!(channel_name("Inc 12 — Café SQL"), "inc-12---caf--sql");
    }

    #[test]
    fn transient_slack_errors_are_retried_and_refusals_are_not() {
        let api = |code: &str| SlackClientError::ApiError(SlackClientApiError::new(code.into()));
        assert!(matches!(
            classify(api("internal_error"), "x"),
            DeliveryError::Unknown(_)
        ));
        assert!(matches!(classify(api("ratelimited"), "x"), DeliveryError::Retry { .. }));
        assert_eq!(
            classify(api("channel_not_found"), "chat.postMessage"),
            DeliveryError::Permanent("Slack refused chat.postMessage: channel_not_found".into())
        );
        let limited =
            SlackClientError::RateLimitError(SlackRateLimitError::new().with_retry_after(Duration::from_secs(7)));
        assert_eq!(
            classify(limited, "chat.postMessage"),
            DeliveryError::Retry {
                after: Some(Duration::from_secs(7)),
                reason: "Slack rate-limited chat.postMessage".into()
            }
        );
    }
}
