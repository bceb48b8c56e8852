//! What a digest looks like, and how a storm's alerts are split into digest messages that stay
//! within every reached platform's limits with every alert listed (never cut by a renderer).
//!
//! A digest message has a title, a summary line, one field per severity (continued in further
//! fields when long) with a line per repository listing its alerts — each a link to GitHub with a
//! short detail and, once closed, its state — and a footer. An alert's line is fixed when the
//! digest is posted, and sizes are counted with the longest state suffix, so re-rendering a part
//! after alerts changed never makes it longer than it was allowed to be.

use sentinel_bot::chat::fit::cut_plain;
use sentinel_bot::{Mention, Message, Platform, Severity};

use super::normalize::{Alert, AlertState};

/// Size limits a digest must respect, in characters as the platforms count them (with margin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Title, summary, every field's name and value, and footer together.
    pub total: usize,
    /// One field's name and value together.
    pub field: usize,
    /// Fields per message.
    pub fields: usize,
    /// A plain-text note in a digest's thread.
    pub note: usize,
}

impl Limits {
    /// Slack: a section's text (and so the field text `*name*\nvalue`) is at most 2,000 characters
    /// per field and 3,000 per section, a message at most 50 blocks; messages whose blocks carry
    /// more than about 13,000 characters in all are refused with `msg_blocks_too_long` although no
    /// document states it. A note is one section.
    pub const SLACK: Limits = Limits {
        total: 12_000,
        field: 1_900,
        fields: 40,
        note: 2_900,
    };

    /// Discord: an embed's title, description, field names and values and footer together are at
    /// most 6,000 characters, a field value 1,024, at most 25 fields; a plain message (a note)
    /// 2,000 characters.
    pub const DISCORD: Limits = Limits {
        total: 5_500,
        field: 1_000,
        fields: 25,
        note: 1_900,
    };

    /// The tightest limits of `platforms`. The console and the generic webhook take anything, but a
    /// digest is kept to Slack's size there too so it stays readable.
    pub fn for_platforms(platforms: &[Platform]) -> Limits {
        let discord = platforms.contains(&Platform::Discord);
        if discord { Limits::DISCORD } else { Limits::SLACK }
    }
}

/// Room kept for the title, the summary line and the footer.
const HEADER_RESERVE: usize = 600;
/// The longest state suffix (` — dismissed`, ` — withdrawn`); sizes are counted with it.
pub const SUFFIX_MAX: usize = 12;
/// The longest detail after an alert's link.
const DETAIL_MAX: usize = 40;
/// The longest line of one alert (link and detail); GitHub URLs are far shorter.
const LINE_MAX: usize = 400;
/// The longest change line in a note.
const NOTE_LINE_MAX: usize = 400;
/// What separates two alerts of one repository.
const SEPARATOR: &str = ", ";

/// One alert as a digest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The alert's key.
    pub alert_key: String,
    /// Its severity when the digest was posted: the group it is listed under.
    pub severity: Severity,
    /// `owner/name`, or empty for an alert without one.
    pub repository: String,
    /// The link to GitHub and a short detail, fixed when the digest was posted.
    pub line: String,
    /// The alert's state now.
    pub state: AlertState,
}

impl Entry {
    /// The entry for `alert` as it is now.
    pub fn of(alert: &Alert) -> Self {
        Self {
            alert_key: alert.key.clone(),
            severity: alert.severity,
            repository: alert.repository.clone().unwrap_or_default(),
            line: line(alert),
            state: alert.state,
        }
    }

    fn size(&self) -> usize {
        chars(&self.line) + SUFFIX_MAX
    }

    fn shown(&self) -> String {
        format!("{}{}", self.line, suffix(self.state))
    }
}

/// The order a digest lists alerts in: most severe first, then by repository.
pub fn sort(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.repository.to_lowercase().cmp(&b.repository.to_lowercase()))
    });
}

