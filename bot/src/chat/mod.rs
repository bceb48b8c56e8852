//! The chat seam: how messages leave (adapters) and who is who (directory, routing).
//!
//! An adapter delivers one outbox row at a time and says whether a failure is worth retrying. The
//! outbox worker owns retries, ordering and message ids; adapters own rendering and the platform's
//! API. Slack and Discord adapters plug in here without the core changing.

pub mod console;
pub mod directory;
pub mod discord;
pub mod duration;
pub mod fit;
pub mod routing;
pub mod slack;
pub mod webhook;

use std::time::Duration;

use async_trait::async_trait;

use crate::ids::Platform;
use crate::message::Message;
use crate::space::Space;

pub use directory::Directory;
pub use routing::Routing;

/// Delivers messages to one platform.
#[async_trait]
pub trait ChatAdapter: Send + Sync {
    /// The platform it serves.
    fn platform(&self) -> Platform;

    /// Delivers one message. Must be safe to call again with the same idempotency key after an
    /// error (the worker retries).
    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError>;

    /// The shortest time between two posts to one channel that the platform accepts (Slack: about
    /// one per second), so the outbox paces a storm instead of running into 429s. `None`: no pacing
    /// (the platform's own rate-limit headers are followed, or there is no limit).
    fn post_interval(&self) -> Option<Duration> {
        None
    }

    /// Opens a space (a channel, a thread) for `request.space` under the channel `request.parent`
    /// and returns the platform's id of it: messages to the space are then delivered with that id
    /// as their channel. Must be safe to call again after an error: an attempt whose answer was
    /// lost may have opened it already. Platforms without spaces refuse permanently.
    async fn open_space(&self, request: SpaceRequest<'_>) -> Result<OpenedSpace, DeliveryError> {
        Err(DeliveryError::Permanent(format!(
            "{} cannot open spaces (asked for `{}`)",
            self.platform(),
            request.space.key
        )))
    }
}

/// A space to open.
#[derive(Debug, Clone, Copy)]
pub struct SpaceRequest<'a> {
    /// Unique per space and platform; platforms that support one get it as their idempotency key.
    pub idempotency_key: &'a str,
    /// The platform's id of the parent channel.
    pub parent: &'a str,
    /// The space: key, name and members (`[people]` / `[groups]` keys).
    pub space: &'a Space,
}

/// A space that is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedSpace {
    /// The platform's id of the space, used as the channel of the messages sent to it.
    pub channel_id: String,
}

/// One message to deliver.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// Unique per outbox row; platforms that support one get it as their idempotency key or nonce.
    pub idempotency_key: &'a str,
    /// The platform's channel id.
    pub channel: &'a str,
    /// New post, edit, thread reply or ephemeral reply.
    pub target: Target<'a>,
    /// The message.
    pub message: &'a Message,
    /// True when `channel` is a space opened with [`ChatAdapter::open_space`] (on Discord a
    /// thread, where a thread reply becomes a reply inside it).
    pub in_space: bool,
    /// An earlier attempt ended with [`DeliveryError::Unknown`]: the message may be on the
    /// platform already. An adapter that can look for it (by the idempotency key it tagged the
    /// message with) adopts what it finds instead of posting again.
    pub look_first: bool,
}

/// Where a message goes within its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A new top-level message.
    New,
    /// Replace the content of an earlier message.
    Update {
        /// The platform's id of that message.
        message_id: &'a str,
    },
    /// A reply in the thread of an earlier message.
    Reply {
        /// The platform's id of the parent.
        parent_id: &'a str,
    },
    /// A reply only `user` sees.
    Ephemeral {
        /// The platform user id.
        user: &'a str,
        /// The interaction's reply address, when the platform gave one.
        response_url: Option<&'a str>,
    },
}

/// A successful delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The platform's id of the message, for later edits and thread replies.
    pub message_id: String,
}

/// A failed delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth another try: a 5xx, a timeout, a 429 (with the platform's `Retry-After`).
    #[error("{reason}")]
    Retry {
        /// How long the platform asked us to wait.
        after: Option<Duration>,
        /// What happened (no secrets).
        reason: String,
    },
    /// Will never work as it is: a bad channel, revoked credentials, a malformed message.
    #[error("{0}")]
    Permanent(String),
    /// The platform may or may not have done it: the request went out but its answer was lost (a
    /// timeout, a 5xx, a dropped connection, an unreadable answer). Retried like
    /// [`DeliveryError::Retry`], with [`Delivery::look_first`] set on the next attempt.
    #[error("{0} (outcome unknown)")]
    Unknown(String),
}
