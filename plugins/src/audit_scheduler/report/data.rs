//! What the security report shows: the numbers and lists gathered for a period, and how the report
//! names and classifies the alerts it lists.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sentinel_bot::Severity;

use crate::audit_scheduler::period::Period;
use crate::audit_scheduler::store::{AlertFact, IncidentFact, Item, Run, Snapshot};

/// An open critical or high issue, with its age.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIssue {
    /// `acme/app#3 lodash (critical)`.
    pub label: String,
    /// Its severity (`None`: a secret-scanning alert, counted as high).
    pub severity: Option<Severity>,
    /// When GitHub created it.
    pub created_at: Option<DateTime<Utc>>,
    /// Link.
    pub url: Option<String>,
}

/// Everything the report shows.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// The period.
    pub period: Period,
    /// Display zone.
    pub tz: Tz,
    /// When it is written.
    pub now: DateTime<Utc>,
    /// Who it is prepared by.
    pub prepared_by: String,
    /// This period's numbers.
    pub current: Snapshot,
    /// The previous period's snapshot.
    pub previous: Option<Snapshot>,
    /// Why some numbers come from Sentinel's records rather than GitHub.
    pub notes: Vec<String>,
    /// Open critical and high issues, oldest first.
    pub severe_open: Vec<OpenIssue>,
    /// Open medium-severity issues.
    pub medium_open: usize,
    /// Incidents opened, acknowledged or resolved in the period.
    pub incidents: Vec<IncidentFact>,
    /// Alerts closed in the period.
    pub closed_alerts: Vec<AlertFact>,
    /// Alerts Sentinel raised in the period.
    pub raised_alerts: Vec<AlertFact>,
    /// Audit runs started in the period.
    pub runs: Vec<(Run, Vec<Item>)>,
    /// Backlog target.
    pub backlog_target: u32,
    /// Resolution targets per severity.
    pub resolution_targets: BTreeMap<String, Duration>,
    /// Repositories covered.
    pub repositories: Vec<String>,
    /// Upcoming audits: (what, when).
    pub upcoming: Vec<(String, DateTime<Utc>)>,
}

/// True for the close actions that mean the vulnerability was fixed (not dismissed).
pub fn is_fix(action: Option<&str>) -> bool {
    action.is_some_and(|a| {
        let a = a.to_ascii_lowercase();
        a.contains("fix") || a == "resolved" || a.contains("patch")
    })
}

/// How the report names an alert from the records: `acme/app#3 lodash (high)`.
pub(super) fn record_label(alert: &AlertFact) -> String {
    let repo = alert.repository.as_deref().unwrap_or("?");
    let what = alert.package.as_deref().unwrap_or(&alert.title);
    let number = alert.number.map(|n| format!("#{n}")).unwrap_or_default();
    match &alert.severity {
        Some(severity) => format!("{repo}{number} {what} ({severity})"),
        None => format!("{repo}{number} {what}"),
    }
}
