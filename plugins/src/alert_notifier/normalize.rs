//! Maps one GitHub security webhook delivery to an [`AlertChange`].
//!
//! GitHub reports the same kind of finding through seven differently shaped
//! events; the rest of the bot only wants one shape, keyed so that later
//! deliveries about the same alert update the same incident.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use sentinel_bot::Severity;

use super::payload::{
    Advisory, CodeScanningEvent, DependabotEvent, Envelope, RepositoryAdvisoryEvent, SecretScanningAlert,
    SecretScanningEvent, SecurityAdvisoryEvent, User, Vulnerability, VulnerabilityAlertEvent, WorkflowRunEvent,
};

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

/// How GitHub's various severity vocabularies map to ours. Each feature rates
/// findings differently, and teams disagree on e.g. whether a leaked secret is
/// always critical, so every mapping is configurable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeverityMapping {
    /// Advisory severity (`critical`, `high`, `medium`/`moderate`, `low`) used by
    /// Dependabot, advisories and legacy vulnerability alerts. Keys are matched
    /// case-insensitively; a level missing here falls back to its own name, so
    /// a config only needs the levels it changes.
    pub advisory: BTreeMap<String, Severity>,
    /// Code scanning `rule.security_severity_level` (`critical`, `high`,
    /// `medium`, `low`), which security queries carry. Same fallback as `advisory`.
    pub code_scanning_security: BTreeMap<String, Severity>,
    /// Code scanning `rule.severity` (`error`, `warning`, `note`, `none`), used
    /// only when the rule has no security level (style and quality queries).
    pub code_scanning_rule: BTreeMap<String, Severity>,
    /// Every secret scanning alert: a committed credential is usable by anyone who can read it.
    pub secret_scanning: Severity,
    /// A failed security workflow: findings go unreported while it is broken.
    pub workflow_failure: Severity,
    /// When GitHub gives no severity, or one we do not know.
    pub unknown: Severity,
}

impl Default for SeverityMapping {
    fn default() -> Self {
        let identity = |pairs: &[(&str, Severity)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), *v))
                .collect::<BTreeMap<_, _>>()
        };
        Self {
            advisory: identity(&[
                ("critical", Severity::Critical),
                ("high", Severity::High),
                ("medium", Severity::Medium),
                ("moderate", Severity::Medium),
                ("low", Severity::Low),
            ]),
            code_scanning_security: identity(&[
                ("critical", Severity::Critical),
                ("high", Severity::High),
                ("medium", Severity::Medium),
                ("low", Severity::Low),
            ]),
            code_scanning_rule: identity(&[
                ("error", Severity::High),
                ("warning", Severity::Medium),
                ("note", Severity::Low),
                ("none", Severity::Low),
            ]),
            secret_scanning: Severity::Critical,
            workflow_failure: Severity::High,
            unknown: Severity::Medium,
        }
    }
}

impl SeverityMapping {
    /// Our severity for an advisory-style level.
    fn advisory_level(&self, raw: Option<&str>) -> Severity {
        raw.and_then(|level| lookup(&self.advisory, level).or_else(|| level.parse().ok()))
            .unwrap_or(self.unknown)
    }

    /// Our severity for a code scanning rule: the security level wins because
    /// `rule.severity` says how sure the query is, not how bad the finding is.
    fn code_scanning(&self, security_level: Option<&str>, rule_severity: Option<&str>) -> Severity {
        security_level
            .and_then(|level| lookup(&self.code_scanning_security, level).or_else(|| level.parse().ok()))
            .or_else(|| rule_severity.and_then(|level| lookup(&self.code_scanning_rule, level)))
            .unwrap_or(self.unknown)
    }
}

/// Case-insensitive map lookup: GitHub is consistent about case, hand-written
/// configs are not.
fn lookup(map: &BTreeMap<String, Severity>, key: &str) -> Option<Severity> {
    let key = key.trim();
    map.get(key).copied().or_else(|| {
        map.iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
            .map(|(_, v)| *v)
    })
}

/// Which workflow runs count as security workflows: most CI failures are not
/// incidents, but a broken scanner silently stops alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowFilter {
    /// Case-insensitive substrings matched against the workflow's name and its
    /// file path. An empty list turns workflow alerts off; `[""]` matches every workflow.
    pub names: Vec<String>,
}

