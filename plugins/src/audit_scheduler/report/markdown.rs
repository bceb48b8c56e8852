//! The report as Markdown, following the guide's template section by section: header, executive
//! summary, metrics, critical issues, actions taken, vulnerabilities resolved, KPIs and SLA
//! compliance, audits, upcoming work, recommendations and appendix.

use std::collections::BTreeMap;

use chrono::Duration;
use sentinel_bot::Severity;

use super::data::{ReportData, record_label};
use super::kpis::{Kpis, in_period, kpis};
use crate::audit_scheduler::period::Period;
use crate::audit_scheduler::render::{fmt_day, fmt_duration, fmt_time, plural};
use crate::audit_scheduler::store::{AlertFact, IncidentFact, Item, ItemState, Run};

/// The report's title: `Security Report - March 2026`.
pub fn title(period: Period) -> String {
    match period {
        Period::Month(..) => format!("Security Report - {}", period.label()),
        Period::Quarter(..) => format!("Quarterly Security Assessment - {}", period.label()),
    }
}

/// The report as Markdown, section by section as the guide's template has them.
pub fn render(data: &ReportData) -> String {
    let k = kpis(data);
    let mut out = String::new();
    header(&mut out, data);
    executive_summary(&mut out, data, &k);
    metrics(&mut out, data);
    critical_issues(&mut out, data);
    actions_taken(&mut out, data, &k);
    vulnerabilities_resolved(&mut out, data, &k);
    key_performance_indicators(&mut out, data, &k);
    sla_compliance(&mut out, data, &k);
    audits(&mut out, data);
    upcoming_work(&mut out, data);
    recommendations(&mut out, data, &k);
    appendix(&mut out, data);
    out.trim_end().to_owned()
}

/// Appends `line` and a line break.
fn push(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

/// The open high/critical backlog now, and its target.
fn backlog(data: &ReportData) -> (i64, i64) {
    let backlog = data.current.open_high_critical.unwrap_or_default();
    (backlog, i64::from(data.backlog_target))
}

/// The audit runs of the period still open.
fn open_runs(data: &ReportData) -> Vec<&(Run, Vec<Item>)> {
    data.runs.iter().filter(|(r, _)| !r.complete).collect()
}

fn header(out: &mut String, data: &ReportData) {
    let tz = data.tz;
    push(out, &format!("# {}", title(data.period)));
    push(out, "");
    push(
        out,
        &format!(
            "**Report Period:** {} - {}",
            data.period.first_date().format("%Y-%m-%d"),
            data.period.last_day().format("%Y-%m-%d")
        ),
    );
    push(out, &format!("**Prepared by:** {}", data.prepared_by));
    push(out, &format!("**Date:** {}", fmt_day(data.now, tz)));
    push(out, "");
}

fn executive_summary(out: &mut String, data: &ReportData, k: &Kpis) {
    let tz = data.tz;
    let (backlog, target) = backlog(data);
    push(out, "## Executive Summary");
    push(out, "");
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
    push(out, &summary);
    push(out, "");
}

fn metrics(out: &mut String, data: &ReportData) {
    let cur = &data.current;
    let prev = data.previous.clone().unwrap_or_default();
    push(out, "## Metrics");
    push(out, "");
    push(out, "| Metric | Count | Change from Last Month |");
    push(out, "|--------|-------|----------------------|");
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
        push(out, &format!("| {name} | {} | {} |", count(now), change(now, before)));
    }
    if data.previous.is_none() {
        push(out, "");
        push(
            out,
            &format!("_No snapshot of {} to compare with._", data.period.previous().label()),
        );
    }
    for note in &data.notes {
        push(out, "");
        push(out, &format!("_{note}_"));
    }
    push(out, "");
}

fn critical_issues(out: &mut String, data: &ReportData) {
    push(out, "## Critical Issues");
    push(out, "");
    push(out, "### High Priority");
    if data.severe_open.is_empty() {
        push(out, "None open.");
    }
    for (n, issue) in data.severe_open.iter().enumerate() {
        let age = issue
            .created_at
            .map(|c| format!(" - open {}", fmt_duration(data.now - c)))
            .unwrap_or_default();
        push(out, &format!("{}. {}{age} - Status: Open", n + 1, issue.label));
    }
    push(out, "");
    push(out, "### Medium Priority");
    push(
        out,
        &format!("{} open.", plural(data.medium_open, "medium-severity alert")),
    );
    push(out, "");
}

fn actions_taken(out: &mut String, data: &ReportData, k: &Kpis) {
    let tz = data.tz;
    push(out, "## Actions Taken");
    push(out, "");
    if k.resolved_incidents.is_empty() {
        push(out, "No incident was resolved in the period.");
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
            out,
            &format!(
                "{}. Resolved incident #{} ({}) “{}”{by}{took} - {when} - {outcome}",
                n + 1,
                incident.id,
                incident.severity,
                incident.title
            ),
        );
    }
    push(out, "");
}

fn vulnerabilities_resolved(out: &mut String, data: &ReportData, k: &Kpis) {
    let tz = data.tz;
    push(out, "## Vulnerabilities Resolved");
    push(out, "");
    if k.fixed_alerts.is_empty() {
        push(out, "None in the period.");
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
            out,
            &format!("{}. {id} - {package} - Severity: {severity} - Fixed: {fixed}", n + 1),
        );
    }
    push(out, "");
}

