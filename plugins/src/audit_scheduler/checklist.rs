//! The four audit cadences of the security monitoring guide, their default checklists, and the
//! automatic checks an item may carry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which audit a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cadence {
    /// Daily monitoring.
    Daily,
    /// Weekly review (Mondays).
    Weekly,
    /// Monthly audit (first Monday of the month), with the monthly security report.
    Monthly,
    /// Quarterly review (first week of the quarter), with the quarterly assessment report.
    Quarterly,
}

impl Cadence {
    /// Every cadence, most frequent first.
    pub const ALL: [Cadence; 4] = [Cadence::Daily, Cadence::Weekly, Cadence::Monthly, Cadence::Quarterly];

    /// The lowercase name, as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Daily => "daily",
            Cadence::Weekly => "weekly",
            Cadence::Monthly => "monthly",
            Cadence::Quarterly => "quarterly",
        }
    }

    /// The capitalised name for headings.
    pub fn title(self) -> &'static str {
        match self {
            Cadence::Daily => "Daily security monitoring",
            Cadence::Weekly => "Weekly security review",
            Cadence::Monthly => "Monthly security audit",
            Cadence::Quarterly => "Quarterly security review",
        }
    }

    /// The schedule name this cadence is declared under.
    pub fn schedule_name(self) -> String {
        format!("audit-{}", self.as_str())
    }

    /// The cadence of a schedule name declared by [`Cadence::schedule_name`].
    pub fn from_schedule_name(name: &str) -> Option<Self> {
        name.strip_prefix("audit-").and_then(|rest| rest.parse().ok())
    }

    /// Where "since the last run" starts for the very first run due at `due_at`: one period back.
    pub fn first_since(self, due_at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        let months = |n| due_at.checked_sub_months(chrono::Months::new(n)).unwrap_or(due_at);
        match self {
            Cadence::Daily => due_at - chrono::Duration::days(1),
            Cadence::Weekly => due_at - chrono::Duration::days(7),
            Cadence::Monthly => months(1),
            Cadence::Quarterly => months(3),
        }
    }
}

impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Cadence {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "daily" | "day" => Ok(Cadence::Daily),
            "weekly" | "week" => Ok(Cadence::Weekly),
            "monthly" | "month" => Ok(Cadence::Monthly),
            "quarterly" | "quarter" => Ok(Cadence::Quarterly),
            other => Err(format!(
                "`{other}` is not an audit (expected daily, weekly, monthly or quarterly)"
            )),
        }
    }
}

/// What Sentinel can check by itself for an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Open Dependabot alerts by severity; needs a person when any is new since the last run or critical.
    DependabotAlerts,
    /// Dependabot alerts opened since the last run; needs a person when there are any.
    NewAdvisories,
    /// Open code-scanning (CodeQL) alerts by severity; needs a person when any is new or critical/high.
    CodeScanningAlerts,
    /// Open secret-scanning alerts; needs a person when there are any.
    SecretScanningAlerts,
    /// Open Dependabot, code-scanning and secret-scanning alerts together; needs a person when any is open.
    OpenAlerts,
    /// Failed runs of security workflows since the last run; needs a person when there are any.
    FailedWorkflows,
    /// Open Dependabot pull requests; needs a person when there are any.
    DependabotPrs,
    /// Dependabot pull requests merged since the last run (information only).
    DependencyUpdates,
    /// Collaborators and their permissions; admins and outside collaborators are flagged, and any
    /// outside collaborator needs a person.
    Collaborators,
    /// Failed webhook deliveries since the last run; needs a person when there are any.
    WebhookDeliveries,
    /// The token's scopes and expiry; needs a person when it expires within the warning window.
    Token,
    /// The GitHub API answers, the rate limit is not low and the token is not about to expire.
    ApiHealth,
    /// Entries in Sentinel's security log since the last run; needs a person when there are any.
    SecurityLog,
    /// Rejected webhook signatures and refused commands since the last run; needs a person when there are any.
    AuthFailures,
    /// The period's security report: ticked when it is posted.
    Report,
}

impl Check {
    /// True when the check asks GitHub about the configured repositories.
    pub fn needs_repositories(self) -> bool {
        !matches!(
            self,
            Check::Token | Check::ApiHealth | Check::SecurityLog | Check::AuthFailures | Check::Report
        )
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::DependabotAlerts => "dependabot_alerts",
            Check::NewAdvisories => "new_advisories",
            Check::CodeScanningAlerts => "code_scanning_alerts",
            Check::SecretScanningAlerts => "secret_scanning_alerts",
            Check::OpenAlerts => "open_alerts",
            Check::FailedWorkflows => "failed_workflows",
            Check::DependabotPrs => "dependabot_prs",
            Check::DependencyUpdates => "dependency_updates",
            Check::Collaborators => "collaborators",
            Check::WebhookDeliveries => "webhook_deliveries",
            Check::Token => "token",
            Check::ApiHealth => "api_health",
            Check::SecurityLog => "security_log",
            Check::AuthFailures => "auth_failures",
            Check::Report => "report",
        }
    }

    /// The check from its stored name.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    /// A short id people type: `/audit done 12 dependabot`.
    pub id: String,
    /// What to do.
    pub text: String,
    /// What Sentinel checks by itself, if anything.
    #[serde(default)]
    pub check: Option<Check>,
}

