//! Read-only views for the web status page: the alert notifier's own `alerts` rows, decoded the
//! way the plugin stores them (the normalized alert, never a raw payload).

use chrono::{DateTime, Utc};
use sentinel_bot::store::{Conn, DbRow, from_ms};
use sqlx::Row;

/// The two fields of the stored alert (the plugin's normalized
/// [`Alert`](super::normalize::Alert), as JSON) that the page shows; serde skips the rest unread,
/// which is most of the work of decoding an alert row.
#[derive(serde::Deserialize)]
struct Shown {
    package: Option<String>,
    url: Option<String>,
}

/// One alert as the page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    /// The notifier's key.
    pub key: String,
    /// dependabot, code_scanning, secret_scanning, …
    pub source: String,
    /// `owner/name`, when the alert belongs to a repository.
    pub repository: Option<String>,
    /// GitHub's number.
    pub number: Option<i64>,
    /// critical, high, medium, low.
    pub severity: String,
    /// open, fixed, dismissed, …
    pub state: String,
    /// Its title.
    pub title: String,
    /// The affected package, when there is one.
    pub package: Option<String>,
    /// Its page on GitHub (only `https://` addresses are kept).
    pub url: Option<String>,
    /// When Sentinel first saw it.
    pub first_seen_at: DateTime<Utc>,
    /// When it was closed, while it is.
    pub closed_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "key, source, repository, number, severity, state, title, data, first_seen_at, closed_at";
/// Most severe first, whatever the engine's collation.
const BY_SEVERITY: &str =
    "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END";

fn decode(row: &DbRow) -> Result<AlertRow, sqlx::Error> {
    let data: String = row.try_get("data")?;
    // The stored JSON is the plugin's own normalized alert; an unreadable one only loses its link.
    let shown: Option<Shown> = serde_json::from_str(&data).ok();
    let (package, url) = shown.map_or((None, None), |s| (s.package, s.url));
    let url = url.filter(|url| url.starts_with("https://"));
    Ok(AlertRow {
        key: row.try_get("key")?,
        source: row.try_get("source")?,
        repository: row.try_get("repository")?,
        number: row.try_get("number")?,
        severity: row.try_get("severity")?,
        state: row.try_get("state")?,
        title: row.try_get("title")?,
        package,
        url,
        first_seen_at: from_ms(row.try_get("first_seen_at")?),
        closed_at: row.try_get::<Option<i64>, _>("closed_at")?.map(from_ms),
    })
}

/// Open alerts (of `repository` when given), most severe first, then oldest first; at most `limit`.
pub async fn open(conn: &mut Conn, repository: Option<&str>, limit: i64) -> Result<Vec<AlertRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM alerts WHERE closed_at IS NULL AND ($1 IS NULL OR repository = $1)
         ORDER BY {BY_SEVERITY}, first_seen_at, key LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(repository)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// Alerts closed (fixed, dismissed, …) since `since` (of `repository` when given), newest first.
pub async fn closed_since(
    conn: &mut Conn,
    since: DateTime<Utc>,
    repository: Option<&str>,
    limit: i64,
) -> Result<Vec<AlertRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM alerts WHERE closed_at >= $1 AND ($2 IS NULL OR repository = $2)
         ORDER BY closed_at DESC, key LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(sentinel_bot::store::to_ms(since))
        .bind(repository)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// Every repository with an open alert, for the page's filter.
pub async fn repositories(conn: &mut Conn) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT repository FROM alerts WHERE closed_at IS NULL AND repository IS NOT NULL ORDER BY repository",
    )
    .fetch_all(conn)
    .await
}
