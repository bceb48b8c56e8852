//! The monthly (and quarterly) security report, following the guide's template: the numbers are
//! gathered from GitHub's answers and the plugin's own records, then rendered as Markdown.
//!
//! Over 600 lines: gathering and rendering live together; separating them is open under issue 13
//! item 3.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sentinel_bot::Severity;
use serde_json::Value;

use super::checks::{self, Answer, CODE_SCANNING_ALERTS, DEPENDABOT_ALERTS, MERGED_UPDATES, SECRET_SCANNING_ALERTS};
use super::period::Period;
use super::render::{fmt_day, fmt_duration, fmt_time, plural};
use super::store::{AlertFact, IncidentFact, Item, ItemState, Run, Snapshot};

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

fn record_label(alert: &AlertFact) -> String {
    let repo = alert.repository.as_deref().unwrap_or("?");
    let what = alert.package.as_deref().unwrap_or(&alert.title);
    let number = alert.number.map(|n| format!("#{n}")).unwrap_or_default();
    match &alert.severity {
        Some(severity) => format!("{repo}{number} {what} ({severity})"),
        None => format!("{repo}{number} {what}"),
    }
}

fn change(current: Option<i64>, previous: Option<i64>) -> String {
    match (current, previous) {
        (Some(now), Some(before)) => match now - before {
            0 => "0".to_owned(),
            d if d > 0 => format!("+{d}"),
            d => d.to_string(),
        },
        _ => "n/a".to_owned(),
    }
}

fn count(value: Option<i64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "n/a".to_owned())
}

fn mean(spans: &[Duration]) -> Option<Duration> {
    if spans.is_empty() {
        return None;
    }
    let total: i64 = spans.iter().map(Duration::num_seconds).sum();
    Some(Duration::seconds(total / i64::try_from(spans.len()).unwrap_or(1)))
}

fn ratio(good: usize, all: usize) -> String {
    match (good * 100).checked_div(all) {
        Some(percent) => format!("{good}/{all} ({percent}%)"),
        None => "—".to_owned(),
    }
}

fn in_period(at: Option<DateTime<Utc>>, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    at.is_some_and(|t| t >= start && t < end)
}

/// The key numbers the summary and KPIs share.
struct Kpis {
    mttd: Option<Duration>,
    mttd_critical: Option<Duration>,
    mtta: Option<Duration>,
    mttr: Option<Duration>,
    remediation: Option<Duration>,
    resolved_incidents: Vec<IncidentFact>,
    fixed_alerts: Vec<AlertFact>,
    breaches: usize,
}

fn kpis(data: &ReportData) -> Kpis {
    let (start, end) = (data.period.start(data.tz), data.period.end(data.tz));
    let detect = |only_critical: bool| {
        let spans: Vec<Duration> = data
            .raised_alerts
            .iter()
            .filter(|a| !only_critical || a.severity.as_deref() == Some("critical"))
            .filter_map(|a| a.created_at.map(|c| a.raised_at - c))
            .filter(|span| *span >= Duration::zero())
            .collect();
        mean(&spans)
    };
    let acknowledged: Vec<Duration> = data
        .incidents
        .iter()
        .filter(|i| in_period(i.acknowledged_at, start, end))
        .filter_map(|i| i.acknowledged_at.map(|a| a - i.opened_at))
        .collect();
    let resolved_incidents: Vec<IncidentFact> = data
        .incidents
        .iter()
        .filter(|i| in_period(i.resolved_at, start, end))
        .cloned()
        .collect();
    let resolved: Vec<Duration> = resolved_incidents
        .iter()
        .filter_map(|i| i.resolved_at.map(|r| r - i.opened_at))
        .collect();
    let fixed_alerts: Vec<AlertFact> = data
        .closed_alerts
        .iter()
        .filter(|a| is_fix(a.close_action.as_deref()))
        .cloned()
        .collect();
    let remediation: Vec<Duration> = fixed_alerts
        .iter()
        .filter_map(|a| Some(a.closed_at? - a.created_at?))
        .collect();
    let breaches = data
        .incidents
        .iter()
        .map(|i| usize::from(i.response_breached) + usize::from(i.resolution_breached))
        .sum();
    Kpis {
        mttd: detect(false),
        mttd_critical: detect(true),
        mtta: mean(&acknowledged),
        mttr: mean(&resolved),
        remediation: mean(&remediation),
        resolved_incidents,
        fixed_alerts,
        breaches,
    }
}

fn opt_duration(span: Option<Duration>) -> String {
    span.map(fmt_duration).unwrap_or_else(|| "—".to_owned())
}

