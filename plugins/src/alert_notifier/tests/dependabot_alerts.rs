//! Dependabot alerts: each action, the CVSS fallback, and odd field types read as absent.

use super::*;

#[test]
fn dependabot_created() {
    let c = fixture("dependabot_alert.created.json");
    let a = &c.alert;
    assert_eq!(a.key, "dependabot:wolfy1339/pika-pack:20");
    assert_eq!(a.source, AlertSource::Dependabot);
    assert_eq!(a.repository.as_deref(), Some("wolfy1339/pika-pack"));
    assert_eq!(a.number, Some(20));
    assert_eq!(a.severity, Severity::Medium);
    assert_eq!(a.state, AlertState::Open);
    assert_eq!(a.title, "semver vulnerable to Regular Expression Denial of Service");
    assert_eq!(
        a.summary.as_deref(),
        Some(
            "Versions of the package semver before 7.5.2 are vulnerable to Regular Expression \
             Denial of Service (ReDoS) via the function new Range, when untrusted user data is \
             provided as a range."
        )
    );
    assert_eq!(a.package.as_deref(), Some("semver"));
    assert_eq!(a.ecosystem.as_deref(), Some("npm"));
    assert_eq!(a.vulnerable_range.as_deref(), Some("< 7.5.2"));
    assert_eq!(a.patched_version.as_deref(), Some("7.5.2"));
    assert_eq!(a.manifest.as_deref(), Some("package-lock.json"));
    assert_eq!(a.cve.as_deref(), Some("CVE-2022-25883"));
    assert_eq!(a.ghsa.as_deref(), Some("GHSA-c2qf-rxjj-qqgw"));
    assert_eq!(a.cvss, Some(5.3));
    assert_eq!(
        a.url.as_deref(),
        Some("https://github.com/wolfy1339/pika-pack/security/dependabot/20")
    );
    assert_eq!(a.created_at, Some(ts("2023-06-24T13:57:12Z")));
    assert_eq!(a.rule, None);
    assert_eq!(a.location, None);
    assert!(!a.publicly_leaked);
    assert_eq!(c.action, "created");
    assert_eq!(c.actor.as_deref(), Some("github"));
    assert_eq!(c.note, "New alert");
    assert_eq!(c.reason, None);
}

#[test]
fn dependabot_fixed() {
    let c = fixture("dependabot_alert.fixed.json");
    let a = &c.alert;
    assert_eq!(a.key, "dependabot:octocat/hello-world:1");
    assert_eq!(a.number, Some(1));
    assert_eq!(a.severity, Severity::Medium);
    assert_eq!(a.state, AlertState::Fixed);
    assert!(a.state.is_closed());
    assert_eq!(a.title, "Insertion of Sensitive Information into Log File in ansible");
    assert_eq!(a.package.as_deref(), Some("ansible"));
    assert_eq!(a.ecosystem.as_deref(), Some("pip"));
    // The alert's own `security_vulnerability`, not the advisory's first range.
    assert_eq!(a.vulnerable_range.as_deref(), Some("< 2.8.19"));
    assert_eq!(a.patched_version.as_deref(), Some("2.8.19"));
    assert_eq!(a.manifest.as_deref(), Some("path/to/requirements.txt"));
    assert_eq!(a.cve.as_deref(), Some("CVE-2021-20191"));
    assert_eq!(a.ghsa.as_deref(), Some("GHSA-8f4m-hccc-8qph"));
    assert_eq!(a.cvss, Some(5.5));
    assert_eq!(
        a.url.as_deref(),
        Some("https://github.com/octocat/hello-world/security/dependabot/1")
    );
    assert_eq!(a.created_at, Some(ts("2022-06-14T15:21:52Z")));
    assert_eq!(c.action, "fixed");
    assert_eq!(c.actor.as_deref(), Some("github"));
    assert_eq!(c.note, "Fixed");
    assert_eq!(c.reason, None);
}

