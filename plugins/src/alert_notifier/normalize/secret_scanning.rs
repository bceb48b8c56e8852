//! `secret_scanning_alert` and `secret_scanning_alert_location`: a leaked secret.

use crate::alert_notifier::payload::{SecretScanningAlert, SecretScanningEvent};

use super::delivery::{Ctx, parse};
use super::text::{by, clean, join_reason, login, position, time, unknown_action, with_reason};
use super::{Alert, AlertChange, AlertSource, AlertState, NormalizeError, SeverityMapping};

pub(super) fn secret_scanning(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
) -> Result<AlertChange, NormalizeError> {
    let body = parse::<SecretScanningEvent>(ctx.event, payload)?;
    let a: SecretScanningAlert = body.alert.ok_or_else(|| ctx.missing("alert"))?;
    let repo = ctx.repo()?;
    let number = a.number.ok_or_else(|| ctx.missing("alert.number"))?;
    let is_location_event = ctx.event == "secret_scanning_alert_location";
    let action = ctx.action.as_str();

    // Webhook alerts often have no `state` (GitHub's own examples don't), so a
    // non-null `resolution` is the next best witness.
    let transition = match action {
        _ if is_location_event => None,
        "created" | "reopened" => Some(AlertState::Open),
        "resolved" | "revoked" => Some(AlertState::Resolved),
        _ => None,
    };
    let state = transition
        .or_else(|| match a.state.as_deref().map(str::trim) {
            Some("open") => Some(AlertState::Open),
            Some("resolved") => Some(AlertState::Resolved),
            _ => None,
        })
        .or_else(|| clean(a.resolution.as_deref()).map(|_| AlertState::Resolved))
        .unwrap_or(AlertState::Open);

    let resolving = !is_location_event && (action == "resolved" || action == "revoked");
    let actor = if resolving {
        login(a.resolved_by.as_ref()).or_else(|| ctx.sender.clone())
    } else {
        ctx.sender.clone()
    };
    let reason = (state == AlertState::Resolved)
        .then(|| join_reason(a.resolution.as_deref(), a.resolution_comment.as_deref()))
        .flatten();
    let validity = clean(a.validity.as_deref());
    let publicly_leaked = (!is_location_event && action == "publicly_leaked") || a.publicly_leaked == Some(true);

    let mut location = None;
    let note = if is_location_event {
        let place = body.location.unwrap_or_default();
        let details = place.details.unwrap_or_default();
        location = position(details.path.as_deref(), details.start_line);
        match (&location, clean(place.kind.as_deref())) {
            (Some(at), _) => format!("New location: {at}"),
            (None, Some(kind)) => format!("New location ({kind})"),
            (None, None) => "New location".to_string(),
        }
    } else {
        match action {
            "created" => "New alert".to_string(),
            "resolved" | "revoked" => with_reason(by("Resolved", actor.as_deref()), reason.as_deref()),
            "reopened" => by("Reopened", actor.as_deref()),
            "publicly_leaked" => "Secret publicly leaked".to_string(),
            "validated" => match &validity {
                Some(v) => format!("Validity checked: {v}"),
                None => "Validity checked".to_string(),
            },
            "assigned" | "unassigned" => "Assignee changed".to_string(),
            other => unknown_action(other),
        }
    };

    let secret_type = clean(a.secret_type_display_name.as_deref()).or_else(|| clean(a.secret_type.as_deref()));
    let title = match &secret_type {
        Some(kind) => format!("Secret detected: {kind}"),
        None => format!("Secret scanning alert #{number}"),
    };
    let mut alert = Alert::base(
        AlertSource::SecretScanning,
        Some(repo),
        Some(number),
        mapping.secret_scanning,
        state,
        title,
    );
    alert.secret_type = secret_type;
    alert.publicly_leaked = publicly_leaked;
    alert.validity = validity;
    alert.location = location;
    alert.url = ctx.page(a.html_url.as_deref(), "secret-scanning", number);
    alert.created_at = time(a.created_at.as_deref());
    Ok(ctx.change(alert, actor, note, reason))
}
