//! `dependabot_alert`: a vulnerable dependency.

use crate::alert_notifier::payload::DependabotEvent;

use super::advisory::{cve, cvss, first_vulnerability, ghsa, patched};
use super::delivery::{Ctx, parse};
use super::text::{by, clean, join_reason, login, shorten, time, unknown_action, with_reason};
use super::{Alert, AlertChange, AlertSource, AlertState, NormalizeError, SeverityMapping};

pub(super) fn dependabot(
    ctx: &Ctx<'_>,
    payload: &serde_json::Value,
    mapping: &SeverityMapping,
) -> Result<AlertChange, NormalizeError> {
    let body = parse::<DependabotEvent>(ctx.event, payload)?;
    let a = body.alert.ok_or_else(|| ctx.missing("alert"))?;
    let repo = ctx.repo()?;
    let number = a.number.ok_or_else(|| ctx.missing("alert.number"))?;
    let advisory = a.security_advisory.unwrap_or_default();
    let vulnerability = a.security_vulnerability.or_else(|| first_vulnerability(&advisory));
    let vulnerability = vulnerability.unwrap_or_default();

    let action = ctx.action.as_str();
    let state = match action {
        "created" | "reopened" | "reintroduced" | "auto_reopened" => Some(AlertState::Open),
        "fixed" => Some(AlertState::Fixed),
        "dismissed" | "auto_dismissed" => Some(AlertState::Dismissed),
        _ => None,
    }
    .or_else(|| match a.state.as_deref().map(str::trim) {
        Some("open") => Some(AlertState::Open),
        Some("fixed") => Some(AlertState::Fixed),
        Some("dismissed" | "auto_dismissed") => Some(AlertState::Dismissed),
        _ => None,
    })
    .or_else(|| {
        // Neither the action nor `state` is known: the timestamps still tell.
        if clean(a.fixed_at.as_deref()).is_some() {
            Some(AlertState::Fixed)
        } else if clean(a.dismissed_at.as_deref()).is_some() {
            Some(AlertState::Dismissed)
        } else {
            None
        }
    })
    .unwrap_or(AlertState::Open);

    let dismissal = action == "dismissed" || action == "auto_dismissed";
    let actor = if dismissal {
        login(a.dismissed_by.as_ref()).or_else(|| ctx.sender.clone())
    } else {
        ctx.sender.clone()
    };
    let reason = (state == AlertState::Dismissed)
        .then(|| join_reason(a.dismissed_reason.as_deref(), a.dismissed_comment.as_deref()))
        .flatten();
    let note = match action {
        "created" => "New alert".to_string(),
        "dismissed" => with_reason(by("Dismissed", actor.as_deref()), reason.as_deref()),
        "auto_dismissed" => with_reason("Auto-dismissed".to_string(), reason.as_deref()),
        "reopened" => by("Reopened", actor.as_deref()),
        "auto_reopened" => "Auto-reopened".to_string(),
        "fixed" => "Fixed".to_string(),
        "reintroduced" => "Reintroduced".to_string(),
        other => unknown_action(other),
    };

    let package = vulnerability
        .package
        .clone()
        .or_else(|| a.dependency.as_ref().and_then(|d| d.package.clone()))
        .unwrap_or_default();
    let package_name = clean(package.name.as_deref());
    let title = clean(advisory.summary.as_deref()).unwrap_or_else(|| match &package_name {
        Some(name) => format!("Vulnerable dependency {name}"),
        None => format!("Dependabot alert #{number}"),
    });

    let mut alert = Alert::base(
        AlertSource::Dependabot,
        Some(repo),
        Some(number),
        mapping.advisory_level(
            clean(advisory.severity.as_deref())
                .or_else(|| clean(vulnerability.severity.as_deref()))
                .as_deref(),
        ),
        state,
        title,
    );
    alert.summary = advisory.description.as_deref().and_then(shorten);
    alert.package = package_name;
    alert.ecosystem = clean(package.ecosystem.as_deref());
    alert.vulnerable_range = clean(vulnerability.vulnerable_version_range.as_deref());
    alert.patched_version = patched(&vulnerability);
    alert.manifest = a.dependency.as_ref().and_then(|d| clean(d.manifest_path.as_deref()));
    alert.cve = cve(&advisory);
    alert.ghsa = ghsa(&advisory);
    alert.cvss = cvss(&advisory);
    alert.url = ctx.page(a.html_url.as_deref(), "dependabot", number);
    alert.created_at = time(a.created_at.as_deref());
    Ok(ctx.change(alert, actor, note, reason))
}
