//! `/web` — what is open now: incidents with severity, state, commander, stage, checklist
//! progress, their SLA clocks and the next escalation step with who it pings; silences in force.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use sentinel_bot::http::AppState;
use sentinel_plugins::incident_commander::IncidentState;
use sentinel_plugins::incident_commander::view::{self as incidents, ActiveIncident};
use sentinel_plugins::sla_escalator::view as sla;

use super::{Nav, PageError, html};
use crate::Web;
use crate::access::Session;
use crate::format::{Clock, time};

/// Most incidents listed (the oldest first, as `/incident list` orders them).
const LIMIT: i64 = 500;

/// One row of the incidents table.
pub struct Row {
    id: i64,
    title: String,
    severity: String,
    state: String,
    commander: String,
    stage: String,
    checks: String,
    /// The response clock while it runs.
    respond: Option<Clock>,
    /// Shown instead once it stopped: `acknowledged`, `breached`, `no deadline`.
    respond_note: String,
    respond_breached: bool,
    resolve: Option<Clock>,
    next: String,
}

/// One silence.
pub struct SilenceRow {
    id: i64,
    pattern: String,
    until: String,
    reason: String,
    by: String,
}

#[derive(Template)]
#[template(path = "now.html")]
struct NowPage {
    nav: Nav,
    now: String,
    incidents: Vec<Row>,
    silences: Vec<SilenceRow>,
}

/// `GET /web`.
pub async fn page(
    session: Session,
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
) -> Result<Response, PageError> {
    session.require(incidents::READ_ROLE)?;
    let body = render(&state, &web, &session).await?;
    Ok(body)
}

/// The page for `session` (also what the benchmark times).
pub async fn render(state: &AppState, web: &Web, session: &Session) -> Result<Response, PageError> {
    let now = state.shared.clock.now();
    let mut conn = state.pool.acquire().await?;
    let active = incidents::active(&mut conn, LIMIT).await?;
    let mut next_steps = sla::next_steps(&mut conn, &web.sla).await?;
    let rows = active
        .into_iter()
        .map(|item| {
            let next = next_steps.remove(&item.incident.id.0);
            row(item, next, now)
        })
        .collect();
    let silences = sla::active_silences(&mut conn, now)
        .await?
        .into_iter()
        .map(|s| SilenceRow {
            id: s.id,
            pattern: s.pattern,
            until: time(s.until),
            reason: s.reason,
            by: s.created_by,
        })
        .collect();
    html(&NowPage {
        nav: Nav::new(session, "now", now),
        now: time(now),
        incidents: rows,
        silences,
    })
}

fn row(item: ActiveIncident, next: Option<sla::NextStep>, now: chrono::DateTime<chrono::Utc>) -> Row {
    let i = item.incident;
    let unanswered = i.state == IncidentState::Open && i.acknowledged_at.is_none();
    let respond = i
        .respond_by
        .filter(|_| unanswered)
        .map(|at| Clock::new(at, now, i.response_breached));
    let respond_note = match (i.respond_by, i.response_breached) {
        (_, true) => "breached".to_owned(),
        (None, false) => "no deadline".to_owned(),
        (Some(_), false) => "acknowledged".to_owned(),
    };
    let next = match next {
        Some(step) if unanswered => {
            let who = if step.who.is_empty() {
                "no one configured".to_owned()
            } else {
                step.who.join(", ")
            };
            format!("{} → {} ({who})", Clock::new(step.at, now, false).words, step.level)
        }
        _ => "—".to_owned(),
    };
    Row {
        id: i.id.0,
        title: i.title,
        severity: i.severity.to_string(),
        state: i.state.to_string(),
        commander: i.commander.unwrap_or_else(|| "—".to_owned()),
        stage: i.stage.title().to_owned(),
        checks: format!("{}/{}", item.checks_done, item.checks_total),
        respond,
        respond_note,
        respond_breached: i.response_breached,
        resolve: i.resolve_by.map(|at| Clock::new(at, now, i.resolution_breached)),
        next,
    }
}
