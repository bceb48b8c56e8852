//! `[plugins.alert_notifier]`: where alerts are posted, who is mentioned, and which alerts ask for
//! an incident. The doc comments below are the user documentation of each option.

use sentinel_bot::Severity;
use sentinel_bot::config::{Config, ConfigError, HumanDuration, deserialize_named};
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
    /// Alert storms: when many new alerts reach one channel at once, list them in digests instead
    /// of one message each.
    pub digest: DigestConfig,
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
            digest: DigestConfig::default(),
        }
    }
}

/// `[plugins.alert_notifier.digest]`: grouping in alert storms, after Alertmanager's `group_wait`
/// and `group_interval`. While a channel gets at most `threshold` new alerts within `window`, each
/// alert has its own message. Past that, new alerts below `min_severity_alone` are gathered for
/// `group_wait` and posted together as a digest — grouped by severity and repository, every alert
/// linked to GitHub, split into several messages where the platforms' size limits demand — and
/// the channel gets at most one digest per `group_interval`. Alerts at or above
/// `min_severity_alone` are still posted at once, each on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigestConfig {
    /// Group alert storms into digests. `false`: every alert gets its own message, however many
    /// arrive.
    pub enabled: bool,
    /// More new alerts than this for one channel within `window` make a storm: from the next
    /// one on, alerts below `min_severity_alone` go into a digest. `0` puts every such alert in a
    /// digest.
    pub threshold: u32,
    /// The sliding window in which new alerts are counted against `threshold`.
    pub window: HumanDuration,
    /// How long a digest gathers alerts after its first one before it is posted. Changes to
    /// alerts already shown in a posted digest are also gathered this long, then the digest is
    /// edited once and the changes are noted together in its thread.
    pub group_wait: HumanDuration,
    /// The least time between two digests of one channel: alerts arriving after a digest was
    /// posted gather in the next one, posted no sooner than this after the previous.
    pub group_interval: HumanDuration,
    /// Alerts at or above this severity (`critical`, `high`, `medium`, `low`) are never put in a
    /// digest: they are posted at once, on their own, also in a storm. An alert in a digest that
    /// later rises to it gets its own message too.
    pub min_severity_alone: Severity,
}

impl Default for DigestConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            threshold: 10,
            window: HumanDuration::minutes(1),
            group_wait: HumanDuration::secs(10),
            group_interval: HumanDuration::secs(20),
            min_severity_alone: Severity::Critical,
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
    /// A repository pattern, e.g. `"org/*"` or `"org/app-?"` (see [`sentinel_bot::RepoPattern`]:
    /// `*` and `?` match within the owner or the name, case is ignored). Alerts without a
    /// repository (global GitHub advisories) never match a route that sets it.
    pub repository: Option<sentinel_bot::RepoPattern>,
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
        let digest = format!("{prefix}.digest");
        if self.digest.window.std().is_zero() {
            problems.push(ConfigError::new(format!("{digest}.window"), "must be longer than 0s"));
        }
        if self.digest.group_wait.std().is_zero() {
            problems.push(ConfigError::new(
                format!("{digest}.group_wait"),
                "must be longer than 0s, or the digest holds one alert",
            ));
        }
        for (index, route) in self.routes.iter().enumerate() {
            let key = format!("{prefix}.routes[{index}]");
            if route.channels.iter().any(|c| c.trim().is_empty()) {
                problems.push(ConfigError::new(format!("{key}.channels"), "a channel name is empty"));
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
