//! The `spaces` table: which spaces plugins asked for on which platform, and the platform's id of
//! each once it is open.

use crate::store::Conn;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::to_ms;
use crate::ids::{Platform, SpaceKey};

/// Records that `key` is wanted on `platform` under `parent`. Returns false when it already was
/// (then nothing is enqueued again: a space opens once per platform, whatever replays happen).
pub async fn request(
    conn: &mut Conn,
    platform: Platform,
    key: &SpaceKey,
    name: &str,
    parent: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO spaces (platform, key, name, parent, requested_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (platform, key) DO NOTHING",
    )
    .bind(platform.as_str())
    .bind(key.as_str())
    .bind(name)
    .bind(parent)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The platforms `key` was asked for on, opened or not.
pub async fn platforms(conn: &mut Conn, key: &SpaceKey) -> Result<Vec<Platform>, sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar("SELECT platform FROM spaces WHERE key = $1 ORDER BY platform")
        .bind(key.as_str())
        .fetch_all(conn)
        .await?;
    Ok(names.iter().filter_map(|name| Platform::parse(name)).collect())
}

/// Where a space stands on one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpaceState {
    /// Never asked for on this platform.
    Unknown,
    /// Asked for, not (yet) opened: its opening row is pending or failed.
    Requested,
    /// Open, with the platform's channel id.
    Open(String),
}

/// The state of `key` on `platform`.
pub async fn state(conn: &mut Conn, platform: Platform, key: &SpaceKey) -> Result<SpaceState, sqlx::Error> {
    let row = sqlx::query("SELECT channel_id FROM spaces WHERE platform = $1 AND key = $2")
        .bind(platform.as_str())
        .bind(key.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        None => SpaceState::Unknown,
        Some(row) => match row.try_get::<Option<String>, _>("channel_id")? {
            Some(id) => SpaceState::Open(id),
            None => SpaceState::Requested,
        },
    })
}

/// Records the platform's id of an opened space.
pub async fn opened(
    conn: &mut Conn,
    platform: Platform,
    key: &SpaceKey,
    channel_id: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE spaces SET channel_id = $1, created_at = $2 WHERE platform = $3 AND key = $4")
        .bind(channel_id)
        .bind(to_ms(now))
        .bind(platform.as_str())
        .bind(key.as_str())
        .execute(conn)
        .await?;
    Ok(())
}
