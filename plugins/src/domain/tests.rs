//! Each family's payloads travel as the JSON the plugins wrote before they were typed, and that
//! JSON — as it sits in the inboxes of running installations — still decodes.

use chrono::{DateTime, TimeZone, Utc};
use sentinel_bot::{DomainEvent, DomainEventPayload, Severity};
use serde_json::{Value, json};

use super::alert::Alert;
use super::*;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// `payload` published travels as `wire` and `wire` read back is `payload`.
fn travels_as<T: DomainEventPayload + PartialEq + std::fmt::Debug>(payload: &T, wire: Value) {
    let event = DomainEvent::of(payload).unwrap();
    assert_eq!(event.kind, T::KIND);
    assert_eq!(event.payload, wire, "{}", T::KIND);
    let stored = serde_json::to_string(&event).unwrap();
    let back: DomainEvent = serde_json::from_str(&stored).unwrap();
    assert!(back.is::<T>());
    assert_eq!(&back.decode::<T>().unwrap(), payload);
}

/// An inbox row's payload, as the plugins wrote it, read as a `T`.
fn stored<T: DomainEventPayload>(payload: Value) -> T {
    DomainEvent {
        kind: T::KIND.to_owned(),
        payload,
    }
    .decode::<T>()
    .unwrap()
}

/// The alert notifier's alert as `serde_json::to_value(alert)` wrote it.
fn alert_json() -> Value {
    json!({
        "key": "dependabot:acme/app:3", "source": "dependabot", "repository": "acme/app", "number": 3,
        "severity": "high", "state": "open", "title": "lodash: prototype pollution",
        "summary": "Versions of lodash are vulnerable.", "package": "lodash", "ecosystem": "npm",
        "vulnerable_range": "< 4.17.21", "patched_version": "4.17.21", "manifest": "package-lock.json",
        "cve": "CVE-2021-23337", "ghsa": "GHSA-35jh-r3h4-6jhm", "cvss": 7.2, "rule": null, "tool": null,
        "location": null, "branch": null, "secret_type": null, "publicly_leaked": false, "validity": null,
        "url": "https://github.com/acme/app/security/dependabot/3", "created_at": "2026-03-02T08:00:00Z",
    })
}

fn alert() -> Alert {
    serde_json::from_value(alert_json()).unwrap()
}

#[test]
fn alert_events_travel_as_before() {
    travels_as(&AlertRaised(alert()), alert_json());
    let grouping_key = "acme/app:GHSA-35jh-r3h4-6jhm".to_owned();
    travels_as(
        &AlertIncidentRequested {
            alert: alert(),
            grouping_key: grouping_key.clone(),
            requested_by: None,
        },
        json!({ "alert": alert_json(), "grouping_key": grouping_key }),
    );
    travels_as(
        &AlertIncidentRequested {
            alert: alert(),
            grouping_key: grouping_key.clone(),
            requested_by: Some("carol".into()),
        },
        json!({ "alert": alert_json(), "grouping_key": grouping_key, "requested_by": "carol" }),
    );
    let transition = AlertTransition {
        alert: alert(),
        action: "fixed".into(),
        actor: None,
        grouping_key: grouping_key.clone(),
    };
    let wire = json!({ "alert": alert_json(), "action": "fixed", "actor": null, "grouping_key": grouping_key });
    travels_as(&AlertClosed(transition.clone()), wire.clone());
    travels_as(&AlertReopened(transition), wire);
    travels_as(
        &AlertAcknowledged {
            alert: alert(),
            by: "alice".into(),
            grouping_key: grouping_key.clone(),
        },
        json!({ "alert": alert_json(), "by": "alice", "grouping_key": grouping_key }),
    );
}

#[test]
fn sla_events_travel_as_before() {
    travels_as(
        &SlaPlanned {
            incident_id: 1,
            severity: Some(Severity::Critical),
            respond_by: Some(at("2026-03-02T10:00:00Z")),
            resolve_by: Some(at("2026-03-03T09:00:00Z")),
        },
        json!({"incident_id": 1, "severity": "critical", "respond_by": "2026-03-02T10:00:00Z", "resolve_by": "2026-03-03T09:00:00Z"}),
    );
    let deadline = SlaDeadline {
        incident_id: 1,
        kind: Some("response".into()),
        deadline: Some(at("2026-03-02T10:00:00Z")),
        at: Some(at("2026-03-02T10:00:00Z")),
    };
    let wire =
        json!({"incident_id": 1, "kind": "response", "deadline": "2026-03-02T10:00:00Z", "at": "2026-03-02T10:00:00Z"});
    travels_as(&SlaWarning(deadline.clone()), wire.clone());
    travels_as(&SlaBreached(deadline), wire);
    travels_as(
        &SlaPing {
            incident_id: 1,
            level: Some("emergency_contact".into()),
            step: Some(1),
            at: Some(at("2026-03-02T09:00:00Z")),
            mentions: vec!["emergency".into()],
        },
        json!({"incident_id": 1, "level": "emergency_contact", "step": 1, "at": "2026-03-02T09:00:00Z", "mentions": ["emergency"]}),
    );
}

