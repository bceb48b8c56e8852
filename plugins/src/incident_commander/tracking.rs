//! The GitHub tracking issue's life: created when an incident opens, updated whenever the incident's
//! message is (only the fields that changed are sent), commented with the post-mortem — all through
//! the core's GitHub worker, whose `github.response` events come back here.
//!
//! Correlations: `incident:<id>:create`, `incident:<id>:patch:<n>` (n counts updates, so an update
//! retried by the worker after a newer one was applied is noticed and corrected) and
//! `incident:<id>:comment`. A change made while the create is unanswered is not lost: the answer
//! compares what was created with the incident as it is then and sends the difference.
//!
//! Failures never stop the incident: they go on the timeline and, once per run of failures, into the
//! incident's thread. A create GitHub refused (4xx, or no token) is tried again with the incident's
//! next change; one that failed with a server or network error is not, since GitHub may have created
//! the issue anyway and a second one would be a duplicate. A failed update makes the next one send
//! every field.

use sentinel_bot::github::{GitHubRequest, GitHubResponse, LookFirst, NO_TOKEN};
use sentinel_bot::{Cx, Message, PluginError};
use serde_json::Value;

use super::config::IncidentConfig;
use super::issue;
use super::model::{Incident, IncidentId, Tracking, TrackingState};
use super::ops;
use super::store;

/// The actor the timeline names for tracking-issue entries.
const GITHUB: &str = "github";

/// What a response answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answered {
    Create,
    Patch(i64),
    Comment,
}

fn correlation(id: IncidentId, what: Answered) -> String {
    match what {
        Answered::Create => format!("incident:{}:create", id.0),
        Answered::Patch(n) => format!("incident:{}:patch:{n}", id.0),
        Answered::Comment => format!("incident:{}:comment", id.0),
    }
}

fn parse_correlation(text: &str) -> Option<(IncidentId, Answered)> {
    let mut parts = text.split(':');
    if parts.next()? != "incident" {
        return None;
    }
    let id = IncidentId(parts.next()?.parse().ok()?);
    let what = match (parts.next()?, parts.next()) {
        ("create", None) => Answered::Create,
        ("patch", Some(n)) => Answered::Patch(n.parse().ok()?),
        ("comment", None) => Answered::Comment,
        _ => return None,
    };
    parts.next().is_none().then_some((id, what))
}

/// `acme/security-incidents#7 — https://github.com/…`: what the incident message shows, once the
/// issue exists.
pub async fn link(cx: &mut Cx<'_>, id: IncidentId) -> Result<Option<String>, PluginError> {
    let tracking = store::tracking(cx.db(), id).await?;
    Ok(tracking
        .filter(|t| t.state == TrackingState::Tracked)
        .map(|t| match &t.html_url {
            Some(url) => format!("{} — {url}", t.reference()),
            None => t.reference(),
        }))
}

/// Brings incident `id`'s issue up to date: creates it for an active incident that has none, else
/// sends what changed. Does nothing when tracking is off.
pub async fn sync(cx: &mut Cx<'_>, config: &IncidentConfig, id: IncidentId) -> Result<(), PluginError> {
    let Some(repository) = config.tracking_issue.repository() else {
        return Ok(());
    };
    let Some(incident) = store::get(cx.db(), id).await? else {
        return Ok(());
    };
    match store::tracking(cx.db(), id).await? {
        // An incident that ended before tracking was turned on gets no issue.
        None if incident.state.is_active() => {
            let fresh = Tracking {
                incident: id,
                repository: repository.to_owned(),
                state: TrackingState::Creating,
                issue_number: None,
                html_url: None,
                synced: None,
                sent_seq: 0,
                applied_seq: 0,
                postmortem: false,
                retry_create: false,
                failure_noted: false,
                last_error: None,
            };
            create(cx, config, &incident, fresh).await
        }
        None => Ok(()),
        Some(tracking) => match tracking.state {
            TrackingState::Creating => Ok(()),
            TrackingState::Failed if tracking.retry_create && incident.state.is_active() => {
                create(cx, config, &incident, tracking).await
            }
            TrackingState::Failed => Ok(()),
            TrackingState::Tracked => update(cx, config, &incident, tracking).await,
        },
    }
}