impl Default for WorkflowFilter {
    fn default() -> Self {
        Self {
            names: [
                "codeql",
                "security",
                "scan",
                "dependency-review",
                "trivy",
                "semgrep",
                "gitleaks",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        }
    }
}

impl WorkflowFilter {
    /// Whether a workflow name or path is one we alert on.
    #[must_use]
    pub fn matches(&self, name_or_path: &str) -> bool {
        let haystack = name_or_path.to_lowercase();
        self.names
            .iter()
            .any(|needle| haystack.contains(&needle.to_lowercase()))
    }
}

/// Why a delivery of an event we handle could not become an alert. Logged
/// and dropped by the caller; the messages name the field so a broken sender
/// (or a GitHub payload change) is quick to diagnose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// The body is not a JSON object at all.
    #[error("`{event}` webhook body is not a JSON object")]
    NotAnObject {
        /// The `X-GitHub-Event` value.
        event: String,
    },
    /// A field needed to build or key the alert is absent, null or of the wrong type.
    #[error("`{event}` webhook body has no usable `{field}`, which is needed to build the alert")]
    Missing {
        /// The `X-GitHub-Event` value.
        event: String,
        /// Dotted path of the missing field, e.g. `alert.number`.
        field: &'static str,
    },
}

/// The `X-GitHub-Event` names [`normalize`] reads; every other event is not an alert. The plugin
/// subscribes to exactly these, so the list lives here, next to the code that handles them.
pub const EVENTS: [&str; 8] = [
    "dependabot_alert",
    "code_scanning_alert",
    "secret_scanning_alert",
    "secret_scanning_alert_location",
    "security_advisory",
    "repository_advisory",
    "repository_vulnerability_alert",
    "workflow_run",
];

/// Turns one webhook delivery into an alert change.
///
/// `event` is the `X-GitHub-Event` header. Returns `Ok(None)` for deliveries
/// that are not alerts (other events, unfinished or successful workflow runs,
/// workflows outside `workflows`), and an error when an event we handle lacks
/// what identifies the alert.
///
/// # Errors
///
/// [`NormalizeError`] when the event is one we handle but its body is not a
/// JSON object or lacks `action`, the alert object, the repository, or the
/// number / id that keys the alert.
pub fn normalize(
    event: &str,
    payload: &serde_json::Value,
    severity: &SeverityMapping,
    workflows: &WorkflowFilter,
) -> Result<Option<AlertChange>, NormalizeError> {
    let event = event.trim().to_ascii_lowercase();
    if !EVENTS.contains(&event.as_str()) {
        return Ok(None);
    }
    let ctx = Ctx::new(&event, payload)?;
    match event.as_str() {
        "dependabot_alert" => dependabot(&ctx, payload, severity).map(Some),
        "code_scanning_alert" => code_scanning(&ctx, payload, severity).map(Some),
        "secret_scanning_alert" | "secret_scanning_alert_location" => {
            secret_scanning(&ctx, payload, severity).map(Some)
        }
        "security_advisory" => security_advisory(&ctx, payload, severity).map(Some),
        "repository_advisory" => repository_advisory(&ctx, payload, severity).map(Some),
        "repository_vulnerability_alert" => vulnerability_alert(&ctx, payload, severity).map(Some),
        "workflow_run" => workflow_run(&ctx, payload, severity, workflows),
        _ => Ok(None),
    }
}

/// What every handler needs from the envelope, read once.
struct Ctx<'a> {
    event: &'a str,
    action: String,
    sender: Option<String>,
    repository: Option<String>,
    repository_url: Option<String>,
}

impl<'a> Ctx<'a> {
    fn new(event: &'a str, payload: &serde_json::Value) -> Result<Self, NormalizeError> {
        if !payload.is_object() {
            return Err(NormalizeError::NotAnObject {
                event: event.to_string(),
            });
        }
        let envelope = parse::<Envelope>(event, payload)?;
        let repository = envelope.repository.unwrap_or_default();
        Ok(Self {
            event,
            action: clean(envelope.action.as_deref()).ok_or(NormalizeError::Missing {
                event: event.to_string(),
                field: "action",
            })?,
            sender: login(envelope.sender.as_ref()),
            repository: clean(repository.full_name.as_deref()),
            repository_url: clean(repository.html_url.as_deref()),
        })
    }

    fn missing(&self, field: &'static str) -> NormalizeError {
        NormalizeError::Missing {
            event: self.event.to_string(),
            field,
        }
    }

    fn repo(&self) -> Result<String, NormalizeError> {
        self.repository
            .clone()
            .ok_or_else(|| self.missing("repository.full_name"))
    }

