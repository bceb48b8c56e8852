//! `[plugins.audit_scheduler]`: when the audits run, what they contain, which repositories the
//! automatic checks cover, and where reports go.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono_tz::Tz;
use sentinel_bot::MissedRun;
use sentinel_bot::config::{ConfigError, HumanDuration};
use serde::Deserialize;

use super::checklist::{Cadence, Check, ItemSpec, default_cron, default_items};

/// The plugin's section as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// IANA time zone the schedules, "today" and report months are read in. Default: `[schedule] time_zone`.
    pub time_zone: Option<String>,
    /// Logical channel checklists, reminders and reports are posted to.
    pub channel: String,
    /// Repositories (`org/repo`) the automatic checks cover. Empty: those items say "could not check".
    pub repositories: Vec<String>,
    /// Who an overdue run is escalated to: a `[groups]` or `[people]` key.
    pub escalate_to: String,
    /// Repository (`org/repo`) each monthly and quarterly report is also filed in as an issue. Unset: chat only.
    pub report_repository: Option<String>,
    /// Labels put on the report issue.
    pub report_labels: Vec<String>,
    /// Workflow names (case-insensitive substrings) that count as security workflows.
    pub security_workflows: Vec<String>,
    /// Warn when the GitHub token expires within this time.
    pub token_expiry_warning: HumanDuration,
    /// Flag the rate limit when fewer than this percentage of calls are left in the window.
    pub rate_limit_warning_percent: u8,
    /// How long an automatic check waits for GitHub's answer before it says "could not check".
    pub check_timeout: HumanDuration,
    /// The report's backlog target: fewer open high/critical alerts than this (the guide: 5).
    pub backlog_target: u32,
    /// Resolution targets per severity for the report's alert SLA compliance (the guide's SLA table).
    pub resolution_targets: BTreeMap<String, HumanDuration>,
    /// The daily monitoring checklist (09:00 every day).
    pub daily: ScheduleSection,
    /// The weekly review (Mondays 09:00).
    pub weekly: ScheduleSection,
    /// The monthly audit (first Monday 09:00) and the monthly report of the month before.
    pub monthly: ScheduleSection,
    /// The quarterly review (first Monday of January, April, July, October, 09:00) and the quarterly
    /// report of the quarter before.
    pub quarterly: ScheduleSection,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            time_zone: None,
            channel: "security-audits".into(),
            repositories: Vec::new(),
            escalate_to: "team-lead".into(),
            report_repository: None,
            report_labels: vec!["security".into(), "security-report".into()],
            security_workflows: vec!["codeql".into(), "security".into(), "dependency review".into()],
            token_expiry_warning: HumanDuration::days(14),
            rate_limit_warning_percent: 10,
            check_timeout: HumanDuration::minutes(30),
            backlog_target: 5,
            resolution_targets: BTreeMap::from([
                ("critical".to_owned(), HumanDuration::hours(24)),
                ("high".to_owned(), HumanDuration::days(7)),
                ("medium".to_owned(), HumanDuration::days(30)),
                ("low".to_owned(), HumanDuration::days(90)),
            ]),
            daily: ScheduleSection::default(),
            weekly: ScheduleSection::default(),
            monthly: ScheduleSection::default(),
            quarterly: ScheduleSection::default(),
        }
    }
}

/// One audit's schedule and checklist, `[plugins.audit_scheduler.<daily|weekly|monthly|quarterly>]`.
/// Every key is optional; unset keys take the guide's default for that audit.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleSection {
    /// Run this audit at all. Default: true.
    pub enabled: Option<bool>,
    /// Cron expression, seconds first, read in `time_zone` (e.g. `0 0 9 * * Mon`).
    pub cron: Option<String>,
    /// An occurrence missed while Sentinel was down: `run_once` (on start) or `skip`. Default: `run_once`.
    pub missed: Option<MissedRun>,
    /// Remind the responsible people when the run is still incomplete this long after it started.
    pub remind_after: Option<HumanDuration>,
    /// Escalate to `escalate_to` when the run is still incomplete this long after it started.
    pub overdue_after: Option<HumanDuration>,
    /// Who does this audit: `[groups]` or `[people]` keys, mentioned in reminders.
    pub responsible: Option<Vec<String>>,
    /// Replaces the guide's checklist: `[{ id = "…", text = "…", check = "dependabot_alerts" }, …]`.
    pub items: Option<Vec<ItemSpec>>,
    /// Items added after the checklist (the guide's or `items`).
    pub extra_items: Vec<ItemSpec>,
}

