// Panicking on a broken fixture is the point of a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;
use sentinel_bot::Severity;

/// Same relative path from the scratch crate and from `plugins/` in the bot.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/github/");

/// Event types this module handles; everything else must be ignored.
const SECURITY_EVENTS: [&str; 8] = [
    "dependabot_alert",
    "code_scanning_alert",
    "secret_scanning_alert",
    "secret_scanning_alert_location",
    "security_advisory",
    "repository_advisory",
    "repository_vulnerability_alert",
    "workflow_run",
];

fn load(file: &str) -> Value {
    let path = format!("{FIXTURES}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

/// The `X-GitHub-Event` header is the file name's first dot part.
fn event_of(file: &str) -> &str {
    file.split('.').next().unwrap()
}

fn normalize_default(event: &str, payload: &Value) -> Result<Option<AlertChange>, NormalizeError> {
    normalize(event, payload, &SeverityMapping::default(), &WorkflowFilter::default())
}

fn change_of(event: &str, payload: &Value) -> AlertChange {
    normalize_default(event, payload)
        .unwrap_or_else(|e| panic!("{event}: {e}"))
        .unwrap_or_else(|| panic!("{event}: expected an alert change"))
}

fn fixture(file: &str) -> AlertChange {
    change_of(event_of(file), &load(file))
}

fn ts(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn fixture_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    files
}

// ---------------------------------------------------------------- dependabot

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

// ------------------------------------------------------------- code scanning

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

// ---------------------------------------------------------------- advisories

#[test]
fn security_advisory_published() {
    let c = fixture("security_advisory.published.json");
    let a = &c.alert;
    assert_eq!(a.key, "security_advisory:GHSA-rf4j-j272-fj86");
    assert_eq!(a.source, AlertSource::SecurityAdvisory);
    assert_eq!(a.repository, None);
    assert_eq!(a.number, None);
    assert_eq!(a.severity, Severity::Medium); // "moderate"
    assert_eq!(a.state, AlertState::Open);
    assert_eq!(a.title, "Moderate severity vulnerability that affects django");
    assert!(
        a.summary
            .as_deref()
            .unwrap()
            .starts_with("django.contrib.auth.forms.AuthenticationForm in Django 2.0")
    );
    // cve_id is null; the CVE is only in `identifiers`.
    assert_eq!(a.cve.as_deref(), Some("CVE-2018-6188"));
    assert_eq!(a.ghsa.as_deref(), Some("GHSA-rf4j-j272-fj86"));
    assert_eq!(a.cvss, Some(7.9));
    assert_eq!(a.package.as_deref(), Some("django"));
    assert_eq!(a.ecosystem.as_deref(), Some("pip"));
    assert_eq!(a.vulnerable_range.as_deref(), Some(">= 2.0.0, < 2.0.2"));
    assert_eq!(a.patched_version.as_deref(), Some("2.0.2"));
    assert_eq!(
        a.url.as_deref(),
        Some("https://github.com/advisories/GHSA-rf4j-j272-fj86")
    );
    assert_eq!(a.created_at, Some(ts("2018-10-03T21:13:54Z")));
    assert_eq!(c.actor, None);
    assert_eq!(c.note, "Published");
}

#[test]
fn security_advisory_withdrawn() {
    let c = fixture("security_advisory.withdrawn.json");
    let a = &c.alert;
    assert_eq!(a.key, "security_advisory:GHSA-8v27-2fg9-7h62");
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(a.state, AlertState::Withdrawn);
    assert!(a.state.is_closed());
    assert_eq!(a.title, "Withdrawn: Arbitrary Code Execution in static-eval");
    assert_eq!(a.cve.as_deref(), Some("CVE-2021-23334"));
    assert_eq!(a.cvss, Some(9.8));
    assert_eq!(a.package.as_deref(), Some("static-eval"));
    assert_eq!(a.ecosystem.as_deref(), Some("npm"));
    assert_eq!(a.vulnerable_range.as_deref(), Some("<= 2.1.0"));
    assert_eq!(a.patched_version, None);
    assert_eq!(c.note, "Withdrawn");
}

#[test]
fn security_advisory_updated_keeps_open() {
    let mut p = load("security_advisory.published.json");
    p["action"] = json!("updated");
    let c = change_of("security_advisory", &p);
    assert_eq!(c.alert.state, AlertState::Open);
    assert_eq!(c.note, "Updated");
}

#[test]
fn repository_advisory_published() {
    let c = fixture("repository_advisory.published.json");
    let a = &c.alert;
    assert_eq!(
        a.key,
        "repository_advisory:pi-hole/land_of_confusion:GHSA-343j-49q4-v8gw"
    );
    assert_eq!(a.source, AlertSource::RepositoryAdvisory);
    assert_eq!(a.repository.as_deref(), Some("pi-hole/land_of_confusion"));
    assert_eq!(a.number, None);
    assert_eq!(a.severity, Severity::Low);
    assert_eq!(a.state, AlertState::Open);
    assert_eq!(a.title, "12314");
    assert_eq!(a.summary.as_deref(), Some("1231242145"));
    // The payload's package name and ecosystem are "".
    assert_eq!(a.package, None);
    assert_eq!(a.ecosystem, None);
    assert_eq!(a.vulnerable_range.as_deref(), Some("<0"));
    assert_eq!(a.patched_version.as_deref(), Some(">0"));
    assert_eq!(a.cve, None);
    assert_eq!(a.ghsa.as_deref(), Some("GHSA-343j-49q4-v8gw"));
    assert_eq!(a.cvss, None);
    assert_eq!(
        a.url.as_deref(),
        Some("https://github.com/pi-hole/land_of_confusion/security/advisories/GHSA-343j-49q4-v8gw")
    );
    // created_at is null; published_at stands in.
    assert_eq!(a.created_at, Some(ts("2025-04-15T17:12:43Z")));
    assert_eq!(c.actor.as_deref(), Some("PromoFaux"));
    assert_eq!(c.note, "Published");
}

#[test]
fn repository_advisory_reported_and_withdrawn() {
    let mut p = load("repository_advisory.published.json");
    p["action"] = json!("reported");
    p["repository_advisory"]["state"] = json!("triage");
    p["repository_advisory"]["cvss_severities"]["cvss_v3"]["score"] = json!(8.1);
    let c = change_of("repository_advisory", &p);
    assert_eq!(c.alert.state, AlertState::Open);
    assert_eq!(c.note, "Reported privately");
    assert_eq!(c.alert.cvss, Some(8.1));

    p["action"] = json!("withdrawn");
    p["repository_advisory"]["state"] = json!("withdrawn");
    let c = change_of("repository_advisory", &p);
    assert_eq!(c.alert.state, AlertState::Withdrawn);
    assert_eq!(c.note, "Action: withdrawn");
}

// ------------------------------------------- legacy repository_vulnerability

#[test]
fn vulnerability_alert_create() {
    let c = fixture("repository_vulnerability_alert.create.json");
    let a = &c.alert;
    assert_eq!(a.key, "vulnerability_alert:Codertocat/Hello-World:2");
    assert_eq!(a.source, AlertSource::VulnerabilityAlert);
    assert_eq!(a.number, Some(2));
    assert_eq!(a.severity, Severity::Medium);
    assert_eq!(a.state, AlertState::Open);
    assert_eq!(a.title, "Vulnerable dependency rack (CVE-2018-16470)");
    assert_eq!(a.package.as_deref(), Some("rack"));
    assert_eq!(a.vulnerable_range.as_deref(), Some(">= 2.0.4, < 2.0.6"));
    assert_eq!(a.patched_version.as_deref(), Some("2.0.6"));
    assert_eq!(a.cve.as_deref(), Some("CVE-2018-16470"));
    assert_eq!(a.ghsa.as_deref(), Some("GHSA-qqgx-2p2h-9c37"));
    assert_eq!(
        a.url.as_deref(),
        Some("https://nvd.nist.gov/vuln/detail/CVE-2018-16470")
    );
    assert_eq!(a.created_at, Some(ts("2021-03-01T01:23:45Z")));
    assert_eq!(c.actor.as_deref(), Some("github"));
    assert_eq!(c.note, "New alert");
}

#[test]
fn vulnerability_alert_dismiss() {
    let c = fixture("repository_vulnerability_alert.dismiss.json");
    let a = &c.alert;
    assert_eq!(a.key, "vulnerability_alert:Codertocat/Hello-World:2");
    assert_eq!(a.state, AlertState::Dismissed);
    assert_eq!(a.severity, Severity::Medium);
    assert_eq!(a.package.as_deref(), Some("many_versioned_gem"));
    assert_eq!(a.vulnerable_range.as_deref(), Some("0.2.0"));
    assert_eq!(a.patched_version.as_deref(), Some("0.2.5"));
    assert_eq!(a.cve.as_deref(), Some("CVE-2018-3728"));
    // "+00:00" offset, not "Z".
    assert_eq!(a.created_at, Some(ts("2017-10-25T00:00:00Z")));
    assert_eq!(c.actor.as_deref(), Some("octocat"));
    assert_eq!(c.note, "Dismissed by octocat: No bandwidth to fix this");
    assert_eq!(c.reason.as_deref(), Some("No bandwidth to fix this"));
}

#[test]
fn vulnerability_alert_resolve() {
    let c = fixture("repository_vulnerability_alert.resolve.json");
    assert_eq!(c.alert.key, "vulnerability_alert:Codertocat/Hello-World:2");
    assert_eq!(c.alert.state, AlertState::Fixed);
    assert_eq!(c.alert.package.as_deref(), Some("rack"));
    assert_eq!(c.note, "Fixed");
    assert_eq!(c.reason.as_deref(), Some("Fixed by upgrading rack to 2.0.6"));
}

#[test]
fn vulnerability_alert_reopen_and_id_fallback() {
    let mut p = load("repository_vulnerability_alert.create.json");
    p["action"] = json!("reopen");
    p["sender"] = json!({ "login": "octocat" });
    p["alert"].as_object_mut().unwrap().remove("number");
    let c = change_of("repository_vulnerability_alert", &p);
    assert_eq!(c.alert.state, AlertState::Open);
    assert_eq!(c.note, "Reopened by octocat");
    assert_eq!(c.alert.key, "vulnerability_alert:Codertocat/Hello-World:91095730");
}

// -------------------------------------------------------------- workflow_run

#[test]
fn workflow_run_fixtures_are_not_alerts() {
    // completed/success, in_progress and requested: nothing to report.
    for file in [
        "workflow_run.completed.json",
        "workflow_run.in_progress.json",
        "workflow_run.requested.json",
    ] {
        let p = load(file);
        assert_eq!(normalize_default("workflow_run", &p), Ok(None), "{file}");
    }
    assert_eq!(
        load("workflow_run.completed.json")["workflow_run"]["conclusion"],
        json!("success")
    );
}

fn failed_run(conclusion: &str, name: &str) -> Value {
    let mut p = load("workflow_run.completed.json");
    p["workflow_run"]["conclusion"] = json!(conclusion);
    p["workflow_run"]["name"] = json!(name);
    p
}

#[test]
fn workflow_run_failure_of_security_workflow() {
    let c = change_of("workflow_run", &failed_run("failure", "CodeQL"));
    let a = &c.alert;
    assert_eq!(a.key, "workflow:octo-org/octo-repo:289782451");
    assert_eq!(a.source, AlertSource::Workflow);
    assert_eq!(a.repository.as_deref(), Some("octo-org/octo-repo"));
    assert_eq!(a.number, Some(163));
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.state, AlertState::Failed);
    assert!(!a.state.is_closed());
    assert_eq!(a.title, "Workflow “CodeQL” failed on master");
    assert_eq!(a.summary.as_deref(), Some("Conclusion: failure (commit 3484a3f)"));
    assert_eq!(a.branch.as_deref(), Some("master"));
    assert_eq!(
        a.url.as_deref(),
        Some("https://github.com/octo-org/octo-repo/actions/runs/289782451")
    );
    assert_eq!(a.created_at, Some(ts("2020-10-05T16:33:24Z")));
    assert_eq!(c.action, "completed");
    assert_eq!(c.actor.as_deref(), Some("Codertocat"));
    assert_eq!(c.note, "Run #163 concluded: failure");
}

#[test]
fn workflow_filter_decides_which_failures_alert() {
    for conclusion in [
        "failure",
        "timed_out",
        "cancelled",
        "startup_failure",
        "action_required",
    ] {
        let p = failed_run(conclusion, "Trivy container scan");
        let c = change_of("workflow_run", &p);
        assert_eq!(
            c.alert.summary.as_deref(),
            Some(format!("Conclusion: {conclusion} (commit 3484a3f)").as_str())
        );
    }
    for conclusion in ["success", "skipped", "neutral", "stale"] {
        let p = failed_run(conclusion, "CodeQL");
        assert_eq!(normalize_default("workflow_run", &p), Ok(None), "{conclusion}");
    }

    // The fixture's workflow is called "test" (run name ""): not a security workflow…
    let p = failed_run("failure", "");
    assert_eq!(normalize_default("workflow_run", &p), Ok(None));
    // …unless configured, and then the definition's name titles the alert.
    let filter: WorkflowFilter = serde_json::from_value(json!({ "names": ["TEST"] })).unwrap();
    let c = normalize("workflow_run", &p, &SeverityMapping::default(), &filter)
        .unwrap()
        .unwrap();
    assert_eq!(c.alert.title, "Workflow “test” failed on master");

    // Matching on the path works too.
    let mut p = failed_run("failure", "");
    p["workflow_run"]["path"] = json!(".github/workflows/gitleaks.yml");
    assert!(normalize_default("workflow_run", &p).unwrap().is_some());

    // An empty list switches workflow alerts off.
    let off = WorkflowFilter { names: vec![] };
    let p = failed_run("failure", "CodeQL");
    assert_eq!(
        normalize("workflow_run", &p, &SeverityMapping::default(), &off),
        Ok(None)
    );
}

#[test]
fn workflow_filter_defaults_and_config() {
    let f = WorkflowFilter::default();
    assert!(f.matches("CodeQL Analysis"));
    assert!(f.matches("Dependency-Review"));
    assert!(f.matches(".github/workflows/semgrep.yml"));
    assert!(!f.matches("test"));
    assert!(!f.matches("Build & deploy"));
    assert!(
        WorkflowFilter {
            names: vec![String::new()]
        }
        .matches("anything")
    );

    let parsed: WorkflowFilter = serde_json::from_value(json!({})).unwrap();
    assert_eq!(parsed, WorkflowFilter::default());
    assert!(serde_json::from_value::<WorkflowFilter>(json!({ "name": ["x"] })).is_err());
}

// ----------------------------------------------------------------- severity

#[test]
fn severity_mapping_defaults() {
    let m = SeverityMapping::default();
    assert_eq!(m.advisory.get("moderate"), Some(&Severity::Medium));
    assert_eq!(m.advisory.get("critical"), Some(&Severity::Critical));
    assert_eq!(m.code_scanning_rule.get("error"), Some(&Severity::High));
    assert_eq!(m.code_scanning_rule.get("none"), Some(&Severity::Low));
    assert_eq!(m.secret_scanning, Severity::Critical);
    assert_eq!(m.workflow_failure, Severity::High);
    assert_eq!(m.unknown, Severity::Medium);
    let parsed: SeverityMapping = serde_json::from_value(json!({})).unwrap();
    assert_eq!(parsed, m);
}

#[test]
fn severity_mapping_overrides() {
    let mapping: SeverityMapping = serde_json::from_value(json!({
        "advisory": { "Moderate": "high" },
        "code_scanning_rule": { "note": "medium" },
        "secret_scanning": "high",
        "workflow_failure": "low",
        "unknown": "low"
    }))
    .unwrap();
    let run = |file: &str| {
        normalize(event_of(file), &load(file), &mapping, &WorkflowFilter::default())
            .unwrap()
            .unwrap()
            .alert
            .severity
    };
    // Overridden (case-insensitively)…
    assert_eq!(run("security_advisory.published.json"), Severity::High);
    assert_eq!(run("code_scanning_alert.reopened.json"), Severity::Medium);
    assert_eq!(run("secret_scanning_alert.reopened.json"), Severity::High);
    // …and levels the override map omits keep their own meaning.
    assert_eq!(run("security_advisory.withdrawn.json"), Severity::Critical);
    // A rule severity the map no longer lists falls to `unknown`.
    assert_eq!(run("code_scanning_alert.created.json"), Severity::Low);

    let p = failed_run("failure", "CodeQL");
    let c = normalize("workflow_run", &p, &mapping, &WorkflowFilter::default())
        .unwrap()
        .unwrap();
    assert_eq!(c.alert.severity, Severity::Low);

    // A missing severity uses `unknown`.
    let mut p = load("security_advisory.published.json");
    p["security_advisory"]["severity"] = json!(null);
    p["security_advisory"]["vulnerabilities"] = json!([]);
    let c = normalize("security_advisory", &p, &mapping, &WorkflowFilter::default())
        .unwrap()
        .unwrap();
    assert_eq!(c.alert.severity, Severity::Low);
}

#[test]
fn severity_mapping_rejects_unknown_fields() {
    let err = serde_json::from_value::<SeverityMapping>(json!({ "secrets": "low" })).unwrap_err();
    assert!(err.to_string().contains("secrets"), "{err}");
    let mapping: BTreeMap<String, Severity> = serde_json::from_value(json!({ "x": "critical" })).unwrap();
    assert_eq!(mapping.get("x"), Some(&Severity::Critical));
}

// -------------------------------------------------------- errors and others

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

// ---------------------------------------------------------------- routing

fn bot_config(text: &str) -> sentinel_bot::config::Config {
    let table = sentinel_bot::config::load::parse_table(text, "test").unwrap();
    sentinel_bot::config::load::from_table(table).unwrap()
}

fn notifier_config(config: &sentinel_bot::config::Config) -> Result<AlertNotifierConfig, String> {
    AlertNotifierConfig::from_config(config)
        .map_err(|problems| problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
}

const PEOPLE: &str = r#"
[people.alice]
github = "alice"
[people.bob]
github = "bob"
[groups.security-champions]
members = ["alice"]
[groups.payments-team]
members = ["bob"]
"#;

fn routed(routes: &str, alert: &Alert) -> Vec<route::Destination> {
    let config = bot_config(&format!("{PEOPLE}\n[plugins.alert_notifier]\n{routes}"));
    let notifier = notifier_config(&config).unwrap();
    let directory = sentinel_bot::chat::Directory::from_config(&config);
    route::destinations(&notifier, alert, &directory)
}

fn dest(channel: &str, mentions: &[sentinel_bot::Mention]) -> route::Destination {
    route::Destination {
        channel: channel.to_owned(),
        mentions: mentions.to_vec(),
    }
}

#[test]
fn no_route_means_the_default_channel_without_mentions() {
    let alert = fixture("dependabot_alert.created.json").alert;
    assert_eq!(routed("", &alert), [dest("security-incidents", &[])]);
    assert_eq!(routed("channel = \"alerts\"", &alert), [dest("alerts", &[])]);
    let unmatched = "[[plugins.alert_notifier.routes]]\nseverity = [\"critical\"]\nchannels = [\"pager\"]";
    assert_eq!(routed(unmatched, &alert), [dest("security-incidents", &[])]);
}

#[test]
fn the_first_matching_route_wins_and_continue_keeps_looking() {
    use sentinel_bot::Mention;
    // wolfy1339/pika-pack, dependabot, medium.
    let alert = fixture("dependabot_alert.created.json").alert;
    let routes = r#"
[[plugins.alert_notifier.routes]]
severity = ["critical"]
channels = ["pager"]
[[plugins.alert_notifier.routes]]
repository = "wolfy1339/*"
channels = ["team-wolfy", "security-incidents"]
mention = ["security-champions", "bob"]
continue = true
[[plugins.alert_notifier.routes]]
source = ["dependabot"]
channels = ["dependencies"]
mention = ["alice"]
[[plugins.alert_notifier.routes]]
channels = ["never-reached"]
"#;
    assert_eq!(
        routed(routes, &alert),
        [
            dest(
                "team-wolfy",
                &[
                    Mention::Group("security-champions".into()),
                    Mention::Person("bob".into())
                ]
            ),
            dest(
                "security-incidents",
                &[
                    Mention::Group("security-champions".into()),
                    Mention::Person("bob".into())
                ]
            ),
            dest("dependencies", &[Mention::Person("alice".into())]),
        ]
    );
}

#[test]
fn routes_merge_a_channel_named_twice_and_default_an_empty_channel_list() {
    use sentinel_bot::Mention;
    let alert = fixture("secret_scanning_alert.reopened.json").alert; // critical
    let routes = r#"
[[plugins.alert_notifier.routes]]
severity = ["critical", "high"]
mention = ["security-champions"]
continue = true
[[plugins.alert_notifier.routes]]
source = ["secret_scanning"]
mention = ["security-champions", "alice"]
"#;
    assert_eq!(
        routed(routes, &alert),
        [dest(
            "security-incidents",
            &[
                Mention::Group("security-champions".into()),
                Mention::Person("alice".into())
            ]
        )]
    );
}

#[test]
fn a_repository_route_never_matches_a_global_advisory() {
    let advisory = fixture("security_advisory.published.json").alert;
    assert_eq!(advisory.repository, None);
    let routes = "[[plugins.alert_notifier.routes]]\nrepository = \"*\"\nchannels = [\"repos\"]";
    assert_eq!(routed(routes, &advisory), [dest("security-incidents", &[])]);
    let routes = "[[plugins.alert_notifier.routes]]\nsource = [\"security_advisory\"]\nchannels = [\"advisories\"]";
    assert_eq!(routed(routes, &advisory), [dest("advisories", &[])]);
}

#[test]
fn config_defaults_and_errors_name_their_keys() {
    let defaults = notifier_config(&bot_config("")).unwrap();
    assert_eq!(defaults, AlertNotifierConfig::default());
    assert_eq!(defaults.channel, "security-incidents");
    assert_eq!(defaults.incident_severity, Severity::High);
    assert!(defaults.resolve_incidents);
    assert!(defaults.routes.is_empty());

    let error = |text: &str| notifier_config(&bot_config(&format!("{PEOPLE}\n{text}"))).unwrap_err();
    let e = error("[plugins.alert_notifier]\nchanel = \"x\"");
    assert!(e.contains("plugins.alert_notifier") && e.contains("chanel"), "{e}");
    let e = error("[plugins.alert_notifier]\nincident_severity = \"severe\"");
    assert!(e.contains("plugins.alert_notifier.incident_severity"), "{e}");
    let e = error("[[plugins.alert_notifier.routes]]\nsource = [\"dependabot\", \"nessus\"]");
    assert!(e.contains("plugins.alert_notifier.routes[0].source"), "{e}");
    assert!(e.contains("nessus"), "{e}");
    let e = error(
        "[[plugins.alert_notifier.routes]]\nchannels = [\"a\"]\n[[plugins.alert_notifier.routes]]\nmention = [\"carol\"]",
    );
    assert_eq!(
        e,
        "plugins.alert_notifier.routes[1].mention: `carol` is neither a [groups] nor a [people] key"
    );
    let e = error("[[plugins.alert_notifier.routes]]\nchannels = [\"\"]");
    assert!(e.contains("routes[0].channels"), "{e}");
    // A repository pattern is refused as the configuration is read, naming the key.
    let e = error("[[plugins.alert_notifier.routes]]\nrepository = \"\"");
    assert!(
        e.contains("routes[0].repository") && e.contains("is not a repository pattern"),
        "{e}"
    );
    let e = error("[[plugins.alert_notifier.routes]]\nrepository = \"acme\"");
    assert!(e.contains("routes[0].repository") && e.contains("one `/`"), "{e}");
}

// ----------------------------------------------------------------- render

fn field<'a>(message: &'a sentinel_bot::Message, name: &str) -> Option<&'a str> {
    message.fields.iter().find(|f| f.name == name).map(|f| f.value.as_str())
}

