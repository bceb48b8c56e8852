//! `[plugins.sla_escalator]`: where pings go, who each level is, the working week and the policy.
//! The doc comments on these fields are the user documentation.

use sentinel_bot::Severity;
use sentinel_bot::config::{Config, ConfigError};
use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;
use super::duration::SlaDuration;
use super::policy::{Level, SeverityPolicy, Step, default_policy};

/// The plugin's section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlaConfig {
    /// The logical channel pings, warnings and breaches go to, as replies in the thread of the
    /// incident's message.
    pub channel: String,
    /// Fractions of a deadline (response and resolution) at which a warning is posted, each
    /// between 0 and 1: 0.75 warns when three quarters of the time has passed.
    pub warn_at: Vec<f64>,
    /// Who each escalation level is.
    pub levels: LevelsConfig,
    /// The working week that durations written in business time ("1 business day",
    /// "8 business hours", "30 business minutes") count in. Plain durations ("4h", "7d") are
    /// wall-clock time.
    pub business_hours: BusinessHoursConfig,
    /// The deadlines and escalation chain of each severity. A key left out keeps the guide's default.
    pub policy: PolicyConfig,
    /// Who may `/sla silence` and `/sla unsilence`: `[people]` or `[groups]` keys. Empty: anyone.
    pub silencers: Vec<String>,
}

impl Default for SlaConfig {
    fn default() -> Self {
        Self {
            channel: "security-incidents".to_owned(),
            warn_at: vec![0.75],
            levels: LevelsConfig::default(),
            business_hours: BusinessHoursConfig::default(),
            policy: PolicyConfig::default(),
            silencers: Vec::new(),
        }
    }
}

/// Each level's people and groups: `[people]` or `[groups]` keys (a group is a Slack user group
/// and/or a Discord role). A level with no one still gets its post, saying no one is configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LevelsConfig {
    /// L1, e.g. `["team-lead"]`.
    pub team_lead: Vec<String>,
    /// L2, e.g. `["security-champions"]`.
    pub security_champion: Vec<String>,
    /// L3, e.g. `["repository-owners"]`.
    pub repository_owner: Vec<String>,
    /// L4, e.g. `["emergency-contact"]`.
    pub emergency_contact: Vec<String>,
}

impl LevelsConfig {
    /// The names configured for `level`.
    pub fn names(&self, level: Level) -> &[String] {
        match level {
            Level::TeamLead => &self.team_lead,
            Level::SecurityChampion => &self.security_champion,
            Level::RepositoryOwner => &self.repository_owner,
            Level::EmergencyContact => &self.emergency_contact,
        }
    }
}

/// The working week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusinessHoursConfig {
    /// The IANA time zone the working hours are in, e.g. "Europe/Berlin".
    pub time_zone: String,
    /// The working days: "Mon", "Tue", … (full names work too).
    pub days: Vec<String>,
    /// When a working day starts, local time, "HH:MM".
    pub start: String,
    /// When a working day ends, local time, "HH:MM"; one business day is end − start.
    pub end: String,
}

impl Default for BusinessHoursConfig {
    fn default() -> Self {
        Self {
            time_zone: "UTC".to_owned(),
            days: ["Mon", "Tue", "Wed", "Thu", "Fri"].map(str::to_owned).to_vec(),
            start: "09:00".to_owned(),
            end: "17:00".to_owned(),
        }
    }
}

/// The policy per severity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Critical. Default: respond 1h, resolve 24h; the L4 emergency contact at once, reminded every
    /// 15m three times.
    pub critical: SeverityPolicyConfig,
    /// High. Default: respond 4h, resolve 7d; the L3 repository owner at once (reminded after 30m),
    /// the L4 emergency contact after 1h (reminded every 1h twice).
    pub high: SeverityPolicyConfig,
    /// Medium. Default: respond 24h, resolve 30d; the L2 security champion at once (reminded after
    /// 2h), the L3 repository owner after 4h (reminded every 4h four times).
    pub medium: SeverityPolicyConfig,
    /// Low. Default: respond 7d, resolve 90d; the L1 team lead at once, the L2 security champion
    /// after 1 business day (reminded every business day twice).
    pub low: SeverityPolicyConfig,
}

impl PolicyConfig {
    fn of(&self, severity: Severity) -> &SeverityPolicyConfig {
        match severity {
            Severity::Critical => &self.critical,
            Severity::High => &self.high,
            Severity::Medium => &self.medium,
            Severity::Low => &self.low,
        }
    }
}

