//! `[plugins.incident_commander]`: where incidents are posted, when alerts open them, who may do
//! what, and each stage's checklist.

use std::collections::BTreeMap;

use sentinel_bot::Severity;
use sentinel_bot::config::{Config, ConfigError};
use serde::Deserialize;

use super::model::Stage;

/// The incident commander's options.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentConfig {
    /// The logical channel each incident's message (kept up to date in place) and its thread go to.
    pub channel: String,
    /// Alerts at least this severe open an incident automatically (`critical`, `high`, `medium`,
    /// `low`). A less severe alert is still linked to an open incident with the same grouping key,
    /// and an alert someone explicitly asked an incident for always opens one.
    pub auto_open_min_severity: Severity,
    /// Which alerts share one incident: `repository_advisory` (same repository and the same
    /// GHSA/CVE, or the same rule for code scanning, or the same secret type), `alert` (one incident
    /// per alert) or `repository` (one incident per repository).
    pub grouping: Grouping,
    /// When every alert linked to an open incident has been closed on GitHub, resolve the incident
    /// (recorded as done by `github`).
    pub resolve_on_alert_closed: bool,
    /// Who may do what. With no role configured everybody may do everything.
    pub roles: Roles,
    /// Each stage's checklist, posted when an incident enters the stage. A stage listed here
    /// replaces its default from the security guide.
    pub checklists: Checklists,
    /// A GitHub issue per incident, created and kept up to date through the core's GitHub worker.
    /// Off unless `repository` is set.
    pub tracking_issue: TrackingIssue,
    /// A space per incident — a Slack channel of its own, a Discord thread in `channel` — where the
    /// incident's message and notes are posted too. Off unless `enabled`.
    pub space: SpaceConfig,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        Self {
            channel: "security-incidents".into(),
            auto_open_min_severity: Severity::High,
            grouping: Grouping::RepositoryAdvisory,
            resolve_on_alert_closed: false,
            roles: Roles::default(),
            checklists: Checklists::default(),
            tracking_issue: TrackingIssue::default(),
            space: SpaceConfig::default(),
        }
    }
}

/// `[plugins.incident_commander.space]`: a space per incident, opened when an incident opens
/// (declared or from an alert) at or above `min_severity`, or later when its severity is raised to
/// it. The space is `<name_prefix>-<id>-<slug of the title>` (`inc-12-sql-injection`) under
/// `channel`: a Slack channel with the members invited, a Discord thread that mentions them. The
/// incident's message is posted there as well and edited in place with every change, and every note
/// of the incident's thread (acknowledgements, assignments, updates, stage checklists, ticks, SLA
/// breaches, resolution) is posted there too; the post-mortem as well. The main channel stays as it
/// is. An incident keeps its space when it is resolved, closed or reopened.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpaceConfig {
    /// Open a space per incident. Off by default. Turning it off later stops new spaces; incidents
    /// that already have one keep posting to it.
    pub enabled: bool,
    /// Only incidents at least this severe get a space (`critical`, `high`, `medium`, `low`). An
    /// incident below it gets one when its severity is raised to it.
    pub min_severity: Severity,
    /// The start of every space's name: `<name_prefix>-<id>-<slug of the title>`. Lowercase letters,
    /// digits, `-` and `_`, at most 20 characters.
    pub name_prefix: String,
    /// Who is brought into each space: `[people]` keys and `[groups]` names. Unset: everyone listed in
    /// `roles.responder` and `roles.commander` (`everyone` left out). The person who declared the
    /// incident and its commander and assignee, when they are configured people, are always added.
    /// A space's members are decided when it opens; people named commander or assignee later are
    /// mentioned in it (on Discord that adds them to the thread; on Slack they are not invited).
    pub invite: Option<Vec<String>>,
}

impl Default for SpaceConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            min_severity: Severity::Low,
            name_prefix: "inc".to_owned(),
            invite: None,
        }
    }
}

impl SpaceConfig {
    /// The longest `name_prefix` accepted: it leaves room for the id and the title in Slack's 80
    /// characters.
    pub const MAX_PREFIX: usize = 20;
}

