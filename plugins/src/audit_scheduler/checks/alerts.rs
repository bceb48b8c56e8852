//! The alert checks (open Dependabot, code-scanning and secret-scanning alerts, new advisories,
//! all open alerts) and how an alert from GitHub's listings is read: its severity, its label for
//! people, and a summary of many.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sentinel_bot::Severity;
use serde_json::Value;

use super::answers::{Answer, Context, Outcome, created_at, of_kind, repo_of, sample};
use super::requests::{CODE_SCANNING_ALERTS, DEPENDABOT_ALERTS, SECRET_SCANNING_ALERTS};
use crate::audit_scheduler::render::{fmt_time, plural, plural_noun};

/// Open Dependabot alerts: flagged when any is new since the last run or critical.
pub(super) fn dependabot_alerts(answers: &[Answer], cx: &Context<'_>) -> Outcome {
    let summary = AlertSummary::of(answers, DEPENDABOT_ALERTS, cx.since);
    let flag = !summary.new.is_empty() || summary.count(Some(Severity::Critical)) > 0;
    Outcome::new(flag, summary.describe("Dependabot alert", cx, true))
}

/// New advisories affecting the repositories: flagged when any Dependabot alert is new.
pub(super) fn new_advisories(answers: &[Answer], cx: &Context<'_>) -> Outcome {
    let summary = AlertSummary::of(answers, DEPENDABOT_ALERTS, cx.since);
    let evidence = if summary.new.is_empty() {
        format!(
            "no new Dependabot alerts since {} ({} open)",
            fmt_time(cx.since, cx.tz),
            summary.total
        )
    } else {
        format!(
            "{} since {}: {}",
            plural(summary.new.len(), "new Dependabot alert"),
            fmt_time(cx.since, cx.tz),
            sample(&summary.new, 5)
        )
    };
    Outcome::new(!summary.new.is_empty(), evidence)
}

/// Open code-scanning alerts: flagged when any is new, critical or high.
pub(super) fn code_scanning_alerts(answers: &[Answer], cx: &Context<'_>) -> Outcome {
    let summary = AlertSummary::of(answers, CODE_SCANNING_ALERTS, cx.since);
    let severe = summary.count(Some(Severity::Critical)) + summary.count(Some(Severity::High));
    Outcome::new(
        !summary.new.is_empty() || severe > 0,
        summary.describe("code-scanning alert", cx, true),
    )
}

/// Open secret-scanning alerts: any open one is flagged.
pub(super) fn secret_scanning_alerts(answers: &[Answer], cx: &Context<'_>) -> Outcome {
    let summary = AlertSummary::of(answers, SECRET_SCANNING_ALERTS, cx.since);
    Outcome::new(summary.total > 0, summary.describe("secret-scanning alert", cx, false))
}

/// Every open alert of the three sources: flagged when there is any.
pub(super) fn open_alerts(answers: &[Answer], cx: &Context<'_>) -> Outcome {
    let parts = [
        ("Dependabot", AlertSummary::of(answers, DEPENDABOT_ALERTS, cx.since)),
        ("CodeQL", AlertSummary::of(answers, CODE_SCANNING_ALERTS, cx.since)),
        (
            "secret scanning",
            AlertSummary::of(answers, SECRET_SCANNING_ALERTS, cx.since),
        ),
    ];
    let total: usize = parts.iter().map(|(_, s)| s.total).sum();
    let text: Vec<String> = parts
        .iter()
        .map(|(name, s)| format!("{name} {}{}", s.total, s.breakdown_suffix()))
        .collect();
    let mut evidence = format!("{} open: {}", plural(total, "alert"), text.join(" · "));
    let severe: Vec<String> = parts.iter().flat_map(|(_, s)| s.severe.clone()).collect();
    if !severe.is_empty() {
        evidence.push_str(&format!("; critical/high: {}", sample(&severe, 5)));
    }
    Outcome::new(total > 0, evidence)
}

/// The severity of an alert as GitHub's APIs spell it: Dependabot's advisory severity, code
/// scanning's `security_severity_level`; `None` for alerts without one (secret scanning, non-security
/// code-scanning rules).
pub fn alert_severity(alert: &Value) -> Option<Severity> {
    [
        "/security_advisory/severity",
        "/security_vulnerability/severity",
        "/rule/security_severity_level",
    ]
    .iter()
    .find_map(|pointer| alert.pointer(pointer).and_then(Value::as_str))
    .and_then(|text| text.parse().ok())
}