    /// The alert's web page, built from the repository page when the payload
    /// omits it (GitHub's secret scanning examples do): a link is the most
    /// useful thing in a chat message.
    fn page(&self, html_url: Option<&str>, path: &str, number: u64) -> Option<String> {
        clean(html_url).or_else(|| {
            self.repository_url
                .as_deref()
                .map(|repo| format!("{}/security/{path}/{number}", repo.trim_end_matches('/')))
        })
    }
}

/// Reads a typed view of the body. The views are lenient, so this only fails
/// on a non-object body, which [`Ctx::new`] already rejected.
fn parse<T: serde::de::DeserializeOwned>(event: &str, payload: &serde_json::Value) -> Result<T, NormalizeError> {
    T::deserialize(payload).map_err(|_| NormalizeError::NotAnObject {
        event: event.to_string(),
    })
}

fn dependabot(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
) -> Result<AlertChange, NormalizeError> {
    let body = parse::<DependabotEvent>(ctx.event, payload)?;
    let a = body.alert.ok_or_else(|| ctx.missing("alert"))?;
    let repo = ctx.repo()?;
    let number = a.number.ok_or_else(|| ctx.missing("alert.number"))?;
    let advisory = a.security_advisory.unwrap_or_default();
    let vulnerability = a.security_vulnerability.or_else(|| first_vulnerability(&advisory));
    let vulnerability = vulnerability.unwrap_or_default();

    let action = ctx.action.as_str();
    let state = match action {
        "created" | "reopened" | "reintroduced" | "auto_reopened" => Some(AlertState::Open),
        "fixed" => Some(AlertState::Fixed),
        "dismissed" | "auto_dismissed" => Some(AlertState::Dismissed),
        _ => None,
    }
    .or_else(|| match a.state.as_deref().map(str::trim) {
        Some("open") => Some(AlertState::Open),
        Some("fixed") => Some(AlertState::Fixed),
        Some("dismissed" | "auto_dismissed") => Some(AlertState::Dismissed),
        _ => None,
    })
    .or_else(|| {
        // Neither the action nor `state` is known: the timestamps still tell.
        if clean(a.fixed_at.as_deref()).is_some() {
            Some(AlertState::Fixed)
        } else if clean(a.dismissed_at.as_deref()).is_some() {
            Some(AlertState::Dismissed)
        } else {
            None
        }
    })
    .unwrap_or(AlertState::Open);

    let dismissal = action == "dismissed" || action == "auto_dismissed";
    let actor = if dismissal {
        login(a.dismissed_by.as_ref()).or_else(|| ctx.sender.clone())
    } else {
        ctx.sender.clone()
    };
    let reason = (state == AlertState::Dismissed)
        .then(|| join_reason(a.dismissed_reason.as_deref(), a.dismissed_comment.as_deref()))
        .flatten();
    let note = match action {
        "created" => "New alert".to_string(),
        "dismissed" => with_reason(by("Dismissed", actor.as_deref()), reason.as_deref()),
        "auto_dismissed" => with_reason("Auto-dismissed".to_string(), reason.as_deref()),
        "reopened" => by("Reopened", actor.as_deref()),
        "auto_reopened" => "Auto-reopened".to_string(),
        "fixed" => "Fixed".to_string(),
        "reintroduced" => "Reintroduced".to_string(),
        other => unknown_action(other),
    };

    let package = vulnerability
        .package
        .clone()
        .or_else(|| a.dependency.as_ref().and_then(|d| d.package.clone()))
        .unwrap_or_default();
    let package_name = clean(package.name.as_deref());
    let title = clean(advisory.summary.as_deref()).unwrap_or_else(|| match &package_name {
        Some(name) => format!("Vulnerable dependency {name}"),
        None => format!("Dependabot alert #{number}"),
    });

    let mut alert = Alert::base(
        AlertSource::Dependabot,
        Some(repo),
        Some(number),
        mapping.advisory_level(
            clean(advisory.severity.as_deref())
                .or_else(|| clean(vulnerability.severity.as_deref()))
                .as_deref(),
        ),
        state,
        title,
    );
    alert.summary = advisory.description.as_deref().and_then(shorten);
    alert.package = package_name;
    alert.ecosystem = clean(package.ecosystem.as_deref());
    alert.vulnerable_range = clean(vulnerability.vulnerable_version_range.as_deref());
    alert.patched_version = patched(&vulnerability);
    alert.manifest = a.dependency.as_ref().and_then(|d| clean(d.manifest_path.as_deref()));
    alert.cve = cve(&advisory);
    alert.ghsa = ghsa(&advisory);
    alert.cvss = cvss(&advisory);
    alert.url = ctx.page(a.html_url.as_deref(), "dependabot", number);
    alert.created_at = time(a.created_at.as_deref());
    Ok(ctx.change(alert, actor, note, reason))
}

