//! `code_scanning_alert`: a finding of CodeQL or another scanner.

use crate::alert_notifier::payload::CodeScanningEvent;

use super::delivery::{Ctx, parse};
use super::text::{branch_name, by, clean, join_reason, login, position, shorten, time, unknown_action, with_reason};
use super::{Alert, AlertChange, AlertSource, AlertState, NormalizeError, SeverityMapping};

pub(super) fn code_scanning(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
) -> Result<AlertChange, NormalizeError> {
    let body = parse::<CodeScanningEvent>(ctx.event, payload)?;
    let a = body.alert.ok_or_else(|| ctx.missing("alert"))?;
    let repo = ctx.repo()?;
    let number = a.number.ok_or_else(|| ctx.missing("alert.number"))?;
    let rule = a.rule.unwrap_or_default();
    // `created` deliveries carry only `instances`, later ones `most_recent_instance`.
    let instance = a
        .most_recent_instance
        .or_else(|| a.instances.and_then(|list| list.into_iter().next()))
        .unwrap_or_default();
    let branch = clean(instance.git_ref.as_deref())
        .or_else(|| clean(body.git_ref.as_deref()))
        .map(|r| branch_name(&r));

    let action = ctx.action.as_str();
    let state = match action {
        "created" | "appeared_in_branch" | "reopened" | "reopened_by_user" => Some(AlertState::Open),
        "fixed" => Some(AlertState::Fixed),
        "closed_by_user" => Some(AlertState::Dismissed),
        _ => None,
    }
    .or_else(|| match a.state.as_deref().map(str::trim) {
        Some("open") => Some(AlertState::Open),
        Some("fixed") => Some(AlertState::Fixed),
        Some("dismissed" | "closed") => Some(AlertState::Dismissed),
        _ => None,
    })
    .unwrap_or(AlertState::Open);

    let actor = if action == "closed_by_user" {
        login(a.dismissed_by.as_ref()).or_else(|| ctx.sender.clone())
    } else {
        ctx.sender.clone()
    };
    let reason = (state == AlertState::Dismissed)
        .then(|| join_reason(a.dismissed_reason.as_deref(), a.dismissed_comment.as_deref()))
        .flatten();
    let note = match (action, &branch) {
        ("created", Some(branch)) => format!("New alert on {branch}"),
        ("created", None) => "New alert".to_string(),
        ("appeared_in_branch", Some(branch)) => format!("Appeared in branch {branch}"),
        ("appeared_in_branch", None) => "Appeared in another branch".to_string(),
        ("fixed", _) => "Fixed".to_string(),
        ("closed_by_user", _) => with_reason(by("Dismissed", actor.as_deref()), reason.as_deref()),
        ("reopened", _) => "Reopened".to_string(),
        ("reopened_by_user", _) => by("Reopened", actor.as_deref()),
        ("updated_assignment", _) => "Assignees updated".to_string(),
        (other, _) => unknown_action(other),
    };

    let rule_id = clean(rule.id.as_deref());
    let title = clean(rule.description.as_deref())
        .or_else(|| clean(rule.name.as_deref()))
        .or_else(|| rule_id.clone())
        .unwrap_or_else(|| format!("Code scanning alert #{number}"));
    let location = instance.location.unwrap_or_default();

    let mut alert = Alert::base(
        AlertSource::CodeScanning,
        Some(repo),
        Some(number),
        mapping.code_scanning(
            clean(rule.security_severity_level.as_deref()).as_deref(),
            clean(rule.severity.as_deref()).as_deref(),
        ),
        state,
        title,
    );
    alert.summary = instance
        .message
        .and_then(|m| m.text.as_deref().and_then(shorten))
        .or_else(|| rule.full_description.as_deref().and_then(shorten));
    alert.rule = rule_id;
    alert.tool = a.tool.and_then(|t| clean(t.name.as_deref()));
    alert.location = position(location.path.as_deref(), location.start_line);
    alert.branch = branch;
    alert.url = ctx.page(a.html_url.as_deref(), "code-scanning", number);
    alert.created_at = time(a.created_at.as_deref());
    Ok(ctx.change(alert, actor, note, reason))
}
