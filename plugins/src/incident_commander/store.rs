//! The incident commander's tables (migrations `0003_incidents.sql`, `0008_incident_tracking.sql`): every
//! query it runs.

use chrono::{DateTime, Utc};
use sentinel_bot::Severity;
use sentinel_bot::store::{Conn, DbRow, from_ms, to_ms};
use sqlx::Row;

use super::model::{
    CheckItem, Incident, IncidentId, IncidentState, LinkedAlert, Stage, StageVisit, TimelineEntry, Tracking,
    TrackingState,
};

/// What a new incident starts with.
#[derive(Debug, Clone)]
pub struct NewIncident<'a> {
    /// What it is about.
    pub title: &'a str,
    /// How bad.
    pub severity: Severity,
    /// Who opened it.
    pub opened_by: &'a str,
    /// The first alert's repository.
    pub repository: Option<&'a str>,
    /// The key later alerts are grouped on.
    pub grouping_key: Option<&'a str>,
}

const COLUMNS: &str = "id, title, severity, state, stage, commander, assignee, repository, grouping_key, summary, \
     opened_at, opened_by, acknowledged_at, acknowledged_by, resolved_at, resolved_by, closed_at, closed_by, \
     respond_by, resolve_by, response_breached, resolution_breached";

fn incident(row: &DbRow) -> Result<Incident, sqlx::Error> {
    let time = |column: &str| -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        Ok(row.try_get::<Option<i64>, _>(column)?.map(from_ms))
    };
    let severity: String = row.try_get("severity")?;
    Ok(Incident {
        id: IncidentId(row.try_get("id")?),
        title: row.try_get("title")?,
        // Only this module writes the column, always from a `Severity`.
        severity: severity.parse().unwrap_or(Severity::High),
        state: IncidentState::parse(row.try_get::<&str, _>("state")?),
        stage: Stage::parse_stored(row.try_get::<&str, _>("stage")?),
        commander: row.try_get("commander")?,
        assignee: row.try_get("assignee")?,
        repository: row.try_get("repository")?,
        grouping_key: row.try_get("grouping_key")?,
        summary: row.try_get("summary")?,
        opened_at: from_ms(row.try_get("opened_at")?),
        opened_by: row.try_get("opened_by")?,
        acknowledged_at: time("acknowledged_at")?,
        acknowledged_by: row.try_get("acknowledged_by")?,
        resolved_at: time("resolved_at")?,
        resolved_by: row.try_get("resolved_by")?,
        closed_at: time("closed_at")?,
        closed_by: row.try_get("closed_by")?,
        respond_by: time("respond_by")?,
        resolve_by: time("resolve_by")?,
        response_breached: row.try_get::<i64, _>("response_breached")? != 0,
        resolution_breached: row.try_get::<i64, _>("resolution_breached")? != 0,
    })
}

/// Creates an incident in state open and stage detection. Returns its id.
pub async fn insert(conn: &mut Conn, new: &NewIncident<'_>, now: DateTime<Utc>) -> Result<IncidentId, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO incidents (title, severity, state, stage, repository, grouping_key, opened_at, opened_by, updated_at)
         VALUES ($1, $2, 'open', 'detection', $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(new.title)
    .bind(new.severity.as_str())
    .bind(new.repository)
    .bind(new.grouping_key)
    .bind(to_ms(now))
    .bind(new.opened_by)
    .bind(to_ms(now))
    .fetch_one(&mut *conn)
    .await?;
    Ok(IncidentId(id))
}

/// One incident.
pub async fn get(conn: &mut Conn, id: IncidentId) -> Result<Option<Incident>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM incidents WHERE id = $1"));
    let row = sqlx::query(sql).bind(id.0).fetch_optional(conn).await?;
    row.as_ref().map(incident).transpose()
}

/// Which incidents a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Open or acknowledged, oldest first.
    Active,
    /// Every incident, newest first.
    All,
}

