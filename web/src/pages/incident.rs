//! `/web/incidents/{id}` — one incident: its clocks, people, tracking issue, linked alerts,
//! checklists, timeline and post-mortem. Reading it needs what `/incident show` and
//! `/incident timeline` need; the post-mortem needs what `/incident postmortem` needs.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use sentinel_bot::http::AppState;
use sentinel_plugins::incident_commander::view::{self as incidents, IncidentPage};
use sentinel_plugins::incident_commander::{IncidentState, Stage};

use super::{Nav, PageError, html};
use crate::Web;
use crate::access::Session;
use crate::format::{Clock, time};

/// A linked alert.
pub struct AlertRow {
    label: String,
    url: Option<String>,
    severity: String,
    state: String,
}

/// A checklist item.
pub struct CheckRow {
    position: i64,
    item: String,
    done: bool,
    by: Option<String>,
}

/// A timeline entry.
pub struct Entry {
    at: String,
    actor: String,
    text: String,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct Page {
    nav: Nav,
    id: i64,
    title: String,
    severity: String,
    state: String,
    stage: String,
    respond: Option<Clock>,
    resolve: Option<Clock>,
    people: Vec<(&'static str, String)>,
    summary: Option<String>,
    tracking: Option<(String, Option<String>)>,
    alerts: Vec<AlertRow>,
    checks: Vec<(&'static str, Vec<CheckRow>)>,
    timeline: Vec<Entry>,
    postmortem: Option<String>,
    postmortem_note: String,
}

/// `GET /web/incidents/{id}`.
pub async fn page(
    session: Session,
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    session.require(incidents::READ_ROLE)?;
    let id: i64 = id.trim_start_matches('#').parse().map_err(|_| PageError::NotFound)?;
    let now = state.shared.clock.now();
    let mut conn = state.pool.acquire().await?;
    let found = incidents::page(&mut conn, &web.incidents, id, now).await?;
    let Some(found) = found else {
        return Err(PageError::NotFound);
    };
    let may_read_postmortem = session.role >= incidents::POSTMORTEM_ROLE;
    html(&build(found, &session, may_read_postmortem, now))
}

fn https(url: Option<String>) -> Option<String> {
    url.filter(|u| u.starts_with("https://"))
}

fn build(
    found: IncidentPage,
    session: &Session,
    may_read_postmortem: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Page {
    let i = found.incident;
    let unanswered = i.state == IncidentState::Open && i.acknowledged_at.is_none();
    let active = i.state.is_active();
    let mut people = vec![
        ("Commander", i.commander.clone().unwrap_or_else(|| "—".to_owned())),
        ("Assignee", i.assignee.clone().unwrap_or_else(|| "—".to_owned())),
        ("Opened by", format!("{} at {}", i.opened_by, time(i.opened_at))),
    ];
    if let (Some(by), Some(at)) = (&i.acknowledged_by, i.acknowledged_at) {
        people.push(("Acknowledged by", format!("{by} at {}", time(at))));
    }
    if let (Some(by), Some(at)) = (&i.resolved_by, i.resolved_at) {
        people.push(("Resolved by", format!("{by} at {}", time(at))));
    }
    if let (Some(by), Some(at)) = (&i.closed_by, i.closed_at) {
        people.push(("Closed by", format!("{by} at {}", time(at))));
    }
    let mut checks: Vec<(&'static str, Vec<CheckRow>)> = Vec::new();
    for stage in Stage::ALL {
        let items: Vec<CheckRow> = found
            .checks
            .iter()
            .filter(|c| c.stage == stage)
            .map(|c| CheckRow {
                position: c.position,
                item: c.item.clone(),
                done: c.checked.is_some(),
                by: c.checked.as_ref().map(|(by, at)| format!("{by}, {}", time(*at))),
            })
            .collect();
        if !items.is_empty() {
            checks.push((stage.title(), items));
        }
    }
    let postmortem_note = if found.postmortem.is_none() {
        "No post-mortem has been posted yet.".to_owned()
    } else {
        format!(
            "A post-mortem was posted; reading it needs the {} role.",
            incidents::POSTMORTEM_ROLE
        )
    };
    Page {
        nav: Nav::new(session, "now", now),
        id: i.id.0,
        title: i.title,
        severity: i.severity.to_string(),
        state: i.state.to_string(),
        stage: i.stage.title().to_owned(),
        respond: i
            .respond_by
            .filter(|_| unanswered)
            .map(|at| Clock::new(at, now, i.response_breached)),
        resolve: i
            .resolve_by
            .filter(|_| active)
            .map(|at| Clock::new(at, now, i.resolution_breached)),
        people,
        summary: i.summary,
        tracking: found.tracking.map(|t| (t.reference(), https(t.html_url.clone()))),
        alerts: found
            .alerts
            .into_iter()
            .map(|a| AlertRow {
                label: format!(
                    "{} {}{}: {}",
                    a.source,
                    a.repository,
                    a.number.map(|n| format!("#{n}")).unwrap_or_default(),
                    a.title
                ),
                url: https(a.url),
                severity: a.severity,
                state: a.state,
            })
            .collect(),
        checks,
        timeline: found
            .timeline
            .into_iter()
            .map(|e| Entry {
                at: time(e.at),
                actor: e.actor,
                text: e.text,
            })
            .collect(),
        postmortem: found.postmortem.filter(|_| may_read_postmortem),
        postmortem_note,
    }
}
