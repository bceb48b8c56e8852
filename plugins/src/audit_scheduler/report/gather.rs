//! Gathering the report's numbers: open alerts as GitHub lists them, falling back to Sentinel's
//! own records for any source GitHub could not answer (saying so in a note), merged updates, and
//! patches applied.

use sentinel_bot::Severity;
use serde_json::Value;

use super::data::{OpenIssue, is_fix, record_label};
use crate::audit_scheduler::checks::{
    self, Answer, CODE_SCANNING_ALERTS, DEPENDABOT_ALERTS, MERGED_UPDATES, SECRET_SCANNING_ALERTS,
};
use crate::audit_scheduler::store::{AlertFact, Snapshot};

/// True when a recorded alert's source names `needle` (`code_scanning`, `code-scanning`, …).
fn source_is(source: &str, needle: &str) -> bool {
    source.to_ascii_lowercase().replace('-', "_").contains(needle)
}

/// The snapshot, open-issue list and notes from GitHub's answers, falling back to the records for
/// any source GitHub could not answer.
pub fn metrics(
    answers: &[Answer],
    repositories: &[String],
    open_records: &[AlertFact],
    closed_in_period: &[AlertFact],
) -> (Snapshot, Vec<OpenIssue>, usize, Vec<String>) {
    let mut notes = Vec::new();
    let mut from_github = 0;
    let mut from_records = 0;
    let mut severe = Vec::new();
    let mut medium = 0;
    let mut open = |kind: &str, needle: &str, name: &str| -> i64 {
        let mine: Vec<&Answer> = answers.iter().filter(|a| a.kind == kind).collect();
        let failures: Vec<String> = mine
            .iter()
            .filter(|a| !a.response.ok || a.response.error.is_some())
            .map(|a| {
                format!(
                    "{}: {}",
                    a.repository.as_deref().unwrap_or("?"),
                    a.response.error.clone().unwrap_or_else(|| "failed".into())
                )
            })
            .collect();
        let complete = !repositories.is_empty() && mine.len() == repositories.len() && failures.is_empty();
        if complete {
            from_github += 1;
            let entries = checks::alert_entries(answers, kind);
            for (repo, alert) in &entries {
                let severity = checks::alert_severity(alert);
                let counts_as_high = kind == SECRET_SCANNING_ALERTS;
                if counts_as_high || matches!(severity, Some(Severity::Critical | Severity::High)) {
                    severe.push(OpenIssue {
                        label: checks::alert_label(repo, alert),
                        severity,
                        created_at: checks::created_at(alert),
                        url: alert.get("html_url").and_then(Value::as_str).map(str::to_owned),
                    });
                } else if severity == Some(Severity::Medium) {
                    medium += 1;
                }
            }
            i64::try_from(entries.len()).unwrap_or(i64::MAX)
        } else {
            from_records += 1;
            if !repositories.is_empty() {
                notes.push(format!(
                    "Open {name} alerts: could not check GitHub ({}); counted from Sentinel's records.",
                    failures.join("; ")
                ));
            }
            let records: Vec<&AlertFact> = open_records.iter().filter(|a| source_is(&a.source, needle)).collect();
            for alert in &records {
                let severity = alert.severity.as_deref().and_then(|s| s.parse::<Severity>().ok());
                if needle == "secret" || matches!(severity, Some(Severity::Critical | Severity::High)) {
                    severe.push(OpenIssue {
                        label: record_label(alert),
                        severity,
                        created_at: alert.created_at.or(Some(alert.raised_at)),
                        url: alert.url.clone(),
                    });
                } else if severity == Some(Severity::Medium) {
                    medium += 1;
                }
            }
            i64::try_from(records.len()).unwrap_or(i64::MAX)
        }
    };
    let open_dependabot = open(DEPENDABOT_ALERTS, "dependabot", "Dependabot");
    let open_code_scanning = open(CODE_SCANNING_ALERTS, "code", "CodeQL");
    let open_secret_scanning = open(SECRET_SCANNING_ALERTS, "secret", "secret-scanning");
    let updates: Vec<&Answer> = answers.iter().filter(|a| a.kind == MERGED_UPDATES).collect();
    let updates_ok = !repositories.is_empty()
        && updates.len() == repositories.len()
        && updates.iter().all(|a| a.response.ok && a.response.error.is_none());
    let dependencies_updated = if updates_ok {
        Some(
            updates
                .iter()
                .map(|a| {
                    a.response
                        .body
                        .as_ref()
                        .and_then(|b| b.get("total_count"))
                        .and_then(Value::as_i64)
                        .unwrap_or_default()
                })
                .sum(),
        )
    } else {
        if !repositories.is_empty() {
            let reasons: Vec<String> = updates.iter().filter_map(|a| a.response.error.clone()).collect();
            notes.push(format!(
                "Dependencies updated: could not check GitHub ({}).",
                reasons.join("; ")
            ));
        }
        None
    };
    if repositories.is_empty() {
        notes.push(
            "GitHub was not asked: no repositories are configured (plugins.audit_scheduler.repositories); open \
             alerts are counted from Sentinel's records."
                .to_owned(),
        );
    }
    let patches_applied = closed_in_period
        .iter()
        .filter(|a| source_is(&a.source, "dependabot") && is_fix(a.close_action.as_deref()))
        .count();
    severe.sort_by_key(|issue| (std::cmp::Reverse(issue.severity), issue.created_at));
    let source = match (from_github, from_records) {
        (_, 0) => "github",
        (0, _) => "records",
        _ => "mixed",
    };
    let snapshot = Snapshot {
        open_dependabot: Some(open_dependabot),
        open_code_scanning: Some(open_code_scanning),
        open_secret_scanning: Some(open_secret_scanning),
        dependencies_updated,
        patches_applied: Some(i64::try_from(patches_applied).unwrap_or(i64::MAX)),
        open_high_critical: Some(i64::try_from(severe.len()).unwrap_or(i64::MAX)),
        source: source.to_owned(),
    };
    (snapshot, severe, medium, notes)
}
