//! Typed views of the few GitHub webhook fields the alert notifier reads.
//!
//! Every field is optional and read through [`lenient`] (put on each `Option` field by
//! `serde_with::apply`, so a new field cannot forget it): GitHub adds, renames
//! and deprecates payload fields (e.g. `cvss` giving way to
//! `cvss_severities`), sends `null` for most of them, and the same event
//! differs between github.com, GHES and older deliveries. One odd field must
//! not hide a security alert, so a field of an unexpected type reads as absent
//! instead of rejecting the whole delivery. What is truly required is decided
//! in `normalize.rs`, where a clear error can name it.

use serde::de::{Deserialize, DeserializeOwned, Deserializer};

/// Reads a field as `Some(T)` when it has T's shape and as `None` otherwise
/// (missing, `null`, or of another type), so parsing never fails on one field.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// A GitHub account as it appears in `sender`, `dismissed_by`, `resolved_by`
/// and the legacy `dismisser`.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct User {
    pub login: Option<String>,
}

/// The `repository` object every repository-scoped event carries.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Repository {
    pub full_name: Option<String>,
    pub html_url: Option<String>,
}

/// Fields shared by every webhook body, whatever the event.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Envelope {
    pub action: Option<String>,
    pub sender: Option<User>,
    pub repository: Option<Repository>,
}

/// `{ "name", "ecosystem" }` of a vulnerable package.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Package {
    pub name: Option<String>,
    pub ecosystem: Option<String>,
}

/// `first_patched_version` of a vulnerability.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct PatchedVersion {
    pub identifier: Option<String>,
}

/// One affected package range of an advisory (also Dependabot's
/// `security_vulnerability`).
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Vulnerability {
    pub package: Option<Package>,
    pub severity: Option<String>,
    pub vulnerable_version_range: Option<String>,
    pub first_patched_version: Option<PatchedVersion>,
    /// Repository advisories give a free-form range instead of
    /// `first_patched_version`.
    pub patched_versions: Option<String>,
}

/// `{ "type": "CVE", "value": "CVE-…" }` entries of an advisory.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Identifier {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub value: Option<String>,
}

/// A CVSS block; only the score matters to us.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Cvss {
    pub score: Option<f64>,
}

/// `cvss_severities`, which replaced the deprecated single `cvss`.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct CvssSeverities {
    pub cvss_v3: Option<Cvss>,
    pub cvss_v4: Option<Cvss>,
}

/// A security advisory: Dependabot's `alert.security_advisory`, the global
/// `security_advisory` event and the `repository_advisory` event share it.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Advisory {
    pub ghsa_id: Option<String>,
    pub cve_id: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub severity: Option<String>,
    pub identifiers: Option<Vec<Identifier>>,
    pub vulnerabilities: Option<Vec<Vulnerability>>,
    pub cvss: Option<Cvss>,
    pub cvss_severities: Option<CvssSeverities>,
    pub html_url: Option<String>,
    pub state: Option<String>,
    pub created_at: Option<String>,
    pub published_at: Option<String>,
    pub withdrawn_at: Option<String>,
}

/// `alert.dependency` of a Dependabot alert.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Dependency {
    pub package: Option<Package>,
    pub manifest_path: Option<String>,
}

/// `alert` of a `dependabot_alert` event.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct DependabotAlert {
    pub number: Option<u64>,
    pub state: Option<String>,
    pub dependency: Option<Dependency>,
    pub security_advisory: Option<Advisory>,
    pub security_vulnerability: Option<Vulnerability>,
    pub html_url: Option<String>,
    pub created_at: Option<String>,
    pub fixed_at: Option<String>,
    pub dismissed_at: Option<String>,
    pub dismissed_by: Option<User>,
    pub dismissed_reason: Option<String>,
    pub dismissed_comment: Option<String>,
}

/// The `dependabot_alert` event body.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct DependabotEvent {
    pub alert: Option<DependabotAlert>,
}

/// `rule` of a code scanning alert.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Rule {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub full_description: Option<String>,
    pub severity: Option<String>,
    pub security_severity_level: Option<String>,
}

/// `tool` of a code scanning alert.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Tool {
    pub name: Option<String>,
}

/// A file position: code scanning `instance.location` and secret scanning
/// `location.details` both have this shape.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Location {
    pub path: Option<String>,
    pub start_line: Option<u64>,
}

/// `{ "text" }` message of a code scanning instance.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Message {
    pub text: Option<String>,
}

/// One place a code scanning alert was seen (`most_recent_instance` or an
/// entry of `instances`).
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Instance {
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub location: Option<Location>,
    pub message: Option<Message>,
}

