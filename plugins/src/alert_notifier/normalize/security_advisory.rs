//! `security_advisory`: a global advisory published or changed in the GitHub Advisory Database.

use crate::alert_notifier::payload::SecurityAdvisoryEvent;

use super::advisory::{advisory_alert, ghsa};
use super::delivery::{Ctx, parse};
use super::text::{clean, unknown_action};
use super::{AlertChange, AlertSource, AlertState, NormalizeError, SeverityMapping};

pub(super) fn security_advisory(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
) -> Result<AlertChange, NormalizeError> {
    let body = parse::<SecurityAdvisoryEvent>(ctx.event, payload)?;
    let advisory = body.security_advisory.ok_or_else(|| ctx.missing("security_advisory"))?;
    let ghsa = ghsa(&advisory).ok_or_else(|| ctx.missing("security_advisory.ghsa_id"))?;
    let action = ctx.action.as_str();
    let withdrawn = action == "withdrawn" || clean(advisory.withdrawn_at.as_deref()).is_some();
    let state = if withdrawn {
        AlertState::Withdrawn
    } else {
        AlertState::Open
    };
    let note = match action {
        "published" => "Published".to_string(),
        "updated" => "Updated".to_string(),
        "performed" => "Performed".to_string(),
        "withdrawn" => "Withdrawn".to_string(),
        other => unknown_action(other),
    };
    let mut alert = advisory_alert(
        AlertSource::SecurityAdvisory,
        format!("{}:{ghsa}", AlertSource::SecurityAdvisory.as_str()),
        None,
        &advisory,
        &ghsa,
        state,
        mapping,
    );
    // Global advisories always live at this address; the payload has no link.
    alert.url = clean(advisory.html_url.as_deref()).or_else(|| Some(format!("https://github.com/advisories/{ghsa}")));
    Ok(ctx.change(alert, ctx.sender.clone(), note, None))
}
