//! The tracking issue's fields — title, markdown body, open/closed, labels, assignees — and which of
//! them an update has to send.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::config::TrackingIssue;
use super::model::{Incident, IncidentId, LinkedAlert};
use super::render::{state_line, time};

/// The fields Sentinel keeps in step, in the order they are compared.
const FIELDS: [&str; 5] = ["title", "body", "state", "labels", "assignees"];

/// `[HIGH] Incident #12: Leaked deploy token`.
pub fn title(incident: &Incident) -> String {
    format!(
        "[{}] Incident {}: {}",
        incident.severity.as_str().to_ascii_uppercase(),
        incident.id,
        incident.title
    )
}

/// The configured labels plus the severity label.
pub fn labels(config: &TrackingIssue, incident: &Incident) -> Vec<String> {
    let mut labels = config.labels.clone();
    if !config.severity_label_prefix.is_empty() {
        labels.push(format!("{}{}", config.severity_label_prefix, incident.severity));
    }
    labels
}

/// The GitHub logins of the commander and the assignee, when configured so and known.
pub fn assignees(config: &TrackingIssue, incident: &Incident) -> Vec<String> {
    if !config.assignees_from_people {
        return Vec::new();
    }
    let mut logins: Vec<String> = Vec::new();
    for person in [&incident.commander, &incident.assignee].into_iter().flatten() {
        if let Some(login) = config.logins.get(person)
            && !logins.contains(login)
        {
            logins.push(login.clone());
        }
    }
    logins
}

/// Text inside a markdown link's brackets, with the characters that would end it escaped.
fn link_text(text: &str) -> String {
    text.replace('\\', "\\\\").replace('[', "\\[").replace(']', "\\]")
}

/// `alice (@alice-gh)`, `alice`, or `—`.
fn person(config: &TrackingIssue, name: &Option<String>) -> String {
    match name {
        None => "—".to_owned(),
        Some(name) => match config.logins.get(name) {
            Some(login) => format!("{name} (@{login})"),
            None => name.clone(),
        },
    }
}

/// A deadline with its outcome, without "due in", which would go stale on GitHub.
fn deadline(at: DateTime<Utc>, done: Option<DateTime<Utc>>, breached: bool) -> String {
    let verdict = match done {
        _ if breached => " — breached",
        Some(done) if done > at => " — breached",
        Some(_) => " — met",
        None => "",
    };
    format!("{}{verdict}", time(at))
}

/// The issue's description.
pub fn body(config: &TrackingIssue, incident: &Incident, alerts: &[LinkedAlert]) -> String {
    let id = incident.id;
    let mut out = format!(
        "Security incident {id}, run in chat with Sentinel (`/incident show {}`). Sentinel keeps this \
         description, the state and the labels up to date; comments here are not read back.\n\n",
        id.0
    );
    out.push_str(&format!("- **State:** {}\n", state_line(incident)));
    out.push_str(&format!("- **Severity:** {}\n", incident.severity));
    out.push_str(&format!("- **Commander:** {}\n", person(config, &incident.commander)));
    out.push_str(&format!("- **Assignee:** {}\n", person(config, &incident.assignee)));
    out.push_str(&format!("- **Stage:** {}\n", incident.stage.title()));
    out.push_str(&format!(
        "- **Opened:** {} by {}\n",
        time(incident.opened_at),
        incident.opened_by
    ));
    if let Some(repository) = &incident.repository {
        out.push_str(&format!("- **Repository:** {repository}\n"));
    }
    if let Some(at) = incident.respond_by {
        out.push_str(&format!(
            "- **Respond by:** {}\n",
            deadline(at, incident.acknowledged_at, incident.response_breached)
        ));
    }
    if let Some(at) = incident.resolve_by {
        out.push_str(&format!(
            "- **Resolve by:** {}\n",
            deadline(at, incident.resolved_at, incident.resolution_breached)
        ));
    }
    if let Some(summary) = &incident.summary {
        out.push_str(&format!("- **Summary:** {summary}\n"));
    }
    out.push_str("\n### Linked alerts\n");
    if alerts.is_empty() {
        out.push_str("- none\n");
    }
    for alert in alerts {
        match &alert.url {
            Some(url) => out.push_str(&format!("- [{}]({url})\n", link_text(&alert.describe()))),
            None => out.push_str(&format!("- {}\n", alert.describe())),
        }
    }
    // Lets a person, and the GitHub worker when a creation's answer was lost, find the issue of
    // an incident.
    out.push_str(&format!("\n{}\n", marker(id)));
    out
}

/// The hidden line an incident's tracking issue body ends with.
pub fn marker(id: IncidentId) -> String {
    format!("<!-- sentinel:incident:{} -->", id.0)
}