/// `alert` of a `code_scanning_alert` event.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct CodeScanningAlert {
    pub number: Option<u64>,
    pub state: Option<String>,
    pub html_url: Option<String>,
    pub created_at: Option<String>,
    pub dismissed_by: Option<User>,
    pub dismissed_reason: Option<String>,
    pub dismissed_comment: Option<String>,
    pub rule: Option<Rule>,
    pub tool: Option<Tool>,
    pub most_recent_instance: Option<Instance>,
    pub instances: Option<Vec<Instance>>,
}

/// The `code_scanning_alert` event body.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct CodeScanningEvent {
    pub alert: Option<CodeScanningAlert>,
    /// The ref the analysis ran on; the branch of last resort.
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
}

/// `alert` of the `secret_scanning_alert` and `secret_scanning_alert_location`
/// events.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct SecretScanningAlert {
    pub number: Option<u64>,
    pub state: Option<String>,
    pub secret_type: Option<String>,
    pub secret_type_display_name: Option<String>,
    pub resolution: Option<String>,
    pub resolved_by: Option<User>,
    pub resolution_comment: Option<String>,
    pub validity: Option<String>,
    pub publicly_leaked: Option<bool>,
    pub html_url: Option<String>,
    pub created_at: Option<String>,
}

/// `location` of a `secret_scanning_alert_location` event.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct SecretLocation {
    /// `commit`, `issue_title`, `pull_request_body`, …; only `commit`-like
    /// kinds have a path.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub details: Option<Location>,
}

/// The `secret_scanning_alert` / `secret_scanning_alert_location` body.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct SecretScanningEvent {
    pub alert: Option<SecretScanningAlert>,
    pub location: Option<SecretLocation>,
}

/// The `security_advisory` event body (a global GitHub advisory).
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct SecurityAdvisoryEvent {
    pub security_advisory: Option<Advisory>,
}

/// The `repository_advisory` event body.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct RepositoryAdvisoryEvent {
    pub repository_advisory: Option<Advisory>,
}

/// `alert` of the legacy `repository_vulnerability_alert` event.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct VulnerabilityAlert {
    pub id: Option<u64>,
    pub number: Option<u64>,
    pub state: Option<String>,
    pub affected_package_name: Option<String>,
    pub affected_range: Option<String>,
    pub fixed_in: Option<String>,
    pub severity: Option<String>,
    pub external_identifier: Option<String>,
    pub external_reference: Option<String>,
    pub ghsa_id: Option<String>,
    pub dismisser: Option<User>,
    pub dismiss_reason: Option<String>,
    pub fix_reason: Option<String>,
    pub html_url: Option<String>,
    pub created_at: Option<String>,
}

/// The `repository_vulnerability_alert` event body.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct VulnerabilityAlertEvent {
    pub alert: Option<VulnerabilityAlert>,
}

/// `workflow_run` of a `workflow_run` event.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct WorkflowRun {
    pub id: Option<u64>,
    pub name: Option<String>,
    pub path: Option<String>,
    pub head_branch: Option<String>,
    pub head_sha: Option<String>,
    pub conclusion: Option<String>,
    pub html_url: Option<String>,
    pub run_number: Option<u64>,
    pub created_at: Option<String>,
}

/// `workflow` of a `workflow_run` event: the definition, whose name is set
/// even when the run's own `name` is empty (as in GitHub's example).
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Workflow {
    pub name: Option<String>,
    pub path: Option<String>,
}

/// The `workflow_run` event body.
#[serde_with::apply(Option => #[serde(default, deserialize_with = "lenient")])]
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct WorkflowRunEvent {
    pub workflow_run: Option<WorkflowRun>,
    pub workflow: Option<Workflow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_of_another_type_or_null_reads_as_absent_and_the_rest_still_reads() {
        let envelope: Envelope = serde_json::from_value(serde_json::json!({
            "action": 42,
            "sender": null,
            "repository": { "full_name": "octo/app", "html_url": ["not", "a", "string"] },
        }))
        .unwrap();
        assert_eq!(envelope.action, None);
        assert!(envelope.sender.is_none());
        let repository = envelope.repository.unwrap();
        assert_eq!(repository.full_name.as_deref(), Some("octo/app"));
        assert_eq!(repository.html_url, None);

        let identifier: Identifier = serde_json::from_value(serde_json::json!({ "type": "CVE", "value": 7 })).unwrap();
        assert_eq!(
            identifier.kind.as_deref(),
            Some("CVE"),
            "a renamed field keeps its name"
        );
        assert_eq!(identifier.value, None);
    }
}
