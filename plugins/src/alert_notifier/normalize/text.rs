//! Text helpers of the mappers: cleaning, shortening and wording GitHub's values.

use chrono::{DateTime, Utc};
use sentinel_bot::chat::fit::cut_plain;

use crate::alert_notifier::payload::User;

pub(super) fn login(user: Option<&User>) -> Option<String> {
    user.and_then(|u| clean(u.login.as_deref()))
}

/// Trimmed text, with empty strings treated as absent: GitHub sends `""` for
/// unknown values (e.g. the package of a repository advisory).
pub(super) fn clean(text: Option<&str>) -> Option<String> {
    text.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string)
}

/// The longest summary we keep, in UTF-16 units as the platforms count them: chat messages
/// should stay readable.
pub(super) const SUMMARY_MAX: usize = 280;

/// The longest reviewer's comment we keep in a dismissal reason, in UTF-16 units.
const COMMENT_MAX: usize = 200;

/// First paragraph, whitespace collapsed, cut to [`SUMMARY_MAX`]: advisory
/// descriptions run to pages of Markdown.
pub(super) fn shorten(text: &str) -> Option<String> {
    let paragraph = text.split("\n\n").map(str::trim).find(|p| !p.is_empty())?;
    let flat = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(cut_plain(&flat, SUMMARY_MAX))
}

pub(super) fn position(path: Option<&str>, line: Option<u64>) -> Option<String> {
    let path = clean(path)?;
    Some(match line {
        Some(line) => format!("{path}:{line}"),
        None => path,
    })
}

pub(super) fn branch_name(git_ref: &str) -> String {
    git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref).to_string()
}

pub(super) fn time(text: Option<&str>) -> Option<DateTime<Utc>> {
    let text = clean(text)?;
    DateTime::parse_from_rfc3339(&text).ok().map(|t| t.with_timezone(&Utc))
}

pub(super) fn by(verb: &str, actor: Option<&str>) -> String {
    match actor {
        Some(actor) => format!("{verb} by {actor}"),
        None => verb.to_string(),
    }
}

pub(super) fn with_reason(head: String, reason: Option<&str>) -> String {
    match reason {
        Some(reason) => format!("{head}: {reason}"),
        None => head,
    }
}

/// `reason — “comment”`, the comment cut short because people paste essays.
pub(super) fn join_reason(reason: Option<&str>, comment: Option<&str>) -> Option<String> {
    let comment = clean(comment).map(|c| cut_plain(&c.split_whitespace().collect::<Vec<_>>().join(" "), COMMENT_MAX));
    match (clean(reason), comment) {
        (Some(r), Some(c)) => Some(format!("{r} — “{c}”")),
        (Some(r), None) => Some(r),
        (None, Some(c)) => Some(format!("“{c}”")),
        (None, None) => None,
    }
}

/// Actions GitHub adds later still reach the channel, named as they are.
pub(super) fn unknown_action(action: &str) -> String {
    format!("Action: {action}")
}
