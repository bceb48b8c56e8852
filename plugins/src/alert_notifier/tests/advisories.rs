//! Security and repository advisories, and the legacy `repository_vulnerability_alert`.

use super::*;

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
