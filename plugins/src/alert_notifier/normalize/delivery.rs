//! The entry point: which events are alerts, the envelope every mapper reads, and the errors.

use crate::alert_notifier::payload::Envelope;

use super::code_scanning::code_scanning;
use super::dependabot::dependabot;
use super::repository_advisory::repository_advisory;
use super::secret_scanning::secret_scanning;
use super::security_advisory::security_advisory;
use super::text::{clean, login};
use super::vulnerability_alert::vulnerability_alert;
use super::workflow_run::workflow_run;
use super::{Alert, AlertChange, SeverityMapping, WorkflowFilter};

/// Why a delivery of an event we handle could not become an alert. Logged
/// and dropped by the caller; the messages name the field so a broken sender
/// (or a GitHub payload change) is quick to diagnose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// The body is not a JSON object at all.
    #[error("`{event}` webhook body is not a JSON object")]
    NotAnObject {
        /// The `X-GitHub-Event` value.
        event: String,
    },
    /// A field needed to build or key the alert is absent, null or of the wrong type.
    #[error("`{event}` webhook body has no usable `{field}`, which is needed to build the alert")]
    Missing {
        /// The `X-GitHub-Event` value.
        event: String,
        /// Dotted path of the missing field, e.g. `alert.number`.
        field: &'static str,
    },
}

/// The `X-GitHub-Event` names [`normalize`] reads; every other event is not an alert. The plugin
/// subscribes to exactly these, so the list lives here, next to the code that handles them.
pub const EVENTS: [&str; 8] = [
    "dependabot_alert",
    "code_scanning_alert",
    "secret_scanning_alert",
    "secret_scanning_alert_location",
    "security_advisory",
    "repository_advisory",
    "repository_vulnerability_alert",
    "workflow_run",
];

/// Turns one webhook delivery into an alert change.
///
/// `event` is the `X-GitHub-Event` header. Returns `Ok(None)` for deliveries
/// that are not alerts (other events, unfinished or successful workflow runs,
/// workflows outside `workflows`), and an error when an event we handle lacks
/// what identifies the alert.
///
/// # Errors
///
/// [`NormalizeError`] when the event is one we handle but its body is not a
/// JSON object or lacks `action`, the alert object, the repository, or the
/// number / id that keys the alert.
pub fn normalize(
    event: &str,
    payload: &serde_json::Value,
    severity: &SeverityMapping,
    workflows: &WorkflowFilter,
) -> Result<Option<AlertChange>, NormalizeError> {
    let event = event.trim().to_ascii_lowercase();
    if !EVENTS.contains(&event.as_str()) {
        return Ok(None);
    }
    let ctx = Ctx::new(&event, payload)?;
    match event.as_str() {
        "dependabot_alert" => dependabot(&ctx, payload, severity).map(Some),
        "code_scanning_alert" => code_scanning(&ctx, payload, severity).map(Some),
        "secret_scanning_alert" | "secret_scanning_alert_location" => {
            secret_scanning(&ctx, payload, severity).map(Some)
        }
        "security_advisory" => security_advisory(&ctx, payload, severity).map(Some),
        "repository_advisory" => repository_advisory(&ctx, payload, severity).map(Some),
        "repository_vulnerability_alert" => vulnerability_alert(&ctx, payload, severity).map(Some),
        "workflow_run" => workflow_run(&ctx, payload, severity, workflows),
        _ => Ok(None),
    }
}

/// What every handler needs from the envelope, read once.
pub(super) struct Ctx<'a> {
    pub(super) event: &'a str,
    pub(super) action: String,
    pub(super) sender: Option<String>,
    pub(super) repository: Option<String>,
    pub(super) repository_url: Option<String>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(event: &'a str, payload: &serde_json::Value) -> Result<Self, NormalizeError> {
        if !payload.is_object() {
            return Err(NormalizeError::NotAnObject {
                event: event.to_string(),
            });
        }
        let envelope = parse::<Envelope>(event, payload)?;
        let repository = envelope.repository.unwrap_or_default();
        Ok(Self {
            event,
            action: clean(envelope.action.as_deref()).ok_or(NormalizeError::Missing {
                event: event.to_string(),
                field: "action",
            })?,
            sender: login(envelope.sender.as_ref()),
            repository: clean(repository.full_name.as_deref()),
            repository_url: clean(repository.html_url.as_deref()),
        })
    }

    pub(super) fn missing(&self, field: &'static str) -> NormalizeError {
        NormalizeError::Missing {
            event: self.event.to_string(),
            field,
        }
    }

    pub(super) fn repo(&self) -> Result<String, NormalizeError> {
        self.repository
            .clone()
            .ok_or_else(|| self.missing("repository.full_name"))
    }

    /// The alert's web page, built from the repository page when the payload
    /// omits it (GitHub's secret scanning examples do): a link is the most
    /// useful thing in a chat message.
    pub(super) fn page(&self, html_url: Option<&str>, path: &str, number: u64) -> Option<String> {
        clean(html_url).or_else(|| {
            self.repository_url
                .as_deref()
                .map(|repo| format!("{}/security/{path}/{number}", repo.trim_end_matches('/')))
        })
    }
}

/// Reads a typed view of the body. The views are lenient, so this only fails
/// on a non-object body, which [`Ctx::new`] already rejected.
pub(super) fn parse<T: serde::de::DeserializeOwned>(
    event: &str,
    payload: &serde_json::Value,
) -> Result<T, NormalizeError> {
    T::deserialize(payload).map_err(|_| NormalizeError::NotAnObject {
        event: event.to_string(),
    })
}

impl Ctx<'_> {
    pub(super) fn change(
        &self,
        alert: Alert,
        actor: Option<String>,
        note: String,
        reason: Option<String>,
    ) -> AlertChange {
        AlertChange {
            alert,
            action: self.action.clone(),
            actor,
            note,
            reason,
        }
    }
}