fn code_scanning(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
) -> Result<AlertChange, NormalizeError> {
    let body = parse::<CodeScanningEvent>(ctx.event, payload)?;
    let a = body.alert.ok_or_else(|| ctx.missing("alert"))?;
    let repo = ctx.repo()?;
    let number = a.number.ok_or_else(|| ctx.missing("alert.number"))?;
    let rule = a.rule.unwrap_or_default();
    // `created` deliveries carry only `instances`, later ones `most_recent_instance`.
    let instance = a
        .most_recent_instance
        .or_else(|| a.instances.and_then(|list| list.into_iter().next()))
        .unwrap_or_default();
    let branch = clean(instance.git_ref.as_deref())
        .or_else(|| clean(body.git_ref.as_deref()))
        .map(|r| branch_name(&r));

    let action = ctx.action.as_str();
    let state = match action {
        "created" | "appeared_in_branch" | "reopened" | "reopened_by_user" => Some(AlertState::Open),
        "fixed" => Some(AlertState::Fixed),
        "closed_by_user" => Some(AlertState::Dismissed),
        _ => None,
    }
    .or_else(|| match a.state.as_deref().map(str::trim) {
        Some("open") => Some(AlertState::Open),
        Some("fixed") => Some(AlertState::Fixed),
        Some("dismissed" | "closed") => Some(AlertState::Dismissed),
        _ => None,
    })
    .unwrap_or(AlertState::Open);

    let actor = if action == "closed_by_user" {
        login(a.dismissed_by.as_ref()).or_else(|| ctx.sender.clone())
    } else {
        ctx.sender.clone()
    };
    let reason = (state == AlertState::Dismissed)
        .then(|| join_reason(a.dismissed_reason.as_deref(), a.dismissed_comment.as_deref()))
        .flatten();
    let note = match (action, &branch) {
        ("created", Some(branch)) => format!("New alert on {branch}"),
        ("created", None) => "New alert".to_string(),
        ("appeared_in_branch", Some(branch)) => format!("Appeared in branch {branch}"),
        ("appeared_in_branch", None) => "Appeared in another branch".to_string(),
        ("fixed", _) => "Fixed".to_string(),
        ("closed_by_user", _) => with_reason(by("Dismissed", actor.as_deref()), reason.as_deref()),
        ("reopened", _) => "Reopened".to_string(),
        ("reopened_by_user", _) => by("Reopened", actor.as_deref()),
        ("updated_assignment", _) => "Assignees updated".to_string(),
        (other, _) => unknown_action(other),
    };

    let rule_id = clean(rule.id.as_deref());
    let title = clean(rule.description.as_deref())
        .or_else(|| clean(rule.name.as_deref()))
        .or_else(|| rule_id.clone())
        .unwrap_or_else(|| format!("Code scanning alert #{number}"));
    let location = instance.location.unwrap_or_default();

    let mut alert = Alert::base(
        AlertSource::CodeScanning,
        Some(repo),
        Some(number),
        mapping.code_scanning(
            clean(rule.security_severity_level.as_deref()).as_deref(),
            clean(rule.severity.as_deref()).as_deref(),
        ),
        state,
        title,
    );
    alert.summary = instance
        .message
        .and_then(|m| m.text.as_deref().and_then(shorten))
        .or_else(|| rule.full_description.as_deref().and_then(shorten));
    alert.rule = rule_id;
    alert.tool = a.tool.and_then(|t| clean(t.name.as_deref()));
    alert.location = position(location.path.as_deref(), location.start_line);
    alert.branch = branch;
    alert.url = ctx.page(a.html_url.as_deref(), "code-scanning", number);
    alert.created_at = time(a.created_at.as_deref());
    Ok(ctx.change(alert, actor, note, reason))
}