#[test]
fn a_dependabot_alert_renders_everything_a_responder_needs() {
    use sentinel_bot::{Button, ButtonKind, Mention};
    let alert = fixture("dependabot_alert.created.json").alert;
    let message = render::alert_message(
        &alert,
        &dest("security-incidents", &[Mention::Group("security-champions".into())]),
    );
    assert_eq!(message.channel.as_str(), "security-incidents");
    assert_eq!(
        message.key.as_ref().map(|k| k.as_str()),
        Some("dependabot:wolfy1339/pika-pack:20")
    );
    assert_eq!(message.thread, None);
    assert_eq!(
        message.title.as_deref(),
        Some("[MEDIUM] semver vulnerable to Regular Expression Denial of Service")
    );
    assert_eq!(message.severity, Some(Severity::Medium));
    assert_eq!(message.text, "Dependabot alert #20 in wolfy1339/pika-pack");
    let fields: Vec<(&str, &str)> = message
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("Repository", "wolfy1339/pika-pack"),
            ("Package", "semver (npm)"),
            ("Manifest", "package-lock.json"),
            ("Vulnerable", "< 7.5.2"),
            ("Patched", "7.5.2"),
            ("CVE", "CVE-2022-25883"),
            ("GHSA", "GHSA-c2qf-rxjj-qqgw"),
            ("CVSS", "5.3"),
            ("State", "Open"),
        ]
    );
    assert!(
        message
            .body
            .as_deref()
            .unwrap_or_default()
            .starts_with("Versions of the package semver")
    );
    assert_eq!(
        message.context.as_deref(),
        Some("dependabot · dependabot:wolfy1339/pika-pack:20")
    );
    let key = "dependabot:wolfy1339/pika-pack:20";
    assert_eq!(message.buttons.len(), 3);
    assert_eq!(message.buttons[0].label, "Acknowledge");
    assert_eq!(
        message.buttons[0].kind,
        ButtonKind::Action {
            id: "alert.ack".into(),
            value: key.into()
        }
    );
    assert_eq!(message.buttons[1].label, "Open incident");
    assert_eq!(
        message.buttons[1].kind,
        ButtonKind::Action {
            id: "alert.incident".into(),
            value: key.into()
        }
    );
    assert_eq!(
        message.buttons[2],
        Button::link(
            "View on GitHub",
            "https://github.com/wolfy1339/pika-pack/security/dependabot/20"
        )
    );
    assert_eq!(message.mentions, [Mention::Group("security-champions".into())]);
}