/// `[plugins.incident_commander.tracking_issue]`: one GitHub issue per incident. It is created when
/// an incident opens (declared or from an alert), updated when its state, severity, stage, people,
/// alerts or deadlines change (closed when the incident is resolved or closed, reopened with it), and
/// gets the post-mortem as a comment. Needs a GitHub token (`[github] token` /
/// `SENTINEL_GITHUB_TOKEN`) that may write issues in the repository.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackingIssue {
    /// The repository (`org/repo`) tracking issues are created in. Unset: no tracking issues, and
    /// no GitHub request at all.
    pub repository: Option<String>,
    /// Labels every tracking issue gets.
    pub labels: Vec<String>,
    /// The severity label is this prefix followed by the severity (`severity:critical`); empty: no
    /// severity label. Labels are sent when the issue is created and again only when the severity
    /// changes, so labels added on GitHub survive other updates (a severity change sets the labels
    /// to `labels` plus the new severity label).
    pub severity_label_prefix: String,
    /// Assign the issue to the incident's commander and assignee, by the `github` login of their
    /// `[people.<name>]` entry (people without one are left out). Assignees are sent only when they
    /// change.
    pub assignees_from_people: bool,
    /// Filled at start-up from `[people]`: each person's GitHub login. Not read from this section.
    #[serde(skip)]
    pub logins: BTreeMap<String, String>,
}

impl Default for TrackingIssue {
    fn default() -> Self {
        Self {
            repository: None,
            labels: vec!["security-incident".to_owned()],
            severity_label_prefix: "severity:".to_owned(),
            assignees_from_people: true,
            logins: BTreeMap::new(),
        }
    }
}

impl TrackingIssue {
    /// The repository (`org/repo`) issues go to, when tracking is on.
    pub fn repository(&self) -> Option<&str> {
        self.repository.as_deref().filter(|r| !r.is_empty())
    }
}

/// True for `org/repo` made of the characters GitHub allows in names.
fn is_repository(text: &str) -> bool {
    let name = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(text.split_once('/'), Some((owner, repo)) if name(owner) && name(repo) && repo != "." && repo != "..")
}

/// How alerts are grouped into incidents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// Same repository and advisory (GHSA, else CVE), code-scanning rule or secret type.
    #[default]
    RepositoryAdvisory,
    /// Every alert its own incident.
    Alert,
    /// Every alert of a repository in one incident.
    Repository,
}

/// Role membership: each list holds `[people]` keys, `[groups]` names (Slack user groups and
/// Discord roles are configured there), or `everyone`. Roles nest: an admin may do what a commander
/// may, a commander what a responder may.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Roles {
    /// May declare, acknowledge, assign, post updates, tick checklist items, escalate and post a
    /// post-mortem.
    pub responder: Vec<String>,
    /// May also name the commander, change severity and stage, resolve, reopen and close.
    pub commander: Vec<String>,
    /// May do everything a commander may.
    pub admin: Vec<String>,
}

impl Roles {
    /// True when any role lists anyone; otherwise nothing is enforced.
    pub fn enforced(&self) -> bool {
        !(self.responder.is_empty() && self.commander.is_empty() && self.admin.is_empty())
    }
}

/// Checklist items per stage. Defaults come from the security guide's incident response plan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Checklists {
    /// Detection & Analysis.
    pub detection: Vec<String>,
    /// Containment & Mitigation.
    pub containment: Vec<String>,
    /// Investigation.
    pub investigation: Vec<String>,
    /// Recovery.
    pub recovery: Vec<String>,
    /// Lessons Learned (also seeds the post-mortem's lessons-learned section).
    pub lessons: Vec<String>,
}

