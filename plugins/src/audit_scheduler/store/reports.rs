//! Reports and the snapshots they compare against.

use chrono::{DateTime, Utc};
use sentinel_bot::store::{Conn, DbRow, from_ms, to_ms};
use sqlx::Row;

use super::opt_time;

/// A report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Row id.
    pub id: i64,
    /// `2026-03` or `2026-Q1`.
    pub period: String,
    /// The run whose checklist carries it.
    pub run_id: Option<i64>,
    /// Who asked for it by command.
    pub requested_by: Option<String>,
    /// Posted yet.
    pub posted: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was posted.
    pub posted_at: Option<DateTime<Utc>>,
    /// The posted text.
    pub markdown: Option<String>,
    /// The GitHub issue it was filed as.
    pub issue_url: Option<String>,
}

fn report_of(row: &DbRow) -> Result<Report, sqlx::Error> {
    Ok(Report {
        id: row.try_get("id")?,
        period: row.try_get("period")?,
        run_id: row.try_get("run_id")?,
        requested_by: row.try_get("requested_by")?,
        posted: row.try_get::<String, _>("state")? == "posted",
        created_at: from_ms(row.try_get("created_at")?),
        posted_at: opt_time(row.try_get("posted_at")?),
        markdown: row.try_get("markdown")?,
        issue_url: row.try_get("issue_url")?,
    })
}

const REPORT_COLUMNS: &str = "id, period, run_id, requested_by, state, created_at, posted_at, markdown, issue_url";

/// Starts collecting a report.
pub async fn insert_report(
    conn: &mut Conn,
    period: &str,
    run_id: Option<i64>,
    requested_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO audit_reports (period, run_id, requested_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(period)
    .bind(run_id)
    .bind(requested_by)
    .bind(to_ms(now))
    .fetch_one(conn)
    .await
}

/// One report.
pub async fn report(conn: &mut Conn, id: i64) -> Result<Option<Report>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {REPORT_COLUMNS} FROM audit_reports WHERE id = $1"));
    let row = sqlx::query(sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(report_of).transpose()
}

/// The latest report of `period` (posted or still collecting).
pub async fn latest_report(conn: &mut Conn, period: &str) -> Result<Option<Report>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {REPORT_COLUMNS} FROM audit_reports WHERE period = $1 ORDER BY id DESC LIMIT 1"
    ));
    let row = sqlx::query(sql).bind(period).fetch_optional(conn).await?;
    row.as_ref().map(report_of).transpose()
}

/// Whether a report of `period` was already filed as an issue.
pub async fn period_has_issue(conn: &mut Conn, period: &str) -> Result<bool, sqlx::Error> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_reports WHERE period = $1 AND issue_url IS NOT NULL")
            .bind(period)
            .fetch_one(conn)
            .await?;
    Ok(count > 0)
}

/// Marks a report posted with its text; false when it was posted already.
pub async fn post_report(conn: &mut Conn, id: i64, markdown: &str, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE audit_reports SET state = 'posted', markdown = $1, posted_at = $2 WHERE id = $3 AND state = 'collecting'",
    )
    .bind(markdown)
    .bind(to_ms(now))
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Records where a report was filed.
pub async fn set_issue_url(conn: &mut Conn, id: i64, url: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_reports SET issue_url = $1 WHERE id = $2")
        .bind(url)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The report's numbers for one period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Open Dependabot alerts.
    pub open_dependabot: Option<i64>,
    /// Open code-scanning alerts.
    pub open_code_scanning: Option<i64>,
    /// Open secret-scanning alerts.
    pub open_secret_scanning: Option<i64>,
    /// Dependabot pull requests merged in the period.
    pub dependencies_updated: Option<i64>,
    /// Dependabot alerts fixed in the period.
    pub patches_applied: Option<i64>,
    /// Open high and critical alerts.
    pub open_high_critical: Option<i64>,
    /// `github`, `records` or `mixed`.
    pub source: String,
}

/// The snapshot of `period`.
pub async fn snapshot(conn: &mut Conn, period: &str) -> Result<Option<Snapshot>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT open_dependabot, open_code_scanning, open_secret_scanning, dependencies_updated, patches_applied,
                open_high_critical, source FROM audit_snapshots WHERE period = $1",
    )
    .bind(period)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(Snapshot {
            open_dependabot: row.try_get("open_dependabot")?,
            open_code_scanning: row.try_get("open_code_scanning")?,
            open_secret_scanning: row.try_get("open_secret_scanning")?,
            dependencies_updated: row.try_get("dependencies_updated")?,
            patches_applied: row.try_get("patches_applied")?,
            open_high_critical: row.try_get("open_high_critical")?,
            source: row.try_get("source")?,
        })
    })
    .transpose()
}

/// Stores (or replaces) the snapshot of `period`.
pub async fn save_snapshot(
    conn: &mut Conn,
    period: &str,
    snap: &Snapshot,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_snapshots (period, open_dependabot, open_code_scanning, open_secret_scanning,
            dependencies_updated, patches_applied, open_high_critical, source, taken_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (period) DO UPDATE SET open_dependabot = excluded.open_dependabot,
            open_code_scanning = excluded.open_code_scanning, open_secret_scanning = excluded.open_secret_scanning,
            dependencies_updated = excluded.dependencies_updated, patches_applied = excluded.patches_applied,
            open_high_critical = excluded.open_high_critical, source = excluded.source, taken_at = excluded.taken_at",
    )
    .bind(period)
    .bind(snap.open_dependabot)
    .bind(snap.open_code_scanning)
    .bind(snap.open_secret_scanning)
    .bind(snap.dependencies_updated)
    .bind(snap.patches_applied)
    .bind(snap.open_high_critical)
    .bind(&snap.source)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}
