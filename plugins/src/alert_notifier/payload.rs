//! Typed views of the few GitHub webhook fields the alert notifier reads.
//!
//! Every field is optional and read through [`lenient`]: GitHub adds, renames
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
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct User {
    #[serde(default, deserialize_with = "lenient")]
    pub login: Option<String>,
}

/// The `repository` object every repository-scoped event carries.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Repository {
    #[serde(default, deserialize_with = "lenient")]
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub html_url: Option<String>,
}

/// Fields shared by every webhook body, whatever the event.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Envelope {
    #[serde(default, deserialize_with = "lenient")]
    pub action: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub sender: Option<User>,
    #[serde(default, deserialize_with = "lenient")]
    pub repository: Option<Repository>,
}

/// `{ "name", "ecosystem" }` of a vulnerable package.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Package {
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub ecosystem: Option<String>,
}

/// `first_patched_version` of a vulnerability.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct PatchedVersion {
    #[serde(default, deserialize_with = "lenient")]
    pub identifier: Option<String>,
}

/// One affected package range of an advisory (also Dependabot's
/// `security_vulnerability`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Vulnerability {
    #[serde(default, deserialize_with = "lenient")]
    pub package: Option<Package>,
    #[serde(default, deserialize_with = "lenient")]
    pub severity: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub vulnerable_version_range: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub first_patched_version: Option<PatchedVersion>,
    /// Repository advisories give a free-form range instead of
    /// `first_patched_version`.
    #[serde(default, deserialize_with = "lenient")]
    pub patched_versions: Option<String>,
}

/// `{ "type": "CVE", "value": "CVE-…" }` entries of an advisory.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Identifier {
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub value: Option<String>,
}

/// A CVSS block; only the score matters to us.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Cvss {
    #[serde(default, deserialize_with = "lenient")]
    pub score: Option<f64>,
}

/// `cvss_severities`, which replaced the deprecated single `cvss`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct CvssSeverities {
    #[serde(default, deserialize_with = "lenient")]
    pub cvss_v3: Option<Cvss>,
    #[serde(default, deserialize_with = "lenient")]
    pub cvss_v4: Option<Cvss>,
}

/// A security advisory: Dependabot's `alert.security_advisory`, the global
/// `security_advisory` event and the `repository_advisory` event share it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Advisory {
    #[serde(default, deserialize_with = "lenient")]
    pub ghsa_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub cve_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub severity: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub identifiers: Option<Vec<Identifier>>,
    #[serde(default, deserialize_with = "lenient")]
    pub vulnerabilities: Option<Vec<Vulnerability>>,
    #[serde(default, deserialize_with = "lenient")]
    pub cvss: Option<Cvss>,
    #[serde(default, deserialize_with = "lenient")]
    pub cvss_severities: Option<CvssSeverities>,
    #[serde(default, deserialize_with = "lenient")]
    pub html_url: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub published_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub withdrawn_at: Option<String>,
}

/// `alert.dependency` of a Dependabot alert.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Dependency {
    #[serde(default, deserialize_with = "lenient")]
    pub package: Option<Package>,
    #[serde(default, deserialize_with = "lenient")]
    pub manifest_path: Option<String>,
}

/// `alert` of a `dependabot_alert` event.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct DependabotAlert {
    #[serde(default, deserialize_with = "lenient")]
    pub number: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub dependency: Option<Dependency>,
    #[serde(default, deserialize_with = "lenient")]
    pub security_advisory: Option<Advisory>,
    #[serde(default, deserialize_with = "lenient")]
    pub security_vulnerability: Option<Vulnerability>,
    #[serde(default, deserialize_with = "lenient")]
    pub html_url: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub fixed_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub dismissed_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub dismissed_by: Option<User>,
    #[serde(default, deserialize_with = "lenient")]
    pub dismissed_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub dismissed_comment: Option<String>,
}

/// The `dependabot_alert` event body.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct DependabotEvent {
    #[serde(default, deserialize_with = "lenient")]
    pub alert: Option<DependabotAlert>,
}

/// `rule` of a code scanning alert.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Rule {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub full_description: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub severity: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub security_severity_level: Option<String>,
}

/// `tool` of a code scanning alert.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Tool {
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
}

/// A file position: code scanning `instance.location` and secret scanning
/// `location.details` both have this shape.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Location {
    #[serde(default, deserialize_with = "lenient")]
    pub path: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub start_line: Option<u64>,
}

