//! Automatic checks: which GitHub requests an item needs, and what their answers mean. Pure
//! functions, so every rule is unit-tested without a bot.
//!
//! Over 600 lines: one rule per checklist item with its tests' fixtures nearby; splitting by audit
//! period is open under issue 13 item 3.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sentinel_bot::Severity;
use sentinel_bot::github::GitHubResponse;
use serde_json::Value;

use super::checklist::Check;
use super::render::{fmt_day, fmt_time, plural, plural_noun};

/// One request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Its purpose, stored as the request's kind.
    pub kind: &'static str,
    /// The repository it is about.
    pub repository: Option<String>,
    /// Path and query below the API URL.
    pub path: String,
    /// Follow `Link: rel="next"`.
    pub paginate: bool,
}

fn per_repo(repos: &[String], kind: &'static str, path: impl Fn(&str) -> String, paginate: bool) -> Vec<Planned> {
    repos
        .iter()
        .map(|repo| Planned {
            kind,
            repository: Some(repo.clone()),
            path: path(repo),
            paginate,
        })
        .collect()
}

/// GitHub's ISO 8601 form of `at`, for search qualifiers and `created` filters (`>=` escaped).
fn iso(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The request kinds whose answers are lists of open alerts, by source.
pub const DEPENDABOT_ALERTS: &str = "dependabot_alerts";
/// Open code-scanning alerts.
pub const CODE_SCANNING_ALERTS: &str = "code_scanning_alerts";
/// Open secret-scanning alerts.
pub const SECRET_SCANNING_ALERTS: &str = "secret_scanning_alerts";
/// A repository's webhooks, followed by one [`HOOK_DELIVERIES`] request per hook.
pub const HOOKS: &str = "hooks";
/// One webhook's recent deliveries.
pub const HOOK_DELIVERIES: &str = "hook_deliveries";
/// The search for merged Dependabot pull requests.
pub const MERGED_UPDATES: &str = "merged_updates";

/// The open-alert listing of `kind` for `repo`.
pub fn alerts_path(kind: &str, repo: &str) -> String {
    let area = match kind {
        CODE_SCANNING_ALERTS => "code-scanning",
        SECRET_SCANNING_ALERTS => "secret-scanning",
        _ => "dependabot",
    };
    format!("/repos/{repo}/{area}/alerts?state=open&per_page=100")
}

/// The search counting Dependabot pull requests merged in `[from, to)` (`to` open-ended when `None`).
pub fn merged_updates_path(repo: &str, from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> String {
    let range = match to {
        Some(to) => format!("{}..{}", iso(from), iso(to - chrono::Duration::seconds(1))),
        None => format!("%3E%3D{}", iso(from)),
    };
    format!("/search/issues?q=repo:{repo}+is:pr+is:merged+author:app/dependabot+merged:{range}&per_page=1")
}

/// The requests `check` needs for `repos`, looking back to `since`.
pub fn plan(check: Check, repos: &[String], since: DateTime<Utc>) -> Vec<Planned> {
    let alerts = |kind: &'static str| per_repo(repos, kind, |repo| alerts_path(kind, repo), true);
    match check {
        Check::DependabotAlerts | Check::NewAdvisories => alerts(DEPENDABOT_ALERTS),
        Check::CodeScanningAlerts => alerts(CODE_SCANNING_ALERTS),
        Check::SecretScanningAlerts => alerts(SECRET_SCANNING_ALERTS),
        Check::OpenAlerts => {
            let mut all = alerts(DEPENDABOT_ALERTS);
            all.extend(alerts(CODE_SCANNING_ALERTS));
            all.extend(alerts(SECRET_SCANNING_ALERTS));
            all
        }
        Check::FailedWorkflows => per_repo(
            repos,
            "workflow_runs",
            |repo| {
                format!(
                    "/repos/{repo}/actions/runs?status=failure&created=%3E%3D{}&per_page=100",
                    iso(since)
                )
            },
            true,
        ),
        Check::DependabotPrs => per_repo(
            repos,
            "pulls",
            |repo| format!("/repos/{repo}/pulls?state=open&per_page=100"),
            true,
        ),
        Check::DependencyUpdates => per_repo(
            repos,
            MERGED_UPDATES,
            |repo| merged_updates_path(repo, since, None),
            false,
        ),
        Check::Collaborators => {
            let mut all = per_repo(
                repos,
                "collaborators",
                |repo| format!("/repos/{repo}/collaborators?affiliation=all&per_page=100"),
                true,
            );
            all.extend(per_repo(
                repos,
                "outside_collaborators",
                |repo| format!("/repos/{repo}/collaborators?affiliation=outside&per_page=100"),
                true,
            ));
            all
        }
        Check::WebhookDeliveries => per_repo(repos, HOOKS, |repo| format!("/repos/{repo}/hooks?per_page=100"), true),
        Check::Token | Check::ApiHealth => vec![Planned {
            kind: "rate_limit",
            repository: None,
            path: "/rate_limit".into(),
            paginate: false,
        }],
        Check::SecurityLog | Check::AuthFailures | Check::Report => Vec::new(),
    }
}

/// The follow-up requests for a `hooks` answer: each hook's recent deliveries.
pub fn hook_followups(repo: &str, hooks: &[Value]) -> Vec<Planned> {
    hooks
        .iter()
        .filter_map(|hook| hook.get("id").and_then(Value::as_i64))
        .map(|id| Planned {
            kind: HOOK_DELIVERIES,
            repository: Some(repo.to_owned()),
            path: format!("/repos/{repo}/hooks/{id}/deliveries?per_page=100"),
            paginate: false,
        })
        .collect()
}

/// One answered request, as the evaluation sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Its kind.
    pub kind: String,
    /// Its repository.
    pub repository: Option<String>,
    /// The response (for a request that timed out: `ok` false and the reason).
    pub response: GitHubResponse,
}

impl Answer {
    /// The entries of a listing, or of a single answer that is a JSON list.
    pub fn entries(&self) -> Vec<Value> {
        match (&self.response.items, &self.response.body) {
            (Some(items), _) => items.clone(),
            (None, Some(Value::Array(items))) => items.clone(),
            _ => Vec::new(),
        }
    }

    fn failure(&self) -> Option<String> {
        if self.response.ok && self.response.error.is_none() {
            return None;
        }
        let reason = match (&self.response.error, self.response.status) {
            (Some(error), _) => error.clone(),
            (None, Some(status)) => format!("GitHub answered {status}"),
            (None, None) => "no answer".to_owned(),
        };
        Some(match &self.repository {
            Some(repo) => format!("{repo}: {reason}"),
            None => reason,
        })
    }
}

/// What the check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing for a person to do: the item is ticked by Sentinel.
    Checked,
    /// A person must look: the item stays open with the evidence.
    Flagged,
    /// The check could not be made: the item stays open saying why.
    Failed,
}