/// One severity's policy; each key left out keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeverityPolicyConfig {
    /// Time to acknowledge (the response deadline), e.g. "4h" or "1 business day".
    pub respond: Option<SlaDuration>,
    /// Time to resolve (the resolution deadline), e.g. "7d".
    pub resolve: Option<SlaDuration>,
    /// Warning fractions for this severity, replacing the plugin-wide `warn_at`.
    pub warn_at: Option<Vec<f64>>,
    /// The escalation chain, replacing the default one: a list of
    /// `{ after = "1h", notify = "repository_owner", repeat_every = "30m", repeat = 2 }`.
    pub steps: Option<Vec<Step>>,
}

/// The configuration in force, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where pings go.
    pub channel: String,
    /// Who each level is.
    pub levels: LevelsConfig,
    /// The working week, as configured (frozen into each incident's snapshot).
    pub business_hours: BusinessHoursConfig,
    /// The working week, parsed.
    pub calendar: BusinessCalendar,
    /// Who may silence.
    pub silencers: Vec<String>,
    policies: [SeverityPolicy; 4],
}

impl Settings {
    /// The policy of `severity`.
    pub fn policy(&self, severity: Severity) -> &SeverityPolicy {
        &self.policies[index(severity)]
    }
}

fn index(severity: Severity) -> usize {
    match severity {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
    }
}

const PREFIX: &str = "plugins.sla_escalator";

impl SlaConfig {
    /// Checks the section against the whole configuration (level names must be `[people]` or
    /// `[groups]` keys) and resolves the policy in force. Errors name their keys.
    pub fn settings(&self, config: &Config) -> Result<Settings, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let calendar = BusinessCalendar::from_config(&self.business_hours)
            .map_err(|(key, message)| ConfigError::new(format!("{PREFIX}.business_hours.{key}"), message));
        check_fractions(&self.warn_at, &format!("{PREFIX}.warn_at"), &mut errors);
        let known = |name: &String| config.people.contains_key(name) || config.groups.contains_key(name);
        for level in Level::ALL {
            for name in self.levels.names(level) {
                if !known(name) {
                    errors.push(ConfigError::new(
                        format!("{PREFIX}.levels.{}", level.as_str()),
                        format!("`{name}` is neither a [people] nor a [groups] key"),
                    ));
                }
            }
        }
        for name in &self.silencers {
            if !known(name) {
                errors.push(ConfigError::new(
                    format!("{PREFIX}.silencers"),
                    format!("`{name}` is neither a [people] nor a [groups] key"),
                ));
            }
        }
        let policies = Severity::ALL.map(|severity| {
            let key = format!("{PREFIX}.policy.{}", severity.as_str());
            let policy = self.resolve(severity);
            if let Some(own) = &self.policy.of(severity).warn_at {
                check_fractions(own, &format!("{key}.warn_at"), &mut errors);
            }
            check_policy(&policy, &key, &mut errors);
            policy
        });
        let calendar = match calendar {
            Ok(calendar) => Some(calendar),
            Err(err) => {
                errors.push(err);
                None
            }
        };
        match calendar {
            Some(calendar) if errors.is_empty() => Ok(Settings {
                channel: self.channel.clone(),
                levels: self.levels.clone(),
                business_hours: self.business_hours.clone(),
                calendar,
                silencers: self.silencers.clone(),
                policies,
            }),
            _ => Err(errors),
        }
    }

    fn resolve(&self, severity: Severity) -> SeverityPolicy {
        let default = default_policy(severity);
        let configured = self.policy.of(severity);
        SeverityPolicy {
            respond: configured.respond.unwrap_or(default.respond),
            resolve: configured.resolve.unwrap_or(default.resolve),
            warn_at: configured.warn_at.clone().unwrap_or_else(|| self.warn_at.clone()),
            steps: configured.steps.clone().unwrap_or(default.steps),
        }
    }
}

fn check_fractions(fractions: &[f64], key: &str, errors: &mut Vec<ConfigError>) {
    for fraction in fractions {
        if !(*fraction > 0.0 && *fraction < 1.0) {
            errors.push(ConfigError::new(
                key,
                format!("{fraction} is not a fraction between 0 and 1 (0.75 warns at 75 %)"),
            ));
        }
    }
}

