//! The one shape of a security alert, whatever GitHub feature raised it, and of a change to it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use sentinel_bot::Severity;

/// Which GitHub feature raised the alert; part of [`Alert::key`], so two
/// features' alert numbers never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// `dependabot_alert`: a vulnerable dependency.
    Dependabot,
    /// `code_scanning_alert`: a static-analysis finding (`CodeQL` or a SARIF upload).
    CodeScanning,
    /// `secret_scanning_alert` and `secret_scanning_alert_location`: a committed secret.
    SecretScanning,
    /// `security_advisory`: a global GitHub Advisory Database entry.
    SecurityAdvisory,
    /// `repository_advisory`: an advisory drafted or published on one repository.
    RepositoryAdvisory,
    /// `repository_vulnerability_alert`: the legacy form of Dependabot alerts.
    VulnerabilityAlert,
    /// `workflow_run`: a failed security workflow (scanner, dependency review…).
    Workflow,
}

impl AlertSource {
    /// Stable lowercase name, used in keys and configuration.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dependabot => "dependabot",
            Self::CodeScanning => "code_scanning",
            Self::SecretScanning => "secret_scanning",
            Self::SecurityAdvisory => "security_advisory",
            Self::RepositoryAdvisory => "repository_advisory",
            Self::VulnerabilityAlert => "vulnerability_alert",
            Self::Workflow => "workflow",
        }
    }
}

impl fmt::Display for AlertSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the alert stands after this delivery, reduced to what an incident
/// channel cares about (GitHub's own state names differ per feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Needs attention.
    Open,
    /// GitHub saw the vulnerable code or dependency go away.
    Fixed,
    /// A person (or an auto-triage rule) decided not to act on it.
    Dismissed,
    /// A secret scanning alert or repository advisory that was closed.
    Resolved,
    /// The advisory was retracted by GitHub or its publisher.
    Withdrawn,
    /// A security workflow run failed; it stays "failed" until a later run says otherwise.
    Failed,
}

impl AlertState {
    /// Stable lowercase name, for messages and storage.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Fixed => "fixed",
            Self::Dismissed => "dismissed",
            Self::Resolved => "resolved",
            Self::Withdrawn => "withdrawn",
            Self::Failed => "failed",
        }
    }

    /// Whether nobody needs to act any more, so an incident can be closed.
    /// `Failed` is not closed: a failing scanner means findings go unseen.
    #[must_use]
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Fixed | Self::Dismissed | Self::Resolved | Self::Withdrawn)
    }
}

impl fmt::Display for AlertState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One security alert in a single shape whatever GitHub feature raised it.
/// Fields a source does not have stay `None`, so consumers never guess.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable identity across deliveries: `"<source>:<owner/repo>:<number>"`,
    /// `"security_advisory:<GHSA id>"` or `"workflow:<owner/repo>:<run id>"`.
    pub key: String,
    /// Which GitHub feature raised it.
    pub source: AlertSource,
    /// `owner/repo`; `None` for global advisories.
    pub repository: Option<String>,
    /// The alert number GitHub shows (run number for workflows); `None` for advisories.
    pub number: Option<u64>,
    /// Our severity, after [`SeverityMapping`].
    pub severity: Severity,
    /// Where the alert stands after this delivery.
    pub state: AlertState,
    /// One line naming the problem, for a chat message's heading.
    pub title: String,
    /// A few sentences of detail (first paragraph of the advisory or rule text).
    pub summary: Option<String>,
    /// Vulnerable package name.
    pub package: Option<String>,
    /// Package ecosystem (`npm`, `pip`, …).
    pub ecosystem: Option<String>,
    /// Affected version range, as GitHub writes it.
    pub vulnerable_range: Option<String>,
    /// First fixed version (or range, for repository advisories).
    pub patched_version: Option<String>,
    /// Manifest file that pulls the dependency in.
    pub manifest: Option<String>,
    /// CVE id, when one is assigned.
    pub cve: Option<String>,
    /// GHSA id.
    pub ghsa: Option<String>,
    /// CVSS base score (v3 or v4).
    pub cvss: Option<f64>,
    /// Code scanning rule id.
    pub rule: Option<String>,
    /// Code scanning tool name.
    pub tool: Option<String>,
    /// `"path:start_line"` (or just the path) of the finding.
    pub location: Option<String>,
    /// Branch, without `refs/heads/`; other refs (e.g. `refs/pull/1/merge`) are kept whole.
    pub branch: Option<String>,
    /// Secret scanning: what kind of secret leaked.
    pub secret_type: Option<String>,
    /// Secret scanning: the secret was also found in a public place.
    #[serde(default)]
    pub publicly_leaked: bool,
    /// Secret scanning: `active`, `inactive` or `unknown`, from the last validity check.
    pub validity: Option<String>,
    /// Web page of the alert, advisory or run.
    pub url: Option<String>,
    /// When GitHub created the alert (or published the advisory, or started the run).
    pub created_at: Option<DateTime<Utc>>,
}

/// What one delivery says happened to an alert: the alert as it now is, plus
/// who did what, so the bot can post an update without diffing states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertChange {
    /// The alert after the change.
    pub alert: Alert,
    /// GitHub's `action` verbatim, for routing rules that need the raw value.
    pub action: String,
    /// Who made the change: the dismisser / resolver when GitHub names one, else the sender.
    pub actor: Option<String>,
    /// One short human line describing the change.
    pub note: String,
    /// Dismissal / resolution reason, with the person's comment when there is one.
    pub reason: Option<String>,
}

impl Alert {
    /// An alert with the identifying fields set and every detail empty; the
    /// key follows the `<source>:<repo>:<number>` rule and callers with
    /// another rule overwrite it.
    pub(super) fn base(
        source: AlertSource,
        repository: Option<String>,
        number: Option<u64>,
        severity: Severity,
        state: AlertState,
        title: String,
    ) -> Self {
        let key = match (&repository, number) {
            (Some(repo), Some(n)) => format!("{}:{repo}:{n}", source.as_str()),
            (Some(repo), None) => format!("{}:{repo}", source.as_str()),
            (None, _) => source.as_str().to_string(),
        };
        Self {
            key,
            source,
            repository,
            number,
            severity,
            state,
            title,
            summary: None,
            package: None,
            ecosystem: None,
            vulnerable_range: None,
            patched_version: None,
            manifest: None,
            cve: None,
            ghsa: None,
            cvss: None,
            rule: None,
            tool: None,
            location: None,
            branch: None,
            secret_type: None,
            publicly_leaked: false,
            validity: None,
            url: None,
            created_at: None,
        }
    }
}
