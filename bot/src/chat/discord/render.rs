//! The neutral [`Message`] as a Discord embed with buttons, built with serenity's builders.
//!
//! A message with only text is sent as plain content. Anything richer becomes one embed: the
//! severity emoji and title, the summary and body as the description, the fields (inline when
//! short), the context line as the footer, the severity as the colour; buttons go below in action
//! rows of five. Mentions go in the content, because mentions inside embeds notify nobody, and
//! only the people and roles the message names may be pinged (never `@everyone`).

use serenity::all::{ButtonStyle as DiscordButtonStyle, RoleId, UserId};
use serenity::builder::{
    CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed, CreateEmbedFooter,
    CreateInteractionResponseFollowup, CreateMessage, EditMessage,
};

use crate::message::{ButtonKind, ButtonStyle, Mention, Message};

const CONTENT_MAX: usize = 2000;
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FIELDS_MAX: usize = 25;
const FIELD_NAME_MAX: usize = 256;
const FIELD_VALUE_MAX: usize = 1024;
const FOOTER_MAX: usize = 2048;
const LABEL_MAX: usize = 80;
const CUSTOM_ID_MAX: usize = 100;
const BUTTONS_PER_ROW: usize = 5;
const ROWS_MAX: usize = 5;
/// Fields this short sit side by side.
const INLINE_MAX: usize = 40;

/// A message ready for any of Discord's message endpoints.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Plain content: the text of a simple message, else the mentions.
    pub content: String,
    /// Zero or one embed.
    pub embeds: Vec<CreateEmbed>,
    /// Button rows.
    pub components: Vec<CreateActionRow>,
    /// Who may be pinged.
    pub allowed_mentions: CreateAllowedMentions,
}

impl Rendered {
    /// A new channel message; `nonce` makes a retried send idempotent.
    pub fn create(self, nonce: String) -> CreateMessage {
        CreateMessage::new()
            .content(self.content)
            .embeds(self.embeds)
            .components(self.components)
            .allowed_mentions(self.allowed_mentions)
            .nonce(serenity::all::Nonce::String(nonce))
            .enforce_nonce(true)
    }

    /// A full replacement of an earlier message: parts left out are cleared, not kept.
    pub fn edit(self) -> EditMessage {
        EditMessage::new()
            .content(self.content)
            .embeds(self.embeds)
            .components(self.components)
            .allowed_mentions(self.allowed_mentions)
    }

    /// A follow-up to an interaction, visible to its user only when `ephemeral`.
    pub fn followup(self, ephemeral: bool) -> CreateInteractionResponseFollowup {
        CreateInteractionResponseFollowup::new()
            .content(self.content)
            .embeds(self.embeds)
            .components(self.components)
            .allowed_mentions(self.allowed_mentions)
            .ephemeral(ephemeral)
    }
}

