//! The neutral [`Message`] as a Discord embed with buttons, built with serenity's builders.
//!
//! A message with only text is sent as plain content. Anything richer becomes one embed: the
//! severity emoji and title, the summary and body as the description, the fields (inline when
//! short), the context line as the footer, the severity as the colour; buttons go below in action
//! rows of five. Mentions go in the content, because mentions inside embeds notify nobody, and
//! only the people and roles the message names may be pinged (never `@everyone`).
//!
//! Mention syntax in the message's text (`@everyone`, `@here`, `<@123>`, `<@&123>`, `<#123>`) is
//! broken with a zero-width space, so it shows as text and is no mention even where
//! `allowed_mentions` would not apply. Every part is cut to Discord's limits (content 2,000, title
//! 256, description 4,096, 25 fields of 256 / 1,024, footer 2,048, all of the embed together
//! 6,000; label 80, `custom_id` 100, 5 rows of 5 buttons), a cut ending with "…" and a link to the
//! full text when the message has one. An action button whose id and value do not fit in a
//! `custom_id` carries the value's digest instead ([`crate::message::value_digest`]).

use serenity::all::{ButtonStyle as DiscordButtonStyle, RoleId, UserId};
use serenity::builder::{
    CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed, CreateEmbedFooter,
    CreateInteractionResponseFollowup, CreateMessage, EditMessage,
};

use crate::chat::fit::{self, Pieces, units};
use crate::message::{ButtonKind, ButtonStyle, Mention, Message, value_digest};

const CONTENT_MAX: usize = 2000;
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FIELDS_MAX: usize = 25;
const FIELD_NAME_MAX: usize = 256;
const FIELD_VALUE_MAX: usize = 1024;
const FOOTER_MAX: usize = 2048;
/// Title, description, field names and values, footer and author of an embed together.
const EMBED_MAX: usize = 6000;
const LABEL_MAX: usize = 80;
const CUSTOM_ID_MAX: usize = 100;
/// Discord's longest link-button URL.
const URL_MAX: usize = 512;
const BUTTONS_PER_ROW: usize = 5;
const ROWS_MAX: usize = 5;
/// The mentions in the content of a plain message.
const MENTIONS_MAX: usize = 1000;
/// Fields this short sit side by side.
const INLINE_MAX: usize = 40;
/// The longest full-text address worth a link at a cut.
const LINK_MAX: usize = 500;
/// Breaks mention syntax without showing anything.
const ZERO_WIDTH_SPACE: char = '\u{200B}';

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
    let mentions: Vec<String> = message
        .mentions
        .iter()
        .flat_map(|m| mention_tokens(&mention(m)))
        .collect();
    let tail = message.full_text_url().map(link_tail).unwrap_or_default();
    let marker = message.severity.map(|s| format!("{} ", s.emoji())).unwrap_or_default();
    let simple = message.title.is_none()
        && message.severity.is_none()
        && message.fields.is_empty()
        && message.body.is_none()
        && message.buttons.is_empty()
        && message.context.is_none();
    if simple {
        let (tokens, _) = fit::whole_tokens(&mentions, MENTIONS_MAX);
        let cc = if tokens.is_empty() {
            String::new()
        } else {
            format!("\ncc {}", tokens.join(" "))
        };
        let room = CONTENT_MAX - units(&cc);
        let mut content = pieces(message.text.trim_end(), room).fit(room, &tail);
        if content.trim().is_empty() && cc.is_empty() {
            // Discord refuses an empty message.
            content = "—".into();
        }
        content.push_str(&cc);
        return Rendered {
            content,
            embeds: Vec::new(),
            components: Vec::new(),
            allowed_mentions: allowed(&tokens),
        };
    }

    let (tokens, _) = fit::whole_tokens(&mentions, CONTENT_MAX);
    Rendered {
        content: tokens.join(" "),
        embeds: vec![embed(message, &marker, &tail)],
        components: rows(message),
        allowed_mentions: allowed(&tokens),
    }
}

