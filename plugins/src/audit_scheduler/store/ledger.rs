//! The plugin's own record of alerts and incidents, as the domain events announced them.

use chrono::{DateTime, Utc};
use sentinel_bot::store::{Conn, DbRow, from_ms, to_ms};
use sqlx::Row;

use super::opt_time;

/// An alert as announced by `alert.raised`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertFact {
    /// Its key.
    pub key: String,
    /// dependabot, code_scanning, secret_scanning, …
    pub source: String,
    /// `org/repo`.
    pub repository: Option<String>,
    /// GitHub's alert number.
    pub number: Option<i64>,
    /// Its severity.
    pub severity: Option<String>,
    /// Its title.
    pub title: String,
    /// The vulnerable package.
    pub package: Option<String>,
    /// CVE id.
    pub cve: Option<String>,
    /// GHSA id.
    pub ghsa: Option<String>,
    /// Link.
    pub url: Option<String>,
    /// When GitHub created it.
    pub created_at: Option<DateTime<Utc>>,
    /// When Sentinel announced it.
    pub raised_at: DateTime<Utc>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// How it was closed.
    pub close_action: Option<String>,
}

fn alert_of(row: &DbRow) -> Result<AlertFact, sqlx::Error> {
    Ok(AlertFact {
        key: row.try_get("key")?,
        source: row.try_get("source")?,
        repository: row.try_get("repository")?,
        number: row.try_get("number")?,
        severity: row.try_get("severity")?,
        title: row.try_get("title")?,
        package: row.try_get("package")?,
        cve: row.try_get("cve")?,
        ghsa: row.try_get("ghsa")?,
        url: row.try_get("url")?,
        created_at: opt_time(row.try_get("created_at")?),
        raised_at: from_ms(row.try_get("raised_at")?),
        closed_at: opt_time(row.try_get("closed_at")?),
        close_action: row.try_get("close_action")?,
    })
}

const ALERT_COLUMNS: &str = "key, source, repository, number, severity, title, package, cve, ghsa, url, created_at, raised_at, closed_at, close_action";

/// Records an alert as open (raised or reopened); its first announcement time is kept.
pub async fn alert_opened(conn: &mut Conn, alert: &AlertFact) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_alerts (key, source, repository, number, severity, title, package, cve, ghsa, url, state,
            created_at, raised_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12)
         ON CONFLICT (key) DO UPDATE SET source = excluded.source, repository = excluded.repository,
            number = excluded.number, severity = excluded.severity, title = excluded.title, package = excluded.package,
            cve = excluded.cve, ghsa = excluded.ghsa, url = excluded.url, state = 'open',
            created_at = COALESCE(audit_alerts.created_at, excluded.created_at), closed_at = NULL, close_action = NULL",
    )
    .bind(&alert.key)
    .bind(&alert.source)
    .bind(&alert.repository)
    .bind(alert.number)
    .bind(&alert.severity)
    .bind(&alert.title)
    .bind(&alert.package)
    .bind(&alert.cve)
    .bind(&alert.ghsa)
    .bind(&alert.url)
    .bind(alert.created_at.map(to_ms))
    .bind(to_ms(alert.raised_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records an alert as closed (inserting it when its raise was never seen).
pub async fn alert_closed(
    conn: &mut Conn,
    alert: &AlertFact,
    action: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    alert_opened(conn, alert).await?;
    sqlx::query("UPDATE audit_alerts SET state = 'closed', closed_at = $1, close_action = $2 WHERE key = $3")
        .bind(to_ms(at))
        .bind(action)
        .bind(&alert.key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Open alerts, most severe and oldest first.
pub async fn open_alerts(conn: &mut Conn) -> Result<Vec<AlertFact>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ALERT_COLUMNS} FROM audit_alerts WHERE state = 'open' ORDER BY COALESCE(created_at, raised_at)"
    ));
    let rows = sqlx::query(sql).fetch_all(conn).await?;
    rows.iter().map(alert_of).collect()
}

/// Alerts closed in `[start, end)`, in order of closing.
pub async fn alerts_closed_between(
    conn: &mut Conn,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<AlertFact>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ALERT_COLUMNS} FROM audit_alerts WHERE state = 'closed' AND closed_at >= $1 AND closed_at < $2
         ORDER BY closed_at"
    ));
    let rows = sqlx::query(sql)
        .bind(to_ms(start))
        .bind(to_ms(end))
        .fetch_all(conn)
        .await?;
    rows.iter().map(alert_of).collect()
}

