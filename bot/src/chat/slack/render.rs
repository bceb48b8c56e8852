//! The neutral [`Message`] as Slack Block Kit.
//!
//! Layout: a section with the severity emoji, the bold title, the summary and the mentions; a
//! section of fields (ten per section, Slack's limit); the markdown body; the buttons (an actions
//! block of up to 25); and the context line. With a severity the blocks sit in one attachment
//! coloured by it, which is how Slack draws a coloured bar beside Block Kit content. `text` is
//! always set: it is the notification text and the fallback for clients without blocks.
//!
//! Every string of the message is escaped (`&`, `<`, `>` as Slack documents), so mention syntax in
//! it stays text; the only live mentions are the message's own `mentions`, resolved by the
//! directory and checked to be Slack mention tokens. Every part is cut to Slack's limits (section
//! 3,000, field 2,000, label 75, action id 255, value 2,000, URL 3,000) and the blocks' text to
//! 12,000 in total, below which Slack stops refusing block payloads as `msg_blocks_too_long`; a
//! cut ends with "…" and a link to the full text when the message has one.

use slack_morphism::prelude::*;

use crate::chat::fit::{self, Pieces, units};
use crate::message::{Button, ButtonKind, ButtonStyle, Mention, Message, value_digest};

/// Slack's longest section text.
const SECTION_MAX: usize = 3000;
/// Slack's longest section field.
const FIELD_MAX: usize = 2000;
/// Fields per section.
const FIELDS_PER_SECTION: usize = 10;
/// Fields shown; more are summed up in the last one.
const FIELDS_MAX: usize = 25;
/// Buttons shown: one actions block (Slack's limit per block).
const BUTTONS_MAX: usize = 25;
/// Slack's longest button label.
const LABEL_MAX: usize = 75;
/// Slack's longest button value.
const VALUE_MAX: usize = 2000;
/// Slack's longest action id.
const ACTION_ID_MAX: usize = 255;
/// Slack's longest button URL.
const URL_MAX: usize = 3000;
/// The notification text and the attachment fallback (Slack truncates `text` at 40,000 and
/// recommends 4,000).
const TEXT_MAX: usize = 3000;
/// The text of all blocks together.
const BLOCKS_TEXT_MAX: usize = 12_000;
/// The mentions line.
const MENTIONS_MAX: usize = 1000;
/// The title within the first section.
const TITLE_MAX: usize = 500;
/// A field's label within the field.
const FIELD_NAME_MAX: usize = 200;
/// The longest full-text address worth a link at a cut.
const LINK_MAX: usize = 500;

/// The action id prefix of link buttons. Slack reports clicks on them too; the ingress ignores them.
pub const LINK_ACTION_PREFIX: &str = "sentinel-link~";