async fn create(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    incident: &Incident,
    mut tracking: Tracking,
) -> Result<(), PluginError> {
    let alerts = store::alerts(cx.db(), incident.id).await?;
    let desired = issue::desired(&config.tracking_issue, incident, &alerts);
    let (request, created) = issue::create(&desired);
    tracking.state = TrackingState::Creating;
    tracking.synced = Some(created);
    tracking.retry_create = false;
    let now = cx.now();
    store::save_tracking(cx.db(), &tracking, now).await?;
    let path = format!("/repos/{}/issues", tracking.repository);
    // Were the answer lost (a timeout, a 5xx, this instance dying), the worker finds the issue by
    // the marker its body ends with before it creates another; the margin covers clock skew.
    let look = LookFirst {
        listing: format!("{path}?state=all&sort=created&direction=desc&per_page=100"),
        marker: issue::marker(incident.id),
        created_since: Some(now - chrono::Duration::minutes(5)),
    };
    cx.github(GitHubRequest::post(correlation(incident.id, Answered::Create), path, request).look_first(look))
        .await
}

async fn update(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    incident: &Incident,
    mut tracking: Tracking,
) -> Result<(), PluginError> {
    let Some(number) = tracking.issue_number else {
        return Ok(());
    };
    let alerts = store::alerts(cx.db(), incident.id).await?;
    let desired = issue::desired(&config.tracking_issue, incident, &alerts);
    let Some(patch) = issue::changes(tracking.synced.as_ref(), &desired) else {
        return Ok(());
    };
    tracking.sent_seq += 1;
    tracking.synced = Some(desired);
    let now = cx.now();
    store::save_tracking(cx.db(), &tracking, now).await?;
    let path = format!("/repos/{}/issues/{number}", tracking.repository);
    cx.github(GitHubRequest::patch(
        correlation(incident.id, Answered::Patch(tracking.sent_seq)),
        path,
        patch,
    ))
    .await
}

/// Sends the post-mortem to the tracking issue, or keeps it for when the issue exists. Returns what
/// to add to the caller's confirmation (` and to the tracking issue …`), when there is an issue or one
/// on its way.
pub async fn post_mortem(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    id: IncidentId,
    markdown: &str,
) -> Result<Option<String>, PluginError> {
    if config.tracking_issue.repository().is_none() {
        return Ok(None);
    }
    let Some(mut tracking) = store::tracking(cx.db(), id).await? else {
        return Ok(None);
    };
    match (tracking.state, tracking.issue_number) {
        (TrackingState::Tracked, Some(number)) => {
            let path = format!("/repos/{}/issues/{number}/comments", tracking.repository);
            let body = serde_json::json!({ "body": markdown });
            cx.github(GitHubRequest::post(correlation(id, Answered::Comment), path, body))
                .await?;
            Ok(Some(format!(" and to the tracking issue {}", tracking.reference())))
        }
        (TrackingState::Creating, _) => {
            tracking.postmortem = true;
            let now = cx.now();
            store::save_tracking(cx.db(), &tracking, now).await?;
            Ok(Some(format!(
                "; the tracking issue in {} gets it once GitHub has created it",
                tracking.repository
            )))
        }
        _ => Ok(None),
    }
}

/// Handles the answer to one of this plugin's GitHub requests.
pub async fn on_response(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    response: &GitHubResponse,
) -> Result<(), PluginError> {
    let Some((id, what)) = parse_correlation(&response.correlation) else {
        tracing::debug!(correlation = %response.correlation, "ignoring a github response of unknown correlation");
        return Ok(());
    };
    let Some(tracking) = store::tracking(cx.db(), id).await? else {
        return Ok(());
    };
    match what {
        Answered::Create => created(cx, config, response, tracking).await,
        Answered::Patch(seq) => updated(cx, config, response, tracking, seq).await,
        Answered::Comment => commented(cx, config, response, tracking).await,
    }
}

/// Why a request failed, as people read it.
fn reason(response: &GitHubResponse) -> String {
    response
        .error
        .clone()
        .unwrap_or_else(|| "GitHub gave no reason".to_owned())
}

