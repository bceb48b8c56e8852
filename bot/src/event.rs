//! What plugins react to. Every input becomes one [`Event`], stored in the inbox before it is
//! acknowledged and handed to plugins by the dispatcher.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{DedupKey, EventId, Platform, TimerKey};

/// One input, as a plugin sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A verified GitHub webhook delivery.
    GitHub(GitHubDelivery),
    /// A slash command typed on any platform.
    Command(Command),
    /// A button clicked on any platform.
    Action(Action),
    /// One of the plugin's own timers came due.
    Timer(TimerFired),
    /// One of the plugin's cron schedules came due.
    Schedule(ScheduleTick),
    /// Something another plugin announced (alert raised, incident opened, …).
    Domain(DomainEvent),
}

impl Event {
    /// The inbox `kind` column for this event.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::GitHub(_) => "github",
            Event::Command(_) => "command",
            Event::Action(_) => "action",
            Event::Timer(_) => "timer",
            Event::Schedule(_) => "schedule",
            Event::Domain(_) => "domain",
        }
    }
}

/// A GitHub webhook delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct GitHubDelivery {
    /// The `X-GitHub-Event` header: `dependabot_alert`, `workflow_run`, …
    pub event: String,
    /// The `X-GitHub-Delivery` header; for a security alert (by webhook or by poll) its content
    /// key instead, `github-alert:{event}:{repo}:{number}:{state}:{updated_at}` (see
    /// [`NewEvent::github_alert_key`]).
    pub delivery: String,
    /// The parsed body.
    pub payload: Value,
}

impl GitHubDelivery {
    /// The body's `action` field, when there is one.
    pub fn action(&self) -> Option<&str> {
        self.payload.get("action").and_then(Value::as_str)
    }
}

/// Who did something, as their platform identified them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Where they are.
    pub platform: Platform,
    /// Their platform user id.
    pub id: String,
    /// Their display name (or the id when none was given).
    pub name: String,
    /// Platform groups or roles they belong to, as ids, when the platform says so (Discord roles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// Where a command or click came from, so a reply goes back there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The person.
    pub actor: Actor,
    /// The platform's channel id the command was typed in.
    pub channel: String,
    /// The platform's per-interaction reply address (Slack `response_url`, Discord webhook token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_url: Option<String>,
}

/// A slash command: `/incident ack 42` is name `incident`, args `ack 42`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// The command without its slash.
    pub name: String,
    /// Everything after the command name, trimmed.
    pub args: String,
    /// Who typed it, where.
    pub origin: Origin,
}

/// A button click.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// The button's action id, `<prefix>.<verb>`.
    pub id: String,
    /// The button's value.
    pub value: String,
    /// Who clicked, where.
    pub origin: Origin,
}

/// A timer that came due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerFired {
    /// The key it was set with.
    pub key: TimerKey,
    /// When it was due (it fires at or shortly after this).
    pub due_at: DateTime<Utc>,
    /// The payload it was set with.
    pub payload: Value,
}

/// A cron schedule occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleTick {
    /// The schedule's name.
    pub name: String,
    /// The occurrence this tick stands for.
    pub due_at: DateTime<Utc>,
    /// True when the occurrence was missed while Sentinel was down and is run late, once.
    #[serde(default)]
    pub late: bool,
}

/// A domain event: a fact one plugin announces for others, e.g. `incident.opened`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// Dotted name, `<noun>.<past-tense verb>`.
    pub kind: String,
    /// The facts, as JSON.
    pub payload: Value,
}

impl DomainEvent {
    /// The event for a typed payload, in the wire format [`Cx::publish`](crate::Cx::publish) stores.
    pub fn of<T: DomainEventPayload>(payload: &T) -> Result<Self, serde_json::Error> {
        Ok(Self {
            kind: T::KIND.to_owned(),
            payload: serde_json::to_value(payload)?,
        })
    }