/// Splits `entries` (in [`sort`] order) into the parts of a digest, each within `limits`.
pub fn split(entries: Vec<Entry>, limits: Limits) -> Vec<Vec<Entry>> {
    let budget = limits.total.saturating_sub(HEADER_RESERVE);
    let mut parts: Vec<Vec<Entry>> = Vec::new();
    let mut packer = Packer::new(limits.field);
    let mut current: Vec<Entry> = Vec::new();
    for entry in entries {
        let (new_field, cost) = packer.cost(&entry);
        let fields = packer.fields.len() + usize::from(new_field);
        if !current.is_empty() && (fields > limits.fields || packer.size + cost > budget) {
            parts.push(std::mem::take(&mut current));
            packer = Packer::new(limits.field);
        }
        packer.push(&entry);
        current.push(entry);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// A posted digest part, as far as its message needs.
#[derive(Debug, Clone)]
pub struct Part<'a> {
    /// The logical channel.
    pub channel: &'a str,
    /// The digest's id.
    pub digest: i64,
    /// This part's number, from 1.
    pub part: u32,
    /// How many parts the digest has.
    pub parts: u32,
    /// Its alerts, in [`sort`] order.
    pub entries: &'a [Entry],
    /// Who to mention.
    pub mentions: &'a [Mention],
    /// The footer: why this is a digest.
    pub footer: &'a str,
}

/// The key of a digest part's message, edited in place and threaded under.
pub fn message_key(digest: i64, part: u32) -> String {
    format!("digest:{digest}:{part}")
}

/// A digest part's message. Its fields are laid out exactly as [`split`] counted them.
pub fn part_message(part: &Part<'_>, field_max: usize) -> Message {
    let count = part.entries.len();
    let noun = if count == 1 { "alert" } else { "alerts" };
    let mut title = format!("Alert digest: {count} new {noun}");
    if part.parts > 1 {
        title.push_str(&format!(" (part {} of {})", part.part, part.parts));
    }
    let severity = part.entries.iter().map(|e| e.severity).max().unwrap_or(Severity::Low);
    let mut message = Message::new(part.channel, summary(part.entries))
        .keyed(message_key(part.digest, part.part))
        .title(title)
        .severity(severity)
        .context(part.footer);
    let mut packer = Packer::new(field_max);
    for entry in part.entries {
        packer.push(entry);
    }
    for field in packer.fields {
        let value = field
            .lines
            .iter()
            .map(|line| {
                let items: Vec<String> = line.items.iter().map(|&i| part.entries[i].shown()).collect();
                format!(
                    "{}{}",
                    repository_prefix(&part.entries[line.items[0]].repository),
                    items.join(SEPARATOR)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        message = message.field(field_name(field.severity, field.continued), value);
    }
    for mention in part.mentions {
        message = message.mention(mention.clone());
    }
    message
}

/// "42 new alerts in 17 repositories: 3 high · 30 medium · 9 low", and how many were closed since.
fn summary(entries: &[Entry]) -> String {
    let mut repositories: Vec<&str> = entries.iter().map(|e| e.repository.as_str()).collect();
    repositories.sort_unstable();
    repositories.dedup();
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|severity| {
            let n = entries.iter().filter(|e| e.severity == *severity).count();
            (n > 0).then(|| format!("{n} {severity}"))
        })
        .collect();
    let repos = match repositories.len() {
        1 => "1 repository".to_owned(),
        n => format!("{n} repositories"),
    };
    let noun = if entries.len() == 1 { "alert" } else { "alerts" };
    let mut text = format!("{} new {noun} in {repos}: {}", entries.len(), counts.join(" · "));
    let closed = entries.iter().filter(|e| e.state.is_closed()).count();
    if closed > 0 {
        text.push_str(&format!(" — {closed} closed since"));
    }
    text
}

/// Notes for the changes of alerts shown in a digest: one line each (`line (repo): note`), split
/// into as few messages as `limits.note` allows.
pub fn notes(changes: &[(String, String, String)], limits: Limits) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for (line, repository, note) in changes {
        let mut text = match repository.as_str() {
            "" => format!("{line}: {note}"),
            repository => format!("{line} ({repository}): {note}"),
        };
        text = cut_plain(&text, NOTE_LINE_MAX);
        if !current.is_empty() && chars(&current) + 1 + chars(&text) > limits.note {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&text);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The fields of one message, filled greedily in entry order.
struct Packer {
    field_max: usize,
    fields: Vec<FieldPlan>,
    /// Characters of every field's name and value so far.
    size: usize,
}

struct FieldPlan {
    severity: Severity,
    continued: bool,
    lines: Vec<LinePlan>,
    /// Characters of its name and value.
    size: usize,
}

struct LinePlan {
    repository: String,
    items: Vec<usize>,
}

enum Placement {
    SameLine,
    NewLine,
    NewField { continued: bool },
}

impl Packer {
    fn new(field_max: usize) -> Self {
        Self {
            field_max,
            fields: Vec::new(),
            size: 0,
        }
    }

    fn count(&self) -> usize {
        self.fields.iter().flat_map(|f| &f.lines).map(|l| l.items.len()).sum()
    }

    fn placement(&self, entry: &Entry) -> (Placement, usize) {
        let item = entry.size();
        let prefix = chars(&repository_prefix(&entry.repository));
        if let Some(field) = self.fields.last().filter(|f| f.severity == entry.severity) {
            let same_repository = field.lines.last().is_some_and(|l| l.repository == entry.repository);
            if same_repository && field.size + SEPARATOR.len() + item <= self.field_max {
                return (Placement::SameLine, SEPARATOR.len() + item);
            }
            if !same_repository && field.size + 1 + prefix + item <= self.field_max {
                return (Placement::NewLine, 1 + prefix + item);
            }
            let name = chars(&field_name(entry.severity, true));
            return (Placement::NewField { continued: true }, name + prefix + item);
        }
        let name = chars(&field_name(entry.severity, false));
        (Placement::NewField { continued: false }, name + prefix + item)
    }

    /// Whether `entry` would open a new field, and the characters it would add.
    fn cost(&self, entry: &Entry) -> (bool, usize) {
        let (placement, cost) = self.placement(entry);
        (matches!(placement, Placement::NewField { .. }), cost)
    }

    fn push(&mut self, entry: &Entry) {
        let index = self.count();
        let (placement, cost) = self.placement(entry);
        self.size += cost;
        match placement {
            Placement::NewField { continued } => self.fields.push(FieldPlan {
                severity: entry.severity,
                continued,
                lines: vec![LinePlan {
                    repository: entry.repository.clone(),
                    items: vec![index],
                }],
                size: cost,
            }),
            Placement::NewLine | Placement::SameLine => {
                if let Some(field) = self.fields.last_mut() {
                    field.size += cost;
                    match (placement, field.lines.last_mut()) {
                        (Placement::SameLine, Some(line)) => line.items.push(index),
                        _ => field.lines.push(LinePlan {
                            repository: entry.repository.clone(),
                            items: vec![index],
                        }),
                    }
                }
            }
        }
    }
}

fn field_name(severity: Severity, continued: bool) -> String {
    let name = format!("{} {}", severity.emoji(), capitalised(severity.as_str()));
    if continued { format!("{name} (continued)") } else { name }
}

fn repository_prefix(repository: &str) -> String {
    if repository.is_empty() {
        String::new()
    } else {
        format!("**{repository}**: ")
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn suffix(state: AlertState) -> String {
    if state.is_closed() {
        format!(" — {state}")
    } else {
        String::new()
    }
}

/// `[#20](https://github.com/…/security/dependabot/20) semver`: the alert's number (or advisory
/// id) linked to its page on GitHub, then what it is about. Text from the payload is reduced to
/// characters no platform reads as markup, and a URL that could break out of the link is not
/// linked.
pub fn line(alert: &Alert) -> String {
    let label = match alert.number {
        Some(number) => format!("#{number}"),
        None => plain(alert.ghsa.as_deref().unwrap_or(alert.key.as_str())),
    };
    let linked = match alert.url.as_deref().filter(|url| linkable(url)) {
        Some(url) => format!("[{label}]({url})"),
        None => label,
    };
    let detail = alert
        .package
        .as_deref()
        .or(alert.rule.as_deref())
        .or(alert.secret_type.as_deref())
        .unwrap_or(alert.title.as_str());
    let detail = cut_plain(plain(detail).trim(), DETAIL_MAX);
    let text = if detail.is_empty() {
        linked
    } else {
        format!("{linked} {detail}")
    };
    cut_plain(&text, LINE_MAX)
}

fn linkable(url: &str) -> bool {
    url.starts_with("https://")
        && url.len() <= 300
        && !url.chars().any(|c| c.is_whitespace() || "()[]<>|*_~`\"".contains(c))
}

/// Keeps letters, digits and a few harmless punctuation marks; anything else becomes a space, so
/// no payload text turns into a link, emphasis or a mention on any platform.
fn plain(text: &str) -> String {
    let kept: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-./@:+# '".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

#[cfg(test)]
#[path = "digest_layout_tests.rs"]
mod tests;