/// Renders `message` for Discord, resolving mentions with `mention` (the directory's Discord syntax).
pub fn render(message: &Message, mention: impl Fn(&Mention) -> String) -> Rendered {
    let mentions: Vec<String> = message.mentions.iter().map(&mention).collect();
    let allowed_mentions = allowed(&mentions);
    let marker = message.severity.map(|s| format!("{} ", s.emoji())).unwrap_or_default();
    let simple = message.title.is_none()
        && message.severity.is_none()
        && message.fields.is_empty()
        && message.body.is_none()
        && message.buttons.is_empty()
        && message.context.is_none();
    if simple {
        let mut content = message.text.trim_end().to_owned();
        if !mentions.is_empty() {
            content.push_str(&format!("\ncc {}", mentions.join(" ")));
        }
        return Rendered {
            content: truncate(&content, CONTENT_MAX),
            embeds: Vec::new(),
            components: Vec::new(),
            allowed_mentions,
        };
    }

    let mut embed = CreateEmbed::new();
    let mut description = String::new();
    match &message.title {
        Some(title) => {
            embed = embed.title(truncate(&format!("{marker}{title}"), TITLE_MAX));
            if !message.text.is_empty() && message.text != *title {
                description.push_str(message.text.trim_end());
            }
        }
        None => description.push_str(&format!("{marker}{}", message.text.trim_end())),
    }
    if let Some(body) = message.body.as_deref().filter(|b| !b.trim().is_empty()) {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(body.trim_end());
    }
    if !description.trim().is_empty() {
        embed = embed.description(truncate(&description, DESCRIPTION_MAX));
    }
    if let Some(severity) = message.severity {
        embed = embed.colour(severity.colour());
    }
    for field in message.fields.iter().take(FIELDS_MAX) {
        let inline = field.name.chars().count() <= INLINE_MAX && field.value.chars().count() <= INLINE_MAX;
        let value = if field.value.trim().is_empty() {
            "—"
        } else {
            &field.value
        };
        embed = embed.field(
            truncate(&field.name, FIELD_NAME_MAX),
            truncate(value, FIELD_VALUE_MAX),
            inline,
        );
    }
    if let Some(context) = message.context.as_deref().filter(|c| !c.trim().is_empty()) {
        embed = embed.footer(CreateEmbedFooter::new(truncate(context, FOOTER_MAX)));
    }
    let content = if mentions.is_empty() {
        String::new()
    } else {
        truncate(&mentions.join(" "), CONTENT_MAX)
    };
    Rendered {
        content,
        embeds: vec![embed],
        components: rows(message),
        allowed_mentions,
    }
}

/// The custom id of an action button: the action id and its value, which Discord hands back on a
/// click (it has no separate value field).
pub fn custom_id(id: &str, value: &str) -> String {
    format!("{id}|{value}")
}

/// The action id and value of a clicked button's custom id.
pub fn parse_custom_id(custom_id: &str) -> (&str, &str) {
    custom_id.split_once('|').unwrap_or((custom_id, ""))
}

fn rows(message: &Message) -> Vec<CreateActionRow> {
    let mut seen: Vec<String> = Vec::new();
    let mut buttons = Vec::new();
    for button in &message.buttons {
        let label = truncate(&button.label, LABEL_MAX);
        let created = match &button.kind {
            ButtonKind::Action { id, value } => {
                let custom = custom_id(id, value);
                if custom.len() > CUSTOM_ID_MAX || seen.contains(&custom) {
                    tracing::warn!(action = %id, "button too long for Discord or repeated; left out");
                    continue;
                }
                seen.push(custom.clone());
                let style = match button.style {
                    ButtonStyle::Default => DiscordButtonStyle::Secondary,
                    ButtonStyle::Primary => DiscordButtonStyle::Primary,
                    ButtonStyle::Danger => DiscordButtonStyle::Danger,
                };
                CreateButton::new(custom).label(label).style(style)
            }
            ButtonKind::Link { url } => CreateButton::new_link(url.clone()).label(label),
        };
        buttons.push(created);
    }
    buttons
        .chunks(BUTTONS_PER_ROW)
        .take(ROWS_MAX)
        .map(|chunk| CreateActionRow::Buttons(chunk.to_vec()))
        .collect()
}

/// Only the users and roles the message mentions may be pinged.
fn allowed(mentions: &[String]) -> CreateAllowedMentions {
    let mut users = Vec::new();
    let mut roles = Vec::new();
    for rendered in mentions {
        for token in rendered.split_whitespace() {
            let Some(inner) = token.strip_prefix("<@").and_then(|t| t.strip_suffix('>')) else {
                continue;
            };
            if let Some(role) = inner.strip_prefix('&') {
                if let Ok(id) = role.parse::<u64>()
                    && id != 0
                {
                    roles.push(RoleId::new(id));
                }
            } else if let Ok(id) = inner.trim_start_matches('!').parse::<u64>()
                && id != 0
            {
                users.push(UserId::new(id));
            }
        }
    }
    CreateAllowedMentions::new().everyone(false).users(users).roles(roles)
}

