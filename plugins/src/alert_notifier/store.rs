//! The `alerts` and `alert_changes` tables (`migrations/0002_alerts.sql`). Every query runs on the
//! dispatcher's transaction, so an alert's row, its change log and the messages about it commit
//! together.

use chrono::{DateTime, Utc};
use sentinel_bot::store::{Conn, to_ms};
use sentinel_bot::{PluginError, message};
use sqlx::Row;

use super::normalize::{Alert, AlertState};
use super::route::Destination;

/// An alert as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    /// The alert as last seen.
    pub alert: Alert,
    /// Where its message was posted.
    pub posted: Vec<Destination>,
}

/// The alert with `key`, when Sentinel has seen it.
pub async fn find(conn: &mut Conn, key: &str) -> Result<Option<StoredAlert>, PluginError> {
    let row = sqlx::query("SELECT data, posted FROM alerts WHERE key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(StoredAlert {
        alert: serde_json::from_str(row.try_get("data")?)?,
        posted: serde_json::from_str(row.try_get("posted")?)?,
    }))
}

/// The alert a button click names: by its key, or by the key's digest, which a platform's button
/// carries when the key is too long for it (Discord's `custom_id` holds 100 characters).
pub async fn find_clicked(conn: &mut Conn, value: &str) -> Result<Option<StoredAlert>, PluginError> {
    if let Some(found) = find(conn, value).await? {
        return Ok(Some(found));
    }
    if !message::is_value_digest(value) {
        return Ok(None);
    }
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM alerts ORDER BY updated_at DESC")
        .fetch_all(&mut *conn)
        .await?;
    match keys.iter().find(|key| message::value_matches(value, key)) {
        Some(key) => find(conn, key).await,
        None => Ok(None),
    }
}

/// Stores a newly seen alert and where it was posted.
pub async fn insert(
    conn: &mut Conn,
    alert: &Alert,
    posted: &[Destination],
    now: DateTime<Utc>,
) -> Result<(), PluginError> {
    let closed_at = alert.state.is_closed().then_some(to_ms(now));
    sqlx::query(
        "INSERT INTO alerts (key, source, repository, number, severity, state, title, data, posted,
                             first_seen_at, updated_at, closed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&alert.key)
    .bind(alert.source.as_str())
    .bind(&alert.repository)
    .bind(number(alert))
    .bind(alert.severity.as_str())
    .bind(alert.state.as_str())
    .bind(&alert.title)
    .bind(serde_json::to_string(alert)?)
    .bind(serde_json::to_string(posted)?)
    .bind(to_ms(now))
    .bind(to_ms(now))
    .bind(closed_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a stored alert's data and where it is posted. `closed_at` keeps the first moment of
/// the current closure and is cleared when the alert reopens.
pub async fn update(
    conn: &mut Conn,
    alert: &Alert,
    posted: &[Destination],
    now: DateTime<Utc>,
) -> Result<(), PluginError> {
    sqlx::query(
        "UPDATE alerts SET severity = $1, state = $2, title = $3, data = $4, posted = $5, updated_at = $6,
                closed_at = CASE WHEN $7 THEN COALESCE(closed_at, $8) ELSE NULL END
         WHERE key = $9",
    )
    .bind(alert.severity.as_str())
    .bind(alert.state.as_str())
    .bind(&alert.title)
    .bind(serde_json::to_string(alert)?)
    .bind(serde_json::to_string(posted)?)
    .bind(to_ms(now))
    .bind(alert.state.is_closed())
    .bind(to_ms(now))
    .bind(&alert.key)
    .execute(conn)
    .await?;
    Ok(())
}

/// SQLite integers are signed; no GitHub alert or run number comes near the limit.
fn number(alert: &Alert) -> Option<i64> {
    alert.number.and_then(|n| i64::try_from(n).ok())
}

/// One change to record in an alert's log.
#[derive(Debug, Clone, Copy)]
pub struct NewChange<'a> {
    /// The alert's key; the alert must already be stored.
    pub alert_key: &'a str,
    /// GitHub's action, or `acknowledged` / `incident_requested` for a button.
    pub action: &'a str,
    /// The alert's state after the change.
    pub state: AlertState,
    /// Who made it.
    pub actor: Option<&'a str>,
    /// The line posted in the alert's thread.
    pub note: &'a str,
}

/// Records `change` unless the same change (same action, state and note) was already recorded
/// while the alert was in this state. Returns whether it is new, i.e. whether to post about it.
///
/// "While in this state" tells a redelivery from a repeat: the same dismissal delivered twice is
/// one change, but dismissing, reopening and dismissing again with the same reason is two. The
/// number of changes recorded in other states grows exactly when the alert has left this state
/// and come back, so it is part of the dedup key.
pub async fn record_change(conn: &mut Conn, change: NewChange<'_>, now: DateTime<Utc>) -> Result<bool, PluginError> {
    let elsewhere: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alert_changes WHERE alert_key = $1 AND state <> $2")
        .bind(change.alert_key)
        .bind(change.state.as_str())
        .fetch_one(&mut *conn)
        .await?;
    // The unit separator cannot occur in keys or GitHub's action names, so fields cannot run together.
    let dedup = [
        change.alert_key,
        change.action,
        change.state.as_str(),
        change.note,
        &elsewhere.to_string(),
    ]
    .join("\u{1f}");
    let inserted = sqlx::query(
        "INSERT INTO alert_changes (alert_key, action, state, actor, note, at, dedup)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (dedup) DO NOTHING",
    )
    .bind(change.alert_key)
    .bind(change.action)
    .bind(change.state.as_str())
    .bind(change.actor)
    .bind(change.note)
    .bind(to_ms(now))
    .bind(dedup)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}
