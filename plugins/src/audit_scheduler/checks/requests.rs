//! Which GitHub requests a check makes: one per repository (or one in all), with the request kinds
//! that name what an answer is for, and the follow-ups a `hooks` answer asks for.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::audit_scheduler::checklist::Check;

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

/// One request per repository, of `kind`, at `path(repo)`.
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
