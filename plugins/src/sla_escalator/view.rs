//! Read-only views for the web status page: the next escalation step of an incident (the same
//! pending timer `/sla status` reads) with who it pings, and the silences in force.

use chrono::{DateTime, Utc};
use sentinel_bot::config::{Config, ConfigError, deserialize_named};
use sentinel_bot::store::Conn;

use super::config::{Settings, SlaConfig};
use super::plugin::NAME;
use super::policy::Level;
use super::store;
pub use super::store::Silence;

/// The escalator's settings as the plugin itself resolves them (who each level is).
pub fn settings(core: &Config) -> Result<Settings, Vec<ConfigError>> {
    let section: SlaConfig =
        deserialize_named(core.plugin_section(NAME), &format!("plugins.{NAME}")).map_err(|err| vec![err])?;
    section.settings(core)
}

/// The next escalation ping of an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct NextStep {
    /// When it is due.
    pub at: DateTime<Utc>,
    /// The level, e.g. `L2 security champion`.
    pub level: String,
    /// The people and groups configured for that level (empty: no one configured).
    pub who: Vec<String>,
}

/// Incident `incident`'s next escalation ping, when one is pending.
pub async fn next_step(conn: &mut Conn, settings: &Settings, incident: i64) -> Result<Option<NextStep>, sqlx::Error> {
    let pending = sentinel_bot::store::timers::list(conn, NAME, &format!("incident:{incident}:respond:ping:")).await?;
    Ok(pending.into_iter().find_map(|timer| {
        let level = timer
            .payload
            .get("level")
            .and_then(|l| l.as_str())
            .and_then(Level::parse)?;
        Some(NextStep {
            at: timer.due_at,
            level: level.label().to_owned(),
            who: settings.levels.names(level).to_vec(),
        })
    }))
}

/// Silences in force at `now` (what `/sla status` lists).
pub async fn active_silences(conn: &mut Conn, now: DateTime<Utc>) -> Result<Vec<Silence>, sqlx::Error> {
    store::active_silences(conn, now).await
}
