//! `workflow_run`: a security workflow that failed, so its scanner did not report.

use crate::alert_notifier::payload::WorkflowRunEvent;

use super::delivery::{Ctx, parse};
use super::text::{clean, time};
use super::{Alert, AlertChange, AlertSource, AlertState, NormalizeError, SeverityMapping, WorkflowFilter};

/// Run conclusions that mean the workflow did not do its job.
pub(super) const FAILED_CONCLUSIONS: [&str; 5] = [
    "failure",
    "timed_out",
    "cancelled",
    "startup_failure",
    "action_required",
];

pub(super) fn workflow_run(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
    filter: &WorkflowFilter,
) -> Result<Option<AlertChange>, NormalizeError> {
    if ctx.action != "completed" {
        return Ok(None);
    }
    let body = parse::<WorkflowRunEvent>(ctx.event, payload)?;
    let run = body.workflow_run.ok_or_else(|| ctx.missing("workflow_run"))?;
    let Some(conclusion) = clean(run.conclusion.as_deref()) else {
        return Ok(None);
    };
    if !FAILED_CONCLUSIONS.contains(&conclusion.as_str()) {
        return Ok(None);
    }
    let workflow = body.workflow.unwrap_or_default();
    // The run's `name` can be empty (GitHub's example has ""), the
    // definition's name and the file path are the fallbacks.
    let candidates = [
        clean(run.name.as_deref()),
        clean(workflow.name.as_deref()),
        clean(run.path.as_deref()),
        clean(workflow.path.as_deref()),
    ];
    if !candidates.iter().flatten().any(|c| filter.matches(c)) {
        return Ok(None);
    }
    let repo = ctx.repo()?;
    let id = run.id.ok_or_else(|| ctx.missing("workflow_run.id"))?;
    let name = candidates
        .iter()
        .flatten()
        .next()
        .cloned()
        .unwrap_or_else(|| format!("run {id}"));
    let branch = clean(run.head_branch.as_deref());
    let title = match &branch {
        Some(b) => format!("Workflow “{name}” failed on {b}"),
        None => format!("Workflow “{name}” failed"),
    };
    let short_sha = clean(run.head_sha.as_deref()).map(|s| s.chars().take(7).collect::<String>());
    let note = match run.run_number {
        Some(n) => format!("Run #{n} concluded: {conclusion}"),
        None => format!("Run concluded: {conclusion}"),
    };

    let mut alert = Alert::base(
        AlertSource::Workflow,
        Some(repo.clone()),
        run.run_number,
        mapping.workflow_failure,
        AlertState::Failed,
        title,
    );
    alert.key = format!("{}:{repo}:{id}", AlertSource::Workflow.as_str());
    alert.summary = Some(match short_sha {
        Some(sha) => format!("Conclusion: {conclusion} (commit {sha})"),
        None => format!("Conclusion: {conclusion}"),
    });
    alert.branch = branch;
    alert.url = clean(run.html_url.as_deref());
    alert.created_at = time(run.created_at.as_deref());
    Ok(Some(ctx.change(alert, ctx.sender.clone(), note, None)))
}