/// Renders `message` for Slack, resolving mentions with `mention` (the directory's Slack syntax).
pub fn render(message: &Message, mention: impl Fn(&Mention) -> String) -> SlackMessageContent {
    let mentions: Vec<String> = message
        .mentions
        .iter()
        .flat_map(|m| mention_tokens(&mention(m)))
        .collect();
    let tail = message.full_text_url().map(link_tail).unwrap_or_default();
    let blocks = blocks(message, &mentions, &tail);
    let text = notification_text(message, &mentions);
    let content = SlackMessageContent::new().with_text(text);
    match message.severity {
        Some(severity) => content.with_attachments(vec![
            SlackMessageAttachment::new()
                .with_color(format!("#{:06X}", severity.colour()))
                .with_fallback(mrkdwn_pieces(&summary_line(message), TEXT_MAX).fit(TEXT_MAX, ""))
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

/// The tokens of a mention as the directory rendered it: Slack's `<@U…>` and `<!subteam^S…>` stay
/// live, anything else (a fallback `@name`) is escaped text.
fn mention_tokens(rendered: &str) -> Vec<String> {
    rendered
        .split_whitespace()
        .map(|token| {
            if is_mention(token) {
                token.to_owned()
            } else {
                escape(token)
            }
        })
        .collect()
}

fn is_mention(token: &str) -> bool {
    let Some(inner) = token.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
        return false;
    };
    inner
        .strip_prefix('@')
        .or_else(|| inner.strip_prefix("!subteam^"))
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// ` <url|full text>` for a cut, when `url` is a web address short enough to be worth it.
fn link_tail(url: &str) -> String {
    let web = url.starts_with("https://") || url.starts_with("http://");
    if !web || fit::longer_than(url, LINK_MAX) || url.contains(char::is_whitespace) {
        return String::new();
    }
    format!(" <{}|full text>", link_url(url))
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

/// The summary and the mentions, within [`TEXT_MAX`]; never empty (Slack requires text).
fn notification_text(message: &Message, mentions: &[String]) -> String {
    let cc = cc_line(mentions, MENTIONS_MAX);
    let room = TEXT_MAX - units(&cc);
    let mut text = mrkdwn_pieces(&summary_line(message), room).fit(room, "");
    if text.trim().is_empty() && cc.is_empty() {
        text = "—".into();
    }
    text.push_str(&cc);
    text
}

/// A text part of the blocks: its escaped pieces and the most it may take.
struct Part {
    pieces: Pieces,
    max: usize,
}

impl Part {
    fn new(text: &str, max: usize) -> Self {
        Self {
            pieces: mrkdwn_pieces(text, max),
            max,
        }
    }

    fn wanted(&self) -> usize {
        self.pieces.units().min(self.max)
    }
}

fn blocks(message: &Message, mentions: &[String], tail: &str) -> Vec<SlackBlock> {
    let marker = message.severity.map(|s| format!("{} ", s.emoji())).unwrap_or_default();
    let title = message.title.as_deref().filter(|t| !t.trim().is_empty());
    let text = message.text.trim_end();
    let show_text = !text.is_empty() && title.is_none_or(|t| t != message.text);
    let title_part = title.map(|t| Part::new(t, TITLE_MAX));
    let text_part = show_text.then(|| Part::new(text, SECTION_MAX));
    let head_wanted = units(&marker)
        + units(&cc_line(mentions, MENTIONS_MAX))
        + title_part.as_ref().map_or(0, |p| p.wanted() + 3)
        + text_part.as_ref().map_or(0, Part::wanted);
    let fields = fit::fields(&message.fields, FIELDS_MAX);
    let field_parts: Vec<(Part, Part)> = fields
        .iter()
        .map(|f| {
            (
                Part::new(blank_dash(&f.name), FIELD_NAME_MAX),
                Part::new(blank_dash(&f.value), FIELD_MAX),
            )
        })
        .collect();
    let body = message
        .body
        .as_deref()
        .map(str::trim_end)
        .filter(|b| !b.trim().is_empty());
    let body_part = body.map(|b| Part::new(b, SECTION_MAX));
    let context = message.context.as_deref().filter(|c| !c.trim().is_empty());
    let context_part = context.map(|c| Part::new(c, SECTION_MAX));

    // One budget for all text: the head, each field, the body and the context.
    let mut wanted = vec![head_wanted.min(SECTION_MAX)];
    wanted.extend(
        field_parts
            .iter()
            .map(|(n, v)| (n.wanted() + v.wanted() + 3).min(FIELD_MAX)),
    );
    wanted.push(body_part.as_ref().map_or(0, Part::wanted));
    wanted.push(context_part.as_ref().map_or(0, Part::wanted));
    let shares = fit::share(&wanted, BLOCKS_TEXT_MAX);
    let share_of = |i: usize| shares.get(i).copied().unwrap_or(0);

    let mut blocks = Vec::new();
    let head = head_text(
        &marker,
        mentions,
        title_part.as_ref(),
        text_part.as_ref(),
        share_of(0),
        tail,
    );
    if !head.trim().is_empty() {
        blocks.push(section(head));
    }
    let field_texts: Vec<String> = field_parts
        .iter()
        .enumerate()
        .map(|(i, (name, value))| {
            let max = share_of(1 + i);
            // The label gives way only to a value that needs the room, and never below half.
            let room = max.saturating_sub(3);
            let name_room = room.saturating_sub(value.pieces.units()).max(room / 2);
            let name = name.pieces.fit(FIELD_NAME_MAX.min(name_room), "");
            let value = value.pieces.fit(max.saturating_sub(units(&name) + 3), tail);
            format!("*{name}*\n{value}")
        })
        .collect();
    for chunk in field_texts.chunks(FIELDS_PER_SECTION) {
        let fields = chunk
            .iter()
            .map(|text| SlackBlockText::MarkDown(SlackBlockMarkDownText::new(text.clone())))
            .collect();
        blocks.push(SlackSectionBlock::new().with_fields(fields).into());
    }
    if let Some(body) = &body_part {
        let text = body.pieces.fit(share_of(1 + field_parts.len()), tail);
        if !text.trim().is_empty() {
            blocks.push(section(text));
        }
    }
    let buttons = buttons(&message.buttons);
    if !buttons.is_empty() {
        blocks.push(SlackActionsBlock::new(buttons).into());
    }
    if let Some(context) = &context_part {
        let text = context.pieces.fit(share_of(2 + field_parts.len()), "");
        if !text.trim().is_empty() {
            blocks.push(
                SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(SlackBlockMarkDownText::new(
                    text,
                ))])
                .into(),
            );
        }
    }
    blocks
}

/// `\ncc ` and the mention tokens that fit in `max`, or nothing without mentions.
fn cc_line(mentions: &[String], max: usize) -> String {
    let (tokens, _) = fit::whole_tokens(mentions, max.saturating_sub(4));
    if tokens.is_empty() {
        String::new()
    } else {
        format!("\ncc {}", tokens.join(" "))
    }
}

/// The first section: marker, bold title, summary and mentions within `max`.
fn head_text(
    marker: &str,
    mentions: &[String],
    title: Option<&Part>,
    text: Option<&Part>,
    max: usize,
    tail: &str,
) -> String {
    let cc = cc_line(mentions, MENTIONS_MAX.min(max.saturating_sub(units(marker)) / 2));
    let mut head = marker.to_owned();
    let mut room = max.saturating_sub(units(marker) + units(&cc));
    if let Some(title) = title {
        let title = title.pieces.fit(TITLE_MAX.min(room.saturating_sub(2)), "");
        room = room.saturating_sub(units(&title) + 2);
        head.push('*');
        head.push_str(&title);
        head.push('*');
        if let Some(text) = text {
            let text = text.pieces.fit(room.saturating_sub(1), tail);
            if !text.is_empty() {
                head.push('\n');
                head.push_str(&text);
            }
        }
    } else if let Some(text) = text {
        head.push_str(&text.pieces.fit(room, tail));
    }
    head.push_str(&cc);
    head
}

fn blank_dash(text: &str) -> &str {
    if text.trim().is_empty() { "—" } else { text }
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
        if out.len() == BUTTONS_MAX {
            tracing::warn!(
                buttons = buttons.len(),
                "more buttons than Slack shows; the rest left out"
            );
            break;
        }
        let label: SlackBlockPlainTextOnly =
            SlackBlockPlainText::new(fit::cut_plain(blank_dash(button.label.trim()), LABEL_MAX)).into();
        let element = match &button.kind {
            ButtonKind::Action { id, value } => {
                // Slack requires unique action ids within a message; the suffix is removed on the way back.
                let action_id = if seen.contains(&id.as_str()) {
                    format!("{id}~{index}")
                } else {
                    id.clone()
                };
                seen.push(id);
                if fit::longer_than(&action_id, ACTION_ID_MAX) {
                    tracing::warn!(action = %id, "button action id too long for Slack; button left out");
                    continue;
                }
                // A value too long travels as its digest; the plugin recognises it (`value_matches`).
                let value = if fit::longer_than(value, VALUE_MAX) {
                    value_digest(value)
                } else {
                    value.clone()
                };
                SlackBlockButtonElement::new(label)
                    .with_action_id(SlackActionId::new(action_id))
                    .with_value(value)
            }
            ButtonKind::Link { url } if !fit::longer_than(url, URL_MAX) => match url.parse() {
                Ok(url) => SlackBlockButtonElement::new(label)
                    .with_action_id(SlackActionId::new(format!("{LINK_ACTION_PREFIX}{index}")))
                    .with_url(url),
                Err(_) => {
                    tracing::warn!(url = %url, "link button with an invalid URL left out");
                    continue;
                }
            },
            ButtonKind::Link { .. } => {
                tracing::warn!("link button with a URL longer than Slack takes left out");
                continue;
            }
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
/// and `>` everywhere else, so no Slack token (`<!channel>`, `<@U1>`, `<https://…|label>`) in the
/// text survives as one.
pub fn mrkdwn(text: &str) -> String {
    let mut pieces = Pieces::new();
    push_mrkdwn(&mut pieces, text);
    pieces.fit(usize::MAX, "")
}

/// [`mrkdwn`] as pieces, of at most the part of `text` an output of `max` units can show.
fn mrkdwn_pieces(text: &str, max: usize) -> Pieces {
    let (raw, partial) = fit::raw_prefix(text, max);
    let mut pieces = Pieces::new();
    push_mrkdwn(&mut pieces, raw);
    if partial {
        pieces.mark_partial();
    }
    pieces
}

fn push_mrkdwn(out: &mut Pieces, text: &str) {
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '['
            && let Some((label, url, len)) = markdown_link(rest)
        {
            out.push(&format!("<{}|{}>", link_url(url), escape(label)));
            rest = &rest[len..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("**")
            && let Some(end) = after.find("**")
            && end > 0
        {
            out.push("*");
            push_mrkdwn(out, &after[..end]);
            out.push("*");
            rest = &after[end + 2..];
            continue;
        }
        match c {
            '&' => out.push("&amp;"),
            '<' => out.push("&lt;"),
            '>' => out.push("&gt;"),
            c => out.push_char(c),
        }
        rest = &rest[c.len_utf8()..];
    }
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

/// A URL inside `<url|label>`: Slack's control characters and the label separator encoded.
fn link_url(url: &str) -> String {
    url.replace('&', "&amp;")
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace('|', "%7C")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
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
    fn slack_tokens_in_text_are_escaped_and_action_ids_come_back() {
        assert_eq!(
            mrkdwn("ping <@U1|al> and <!subteam^S1> <!channel> a<b"),
            "ping &lt;@U1|al&gt; and &lt;!subteam^S1&gt; &lt;!channel&gt; a&lt;b"
        );
        assert_eq!(mrkdwn("**x** [y](ftp://z)"), "*x* [y](ftp://z)");
        assert_eq!(
            mrkdwn("[a](https://x><!channel>|y)"),
            "<https://x%3E%3C!channel%3E%7Cy|a>",
            "a link cannot smuggle a token out"
        );
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
