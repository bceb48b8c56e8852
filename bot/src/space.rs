//! Per-incident spaces: a channel (Slack) or thread (Discord) a plugin asks for, and then posts into
//! through the logical channel `space:<key>`.
//!
//! A plugin calls [`crate::Cx::open_space`]; the core writes one outbox row per platform the
//! parent channel reaches, and the delivery worker opens the space there (once, whatever replays
//! and retries happen) before any message addressed to it, and remembers the platform's channel id
//! in the `spaces` table (migration 0007).

use serde::{Deserialize, Serialize};

use crate::ids::{ChannelRef, SpaceKey};

/// A space to open: where it hangs off, what it is called and who belongs in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    /// The plugin's stable name for it (`incident-12`). Opening the same key again does nothing,
    /// so it must be unique across plugins (prefix it with what it is for).
    pub key: SpaceKey,
    /// The human name (`inc-12-sql-injection`). Each platform makes it valid for itself: Slack
    /// lowercases it and keeps `a-z 0-9 - _` (at most 80 characters), Discord keeps 100 characters.
    pub name: String,
    /// The logical channel it belongs to (`security-incidents`): the space opens on every platform
    /// this channel reaches, as a Slack channel of its own or a Discord thread in that channel.
    pub parent: ChannelRef,
    /// Who is brought in: `[people]` and `[groups]` keys. Slack invites the people (a group counts
    /// by its `members`); Discord mentions them in the thread's first message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

impl Space {
    /// A space `key` named `name` under the logical channel `parent`, with no members yet.
    pub fn new(key: impl Into<SpaceKey>, name: impl Into<String>, parent: impl Into<ChannelRef>) -> Self {
        Self {
            key: key.into(),
            name: name.into(),
            parent: parent.into(),
            members: Vec::new(),
        }
    }

    /// Adds people or groups (by their `[people]` / `[groups]` keys).
    pub fn members<I, S>(mut self, members: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.members.extend(members.into_iter().map(Into::into));
        self
    }

    /// The logical channel that addresses this space: `space:<key>`. Use it as a
    /// [`crate::Message`]'s channel.
    pub fn channel(&self) -> ChannelRef {
        ChannelRef::space(&self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_space_is_addressed_by_its_key() {
        let space = Space::new("incident-12", "inc-12-sql-injection", "security-incidents").members(["alice"]);
        assert_eq!(space.channel().as_str(), "space:incident-12");
        assert_eq!(space.channel().space_key(), Some(SpaceKey::from("incident-12")));
        assert_eq!(ChannelRef::from("security-incidents").space_key(), None);
        assert_eq!(ChannelRef::from("space:").space_key(), None);
        assert_eq!(space.members, ["alice"]);
    }
}
