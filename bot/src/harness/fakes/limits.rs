//! What Slack and Discord refuse, written from their documentation and independently of Sentinel's
//! renderers, for the fake servers and the property tests: a body over a documented limit gets
//! the refusal the real API gives (Slack `ok: false` with `msg_too_long` / `invalid_blocks` /
//! `no_text`; Discord HTTP 400 with code 50035 "Invalid Form Body", or 50006 for an empty
//! message). Lengths are counted in UTF-16 code units, the stricter of the ways platforms count.
//! Also finds mention tokens, to prove that no text but Sentinel's own mentions can ping anyone.
//!
//! The fakes of [`slack`](super::slack) and [`discord`](super::discord) refuse with these, and the
//! property tests of the renderers check their output against them.

use serde_json::{Value, json};

/// Length as the platforms count it, at most.
pub fn units(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The units of every string in `body`.
pub fn text_units(body: &Value) -> usize {
    match body {
        Value::String(s) => units(s),
        Value::Array(items) => items.iter().map(text_units).sum(),
        Value::Object(map) => map.values().map(text_units).sum(),
        _ => 0,
    }
}

/// What Slack refuses in practice though no document states it: blocks (top level and in
/// attachments) carrying more than 13,000 characters of text in all are refused with
/// `msg_blocks_too_long` (counted in characters, as Slack counts it).
pub fn slack_blocks_too_long(body: &Value) -> bool {
    let top = list(body, "blocks").iter();
    let attached = list(body, "attachments").iter().flat_map(|a| list(a, "blocks"));
    let chars = |text: &str| text.chars().count();
    let block_text = |block: &Value| {
        let text = block.get("text").map_or(0, |t| chars(str_at(t, "text")));
        let fields: usize = list(block, "fields").iter().map(|f| chars(str_at(f, "text"))).sum();
        let elements: usize = list(block, "elements").iter().map(|e| chars(str_at(e, "text"))).sum();
        text + fields + elements
    };
    top.chain(attached).map(block_text).sum::<usize>() > 13_000
}

fn str_at<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Slack: the error code a message body (`chat.postMessage`, `chat.update`, `chat.postEphemeral`
/// or a `response_url` reply) is refused with, if any.
pub fn slack_refusal(body: &Value) -> Option<String> {
    let text = str_at(body, "text");
    let blocks = list(body, "blocks");
    let attachments = list(body, "attachments");
    if units(text) > 40_000 {
        return Some("msg_too_long".into());
    }
    if text.trim().is_empty() && blocks.is_empty() && attachments.is_empty() {
        return Some("no_text".into());
    }
    if attachments.len() > 100 {
        return Some("too_many_attachments".into());
    }
    let mut action_ids = Vec::new();
    if let Some(err) = slack_blocks(blocks, &mut action_ids) {
        return Some(err);
    }
    for attachment in attachments {
        if let Some(err) = slack_blocks(list(attachment, "blocks"), &mut action_ids) {
            return Some(err);
        }
    }
    None
}

fn slack_blocks<'a>(blocks: &'a [Value], action_ids: &mut Vec<&'a str>) -> Option<String> {
    let invalid = |why: String| Some(format!("invalid_blocks ({why})"));
    if blocks.len() > 50 {
        return invalid(format!("{} blocks", blocks.len()));
    }
    for (i, block) in blocks.iter().enumerate() {
        match str_at(block, "type") {
            "section" => {
                let text = block.get("text").map(|t| str_at(t, "text"));
                let fields = list(block, "fields");
                if text.is_none() && fields.is_empty() {
                    return invalid(format!("block {i}: a section needs text or fields"));
                }
                if let Some(text) = text
                    && (text.is_empty() || units(text) > 3000)
                {
                    return invalid(format!("block {i}: section text of {}", units(text)));
                }
                if fields.len() > 10 {
                    return invalid(format!("block {i}: {} fields", fields.len()));
                }
                for field in fields {
                    let text = str_at(field, "text");
                    if text.is_empty() || units(text) > 2000 {
                        return invalid(format!("block {i}: field of {}", units(text)));
                    }
                }
            }
            "header" => {
                let text = block.get("text").map(|t| str_at(t, "text")).unwrap_or_default();
                if text.is_empty() || units(text) > 150 {
                    return invalid(format!("block {i}: header of {}", units(text)));
                }
            }
            "context" => {
                let elements = list(block, "elements");
                if elements.is_empty() || elements.len() > 10 {
                    return invalid(format!("block {i}: {} context elements", elements.len()));
                }
                for element in elements {
                    let text = str_at(element, "text");
                    if text.is_empty() || units(text) > 3000 {
                        return invalid(format!("block {i}: context text of {}", units(text)));
                    }
                }
            }
            "actions" => {
                let elements = list(block, "elements");
                if elements.is_empty() || elements.len() > 25 {
                    return invalid(format!("block {i}: {} action elements", elements.len()));
                }
                for element in elements {
                    let label = element.get("text").map(|t| str_at(t, "text")).unwrap_or_default();
                    let action_id = str_at(element, "action_id");
                    let value = str_at(element, "value");
                    let url = str_at(element, "url");
                    if label.is_empty() || units(label) > 75 {
                        return invalid(format!("button label of {}", units(label)));
                    }
                    if units(action_id) > 255 || units(value) > 2000 || units(url) > 3000 {
                        return invalid("button action_id, value or url too long".into());
                    }
                    if !action_id.is_empty() {
                        if action_ids.contains(&action_id) {
                            return invalid(format!("action_id {action_id} twice"));
                        }
                        action_ids.push(action_id);
                    }
                }
            }
            other => return invalid(format!("block {i}: unknown type {other:?}")),
        }
    }
    None
}

/// Discord: the status and error body a message body (create, edit, follow-up) is refused with.
pub fn discord_refusal(body: &Value) -> Option<(u16, Value)> {
    let invalid = |path: &str, message: String| {
        Some((
            400,
            json!({"code": 50035, "message": "Invalid Form Body",
                   "errors": {path: {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": message}]}}}),
        ))
    };
    let content = str_at(body, "content");
    let embeds = list(body, "embeds");
    let components = list(body, "components");
    if units(content) > 2000 {
        return invalid("content", "Must be 2000 or fewer in length.".into());
    }
    if content.trim().is_empty() && embeds.is_empty() && components.is_empty() {
        return Some((400, json!({"code": 50006, "message": "Cannot send an empty message"})));
    }
    if embeds.len() > 10 {
        return invalid("embeds", "Must be 10 or fewer in length.".into());
    }
    let mut total = 0;
    for (e, embed) in embeds.iter().enumerate() {
        let mut check = |path: &str, text: &str, max: usize, required: bool| {
            total += units(text);
            if units(text) > max {
                return invalid(
                    &format!("embeds.{e}.{path}"),
                    format!("Must be {max} or fewer in length."),
                );
            }
            if required && text.trim().is_empty() {
                return invalid(&format!("embeds.{e}.{path}"), "This field is required".into());
            }
            None
        };
        let parts = [
            ("title", str_at(embed, "title"), 256, false),
            ("description", str_at(embed, "description"), 4096, false),
            (
                "footer.text",
                embed.get("footer").map(|f| str_at(f, "text")).unwrap_or_default(),
                2048,
                false,
            ),
            (
                "author.name",
                embed.get("author").map(|a| str_at(a, "name")).unwrap_or_default(),
                256,
                false,
            ),
        ];
        for (path, text, max, required) in parts {
            if let Some(refusal) = check(path, text, max, required) {
                return Some(refusal);
            }
        }
        let fields = list(embed, "fields");
        if fields.len() > 25 {
            return invalid(&format!("embeds.{e}.fields"), "Must be 25 or fewer in length.".into());
        }
        for (f, field) in fields.iter().enumerate() {
            let name = str_at(field, "name");
            let value = str_at(field, "value");
            if let Some(refusal) = check(&format!("fields.{f}.name"), name, 256, true) {
                return Some(refusal);
            }
            if let Some(refusal) = check(&format!("fields.{f}.value"), value, 1024, true) {
                return Some(refusal);
            }
        }
    }
    if total > 6000 {
        return Some((
            400,
            json!({"code": 50035, "message": "Invalid Form Body",
                   "errors": {"embeds": {"_errors": [{"code": "MAX_EMBED_SIZE_EXCEEDED",
                                                       "message": "Embed size exceeds maximum size of 6000"}]}}}),
        ));
    }
    if components.len() > 5 {
        return invalid("components", "Must be 5 or fewer in length.".into());
    }
    let mut custom_ids = Vec::new();
    for (r, row) in components.iter().enumerate() {
        let buttons = list(row, "components");
        if row["type"] != 1 || buttons.is_empty() || buttons.len() > 5 {
            return invalid(
                &format!("components.{r}"),
                "An action row holds 1 to 5 components.".into(),
            );
        }
        for (b, button) in buttons.iter().enumerate() {
            let path = format!("components.{r}.components.{b}");
            let label = str_at(button, "label");
            if label.is_empty() || units(label) > 80 {
                return invalid(&format!("{path}.label"), "Must be between 1 and 80 in length.".into());
            }
            if button["style"] == 5 {
                let url = str_at(button, "url");
                if url.is_empty() || units(url) > 512 {
                    return invalid(&format!("{path}.url"), "Must be 512 or fewer in length.".into());
                }
            } else {
                let custom_id = str_at(button, "custom_id");
                if custom_id.is_empty() || units(custom_id) > 100 {
                    return invalid(
                        &format!("{path}.custom_id"),
                        "Must be between 1 and 100 in length.".into(),
                    );
                }
                if custom_ids.contains(&custom_id) {
                    return invalid(
                        &format!("{path}.custom_id"),
                        "Component custom id cannot be duplicated".into(),
                    );
                }
                custom_ids.push(custom_id);
            }
        }
    }
    None
}

/// Every string of `value` a platform shows and parses: not ids, button values or URLs (data
/// handed back or opened, never shown as text), nor button labels and Slack `plain_text` objects
/// (shown as they are, never parsed for mentions).
fn strings<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("plain_text") => {}
        Value::Object(map) => map
            .iter()
            .filter(|(key, _)| {
                !matches!(
                    key.as_str(),
                    "value" | "action_id" | "custom_id" | "url" | "nonce" | "label"
                )
            })
            .for_each(|(_, v)| strings(v, out)),
        _ => {}
    }
}

/// Every Slack mention or special token (`<@…>`, `<!…>`, `<#…>`) in any string of `body`.
pub fn slack_mention_tokens(body: &Value) -> Vec<String> {
    let mut all = Vec::new();
    strings(body, &mut all);
    let mut found = Vec::new();
    for text in all {
        let mut rest = text;
        while let Some(start) = rest.find('<') {
            let after = &rest[start + 1..];
            if after.starts_with(['@', '!', '#']) {
                let end = after.find('>').unwrap_or(after.len());
                found.push(format!("<{}>", &after[..end]));
            }
            rest = after;
        }
    }
    found
}

/// Every Discord mention (`<@…>`, `<@&…>`, `<#…>`, `@everyone`, `@here`) in any string of `body`.
pub fn discord_mention_tokens(body: &Value) -> Vec<String> {
    let mut all = Vec::new();
    strings(body, &mut all);
    let mut found = Vec::new();
    for text in all {
        for special in ["@everyone", "@here"] {
            found.extend(text.matches(special).map(str::to_owned));
        }
        let mut rest = text;
        while let Some(start) = rest.find('<') {
            let after = &rest[start + 1..];
            if after.starts_with(['@', '#']) {
                let end = after.find('>').unwrap_or(after.len());
                found.push(format!("<{}>", &after[..end]));
            }
            rest = after;
        }
    }
    found
}