async fn created(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    response: &GitHubResponse,
    mut tracking: Tracking,
) -> Result<(), PluginError> {
    if tracking.state != TrackingState::Creating {
        // Answered already (a replay): nothing to do.
        return Ok(());
    }
    let id = tracking.incident;
    let now = cx.now();
    let body = response.body.as_ref();
    let number = body.and_then(|b| b.get("number")).and_then(Value::as_i64);
    let url = body
        .and_then(|b| b.get("html_url"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(number) = number.filter(|_| response.ok) else {
        let reason = if response.ok {
            "GitHub's answer had no issue number".to_owned()
        } else {
            reason(response)
        };
        // A refusal or a missing token created nothing; after a server or network error GitHub may
        // have created the issue, and trying again could make a second one.
        let nothing_created = matches!(response.status, Some(400..=499)) || response.error.as_deref() == Some(NO_TOKEN);
        tracking.state = TrackingState::Failed;
        tracking.retry_create = nothing_created;
        let then = if nothing_created {
            "Sentinel tries again with the incident's next change."
        } else {
            "Sentinel will not try again, since GitHub may have created it anyway: check the repository."
        };
        let text = format!(
            "Could not create the tracking issue in {}: {reason}",
            tracking.repository
        );
        return failed(cx, config, tracking, &text, then).await;
    };
    tracking.state = TrackingState::Tracked;
    tracking.issue_number = Some(number);
    tracking.html_url.clone_from(&url);
    tracking.failure_noted = false;
    tracking.last_error = None;
    let postmortem = std::mem::take(&mut tracking.postmortem);
    store::save_tracking(cx.db(), &tracking, now).await?;
    let text = match &url {
        Some(url) => format!("created the tracking issue {}: {url}", tracking.reference()),
        None => format!("created the tracking issue {}", tracking.reference()),
    };
    store::record(cx.db(), id, now, GITHUB, "tracking_issue", &text).await?;
    tracing::info!(incident = id.0, issue = number, "tracking issue created");
    // Shows the link, and sends what changed while the create was on its way.
    ops::publish(cx, config, id).await?;
    if postmortem {
        let markdown = ops::post_mortem_markdown(cx, config, id).await?;
        if let Some(markdown) = markdown {
            post_mortem(cx, config, id, &markdown).await?;
        }
    }
    Ok(())
}

async fn updated(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    response: &GitHubResponse,
    mut tracking: Tracking,
    seq: i64,
) -> Result<(), PluginError> {
    let now = cx.now();
    if response.ok {
        if seq < tracking.applied_seq {
            // An older update, retried by the worker, landed after a newer one: GitHub now shows
            // stale fields. Send every field again.
            tracking.synced = None;
            store::save_tracking(cx.db(), &tracking, now).await?;
            return sync(cx, config, tracking.incident).await;
        }
        tracking.applied_seq = seq;
        tracking.failure_noted = false;
        tracking.last_error = None;
        store::save_tracking(cx.db(), &tracking, now).await?;
        return Ok(());
    }
    // What GitHub shows is unknown now; the next update sends every field.
    tracking.synced = None;
    let text = format!(
        "Could not update the tracking issue {}: {}",
        tracking.reference(),
        reason(response)
    );
    failed(
        cx,
        config,
        tracking,
        &text,
        "Sentinel sends the whole issue again with the incident's next change.",
    )
    .await
}

async fn commented(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    response: &GitHubResponse,
    mut tracking: Tracking,
) -> Result<(), PluginError> {
    let id = tracking.incident;
    let now = cx.now();
    if response.ok {
        store::record(
            cx.db(),
            id,
            now,
            GITHUB,
            "tracking_issue",
            &format!("posted the post-mortem to the tracking issue {}", tracking.reference()),
        )
        .await?;
        tracking.failure_noted = false;
        tracking.last_error = None;
        store::save_tracking(cx.db(), &tracking, now).await?;
        return Ok(());
    }
    let text = format!(
        "Could not post the post-mortem to the tracking issue {}: {}",
        tracking.reference(),
        reason(response)
    );
    failed(
        cx,
        config,
        tracking,
        &text,
        "It is in the channel; `/incident postmortem` sends it again.",
    )
    .await
}

/// Records a failure on the timeline and, the first time in a run of failures, in the incident's
/// thread.
async fn failed(
    cx: &mut Cx<'_>,
    config: &IncidentConfig,
    mut tracking: Tracking,
    text: &str,
    then: &str,
) -> Result<(), PluginError> {
    let id = tracking.incident;
    let now = cx.now();
    tracing::warn!(incident = id.0, repository = %tracking.repository, cause = %text, "tracking issue request failed");
    tracking.last_error = Some(text.to_owned());
    let tell = !tracking.failure_noted;
    tracking.failure_noted = true;
    store::save_tracking(cx.db(), &tracking, now).await?;
    store::record(cx.db(), id, now, GITHUB, "tracking_failed", text).await?;
    if tell {
        let note = format!(
            "⚠️ Incident {id}: {}. The incident goes on here. {then}",
            text.trim_end_matches('.')
        );
        ops::note(cx, config, id, Message::new("", note)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlations_read_back_and_others_are_ignored() {
        for what in [Answered::Create, Answered::Patch(3), Answered::Comment] {
            assert_eq!(
                parse_correlation(&correlation(IncidentId(12), what)),
                Some((IncidentId(12), what))
            );
        }
        assert_eq!(parse_correlation("audit:42:dependabot:acme/app"), None);
        assert_eq!(parse_correlation("incident:x:create"), None);
        assert_eq!(parse_correlation("incident:1:patch"), None);
        assert_eq!(parse_correlation("incident:1:create:extra"), None);
    }
}
