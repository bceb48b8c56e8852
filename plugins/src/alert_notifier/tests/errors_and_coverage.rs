//! Missing essentials are errors, other events are ignored, every security fixture is covered, and
//! the alert model's names, JSON round trip and description cuts.

use super::*;

#[test]
fn missing_alert_is_a_helpful_error() {
    for event in [
        "dependabot_alert",
        "code_scanning_alert",
        "secret_scanning_alert",
        "secret_scanning_alert_location",
        "repository_vulnerability_alert",
    ] {
        let p = json!({
            "action": "created",
            "repository": { "full_name": "octo/repo" },
            "sender": { "login": "octocat" }
        });
        let err = normalize_default(event, &p).unwrap_err();
        assert_eq!(
            err,
            NormalizeError::Missing {
                event: event.to_string(),
                field: "alert"
            }
        );
        let message = err.to_string();
        assert!(message.contains(event), "{message}");
        assert!(message.contains("`alert`"), "{message}");
    }

    // `alert` present but not an object counts as missing, too.
    let mut p = load("dependabot_alert.created.json");
    p["alert"] = json!("oops");
    assert!(normalize_default("dependabot_alert", &p).is_err());
}

#[test]
fn other_missing_essentials_are_errors() {
    let mut p = load("dependabot_alert.created.json");
    p.as_object_mut().unwrap().remove("repository");
    assert_eq!(
        normalize_default("dependabot_alert", &p).unwrap_err().to_string(),
        "`dependabot_alert` webhook body has no usable `repository.full_name`, which is needed \
         to build the alert"
    );

    let mut p = load("code_scanning_alert.created.json");
    p["alert"]["number"] = json!(null);
    assert!(matches!(
        normalize_default("code_scanning_alert", &p),
        Err(NormalizeError::Missing {
            field: "alert.number",
            ..
        })
    ));

    let mut p = load("security_advisory.published.json");
    p["security_advisory"]["ghsa_id"] = json!(null);
    p["security_advisory"]["identifiers"] = json!([]);
    assert!(matches!(
        normalize_default("security_advisory", &p),
        Err(NormalizeError::Missing {
            field: "security_advisory.ghsa_id",
            ..
        })
    ));

    let mut p = load("secret_scanning_alert.reopened.json");
    p.as_object_mut().unwrap().remove("action");
    assert!(matches!(
        normalize_default("secret_scanning_alert", &p),
        Err(NormalizeError::Missing { field: "action", .. })
    ));

    let p = failed_run("failure", "CodeQL");
    let mut p = p;
    p.as_object_mut().unwrap().remove("workflow_run");
    assert!(matches!(
        normalize_default("workflow_run", &p),
        Err(NormalizeError::Missing {
            field: "workflow_run",
            ..
        })
    ));

    assert_eq!(
        normalize_default("dependabot_alert", &json!([1, 2])),
        Err(NormalizeError::NotAnObject {
            event: "dependabot_alert".to_string()
        })
    );
}

#[test]
fn non_security_fixtures_are_ignored() {
    let mut seen = 0;
    for file in fixture_files() {
        let event = event_of(&file);
        if SECURITY_EVENTS.contains(&event) {
            continue;
        }
        let p = load(&file);
        assert_eq!(normalize_default(event, &p), Ok(None), "{file}");
        seen += 1;
    }
    // check_run 4, issue_comment 4, issues 14, member 2, ping 2, push 3,
    // repository 6, workflow_job 4.
    assert_eq!(seen, 39);
}

#[test]
fn unhandled_events_are_ignored_whatever_the_body() {
    assert_eq!(normalize_default("issues", &json!(null)), Ok(None));
    assert_eq!(normalize_default("", &json!({})), Ok(None));
    // A security body under another event name is still not ours to read.
    let p = load("dependabot_alert.created.json");
    assert_eq!(normalize_default("check_run", &p), Ok(None));
    // The header's case does not matter.
    assert!(normalize_default("Dependabot_Alert", &p).unwrap().is_some());
}