fn secret_scanning(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
) -> Result<AlertChange, NormalizeError> {
    let body = parse::<SecretScanningEvent>(ctx.event, payload)?;
    let a: SecretScanningAlert = body.alert.ok_or_else(|| ctx.missing("alert"))?;
    let repo = ctx.repo()?;
    let number = a.number.ok_or_else(|| ctx.missing("alert.number"))?;
    let is_location_event = ctx.event == "secret_scanning_alert_location";
    let action = ctx.action.as_str();

    // Webhook alerts often have no `state` (GitHub's own examples don't), so a
    // non-null `resolution` is the next best witness.
    let transition = match action {
        _ if is_location_event => None,
        "created" | "reopened" => Some(AlertState::Open),
        "resolved" | "revoked" => Some(AlertState::Resolved),
        _ => None,
    };
    let state = transition
        .or_else(|| match a.state.as_deref().map(str::trim) {
            Some("open") => Some(AlertState::Open),
            Some("resolved") => Some(AlertState::Resolved),
            _ => None,
        })
        .or_else(|| clean(a.resolution.as_deref()).map(|_| AlertState::Resolved))
        .unwrap_or(AlertState::Open);

    let resolving = !is_location_event && (action == "resolved" || action == "revoked");
    let actor = if resolving {
        login(a.resolved_by.as_ref()).or_else(|| ctx.sender.clone())
    } else {
        ctx.sender.clone()
    };
    let reason = (state == AlertState::Resolved)
        .then(|| join_reason(a.resolution.as_deref(), a.resolution_comment.as_deref()))
        .flatten();
    let validity = clean(a.validity.as_deref());
    let publicly_leaked = (!is_location_event && action == "publicly_leaked") || a.publicly_leaked == Some(true);

    let mut location = None;
    let note = if is_location_event {
        let place = body.location.unwrap_or_default();
        let details = place.details.unwrap_or_default();
        location = position(details.path.as_deref(), details.start_line);
        match (&location, clean(place.kind.as_deref())) {
            (Some(at), _) => format!("New location: {at}"),
            (None, Some(kind)) => format!("New location ({kind})"),
            (None, None) => "New location".to_string(),
        }
    } else {
        match action {
            "created" => "New alert".to_string(),
            "resolved" | "revoked" => with_reason(by("Resolved", actor.as_deref()), reason.as_deref()),
            "reopened" => by("Reopened", actor.as_deref()),
            "publicly_leaked" => "Secret publicly leaked".to_string(),
            "validated" => match &validity {
                Some(v) => format!("Validity checked: {v}"),
                None => "Validity checked".to_string(),
            },
            "assigned" | "unassigned" => "Assignee changed".to_string(),
            other => unknown_action(other),
        }
    };

    let secret_type = clean(a.secret_type_display_name.as_deref()).or_else(|| clean(a.secret_type.as_deref()));
    let title = match &secret_type {
        Some(kind) => format!("Secret detected: {kind}"),
        None => format!("Secret scanning alert #{number}"),
    };
    let mut alert = Alert::base(
        AlertSource::SecretScanning,
        Some(repo),
        Some(number),
        mapping.secret_scanning,
        state,
        title,
    );
    alert.secret_type = secret_type;
    alert.publicly_leaked = publicly_leaked;
    alert.validity = validity;
    alert.location = location;
    alert.url = ctx.page(a.html_url.as_deref(), "secret-scanning", number);
    alert.created_at = time(a.created_at.as_deref());
    Ok(ctx.change(alert, actor, note, reason))
}

fn security_advisory(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
) -> Result<AlertChange, NormalizeError> {
    let body = parse::<SecurityAdvisoryEvent>(ctx.event, payload)?;
    let advisory = body.security_advisory.ok_or_else(|| ctx.missing("security_advisory"))?;
    let ghsa = ghsa(&advisory).ok_or_else(|| ctx.missing("security_advisory.ghsa_id"))?;
    let action = ctx.action.as_str();
    let withdrawn = action == "withdrawn" || clean(advisory.withdrawn_at.as_deref()).is_some();
    let state = if withdrawn {
        AlertState::Withdrawn
    } else {
        AlertState::Open
    };
    let note = match action {
        "published" => "Published".to_string(),
        "updated" => "Updated".to_string(),
        "performed" => "Performed".to_string(),
        "withdrawn" => "Withdrawn".to_string(),
        other => unknown_action(other),
    };
    let mut alert = advisory_alert(
        AlertSource::SecurityAdvisory,
        format!("{}:{ghsa}", AlertSource::SecurityAdvisory.as_str()),
        None,
        &advisory,
        &ghsa,
        state,
        mapping,
    );
    // Global advisories always live at this address; the payload has no link.
    alert.url = clean(advisory.html_url.as_deref()).or_else(|| Some(format!("https://github.com/advisories/{ghsa}")));
    Ok(ctx.change(alert, ctx.sender.clone(), note, None))
}