/// One audit, resolved with its defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// Which audit.
    pub cadence: Cadence,
    /// Its cron expression.
    pub cron: String,
    /// Its missed-run policy.
    pub missed: MissedRun,
    /// When to remind.
    pub remind_after: chrono::Duration,
    /// When to escalate.
    pub overdue_after: chrono::Duration,
    /// Who is reminded.
    pub responsible: Vec<String>,
    /// The checklist.
    pub items: Vec<ItemSpec>,
}

/// The whole configuration, resolved and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The zone.
    pub tz: Tz,
    /// The channel.
    pub channel: String,
    /// Repositories the checks cover.
    pub repositories: Vec<String>,
    /// Escalation target.
    pub escalate_to: String,
    /// Where reports are filed.
    pub report_repository: Option<String>,
    /// Labels of report issues.
    pub report_labels: Vec<String>,
    /// Security workflow name patterns, lowercase.
    pub security_workflows: Vec<String>,
    /// Token expiry warning.
    pub token_expiry_warning: chrono::Duration,
    /// Rate-limit warning threshold, percent.
    pub rate_limit_warning_percent: u8,
    /// Check timeout.
    pub check_timeout: chrono::Duration,
    /// Backlog target.
    pub backlog_target: u32,
    /// Resolution target per severity name.
    pub resolution_targets: BTreeMap<String, chrono::Duration>,
    /// The enabled audits.
    pub audits: Vec<Audit>,
}

impl Settings {
    /// The audit for `cadence`, when enabled.
    pub fn audit(&self, cadence: Cadence) -> Option<&Audit> {
        self.audits.iter().find(|a| a.cadence == cadence)
    }
}

fn defaults(cadence: Cadence) -> (HumanDuration, HumanDuration, Vec<String>) {
    match cadence {
        Cadence::Daily => (
            HumanDuration::hours(4),
            HumanDuration::hours(24),
            vec!["on-call".into()],
        ),
        Cadence::Weekly => (
            HumanDuration::hours(24),
            HumanDuration::days(3),
            vec!["security-champions".into()],
        ),
        Cadence::Monthly => (
            HumanDuration::days(2),
            HumanDuration::days(5),
            vec!["team-lead".into(), "security-champions".into()],
        ),
        Cadence::Quarterly => (
            HumanDuration::days(3),
            HumanDuration::days(7),
            vec!["leadership".into(), "security-team".into()],
        ),
    }
}