    /// Whether this is a `T`, by kind (the payload is not looked at).
    pub fn is<T: DomainEventPayload>(&self) -> bool {
        self.kind == T::KIND
    }

    /// Reads the payload as a `T`. Fails when the kind is not `T::KIND` or the payload does not
    /// have `T`'s shape (the error names the kind and the field).
    pub fn decode<T: DomainEventPayload>(&self) -> Result<T, DomainDecodeError> {
        if self.kind != T::KIND {
            return Err(DomainDecodeError::WrongKind {
                expected: T::KIND,
                found: self.kind.clone(),
            });
        }
        T::deserialize(&self.payload).map_err(|source| DomainDecodeError::Shape { kind: T::KIND, source })
    }
}

/// A typed domain event payload: the one definition both the plugin that publishes it and the
/// plugins that consume it use, so a renamed field fails to compile rather than to be read.
pub trait DomainEventPayload: Serialize + DeserializeOwned {
    /// The dotted kind it travels under, `<noun>.<past-tense verb>`; subscribe with it.
    const KIND: &'static str;
}

/// A domain event that is not the payload it was read as.
#[derive(Debug, thiserror::Error)]
pub enum DomainDecodeError {
    /// The event is of another kind.
    #[error("expected a `{expected}` event, got `{found}`")]
    WrongKind {
        /// The kind asked for.
        expected: &'static str,
        /// The event's kind.
        found: String,
    },
    /// The kind matches but the payload does not have the expected shape.
    #[error("bad `{kind}` payload: {source}")]
    Shape {
        /// The event's kind.
        kind: &'static str,
        /// Why, naming the field.
        source: serde_json::Error,
    },
}

/// An event on its way into the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Deduplication key: a second event with the same key is recognised and dropped.
    pub dedup_key: DedupKey,
    /// `github`, `command`, … (see [`Event::kind`]).
    pub kind: &'static str,
    /// The routing name: GitHub event, command, action id, timer key, schedule, domain kind.
    pub name: String,
    /// The owning plugin of a timer or schedule.
    pub owner: Option<String>,
    /// The JSON payload, as text.
    pub payload: String,
}

impl NewEvent {
    /// A GitHub delivery whose raw body has already been checked to be JSON.
    pub fn github(event: &str, delivery: &str, raw_body: String) -> Self {
        Self {
            dedup_key: DedupKey(format!("github:{delivery}")),
            kind: "github",
            name: event.to_owned(),
            owner: None,
            payload: raw_body,
        }
    }

    /// A GitHub security alert change (from a webhook or a poll), deduplicated by its content so that
    /// the same change seen both ways, or redelivered, is stored once.
    pub fn github_alert(event: &str, key: DedupKey, payload: String) -> Self {
        Self {
            dedup_key: key,
            kind: "github",
            name: event.to_owned(),
            owner: None,
            payload,
        }
    }