fn repository_advisory(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
) -> Result<AlertChange, NormalizeError> {
    let body = parse::<RepositoryAdvisoryEvent>(ctx.event, payload)?;
    let advisory = body
        .repository_advisory
        .ok_or_else(|| ctx.missing("repository_advisory"))?;
    let repo = ctx.repo()?;
    let ghsa = ghsa(&advisory).ok_or_else(|| ctx.missing("repository_advisory.ghsa_id"))?;
    let action = ctx.action.as_str();
    let state = match advisory.state.as_deref().map(str::trim) {
        Some("withdrawn") => AlertState::Withdrawn,
        Some("closed") => AlertState::Resolved,
        _ if clean(advisory.withdrawn_at.as_deref()).is_some() => AlertState::Withdrawn,
        _ => AlertState::Open,
    };
    let note = match action {
        "published" => "Published".to_string(),
        "reported" => "Reported privately".to_string(),
        other => unknown_action(other),
    };
    let mut alert = advisory_alert(
        AlertSource::RepositoryAdvisory,
        format!("{}:{repo}:{ghsa}", AlertSource::RepositoryAdvisory.as_str()),
        Some(repo),
        &advisory,
        &ghsa,
        state,
        mapping,
    );
    alert.url = clean(advisory.html_url.as_deref());
    Ok(ctx.change(alert, ctx.sender.clone(), note, None))
}

/// The part of an alert both advisory events fill the same way.
fn advisory_alert(
    source: AlertSource,
    key: String,
    repository: Option<String>,
    advisory: &Advisory,
    ghsa: &str,
    state: AlertState,
    mapping: &SeverityMapping,
) -> Alert {
    let vulnerability = first_vulnerability(advisory).unwrap_or_default();
    let package = vulnerability.package.clone().unwrap_or_default();
    let title = clean(advisory.summary.as_deref()).unwrap_or_else(|| ghsa.to_string());
    let mut alert = Alert::base(
        source,
        repository,
        None,
        mapping.advisory_level(
            clean(advisory.severity.as_deref())
                .or_else(|| clean(vulnerability.severity.as_deref()))
                .as_deref(),
        ),
        state,
        title,
    );
    alert.key = key;
    alert.summary = advisory.description.as_deref().and_then(shorten);
    alert.package = clean(package.name.as_deref());
    alert.ecosystem = clean(package.ecosystem.as_deref());
    alert.vulnerable_range = clean(vulnerability.vulnerable_version_range.as_deref());
    alert.patched_version = patched(&vulnerability);
    alert.cve = cve(advisory);
    alert.ghsa = Some(ghsa.to_string());
    alert.cvss = cvss(advisory);
    alert.created_at = time(advisory.created_at.as_deref()).or_else(|| time(advisory.published_at.as_deref()));
    alert
}

fn vulnerability_alert(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
) -> Result<AlertChange, NormalizeError> {
    let body = parse::<VulnerabilityAlertEvent>(ctx.event, payload)?;
    let a = body.alert.ok_or_else(|| ctx.missing("alert"))?;
    let repo = ctx.repo()?;
    // `number` matches across create/dismiss/resolve; `id` differs between
    // GitHub's own examples of the same alert, so it is only a fallback.
    let number = a.number.or(a.id).ok_or_else(|| ctx.missing("alert.number"))?;
    let action = ctx.action.as_str();
    let state = match action {
        "create" | "reopen" => Some(AlertState::Open),
        "dismiss" => Some(AlertState::Dismissed),
        "resolve" => Some(AlertState::Fixed),
        _ => None,
    }
    .or_else(|| match a.state.as_deref().map(str::trim) {
        Some("open") => Some(AlertState::Open),
        Some("dismissed") => Some(AlertState::Dismissed),
        Some("fixed" | "resolved") => Some(AlertState::Fixed),
        _ => None,
    })
    .unwrap_or(AlertState::Open);
    let actor = if action == "dismiss" {
        login(a.dismisser.as_ref()).or_else(|| ctx.sender.clone())
    } else {
        ctx.sender.clone()
    };
    let reason = match state {
        AlertState::Dismissed => clean(a.dismiss_reason.as_deref()),
        AlertState::Fixed => clean(a.fix_reason.as_deref()),
        _ => None,
    };
    let note = match action {
        "create" => "New alert".to_string(),
        "dismiss" => with_reason(by("Dismissed", actor.as_deref()), reason.as_deref()),
        "resolve" => "Fixed".to_string(),
        "reopen" => by("Reopened", actor.as_deref()),
        other => unknown_action(other),
    };

    let identifier = clean(a.external_identifier.as_deref());
    let cve = identifier
        .clone()
        .filter(|id| id.to_ascii_uppercase().starts_with("CVE-"));
    let ghsa =
        clean(a.ghsa_id.as_deref()).or_else(|| identifier.filter(|id| id.to_ascii_uppercase().starts_with("GHSA-")));
    let package = clean(a.affected_package_name.as_deref());
    let title = match (&package, &cve) {
        (Some(p), Some(c)) => format!("Vulnerable dependency {p} ({c})"),
        (Some(p), None) => format!("Vulnerable dependency {p}"),
        (None, _) => format!("Vulnerability alert #{number}"),
    };
    let mut alert = Alert::base(
        AlertSource::VulnerabilityAlert,
        Some(repo),
        Some(number),
        mapping.advisory_level(clean(a.severity.as_deref()).as_deref()),
        state,
        title,
    );
    alert.package = package;
    alert.vulnerable_range = clean(a.affected_range.as_deref());
    alert.patched_version = clean(a.fixed_in.as_deref());
    alert.cve = cve;
    alert.ghsa = ghsa;
    // The legacy alert has no page of its own; the advisory reference is the
    // only link it carries.
    alert.url = clean(a.html_url.as_deref()).or_else(|| clean(a.external_reference.as_deref()));
    alert.created_at = time(a.created_at.as_deref());
    Ok(ctx.change(alert, actor, note, reason))
}