/// The report's title: `Security Report - March 2026`.
pub fn title(period: Period) -> String {
    match period {
        Period::Month(..) => format!("Security Report - {}", period.label()),
        Period::Quarter(..) => format!("Quarterly Security Assessment - {}", period.label()),
    }
}

/// The report as Markdown, section by section as the guide's template has them.
pub fn render(data: &ReportData) -> String {
    let tz = data.tz;
    let k = kpis(data);
    let cur = &data.current;
    let prev = data.previous.clone().unwrap_or_default();
    let backlog = cur.open_high_critical.unwrap_or_default();
    let target = i64::from(data.backlog_target);
    let mut out = String::new();
    let push = |out: &mut String, line: &str| {
        out.push_str(line);
        out.push('\n');
    };

    push(&mut out, &format!("# {}", title(data.period)));
    push(&mut out, "");
    push(
        &mut out,
        &format!(
            "**Report Period:** {} - {}",
            data.period.first_date().format("%Y-%m-%d"),
            data.period.last_day().format("%Y-%m-%d")
        ),
    );
    push(&mut out, &format!("**Prepared by:** {}", data.prepared_by));
    push(&mut out, &format!("**Date:** {}", fmt_day(data.now, tz)));
    push(&mut out, "");

    push(&mut out, "## Executive Summary");
    push(&mut out, "");
    let verdict = if backlog < target { "met" } else { "missed" };
    let when = if data.period.is_complete(data.now, tz) {
        format!("at the end of {}", data.period.label())
    } else {
        format!("as of {}", fmt_day(data.now, tz))
    };
    let mut summary = format!(
        "{} open {when} (target under {}: {verdict}).",
        plural(usize::try_from(backlog).unwrap_or_default(), "high/critical issue"),
        data.backlog_target
    );
    summary.push_str(&format!(
        " {} fixed and {} resolved in the period",
        plural(k.fixed_alerts.len(), "vulnerability"),
        plural(k.resolved_incidents.len(), "incident"),
    ));
    if k.breaches > 0 {
        summary.push_str(&format!(", with {}.", plural(k.breaches, "SLA breach")));
    } else {
        summary.push_str(", with no SLA breach.");
    }
    let (complete, total) = (data.runs.iter().filter(|(r, _)| r.complete).count(), data.runs.len());
    if total > 0 {
        summary.push_str(&format!(" {complete} of {} completed.", plural(total, "audit run")));
    }
    push(&mut out, &summary);
    push(&mut out, "");

    push(&mut out, "## Metrics");
    push(&mut out, "");
    push(&mut out, "| Metric | Count | Change from Last Month |");
    push(&mut out, "|--------|-------|----------------------|");
    let rows = [
        ("Open Dependabot Alerts", cur.open_dependabot, prev.open_dependabot),
        ("Open CodeQL Alerts", cur.open_code_scanning, prev.open_code_scanning),
        (
            "Open Secret Scanning Alerts",
            cur.open_secret_scanning,
            prev.open_secret_scanning,
        ),
        (
            "Dependencies Updated",
            cur.dependencies_updated,
            prev.dependencies_updated,
        ),
        ("Security Patches Applied", cur.patches_applied, prev.patches_applied),
    ];
    for (name, now, before) in rows {
        push(
            &mut out,
            &format!("| {name} | {} | {} |", count(now), change(now, before)),
        );
    }
    if data.previous.is_none() {
        push(&mut out, "");
        push(
            &mut out,
            &format!("_No snapshot of {} to compare with._", data.period.previous().label()),
        );
    }
    for note in &data.notes {
        push(&mut out, "");
        push(&mut out, &format!("_{note}_"));
    }
    push(&mut out, "");

    push(&mut out, "## Critical Issues");
    push(&mut out, "");
    push(&mut out, "### High Priority");
    if data.severe_open.is_empty() {
        push(&mut out, "None open.");
    }
    for (n, issue) in data.severe_open.iter().enumerate() {
        let age = issue
            .created_at
            .map(|c| format!(" - open {}", fmt_duration(data.now - c)))
            .unwrap_or_default();
        push(&mut out, &format!("{}. {}{age} - Status: Open", n + 1, issue.label));
    }
    push(&mut out, "");
    push(&mut out, "### Medium Priority");
    push(
        &mut out,
        &format!("{} open.", plural(data.medium_open, "medium-severity alert")),
    );
    push(&mut out, "");

    push(&mut out, "## Actions Taken");
    push(&mut out, "");
    if k.resolved_incidents.is_empty() {
        push(&mut out, "No incident was resolved in the period.");
    }
    for (n, incident) in k.resolved_incidents.iter().enumerate() {
        let when = incident.resolved_at.map(|t| fmt_day(t, tz)).unwrap_or_default();
        let by = incident
            .resolved_by
            .as_deref()
            .map(|b| format!(" by {b}"))
            .unwrap_or_default();
        let took = incident
            .resolved_at
            .map(|r| format!(" in {}", fmt_duration(r - incident.opened_at)))
            .unwrap_or_default();
        let outcome = incident.summary.as_deref().unwrap_or("resolved");
        push(
            &mut out,
            &format!(
                "{}. Resolved incident #{} ({}) “{}”{by}{took} - {when} - {outcome}",
                n + 1,
                incident.id,
                incident.severity,
                incident.title
            ),
        );
    }
    push(&mut out, "");

    push(&mut out, "## Vulnerabilities Resolved");
    push(&mut out, "");
    if k.fixed_alerts.is_empty() {
        push(&mut out, "None in the period.");
    }
    for (n, alert) in k.fixed_alerts.iter().enumerate() {
        let id = alert
            .cve
            .clone()
            .or_else(|| alert.ghsa.clone())
            .unwrap_or_else(|| record_label(alert));
        let package = alert.package.as_deref().unwrap_or(&alert.title);
        let severity = alert
            .severity
            .as_deref()
            .map(capitalise)
            .unwrap_or_else(|| "n/a".into());
        let fixed = alert.closed_at.map(|t| fmt_day(t, tz)).unwrap_or_default();
        push(
            &mut out,
            &format!("{}. {id} - {package} - Severity: {severity} - Fixed: {fixed}", n + 1),
        );
    }
    push(&mut out, "");

    push(&mut out, "## Key Performance Indicators");
    push(&mut out, "");
    push(&mut out, "| KPI | Value | Target |");
    push(&mut out, "|-----|-------|--------|");
    let mttd_critical = match k.mttd_critical {
        Some(span) => format!(
            "critical: {} {}",
            fmt_duration(span),
            if span < Duration::hours(24) { "✅" } else { "❌" }
        ),
        None => "critical: —".to_owned(),
    };
    push(
        &mut out,
        &format!(
            "| Mean Time to Detect (MTTD) | {} ({mttd_critical}) | < 24 hours for critical |",
            opt_duration(k.mttd)
        ),
    );
    push(
        &mut out,
        &format!(
            "| Mean Time to Acknowledge (MTTA) | {} | within the response SLA |",
            opt_duration(k.mtta)
        ),
    );
    push(
        &mut out,
        &format!(
            "| Mean Time to Resolve incidents (MTTR) | {} | within the resolution SLA |",
            opt_duration(k.mttr)
        ),
    );
    push(
        &mut out,
        &format!(
            "| Mean Time to Remediate alerts | {} | within the resolution SLA |",
            opt_duration(k.remediation)
        ),
    );
    push(
        &mut out,
        &format!(
            "| Vulnerability backlog (open high/critical) | {backlog} {} | < {} |",
            if backlog < target { "✅" } else { "❌" },
            data.backlog_target
        ),
    );
    push(&mut out, "");
    push(&mut out, "### SLA compliance");
    push(&mut out, "");
    push(
        &mut out,
        "| Severity | Incidents responded within SLA | Incidents resolved within SLA | Alerts fixed within target |",
    );
    push(
        &mut out,
        "|----------|-------------------------------|-------------------------------|----------------------------|",
    );
    let (start, end) = (data.period.start(tz), data.period.end(tz));
    for severity in Severity::ALL {
        let name = severity.as_str();
        let mine = data.incidents.iter().filter(|i| i.severity == name);
        // Responded: acknowledged in the period, or never in time (a response breach of an incident
        // opened in the period counts even before anyone acknowledged it).
        let acked: Vec<&IncidentFact> = mine
            .clone()
            .filter(|i| {
                in_period(i.acknowledged_at, start, end)
                    || (i.response_breached && i.acknowledged_at.is_none() && in_period(Some(i.opened_at), start, end))
            })
            .collect();
        let resolved: Vec<&IncidentFact> = mine.filter(|i| in_period(i.resolved_at, start, end)).collect();
        let target = data.resolution_targets.get(name).copied();
        let fixed: Vec<&AlertFact> = k
            .fixed_alerts
            .iter()
            .filter(|a| a.severity.as_deref() == Some(name))
            .collect();
        let within = fixed
            .iter()
            .filter(|a| match (a.closed_at, a.created_at, target) {
                (Some(closed), Some(created), Some(target)) => closed - created <= target,
                _ => false,
            })
            .count();
        let target_text = target
            .map(|t| format!(" (target {})", fmt_duration(t)))
            .unwrap_or_default();
        push(
            &mut out,
            &format!(
                "| {} | {} | {} | {}{} |",
                capitalise(name),
                ratio(acked.iter().filter(|i| !i.response_breached).count(), acked.len()),
                ratio(
                    resolved.iter().filter(|i| !i.resolution_breached).count(),
                    resolved.len()
                ),
                ratio(within, fixed.len()),
                if fixed.is_empty() { String::new() } else { target_text }
            ),
        );
    }
    push(&mut out, "");

    push(&mut out, "## Audits");
    push(&mut out, "");
    if data.runs.is_empty() {
        push(&mut out, "No audit ran in the period.");
    }
    let mut by_cadence: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut people: BTreeMap<String, usize> = BTreeMap::new();
    for (run, items) in &data.runs {
        let entry = by_cadence.entry(run.cadence.as_str()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(run.complete);
        entry.2 += usize::from(run.escalated_at.is_some());
        for item in items {
            if matches!(item.state, ItemState::Done | ItemState::Skipped)
                && let Some(actor) = &item.actor
            {
                *people.entry(actor.clone()).or_default() += 1;
            }
        }
    }
    for (cadence, (runs, complete, overdue)) in &by_cadence {
        push(
            &mut out,
            &format!(
                "- {}: {complete} of {} complete, {overdue} escalated as overdue",
                capitalise(cadence),
                plural(*runs, "run")
            ),
        );
    }
    if !people.is_empty() {
        let list: Vec<String> = people.iter().map(|(who, n)| format!("{who} ({n})")).collect();
        push(&mut out, &format!("- Items done by: {}", list.join(", ")));
    }
    push(&mut out, "");

    push(&mut out, "## Upcoming Work");
    push(&mut out, "");
    let open_runs: Vec<&(Run, Vec<Item>)> = data.runs.iter().filter(|(r, _)| !r.complete).collect();
    let mut n = 0;
    for (run, items) in &open_runs {
        let left = items.iter().filter(|i| !i.state.is_finished()).count();
        n += 1;
        push(
            &mut out,
            &format!(
                "{n}. Finish {} #{} ({} left)",
                run.cadence.title(),
                run.id,
                plural(left, "item")
            ),
        );
    }
    for (what, when) in &data.upcoming {
        n += 1;
        push(&mut out, &format!("{n}. {what} - {}", fmt_time(*when, tz)));
    }
    if n == 0 {
        push(&mut out, "Nothing scheduled.");
    }
    push(&mut out, "");

    push(&mut out, "## Recommendations");
    push(&mut out, "");
    let mut recommendations = Vec::new();
    if backlog >= target {
        recommendations.push(format!(
            "Bring the open high/critical backlog under {} (now {backlog}).",
            data.backlog_target
        ));
    }
    for issue in data
        .severe_open
        .iter()
        .filter(|i| i.severity == Some(Severity::Critical) || i.severity.is_none())
        .take(3)
    {
        recommendations.push(format!("Fix {} first.", issue.label));
    }
    if k.breaches > 0 {
        recommendations.push("Review the SLA breaches in the incident timelines.".to_owned());
    }
    if !open_runs.is_empty() {
        recommendations.push("Finish the open audit items.".to_owned());
    }
    if data.repositories.is_empty() {
        recommendations.push("List the repositories to check in plugins.audit_scheduler.repositories.".to_owned());
    } else if !data.notes.is_empty() {
        recommendations.push(
            "Give Sentinel's GitHub token read access to every configured repository's security data.".to_owned(),
        );
    }
    if recommendations.is_empty() {
        recommendations.push("Keep the current cadence: every target was met.".to_owned());
    }
    for (n, r) in recommendations.iter().enumerate() {
        push(&mut out, &format!("{}. {r}", n + 1));
    }
    push(&mut out, "");

    push(&mut out, "## Appendix");
    push(&mut out, "");
    for repo in &data.repositories {
        push(
            &mut out,
            &format!(
                "- {repo}: [CodeQL results](https://github.com/{repo}/security/code-scanning) · [Dependabot](https://github.com/{repo}/security/dependabot) · [Secret scanning](https://github.com/{repo}/security/secret-scanning)"
            ),
        );
    }
    push(
        &mut out,
        &format!(
            "- Numbers: open alerts as GitHub listed them when the report was written ({}); fixes, incidents and \
             MTTD/MTTA/MTTR from the alert and incident events Sentinel recorded. MTTD is the time from GitHub \
             creating an alert to Sentinel announcing it. Secret-scanning alerts count as high.",
            match cur.source.as_str() {
                "github" => "all from GitHub",
                "records" => "GitHub could not be asked: from Sentinel's records",
                _ => "partly from Sentinel's records",
            }
        ),
    );
    out.trim_end().to_owned()
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
