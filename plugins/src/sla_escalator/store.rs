//! The plugin's tables (`migrations/0004_sla.sql`): `sla_incidents` and `sla_silences`.

use chrono::{DateTime, Utc};
use sentinel_bot::Severity;
use sentinel_bot::store::{Conn, DbRow, from_ms, to_ms};
use sqlx::Row;

use super::plan::{Clocks, Running};
use super::policy::{Level, Snapshot};
use super::silence::matches;

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Clocks may run.
    Open,
    /// Resolved: every clock paused.
    Resolved,
    /// Closed: every clock paused.
    Closed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Resolved => "resolved",
            State::Closed => "closed",
        }
    }

    fn parse(text: &str) -> State {
        match text {
            "resolved" => State::Resolved,
            "closed" => State::Closed,
            _ => State::Open,
        }
    }
}

/// One `sla_incidents` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// The incident id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its repository, when it names one.
    pub repository: Option<String>,
    /// The policy in force.
    pub snapshot: Snapshot,
    /// The plan generation.
    pub generation: i64,
    /// Open, resolved or closed.
    pub state: State,
    /// When it opened.
    pub started_at: DateTime<Utc>,
    /// First acknowledgement.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// When the response clock stopped.
    pub response_stopped_at: Option<DateTime<Utc>>,
    /// Response deadline.
    pub respond_by: DateTime<Utc>,
    /// Resolution deadline.
    pub resolve_by: DateTime<Utc>,
    /// Recorded response breach.
    pub response_breached_at: Option<DateTime<Utc>>,
    /// Recorded resolution breach.
    pub resolution_breached_at: Option<DateTime<Utc>>,
    /// Resolution time used in earlier open periods.
    pub resolution_used: chrono::Duration,
    /// When the resolution clock last started; `None` while paused.
    pub resolution_resumed_at: Option<DateTime<Utc>>,
    /// The last level notified.
    pub level: Option<Level>,
}

impl Incident {
    /// The severity it is planned for.
    pub fn severity(&self) -> Severity {
        self.snapshot.severity
    }

    /// Its clocks, for planning.
    pub fn clocks(&self) -> Clocks {
        Clocks {
            started_at: self.started_at,
            response_running: self.state == State::Open && self.response_stopped_at.is_none(),
            response_breached: self.response_breached_at.is_some(),
            resolution: match (self.state, self.resolution_resumed_at) {
                (State::Open, Some(since)) => Some(Running {
                    since,
                    used: self.resolution_used,
                }),
                _ => None,
            },
            resolution_breached: self.resolution_breached_at.is_some(),
        }
    }
}

fn opt_ms(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(to_ms)
}

fn opt_time(row: &DbRow, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(from_ms))
}

/// The columns [`decode`] reads (named rather than `*`, so a row holds only what is decoded).
const COLUMNS: &str = "incident_id, title, repository, policy, generation, state, started_at, acknowledged_at, \
     response_stopped_at, respond_by, resolve_by, response_breached_at, resolution_breached_at, resolution_used_ms, \
     resolution_resumed_at, level";

fn decode(row: &DbRow) -> Result<Incident, sqlx::Error> {
    let policy: String = row.try_get("policy")?;
    let snapshot: Snapshot = serde_json::from_str(&policy).map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
    let state: String = row.try_get("state")?;
    let level: Option<String> = row.try_get("level")?;
    Ok(Incident {
        id: row.try_get("incident_id")?,
        title: row.try_get("title")?,
        repository: row.try_get("repository")?,
        snapshot,
        generation: row.try_get("generation")?,
        state: State::parse(&state),
        started_at: from_ms(row.try_get("started_at")?),
        acknowledged_at: opt_time(row, "acknowledged_at")?,
        response_stopped_at: opt_time(row, "response_stopped_at")?,
        respond_by: from_ms(row.try_get("respond_by")?),
        resolve_by: from_ms(row.try_get("resolve_by")?),
        response_breached_at: opt_time(row, "response_breached_at")?,
        resolution_breached_at: opt_time(row, "resolution_breached_at")?,
        resolution_used: chrono::Duration::milliseconds(row.try_get("resolution_used_ms")?),
        resolution_resumed_at: opt_time(row, "resolution_resumed_at")?,
        level: level.as_deref().and_then(Level::parse),
    })
}

