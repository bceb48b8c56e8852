//! The neutral [`Message`] as Slack Block Kit.
//!
//! Layout: a section with the severity emoji, the bold title, the summary and the mentions; a
//! section of fields (ten per section, Slack's limit); the markdown body; the buttons (an actions
//! block of up to 25); and the context line. With a severity the blocks sit in one attachment
//! coloured by it, which is how Slack draws a coloured bar beside Block Kit content. `text` is
//! always set: it is the notification text and the fallback for clients without blocks.

use slack_morphism::prelude::*;

use crate::message::{Button, ButtonKind, ButtonStyle, Mention, Message};

/// Slack's longest section text.
const SECTION_MAX: usize = 3000;
/// Slack's longest section field.
const FIELD_MAX: usize = 2000;
/// Fields per section.
const FIELDS_PER_SECTION: usize = 10;
/// Elements per actions block.
const BUTTONS_PER_BLOCK: usize = 25;
/// Slack's longest button label.
const LABEL_MAX: usize = 75;
/// Slack's longest button value.
const VALUE_MAX: usize = 2000;
/// Slack's longest action id.
const ACTION_ID_MAX: usize = 255;

/// The action id prefix of link buttons. Slack reports clicks on them too; the ingress ignores them.
pub const LINK_ACTION_PREFIX: &str = "sentinel-link~";

/// Renders `message` for Slack, resolving mentions with `mention` (the directory's Slack syntax).
pub fn render(message: &Message, mention: impl Fn(&Mention) -> String) -> SlackMessageContent {
    let mentions: Vec<String> = message.mentions.iter().map(&mention).collect();
    let blocks = blocks(message, &mentions);
    let text = fallback_text(message, &mentions);
    let content = SlackMessageContent::new().with_text(text);
    match message.severity {
        Some(severity) => content.with_attachments(vec![
            SlackMessageAttachment::new()
                .with_color(format!("#{:06X}", severity.colour()))
                .with_fallback(summary_line(message))
                .with_blocks(blocks),
        ]),
        None => content.with_blocks(blocks),
    }
}

/// The action id Slack reports for a click, back to the neutral action id: duplicates in one
/// message were made unique with a `~n` suffix. `None` for link buttons.
pub fn action_id_of(slack_action_id: &str) -> Option<&str> {
    if slack_action_id.starts_with(LINK_ACTION_PREFIX) {
        return None;
    }
    match slack_action_id.rsplit_once('~') {
        Some((id, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => Some(id),
        _ => Some(slack_action_id),
    }
}

fn summary_line(message: &Message) -> String {
    let marker = message.severity.map(|s| format!("{} ", s.emoji())).unwrap_or_default();
    match &message.title {
        Some(title) if !message.text.is_empty() && message.text != *title => {
            format!("{marker}{title}: {}", message.text.trim_end())
        }
        Some(title) => format!("{marker}{title}"),
        None => format!("{marker}{}", message.text.trim_end()),
    }
}

fn fallback_text(message: &Message, mentions: &[String]) -> String {
    let mut text = truncate(&mrkdwn(&summary_line(message)), SECTION_MAX);
    if !mentions.is_empty() {
        text.push_str(&format!("\ncc {}", mentions.join(" ")));
    }
    text
}

fn blocks(message: &Message, mentions: &[String]) -> Vec<SlackBlock> {
    let mut blocks = Vec::new();
    let marker = message.severity.map(|s| format!("{} ", s.emoji())).unwrap_or_default();
    let mut head = match &message.title {
        Some(title) => {
            let mut head = format!("{marker}*{}*", mrkdwn(title));
            if !message.text.is_empty() && message.text != *title {
                head.push('\n');
                head.push_str(&mrkdwn(message.text.trim_end()));
            }
            head
        }
        None => format!("{marker}{}", mrkdwn(message.text.trim_end())),
    };
    if !mentions.is_empty() {
        head.push_str(&format!("\ncc {}", mentions.join(" ")));
    }
    if !head.trim().is_empty() {
        blocks.push(section(truncate(&head, SECTION_MAX)));
    }
    for chunk in message.fields.chunks(FIELDS_PER_SECTION) {
        let fields = chunk
            .iter()
            .map(|f| {
                let text = format!("*{}*\n{}", mrkdwn(&f.name), mrkdwn(&f.value));
                SlackBlockText::MarkDown(SlackBlockMarkDownText::new(truncate(&text, FIELD_MAX)))
            })
            .collect();
        blocks.push(SlackSectionBlock::new().with_fields(fields).into());
    }
    if let Some(body) = message.body.as_deref().filter(|b| !b.trim().is_empty()) {
        blocks.push(section(truncate(&mrkdwn(body.trim_end()), SECTION_MAX)));
    }
    let buttons = buttons(&message.buttons);
    for chunk in buttons.chunks(BUTTONS_PER_BLOCK) {
        blocks.push(SlackActionsBlock::new(chunk.to_vec()).into());
    }
    if let Some(context) = message.context.as_deref().filter(|c| !c.trim().is_empty()) {
        blocks.push(
            SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(SlackBlockMarkDownText::new(
                truncate(&mrkdwn(context), SECTION_MAX),
            ))])
            .into(),
        );
    }
    blocks
}

