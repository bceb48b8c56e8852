//! Read-only views for the web status page: the next escalation step of an incident (the same
//! pending timer `/sla status` reads) with who it pings, and the silences in force.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sentinel_bot::config::{Config, ConfigError, deserialize_named};
use sentinel_bot::store::Conn;
use sentinel_bot::store::timers::PendingTimer;

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

/// Every incident's next escalation ping, keyed by incident id, in one query (the status page
/// lists up to hundreds of incidents; one query each was most of its render time).
pub async fn next_steps(conn: &mut Conn, settings: &Settings) -> Result<HashMap<i64, NextStep>, sqlx::Error> {
    let pending = sentinel_bot::store::timers::list(conn, NAME, "incident:").await?;
    let mut steps = HashMap::new();
    // `list` orders by due time, so the first ping seen for an incident is its next one.
    for timer in &pending {
        let Some(incident) = ping_incident(&timer.key.0) else {
            continue;
        };
        if steps.contains_key(&incident) {
            continue;
        }
        if let Some(step) = step_of(settings, timer) {
            steps.insert(incident, step);
        }
    }
    Ok(steps)
}

/// The incident of an escalation ping's timer key (`incident:{id}:respond:ping:{n}:{repeat}`).
fn ping_incident(key: &str) -> Option<i64> {
    let (id, rest) = key.strip_prefix("incident:")?.split_once(':')?;
    rest.starts_with("respond:ping:").then(|| id.parse().ok()).flatten()
}

fn step_of(settings: &Settings, timer: &PendingTimer) -> Option<NextStep> {
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
}

/// Silences in force at `now` (what `/sla status` lists).
pub async fn active_silences(conn: &mut Conn, now: DateTime<Utc>) -> Result<Vec<Silence>, sqlx::Error> {
    store::active_silences(conn, now).await
}

#[cfg(test)]
mod tests {
    use super::ping_incident;

    #[test]
    fn ping_keys_name_their_incident_and_nothing_else_does() {
        assert_eq!(ping_incident("incident:7:respond:ping:1:0"), Some(7));
        assert_eq!(ping_incident("incident:12:respond:ping:2:3"), Some(12));
        assert_eq!(ping_incident("incident:7:resolve:deadline"), None);
        assert_eq!(ping_incident("incident:x:respond:ping:1:0"), None);
        assert_eq!(ping_incident("silence:3"), None);
    }
}
