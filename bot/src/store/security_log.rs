//! The `security_log` table: rejected webhooks, refused commands. Never a secret, never a body.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::to_ms;

/// Records one security-relevant event.
pub async fn record(
    conn: &mut SqliteConnection,
    at: DateTime<Utc>,
    kind: &str,
    source: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO security_log (at, kind, source, detail) VALUES (?, ?, ?, ?)")
        .bind(to_ms(at))
        .bind(kind)
        .bind(source)
        .bind(detail)
        .execute(conn)
        .await?;
    Ok(())
}

/// Counts entries of `kind` since `since` (all kinds when `kind` is `None`).
pub async fn count_since(
    conn: &mut SqliteConnection,
    kind: Option<&str>,
    since: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM security_log WHERE at >= ? AND (?2 IS NULL OR kind = ?2)")
        .bind(to_ms(since))
        .bind(kind)
        .fetch_one(conn)
        .await
}