/// Run conclusions that mean the workflow did not do its job.
const FAILED_CONCLUSIONS: [&str; 5] = [
    "failure",
    "timed_out",
    "cancelled",
    "startup_failure",
    "action_required",
];

fn workflow_run(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
    filter: &WorkflowFilter,
) -> Result<Option<AlertChange>, NormalizeError> {
    if ctx.action != "completed" {
        return Ok(None);
    }
    let body = parse::<WorkflowRunEvent>(ctx.event, payload)?;
    let run = body.workflow_run.ok_or_else(|| ctx.missing("workflow_run"))?;
    let Some(conclusion) = clean(run.conclusion.as_deref()) else {
        return Ok(None);
    };
    if !FAILED_CONCLUSIONS.contains(&conclusion.as_str()) {
        return Ok(None);
    }
    let workflow = body.workflow.unwrap_or_default();
    // The run's `name` can be empty (GitHub's example has ""), the
    // definition's name and the file path are the fallbacks.
    let candidates = [
        clean(run.name.as_deref()),
        clean(workflow.name.as_deref()),
        clean(run.path.as_deref()),
        clean(workflow.path.as_deref()),
    ];
    if !candidates.iter().flatten().any(|c| filter.matches(c)) {
        return Ok(None);
    }
    let repo = ctx.repo()?;
    let id = run.id.ok_or_else(|| ctx.missing("workflow_run.id"))?;
    let name = candidates
        .iter()
        .flatten()
        .next()
        .cloned()
        .unwrap_or_else(|| format!("run {id}"));
    let branch = clean(run.head_branch.as_deref());
    let title = match &branch {
        Some(b) => format!("Workflow “{name}” failed on {b}"),
        None => format!("Workflow “{name}” failed"),
    };
    let short_sha = clean(run.head_sha.as_deref()).map(|s| s.chars().take(7).collect::<String>());
    let note = match run.run_number {
        Some(n) => format!("Run #{n} concluded: {conclusion}"),
        None => format!("Run concluded: {conclusion}"),
    };

    let mut alert = Alert::base(
        AlertSource::Workflow,
        Some(repo.clone()),
        run.run_number,
        mapping.workflow_failure,
        AlertState::Failed,
        title,
    );
    alert.key = format!("{}:{repo}:{id}", AlertSource::Workflow.as_str());
    alert.summary = Some(match short_sha {
        Some(sha) => format!("Conclusion: {conclusion} (commit {sha})"),
        None => format!("Conclusion: {conclusion}"),
    });
    alert.branch = branch;
    alert.url = clean(run.html_url.as_deref());
    alert.created_at = time(run.created_at.as_deref());
    Ok(Some(ctx.change(alert, ctx.sender.clone(), note, None)))
}