#[test]
fn a_closed_alert_says_so_and_keeps_only_its_link() {
    let alert = fixture("dependabot_alert.fixed.json").alert;
    let message = render::alert_message(&alert, &dest("security-incidents", &[]));
    assert_eq!(message.text, "Dependabot alert #1 in octocat/hello-world — fixed");
    assert_eq!(field(&message, "State"), Some("Fixed"));
    let labels: Vec<&str> = message.buttons.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(labels, ["View on GitHub"]);
}

#[test]
fn code_scanning_and_secret_alerts_show_their_own_fields() {
    let code = render::alert_message(
        &fixture("code_scanning_alert.created.json").alert,
        &dest("security-incidents", &[]),
    );
    assert_eq!(
        code.title.as_deref(),
        Some("[HIGH] Query built from user-controlled sources")
    );
    assert_eq!(code.text, "Code scanning alert #10 in Codertocat/Hello-World");
    assert_eq!(field(&code, "Rule"), Some("java/sql-injection (CodeQL)"));
    assert_eq!(
        field(&code, "Location"),
        Some("src/main/java/com/github/demo/service/BookService.java:84")
    );
    assert_eq!(field(&code, "Branch"), Some("code-feature"));
    assert_eq!(field(&code, "Package"), None);

    let mut leaked = fixture("secret_scanning_alert.reopened.json").alert;
    let secret = render::alert_message(&leaked, &dest("security-incidents", &[]));
    assert_eq!(field(&secret, "Secret type"), Some("adafruit_io_key"));
    leaked.publicly_leaked = true;
    leaked.validity = Some("active".into());
    let secret = render::alert_message(&leaked, &dest("security-incidents", &[]));
    assert_eq!(
        field(&secret, "Secret type"),
        Some("adafruit_io_key — ⚠️ publicly leaked: revoke it now")
    );
    assert_eq!(field(&secret, "Validity"), Some("active"));
    assert_eq!(
        secret.title.as_deref(),
        Some("[CRITICAL] Secret detected: adafruit_io_key")
    );
}

