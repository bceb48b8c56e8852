//! [`Cx`]: everything a plugin may do while it handles one event, all inside the event's transaction.

use crate::store::Conn;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::chat::Directory;
use crate::event::{DomainEventPayload, NewEvent, Origin};
use crate::github::GitHubRequest;
use crate::ids::{ChannelRef, DedupKey, EventId, Platform};
use crate::message::Message;
use crate::pipeline::Shared;
use crate::plugin::PluginError;
use crate::space::Space;
use crate::store::{inbox, outbox, plugin_state, spaces, timers};

/// What a handler changed besides its own tables, so the dispatcher knows whom to wake after commit.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Effects {
    pub(crate) timers: bool,
    pub(crate) messages: bool,
    pub(crate) events: bool,
    pub(crate) github: bool,
}

/// A plugin's handle on the world while it handles one event. Nothing it does is visible outside
/// until the dispatcher commits; if the handler fails, none of it happened.
pub struct Cx<'a> {
    conn: &'a mut Conn,
    shared: &'a Shared,
    plugin: &'static str,
    event: EventId,
    seq: u32,
    effects: &'a mut Effects,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(
        conn: &'a mut Conn,
        shared: &'a Shared,
        plugin: &'static str,
        event: EventId,
        effects: &'a mut Effects,
    ) -> Self {
        Self {
            conn,
            shared,
            plugin,
            event,
            seq: 0,
            effects,
        }
    }

    /// The transaction, for the plugin's own tables.
    pub fn db(&mut self) -> &mut Conn {
        self.conn
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// The inbox id of the event being handled.
    pub fn event_id(&self) -> EventId {
        self.event
    }

    /// The core configuration (e.g. whether `[web]` is on, for `/sentinel web`).
    pub fn config(&self) -> &crate::config::Config {
        &self.shared.config
    }

    /// This instance's name (`cluster.instance`), for `/sentinel status`.
    pub fn instance(&self) -> &str {
        &self.shared.instance
    }

    /// People and groups.
    pub fn directory(&self) -> &Directory {
        &self.shared.directory
    }

    /// The platforms a message to the logical `channel` reaches, so a plugin can keep a long
    /// message within the tightest of their limits. For a space (`space:<key>`) every running
    /// platform is returned, since the space may be open on any of them.
    pub fn platforms(&self, channel: &ChannelRef) -> Vec<Platform> {
        if channel.space_key().is_some() {
            return self.shared.routing.platforms();
        }
        let mut platforms: Vec<Platform> = self
            .shared
            .routing
            .destinations(channel)
            .into_iter()
            .map(|(platform, _)| platform)
            .collect();
        platforms.dedup();
        platforms
    }

    fn next_key(&mut self) -> String {
        self.seq += 1;
        format!("{}:{}:{}", self.event, self.plugin, self.seq)
    }

    /// Sends `message` to its logical channel on every platform that channel reaches. A keyed
    /// message updates the earlier one with the same key in place; a threaded one replies under it.
    ///
    /// A message to `space:<key>` (see [`Space::channel`]) goes to that space on every platform it
    /// was opened on, after the space exists there. Sending to a space no platform was asked to
    /// open is an error the outbox records (`sentinel dead list`), not a silent drop.
    pub async fn send(&mut self, message: Message) -> Result<(), PluginError> {
        let key = self.next_key();
        let now = self.now();
        let destinations = match message.channel.space_key() {
            Some(space) => {
                let running = self.shared.routing.platforms();
                let mut platforms = spaces::platforms(self.conn, &space).await?;
                platforms.retain(|platform| running.contains(platform));
                if platforms.is_empty() {
                    // Every running platform gets the row, so the mistake shows as a failed message.
                    tracing::warn!(space = %space, plugin = self.plugin, "message for a space that was never opened");
                    platforms = running;
                }
                platforms
                    .into_iter()
                    .map(|platform| (platform, message.channel.0.clone()))
                    .collect()
            }
            None => self.shared.routing.destinations(&message.channel),
        };
        if destinations.is_empty() {
            tracing::warn!(channel = %message.channel, plugin = self.plugin, "message for a channel no platform reaches");
            self.shared.metrics.unrouted_messages.inc();
        }
        for (platform, channel) in destinations {
            let row = outbox::NewOutbound {
                idempotency_key: format!("{key}:{platform}:{channel}"),
                platform,
                channel: &channel,
                op: outbox::Op::Post,
                recipient: None,
                response_url: None,
                message: &message,
                space: None,
            };
            outbox::enqueue(self.conn, &row, now).await?;
            self.effects.messages = true;
        }
        Ok(())
    }

    /// Opens a space — a Slack channel of its own, a Discord thread in the parent channel — on
    /// every platform `space.parent` reaches, and returns the logical channel that addresses it
    /// (`space:<key>`), to use as the channel of the messages for it:
    ///
    /// ```ignore
    /// let space = Space::new("incident-12", "inc-12-sql-injection", "security-incidents")
    ///     .members(["alice", "responders"]);
    /// let channel = cx.open_space(space).await?;
    /// cx.send(Message::new(channel.clone(), "Incident 12 declared").keyed("incident-12")).await?;
    /// ```
    ///
    /// Like [`Cx::send`], it happens only if this transaction commits, and exactly once per key
    /// and platform: opening the same key again (a replay, a second event) does nothing more, so
    /// calling it before every message is harmless. Messages sent to the space afterwards, from
    /// this event or a later one, are delivered after the space exists; keyed messages and
    /// thread replies work inside it as in any channel.
    ///
    /// Per platform: Slack creates a public channel (the name lowercased, `a-z 0-9 - _`, at most
    /// 80 characters) and invites the members' Slack users — a group by its `members` list; a group
    /// known only by a Slack user group id, or a name the directory does not know, is skipped with
    /// a logged note. Discord starts a public thread in the parent channel and mentions the members
    /// in its first message (mentioning adds people to a thread). The console prints an
    /// `── opened #name (space key) ──` line, then the space's messages under `#name`. The generic
    /// webhook receives an `open_space` request (see [`crate::chat::webhook`]).
    ///
    /// If the space cannot be opened on a platform, its messages there fail and are listed by
    /// `sentinel dead list` with the reason. Open a space before the first message to it: a
    /// message queued before the opening fails the same way. The first call for a key decides its
    /// name, parent and members on each platform; later calls change nothing. An empty key or name
    /// is an error.
    pub async fn open_space(&mut self, space: Space) -> Result<ChannelRef, PluginError> {
        if space.key.as_str().trim().is_empty() || space.name.trim().is_empty() {
            return Err(PluginError::failed("a space needs a key and a name"));
        }
        let now = self.now();
        let destinations = self.shared.routing.destinations(&space.parent);
        if destinations.is_empty() {
            tracing::warn!(channel = %space.parent, space = %space.key, plugin = self.plugin, "space under a channel no platform reaches");
            self.shared.metrics.unrouted_messages.inc();
        }
        let notice = Message::new(space.channel(), format!("open space #{} ({})", space.name, space.key));
        for (platform, parent) in destinations {
            if !spaces::request(self.conn, platform, &space.key, &space.name, &parent, now).await? {
                continue;
            }
            let row = outbox::NewOutbound {
                idempotency_key: format!("space:{}:{platform}", space.key),
                platform,
                channel: &parent,
                op: outbox::Op::Space,
                recipient: None,
                response_url: None,
                message: &notice,
                space: Some(&space),
            };
            outbox::enqueue(self.conn, &row, now).await?;
            self.effects.messages = true;
        }
        Ok(space.channel())
    }

    /// Replies in the channel a command or click came from, visible to everyone there.
    pub async fn reply(&mut self, origin: &Origin, message: Message) -> Result<(), PluginError> {
        self.reply_with(origin, message, outbox::Op::Post).await
    }

    /// Replies to the person who typed a command or clicked, visible to them only.
    pub async fn reply_private(&mut self, origin: &Origin, message: Message) -> Result<(), PluginError> {
        self.reply_with(origin, message, outbox::Op::Ephemeral).await
    }

    async fn reply_with(&mut self, origin: &Origin, mut message: Message, op: outbox::Op) -> Result<(), PluginError> {
        let key = self.next_key();
        let now = self.now();
        message.channel = origin.channel.as_str().into();
        let row = outbox::NewOutbound {
            idempotency_key: format!("{key}:{}:{}", origin.actor.platform, origin.channel),
            platform: origin.actor.platform,
            channel: &origin.channel,
            op,
            recipient: Some(&origin.actor.id),
            response_url: origin.response_url.as_deref(),
            message: &message,
            space: None,
        };
        outbox::enqueue(self.conn, &row, now).await?;
        self.effects.messages = true;
        Ok(())
    }

    /// Sets (or replaces) this plugin's timer `key` to fire at `at` with `payload`.
    pub async fn set_timer(&mut self, key: &str, at: DateTime<Utc>, payload: Value) -> Result<(), PluginError> {
        let now = self.now();
        timers::set(self.conn, self.plugin, key, at, &payload, now).await?;
        self.effects.timers = true;
        Ok(())
    }

    /// Cancels this plugin's timer `key`. Returns whether it was pending.
    pub async fn cancel_timer(&mut self, key: &str) -> Result<bool, PluginError> {
        Ok(timers::cancel(self.conn, self.plugin, key).await?)
    }

    /// Cancels every timer of this plugin whose key starts with `prefix`. Returns how many.
    pub async fn cancel_timers(&mut self, prefix: &str) -> Result<u64, PluginError> {
        Ok(timers::cancel_prefix(self.conn, self.plugin, prefix).await?)
    }

    /// This plugin's pending timers whose keys start with `prefix`, soonest first.
    pub async fn timers(&mut self, prefix: &str) -> Result<Vec<timers::PendingTimer>, PluginError> {
        Ok(timers::list(self.conn, self.plugin, prefix).await?)
    }

    /// The value this plugin stored under `key` with [`Cx::kv_set`], when there is one. For a
    /// plugin with a few counters or settings that would rather not write a migration; anything
    /// queried or listed belongs in tables of its own. Keys are per plugin: two plugins never see
    /// each other's.
    pub async fn kv_get<T: serde::de::DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, PluginError> {
        match plugin_state::get(self.conn, self.plugin, key).await? {
            Some(text) => Ok(Some(serde_json::from_str(&text)?)),
            None => Ok(None),
        }
    }

    /// Stores `value` (as JSON) under this plugin's `key`, with this transaction: if the handler
    /// fails, the old value stays.
    pub async fn kv_set<T: serde::Serialize>(&mut self, key: &str, value: &T) -> Result<(), PluginError> {
        let now = self.now();
        let value = serde_json::to_value(value)?;
        plugin_state::set(self.conn, self.plugin, key, &value, now).await?;
        Ok(())
    }

    /// Deletes this plugin's `key`. Returns whether it was there.
    pub async fn kv_delete(&mut self, key: &str) -> Result<bool, PluginError> {
        Ok(plugin_state::delete(self.conn, self.plugin, key).await?)
    }

    /// Announces a typed domain event for other plugins, under its `T::KIND`; it is handled after
    /// this transaction commits, and only if it does. Consumers read it back with
    /// [`DomainEvent::decode`](crate::DomainEvent::decode).
    pub async fn publish<T: DomainEventPayload>(&mut self, event: &T) -> Result<(), PluginError> {
        self.emit(T::KIND, serde_json::to_value(event)?).await
    }

    /// Announces an untyped domain event (`kind` and a JSON payload); it is handled after this
    /// transaction commits, and only if it does. Plugins prefer [`Cx::publish`], whose payload type
    /// is shared with its consumers.
    pub async fn emit(&mut self, kind: &str, payload: Value) -> Result<(), PluginError> {
        let key = self.next_key();
        let now = self.now();
        let event = crate::event::DomainEvent {
            kind: kind.to_owned(),
            payload,
        };
        let new = NewEvent {
            dedup_key: DedupKey(format!("domain:{key}")),
            kind: "domain",
            name: kind.to_owned(),
            owner: None,
            payload: serde_json::to_string(&event)?,
        };
        inbox::insert(self.conn, &new, now).await?;
        self.effects.events = true;
        Ok(())
    }

    /// Asks the core to make a GitHub API call. The request is stored with this transaction (and
    /// only if it commits); the core's GitHub worker performs it afterwards, never inside a handler,
    /// and answers with one `github.response` domain event (see [`crate::github::GitHubResponse`])
    /// whose `requester` is this plugin's name and `correlation` is the request's.
    pub async fn github(&mut self, request: GitHubRequest) -> Result<(), PluginError> {
        let now = self.now();
        crate::github::store::insert(self.conn, self.plugin, &request, now).await?;
        self.effects.github = true;
        Ok(())
    }

    /// Records a security-relevant refusal (an unauthorised command, …) in the security log.
    pub async fn security_log(&mut self, kind: &str, source: Platform, detail: &str) -> Result<(), PluginError> {
        let now = self.now();
        crate::store::security_log::record(self.conn, now, kind, source.as_str(), detail).await?;
        self.shared.metrics.security_violation(kind);
        Ok(())
    }
}
