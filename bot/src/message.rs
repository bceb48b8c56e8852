//! The platform-neutral message plugins produce. Adapters render it as Slack Block Kit, Discord
//! embeds and components, or plain text; plugins never see a platform's format.

use serde::{Deserialize, Serialize};

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
}