fn item(id: &str, text: &str, check: Option<Check>) -> ItemSpec {
    ItemSpec {
        id: id.to_owned(),
        text: text.to_owned(),
        check,
    }
}

/// The guide's checklist for `cadence` (its "Audit Schedule" section, plus the daily and weekly
/// checks Sentinel itself makes possible).
pub fn default_items(cadence: Cadence) -> Vec<ItemSpec> {
    use Check::*;
    match cadence {
        Cadence::Daily => vec![
            item(
                "dependabot",
                "Dependabot alerts reviewed (if any new alerts)",
                Some(DependabotAlerts),
            ),
            item(
                "workflows",
                "Failed security workflows investigated",
                Some(FailedWorkflows),
            ),
            item(
                "secret-scanning",
                "Secret scanning alerts responded to immediately",
                Some(SecretScanningAlerts),
            ),
            item("security-log", "Security log reviewed", Some(SecurityLog)),
            item(
                "health",
                "Health check: Sentinel, the GitHub API and its token",
                Some(ApiHealth),
            ),
            item("auth-failures", "Authentication failures reviewed", Some(AuthFailures)),
        ],
        Cadence::Weekly => vec![
            item("codeql", "Review CodeQL scan results", Some(CodeScanningAlerts)),
            item(
                "security-scans",
                "Review security scan results (failed security workflows)",
                Some(FailedWorkflows),
            ),
            item("dependabot-prs", "Check Dependabot pull requests", Some(DependabotPrs)),
            item(
                "dependency-updates",
                "Review and merge dependency updates",
                Some(DependencyUpdates),
            ),
            item(
                "advisories",
                "Check for new security advisories affecting dependencies",
                Some(NewAdvisories),
            ),
            item("access-logs", "Review access logs (if available)", None),
            item("token", "Review the GitHub token's permissions and expiry", Some(Token)),
            item("webhooks", "Check webhook deliveries", Some(WebhookDeliveries)),
        ],
        Cadence::Monthly => vec![
            item(
                "open-alerts",
                "Review all open security alerts (Dependabot, CodeQL, Secret scanning)",
                Some(OpenAlerts),
            ),
            item(
                "dependencies-current",
                "Verify all dependencies are up to date",
                Some(DependabotPrs),
            ),
            item("outdated-packages", "Check for outdated or deprecated packages", None),
            item(
                "advisories",
                "Review GitHub Security advisories for used packages",
                Some(DependabotAlerts),
            ),
            item("access", "Audit user access and permissions", Some(Collaborators)),
            item("branch-protection", "Review branch protection rules", None),
            item("docs", "Verify security documentation is current", None),
            item("key-rotation", "Check API key rotation schedule", None),
            item("runbook", "Review and update security runbook if needed", None),
            item("report", "Monthly security report", Some(Report)),
        ],
        Cadence::Quarterly => vec![
            item(
                "sbom",
                "Full dependency audit with SBOM (Software Bill of Materials)",
                None,
            ),
            item("pentest", "Penetration testing (if applicable)", None),
            item("policy", "Security policy review and update", None),
            item("incident-response", "Incident response plan review and drill", None),
            item("training", "Training needs assessment", None),
            item("threat-model", "Review and update threat model", None),
            item("external-scan", "External security scan (if budget allows)", None),
            item("compliance", "Compliance check (if applicable)", None),
            item("roadmap", "Update security roadmap", None),
            item(
                "guide-review",
                "Review the security monitoring guide: SLAs, tools and processes, contacts, new features, lessons learned, team feedback",
                None,
            ),
            item("report", "Quarterly security assessment report", Some(Report)),
        ],
    }
}

/// The guide's default cron expression for `cadence` (seconds first; day-of-month and day-of-week
/// both restrict, so `1-7 … Mon` is the first Monday).
pub fn default_cron(cadence: Cadence) -> &'static str {
    match cadence {
        Cadence::Daily => "0 0 9 * * *",
        Cadence::Weekly => "0 0 9 * * Mon",
        Cadence::Monthly => "0 0 9 1-7 * Mon",
        Cadence::Quarterly => "0 0 9 1-7 Jan,Apr,Jul,Oct Mon",
    }
}