/// `{ "text" }` message of a code scanning instance.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Message {
    #[serde(default, deserialize_with = "lenient")]
    pub text: Option<String>,
}

/// One place a code scanning alert was seen (`most_recent_instance` or an
/// entry of `instances`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Instance {
    #[serde(rename = "ref", default, deserialize_with = "lenient")]
    pub git_ref: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub location: Option<Location>,
    #[serde(default, deserialize_with = "lenient")]
    pub message: Option<Message>,
}

/// `alert` of a `code_scanning_alert` event.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct CodeScanningAlert {
    #[serde(default, deserialize_with = "lenient")]
    pub number: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub html_url: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub dismissed_by: Option<User>,
    #[serde(default, deserialize_with = "lenient")]
    pub dismissed_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub dismissed_comment: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub rule: Option<Rule>,
    #[serde(default, deserialize_with = "lenient")]
    pub tool: Option<Tool>,
    #[serde(default, deserialize_with = "lenient")]
    pub most_recent_instance: Option<Instance>,
    #[serde(default, deserialize_with = "lenient")]
    pub instances: Option<Vec<Instance>>,
}

/// The `code_scanning_alert` event body.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct CodeScanningEvent {
    #[serde(default, deserialize_with = "lenient")]
    pub alert: Option<CodeScanningAlert>,
    /// The ref the analysis ran on; the branch of last resort.
    #[serde(rename = "ref", default, deserialize_with = "lenient")]
    pub git_ref: Option<String>,
}

/// `alert` of the `secret_scanning_alert` and `secret_scanning_alert_location`
/// events.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct SecretScanningAlert {
    #[serde(default, deserialize_with = "lenient")]
    pub number: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub secret_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub secret_type_display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub resolution: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub resolved_by: Option<User>,
    #[serde(default, deserialize_with = "lenient")]
    pub resolution_comment: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub validity: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub publicly_leaked: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub html_url: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub created_at: Option<String>,
}

/// `location` of a `secret_scanning_alert_location` event.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct SecretLocation {
    /// `commit`, `issue_title`, `pull_request_body`, …; only `commit`-like
    /// kinds have a path.
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub details: Option<Location>,
}

/// The `secret_scanning_alert` / `secret_scanning_alert_location` body.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct SecretScanningEvent {
    #[serde(default, deserialize_with = "lenient")]
    pub alert: Option<SecretScanningAlert>,
    #[serde(default, deserialize_with = "lenient")]
    pub location: Option<SecretLocation>,
}

/// The `security_advisory` event body (a global GitHub advisory).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct SecurityAdvisoryEvent {
    #[serde(default, deserialize_with = "lenient")]
    pub security_advisory: Option<Advisory>,
}

/// The `repository_advisory` event body.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct RepositoryAdvisoryEvent {
    #[serde(default, deserialize_with = "lenient")]
    pub repository_advisory: Option<Advisory>,
}

/// `alert` of the legacy `repository_vulnerability_alert` event.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct VulnerabilityAlert {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub number: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub affected_package_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub affected_range: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub fixed_in: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub severity: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub external_identifier: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub external_reference: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub ghsa_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub dismisser: Option<User>,
    #[serde(default, deserialize_with = "lenient")]
    pub dismiss_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub fix_reason: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub html_url: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub created_at: Option<String>,
}

/// The `repository_vulnerability_alert` event body.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct VulnerabilityAlertEvent {
    #[serde(default, deserialize_with = "lenient")]
    pub alert: Option<VulnerabilityAlert>,
}

/// `workflow_run` of a `workflow_run` event.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct WorkflowRun {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub path: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub head_branch: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub head_sha: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub conclusion: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub html_url: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub run_number: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub created_at: Option<String>,
}

/// `workflow` of a `workflow_run` event: the definition, whose name is set
/// even when the run's own `name` is empty (as in GitHub's example).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Workflow {
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub path: Option<String>,
}

/// The `workflow_run` event body.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct WorkflowRunEvent {
    #[serde(default, deserialize_with = "lenient")]
    pub workflow_run: Option<WorkflowRun>,
    #[serde(default, deserialize_with = "lenient")]
    pub workflow: Option<Workflow>,
}
