//! Code scanning and secret scanning alerts (and secret locations).

use super::*;

#[test]
fn code_scanning_created() {
    let c = fixture("code_scanning_alert.created.json");
    let a = &c.alert;
    assert_eq!(a.key, "code_scanning:Codertocat/Hello-World:10");
    assert_eq!(a.source, AlertSource::CodeScanning);
    assert_eq!(a.number, Some(10));
    // rule.severity "error", no security_severity_level.
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.state, AlertState::Open);
    assert_eq!(a.title, "Query built from user-controlled sources");
    assert_eq!(
        a.summary.as_deref(),
        Some(
            "Building a SQL or Java Persistence query from user-controlled sources is \
             vulnerable to insertion of malicious code by the user."
        )
    );
    assert_eq!(a.rule.as_deref(), Some("java/sql-injection"));
    assert_eq!(a.tool.as_deref(), Some("CodeQL"));
    // From `instances[0]`: this payload has no `most_recent_instance`.
    assert_eq!(
        a.location.as_deref(),
        Some("src/main/java/com/github/demo/service/BookService.java:84")
    );
    assert_eq!(a.branch.as_deref(), Some("code-feature"));
    assert_eq!(
        a.url.as_deref(),
        Some("https://github.com/Codertocat/Hello-World/security/code-scanning/10")
    );
    assert_eq!(a.created_at, Some(ts("2021-02-11T03:10:43Z")));
    assert_eq!(a.package, None);
    assert_eq!(c.actor.as_deref(), Some("github"));
    assert_eq!(c.note, "New alert on code-feature");
    assert_eq!(c.reason, None);
}

#[test]
fn code_scanning_fixed() {
    let c = fixture("code_scanning_alert.fixed.json");
    let a = &c.alert;
    assert_eq!(a.key, "code_scanning:Codertocat/Hello-World:10");
    assert_eq!(a.state, AlertState::Fixed);
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.rule.as_deref(), Some("java/sql-injection"));
    assert_eq!(
        a.location.as_deref(),
        Some("src/main/java/com/github/demo/service/BookService.java:84")
    );
    // Not a branch: kept whole rather than guessed at.
    assert_eq!(a.branch.as_deref(), Some("refs/pull/11/merge"));
    assert_eq!(c.note, "Fixed");
    assert_eq!(c.actor.as_deref(), Some("github"));
}

#[test]
fn code_scanning_reopened() {
    let c = fixture("code_scanning_alert.reopened.json");
    let a = &c.alert;
    assert_eq!(a.key, "code_scanning:Codertocat/Hello-World:10");
    // rule.severity "note".
    assert_eq!(a.severity, Severity::Low);
    assert_eq!(a.state, AlertState::Open);
    assert_eq!(
        a.title,
        "Add the frozen_string_literal comment to the top of files to help transition to \
         frozen string literals by default."
    );
    assert_eq!(a.rule.as_deref(), Some("Style/FrozenStringLiteralComment"));
    assert_eq!(a.tool.as_deref(), Some("Rubocop"));
    assert_eq!(a.location, None);
    assert_eq!(a.branch.as_deref(), Some("master"));
    assert_eq!(a.summary, None);
    assert_eq!(a.created_at, Some(ts("2020-07-22T14:06:31Z")));
    assert_eq!(c.note, "Reopened");
}

#[test]
fn code_scanning_security_level_beats_rule_severity() {
    let mut p = load("code_scanning_alert.created.json");
    p["alert"]["rule"]["security_severity_level"] = json!("critical");
    assert_eq!(change_of("code_scanning_alert", &p).alert.severity, Severity::Critical);
}

#[test]
fn code_scanning_closed_by_user_and_other_actions() {
    let mut p = load("code_scanning_alert.fixed.json");
    p["action"] = json!("closed_by_user");
    p["alert"]["state"] = json!("dismissed");
    p["alert"]["dismissed_by"] = json!({ "login": "octocat" });
    p["alert"]["dismissed_reason"] = json!("false positive");
    let c = change_of("code_scanning_alert", &p);
    assert_eq!(c.alert.state, AlertState::Dismissed);
    assert_eq!(c.actor.as_deref(), Some("octocat"));
    assert_eq!(c.note, "Dismissed by octocat: false positive");
    assert_eq!(c.reason.as_deref(), Some("false positive"));

    let mut p = load("code_scanning_alert.created.json");
    p["action"] = json!("appeared_in_branch");
    p["alert"]["instances"][0]["ref"] = json!("refs/heads/release/2.0");
    let c = change_of("code_scanning_alert", &p);
    assert_eq!(c.note, "Appeared in branch release/2.0");
    assert_eq!(c.alert.branch.as_deref(), Some("release/2.0"));

    let mut p = load("code_scanning_alert.reopened.json");
    p["action"] = json!("reopened_by_user");
    p["sender"] = json!({ "login": "octocat" });
    assert_eq!(change_of("code_scanning_alert", &p).note, "Reopened by octocat");

    p["action"] = json!("updated_assignment");
    assert_eq!(change_of("code_scanning_alert", &p).note, "Assignees updated");
}