fn section(text: String) -> SlackBlock {
    SlackSectionBlock::new()
        .with_text(SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text)))
        .into()
}

fn buttons(buttons: &[Button]) -> Vec<SlackActionBlockElement> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (index, button) in buttons.iter().enumerate() {
        let label: SlackBlockPlainTextOnly = SlackBlockPlainText::new(truncate(&button.label, LABEL_MAX)).into();
        let element = match &button.kind {
            ButtonKind::Action { id, value } => {
                // Slack requires unique action ids within a message; the suffix is removed on the way back.
                let action_id = if seen.contains(&id.as_str()) {
                    format!("{id}~{index}")
                } else {
                    id.clone()
                };
                seen.push(id);
                if action_id.len() > ACTION_ID_MAX || value.len() > VALUE_MAX {
                    tracing::warn!(action = %id, "button action id or value too long for Slack; button left out");
                    continue;
                }
                SlackBlockButtonElement::new(label)
                    .with_action_id(SlackActionId::new(action_id))
                    .with_value(value.clone())
            }
            ButtonKind::Link { url } => match url.parse() {
                Ok(url) => SlackBlockButtonElement::new(label)
                    .with_action_id(SlackActionId::new(format!("{LINK_ACTION_PREFIX}{index}")))
                    .with_url(url),
                Err(_) => {
                    tracing::warn!(url = %url, "link button with an invalid URL left out");
                    continue;
                }
            },
        };
        let element = match button.style {
            ButtonStyle::Default => element,
            ButtonStyle::Primary => element.with_style(SlackBlockButtonStyle::Primary),
            ButtonStyle::Danger => element.with_style(SlackBlockButtonStyle::Danger),
        };
        out.push(SlackActionBlockElement::Button(element));
    }
    out
}