#[test]
fn incident_events_travel_as_before() {
    let nine = at("2026-03-02T09:00:00Z");
    travels_as(
        &IncidentOpened {
            id: 1,
            title: "Token leak".into(),
            severity: Severity::High,
            opened_at: Some(nine),
            opened_by: "alice".into(),
            repository: None,
            alert_keys: vec![],
        },
        json!({ "id": 1, "title": "Token leak", "severity": "high", "opened_at": "2026-03-02T09:00:00Z",
                "opened_by": "alice", "repository": null, "alert_keys": [] }),
    );
    let change = IncidentChange {
        id: 1,
        at: Some(nine),
        by: Some("bob".into()),
    };
    let wire = json!({ "id": 1, "at": "2026-03-02T09:00:00Z", "by": "bob" });
    travels_as(&IncidentAcknowledged(change.clone()), wire.clone());
    travels_as(&IncidentReopened(change.clone()), wire.clone());
    travels_as(&IncidentClosed(change.clone()), wire.clone());
    travels_as(&IncidentEscalateRequested(change), wire);
    travels_as(
        &IncidentAssigned {
            id: 1,
            assignee: "carol".into(),
            at: nine,
            by: "bob".into(),
        },
        json!({ "id": 1, "assignee": "carol", "at": "2026-03-02T09:00:00Z", "by": "bob" }),
    );
    travels_as(
        &IncidentSeverityChanged {
            id: 1,
            from: Some(Severity::Medium),
            to: Severity::High,
            at: Some(nine),
            by: Some("bob".into()),
            opened_at: Some(at("2026-03-02T08:00:00Z")),
        },
        json!({ "id": 1, "from": "medium", "to": "high", "at": "2026-03-02T09:00:00Z", "by": "bob",
                "opened_at": "2026-03-02T08:00:00Z" }),
    );
    travels_as(
        &IncidentResolved {
            id: 1,
            at: Some(nine),
            by: Some("github".into()),
            summary: None,
        },
        json!({ "id": 1, "at": "2026-03-02T09:00:00Z", "by": "github", "summary": null }),
    );
}

#[test]
fn audit_events_travel_as_rfc3339_to_the_second() {
    travels_as(
        &AuditCompleted {
            run_id: 4,
            audit: "weekly".into(),
            completed_at: Some(at("2026-03-02T09:30:00Z")),
            done_by: vec!["alice".into()],
        },
        json!({ "run_id": 4, "audit": "weekly", "completed_at": "2026-03-02T09:30:00Z", "done_by": ["alice"] }),
    );
    travels_as(
        &AuditOverdue {
            run_id: 4,
            audit: "weekly".into(),
            open_items: vec!["review".into()],
            escalated_to: "security-lead".into(),
            at: at("2026-03-03T09:00:00Z"),
        },
        json!({ "run_id": 4, "audit": "weekly", "open_items": ["review"], "escalated_to": "security-lead",
                "at": "2026-03-03T09:00:00Z" }),
    );
}

#[test]
fn payloads_already_in_inboxes_still_decode() {
    // The audit scheduler wrote `to_rfc3339()`: an offset and fractional seconds.
    let completed: AuditCompleted = stored(json!({
        "run_id": 4, "audit": "weekly", "completed_at": "2026-03-02T09:30:00.250+00:00", "done_by": []
    }));
    let expected = Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap() + chrono::Duration::milliseconds(250);
    assert_eq!(completed.completed_at, Some(expected));
    let overdue: AuditOverdue = stored(json!({
        "run_id": 4, "audit": "weekly", "open_items": [], "escalated_to": "lead", "at": "2026-03-03T09:00:00.123456789+00:00"
    }));
    assert_eq!(overdue.at.timestamp(), at("2026-03-03T09:00:00Z").timestamp());

    // A second-precision time written by the incident commander and the SLA escalator reads back
    // the same: the wire format is the old `to_rfc3339_opts(Secs, true)`.
    let written = "2026-03-02T09:00:00Z";
    let resolved: IncidentResolved = stored(json!({ "id": 1, "at": written, "by": "alice", "summary": "done" }));
    assert_eq!(resolved.at, Some(at(written)));
    assert_eq!(resolved.summary.as_deref(), Some("done"));

    // Readers were lenient where these are: a missing time, action or grouping key.
    let reopened: AlertReopened = stored(json!({ "alert": alert_json() }));
    assert_eq!(reopened.0.action, "");
    assert_eq!(reopened.0.actor, None);
    let breach: SlaBreached = stored(json!({ "incident_id": 99, "kind": "response" }));
    assert_eq!((breach.0.deadline, breach.0.at), (None, None));
    let unreadable: IncidentAcknowledged = stored(json!({ "id": 1, "at": "yesterday", "by": "bob" }));
    assert_eq!(unreadable.0.at, None);

    // An alert as an older notifier sent it, without `publicly_leaked`.
    let mut older = alert_json();
    older.as_object_mut().unwrap().remove("publicly_leaked");
    let raised: AlertRaised = stored(older);
    assert!(!raised.0.publicly_leaked);
}

#[test]
fn a_payload_that_breaks_the_contract_is_skipped_not_retried() {
    let event = DomainEvent {
        kind: IncidentOpened::KIND.to_owned(),
        payload: json!({ "id": 1, "severity": "catastrophic" }),
    };
    assert!(read::<IncidentOpened>(&event).is_none());
    assert!(read::<IncidentClosed>(&event).is_none());
    let fine = DomainEvent::of(&IncidentClosed(IncidentChange {
        id: 2,
        at: None,
        by: None,
    }))
    .unwrap();
    assert_eq!(read::<IncidentClosed>(&fine).map(|c| c.0.id), Some(2));
}
