//! The `security_log` table: rejected webhooks, refused commands. Never a secret, never a body, and
//! never more than [`MAX_DETAIL_CHARS`] of detail: what a sender wrote (a header, a repository name)
//! must not make a row as large as the sender likes.

use crate::store::Conn;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::to_ms;

/// The longest detail stored; longer text is cut and marked with `…`.
pub const MAX_DETAIL_CHARS: usize = 300;

/// Records one security-relevant event.
pub async fn record(
    conn: &mut Conn,
    at: DateTime<Utc>,
    kind: &str,
    source: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    record_repeated(conn, at, kind, source, detail, 1).await
}

/// Records `count` events of one kind from one source in one row (repeated rejections from one
/// client, summed up).
pub async fn record_repeated(
    conn: &mut Conn,
    at: DateTime<Utc>,
    kind: &str,
    source: &str,
    detail: &str,
    count: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO security_log (at, kind, source, detail, count) VALUES ($1, $2, $3, $4, $5)")
        .bind(to_ms(at))
        .bind(clip(kind, 64))
        .bind(clip(source, 64))
        .bind(clip(detail, MAX_DETAIL_CHARS))
        .bind(i64::try_from(count).unwrap_or(i64::MAX))
        .execute(conn)
        .await?;
    Ok(())
}

/// Counts entries of `kind` since `since` (all kinds when `kind` is `None`), summed rows included.
pub async fn count_since(conn: &mut Conn, kind: Option<&str>, since: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM security_log WHERE at >= $1 AND ($2 IS NULL OR kind = $2)",
    )
    .bind(to_ms(since))
    .bind(kind)
    .fetch_one(conn)
    .await
}

/// Entries since `since`, counted by kind, most frequent first (a row summing repeated rejections
/// counts for as many as it stands for).
pub async fn counts_by_kind_since(conn: &mut Conn, since: DateTime<Utc>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT kind, CAST(SUM(count) AS BIGINT) AS n FROM security_log WHERE at >= $1 GROUP BY kind ORDER BY n DESC, kind")
            .bind(to_ms(since))
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("kind")?, row.try_get("n")?)))
        .collect()
}

/// `text` cut to at most `max` characters (ending with `…` when cut), with control characters
/// shown as `?` so that nothing a sender wrote can break a log line.
pub fn clip(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.pop();
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_bounds_length_and_hides_control_characters() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("exactly10!", 10), "exactly10!");
        assert_eq!(clip("eleven chars", 10), "eleven ch…");
        assert_eq!(clip("line\nbreak\x1b[31m", 20), "line?break?[31m");
        let huge = "é".repeat(300_000);
        assert_eq!(clip(&huge, MAX_DETAIL_CHARS).chars().count(), MAX_DETAIL_CHARS);
    }
}
