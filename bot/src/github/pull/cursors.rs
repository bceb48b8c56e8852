//! The `github_pull_cursors` table: per listing, the ETag to send back and the newest `updated_at`
//! already read.

use crate::store::Conn;
use chrono::{DateTime, Utc};

use crate::store::to_ms;

/// How far one listing has been read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The first page's ETag.
    pub etag: Option<String>,
    /// The newest `updated_at` read, RFC 3339.
    pub watermark: Option<String>,
}

/// The cursor of `endpoint`, when it was ever polled.
pub async fn get(conn: &mut Conn, endpoint: &str) -> Result<Option<Cursor>, sqlx::Error> {
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT etag, watermark FROM github_pull_cursors WHERE endpoint = $1")
            .bind(endpoint)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(etag, watermark)| Cursor { etag, watermark }))
}

/// Stores the cursor of `endpoint` as read at `now`.
pub async fn save(conn: &mut Conn, endpoint: &str, cursor: &Cursor, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO github_pull_cursors (endpoint, etag, watermark, polled_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (endpoint) DO UPDATE SET etag = excluded.etag, watermark = excluded.watermark,
                                              polled_at = excluded.polled_at",
    )
    .bind(endpoint)
    .bind(&cursor.etag)
    .bind(&cursor.watermark)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}