/// Incidents matching `filter`, at most `limit`.
pub async fn list(conn: &mut Conn, filter: Filter, limit: i64) -> Result<Vec<Incident>, sqlx::Error> {
    let sql = match filter {
        Filter::Active => {
            format!("SELECT {COLUMNS} FROM incidents WHERE state IN ('open', 'acknowledged') ORDER BY id LIMIT $1")
        }
        Filter::All => format!("SELECT {COLUMNS} FROM incidents ORDER BY id DESC LIMIT $1"),
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(incident).collect()
}

/// The active incident alerts with `grouping_key` are linked to, when there is one.
pub async fn active_for_group(conn: &mut Conn, grouping_key: &str) -> Result<Option<IncidentId>, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM incidents WHERE grouping_key = $1 AND state IN ('open', 'acknowledged') ORDER BY id LIMIT 1",
    )
    .bind(grouping_key)
    .fetch_optional(conn)
    .await?;
    Ok(id.map(IncidentId))
}

/// Every incident the alert `alert_key` is linked to.
pub async fn incidents_of_alert(conn: &mut Conn, alert_key: &str) -> Result<Vec<IncidentId>, sqlx::Error> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT incident_id FROM incident_alerts WHERE alert_key = $1 ORDER BY incident_id")
            .bind(alert_key)
            .fetch_all(conn)
            .await?;
    Ok(ids.into_iter().map(IncidentId).collect())
}

/// A change of one incident's own columns.
#[derive(Debug, Clone)]
pub enum Change<'a> {
    /// open → acknowledged (the first acknowledgement is kept).
    Acknowledge {
        /// Who.
        by: &'a str,
    },
    /// → resolved.
    Resolve {
        /// Who.
        by: &'a str,
        /// What was done.
        summary: Option<&'a str>,
    },
    /// resolved/closed → `to`.
    Reopen {
        /// The state it returns to.
        to: IncidentState,
    },
    /// resolved → closed.
    Close {
        /// Who.
        by: &'a str,
    },
    /// New severity.
    Severity(Severity),
    /// New stage.
    Stage(Stage),
    /// New commander.
    Commander(&'a str),
    /// New assignee.
    Assignee(&'a str),
    /// SLA deadlines.
    Deadlines {
        /// Respond by.
        respond_by: Option<DateTime<Utc>>,
        /// Resolve by.
        resolve_by: Option<DateTime<Utc>>,
    },
    /// The response deadline was breached.
    ResponseBreached,
    /// The resolution deadline was breached.
    ResolutionBreached,
}

/// Applies `change` to incident `id`.
pub async fn update(
    conn: &mut Conn,
    id: IncidentId,
    change: Change<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let at = to_ms(now);
    let query = match change {
        Change::Acknowledge { by } => sqlx::query(
            "UPDATE incidents SET state = 'acknowledged', acknowledged_at = COALESCE(acknowledged_at, $1),
             acknowledged_by = COALESCE(acknowledged_by, $2), updated_at = $3 WHERE id = $4",
        )
        .bind(at)
        .bind(by)
        .bind(at),
        Change::Resolve { by, summary } => sqlx::query(
            "UPDATE incidents SET state = 'resolved', resolved_at = $1, resolved_by = $2, summary = COALESCE($3, summary),
             acknowledged_at = COALESCE(acknowledged_at, $4), acknowledged_by = COALESCE(acknowledged_by, $5),
             updated_at = $6 WHERE id = $7",
        )
        .bind(at)
        .bind(by)
        .bind(summary)
        .bind(at)
        .bind(by)
        .bind(at),
        Change::Reopen { to } => sqlx::query(
            "UPDATE incidents SET state = $1, resolved_at = NULL, resolved_by = NULL, closed_at = NULL, closed_by = NULL,
             updated_at = $2 WHERE id = $3",
        )
        .bind(to.as_str())
        .bind(at),
        Change::Close { by } => {
            sqlx::query("UPDATE incidents SET state = 'closed', closed_at = $1, closed_by = $2, updated_at = $3 WHERE id = $4")
                .bind(at)
                .bind(by)
                .bind(at)
        }
        Change::Severity(severity) => sqlx::query("UPDATE incidents SET severity = $1, updated_at = $2 WHERE id = $3")
            .bind(severity.as_str())
            .bind(at),
        Change::Stage(stage) => sqlx::query("UPDATE incidents SET stage = $1, updated_at = $2 WHERE id = $3")
            .bind(stage.as_str())
            .bind(at),
        Change::Commander(name) => sqlx::query("UPDATE incidents SET commander = $1, updated_at = $2 WHERE id = $3")
            .bind(name)
            .bind(at),
        Change::Assignee(name) => sqlx::query("UPDATE incidents SET assignee = $1, updated_at = $2 WHERE id = $3")
            .bind(name)
            .bind(at),
        Change::Deadlines { respond_by, resolve_by } => {
            sqlx::query("UPDATE incidents SET respond_by = $1, resolve_by = $2, updated_at = $3 WHERE id = $4")
                .bind(respond_by.map(to_ms))
                .bind(resolve_by.map(to_ms))
                .bind(at)
        }
        Change::ResponseBreached => {
            sqlx::query("UPDATE incidents SET response_breached = 1, updated_at = $1 WHERE id = $2").bind(at)
        }
        Change::ResolutionBreached => {
            sqlx::query("UPDATE incidents SET resolution_breached = 1, updated_at = $1 WHERE id = $2").bind(at)
        }
    };
    query.bind(id.0).execute(conn).await?;
    Ok(())
}

/// Appends a timeline entry.
pub async fn record(
    conn: &mut Conn,
    id: IncidentId,
    at: DateTime<Utc>,
    actor: &str,
    kind: &str,
    text: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO incident_timeline (incident_id, at, actor, kind, text) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.0)
        .bind(to_ms(at))
        .bind(actor)
        .bind(kind)
        .bind(text)
        .execute(conn)
        .await?;
    Ok(())
}