fn check_policy(policy: &SeverityPolicy, key: &str, errors: &mut Vec<ConfigError>) {
    if policy.respond.is_zero() {
        errors.push(ConfigError::new(
            format!("{key}.respond"),
            "the response time must be longer than 0",
        ));
    }
    if policy.resolve.is_zero() {
        errors.push(ConfigError::new(
            format!("{key}.resolve"),
            "the resolution time must be longer than 0",
        ));
    }
    if policy.steps.is_empty() {
        errors.push(ConfigError::new(
            format!("{key}.steps"),
            "an escalation chain needs at least one step",
        ));
    }
    for (i, step) in policy.steps.iter().enumerate() {
        let at = format!("{key}.steps[{i}]");
        match step.repeat_every {
            None if step.repeat > 0 => errors.push(ConfigError::new(
                format!("{at}.repeat_every"),
                "set how far apart the reminders are, or repeat = 0",
            )),
            Some(every) if step.repeat > 0 && every.is_zero() => errors.push(ConfigError::new(
                format!("{at}.repeat_every"),
                "reminders must be more than 0 apart",
            )),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(section: &str) -> Result<Settings, Vec<ConfigError>> {
        let text = format!("[groups.team-lead]\nmembers = []\n[plugins.sla_escalator]\n{section}");
        let fail = |e: ConfigError| vec![e];
        let table = sentinel_bot::config::load::parse_table(&text, "test").map_err(fail)?;
        let config = sentinel_bot::config::load::from_table(table).map_err(fail)?;
        let section: SlaConfig =
            sentinel_bot::config::deserialize_named(config.plugin_section("sla_escalator"), PREFIX).map_err(fail)?;
        section.settings(&config)
    }

    fn keys(result: Result<Settings, Vec<ConfigError>>) -> Vec<String> {
        match result {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.key).collect(),
        }
    }

    #[test]
    fn an_override_keeps_the_other_defaults_of_its_severity() {
        let settings = match parse("[plugins.sla_escalator.policy.high]\nrespond = \"2h\"\n") {
            Ok(settings) => settings,
            Err(errors) => panic!("{errors:?}"),
        };
        let high = settings.policy(Severity::High);
        assert_eq!(high.respond, SlaDuration::hours(2));
        assert_eq!(high.resolve, SlaDuration::days(7));
        assert_eq!(high.steps, default_policy(Severity::High).steps);
        assert_eq!(settings.policy(Severity::Critical), &default_policy(Severity::Critical));
    }

    #[test]
    fn the_example_configuration_documents_the_defaults() {
        let text = include_str!("../../../config/sentinel.example.toml");
        fn ok<T>(result: Result<T, ConfigError>) -> T {
            result.unwrap_or_else(|e| panic!("{}: {}", e.key, e.message))
        }
        let config = ok(sentinel_bot::config::load::from_table(ok(
            sentinel_bot::config::load::parse_table(text, "example"),
        )));
        let section: SlaConfig = ok(sentinel_bot::config::deserialize_named(
            config.plugin_section("sla_escalator"),
            PREFIX,
        ));
        let settings = match section.settings(&config) {
            Ok(settings) => settings,
            Err(errors) => panic!("{errors:?}"),
        };
        for severity in Severity::ALL {
            assert_eq!(settings.policy(severity), &default_policy(severity), "{severity}");
        }
        assert_eq!(
            section,
            SlaConfig {
                policy: section.policy.clone(),
                ..SlaConfig::default()
            }
        );
    }

    #[test]
    fn mistakes_name_their_keys() {
        assert_eq!(
            keys(parse(
                "[plugins.sla_escalator.levels]\nteam_lead = [\"team-lead\", \"nobody\"]\n"
            )),
            ["plugins.sla_escalator.levels.team_lead"]
        );
        assert_eq!(keys(parse("warn_at = [1.5]\n")), ["plugins.sla_escalator.warn_at"]);
        assert_eq!(
            keys(parse(
                "[[plugins.sla_escalator.policy.low.steps]]\nnotify = \"team_lead\"\nrepeat = 2\n"
            )),
            ["plugins.sla_escalator.policy.low.steps[0].repeat_every"]
        );
        assert_eq!(
            keys(parse(
                "[plugins.sla_escalator.business_hours]\ntime_zone = \"Nowhere\"\n"
            )),
            ["plugins.sla_escalator.business_hours.time_zone"]
        );
        assert_eq!(keys(parse("colour = \"red\"\n")), ["plugins.sla_escalator.colour"]);
    }
}