impl Alert {
    /// An alert with the identifying fields set and every detail empty; the
    /// key follows the `<source>:<repo>:<number>` rule and callers with
    /// another rule overwrite it.
    fn base(
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

impl Ctx<'_> {
    fn change(&self, alert: Alert, actor: Option<String>, note: String, reason: Option<String>) -> AlertChange {
        AlertChange {
            alert,
            action: self.action.clone(),
            actor,
            note,
            reason,
        }
    }
}

fn first_vulnerability(advisory: &Advisory) -> Option<Vulnerability> {
    advisory.vulnerabilities.as_ref().and_then(|list| list.first().cloned())
}

fn patched(vulnerability: &Vulnerability) -> Option<String> {
    vulnerability
        .first_patched_version
        .as_ref()
        .and_then(|p| clean(p.identifier.as_deref()))
        .or_else(|| clean(vulnerability.patched_versions.as_deref()))
}

/// `cve_id` is often null while `identifiers` still lists the CVE.
fn cve(advisory: &Advisory) -> Option<String> {
    clean(advisory.cve_id.as_deref()).or_else(|| identifier(advisory, "CVE"))
}

fn ghsa(advisory: &Advisory) -> Option<String> {
    clean(advisory.ghsa_id.as_deref()).or_else(|| identifier(advisory, "GHSA"))
}

fn identifier(advisory: &Advisory, kind: &str) -> Option<String> {
    advisory.identifiers.as_ref().and_then(|ids| {
        ids.iter()
            .find(|id| id.kind.as_deref().is_some_and(|k| k.trim().eq_ignore_ascii_case(kind)))
            .and_then(|id| clean(id.value.as_deref()))
    })
}

/// The deprecated `cvss` first, then v4, then v3. A score of 0 is how GitHub
/// fills the deprecated field once it stops maintaining it, so it counts as absent.
fn cvss(advisory: &Advisory) -> Option<f64> {
    let usable = |score: Option<f64>| score.filter(|s| s.is_finite() && *s > 0.0);
    let severities = advisory.cvss_severities.as_ref();
    usable(advisory.cvss.as_ref().and_then(|c| c.score))
        .or_else(|| usable(severities.and_then(|s| s.cvss_v4.as_ref()).and_then(|c| c.score)))
        .or_else(|| usable(severities.and_then(|s| s.cvss_v3.as_ref()).and_then(|c| c.score)))
}

fn login(user: Option<&User>) -> Option<String> {
    user.and_then(|u| clean(u.login.as_deref()))
}

/// Trimmed text, with empty strings treated as absent: GitHub sends `""` for
/// unknown values (e.g. the package of a repository advisory).
fn clean(text: Option<&str>) -> Option<String> {
    text.map(str::trim).filter(|t| !t.is_empty()).map(str::to_string)
}

/// The longest summary we keep; chat messages should stay readable.
const SUMMARY_CHARS: usize = 280;

/// First paragraph, whitespace collapsed, cut to [`SUMMARY_CHARS`]: advisory
/// descriptions run to pages of Markdown.
fn shorten(text: &str) -> Option<String> {
    let paragraph = text.split("\n\n").map(str::trim).find(|p| !p.is_empty())?;
    let flat = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(cut(&flat, SUMMARY_CHARS))
}

fn cut(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    short.truncate(short.trim_end().len());
    short.push('…');
    short
}

fn position(path: Option<&str>, line: Option<u64>) -> Option<String> {
    let path = clean(path)?;
    Some(match line {
        Some(line) => format!("{path}:{line}"),
        None => path,
    })
}

fn branch_name(git_ref: &str) -> String {
    git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref).to_string()
}

fn time(text: Option<&str>) -> Option<DateTime<Utc>> {
    let text = clean(text)?;
    DateTime::parse_from_rfc3339(&text).ok().map(|t| t.with_timezone(&Utc))
}

fn by(verb: &str, actor: Option<&str>) -> String {
    match actor {
        Some(actor) => format!("{verb} by {actor}"),
        None => verb.to_string(),
    }
}

fn with_reason(head: String, reason: Option<&str>) -> String {
    match reason {
        Some(reason) => format!("{head}: {reason}"),
        None => head,
    }
}

/// `reason — “comment”`, the comment cut short because people paste essays.
fn join_reason(reason: Option<&str>, comment: Option<&str>) -> Option<String> {
    let comment = clean(comment).map(|c| cut(&c.split_whitespace().collect::<Vec<_>>().join(" "), 200));
    match (clean(reason), comment) {
        (Some(r), Some(c)) => Some(format!("{r} — “{c}”")),
        (Some(r), None) => Some(r),
        (None, Some(c)) => Some(format!("“{c}”")),
        (None, None) => None,
    }
}

/// Actions GitHub adds later still reach the channel, named as they are.
fn unknown_action(action: &str) -> String {
    format!("Action: {action}")
}