/// Every security fixture is covered by a test above and parses to an alert
/// (or to `None` for workflow runs), so a new fixture cannot slip by untested.
#[test]
fn every_security_fixture_is_covered() {
    let covered = [
        "code_scanning_alert.created.json",
        "code_scanning_alert.fixed.json",
        "code_scanning_alert.reopened.json",
        "dependabot_alert.created.json",
        "dependabot_alert.fixed.json",
        "repository_advisory.published.json",
        "repository_vulnerability_alert.create.json",
        "repository_vulnerability_alert.dismiss.json",
        "repository_vulnerability_alert.resolve.json",
        "secret_scanning_alert.reopened.json",
        "secret_scanning_alert_location.created.json",
        "security_advisory.published.json",
        "security_advisory.withdrawn.json",
        "workflow_run.completed.json",
        "workflow_run.in_progress.json",
        "workflow_run.requested.json",
    ];
    let security: Vec<String> = fixture_files()
        .into_iter()
        .filter(|f| SECURITY_EVENTS.contains(&event_of(f)))
        .collect();
    assert_eq!(security, covered);
    for file in covered {
        let result = normalize_default(event_of(file), &load(file)).unwrap();
        assert_eq!(result.is_none(), file.starts_with("workflow_run."), "{file}");
    }
}

#[test]
fn alert_change_round_trips_through_json() {
    let c = fixture("dependabot_alert.created.json");
    let text = serde_json::to_string(&c).unwrap();
    let back: AlertChange = serde_json::from_str(&text).unwrap();
    assert_eq!(back, c);
    let v: Value = serde_json::to_value(&c).unwrap();
    assert_eq!(v["alert"]["source"], json!("dependabot"));
    assert_eq!(v["alert"]["state"], json!("open"));
    assert_eq!(v["alert"]["severity"], json!("medium"));
    assert_eq!(
        serde_json::to_value(AlertSource::CodeScanning).unwrap(),
        json!("code_scanning")
    );
}

#[test]
fn names_and_closedness() {
    assert_eq!(AlertSource::Dependabot.as_str(), "dependabot");
    assert_eq!(AlertSource::CodeScanning.as_str(), "code_scanning");
    assert_eq!(AlertSource::SecretScanning.as_str(), "secret_scanning");
    assert_eq!(AlertSource::SecurityAdvisory.as_str(), "security_advisory");
    assert_eq!(AlertSource::RepositoryAdvisory.as_str(), "repository_advisory");
    assert_eq!(AlertSource::VulnerabilityAlert.as_str(), "vulnerability_alert");
    assert_eq!(AlertSource::Workflow.as_str(), "workflow");
    let closed = [
        (AlertState::Open, false),
        (AlertState::Fixed, true),
        (AlertState::Dismissed, true),
        (AlertState::Resolved, true),
        (AlertState::Withdrawn, true),
        (AlertState::Failed, false),
    ];
    for (state, is_closed) in closed {
        assert_eq!(state.is_closed(), is_closed, "{state}");
        assert_eq!(state.to_string(), state.as_str());
    }
    assert_eq!(AlertState::Dismissed.to_string(), "dismissed");
}

#[test]
fn long_descriptions_are_cut_to_one_paragraph() {
    let mut p = load("security_advisory.published.json");
    let long = format!("{}\n\nSecond paragraph.", "word ".repeat(200));
    p["security_advisory"]["description"] = json!(long);
    let summary = change_of("security_advisory", &p).alert.summary.unwrap();
    assert!(summary.chars().count() <= 280, "{}", summary.len());
    assert!(summary.ends_with('…'));
    assert!(!summary.contains("Second"));
}

#[test]
fn descriptions_are_cut_in_units_the_platforms_count() {
    // An emoji is one character but two UTF-16 units, as Slack and Discord count them.
    let mut p = load("security_advisory.published.json");
    p["security_advisory"]["description"] = json!("🔥".repeat(300));
    let summary = change_of("security_advisory", &p).alert.summary.unwrap();
    assert!(summary.ends_with('…'));
    assert!(
        sentinel_bot::chat::fit::units(&summary) <= 280,
        "{}",
        summary.encode_utf16().count()
    );
}
