//! `[plugins.incident_commander]`: where incidents are posted, when alerts open them, who may do
//! what, and each stage's checklist.

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
        }
    }
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
        let errors = parsed.problems(config, &prefix);
        if errors.is_empty() { Ok(parsed) } else { Err(errors) }
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
        errors
    }
}