/// The timeline, oldest first.
pub async fn timeline(conn: &mut Conn, id: IncidentId) -> Result<Vec<TimelineEntry>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT at, actor, kind, text FROM incident_timeline WHERE incident_id = $1 ORDER BY at, id")
            .bind(id.0)
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|row| {
            Ok(TimelineEntry {
                at: from_ms(row.try_get("at")?),
                actor: row.try_get("actor")?,
                kind: row.try_get("kind")?,
                text: row.try_get("text")?,
            })
        })
        .collect()
}

/// The texts of incident `id`'s timeline entries of `kind`, oldest first.
pub async fn timeline_texts(conn: &mut Conn, id: IncidentId, kind: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT text FROM incident_timeline WHERE incident_id = $1 AND kind = $2 ORDER BY at, id")
        .bind(id.0)
        .bind(kind)
        .fetch_all(conn)
        .await
}

/// The latest status update's text, when there is one.
pub async fn last_update(conn: &mut Conn, id: IncidentId) -> Result<Option<TimelineEntry>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT at, actor, kind, text FROM incident_timeline WHERE incident_id = $1 AND kind = 'update'
         ORDER BY at DESC, id DESC LIMIT 1",
    )
    .bind(id.0)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(TimelineEntry {
            at: from_ms(row.try_get("at")?),
            actor: row.try_get("actor")?,
            kind: row.try_get("kind")?,
            text: row.try_get("text")?,
        })
    })
    .transpose()
}