/// A verdict and its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// What was found, for people.
    pub evidence: String,
}

impl Outcome {
    fn new(flag: bool, evidence: String) -> Self {
        Self {
            verdict: if flag { Verdict::Flagged } else { Verdict::Checked },
            evidence,
        }
    }

    /// An outcome saying the check could not be made.
    pub fn failed(reason: impl std::fmt::Display) -> Self {
        Self {
            verdict: Verdict::Failed,
            evidence: format!("could not check: {reason}"),
        }
    }
}

/// What the evaluation needs besides the answers.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Now.
    pub now: DateTime<Utc>,
    /// The previous run (or the look-back for a first run).
    pub since: DateTime<Utc>,
    /// Display zone.
    pub tz: Tz,
    /// Lowercase security workflow name patterns.
    pub security_workflows: &'a [String],
    /// Token expiry warning window.
    pub token_expiry_warning: chrono::Duration,
    /// Rate-limit warning threshold, percent.
    pub rate_limit_warning_percent: u8,
}

/// Concludes `check` from its answers. Any failed answer makes the item fail ("could not check"),
/// with what the other answers showed appended: never a silent pass.
pub fn evaluate(check: Check, answers: &[Answer], cx: &Context<'_>) -> Outcome {
    let failures: Vec<String> = answers.iter().filter_map(Answer::failure).collect();
    let good: Vec<Answer> = answers.iter().filter(|a| a.failure().is_none()).cloned().collect();
    let outcome = evaluate_ok(check, &good, cx);
    if failures.is_empty() {
        return outcome;
    }
    let mut evidence = format!("could not check: {}", failures.join("; "));
    if !good.is_empty() {
        evidence.push_str(&format!(" — the rest: {}", outcome.evidence));
    }
    Outcome {
        verdict: Verdict::Failed,
        evidence,
    }
}

