//! How runs look in chat: the checklist message (edited in place), status and history.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sentinel_bot::{Button, ButtonStyle, Message};

use super::store::{Item, ItemState, Run};

/// The update-in-place key of a run's checklist message.
pub fn run_key(run_id: i64) -> String {
    format!("audit:run:{run_id}")
}

/// `2026-03-02 09:00 CET`.
pub fn fmt_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// `2026-03-02`.
pub fn fmt_day(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d").to_string()
}

/// `3d 4h`, `5h 10m`, `12m`, `40s`: the core's one duration format.
pub use sentinel_bot::chat::duration::human as fmt_duration;

/// The plural of an English noun phrase (its last word).
pub fn plural_noun(noun: &str) -> String {
    let consonant_y = noun.ends_with('y')
        && !noun
            .chars()
            .rev()
            .nth(1)
            .is_some_and(|c| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u'));
    if consonant_y {
        format!("{}ies", &noun[..noun.len() - 1])
    } else if noun.ends_with('s') || noun.ends_with('x') || noun.ends_with("ch") || noun.ends_with("sh") {
        format!("{noun}es")
    } else {
        format!("{noun}s")
    }
}

/// `1 alert`, `3 alerts`.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {}", plural_noun(noun))
    }
}

/// The title of a run: `Daily security monitoring #3 — 2026-03-02`.
pub fn run_title(run: &Run, tz: Tz) -> String {
    format!("{} #{} — {}", run.cadence.title(), run.id, fmt_day(run.due_at, tz))
}

fn marker(state: ItemState) -> &'static str {
    match state {
        ItemState::Open => "⬜",
        ItemState::Checking => "⏳",
        ItemState::Checked | ItemState::Done => "✅",
        ItemState::Flagged => "⚠️",
        ItemState::Failed => "❌",
        ItemState::Skipped => "⏭️",
    }
}

/// One checklist line.
pub fn item_line(item: &Item, tz: Tz) -> String {
    let head = format!(
        "{} {}. {} — {}",
        marker(item.state),
        item.position,
        item.item,
        item.text
    );
    let when = item.at.map(|t| fmt_time(t, tz)).unwrap_or_default();
    let who = item.actor.as_deref().unwrap_or("someone");
    let evidence = item.evidence.as_deref().unwrap_or_default();
    match item.state {
        ItemState::Open => head,
        ItemState::Checking => format!("{head} · checking…"),
        ItemState::Checked => format!("{head} · checked by Sentinel: {evidence}"),
        ItemState::Flagged => format!("{head} · needs a person: {evidence}"),
        ItemState::Failed => format!("{head} · {evidence}"),
        ItemState::Done => {
            let mut line = format!("{head} · done by {who} {when}");
            if let Some(note) = &item.note {
                line.push_str(&format!(" — “{note}”"));
            }
            if !evidence.is_empty() {
                line.push_str(&format!(" (Sentinel found: {evidence})"));
            }
            line
        }
        ItemState::Skipped => format!(
            "{head} · skipped by {who} {when}: {}",
            item.note.as_deref().unwrap_or("no reason")
        ),
    }
}

/// Counts for a run's summary line: (finished, total).
pub fn progress(items: &[Item]) -> (usize, usize) {
    (items.iter().filter(|i| i.state.is_finished()).count(), items.len())
}

/// The most buttons a checklist carries (Slack and Discord both cap a message's buttons at 25).
const MAX_BUTTONS: usize = 20;

/// The checklist message of `run`, posted at start and edited as items change.
pub fn checklist(run: &Run, items: &[Item], channel: &str, tz: Tz) -> Message {
    let (finished, total) = progress(items);
    let text = if run.complete {
        format!("{}: complete ({finished} of {total})", run_title(run, tz))
    } else {
        format!("{}: {finished} of {total} done", run_title(run, tz))
    };
    let mut body = String::new();
    if run.late {
        body.push_str(&format!(
            "Run late: it was due {} while Sentinel was down.\n",
            fmt_time(run.due_at, tz)
        ));
    }
    if let Some(by) = &run.started_by {
        body.push_str(&format!("Started by {by}.\n"));
    }
    for item in items {
        body.push_str(&item_line(item, tz));
        body.push('\n');
    }
    let mut message = Message::new(channel, text)
        .keyed(run_key(run.id))
        .title(format!("📋 {}", run_title(run, tz)))
        .body(body.trim_end().to_owned())
        .context(format!(
            "audit #{} · /audit done {} <item> [note] · /audit skip {} <item> <reason>",
            run.id, run.id, run.id
        ));
    if !run.complete {
        for item in items.iter().filter(|i| !i.state.is_finished()).take(MAX_BUTTONS) {
            message = message.button(
                Button::action(
                    format!("Done: {}", item.item),
                    "audit.done",
                    format!("{}:{}", run.id, item.item),
                )
                .styled(ButtonStyle::Primary),
            );
        }
    }
    message
}

/// `/audit status`: the open runs and what is left in each.
pub fn status(runs: &[(Run, Vec<Item>)], tz: Tz) -> String {
    if runs.is_empty() {
        return "Every audit run is complete.".to_owned();
    }
    let mut out = format!("{} open:\n", plural(runs.len(), "audit run"));
    for (run, items) in runs {
        let (finished, total) = progress(items);
        out.push_str(&format!(
            "• {} — {finished} of {total} done, started {}{}\n",
            run_title(run, tz),
            fmt_time(run.started_at, tz),
            if run.escalated_at.is_some() { ", overdue" } else { "" }
        ));
        for item in items.iter().filter(|i| !i.state.is_finished()) {
            out.push_str(&format!("    {}\n", item_line(item, tz)));
        }
    }
    out.trim_end().to_owned()
}

/// `/audit history`: recent runs and who did what.
pub fn history(runs: &[(Run, Vec<Item>)], tz: Tz) -> String {
    if runs.is_empty() {
        return "No audit has run yet.".to_owned();
    }
    let mut out = String::from("Recent audits:\n");
    for (run, items) in runs {
        let (finished, total) = progress(items);
        let state = match run.completed_at {
            Some(at) => format!("complete {}", fmt_time(at, tz)),
            None => format!("{finished} of {total} done"),
        };
        out.push_str(&format!("• {} — {state}\n", run_title(run, tz)));
        let mut by: Vec<String> = Vec::new();
        for item in items {
            let who = match item.state {
                ItemState::Done => item.actor.clone().map(|a| format!("{} ✅ {a}", item.item)),
                ItemState::Skipped => item.actor.clone().map(|a| format!("{} ⏭️ {a}", item.item)),
                ItemState::Checked => Some(format!("{} ✅ Sentinel", item.item)),
                _ => None,
            };
            by.extend(who);
        }
        if !by.is_empty() {
            out.push_str(&format!("    {}\n", by.join(", ")));
        }
    }
    out.trim_end().to_owned()
}
