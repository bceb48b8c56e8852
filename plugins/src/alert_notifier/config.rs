//! `[plugins.alert_notifier]`: where alerts are posted, who is mentioned, and which alerts ask for
//! an incident. The doc comments below are the user documentation of each option.

use sentinel_bot::Severity;
use sentinel_bot::config::{Config, ConfigError, deserialize_named};
use serde::{Deserialize, Serialize};

use super::normalize::{AlertSource, SeverityMapping, WorkflowFilter};
use super::plugin::NAME;

/// The alert notifier's options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertNotifierConfig {
    /// The logical channel an alert is posted to when no route matches.
    pub channel: String,
    /// How GitHub's severity vocabularies map to Sentinel's four levels.
    pub severity: SeverityMapping,
    /// Which failed workflow runs count as security alerts (by workflow name or file path).
    pub workflows: WorkflowFilter,
    /// Alerts at or above this severity ask for an incident (`alert.incident_requested`) when they
    /// are raised, reopened, or rise to it.
    pub incident_severity: Severity,
    /// When an alert is fixed, dismissed, resolved or withdrawn, announce `alert.closed` so the
    /// incident it opened can be resolved.
    pub resolve_incidents: bool,
    /// Routing rules, tried in order. The first matching route decides where an alert goes, unless
    /// it sets `continue = true`, in which case later routes are tried too. An alert no route
    /// matches goes to `channel` with no mention.
    pub routes: Vec<Route>,
}

impl Default for AlertNotifierConfig {
    fn default() -> Self {
        Self {
            channel: "security-incidents".to_owned(),
            severity: SeverityMapping::default(),
            workflows: WorkflowFilter::default(),
            incident_severity: Severity::High,
            resolve_incidents: true,
            routes: Vec::new(),
        }
    }
}

/// One routing rule: which alerts it matches, where they go and whom they mention. Every condition
/// left out matches any alert.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Route {
    /// The severities it matches, e.g. `["critical", "high"]`; empty matches any.
    pub severity: Vec<Severity>,
    /// A repository glob, e.g. `"org/*"` or `"org/app-*"` (`*` matches any text, case is ignored).
    /// Alerts without a repository (global GitHub advisories) never match a route that sets it.
    pub repository: Option<String>,
    /// The alert sources it matches: `dependabot`, `code_scanning`, `secret_scanning`,
    /// `security_advisory`, `repository_advisory`, `vulnerability_alert`, `workflow`; empty
    /// matches any.
    pub source: Vec<AlertSource>,
    /// The logical channels to post to; empty means the plugin's `channel`.
    pub channels: Vec<String>,
    /// Who to mention in those channels: `[groups]` or `[people]` keys.
    pub mention: Vec<String>,
    /// Keep trying later routes after this one matched.
    #[serde(rename = "continue")]
    pub continue_matching: bool,
}

impl AlertNotifierConfig {
    /// The `[plugins.alert_notifier]` section of `config`, checked. Errors name their keys.
    pub fn from_config(config: &Config) -> Result<Self, Vec<ConfigError>> {
        let prefix = format!("plugins.{NAME}");
        let section: Self = deserialize_named(config.plugin_section(NAME), &prefix).map_err(|err| vec![err])?;
        let problems = section.check(config, &prefix);
        if problems.is_empty() {
            Ok(section)
        } else {
            Err(problems)
        }
    }

    /// Problems serde cannot see: empty channel names and mentions of nobody Sentinel knows. Keys
    /// are full, e.g. `plugins.alert_notifier.routes[1].mention`.
    pub fn check(&self, config: &Config, prefix: &str) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        if self.channel.trim().is_empty() {
            problems.push(ConfigError::new(format!("{prefix}.channel"), "must name a channel"));
        }
        for (index, route) in self.routes.iter().enumerate() {
            let key = format!("{prefix}.routes[{index}]");
            if route.channels.iter().any(|c| c.trim().is_empty()) {
                problems.push(ConfigError::new(format!("{key}.channels"), "a channel name is empty"));
            }
            if route.repository.as_deref().is_some_and(|r| r.trim().is_empty()) {
                problems.push(ConfigError::new(
                    format!("{key}.repository"),
                    "is empty; leave it out to match every repository",
                ));
            }
            for name in &route.mention {
                if !config.groups.contains_key(name) && !config.people.contains_key(name) {
                    problems.push(ConfigError::new(
                        format!("{key}.mention"),
                        format!("`{name}` is neither a [groups] nor a [people] key"),
                    ));
                }
            }
        }
        problems
    }
}