    /// The content key of a security alert event: `github-alert:{event}:{repo}:{number}:{state}:{updated_at}`
    /// (the repository lower-cased, as GitHub names are case-insensitive; a repository advisory's
    /// number is its GHSA id). `None` for other events and for payloads missing one of the parts
    /// (older webhook payloads have no `updated_at`): those are keyed by their delivery id.
    pub fn github_alert_key(event: &str, payload: &Value) -> Option<DedupKey> {
        let object = match event {
            "dependabot_alert" | "code_scanning_alert" | "secret_scanning_alert" => payload.get("alert")?,
            "repository_advisory" => payload.get("repository_advisory")?,
            _ => return None,
        };
        let text = |value: Option<&Value>| {
            value
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let repo = text(payload.get("repository").and_then(|r| r.get("full_name")))?.to_ascii_lowercase();
        let number = match object.get("number").and_then(Value::as_u64) {
            Some(number) => number.to_string(),
            None => text(object.get("ghsa_id"))?,
        };
        let state = text(object.get("state"))?;
        let updated_at = text(object.get("updated_at"))?;
        Some(DedupKey(format!(
            "github-alert:{event}:{repo}:{number}:{state}:{updated_at}"
        )))
    }

    /// A slash command, deduplicated by the platform's own id for it.
    pub fn command(dedup: &str, command: &Command) -> Result<Self, serde_json::Error> {
        Ok(Self {
            dedup_key: DedupKey(format!("command:{}:{dedup}", command.origin.actor.platform)),
            kind: "command",
            name: command.name.clone(),
            owner: None,
            payload: serde_json::to_string(command)?,
        })
    }

    /// A button click, deduplicated by the platform's own id for it.
    pub fn action(dedup: &str, action: &Action) -> Result<Self, serde_json::Error> {
        Ok(Self {
            dedup_key: DedupKey(format!("action:{}:{dedup}", action.origin.actor.platform)),
            kind: "action",
            name: action.id.clone(),
            owner: None,
            payload: serde_json::to_string(action)?,
        })
    }
}

/// An event read back from the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Its inbox id.
    pub id: EventId,
    /// The routing name (see [`NewEvent::name`]).
    pub name: String,
    /// The owning plugin of a timer or schedule.
    pub owner: Option<String>,
    /// The event.
    pub event: Event,
}

/// An inbox row that could not be read back as an event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The `kind` column holds something this version does not know.
    #[error("unknown event kind `{0}`")]
    UnknownKind(String),
    /// The payload is not the JSON its kind needs.
    #[error("bad {kind} payload: {source}")]
    Payload {
        /// The event kind.
        kind: String,
        /// Why.
        source: serde_json::Error,
    },
}

impl Event {
    /// Rebuilds an event from its inbox columns.
    pub fn decode(kind: &str, name: &str, dedup_key: &str, payload: &str) -> Result<Self, DecodeError> {
        let bad = |source| DecodeError::Payload {
            kind: kind.to_owned(),
            source,
        };
        Ok(match kind {
            "github" => Event::GitHub(GitHubDelivery {
                event: name.to_owned(),
                delivery: dedup_key.strip_prefix("github:").unwrap_or(dedup_key).to_owned(),
                payload: serde_json::from_str(payload).map_err(bad)?,
            }),
            "command" => Event::Command(serde_json::from_str(payload).map_err(bad)?),
            "action" => Event::Action(serde_json::from_str(payload).map_err(bad)?),
            "timer" => Event::Timer(serde_json::from_str(payload).map_err(bad)?),
            "schedule" => Event::Schedule(serde_json::from_str(payload).map_err(bad)?),
            "domain" => Event::Domain(serde_json::from_str(payload).map_err(bad)?),
            other => return Err(DecodeError::UnknownKind(other.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Probed {
        by: String,
    }

    impl DomainEventPayload for Probed {
        const KIND: &'static str = "probe.seen";
    }

    #[test]
    fn a_typed_payload_round_trips_and_a_wrong_kind_or_shape_says_so() {
        let event = DomainEvent::of(&Probed { by: "alice".into() }).expect("encode");
        assert_eq!(event.kind, "probe.seen");
        assert_eq!(event.payload, serde_json::json!({ "by": "alice" }));
        assert!(event.is::<Probed>());
        assert_eq!(event.decode::<Probed>().expect("decode"), Probed { by: "alice".into() });

        let other = DomainEvent {
            kind: "probe.lost".into(),
            payload: serde_json::json!({ "by": "alice" }),
        };
        let err = other.decode::<Probed>().expect_err("wrong kind");
        assert_eq!(err.to_string(), "expected a `probe.seen` event, got `probe.lost`");

        let renamed = DomainEvent {
            kind: "probe.seen".into(),
            payload: serde_json::json!({ "who": "alice" }),
        };
        let err = renamed.decode::<Probed>().expect_err("wrong shape");
        assert!(err.to_string().contains("missing field `by`"), "{err}");
    }
}