/// The embed, every part within its limit and all of them within [`EMBED_MAX`].
fn embed(message: &Message, marker: &str, tail: &str) -> CreateEmbed {
    let title = message.title.as_deref().filter(|t| !t.trim().is_empty());
    let title = title.map(|t| pieces(&format!("{marker}{t}"), TITLE_MAX));
    let shown_text = match &message.title {
        Some(title) if message.text == *title => "",
        Some(_) => message.text.trim_end(),
        None => &message.text,
    };
    let text = match (&message.title, shown_text.trim().is_empty()) {
        (None, _) if !marker.is_empty() => Some(pieces(&format!("{marker}{}", shown_text.trim_end()), DESCRIPTION_MAX)),
        (_, false) => Some(pieces(shown_text.trim_end(), DESCRIPTION_MAX)),
        _ => None,
    };
    let body = message.body.as_deref().filter(|b| !b.trim().is_empty());
    let body = body.map(|b| pieces(b.trim_end(), DESCRIPTION_MAX));
    let fields = fit::fields(&message.fields, FIELDS_MAX);
    let field_parts: Vec<(Pieces, Pieces, bool)> = fields
        .iter()
        .map(|f| {
            let inline = f.name.chars().nth(INLINE_MAX).is_none() && f.value.chars().nth(INLINE_MAX).is_none();
            (
                pieces(blank_dash(&f.name), FIELD_NAME_MAX),
                pieces(blank_dash(&f.value), FIELD_VALUE_MAX),
                inline,
            )
        })
        .collect();
    let footer = message.context.as_deref().filter(|c| !c.trim().is_empty());
    let footer = footer.map(|c| pieces(c, FOOTER_MAX));

    let want = |p: &Option<Pieces>, max: usize| p.as_ref().map_or(0, |p| p.units().min(max));
    // The description holds the summary and the body, two line breaks apart.
    let separator = if text.is_some() && body.is_some() { 2 } else { 0 };
    let description = fit::share(
        &[want(&text, DESCRIPTION_MAX), want(&body, DESCRIPTION_MAX)],
        DESCRIPTION_MAX - separator,
    );
    let mut wanted = vec![
        want(&title, TITLE_MAX),
        description[0],
        description[1],
        want(&footer, FOOTER_MAX),
    ];
    for (name, value, _) in &field_parts {
        wanted.push(name.units().min(FIELD_NAME_MAX));
        wanted.push(value.units().min(FIELD_VALUE_MAX));
    }
    let shares = fit::share(&wanted, EMBED_MAX - separator);
    let share_of = |i: usize| shares.get(i).copied().unwrap_or(0);

    let mut embed = CreateEmbed::new();
    let mut empty = true;
    if let Some(title) = &title {
        embed = embed.title(title.fit(share_of(0), ""));
        empty = false;
    }
    let text = text.map(|t| t.fit(share_of(1), tail)).filter(|t| !t.trim().is_empty());
    let body = body.map(|b| b.fit(share_of(2), tail)).filter(|b| !b.trim().is_empty());
    let description = match (text, body) {
        (Some(text), Some(body)) => Some(format!("{text}\n\n{body}")),
        (text, body) => text.or(body),
    };
    if let Some(description) = description {
        embed = embed.description(description);
        empty = false;
    }
    if let Some(severity) = message.severity {
        embed = embed.colour(severity.colour());
    }
    for (i, (name, value, inline)) in field_parts.iter().enumerate() {
        let name = name.fit(share_of(4 + 2 * i).max(1), "");
        let value = value.fit(share_of(5 + 2 * i).max(1), tail);
        embed = embed.field(name, value, *inline);
        empty = false;
    }
    if let Some(footer) = &footer {
        embed = embed.footer(CreateEmbedFooter::new(footer.fit(share_of(3), "")));
        empty = false;
    }
    if empty {
        // Discord refuses an empty embed.
        embed = embed.description("—");
    }
    embed
}

/// The custom id of an action button: the action id and its value, which Discord hands back on a
/// click (it has no separate value field). When they do not fit in 100 characters the value's
/// digest stands in for it; `None` when not even that fits (an action id over 74 characters).
pub fn custom_id(id: &str, value: &str) -> Option<String> {
    if !fit::longer_than(value, CUSTOM_ID_MAX) {
        let plain = format!("{id}|{value}");
        if units(&plain) <= CUSTOM_ID_MAX {
            return Some(plain);
        }
    }
    let compact = format!("{id}|{}", value_digest(value));
    (units(&compact) <= CUSTOM_ID_MAX).then_some(compact)
}

