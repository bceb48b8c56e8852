//! # sentinel-bot: the core of Sentinel
//!
//! Every input — a GitHub webhook, a slash command, a button, a timer, a cron tick, a domain event —
//! is written durably to the **inbox** before it is acknowledged. The **dispatcher** hands each event
//! to every plugin that wants it inside one transaction per (event, plugin), so a plugin's state,
//! the messages it sends (**outbox**), the timers it sets and the events it emits commit together or
//! not at all. **Delivery workers** send outbox rows to chat platforms with retries; the **timer
//! engine** turns due timers into inbox events. All time comes from a [`Clock`].
//!
//! ## Layout
//! - [`clock`]: the `Clock` trait, system and manual clocks.
//! - [`ids`], [`severity`], [`message`], [`event`]: the vocabulary plugins speak.
//! - [`plugin`], [`cx`]: the plugin seam — what a plugin declares and what it may do.
//! - [`repo_pattern`]: `owner/name` globs (`acme/*`), one meaning for every setting and command.
//! - [`space`]: per-incident spaces (a Slack channel, a Discord thread) plugins open and post into.
//! - [`config`]: TOML + environment, typed and checked; secrets that never print.
//! - [`store`]: SQLite tables, one module per table.
//! - [`pipeline`]: inbox writer, router, dispatcher, timer engine, delivery workers.
//! - [`chat`]: the adapter seam, console and generic webhook adapters, people and channel routing.
//! - [`http`]: health, metrics and the server around the ingress routes.
//! - [`ingress`]: verified inputs: the GitHub webhook endpoint and its generated secret, Slack over
//!   HTTP and over Socket Mode (an outbound WebSocket), Discord interactions.
//! - [`github`]: GitHub API requests plugins enqueue, and the worker that performs them.
//! - [`builtin`]: `/sentinel help` and `/sentinel status`.
//! - [`supervisor`]: background tasks restarted when they stop or panic, and shown in `/healthz`.
//! - [`bot`]: assembly and orderly shutdown.
//! - `harness` (feature `harness`): the chat-level harness used by tests and `sentinel demo`.

pub mod bot;
pub mod builtin;
pub mod chat;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod cx;
pub mod event;
pub mod github;
#[cfg(any(test, feature = "harness"))]
pub mod harness;
pub mod http;
pub mod ids;
pub mod ingress;
pub mod message;
pub mod metrics;
pub mod pipeline;
pub mod plugin;
pub mod repo_pattern;
pub mod severity;
pub mod space;
pub mod store;
pub mod supervisor;

pub use bot::{Bot, BotOptions};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use cx::Cx;
pub use event::{
    Action, Actor, Command, DomainDecodeError, DomainEvent, DomainEventPayload, Event, GitHubDelivery, NewEvent,
    Origin, ScheduleTick, TimerFired,
};
pub use ids::{ChannelRef, DedupKey, EventId, MessageKey, Platform, SpaceKey, TimerKey};
pub use message::{Button, ButtonKind, ButtonStyle, Field, Mention, Message};
pub use plugin::{CommandSpec, MissedRun, Plugin, PluginError, Schedule, SubcommandSpec, Subscriptions, parse_args};
pub use repo_pattern::RepoPattern;
pub use severity::Severity;
pub use space::Space;