#[test]
fn dependabot_dismissed_names_dismisser_reason_and_comment() {
    let mut p = load("dependabot_alert.created.json");
    p["action"] = json!("dismissed");
    p["alert"]["state"] = json!("dismissed");
    p["alert"]["dismissed_at"] = json!("2023-06-25T10:00:00Z");
    p["alert"]["dismissed_by"] = json!({ "login": "octocat", "id": 1 });
    p["alert"]["dismissed_reason"] = json!("tolerable_risk");
    p["alert"]["dismissed_comment"] = json!("we accept it");
    let c = change_of("dependabot_alert", &p);
    assert_eq!(c.alert.state, AlertState::Dismissed);
    assert_eq!(c.actor.as_deref(), Some("octocat"));
    assert_eq!(c.note, "Dismissed by octocat: tolerable_risk — “we accept it”");
    assert_eq!(c.reason.as_deref(), Some("tolerable_risk — “we accept it”"));
    assert_eq!(c.alert.key, "dependabot:wolfy1339/pika-pack:20");
}

#[test]
fn dependabot_other_actions() {
    let cases = [
        ("reopened", "open", AlertState::Open, "Reopened by github"),
        ("reintroduced", "open", AlertState::Open, "Reintroduced"),
        ("auto_reopened", "open", AlertState::Open, "Auto-reopened"),
        (
            "auto_dismissed",
            "auto_dismissed",
            AlertState::Dismissed,
            "Auto-dismissed",
        ),
    ];
    for (action, state, expected, note) in cases {
        let mut p = load("dependabot_alert.created.json");
        p["action"] = json!(action);
        p["alert"]["state"] = json!(state);
        let c = change_of("dependabot_alert", &p);
        assert_eq!(c.alert.state, expected, "{action}");
        assert_eq!(c.note, note, "{action}");
        assert_eq!(c.action, action);
    }
}

#[test]
fn unknown_action_keeps_payload_state_and_names_the_action() {
    let mut p = load("dependabot_alert.fixed.json");
    p["action"] = json!("assignees_changed");
    let c = change_of("dependabot_alert", &p);
    assert_eq!(c.alert.state, AlertState::Fixed);
    assert_eq!(c.note, "Action: assignees_changed");
    assert_eq!(c.action, "assignees_changed");

    let mut p = load("code_scanning_alert.created.json");
    p["action"] = json!("brand_new_thing");
    let c = change_of("code_scanning_alert", &p);
    assert_eq!(c.alert.state, AlertState::Open);
    assert_eq!(c.note, "Action: brand_new_thing");
}

#[test]
fn dependabot_cvss_falls_back_to_cvss_severities() {
    let mut p = load("dependabot_alert.created.json");
    // What GitHub sends once the deprecated field is no longer maintained.
    p["alert"]["security_advisory"]["cvss"] = json!({ "vector_string": null, "score": 0.0 });
    p["alert"]["security_advisory"]["cvss_severities"] = json!({
        "cvss_v3": { "vector_string": "CVSS:3.1/AV:N", "score": 5.3 },
        "cvss_v4": { "vector_string": "CVSS:4.0/AV:N", "score": 6.9 }
    });
    assert_eq!(change_of("dependabot_alert", &p).alert.cvss, Some(6.9));

    p["alert"]["security_advisory"]["cvss_severities"]["cvss_v4"] = json!(null);
    assert_eq!(change_of("dependabot_alert", &p).alert.cvss, Some(5.3));

    p["alert"]["security_advisory"]
        .as_object_mut()
        .unwrap()
        .remove("cvss_severities");
    assert_eq!(change_of("dependabot_alert", &p).alert.cvss, None);
}

#[test]
fn odd_field_types_read_as_absent_instead_of_failing() {
    let mut p = load("dependabot_alert.created.json");
    p["alert"]["security_advisory"]["cvss"] = json!("high");
    p["alert"]["dependency"] = json!(["not", "an", "object"]);
    p["alert"]["created_at"] = json!("yesterday");
    p["sender"] = json!(42);
    let c = change_of("dependabot_alert", &p);
    assert_eq!(c.alert.cvss, None);
    assert_eq!(c.alert.manifest, None);
    assert_eq!(c.alert.created_at, None);
    assert_eq!(c.actor, None);
    // Everything else still comes through.
    assert_eq!(c.alert.package.as_deref(), Some("semver"));
    assert_eq!(c.alert.severity, Severity::Medium);
}