/// The action id and value of a clicked button's custom id.
pub fn parse_custom_id(custom_id: &str) -> (&str, &str) {
    custom_id.split_once('|').unwrap_or((custom_id, ""))
}

/// The tokens of a mention as the directory rendered it: `<@123>`, `<@!123>` and `<@&123>` stay
/// live, anything else (a fallback `@name`) is escaped text.
fn mention_tokens(rendered: &str) -> Vec<String> {
    rendered
        .split_whitespace()
        .map(|token| {
            let id = token
                .strip_prefix("<@")
                .and_then(|t| t.strip_suffix('>'))
                .map(|t| t.trim_start_matches(['!', '&']));
            if id.is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())) {
                token.to_owned()
            } else {
                pieces(token, usize::MAX / 4).fit(usize::MAX, "")
            }
        })
        .collect()
}

/// ` [full text](url)` for a cut, when `url` is a web address short enough to be worth it.
fn link_tail(url: &str) -> String {
    let web = url.starts_with("https://") || url.starts_with("http://");
    let breaks = |c: char| c.is_whitespace() || matches!(c, '(' | ')' | '<' | '>' | '[' | ']');
    if !web || fit::longer_than(url, LINK_MAX) || url.contains(breaks) {
        return String::new();
    }
    format!(" [full text]({url})")
}

/// `text` with mention syntax broken, as pieces a cut never splits, of at most the part of `text`
/// an output of `max` units can show.
fn pieces(text: &str, max: usize) -> Pieces {
    let (raw, partial) = fit::raw_prefix(text, max);
    let mut out = Pieces::new();
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        let breaks = match c {
            '@' => {
                after.starts_with("everyone")
                    || after.starts_with("here")
                    || after.starts_with(['!', '&'])
                    || after.starts_with(|n: char| n.is_ascii_digit())
            }
            '<' => after.starts_with(['#', '/', '@']),
            _ => false,
        };
        if breaks {
            let mut piece = String::from(c);
            piece.push(ZERO_WIDTH_SPACE);
            out.push(&piece);
        } else {
            out.push_char(c);
        }
        rest = after;
    }
    if partial {
        out.mark_partial();
    }
    out
}

fn blank_dash(text: &str) -> &str {
    if text.trim().is_empty() { "—" } else { text }
}

fn rows(message: &Message) -> Vec<CreateActionRow> {
    let mut seen: Vec<String> = Vec::new();
    let mut buttons = Vec::new();
    for button in &message.buttons {
        if buttons.len() == BUTTONS_PER_ROW * ROWS_MAX {
            tracing::warn!(
                buttons = message.buttons.len(),
                "more buttons than Discord shows; the rest left out"
            );
            break;
        }
        let label = fit::cut_plain(blank_dash(button.label.trim()), LABEL_MAX);
        let created = match &button.kind {
            ButtonKind::Action { id, value } => {
                let Some(custom) = custom_id(id, value) else {
                    tracing::warn!(action = %id, "action id too long for a Discord custom_id; button left out");
                    continue;
                };
                if seen.contains(&custom) {
                    tracing::warn!(action = %id, "the same button twice; the repeat left out");
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
            ButtonKind::Link { url } => {
                let web = url.starts_with("https://") || url.starts_with("http://");
                if !web || fit::longer_than(url, URL_MAX) || url.contains(char::is_whitespace) {
                    tracing::warn!("link button with a URL Discord does not take left out");
                    continue;
                }
                CreateButton::new_link(url.clone()).label(label)
            }
        };
        buttons.push(created);
    }
    buttons
        .chunks(BUTTONS_PER_ROW)
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
        let id = custom_id("incident.ack", "42|x").expect("fits");
        assert_eq!(parse_custom_id(&id), ("incident.ack", "42|x"));
        let key = format!("dependabot:{}/{}:20", "o".repeat(39), "r".repeat(100));
        let compact = custom_id("alert.incident", &key).expect("a digest fits");
        assert!(compact.len() <= 100);
        let (id, value) = parse_custom_id(&compact);
        assert_eq!(id, "alert.incident", "the click still reaches the alert notifier");
        assert!(crate::message::value_matches(value, &key));
        assert_eq!(
            custom_id(&"x".repeat(80), &"v".repeat(30)),
            None,
            "an action id this long is a bug"
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