/// Starts a visit of `stage` at `now`, ending the current one, and copies the stage's checklist
/// `items` the first time the incident enters it.
pub async fn enter_stage(
    conn: &mut Conn,
    id: IncidentId,
    stage: Stage,
    items: &[String],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    leave_stage(&mut *conn, id, now).await?;
    sqlx::query("INSERT INTO incident_stages (incident_id, stage, entered_at) VALUES ($1, $2, $3)")
        .bind(id.0)
        .bind(stage.as_str())
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    let seeded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM incident_checks WHERE incident_id = $1 AND stage = $2")
        .bind(id.0)
        .bind(stage.as_str())
        .fetch_one(&mut *conn)
        .await?;
    if seeded == 0 {
        for (index, item) in items.iter().enumerate() {
            sqlx::query("INSERT INTO incident_checks (incident_id, stage, position, item) VALUES ($1, $2, $3, $4)")
                .bind(id.0)
                .bind(stage.as_str())
                .bind(i64::try_from(index).unwrap_or(i64::MAX) + 1)
                .bind(item)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Ends the current stage visit at `now` (the stage clock stops while an incident is closed).
pub async fn leave_stage(conn: &mut Conn, id: IncidentId, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE incident_stages SET left_at = $1 WHERE incident_id = $2 AND left_at IS NULL")
        .bind(to_ms(now))
        .bind(id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Starts a visit of `stage` without touching its checklist (a reopened incident resumes its stage).
pub async fn resume_stage(
    conn: &mut Conn,
    id: IncidentId,
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO incident_stages (incident_id, stage, entered_at) VALUES ($1, $2, $3)")
        .bind(id.0)
        .bind(stage.as_str())
        .bind(to_ms(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Every stage visit, in order.
pub async fn stage_visits(conn: &mut Conn, id: IncidentId) -> Result<Vec<StageVisit>, sqlx::Error> {
    let rows = sqlx::query("SELECT stage, entered_at, left_at FROM incident_stages WHERE incident_id = $1 ORDER BY id")
        .bind(id.0)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(StageVisit {
                stage: Stage::parse_stored(row.try_get::<&str, _>("stage")?),
                entered_at: from_ms(row.try_get("entered_at")?),
                left_at: row.try_get::<Option<i64>, _>("left_at")?.map(from_ms),
            })
        })
        .collect()
}

/// The checklist items of `stage`, or of every stage when `None`, in stage and item order.
pub async fn checks(conn: &mut Conn, id: IncidentId, stage: Option<Stage>) -> Result<Vec<CheckItem>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT stage, position, item, checked_by, checked_at FROM incident_checks
         WHERE incident_id = $1 AND (CAST($2 AS TEXT) IS NULL OR stage = $3) ORDER BY position",
    )
    .bind(id.0)
    .bind(stage.map(Stage::as_str))
    .bind(stage.map(Stage::as_str))
    .fetch_all(conn)
    .await?;
    let mut items = rows
        .iter()
        .map(|row| {
            let by: Option<String> = row.try_get("checked_by")?;
            let at: Option<i64> = row.try_get("checked_at")?;
            Ok(CheckItem {
                stage: Stage::parse_stored(row.try_get::<&str, _>("stage")?),
                position: row.try_get("position")?,
                item: row.try_get("item")?,
                checked: by.zip(at.map(from_ms)),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    items.sort_by_key(|item| (item.stage, item.position));
    Ok(items)
}

/// Ticks one checklist item.
pub async fn tick(
    conn: &mut Conn,
    id: IncidentId,
    stage: Stage,
    position: i64,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE incident_checks SET checked_by = $1, checked_at = $2 WHERE incident_id = $3 AND stage = $4 AND position = $5",
    )
    .bind(by)
    .bind(to_ms(now))
    .bind(id.0)
    .bind(stage.as_str())
    .bind(position)
    .execute(conn)
    .await?;
    Ok(())
}

/// Links an alert to an incident (a second link of the same alert is ignored). Returns whether it
/// was new.
pub async fn link_alert(
    conn: &mut Conn,
    id: IncidentId,
    alert: &LinkedAlert,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO incident_alerts (incident_id, alert_key, source, repository, number, title, severity, state, url, linked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (incident_id, alert_key) DO NOTHING",
    )
    .bind(id.0)
    .bind(&alert.key)
    .bind(&alert.source)
    .bind(&alert.repository)
    .bind(alert.number)
    .bind(&alert.title)
    .bind(&alert.severity)
    .bind(&alert.state)
    .bind(&alert.url)
    .bind(to_ms(now))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}

/// Records an alert's new state on every incident it is linked to.
pub async fn set_alert_state(conn: &mut Conn, alert_key: &str, state: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE incident_alerts SET state = $1 WHERE alert_key = $2")
        .bind(state)
        .bind(alert_key)
        .execute(conn)
        .await?;
    Ok(())
}

/// The alerts linked to an incident, in the order they were linked.
pub async fn alerts(conn: &mut Conn, id: IncidentId) -> Result<Vec<LinkedAlert>, sqlx::Error> {
    // `rowid` breaks ties between alerts linked in the same millisecond: SQLite's implicit row id,
    // and on PostgreSQL an identity column of that name (the table has no other insertion order).
    let rows = sqlx::query(
        "SELECT alert_key, source, repository, number, title, severity, state, url FROM incident_alerts
         WHERE incident_id = $1 ORDER BY linked_at, rowid",
    )
    .bind(id.0)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(LinkedAlert {
                key: row.try_get("alert_key")?,
                source: row.try_get("source")?,
                repository: row.try_get("repository")?,
                number: row.try_get("number")?,
                title: row.try_get("title")?,
                severity: row.try_get("severity")?,
                state: row.try_get("state")?,
                url: row.try_get("url")?,
            })
        })
        .collect()
}

/// The tracking issue of incident `id`, when one was ever asked for.
pub async fn tracking(conn: &mut Conn, id: IncidentId) -> Result<Option<Tracking>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT repository, state, issue_number, html_url, synced, sent_seq, applied_seq, postmortem, retry_create,
                failure_noted, last_error
         FROM incident_tracking WHERE incident_id = $1",
    )
    .bind(id.0)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        let synced: Option<String> = row.try_get("synced")?;
        Ok(Tracking {
            incident: id,
            repository: row.try_get("repository")?,
            state: TrackingState::parse(row.try_get::<&str, _>("state")?),
            issue_number: row.try_get("issue_number")?,
            html_url: row.try_get("html_url")?,
            // Only this module writes the column, always JSON; anything else reads as unknown.
            synced: synced.and_then(|text| serde_json::from_str(&text).ok()),
            sent_seq: row.try_get("sent_seq")?,
            applied_seq: row.try_get("applied_seq")?,
            postmortem: row.try_get::<i64, _>("postmortem")? != 0,
            retry_create: row.try_get::<i64, _>("retry_create")? != 0,
            failure_noted: row.try_get::<i64, _>("failure_noted")? != 0,
            last_error: row.try_get("last_error")?,
        })
    })
    .transpose()
}

/// Stores `tracking` (created on first save, replaced after).
pub async fn save_tracking(conn: &mut Conn, tracking: &Tracking, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let synced = tracking.synced.as_ref().map(serde_json::Value::to_string);
    sqlx::query(
        "INSERT INTO incident_tracking (incident_id, repository, state, issue_number, html_url, synced, sent_seq,
             applied_seq, postmortem, retry_create, failure_noted, last_error, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
         ON CONFLICT (incident_id) DO UPDATE SET repository = excluded.repository, state = excluded.state,
             issue_number = excluded.issue_number, html_url = excluded.html_url, synced = excluded.synced,
             sent_seq = excluded.sent_seq, applied_seq = excluded.applied_seq, postmortem = excluded.postmortem,
             retry_create = excluded.retry_create, failure_noted = excluded.failure_noted,
             last_error = excluded.last_error, updated_at = excluded.updated_at",
    )
    .bind(tracking.incident.0)
    .bind(&tracking.repository)
    .bind(tracking.state.as_str())
    .bind(tracking.issue_number)
    .bind(&tracking.html_url)
    .bind(synced)
    .bind(tracking.sent_seq)
    .bind(tracking.applied_seq)
    .bind(i64::from(tracking.postmortem))
    .bind(i64::from(tracking.retry_create))
    .bind(i64::from(tracking.failure_noted))
    .bind(&tracking.last_error)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}