fn of_kind<'a>(answers: &'a [Answer], kind: &'a str) -> impl Iterator<Item = &'a Answer> + 'a {
    answers.iter().filter(move |a| a.kind == kind)
}

fn repo_of(answer: &Answer) -> &str {
    answer.repository.as_deref().unwrap_or("?")
}

fn evaluate_ok(check: Check, answers: &[Answer], cx: &Context<'_>) -> Outcome {
    match check {
        Check::DependabotAlerts => {
            let summary = AlertSummary::of(answers, DEPENDABOT_ALERTS, cx.since);
            let flag = !summary.new.is_empty() || summary.count(Some(Severity::Critical)) > 0;
            Outcome::new(flag, summary.describe("Dependabot alert", cx, true))
        }
        Check::NewAdvisories => {
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
        Check::CodeScanningAlerts => {
            let summary = AlertSummary::of(answers, CODE_SCANNING_ALERTS, cx.since);
            let severe = summary.count(Some(Severity::Critical)) + summary.count(Some(Severity::High));
            Outcome::new(
                !summary.new.is_empty() || severe > 0,
                summary.describe("code-scanning alert", cx, true),
            )
        }
        Check::SecretScanningAlerts => {
            let summary = AlertSummary::of(answers, SECRET_SCANNING_ALERTS, cx.since);
            Outcome::new(summary.total > 0, summary.describe("secret-scanning alert", cx, false))
        }
        Check::OpenAlerts => {
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
        Check::FailedWorkflows => failed_workflows(answers, cx),
        Check::DependabotPrs => {
            let mut prs = Vec::new();
            for answer in of_kind(answers, "pulls") {
                for pr in answer.entries() {
                    let login = pr.pointer("/user/login").and_then(Value::as_str).unwrap_or_default();
                    if login.starts_with("dependabot") {
                        let number = pr.get("number").and_then(Value::as_i64).unwrap_or_default();
                        let title = pr.get("title").and_then(Value::as_str).unwrap_or_default();
                        prs.push(format!("{}#{number} {title}", repo_of(answer)));
                    }
                }
            }
            let evidence = if prs.is_empty() {
                "no open Dependabot pull requests".to_owned()
            } else {
                format!(
                    "{} open: {}",
                    plural(prs.len(), "Dependabot pull request"),
                    sample(&prs, 5)
                )
            };
            Outcome::new(!prs.is_empty(), evidence)
        }
        Check::DependencyUpdates => {
            let mut total = 0;
            let mut per: Vec<String> = Vec::new();
            for answer in of_kind(answers, MERGED_UPDATES) {
                let count = total_count(answer);
                total += count;
                per.push(format!("{} {count}", repo_of(answer)));
            }
            let mut evidence = format!(
                "{} merged since {}",
                plural(total as usize, "Dependabot update"),
                fmt_time(cx.since, cx.tz)
            );
            if per.len() > 1 {
                evidence.push_str(&format!(" ({})", per.join(", ")));
            }
            Outcome::new(false, evidence)
        }
        Check::Collaborators => collaborators(answers),
        Check::WebhookDeliveries => webhook_deliveries(answers, cx),
        Check::Token => {
            let Some(answer) = answers.first() else {
                return Outcome::failed("no answer from GitHub");
            };
            let (expiry, flag) = token_expiry(&answer.response, cx);
            let scopes = match answer.response.oauth_scopes.as_deref() {
                Some("") => "scopes: none".to_owned(),
                Some(scopes) => format!("scopes: {scopes}"),
                None => {
                    "scopes: not reported (a fine-grained token or app: permissions are set per repository)".to_owned()
                }
            };
            Outcome::new(flag, format!("{scopes}; {expiry}"))
        }
        Check::ApiHealth => {
            let Some(answer) = answers.first() else {
                return Outcome::failed("no answer from GitHub");
            };
            let (expiry, expiring) = token_expiry(&answer.response, cx);
            let (rate, low) = rate_limit(&answer.response, cx);
            Outcome::new(expiring || low, format!("GitHub API answered; {rate}; {expiry}"))
        }
        Check::SecurityLog | Check::AuthFailures | Check::Report => Outcome::failed("not a GitHub check"),
    }
}

fn total_count(answer: &Answer) -> i64 {
    answer
        .response
        .body
        .as_ref()
        .and_then(|b| b.get("total_count"))
        .and_then(Value::as_i64)
        .unwrap_or_default()
}

/// Up to `n` entries, then "and N more".
pub fn sample(entries: &[String], n: usize) -> String {
    let mut text = entries.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if entries.len() > n {
        text.push_str(&format!(" and {} more", entries.len() - n));
    }
    text
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

/// When GitHub created an alert (or anything with `created_at`).
pub fn created_at(entry: &Value) -> Option<DateTime<Utc>> {
    entry
        .get("created_at")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Open alerts of one source across repositories.
#[derive(Debug, Clone, Default)]
pub struct AlertSummary {
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
    pub fn of(answers: &[Answer], kind: &str, since: DateTime<Utc>) -> Self {
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
    pub fn count(&self, severity: Option<Severity>) -> usize {
        self.by_severity.get(&severity).copied().unwrap_or_default()
    }

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

    fn breakdown_suffix(&self) -> String {
        let parts = self.breakdown();
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }

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

fn failed_workflows(answers: &[Answer], cx: &Context<'_>) -> Outcome {
    let mut failed = Vec::new();
    for answer in of_kind(answers, "workflow_runs") {
        for run in answer.entries() {
            let name = run.get("name").and_then(Value::as_str).unwrap_or_default();
            let lower = name.to_lowercase();
            let is_security =
                cx.security_workflows.is_empty() || cx.security_workflows.iter().any(|p| lower.contains(p));
            let conclusion = run.get("conclusion").and_then(Value::as_str).unwrap_or_default();
            let is_failure = matches!(conclusion, "failure" | "timed_out" | "startup_failure");
            let recent = created_at(&run).is_none_or(|t| t >= cx.since);
            if is_security && is_failure && recent {
                let number = run.get("run_number").and_then(Value::as_i64).unwrap_or_default();
                let branch = run.get("head_branch").and_then(Value::as_str).unwrap_or("?");
                let when = created_at(&run)
                    .map(|t| format!(", {}", fmt_time(t, cx.tz)))
                    .unwrap_or_default();
                failed.push(format!("{name} #{number} on {branch} ({}{when})", repo_of(answer)));
            }
        }
    }
    let since = fmt_time(cx.since, cx.tz);
    if failed.is_empty() {
        Outcome::new(false, format!("no failed security workflow runs since {since}"))
    } else {
        Outcome::new(
            true,
            format!(
                "{} since {since}: {}",
                plural(failed.len(), "failed security workflow run"),
                sample(&failed, 5)
            ),
        )
    }
}

fn permission_of(entry: &Value) -> String {
    if let Some(role) = entry.get("role_name").and_then(Value::as_str) {
        return role.to_owned();
    }
    for (flag, name) in [
        ("admin", "admin"),
        ("maintain", "maintain"),
        ("push", "write"),
        ("triage", "triage"),
    ] {
        if entry.pointer(&format!("/permissions/{flag}")).and_then(Value::as_bool) == Some(true) {
            return name.to_owned();
        }
    }
    "read".to_owned()
}

fn collaborators(answers: &[Answer]) -> Outcome {
    let mut lines = Vec::new();
    let mut outside_total = 0;
    let mut repos: Vec<&str> = Vec::new();
    for repo in answers.iter().map(repo_of) {
        if !repos.contains(&repo) {
            repos.push(repo);
        }
    }
    for repo in repos {
        let all: Vec<Value> = answers
            .iter()
            .filter(|a| a.kind == "collaborators" && repo_of(a) == repo)
            .flat_map(Answer::entries)
            .collect();
        let outside: Vec<String> = answers
            .iter()
            .filter(|a| a.kind == "outside_collaborators" && repo_of(a) == repo)
            .flat_map(Answer::entries)
            .filter_map(|c| c.get("login").and_then(Value::as_str).map(str::to_owned))
            .collect();
        outside_total += outside.len();
        let login = |c: &Value| c.get("login").and_then(Value::as_str).unwrap_or("?").to_owned();
        let admins: Vec<String> = all
            .iter()
            .filter(|c| permission_of(c) == "admin")
            .map(|c| format!("⚑ {}", login(c)))
            .collect();
        let outsiders: Vec<String> = all
            .iter()
            .filter(|c| outside.contains(&login(c)))
            .map(|c| format!("⚑ {} ({})", login(c), permission_of(c)))
            .collect();
        let mut line = format!("{repo}: {}", plural(all.len(), "collaborator"));
        if !admins.is_empty() {
            line.push_str(&format!("; admins: {}", admins.join(", ")));
        }
        if !outsiders.is_empty() {
            line.push_str(&format!("; outside collaborators: {}", outsiders.join(", ")));
        } else if !outside.is_empty() {
            let marked: Vec<String> = outside.iter().map(|l| format!("⚑ {l}")).collect();
            line.push_str(&format!("; outside collaborators: {}", marked.join(", ")));
        } else {
            line.push_str("; no outside collaborators");
        }
        lines.push(line);
    }
    Outcome::new(outside_total > 0, lines.join(" · "))
}

fn webhook_deliveries(answers: &[Answer], cx: &Context<'_>) -> Outcome {
    let hooks: usize = of_kind(answers, HOOKS).map(|a| a.entries().len()).sum();
    let mut failures: BTreeMap<String, (usize, Vec<i64>)> = BTreeMap::new();
    let mut checked = 0;
    for answer in of_kind(answers, HOOK_DELIVERIES) {
        for delivery in answer.entries() {
            let at = delivery
                .get("delivered_at")
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            if at.is_some_and(|t| t < cx.since) {
                continue;
            }
            checked += 1;
            let code = delivery.get("status_code").and_then(Value::as_i64).unwrap_or_default();
            let status = delivery.get("status").and_then(Value::as_str).unwrap_or("OK");
            if code >= 400 || code == 0 || !status.eq_ignore_ascii_case("ok") {
                let hook = delivery.get("hook_id").and_then(Value::as_i64);
                let key = match hook {
                    Some(id) => format!("{} hook {id}", repo_of(answer)),
                    None => repo_of(answer).to_owned(),
                };
                let entry = failures.entry(key).or_default();
                entry.0 += 1;
                if !entry.1.contains(&code) {
                    entry.1.push(code);
                }
            }
        }
    }
    let since = fmt_time(cx.since, cx.tz);
    if hooks == 0 {
        return Outcome::new(false, "no repository webhooks configured".to_owned());
    }
    let total: usize = failures.values().map(|(n, _)| n).sum();
    if total == 0 {
        return Outcome::new(
            false,
            format!(
                "no failed deliveries since {since} ({} checked, {})",
                plural(checked, "delivery"),
                plural(hooks, "webhook")
            ),
        );
    }
    let parts: Vec<String> = failures
        .iter()
        .map(|(hook, (n, codes))| {
            let codes: Vec<String> = codes
                .iter()
                .map(|c| {
                    if *c == 0 {
                        "no response".to_owned()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            format!("{hook}: {n}× {}", codes.join("/"))
        })
        .collect();
    Outcome::new(
        true,
        format!(
            "{} since {since}: {}",
            plural(total, "failed delivery"),
            parts.join(", ")
        ),
    )
}

fn token_expiry(response: &GitHubResponse, cx: &Context<'_>) -> (String, bool) {
    match response.token_expiration {
        None => ("no token expiry reported".to_owned(), false),
        Some(at) if at <= cx.now => (format!("token EXPIRED {}", fmt_time(at, cx.tz)), true),
        Some(at) => {
            let left = at - cx.now;
            let text = format!(
                "token expires {} (in {})",
                fmt_day(at, cx.tz),
                super::render::fmt_duration(left)
            );
            if left <= cx.token_expiry_warning {
                (format!("{text} — renew it"), true)
            } else {
                (text, false)
            }
        }
    }
}

fn rate_limit(response: &GitHubResponse, cx: &Context<'_>) -> (String, bool) {
    let body = response.body.as_ref();
    let core = body
        .and_then(|b| b.pointer("/resources/core"))
        .or_else(|| body.and_then(|b| b.get("rate")));
    let limit = core.and_then(|c| c.get("limit")).and_then(Value::as_u64);
    let remaining = core
        .and_then(|c| c.get("remaining"))
        .and_then(Value::as_u64)
        .or(response.rate_limit.remaining);
    let reset = core
        .and_then(|c| c.get("reset"))
        .and_then(Value::as_i64)
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .or(response.rate_limit.reset);
    let reset_text = reset
        .map(|t| format!(", resets {}", fmt_time(t, cx.tz)))
        .unwrap_or_default();
    match (remaining, limit) {
        (Some(remaining), Some(limit)) if limit > 0 => {
            let low = remaining * 100 < limit * u64::from(cx.rate_limit_warning_percent);
            let mut text = format!("rate limit {remaining} of {limit} calls left{reset_text}");
            if low {
                text.push_str(" — low");
            }
            (text, low)
        }
        (Some(remaining), _) => (format!("rate limit {remaining} calls left{reset_text}"), false),
        _ => ("rate limit not reported".to_owned(), false),
    }
}

/// Kinds in the security log that are authentication failures.
pub fn is_auth_failure(kind: &str) -> bool {
    let kind = kind.to_ascii_lowercase();
    ["signature", "unauthori", "forbidden", "denied", "auth", "token"]
        .iter()
        .any(|needle| kind.contains(needle))
}

/// Concludes the security-log checks from the entries counted by kind since the last run.
pub fn evaluate_security_log(check: Check, counts: &[(String, i64)], cx: &Context<'_>) -> Outcome {
    let since = fmt_time(cx.since, cx.tz);
    let relevant: Vec<&(String, i64)> = counts
        .iter()
        .filter(|(kind, _)| check != Check::AuthFailures || is_auth_failure(kind))
        .collect();
    let total: i64 = relevant.iter().map(|(_, n)| n).sum();
    let noun = if check == Check::AuthFailures {
        "authentication failure"
    } else {
        "security log entry"
    };
    if total == 0 {
        return Outcome::new(false, format!("no {} since {since}", plural_noun(noun)));
    }
    let parts: Vec<String> = relevant.iter().map(|(kind, n)| format!("{kind} ×{n}")).collect();
    Outcome::new(
        true,
        format!("{} since {since}: {}", plural(total as usize, noun), parts.join(", ")),
    )
}
