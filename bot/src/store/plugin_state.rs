//! The `plugin_state` table: a few JSON values per plugin, for plugins too small for tables of
//! their own. Plugins reach it through [`crate::Cx::kv_get`] and friends, inside their transaction.

use crate::store::Conn;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::to_ms;

/// The value `plugin` stored under `key`, when there is one.
pub async fn get(conn: &mut Conn, plugin: &str, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM plugin_state WHERE plugin = $1 AND key = $2")
        .bind(plugin)
        .bind(key)
        .fetch_optional(conn)
        .await
}

/// Stores `value` under `key` for `plugin`, replacing what was there.
pub async fn set(
    conn: &mut Conn,
    plugin: &str,
    key: &str,
    value: &Value,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO plugin_state (plugin, key, value, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(plugin)
    .bind(key)
    .bind(value.to_string())
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes `plugin`'s `key`. Returns whether it was there.
pub async fn delete(conn: &mut Conn, plugin: &str, key: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM plugin_state WHERE plugin = $1 AND key = $2")
        .bind(plugin)
        .bind(key)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