/// Every field as the issue should have it now.
pub fn desired(config: &TrackingIssue, incident: &Incident, alerts: &[LinkedAlert]) -> Value {
    let state = if incident.state.is_active() { "open" } else { "closed" };
    json!({
        "title": title(incident),
        "body": body(config, incident, alerts),
        "state": state,
        "labels": labels(config, incident),
        "assignees": assignees(config, incident),
    })
}

/// The body of the create request, and the fields the new issue then has.
pub fn create(desired: &Value) -> (Value, Value) {
    let mut request = Map::new();
    for field in ["title", "body", "labels", "assignees"] {
        if let Some(value) = desired.get(field) {
            request.insert(field.to_owned(), value.clone());
        }
    }
    // A new issue is open; a change before the answer arrives is sent by the update after it.
    let mut created = desired.clone();
    if let Some(fields) = created.as_object_mut() {
        fields.insert("state".to_owned(), json!("open"));
    }
    (Value::Object(request), created)
}

/// The fields of `desired` that differ from `synced` (all of them when `synced` is unknown), as a
/// PATCH body; `None` when nothing changed. Closing says why (`completed`).
pub fn changes(synced: Option<&Value>, desired: &Value) -> Option<Value> {
    let mut patch = Map::new();
    for field in FIELDS {
        let wanted = desired.get(field).cloned().unwrap_or(Value::Null);
        if synced.and_then(|s| s.get(field)) != Some(&wanted) {
            patch.insert(field.to_owned(), wanted);
        }
    }
    if patch.get("state").and_then(Value::as_str) == Some("closed") {
        patch.insert("state_reason".to_owned(), json!("completed"));
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use sentinel_bot::Severity;

    use super::*;
    use crate::incident_commander::model::{IncidentId, IncidentState, Stage};

    fn incident() -> Incident {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap_or_default();
        Incident {
            id: IncidentId(12),
            title: "Leaked deploy token".into(),
            severity: Severity::High,
            state: IncidentState::Open,
            stage: Stage::Detection,
            commander: Some("alice".into()),
            assignee: Some("bob".into()),
            repository: None,
            grouping_key: None,
            summary: None,
            opened_at: at,
            opened_by: "alice".into(),
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            closed_at: None,
            closed_by: None,
            respond_by: None,
            resolve_by: None,
            response_breached: false,
            resolution_breached: false,
        }
    }

    fn config() -> TrackingIssue {
        let mut config = TrackingIssue {
            repository: Some("acme/security-incidents".into()),
            ..TrackingIssue::default()
        };
        config.logins.insert("alice".into(), "alice-gh".into());
        config
    }

    #[test]
    fn title_labels_and_assignees_come_from_the_incident_and_the_people_directory() {
        let incident = incident();
        assert_eq!(title(&incident), "[HIGH] Incident #12: Leaked deploy token");
        assert_eq!(labels(&config(), &incident), ["security-incident", "severity:high"]);
        // bob has no GitHub login: left out rather than guessed.
        assert_eq!(assignees(&config(), &incident), ["alice-gh"]);
        let off = TrackingIssue {
            assignees_from_people: false,
            severity_label_prefix: String::new(),
            ..config()
        };
        assert!(assignees(&off, &incident).is_empty());
        assert_eq!(labels(&off, &incident), ["security-incident"]);
    }

    #[test]
    fn an_update_sends_only_what_changed_and_closing_says_completed() {
        let mut incident = incident();
        let before = desired(&config(), &incident, &[]);
        assert_eq!(changes(Some(&before), &before), None);
        incident.state = IncidentState::Resolved;
        let after = desired(&config(), &incident, &[]);
        let patch = changes(Some(&before), &after).unwrap_or_default();
        let mut keys: Vec<&String> = patch.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        keys.sort();
        assert_eq!(keys, ["body", "state", "state_reason"]);
        assert_eq!(patch["state"], "closed");
        assert_eq!(patch["state_reason"], "completed");
        // Unknown: everything.
        let full = changes(None, &before).unwrap_or_default();
        assert_eq!(full.as_object().map(|o| o.len()), Some(5));
    }

    #[test]
    fn alert_links_escape_brackets() {
        let alert = LinkedAlert {
            key: "k".into(),
            source: "code_scanning".into(),
            repository: "acme/app".into(),
            number: Some(3),
            title: "a[0] out of bounds".into(),
            severity: "high".into(),
            state: "open".into(),
            url: Some("https://github.com/acme/app/security/code-scanning/3".into()),
        };
        let text = body(&config(), &incident(), &[alert]);
        assert!(
            text.contains(
                "- [code_scanning acme/app#3 (high, open): a\\[0\\] out of bounds](https://github.com/acme/app/security/code-scanning/3)"
            ),
            "{text}"
        );
        assert!(
            text.contains("- **Commander:** alice (@alice-gh)\n- **Assignee:** bob\n"),
            "{text}"
        );
    }
}