// ----------------------------------------------------------- secret scanning

#[test]
fn secret_scanning_reopened() {
    let c = fixture("secret_scanning_alert.reopened.json");
    let a = &c.alert;
    assert_eq!(a.key, "secret_scanning:Codertocat/Hello-World:191");
    assert_eq!(a.source, AlertSource::SecretScanning);
    assert_eq!(a.number, Some(191));
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(a.state, AlertState::Open);
    assert_eq!(a.title, "Secret detected: adafruit_io_key");
    assert_eq!(a.secret_type.as_deref(), Some("adafruit_io_key"));
    assert!(!a.publicly_leaked);
    assert_eq!(a.validity, None);
    // The payload has no html_url; built from the repository page.
    assert_eq!(
        a.url.as_deref(),
        Some("https://github.com/Codertocat/Hello-World/security/secret-scanning/191")
    );
    assert_eq!(c.actor.as_deref(), Some("Codertocat"));
    assert_eq!(c.note, "Reopened by Codertocat");
    assert_eq!(c.reason, None);
}

#[test]
fn secret_scanning_alert_location_created() {
    let c = fixture("secret_scanning_alert_location.created.json");
    let a = &c.alert;
    // Same key as the alert itself, so the location lands on the same incident.
    assert_eq!(a.key, "secret_scanning:Codertocat/Hello-World:191");
    assert_eq!(a.source, AlertSource::SecretScanning);
    assert_eq!(a.state, AlertState::Open);
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(a.secret_type.as_deref(), Some("adafruit_io_key"));
    assert_eq!(a.location.as_deref(), Some("/example/secrets.txt:1"));
    assert_eq!(a.created_at, Some(ts("2022-04-01T11:01:10Z")));
    assert_eq!(c.action, "created");
    assert_eq!(c.actor, None);
    assert_eq!(c.note, "New location: /example/secrets.txt:1");
}

#[test]
fn secret_scanning_resolved_leaked_validated() {
    let mut p = load("secret_scanning_alert.reopened.json");
    p["action"] = json!("resolved");
    p["alert"]["resolution"] = json!("revoked");
    p["alert"]["resolved_by"] = json!({ "login": "octocat" });
    p["alert"]["resolution_comment"] = json!("rotated the key");
    p["alert"]["secret_type_display_name"] = json!("Adafruit IO Key");
    p["alert"]["html_url"] = json!("https://github.com/Codertocat/Hello-World/security/secret-scanning/191");
    let c = change_of("secret_scanning_alert", &p);
    assert_eq!(c.alert.state, AlertState::Resolved);
    assert_eq!(c.alert.title, "Secret detected: Adafruit IO Key");
    assert_eq!(c.alert.secret_type.as_deref(), Some("Adafruit IO Key"));
    assert_eq!(c.actor.as_deref(), Some("octocat"));
    assert_eq!(c.note, "Resolved by octocat: revoked — “rotated the key”");
    assert_eq!(c.reason.as_deref(), Some("revoked — “rotated the key”"));

    let mut p = load("secret_scanning_alert.reopened.json");
    p["action"] = json!("publicly_leaked");
    let c = change_of("secret_scanning_alert", &p);
    assert!(c.alert.publicly_leaked);
    assert_eq!(c.alert.state, AlertState::Open);
    assert_eq!(c.note, "Secret publicly leaked");

    let mut p = load("secret_scanning_alert.reopened.json");
    p["action"] = json!("validated");
    p["alert"]["validity"] = json!("active");
    let c = change_of("secret_scanning_alert", &p);
    assert_eq!(c.alert.validity.as_deref(), Some("active"));
    assert_eq!(c.note, "Validity checked: active");

    let mut p = load("secret_scanning_alert.reopened.json");
    p["action"] = json!("created");
    assert_eq!(change_of("secret_scanning_alert", &p).note, "New alert");
}