/// Alerts Sentinel announced in `[start, end)`.
pub async fn alerts_raised_between(
    conn: &mut Conn,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<AlertFact>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ALERT_COLUMNS} FROM audit_alerts WHERE raised_at >= $1 AND raised_at < $2 ORDER BY raised_at"
    ));
    let rows = sqlx::query(sql)
        .bind(to_ms(start))
        .bind(to_ms(end))
        .fetch_all(conn)
        .await?;
    rows.iter().map(alert_of).collect()
}

/// An incident as its events announced it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFact {
    /// The incident commander's id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Current severity.
    pub severity: String,
    /// Opened.
    pub opened_at: DateTime<Utc>,
    /// First acknowledged.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// Resolution summary.
    pub summary: Option<String>,
    /// A response deadline was missed.
    pub response_breached: bool,
    /// A resolution deadline was missed.
    pub resolution_breached: bool,
}

/// Records an opened incident.
pub async fn incident_opened(
    conn: &mut Conn,
    id: i64,
    title: &str,
    severity: &str,
    opened_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_incidents (id, title, severity, opened_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, severity = excluded.severity",
    )
    .bind(id)
    .bind(title)
    .bind(severity)
    .bind(to_ms(opened_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// What happened to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentChange<'a> {
    /// Acknowledged (the first one counts).
    Acknowledged,
    /// Resolved by someone, with a summary.
    Resolved(Option<&'a str>, Option<&'a str>),
    /// Reopened: no longer resolved.
    Reopened,
    /// Closed.
    Closed,
    /// Severity changed to this.
    Severity(&'a str),
    /// The response deadline passed.
    ResponseBreached,
    /// The resolution deadline passed.
    ResolutionBreached,
}

/// Applies one change to a known incident (unknown incidents are ignored: their opening was before
/// this plugin existed).
pub async fn incident_changed(
    conn: &mut Conn,
    id: i64,
    change: IncidentChange<'_>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let at = to_ms(at);
    let query = match change {
        IncidentChange::Acknowledged => {
            sqlx::query("UPDATE audit_incidents SET acknowledged_at = COALESCE(acknowledged_at, $1) WHERE id = $2")
                .bind(at)
                .bind(id)
        }
        IncidentChange::Resolved(by, summary) => sqlx::query(
            "UPDATE audit_incidents SET resolved_at = $1, resolved_by = $2, summary = COALESCE($3, summary) WHERE id = $4",
        )
        .bind(at)
        .bind(by)
        .bind(summary)
        .bind(id),
        IncidentChange::Reopened => sqlx::query(
            "UPDATE audit_incidents SET resolved_at = NULL, resolved_by = NULL, closed_at = NULL WHERE id = $1",
        )
        .bind(id),
        IncidentChange::Closed => sqlx::query(
            "UPDATE audit_incidents SET closed_at = $1, resolved_at = COALESCE(resolved_at, $1) WHERE id = $2",
        )
        .bind(at)
        .bind(id),
        IncidentChange::Severity(severity) => sqlx::query("UPDATE audit_incidents SET severity = $1 WHERE id = $2")
            .bind(severity)
            .bind(id),
        IncidentChange::ResponseBreached => {
            sqlx::query("UPDATE audit_incidents SET response_breached = 1 WHERE id = $1").bind(id)
        }
        IncidentChange::ResolutionBreached => {
            sqlx::query("UPDATE audit_incidents SET resolution_breached = 1 WHERE id = $1").bind(id)
        }
    };
    query.execute(conn).await?;
    Ok(())
}

fn incident_of(row: &DbRow) -> Result<IncidentFact, sqlx::Error> {
    Ok(IncidentFact {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        severity: row.try_get("severity")?,
        opened_at: from_ms(row.try_get("opened_at")?),
        acknowledged_at: opt_time(row.try_get("acknowledged_at")?),
        resolved_at: opt_time(row.try_get("resolved_at")?),
        resolved_by: row.try_get("resolved_by")?,
        summary: row.try_get("summary")?,
        response_breached: row.try_get::<i64, _>("response_breached")? != 0,
        resolution_breached: row.try_get::<i64, _>("resolution_breached")? != 0,
    })
}

/// Incidents opened, acknowledged or resolved in `[start, end)`.
pub async fn incidents_touching(
    conn: &mut Conn,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<IncidentFact>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, title, severity, opened_at, acknowledged_at, resolved_at, resolved_by, summary, response_breached,
                resolution_breached
         FROM audit_incidents
         WHERE (opened_at >= $1 AND opened_at < $2) OR (acknowledged_at >= $1 AND acknowledged_at < $2)
            OR (resolved_at >= $1 AND resolved_at < $2)
         ORDER BY id",
    )
    .bind(to_ms(start))
    .bind(to_ms(end))
    .fetch_all(conn)
    .await?;
    rows.iter().map(incident_of).collect()
}