/// Inserts a new incident. Returns false when it was already there (a replayed `incident.opened`).
pub async fn insert(conn: &mut Conn, incident: &Incident, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let policy = serde_json::to_string(&incident.snapshot).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    let done = sqlx::query(
        "INSERT INTO sla_incidents (incident_id, title, repository, severity, policy, generation, state, started_at,
           acknowledged_at, response_stopped_at, respond_by, resolve_by, response_breached_at, resolution_breached_at,
           resolution_used_ms, resolution_resumed_at, level, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         ON CONFLICT (incident_id) DO NOTHING",
    )
    .bind(incident.id)
    .bind(&incident.title)
    .bind(&incident.repository)
    .bind(incident.severity().as_str())
    .bind(policy)
    .bind(incident.generation)
    .bind(incident.state.as_str())
    .bind(to_ms(incident.started_at))
    .bind(opt_ms(incident.acknowledged_at))
    .bind(opt_ms(incident.response_stopped_at))
    .bind(to_ms(incident.respond_by))
    .bind(to_ms(incident.resolve_by))
    .bind(opt_ms(incident.response_breached_at))
    .bind(opt_ms(incident.resolution_breached_at))
    .bind(incident.resolution_used.num_milliseconds())
    .bind(opt_ms(incident.resolution_resumed_at))
    .bind(incident.level.map(Level::as_str))
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Writes every changeable column of `incident` back.
pub async fn save(conn: &mut Conn, incident: &Incident, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let policy = serde_json::to_string(&incident.snapshot).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    sqlx::query(
        "UPDATE sla_incidents SET title = $1, repository = $2, severity = $3, policy = $4, generation = $5, state = $6,
           acknowledged_at = $7, response_stopped_at = $8, respond_by = $9, resolve_by = $10, response_breached_at = $11,
           resolution_breached_at = $12, resolution_used_ms = $13, resolution_resumed_at = $14, level = $15, updated_at = $16
         WHERE incident_id = $17",
    )
    .bind(&incident.title)
    .bind(&incident.repository)
    .bind(incident.severity().as_str())
    .bind(policy)
    .bind(incident.generation)
    .bind(incident.state.as_str())
    .bind(opt_ms(incident.acknowledged_at))
    .bind(opt_ms(incident.response_stopped_at))
    .bind(to_ms(incident.respond_by))
    .bind(to_ms(incident.resolve_by))
    .bind(opt_ms(incident.response_breached_at))
    .bind(opt_ms(incident.resolution_breached_at))
    .bind(incident.resolution_used.num_milliseconds())
    .bind(opt_ms(incident.resolution_resumed_at))
    .bind(incident.level.map(Level::as_str))
    .bind(to_ms(now))
    .bind(incident.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// One incident.
pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<Incident>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM sla_incidents WHERE incident_id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .map(|row| decode(&row))
    .transpose()
}

/// Every open incident, oldest first.
pub async fn open(conn: &mut Conn) -> Result<Vec<Incident>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM sla_incidents WHERE state = 'open' ORDER BY incident_id"
    )))
    .fetch_all(conn)
    .await?
    .iter()
    .map(decode)
    .collect()
}

/// One `sla_silences` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    /// Its id.
    pub id: i64,
    /// `all` or a repository glob.
    pub pattern: String,
    /// When it ends.
    pub until: DateTime<Utc>,
    /// Why.
    pub reason: String,
    /// Who set it.
    pub created_by: String,
    /// When it was lifted early.
    pub lifted_at: Option<DateTime<Utc>>,
}

/// The columns [`decode_silence`] reads.
const SILENCE_COLUMNS: &str = "id, pattern, until, reason, created_by, lifted_at";

fn decode_silence(row: &DbRow) -> Result<Silence, sqlx::Error> {
    Ok(Silence {
        id: row.try_get("id")?,
        pattern: row.try_get("pattern")?,
        until: from_ms(row.try_get("until")?),
        reason: row.try_get("reason")?,
        created_by: row.try_get("created_by")?,
        lifted_at: opt_time(row, "lifted_at")?,
    })
}

/// Adds a silence. Returns its id.
pub async fn add_silence(
    conn: &mut Conn,
    pattern: &str,
    until: DateTime<Utc>,
    reason: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sla_silences (pattern, until, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(pattern)
    .bind(to_ms(until))
    .bind(reason)
    .bind(by)
    .bind(to_ms(now))
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// One silence.
pub async fn silence(conn: &mut Conn, id: i64) -> Result<Option<Silence>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SILENCE_COLUMNS} FROM sla_silences WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .map(|row| decode_silence(&row))
    .transpose()
}

/// Lifts a silence early.
pub async fn lift_silence(conn: &mut Conn, id: i64, by: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sla_silences SET lifted_at = $1, lifted_by = $2 WHERE id = $3 AND lifted_at IS NULL")
        .bind(to_ms(now))
        .bind(by)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Silences in force at `now`, oldest first.
pub async fn active_silences(conn: &mut Conn, now: DateTime<Utc>) -> Result<Vec<Silence>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SILENCE_COLUMNS} FROM sla_silences WHERE until > $1 AND lifted_at IS NULL ORDER BY id"
    )))
    .bind(to_ms(now))
    .fetch_all(conn)
    .await?
    .iter()
    .map(decode_silence)
    .collect()
}

/// The first silence in force at `now` that covers an incident in `repository`.
pub async fn silence_for(
    conn: &mut Conn,
    repository: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Silence>, sqlx::Error> {
    Ok(active_silences(conn, now)
        .await?
        .into_iter()
        .find(|s| matches(&s.pattern, repository)))
}
