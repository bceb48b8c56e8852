//! The platform-neutral message plugins produce. Adapters render it as Slack Block Kit, Discord
//! embeds and components, or plain text; plugins never see a platform's format.
//!
//! Every string in a message is data, whoever wrote it: a GitHub payload, an API answer, a user's
//! command or the plugin itself. Renderers escape it for their platform, so `<!channel>`,
//! `<@U123>` or `@everyone` in an advisory or a branch name shows as text and notifies nobody.
//! The only formatting a string carries is the neutral markdown `**bold**` and
//! `[label](https://…)`. Live mentions come only from [`Message::mentions`], which renderers
//! resolve through the `[people]` / `[groups]` directory and insert themselves.
//!
//! Renderers also keep every part within the platform's documented limits, cutting long text with
//! a visible "…" and a link to [`Message::link`] (the full text) where there is one.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{ChannelRef, MessageKey};
use crate::severity::Severity;

/// One message, addressed to a logical channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The logical channel (see `[channels]` in config). Ignored for replies, which go to the
    /// caller's own channel.
    pub channel: ChannelRef,
    /// When set, a later message with the same key in the same channel updates this one in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<MessageKey>,
    /// When set, the message is posted as a reply in the thread of the message with this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<MessageKey>,
    /// Plain-text summary: the notification text and the fallback where rich content is unsupported.
    pub text: String,
    /// A bold heading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Colours the message and prefixes a marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Label/value pairs shown as a grid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    /// Longer markdown content below the fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Buttons and links under the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    /// People and groups to notify.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Mention>,
    /// A small footer line (source, ids, times).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Where the full text lives (the alert on GitHub): text cut to fit a platform ends with a link
    /// to it. Without it, the first link button's address is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Message {
    /// A message with just a summary text, for `channel`.
    pub fn new(channel: impl Into<ChannelRef>, text: impl Into<String>) -> Self {
        Self {
            channel: channel.into(),
            text: text.into(),
            ..Self::default()
        }
    }

    /// A reply to a command's caller: the channel is filled in from the command's origin.
    pub fn reply(text: impl Into<String>) -> Self {
        Self::new("", text)
    }

    /// Sets the update-in-place key.
    pub fn keyed(mut self, key: impl Into<MessageKey>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Makes this a threaded reply under the message with `parent` key.
    pub fn in_thread(mut self, parent: impl Into<MessageKey>) -> Self {
        self.thread = Some(parent.into());
        self
    }

    /// Sets the heading.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }

    /// Adds a field.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push(Field {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Sets the markdown body.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Adds a button.
    pub fn button(mut self, button: Button) -> Self {
        self.buttons.push(button);
        self
    }

    /// Adds a mention.
    pub fn mention(mut self, mention: Mention) -> Self {
        self.mentions.push(mention);
        self
    }

    /// Sets the footer line.
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// Sets where the full text lives.
    pub fn link(mut self, url: impl Into<String>) -> Self {
        self.link = Some(url.into());
        self
    }

    /// The address of the full text: [`Message::link`], else the first link button's.
    pub fn full_text_url(&self) -> Option<&str> {
        self.link.as_deref().or_else(|| {
            self.buttons.iter().find_map(|b| match &b.kind {
                ButtonKind::Link { url } => Some(url.as_str()),
                ButtonKind::Action { .. } => None,
            })
        })
    }

    /// The smallest faithful form of this message, for a platform that refused the full one as too
    /// big: the severity, the title and summary cut short, the mentions and the first buttons; no
    /// fields, body or footer, and a note saying the message was shortened.
    pub fn minimal(&self) -> Message {
        const TITLE: usize = 200;
        const TEXT: usize = 500;
        const BUTTONS: usize = 5;
        let cut = |text: &str, max: usize| crate::chat::fit::cut_plain(text, max);
        Message {
            channel: self.channel.clone(),
            key: self.key.clone(),
            thread: self.thread.clone(),
            text: cut(&self.text, TEXT),
            title: self.title.as_deref().map(|t| cut(t, TITLE)),
            severity: self.severity,
            fields: Vec::new(),
            body: None,
            buttons: self.buttons.iter().take(BUTTONS).cloned().collect(),
            mentions: self.mentions.clone(),
            context: Some(match self.full_text_url() {
                Some(_) => "Shortened: the full message was too big for this platform; see the link.".into(),
                None => "Shortened: the full message was too big for this platform.".into(),
            }),
            link: self.link.clone(),
        }
    }

    /// Renders the message as plain text, resolving mentions with `mention` (for the console,
    /// logs and platforms without rich formatting).
    pub fn to_plain_text(&self, mention: impl Fn(&Mention) -> String) -> String {
        let mut out = String::new();
        let marker = self.severity.map(|s| format!("{} ", s.emoji())).unwrap_or_default();
        match &self.title {
            Some(title) => {
                out.push_str(&format!("{marker}{title}\n"));
                if !self.text.is_empty() && self.text != *title {
                    out.push_str(self.text.trim_end());
                    out.push('\n');
                }
            }
            None => {
                out.push_str(&marker);
                out.push_str(self.text.trim_end());
                out.push('\n');
            }
        }
        if !self.mentions.is_empty() {
            let names: Vec<String> = self.mentions.iter().map(&mention).collect();
            out.push_str(&format!("cc {}\n", names.join(" ")));
        }
        for field in &self.fields {
            out.push_str(&format!("  {}: {}\n", field.name, field.value));
        }
        if let Some(body) = &self.body {
            for line in body.lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
        }
        if !self.buttons.is_empty() {
            let labels: Vec<String> = self
                .buttons
                .iter()
                .map(|b| match &b.kind {
                    ButtonKind::Link { url } => format!("[{}]({url})", b.label),
                    ButtonKind::Action { id, value } => format!("[{}: {id} {value}]", b.label),
                })
                .collect();
            out.push_str(&format!("  {}\n", labels.join(" ")));
        }
        if let Some(context) = &self.context {
            out.push_str(&format!("  — {context}\n"));
        }
        out
    }
}