/// How a person names an alert: `acme/app#3 lodash (high)`.
pub fn alert_label(repo: &str, alert: &Value) -> String {
    let number = alert.get("number").and_then(Value::as_i64).unwrap_or_default();
    let what = [
        "/dependency/package/name",
        "/rule/description",
        "/secret_type_display_name",
        "/secret_type",
        "/security_advisory/summary",
    ]
    .iter()
    .find_map(|pointer| alert.pointer(pointer).and_then(Value::as_str))
    .unwrap_or("alert");
    match alert_severity(alert) {
        Some(severity) => format!("{repo}#{number} {what} ({severity})"),
        None => format!("{repo}#{number} {what}"),
    }
}

/// Open alerts of one source across repositories.
#[derive(Debug, Clone, Default)]
pub(super) struct AlertSummary {
    /// How many.
    pub total: usize,
    /// By severity (`None`: no severity).
    pub by_severity: BTreeMap<Option<Severity>, usize>,
    /// Labels of alerts created since the last run.
    pub new: Vec<String>,
    /// Labels of critical and high alerts.
    pub severe: Vec<String>,
    /// Labels of every alert.
    pub labels: Vec<String>,
    /// Per repository.
    pub per_repo: Vec<(String, usize)>,
}

impl AlertSummary {
    /// Summarises the `kind` answers; alerts created at or after `since` are new.
    pub(super) fn of(answers: &[Answer], kind: &str, since: DateTime<Utc>) -> Self {
        let mut summary = Self::default();
        for answer in of_kind(answers, kind) {
            let repo = repo_of(answer);
            let entries = answer.entries();
            summary.per_repo.push((repo.to_owned(), entries.len()));
            for alert in &entries {
                summary.total += 1;
                let severity = alert_severity(alert);
                *summary.by_severity.entry(severity).or_default() += 1;
                if created_at(alert).is_some_and(|t| t >= since) {
                    summary.new.push(alert_label(repo, alert));
                }
                if matches!(severity, Some(Severity::Critical | Severity::High)) {
                    summary.severe.push(alert_label(repo, alert));
                }
                summary.labels.push(alert_label(repo, alert));
            }
        }
        summary
    }

    /// How many of `severity`.
    pub(super) fn count(&self, severity: Option<Severity>) -> usize {
        self.by_severity.get(&severity).copied().unwrap_or_default()
    }

    /// `3 critical, 1 high`, and how many have no severity when some do.
    fn breakdown(&self) -> Vec<String> {
        let mut parts: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|s| {
                let n = self.count(Some(*s));
                (n > 0).then(|| format!("{n} {s}"))
            })
            .collect();
        let none = self.count(None);
        if none > 0 && !parts.is_empty() {
            parts.push(format!("{none} without severity"));
        }
        parts
    }

    /// The breakdown in parentheses after a count, or nothing.
    fn breakdown_suffix(&self) -> String {
        let parts = self.breakdown();
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }

    /// The evidence for people: how many, by severity and repository, then the new and critical
    /// ones (`with_new`) or a sample of all.
    fn describe(&self, noun: &str, cx: &Context<'_>, with_new: bool) -> String {
        if self.total == 0 {
            return format!("no open {}", plural_noun(noun));
        }
        let mut text = format!("{} open", plural(self.total, noun));
        let parts = self.breakdown();
        if !parts.is_empty() {
            text.push_str(&format!(" — {}", parts.join(", ")));
        }
        if self.per_repo.len() > 1 {
            let per: Vec<String> = self
                .per_repo
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(repo, n)| format!("{repo} {n}"))
                .collect();
            text.push_str(&format!(" ({})", per.join(", ")));
        }
        if with_new {
            if self.new.is_empty() {
                text.push_str(&format!("; none new since {}", fmt_time(cx.since, cx.tz)));
            } else {
                text.push_str(&format!(
                    "; {} new since {}: {}",
                    self.new.len(),
                    fmt_time(cx.since, cx.tz),
                    sample(&self.new, 3)
                ));
            }
            let critical: Vec<String> = self
                .severe
                .iter()
                .filter(|l| l.ends_with("(critical)"))
                .cloned()
                .collect();
            if !critical.is_empty() {
                text.push_str(&format!("; critical: {}", sample(&critical, 3)));
            }
        } else {
            text.push_str(&format!(": {}", sample(&self.labels, 3)));
        }
        text
    }
}

/// Open alerts of `kind` listed by every answer, with their repository.
pub fn alert_entries(answers: &[Answer], kind: &str) -> Vec<(String, Value)> {
    of_kind(answers, kind)
        .flat_map(|answer| {
            let repo = repo_of(answer).to_owned();
            answer.entries().into_iter().map(move |alert| (repo.clone(), alert))
        })
        .collect()
}
