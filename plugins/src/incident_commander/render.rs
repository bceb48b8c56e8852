//! How incidents look: the incident message kept up to date in the channel, listings, timelines.

use chrono::{DateTime, Utc};
use sentinel_bot::{Button, ButtonStyle, Message};

use super::model::{CheckItem, Incident, IncidentState, LinkedAlert, Stage, TimelineEntry};

/// The message key of an incident's message (and the thread its notes go to).
pub fn message_key(incident: super::model::IncidentId) -> String {
    format!("incident:{}", incident.0)
}

/// A time as people read it.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A span of time in words: `1h 5m`.
pub fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    sentinel_bot::builtin::describe(to - from)
}

/// How a deadline stands: met, breached, or how long is left.
pub fn deadline_status(
    deadline: DateTime<Utc>,
    done_at: Option<DateTime<Utc>>,
    reported_breached: bool,
    now: DateTime<Utc>,
) -> String {
    match done_at {
        Some(done) if done <= deadline && !reported_breached => "met".to_owned(),
        Some(done) if done > deadline => format!("BREACHED (by {})", span(deadline, done)),
        None if now > deadline => format!("BREACHED (overdue by {})", span(deadline, now)),
        _ if reported_breached => "BREACHED".to_owned(),
        _ => format!("due in {}", span(now, deadline)),
    }
}

fn or_none(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "—".to_owned())
}

/// The state with who changed it and when.
pub fn state_line(incident: &Incident) -> String {
    let stamp = |by: &Option<String>, at: Option<DateTime<Utc>>| match (by, at) {
        (Some(by), Some(at)) => format!(" by {by} at {}", time(at)),
        (None, Some(at)) => format!(" at {}", time(at)),
        _ => String::new(),
    };
    match incident.state {
        IncidentState::Open => format!("open since {}", time(incident.opened_at)),
        IncidentState::Acknowledged => format!(
            "acknowledged{}",
            stamp(&incident.acknowledged_by, incident.acknowledged_at)
        ),
        IncidentState::Resolved => format!("resolved{}", stamp(&incident.resolved_by, incident.resolved_at)),
        IncidentState::Closed => format!("closed{}", stamp(&incident.closed_by, incident.closed_at)),
    }
}

/// One checklist line: `☑ 1. Stop the affected service — alice, 2026-03-02 09:10 UTC`.
pub fn check_line(item: &CheckItem) -> String {
    match &item.checked {
        Some((by, at)) => format!("☑ {}. {} — {by}, {}", item.position, item.item, time(*at)),
        None => format!("☐ {}. {}", item.position, item.item),
    }
}

/// A stage's checklist as lines, with a heading saying how much is done.
pub fn checklist(stage: Stage, items: &[CheckItem]) -> String {
    let done = items.iter().filter(|i| i.checked.is_some()).count();
    let mut out = format!("{} checklist ({done}/{} done):", stage.title(), items.len());
    if items.is_empty() {
        out.push_str("\n(no items)");
    }
    for item in items {
        out.push('\n');
        out.push_str(&check_line(item));
    }
    out
}

/// Everything the incident message shows.
pub struct View<'a> {
    /// The incident.
    pub incident: &'a Incident,
    /// The current stage's checklist.
    pub checks: &'a [CheckItem],
    /// Its alerts.
    pub alerts: &'a [LinkedAlert],
    /// The latest status update.
    pub last_update: Option<&'a TimelineEntry>,
    /// The GitHub tracking issue, once it exists: `acme/security-incidents#7 — https://…`.
    pub tracking_issue: Option<&'a str>,
    /// The name of the incident's space, once it has one: `inc-12-sql-injection`.
    pub space: Option<&'a str>,
    /// Now.
    pub now: DateTime<Utc>,
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}

/// The incident's message in `channel`: state, severity, people, stage, deadlines, alerts, the
/// current checklist and the buttons that apply.
pub fn incident_message(channel: &str, view: &View<'_>) -> Message {
    let incident = view.incident;
    let id = incident.id;
    let done = view.checks.iter().filter(|i| i.checked.is_some()).count();
    let mut message = Message::new(
        channel,
        format!(
            "Incident {id} ({}, {}): {}",
            incident.severity, incident.state, incident.title
        ),
    )
    .keyed(message_key(id))
    .title(format!("Incident {id}: {}", incident.title))
    .severity(incident.severity)
    .field("State", state_line(incident))
    .field("Severity", incident.severity.as_str())
    .field("Commander", or_none(&incident.commander))
    .field("Assignee", or_none(&incident.assignee))
    .field(
        "Stage",
        format!("{} ({done}/{} done)", incident.stage.title(), view.checks.len()),
    );
    if let Some(deadline) = incident.respond_by {
        message = message.field(
            "Respond by",
            format!(
                "{} — {}",
                time(deadline),
                deadline_status(deadline, incident.acknowledged_at, incident.response_breached, view.now)
            ),
        );
    }
    if let Some(deadline) = incident.resolve_by {
        message = message.field(
            "Resolve by",
            format!(
                "{} — {}",
                time(deadline),
                deadline_status(deadline, incident.resolved_at, incident.resolution_breached, view.now)
            ),
        );
    }
    if !view.alerts.is_empty() {
        let alerts: Vec<String> = view.alerts.iter().map(LinkedAlert::describe).collect();
        message = message.field("Alerts", alerts.join("\n"));
    }
    if let Some(issue) = view.tracking_issue {
        message = message.field("Tracking issue", issue);
    }
    if let Some(space) = view.space {
        message = message.field("Space", format!("#{space}"));
    }
    if let Some(summary) = &incident.summary {
        message = message.field("Summary", summary.clone());
    }
    if let Some(update) = view.last_update {
        message = message.field(
            "Last update",
            format!("{} — {}, {}", update.text, update.actor, time(update.at)),
        );
    }
    message = message.body(checklist(incident.stage, view.checks));
    if incident.state == IncidentState::Open {
        message = message
            .button(Button::action("Acknowledge", "incident.ack", id.0.to_string()).styled(ButtonStyle::Primary));
    }
    if incident.state.is_active() {
        message = message
            .button(Button::action("Resolve", "incident.resolve", id.0.to_string()))
            .button(Button::action("Escalate", "incident.escalate", id.0.to_string()).styled(ButtonStyle::Danger));
    }
    if incident.state != IncidentState::Closed {
        for item in view.checks.iter().filter(|i| i.checked.is_none()) {
            message = message.button(Button::action(
                short(&format!("Tick {}. {}", item.position, item.item), 40),
                "incident.check",
                format!("{}:{}:{}", id.0, item.stage, item.position),
            ));
        }
    }
    let repository = incident
        .repository
        .as_ref()
        .map(|r| format!(" · {r}"))
        .unwrap_or_default();
    message.context(format!(
        "incident {id}{repository} · opened by {} at {}",
        incident.opened_by,
        time(incident.opened_at)
    ))
}

/// One line per incident for `list`.
pub fn list_line(incident: &Incident) -> String {
    let commander = incident
        .commander
        .as_ref()
        .map(|c| format!(" · commander {c}"))
        .unwrap_or_default();
    format!(
        "{} {} {} · {} · {} · {}{commander}",
        incident.id,
        incident.severity.emoji(),
        incident.severity,
        incident.state,
        incident.stage.title(),
        incident.title
    )
}

/// One timeline line: `2026-03-02 09:05 UTC · bob · acknowledged`.
pub fn timeline_line(entry: &TimelineEntry) -> String {
    format!("{} · {} · {}", time(entry.at), entry.actor, entry.text)
}
