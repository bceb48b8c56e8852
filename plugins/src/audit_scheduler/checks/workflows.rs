//! The upkeep checks: failed security workflow runs, open Dependabot pull requests, and the
//! Dependabot updates merged since the last run.

use serde_json::Value;

use super::answers::{Answer, Context, Outcome, created_at, of_kind, repo_of, sample, total_count};
use super::requests::MERGED_UPDATES;
use crate::audit_scheduler::render::{fmt_time, plural};

/// Failed security workflow runs since the last run (every workflow when no name patterns are
/// configured): any is flagged.
pub(super) fn failed_workflows(answers: &[Answer], cx: &Context<'_>) -> Outcome {
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

/// Open Dependabot pull requests: any is flagged, waiting for review.
pub(super) fn dependabot_prs(answers: &[Answer]) -> Outcome {
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

/// Dependabot updates merged since the last run: counted, never flagged.
pub(super) fn dependency_updates(answers: &[Answer], cx: &Context<'_>) -> Outcome {
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