#[test]
fn advisories_and_workflows_have_their_own_summary_line() {
    let global = fixture("security_advisory.published.json").alert;
    assert_eq!(render::summary(&global), "GitHub security advisory GHSA-rf4j-j272-fj86");
    let withdrawn = fixture("security_advisory.withdrawn.json").alert;
    assert_eq!(
        render::summary(&withdrawn),
        "GitHub security advisory GHSA-8v27-2fg9-7h62 — withdrawn"
    );
    let mut p = load("workflow_run.completed.json");
    p["workflow_run"]["conclusion"] = json!("failure");
    p["workflow_run"]["name"] = json!("CodeQL");
    let run = change_of("workflow_run", &p).alert;
    assert_eq!(
        render::summary(&run),
        format!(
            "Failed security workflow in octo-org/octo-repo (run #{})",
            run.number.unwrap()
        )
    );
}

#[test]
fn a_change_note_is_a_threaded_reply_under_the_alert() {
    let alert = fixture("dependabot_alert.created.json").alert;
    let note = render::note_message(&alert, "security-incidents", "Dismissed by octocat: tolerable_risk");
    assert_eq!(note.text, "Dismissed by octocat: tolerable_risk");
    assert_eq!(note.thread.as_ref().map(|k| k.as_str()), Some(alert.key.as_str()));
    assert_eq!(note.key, None);
    assert_eq!(note.channel.as_str(), "security-incidents");
}