/// Cuts `text` to at most `max` characters, marking the cut with an ellipsis.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::message::Button;
    use crate::severity::Severity;

    fn discord_mention(m: &Mention) -> String {
        match m {
            Mention::Group(_) => "<@&555>".into(),
            Mention::Person(_) | Mention::User(_) => "<@111>".into(),
        }
    }

    fn sample() -> Message {
        Message::new("security-incidents", "Dependabot alert #3 in org/app")
            .title("lodash: prototype pollution")
            .severity(Severity::Critical)
            .field("Package", "lodash (npm)")
            .field("Advisory", "x".repeat(50))
            .body("Upgrade to **4.17.21**.")
            .button(Button::action("Acknowledge", "alert.ack", "org/app#3").styled(ButtonStyle::Primary))
            .button(Button::action("Dismiss", "alert.dismiss", "org/app#3").styled(ButtonStyle::Danger))
            .button(Button::link("View on GitHub", "https://github.com/org/app"))
            .mention(Mention::Group("security-champions".into()))
            .mention(Mention::Person("alice".into()))
            .context("dependabot · org/app")
    }

    #[test]
    fn a_full_message_becomes_one_coloured_embed_with_buttons() {
        let message = render(&sample(), discord_mention).create("n1".into());
        let json = serde_json::to_value(&message).expect("json");
        assert_eq!(json["content"], "<@&555> <@111>");
        assert_eq!(
            json["allowed_mentions"],
            json!({"parse": [], "users": ["111"], "roles": ["555"]})
        );
        let embed = &json["embeds"][0];
        assert_eq!(embed["title"], "🔴 lodash: prototype pollution");
        assert_eq!(
            embed["description"],
            "Dependabot alert #3 in org/app\n\nUpgrade to **4.17.21**."
        );
        assert_eq!(embed["color"], 0xD0212E);
        assert_eq!(
            embed["fields"][0],
            json!({"name": "Package", "value": "lodash (npm)", "inline": true})
        );
        assert_eq!(embed["fields"][1]["inline"], false, "long values take the full width");
        assert_eq!(embed["footer"]["text"], "dependabot · org/app");
        let buttons = json["components"][0]["components"].as_array().expect("buttons");
        assert_eq!(json["components"][0]["type"], 1);
        assert_eq!(buttons[0]["custom_id"], "alert.ack|org/app#3");
        assert_eq!(buttons[0]["style"], 1, "primary");
        assert_eq!(buttons[1]["style"], 4, "danger");
        assert_eq!(buttons[2]["style"], 5, "link");
        assert_eq!(buttons[2]["url"], "https://github.com/org/app");
        assert_eq!(json["nonce"], "n1");
        assert_eq!(json["enforce_nonce"], true);
    }

    #[test]
    fn a_plain_reply_is_content_only_and_an_edit_clears_what_it_drops() {
        let edit = render(&Message::reply("Acknowledged."), discord_mention).edit();
        let json = serde_json::to_value(&edit).expect("json");
        assert_eq!(json["content"], "Acknowledged.");
        assert_eq!(json["embeds"], json!([]));
        assert_eq!(json["components"], json!([]));
    }

    #[test]
    fn custom_ids_round_trip_and_seven_buttons_take_two_rows() {
        assert_eq!(
            parse_custom_id(&custom_id("incident.ack", "42|x")),
            ("incident.ack", "42|x")
        );
        assert_eq!(parse_custom_id("plain"), ("plain", ""));
        let mut message = Message::new("c", "t").title("t");
        for i in 0..7 {
            message = message.button(Button::action(format!("b{i}"), "x.y", i.to_string()));
        }
        let rendered = render(&message, discord_mention);
        assert_eq!(rendered.components.len(), 2);
    }
}
