//! Identifiers that cross module boundaries, each its own type so they cannot be mixed up.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

string_id!(
    /// The key under which an input is deduplicated in the inbox (GitHub's `X-GitHub-Delivery`, a
    /// Slack trigger id, a timer's firing, …).
    DedupKey
);
string_id!(
    /// A logical channel name such as `security-incidents`, mapped to Slack and Discord ids in config.
    ChannelRef
);
string_id!(
    /// The stable identity of a message that is updated in place (for example one alert's message).
    MessageKey
);
string_id!(
    /// A plugin's name for a per-incident space (`incident-12`), unique across plugins; messages reach
    /// the space through the logical channel `space:<key>` (see [`crate::Space`]).
    SpaceKey
);
string_id!(
    /// A timer's key within its owner plugin, e.g. `incident:42:respond`.
    TimerKey
);

/// The inbox row id of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub i64);

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A chat platform a message can reach or a command can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// The terminal Sentinel runs in: prints messages and reads slash commands from stdin.
    Console,
    /// A generic HTTP endpoint that receives each message as JSON.
    Webhook,
    /// Slack, through its Web API.
    Slack,
    /// Discord, through its HTTP API.
    Discord,
}

impl Platform {
    /// The platform's lowercase name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Webhook => "webhook",
            Platform::Slack => "slack",
            Platform::Discord => "discord",
        }
    }

    /// Parses the stored name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "console" => Some(Platform::Console),
            "webhook" => Some(Platform::Webhook),
            "slack" => Some(Platform::Slack),
            "discord" => Some(Platform::Discord),
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The prefix of the logical channel that addresses a space: `space:<key>`.
pub const SPACE_PREFIX: &str = "space:";

impl ChannelRef {
    /// The logical channel of the space `key`: `space:<key>`.
    pub fn space(key: &SpaceKey) -> Self {
        Self(format!("{SPACE_PREFIX}{key}"))
    }

    /// The space this channel addresses, when it is `space:<key>`.
    pub fn space_key(&self) -> Option<SpaceKey> {
        self.0
            .strip_prefix(SPACE_PREFIX)
            .filter(|key| !key.is_empty())
            .map(SpaceKey::from)
    }
}
