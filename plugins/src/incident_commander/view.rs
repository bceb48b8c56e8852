//! Read-only views for the web status page: the same rows and the same role check the chat
//! commands use (`/incident list | show | timeline`), so the page has no second source of truth.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sentinel_bot::Actor;
use sentinel_bot::chat::Directory;
use sentinel_bot::config::{Config, ConfigError, deserialize_named};
use sentinel_bot::store::Conn;
use sqlx::Row as _;

use super::auth::{self, Role};
use super::config::IncidentConfig;
use super::model::IncidentId;
pub use super::model::{CheckItem, Incident, LinkedAlert, StageVisit, TimelineEntry, Tracking};
use super::{plugin::IncidentCommander, postmortem, store};

/// The incident commander's section as the plugin itself reads it (roles, checklists).
pub fn config(core: &Config) -> Result<IncidentConfig, Vec<ConfigError>> {
    let prefix = format!("plugins.{}", IncidentCommander::NAME);
    let section: IncidentConfig =
        deserialize_named(core.plugin_section(IncidentCommander::NAME), &prefix).map_err(|err| vec![err])?;
    section.resolve(core, &prefix)
}

/// The highest incident role `actor` holds, exactly as the chat commands decide it.
pub fn role_of(config: &IncidentConfig, directory: &Directory, actor: &Actor) -> Role {
    auth::role_of(&config.roles, directory, actor)
}

/// The role the chat's `/incident show` and `/incident timeline` need.
pub const READ_ROLE: Role = Role::Anyone;
/// The role the chat's `/incident postmortem` needs; the page shows the post-mortem to the same people.
pub const POSTMORTEM_ROLE: Role = Role::Responder;

/// An open incident with its current stage's checklist progress.
#[derive(Debug, Clone)]
pub struct ActiveIncident {
    /// The incident.
    pub incident: Incident,
    /// Items ticked in its current stage.
    pub checks_done: usize,
    /// Items in its current stage.
    pub checks_total: usize,
}

/// Open and acknowledged incidents, oldest first (what `/incident list` shows), at most `limit`.
/// Two queries whatever the number of incidents: the list, then every active incident's
/// checklist progress in its current stage, counted by the database.
pub async fn active(conn: &mut Conn, limit: i64) -> Result<Vec<ActiveIncident>, sqlx::Error> {
    let incidents = store::list(conn, store::Filter::Active, limit).await?;
    let rows = sqlx::query(
        "SELECT c.incident_id, COUNT(*) AS total, COUNT(c.checked_at) AS done
         FROM incident_checks c JOIN incidents i ON i.id = c.incident_id AND c.stage = i.stage
         WHERE i.state IN ('open', 'acknowledged') GROUP BY c.incident_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut progress = HashMap::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("incident_id")?;
        let total: i64 = row.try_get("total")?;
        let done: i64 = row.try_get("done")?;
        progress.insert(
            id,
            (usize::try_from(done).unwrap_or(0), usize::try_from(total).unwrap_or(0)),
        );
    }
    Ok(incidents
        .into_iter()
        .map(|incident| {
            let (checks_done, checks_total) = progress.get(&incident.id.0).copied().unwrap_or((0, 0));
            ActiveIncident {
                incident,
                checks_done,
                checks_total,
            }
        })
        .collect())
}

/// Everything an incident's page shows.
#[derive(Debug, Clone)]
pub struct IncidentPage {
    /// The incident.
    pub incident: Incident,
    /// Its timeline, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Every stage's checklist.
    pub checks: Vec<CheckItem>,
    /// Its stage visits.
    pub visits: Vec<StageVisit>,
    /// Its alerts.
    pub alerts: Vec<LinkedAlert>,
    /// Its GitHub tracking issue, when one was asked for.
    pub tracking: Option<Tracking>,
    /// The post-mortem (Markdown), when one was posted.
    pub postmortem: Option<String>,
}

/// Incident `id`'s page, when it exists; the post-mortem is the one `/incident postmortem` posts.
pub async fn page(
    conn: &mut Conn,
    config: &IncidentConfig,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<IncidentPage>, sqlx::Error> {
    let id = IncidentId(id);
    let Some(incident) = store::get(conn, id).await? else {
        return Ok(None);
    };
    let timeline = store::timeline(conn, id).await?;
    let checks = store::checks(conn, id, None).await?;
    let visits = store::stage_visits(conn, id).await?;
    let alerts = store::alerts(conn, id).await?;
    let tracking = store::tracking(conn, id).await?;
    let postmortem = timeline.iter().any(|e| e.kind == "postmortem").then(|| {
        postmortem::markdown(&postmortem::Facts {
            incident: &incident,
            visits: &visits,
            checks: &checks,
            alerts: &alerts,
            timeline: &timeline,
            lessons: config.checklists.of(super::model::Stage::Lessons),
            now,
        })
    });
    Ok(Some(IncidentPage {
        incident,
        timeline,
        checks,
        visits,
        alerts,
        tracking,
        postmortem,
    }))
}
