//! `repository_advisory`: an advisory drafted or published by a repository.

use crate::alert_notifier::payload::RepositoryAdvisoryEvent;

use super::advisory::{advisory_alert, ghsa};
use super::delivery::{Ctx, parse};
use super::text::{clean, unknown_action};
use super::{AlertChange, AlertSource, AlertState, NormalizeError, SeverityMapping};

pub(super) fn repository_advisory(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
) -> Result<AlertChange, NormalizeError> {
    let body = parse::<RepositoryAdvisoryEvent>(ctx.event, payload)?;
    let advisory = body
        .repository_advisory
        .ok_or_else(|| ctx.missing("repository_advisory"))?;
    let repo = ctx.repo()?;
    let ghsa = ghsa(&advisory).ok_or_else(|| ctx.missing("repository_advisory.ghsa_id"))?;
    let action = ctx.action.as_str();
    let state = match advisory.state.as_deref().map(str::trim) {
        Some("withdrawn") => AlertState::Withdrawn,
        Some("closed") => AlertState::Resolved,
        _ if clean(advisory.withdrawn_at.as_deref()).is_some() => AlertState::Withdrawn,
        _ => AlertState::Open,
    };
    let note = match action {
        "published" => "Published".to_string(),
        "reported" => "Reported privately".to_string(),
        other => unknown_action(other),
    };
    let mut alert = advisory_alert(
        AlertSource::RepositoryAdvisory,
        format!("{}:{repo}:{ghsa}", AlertSource::RepositoryAdvisory.as_str()),
        Some(repo),
        &advisory,
        &ghsa,
        state,
        mapping,
    );
    alert.url = clean(advisory.html_url.as_deref());
    Ok(ctx.change(alert, ctx.sender.clone(), note, None))
}