fn key_performance_indicators(out: &mut String, data: &ReportData, k: &Kpis) {
    let (backlog, target) = backlog(data);
    push(out, "## Key Performance Indicators");
    push(out, "");
    push(out, "| KPI | Value | Target |");
    push(out, "|-----|-------|--------|");
    let mttd_critical = match k.mttd_critical {
        Some(span) => format!(
            "critical: {} {}",
            fmt_duration(span),
            if span < Duration::hours(24) { "✅" } else { "❌" }
        ),
        None => "critical: —".to_owned(),
    };
    push(
        out,
        &format!(
            "| Mean Time to Detect (MTTD) | {} ({mttd_critical}) | < 24 hours for critical |",
            opt_duration(k.mttd)
        ),
    );
    push(
        out,
        &format!(
            "| Mean Time to Acknowledge (MTTA) | {} | within the response SLA |",
            opt_duration(k.mtta)
        ),
    );
    push(
        out,
        &format!(
            "| Mean Time to Resolve incidents (MTTR) | {} | within the resolution SLA |",
            opt_duration(k.mttr)
        ),
    );
    push(
        out,
        &format!(
            "| Mean Time to Remediate alerts | {} | within the resolution SLA |",
            opt_duration(k.remediation)
        ),
    );
    push(
        out,
        &format!(
            "| Vulnerability backlog (open high/critical) | {backlog} {} | < {} |",
            if backlog < target { "✅" } else { "❌" },
            data.backlog_target
        ),
    );
    push(out, "");
}

fn sla_compliance(out: &mut String, data: &ReportData, k: &Kpis) {
    let tz = data.tz;
    push(out, "### SLA compliance");
    push(out, "");
    push(
        out,
        "| Severity | Incidents responded within SLA | Incidents resolved within SLA | Alerts fixed within target |",
    );
    push(
        out,
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
            out,
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
    push(out, "");
}

fn audits(out: &mut String, data: &ReportData) {
    push(out, "## Audits");
    push(out, "");
    if data.runs.is_empty() {
        push(out, "No audit ran in the period.");
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
            out,
            &format!(
                "- {}: {complete} of {} complete, {overdue} escalated as overdue",
                capitalise(cadence),
                plural(*runs, "run")
            ),
        );
    }
    if !people.is_empty() {
        let list: Vec<String> = people.iter().map(|(who, n)| format!("{who} ({n})")).collect();
        push(out, &format!("- Items done by: {}", list.join(", ")));
    }
    push(out, "");
}

fn upcoming_work(out: &mut String, data: &ReportData) {
    push(out, "## Upcoming Work");
    push(out, "");
    let mut n = 0;
    for (run, items) in open_runs(data) {
        let left = items.iter().filter(|i| !i.state.is_finished()).count();
        n += 1;
        push(
            out,
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
        push(out, &format!("{n}. {what} - {}", fmt_time(*when, data.tz)));
    }
    if n == 0 {
        push(out, "Nothing scheduled.");
    }
    push(out, "");
}

fn recommendations(out: &mut String, data: &ReportData, k: &Kpis) {
    let (backlog, target) = backlog(data);
    push(out, "## Recommendations");
    push(out, "");
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
    if !open_runs(data).is_empty() {
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
        push(out, &format!("{}. {r}", n + 1));
    }
    push(out, "");
}

fn appendix(out: &mut String, data: &ReportData) {
    push(out, "## Appendix");
    push(out, "");
    for repo in &data.repositories {
        push(
            out,
            &format!(
                "- {repo}: [CodeQL results](https://github.com/{repo}/security/code-scanning) · [Dependabot](https://github.com/{repo}/security/dependabot) · [Secret scanning](https://github.com/{repo}/security/secret-scanning)"
            ),
        );
    }
    push(
        out,
        &format!(
            "- Numbers: open alerts as GitHub listed them when the report was written ({}); fixes, incidents and \
             MTTD/MTTA/MTTR from the alert and incident events Sentinel recorded. MTTD is the time from GitHub \
             creating an alert to Sentinel announcing it. Secret-scanning alerts count as high.",
            match data.current.source.as_str() {
                "github" => "all from GitHub",
                "records" => "GitHub could not be asked: from Sentinel's records",
                _ => "partly from Sentinel's records",
            }
        ),
    );
}

/// The change from the previous period: `+3`, `-1`, `0`, or `n/a` without both numbers.
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

/// A number, or `n/a` when it is unknown.
fn count(value: Option<i64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "n/a".to_owned())
}

/// `good/all (percent%)`, or `—` when there is nothing to count.
fn ratio(good: usize, all: usize) -> String {
    match (good * 100).checked_div(all) {
        Some(percent) => format!("{good}/{all} ({percent}%)"),
        None => "—".to_owned(),
    }
}

/// A duration, or `—` when there is none.
fn opt_duration(span: Option<Duration>) -> String {
    span.map(fmt_duration).unwrap_or_else(|| "—".to_owned())
}

/// `critical` → `Critical`.
fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