impl Checklists {
    /// The items of `stage`.
    pub fn of(&self, stage: Stage) -> &[String] {
        match stage {
            Stage::Detection => &self.detection,
            Stage::Containment => &self.containment,
            Stage::Investigation => &self.investigation,
            Stage::Recovery => &self.recovery,
            Stage::Lessons => &self.lessons,
        }
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for Checklists {
    fn default() -> Self {
        // From the guide's "Security Incident Response Plan", stage by stage.
        Self {
            detection: strings(&[
                "Identify the nature and scope of the incident",
                "Preserve evidence and logs",
                "Assess potential data exposure",
                "Document initial findings",
            ]),
            containment: strings(&[
                "Stop the affected service",
                "Rotate GitHub tokens",
                "Generate a new webhook secret",
                "Back up the logs for analysis",
                "Clear temporary files",
            ]),
            investigation: strings(&[
                "Review the security log for violations in the incident window",
                "Look for failed authentications",
                "Look for webhook deliveries from unknown sources",
                "Check the GitHub audit log for unexpected pushes, deletions and permission changes",
            ]),
            recovery: strings(&[
                "Patch vulnerabilities",
                "Update configurations",
                "Rotate all credentials",
                "Restart services",
                "Verify system integrity",
                "Resume normal operations",
            ]),
            lessons: strings(&[
                "Document incident details",
                "Update security procedures",
                "Enhance monitoring",
                "Conduct team training",
                "Review and test response plan",
            ]),
        }
    }
}

/// The word in a role list that grants the role to everybody.
pub const EVERYONE: &str = "everyone";

impl IncidentConfig {
    /// Reads `[plugins.incident_commander]` and checks it against the rest of `config`.
    pub fn from_config(config: &Config, name: &str) -> Result<Self, Vec<ConfigError>> {
        let prefix = format!("plugins.{name}");
        let parsed: Self =
            sentinel_bot::config::deserialize_named(config.plugin_section(name), &prefix).map_err(|e| vec![e])?;
        parsed.resolve(config, &prefix)
    }

    /// Completes a parsed section from the rest of `config` (the people's GitHub logins) and
    /// checks it; error keys start with `prefix`.
    pub fn resolve(mut self, config: &Config, prefix: &str) -> Result<Self, Vec<ConfigError>> {
        self.tracking_issue.logins = config
            .people
            .iter()
            .filter_map(|(name, person)| {
                let login = person.github.as_deref()?.trim();
                (!login.is_empty()).then(|| (name.clone(), login.to_owned()))
            })
            .collect();
        let errors = self.problems(config, prefix);
        if errors.is_empty() { Ok(self) } else { Err(errors) }
    }

    fn problems(&self, config: &Config, prefix: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if self.channel.trim().is_empty() {
            errors.push(ConfigError::new(format!("{prefix}.channel"), "must name a channel"));
        }
        let roles = [
            ("responder", &self.roles.responder),
            ("commander", &self.roles.commander),
            ("admin", &self.roles.admin),
        ];
        for (role, members) in roles {
            for member in members {
                let known =
                    member == EVERYONE || config.people.contains_key(member) || config.groups.contains_key(member);
                if !known {
                    errors.push(ConfigError::new(
                        format!("{prefix}.roles.{role}"),
                        format!("`{member}` is neither a [people] key, a [groups] name nor `{EVERYONE}`"),
                    ));
                }
            }
        }
        for stage in Stage::ALL {
            if self.checklists.of(stage).iter().any(|item| item.trim().is_empty()) {
                errors.push(ConfigError::new(
                    format!("{prefix}.checklists.{stage}"),
                    "checklist items must not be empty",
                ));
            }
        }
        let tracking = &self.tracking_issue;
        if let Some(repository) = &tracking.repository
            && !is_repository(repository)
        {
            errors.push(ConfigError::new(
                format!("{prefix}.tracking_issue.repository"),
                format!("`{repository}` is not a repository: expected `org/repo`, e.g. \"acme/security-incidents\""),
            ));
        }
        if tracking.labels.iter().any(|label| label.trim().is_empty()) {
            errors.push(ConfigError::new(
                format!("{prefix}.tracking_issue.labels"),
                "labels must not be empty",
            ));
        }
        let space = &self.space;
        let prefix_ok = !space.name_prefix.is_empty()
            && space.name_prefix.chars().count() <= SpaceConfig::MAX_PREFIX
            && space
                .name_prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'));
        if !prefix_ok {
            errors.push(ConfigError::new(
                format!("{prefix}.space.name_prefix"),
                format!(
                    "`{}` is not a name prefix: use 1 to {} lowercase letters, digits, `-` or `_`, e.g. \"inc\"",
                    space.name_prefix,
                    SpaceConfig::MAX_PREFIX
                ),
            ));
        }
        for member in space.invite.iter().flatten() {
            let message = if member == EVERYONE {
                format!("`{EVERYONE}` cannot be invited to a space: list [people] keys or [groups] names")
            } else if config.people.contains_key(member) || config.groups.contains_key(member) {
                continue;
            } else {
                format!("`{member}` is neither a [people] key nor a [groups] name")
            };
            errors.push(ConfigError::new(format!("{prefix}.space.invite"), message));
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_documents_the_tracking_issue_defaults() {
        let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/sentinel.example.toml"));
        let table = sentinel_bot::config::load::parse_table(text, "example").unwrap();
        let config = sentinel_bot::config::load::from_table(table).unwrap();
        let parsed = IncidentConfig::from_config(&config, "incident_commander").unwrap();
        let tracking = TrackingIssue {
            logins: BTreeMap::new(),
            ..parsed.tracking_issue
        };
        assert_eq!(tracking, TrackingIssue::default());
        assert_eq!(tracking.repository(), None);
        assert_eq!(parsed.space, SpaceConfig::default());
    }

    #[test]
    fn repositories_are_org_slash_repo() {
        assert!(is_repository("acme/security-incidents"));
        assert!(is_repository("acme-corp/sec.incidents_2"));
        for bad in [
            "acme",
            "/repo",
            "acme/",
            "acme/a/b",
            "acme/..",
            "acme/sec incidents",
            "ac me/x",
        ] {
            assert!(!is_repository(bad), "{bad}");
        }
    }
}