/// Converts the neutral markdown (`**bold**`, `[label](url)`) to Slack mrkdwn and escapes `&`, `<`
/// and `>`, keeping Slack's own tokens (`<@U1>`, `<!subteam^S1>`, `<#C1>`, `<https://…|label>`).
pub fn mrkdwn(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            let inner = &rest[1..end];
            let token = ["@", "#", "!", "http://", "https://", "mailto:"]
                .iter()
                .any(|p| inner.starts_with(p));
            if token && !inner.contains('<') && !inner.contains('\n') {
                out.push_str(&rest[..=end]);
                rest = &rest[end + 1..];
                continue;
            }
        }
        if c == '['
            && let Some((label, url, len)) = markdown_link(rest)
        {
            out.push('<');
            out.push_str(&url.replace('|', "%7C"));
            out.push('|');
            out.push_str(&escape(label));
            out.push('>');
            rest = &rest[len..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("**")
            && let Some(end) = after.find("**")
            && end > 0
        {
            out.push('*');
            out.push_str(&mrkdwn(&after[..end]));
            out.push('*');
            rest = &after[end + 2..];
            continue;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `[label](url)` at the start of `text`: the label, the URL and the length consumed.
fn markdown_link(text: &str) -> Option<(&str, &str, usize)> {
    let close = text.find(']')?;
    let label = &text[1..close];
    if label.is_empty() || label.contains('\n') || label.contains('[') {
        return None;
    }
    let after = text[close + 1..].strip_prefix('(')?;
    let end = after.find(')')?;
    let url = &after[..end];
    if !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with("mailto:"))
        || url.contains(char::is_whitespace)
    {
        return None;
    }
    Some((label, url, close + 2 + end + 1))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
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

    fn sample() -> Message {
        Message::new("security-incidents", "Dependabot alert #3 in org/app")
            .title("lodash: prototype pollution")
            .severity(Severity::High)
            .field("Package", "lodash (npm)")
            .field("Fix", "upgrade to **4.17.21**")
            .body("See [the advisory](https://github.com/advisories/GHSA-1) & act < 7 days.")
            .button(Button::action("Acknowledge", "alert.ack", "org/app#3").styled(ButtonStyle::Primary))
            .button(Button::action("Dismiss", "alert.ack", "dismiss").styled(ButtonStyle::Danger))
            .button(Button::link(
                "View on GitHub",
                "https://github.com/org/app/security/dependabot/3",
            ))
            .mention(Mention::Group("security-champions".into()))
            .mention(Mention::Person("alice".into()))
            .context("dependabot · org/app")
    }

    fn slack_mention(m: &Mention) -> String {
        match m {
            Mention::Group(_) => "<!subteam^S0CHAMPS>".into(),
            Mention::Person(_) | Mention::User(_) => "<@U0ALICE>".into(),
        }
    }

    #[test]
    fn a_full_message_becomes_coloured_block_kit() {
        let content = render(&sample(), slack_mention);
        let json = serde_json::to_value(&content).expect("json");
        assert_eq!(
            json["text"],
            "🟠 lodash: prototype pollution: Dependabot alert #3 in org/app\ncc <!subteam^S0CHAMPS> <@U0ALICE>"
        );
        assert!(json.get("blocks").is_none(), "blocks live in the coloured attachment");
        let attachment = &json["attachments"][0];
        assert_eq!(attachment["color"], "#F57C00");
        let blocks = attachment["blocks"].as_array().expect("blocks");
        let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap_or("")).collect();
        assert_eq!(types, ["section", "section", "section", "actions", "context"]);
        assert_eq!(
            blocks[0]["text"],
            json!({"type": "mrkdwn", "text": "🟠 *lodash: prototype pollution*\nDependabot alert #3 in org/app\ncc <!subteam^S0CHAMPS> <@U0ALICE>"})
        );
        assert_eq!(blocks[1]["fields"][0]["text"], "*Package*\nlodash (npm)");
        assert_eq!(blocks[1]["fields"][1]["text"], "*Fix*\nupgrade to *4.17.21*");
        assert_eq!(
            blocks[2]["text"]["text"],
            "See <https://github.com/advisories/GHSA-1|the advisory> &amp; act &lt; 7 days."
        );
        let buttons = blocks[3]["elements"].as_array().expect("buttons");
        assert_eq!(
            buttons[0],
            json!({"type": "button", "action_id": "alert.ack", "text": {"type": "plain_text", "text": "Acknowledge"}, "value": "org/app#3", "style": "primary"})
        );
        assert_eq!(
            buttons[1]["action_id"], "alert.ack~1",
            "duplicate action ids are made unique"
        );
        assert_eq!(buttons[1]["style"], "danger");
        assert_eq!(buttons[2]["url"], "https://github.com/org/app/security/dependabot/3");
        assert_eq!(buttons[2]["action_id"], "sentinel-link~2");
        assert_eq!(blocks[4]["elements"][0]["text"], "dependabot · org/app");
    }

    #[test]
    fn a_plain_reply_is_one_section_without_attachment() {
        let content = render(&Message::reply("Acknowledged <by> you"), slack_mention);
        let json = serde_json::to_value(&content).expect("json");
        assert_eq!(json["text"], "Acknowledged &lt;by&gt; you");
        assert_eq!(json["blocks"].as_array().map(Vec::len), Some(1));
        assert!(json.get("attachments").is_none());
    }

    #[test]
    fn slack_tokens_survive_and_action_ids_come_back() {
        assert_eq!(
            mrkdwn("ping <@U1|al> and <!subteam^S1> a<b"),
            "ping <@U1|al> and <!subteam^S1> a&lt;b"
        );
        assert_eq!(mrkdwn("**x** [y](ftp://z)"), "*x* [y](ftp://z)");
        assert_eq!(action_id_of("alert.ack~12"), Some("alert.ack"));
        assert_eq!(action_id_of("alert.ack"), Some("alert.ack"));
        assert_eq!(action_id_of("a~b"), Some("a~b"));
        assert_eq!(action_id_of("sentinel-link~0"), None);
    }

    #[test]
    fn eleven_fields_need_two_sections_and_long_text_is_cut() {
        let mut message = Message::new("c", "x".repeat(4000));
        for i in 0..11 {
            message = message.field(format!("f{i}"), "v");
        }
        let json = serde_json::to_value(render(&message, slack_mention)).expect("json");
        let blocks = json["blocks"].as_array().expect("blocks");
        assert_eq!(
            blocks[0]["text"]["text"].as_str().map(|t| t.chars().count()),
            Some(3000)
        );
        assert_eq!(blocks[1]["fields"].as_array().map(Vec::len), Some(10));
        assert_eq!(blocks[2]["fields"].as_array().map(Vec::len), Some(1));
    }
}
