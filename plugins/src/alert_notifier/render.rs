//! What a channel sees: one message per alert, edited in place as the alert changes, and a short
//! note in its thread for each change.

use sentinel_bot::{Button, ButtonStyle, Message};

use super::normalize::{Alert, AlertSource, AlertState};
use super::route::Destination;

/// Action id of the "Acknowledge" button; its value is the alert key (or, where the key is too long
/// for the platform's button, its digest: see [`sentinel_bot::message::value_digest`]).
pub const ACK: &str = "alert.ack";
/// Action id of the "Open incident" button; its value is the alert key.
pub const INCIDENT: &str = "alert.incident";

/// The alert's message for one destination. It is keyed by the alert key, so sending it again
/// after a change edits the message already in that channel.
pub fn alert_message(alert: &Alert, destination: &Destination) -> Message {
    let mut message = Message::new(destination.channel.as_str(), summary(alert))
        .keyed(alert.key.as_str())
        .title(format!("[{}] {}", alert.severity.as_str().to_uppercase(), alert.title))
        .severity(alert.severity)
        .context(format!("{} · {}", alert.source, alert.key));
    for (name, value) in fields(alert) {
        message = message.field(name, value);
    }
    if let Some(summary) = &alert.summary {
        message = message.body(summary.as_str());
    }
    // Nobody acknowledges or escalates an alert that is already closed; the link stays useful.
    if !alert.state.is_closed() {
        message = message
            .button(Button::action("Acknowledge", ACK, alert.key.as_str()).styled(ButtonStyle::Primary))
            .button(Button::action("Open incident", INCIDENT, alert.key.as_str()).styled(ButtonStyle::Danger));
    }
    if let Some(url) = &alert.url {
        // Text cut to fit a platform links to the alert on GitHub, where all of it is.
        message = message
            .button(Button::link("View on GitHub", url.as_str()))
            .link(url.as_str());
    }
    for mention in &destination.mentions {
        message = message.mention(mention.clone());
    }
    message
}

/// A one-line note about a change, posted in the thread of the alert's message in `channel`.
pub fn note_message(alert: &Alert, channel: &str, note: &str) -> Message {
    Message::new(channel, note).in_thread(alert.key.as_str())
}

/// The notification line: what kind of alert, where, and its state once closed.
pub fn summary(alert: &Alert) -> String {
    let what = match (alert.source, &alert.repository, alert.number) {
        (AlertSource::Workflow, Some(repository), Some(run)) => {
            format!("Failed security workflow in {repository} (run #{run})")
        }
        (AlertSource::Workflow, Some(repository), None) => format!("Failed security workflow in {repository}"),
        (AlertSource::SecurityAdvisory | AlertSource::RepositoryAdvisory, repository, _) => {
            let id = alert.ghsa.as_deref().unwrap_or(alert.key.as_str());
            match repository {
                Some(repository) => format!("{} {id} in {repository}", source_label(alert.source)),
                None => format!("{} {id}", source_label(alert.source)),
            }
        }
        (source, Some(repository), Some(number)) => format!("{} #{number} in {repository}", source_label(source)),
        (source, Some(repository), None) => format!("{} in {repository}", source_label(source)),
        (source, None, _) => source_label(source).to_owned(),
    };
    if alert.state.is_closed() {
        format!("{what} — {}", alert.state)
    } else {
        what
    }
}

fn source_label(source: AlertSource) -> &'static str {
    match source {
        AlertSource::Dependabot => "Dependabot alert",
        AlertSource::CodeScanning => "Code scanning alert",
        AlertSource::SecretScanning => "Secret scanning alert",
        AlertSource::SecurityAdvisory => "GitHub security advisory",
        AlertSource::RepositoryAdvisory => "Repository security advisory",
        AlertSource::VulnerabilityAlert => "Vulnerable dependency alert",
        AlertSource::Workflow => "Failed security workflow",
    }
}

/// The label/value grid, in the order a responder reads it: where, what, how bad, what state.
/// Fields the alert does not have are left out rather than shown empty.
pub fn fields(alert: &Alert) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut add = |name: &'static str, value: Option<String>| {
        if let Some(value) = value {
            out.push((name, value));
        }
    };
    add("Repository", alert.repository.clone());
    add(
        "Package",
        alert.package.as_ref().map(|package| match &alert.ecosystem {
            Some(ecosystem) => format!("{package} ({ecosystem})"),
            None => package.clone(),
        }),
    );
    add("Manifest", alert.manifest.clone());
    add("Vulnerable", alert.vulnerable_range.clone());
    add("Patched", alert.patched_version.clone());
    add("CVE", alert.cve.clone());
    add("GHSA", alert.ghsa.clone());
    add("CVSS", alert.cvss.map(|score| format!("{score:.1}")));
    add(
        "Rule",
        alert.rule.as_ref().map(|rule| match &alert.tool {
            Some(tool) => format!("{rule} ({tool})"),
            None => rule.clone(),
        }),
    );
    add("Location", alert.location.clone());
    add("Branch", alert.branch.clone());
    let leaked = "⚠️ publicly leaked: revoke it now";
    add(
        "Secret type",
        match (&alert.secret_type, alert.publicly_leaked) {
            (Some(kind), true) => Some(format!("{kind} — {leaked}")),
            (Some(kind), false) => Some(kind.clone()),
            (None, true) => Some(format!("unknown — {leaked}")),
            (None, false) => None,
        },
    );
    add("Validity", alert.validity.clone());
    add("State", Some(state_label(alert.state).to_owned()));
    out
}

fn state_label(state: AlertState) -> &'static str {
    match state {
        AlertState::Open => "Open",
        AlertState::Fixed => "Fixed",
        AlertState::Dismissed => "Dismissed",
        AlertState::Resolved => "Resolved",
        AlertState::Withdrawn => "Withdrawn",
        AlertState::Failed => "Failed",
    }
}