impl AuditConfig {
    /// Resolves defaults and checks every value; `default_tz` is `[schedule] time_zone`. Errors name
    /// their keys under `plugins.audit_scheduler`.
    pub fn resolve(&self, default_tz: &str) -> Result<Settings, Vec<ConfigError>> {
        const P: &str = "plugins.audit_scheduler";
        let mut errors = Vec::new();
        let tz_name = self.time_zone.as_deref().unwrap_or(default_tz);
        let tz = Tz::from_str(tz_name).unwrap_or_else(|_| {
            errors.push(ConfigError::new(
                format!("{P}.time_zone"),
                format!("unknown time zone `{tz_name}` (use an IANA name such as Europe/Berlin)"),
            ));
            Tz::UTC
        });
        for repo in self.repositories.iter().chain(self.report_repository.iter()) {
            if !is_repository(repo) {
                let key = if self.report_repository.as_ref() == Some(repo) {
                    "report_repository"
                } else {
                    "repositories"
                };
                errors.push(ConfigError::new(
                    format!("{P}.{key}"),
                    format!("`{repo}` is not `org/repo`"),
                ));
            }
        }
        if self.channel.trim().is_empty() {
            errors.push(ConfigError::new(format!("{P}.channel"), "must not be empty"));
        }
        if self.rate_limit_warning_percent > 100 {
            errors.push(ConfigError::new(
                format!("{P}.rate_limit_warning_percent"),
                "must be between 0 and 100",
            ));
        }
        let mut resolution_targets = BTreeMap::new();
        for (severity, target) in &self.resolution_targets {
            match sentinel_bot::Severity::from_str(severity) {
                Ok(parsed) => {
                    resolution_targets.insert(parsed.as_str().to_owned(), target.chrono());
                }
                Err(err) => errors.push(ConfigError::new(
                    format!("{P}.resolution_targets.{severity}"),
                    err.to_string(),
                )),
            }
        }
        let mut audits = Vec::new();
        for cadence in Cadence::ALL {
            let section = match cadence {
                Cadence::Daily => &self.daily,
                Cadence::Weekly => &self.weekly,
                Cadence::Monthly => &self.monthly,
                Cadence::Quarterly => &self.quarterly,
            };
            let key = format!("{P}.{cadence}");
            if section.enabled == Some(false) {
                continue;
            }
            let (remind, overdue, responsible) = defaults(cadence);
            let cron = section.cron.clone().unwrap_or_else(|| default_cron(cadence).to_owned());
            if let Err(err) = sentinel_bot::store::timers::parse_cron(&cron) {
                errors.push(ConfigError::new(format!("{key}.cron"), err));
            }
            let remind_after = section.remind_after.unwrap_or(remind);
            let overdue_after = section.overdue_after.unwrap_or(overdue);
            if overdue_after < remind_after {
                errors.push(ConfigError::new(
                    format!("{key}.overdue_after"),
                    format!("`{overdue_after}` is before remind_after (`{remind_after}`)"),
                ));
            }
            let mut items = section.items.clone().unwrap_or_else(|| default_items(cadence));
            items.extend(section.extra_items.iter().cloned());
            check_items(cadence, &key, &items, &mut errors);
            audits.push(Audit {
                cadence,
                cron,
                missed: section.missed.unwrap_or_default(),
                remind_after: remind_after.chrono(),
                overdue_after: overdue_after.chrono(),
                responsible: section.responsible.clone().unwrap_or(responsible),
                items,
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Settings {
            tz,
            channel: self.channel.clone(),
            repositories: self.repositories.clone(),
            escalate_to: self.escalate_to.clone(),
            report_repository: self.report_repository.clone(),
            report_labels: self.report_labels.clone(),
            security_workflows: self.security_workflows.iter().map(|w| w.to_lowercase()).collect(),
            token_expiry_warning: self.token_expiry_warning.chrono(),
            rate_limit_warning_percent: self.rate_limit_warning_percent,
            check_timeout: self.check_timeout.chrono(),
            backlog_target: self.backlog_target,
            resolution_targets,
            audits,
        })
    }
}

fn check_items(cadence: Cadence, key: &str, items: &[ItemSpec], errors: &mut Vec<ConfigError>) {
    if items.is_empty() {
        errors.push(ConfigError::new(
            format!("{key}.items"),
            "a checklist needs at least one item",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for item in items {
        let valid = !item.id.is_empty()
            && !item.id.chars().all(|c| c.is_ascii_digit())
            && item
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            errors.push(ConfigError::new(
                format!("{key}.items"),
                format!(
                    "item id `{}` must be letters, digits, - or _ (and not only digits, which are positions)",
                    item.id
                ),
            ));
        }
        if !seen.insert(item.id.to_ascii_lowercase()) {
            errors.push(ConfigError::new(
                format!("{key}.items"),
                format!("item id `{}` is used twice", item.id),
            ));
        }
        if item.text.trim().is_empty() {
            errors.push(ConfigError::new(
                format!("{key}.items"),
                format!("item `{}` has no text", item.id),
            ));
        }
    }
    let reports = items.iter().filter(|i| i.check == Some(Check::Report)).count();
    if reports > 1 {
        errors.push(ConfigError::new(
            format!("{key}.items"),
            "only one item may carry the report check",
        ));
    }
    if reports > 0 && matches!(cadence, Cadence::Daily | Cadence::Weekly) {
        errors.push(ConfigError::new(
            format!("{key}.items"),
            "the report check belongs to the monthly or quarterly audit",
        ));
    }
}

/// True for `org/repo`.
pub fn is_repository(text: &str) -> bool {
    let mut parts = text.split('/');
    let ok = |part: Option<&str>| {
        part.is_some_and(|p| {
            !p.is_empty()
                && p != "*"
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}