// ------------------------------------------------------------ plugin rules

#[test]
fn a_later_delivery_keeps_what_it_leaves_out() {
    let located = fixture("secret_scanning_alert_location.created.json").alert;
    let mut p = load("secret_scanning_alert.reopened.json");
    p["action"] = json!("resolved");
    p["alert"]["resolution"] = json!("revoked");
    let resolved = change_of("secret_scanning_alert", &p).alert;
    assert_eq!(resolved.location, None);
    let merged = plugin::merge(&located, &resolved).unwrap();
    assert_eq!(merged.location.as_deref(), Some("/example/secrets.txt:1"));
    assert_eq!(merged.state, AlertState::Resolved);

    let mut leaked = located.clone();
    leaked.publicly_leaked = true;
    assert!(plugin::merge(&leaked, &resolved).unwrap().publicly_leaked);
    // A value that is present wins over the earlier one.
    let mut renamed = resolved.clone();
    renamed.location = Some("config/.env:3".into());
    assert_eq!(
        plugin::merge(&located, &renamed).unwrap().location.as_deref(),
        Some("config/.env:3")
    );
}

#[test]
fn grouping_keys_prefer_the_advisory_then_the_rule() {
    assert_eq!(
        grouping_key(&fixture("dependabot_alert.created.json").alert),
        "wolfy1339/pika-pack:GHSA-c2qf-rxjj-qqgw"
    );
    assert_eq!(
        grouping_key(&fixture("code_scanning_alert.created.json").alert),
        "Codertocat/Hello-World:java/sql-injection"
    );
    assert_eq!(
        grouping_key(&fixture("secret_scanning_alert.reopened.json").alert),
        "Codertocat/Hello-World:secret_scanning:Codertocat/Hello-World:191"
    );
    assert_eq!(
        grouping_key(&fixture("security_advisory.published.json").alert),
        "GHSA-rf4j-j272-fj86"
    );
}

#[test]
fn the_plugin_subscribes_to_exactly_the_events_normalize_reads() {
    use sentinel_bot::Plugin;
    let subscriptions = AlertNotifier::default().subscriptions();
    assert_eq!(subscriptions.github, SECURITY_EVENTS);
    assert_eq!(subscriptions.actions, ["alert"]);
    assert_eq!(EVENTS, SECURITY_EVENTS);
}

#[test]
fn the_example_configuration_documents_the_defaults() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/sentinel.example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let config = bot_config(&text);
    assert!(
        config.plugins.contains_key("alert_notifier"),
        "the example has no [plugins.alert_notifier]"
    );
    assert_eq!(notifier_config(&config).unwrap(), AlertNotifierConfig::default());
}