/// The first character of an action value that stands for a longer one (see [`value_digest`]).
pub const DIGEST_MARK: char = '~';

/// A short stand-in for an action value too long for a platform (Discord's `custom_id` holds the
/// action id and value in 100 characters): `~` and the first 96 bits of the value's SHA-256 in
/// hex. A plugin whose values can be long recognises it with [`value_matches`].
pub fn value_digest(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    format!("{DIGEST_MARK}{}", hex::encode(&digest[..12]))
}

/// True when the value a click brought back, `received`, is `value` or its [`value_digest`].
pub fn value_matches(received: &str, value: &str) -> bool {
    received == value || (received.starts_with(DIGEST_MARK) && received == value_digest(value))
}

/// True when `received` looks like a [`value_digest`] rather than a value as the plugin wrote it.
pub fn is_value_digest(received: &str) -> bool {
    received.len() == 25 && received.starts_with(DIGEST_MARK) && received[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A label/value pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// The label.
    pub name: String,
    /// The value (short markdown).
    pub value: String,
}

/// A button under a message: an action routed back to a plugin, or a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// What the button says.
    pub label: String,
    /// What it does.
    pub kind: ButtonKind,
    /// How it looks.
    #[serde(default)]
    pub style: ButtonStyle,
}

impl Button {
    /// A button that sends `id` (routed to the plugin that subscribes to its prefix) with `value`.
    pub fn action(label: impl Into<String>, id: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            kind: ButtonKind::Action {
                id: id.into(),
                value: value.into(),
            },
            style: ButtonStyle::Default,
        }
    }

    /// A button that opens `url`.
    pub fn link(label: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            kind: ButtonKind::Link { url: url.into() },
            style: ButtonStyle::Default,
        }
    }

    /// Sets the style.
    pub fn styled(mut self, style: ButtonStyle) -> Self {
        self.style = style;
        self
    }
}

/// What a button does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ButtonKind {
    /// Sends an action event with this id and value.
    Action {
        /// The action id, `<prefix>.<verb>`; the prefix routes it to a plugin.
        id: String,
        /// Opaque data for the plugin (an incident id, an alert key, …).
        value: String,
    },
    /// Opens a URL.
    Link {
        /// The address.
        url: String,
    },
}

/// How a button looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ButtonStyle {
    /// The platform's neutral style.
    #[default]
    Default,
    /// The emphasised, positive style.
    Primary,
    /// The destructive style.
    Danger,
}

/// Someone to notify, resolved per platform from the `[people]` and `[groups]` config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "name", rename_all = "lowercase")]
pub enum Mention {
    /// A person by their `[people.<name>]` key.
    Person(String),
    /// A group by its `[groups.<name>]` key (a Slack user group, a Discord role).
    Group(String),
    /// A platform user id as it arrived with a command (already native to that platform).
    User(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_shows_every_part_a_reader_needs() {
        let message = Message::new("security-incidents", "Dependabot alert #3 in org/app")
            .title("lodash: prototype pollution")
            .severity(Severity::High)
            .field("Package", "lodash (npm)")
            .body("Upgrade to 4.17.21.")
            .button(Button::link("View on GitHub", "https://github.com/org/app"))
            .mention(Mention::Group("security-champions".into()))
            .context("dependabot · org/app");
        let text = message.to_plain_text(|m| match m {
            Mention::Group(name) | Mention::Person(name) | Mention::User(name) => format!("@{name}"),
        });
        assert_eq!(
            text,
            "🟠 lodash: prototype pollution\nDependabot alert #3 in org/app\ncc @security-champions\n  \
             Package: lodash (npm)\n  Upgrade to 4.17.21.\n  [View on GitHub](https://github.com/org/app)\n  \
             — dependabot · org/app\n"
        );
    }

    #[test]
    fn a_digest_stands_for_a_long_value_and_a_minimal_message_is_small() {
        let key = format!("dependabot:{}/{}:20", "o".repeat(39), "r".repeat(100));
        let digest = value_digest(&key);
        assert_eq!(digest.len(), 25);
        assert!(is_value_digest(&digest) && !is_value_digest(&key));
        assert!(value_matches(&digest, &key) && value_matches(&key, &key));
        assert!(!value_matches(&value_digest("other"), &key));

        let big = Message::new("c", "x".repeat(10_000))
            .title("t".repeat(1000))
            .field("f", "v")
            .body("b".repeat(10_000))
            .button(Button::link("View", "https://github.com/o/r"))
            .mention(Mention::Person("alice".into()));
        let small = big.minimal();
        assert_eq!(small.text.chars().count(), 500);
        assert!(small.text.ends_with('…'));
        assert!(small.fields.is_empty() && small.body.is_none());
        assert_eq!(small.mentions, big.mentions, "who must know still gets to know");
        assert_eq!(small.full_text_url(), Some("https://github.com/o/r"));
    }
}
