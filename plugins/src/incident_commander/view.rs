//! Read-only views for the web status page: the same rows and the same role check the chat
//! commands use (`/incident list | show | timeline`), so the page has no second source of truth.

use chrono::{DateTime, Utc};
use sentinel_bot::Actor;
use sentinel_bot::chat::Directory;
use sentinel_bot::config::{Config, ConfigError, deserialize_named};
use sentinel_bot::store::Conn;

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
pub async fn active(conn: &mut Conn, limit: i64) -> Result<Vec<ActiveIncident>, sqlx::Error> {
    let incidents = store::list(conn, store::Filter::Active, limit).await?;
    let mut out = Vec::with_capacity(incidents.len());
    for incident in incidents {
        let checks = store::checks(conn, incident.id, Some(incident.stage)).await?;
        out.push(ActiveIncident {
            checks_done: checks.iter().filter(|c| c.checked.is_some()).count(),
            checks_total: checks.len(),
            incident,
        });
    }
    Ok(out)
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
