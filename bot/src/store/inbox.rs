//! The `inbox` and `handling` tables: every input, and what each plugin made of it.

use crate::store::Conn;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{from_ms, to_ms};
use crate::event::{Event, NewEvent, StoredEvent};
use crate::ids::EventId;

/// Inserts one event unless its dedup key is already there. Returns its id, or `None` for a duplicate.
pub async fn insert(conn: &mut Conn, event: &NewEvent, now: DateTime<Utc>) -> Result<Option<EventId>, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO inbox (dedup_key, kind, name, owner, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
    )
    .bind(event.dedup_key.as_str())
    .bind(event.kind)
    .bind(&event.name)
    .bind(&event.owner)
    .bind(&event.payload)
    .bind(to_ms(now))
    .fetch_optional(conn)
    .await?;
    Ok(id.map(EventId))
}

/// Rows per multi-row insert: 6 parameters each, well under SQLite's 32,766-parameter limit.
const INSERT_CHUNK: usize = 256;

/// Inserts many events, each unless its dedup key is already there (or earlier in `events`), in as
/// few statements as possible: per-statement overhead, not SQLite, is what limits ingest. Returns,
/// in order, each event's new id or `None` for a duplicate.
pub async fn insert_many(
    conn: &mut Conn,
    events: &[&NewEvent],
    now: DateTime<Utc>,
) -> Result<Vec<Option<EventId>>, sqlx::Error> {
    let mut ids: std::collections::HashMap<&str, i64> = std::collections::HashMap::with_capacity(events.len());
    for chunk in events.chunks(INSERT_CHUNK) {
        let mut sql = String::from("INSERT INTO inbox (dedup_key, kind, name, owner, payload, received_at) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("({})", super::placeholders(i * 6 + 1, 6)));
        }
        sql.push_str(" ON CONFLICT (dedup_key) DO NOTHING RETURNING id, dedup_key");
        // Only placeholders are generated; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for event in chunk {
            query = query
                .bind(event.dedup_key.as_str())
                .bind(event.kind)
                .bind(&event.name)
                .bind(&event.owner)
                .bind(&event.payload)
                .bind(to_ms(now));
        }
        for row in query.fetch_all(&mut *conn).await? {
            let key: String = row.try_get("dedup_key")?;
            let id: i64 = row.try_get("id")?;
            if let Some(event) = chunk.iter().find(|e| e.dedup_key.as_str() == key) {
                ids.insert(event.dedup_key.as_str(), id);
            }
        }
    }
    // A key inserted now belongs to its first occurrence; later ones in the same batch are duplicates.
    Ok(events
        .iter()
        .map(|event| ids.remove(event.dedup_key.as_str()).map(EventId))
        .collect())
}

/// An inbox row as the dispatcher reads it.
#[derive(Debug, Clone)]
pub struct PendingRow {
    /// Its id.
    pub id: EventId,
    /// Its dedup key.
    pub dedup_key: String,
    /// Its kind.
    pub kind: String,
    /// Its routing name.
    pub name: String,
    /// The plugin owning a timer or schedule.
    pub owner: Option<String>,
    /// The JSON payload.
    pub payload: String,
    /// Dispatch passes that left it pending before (0: no plugin has a handling record yet).
    pub passes: i64,
}

impl PendingRow {
    /// Decodes the row into an event.
    pub fn decode(&self) -> Result<StoredEvent, crate::event::DecodeError> {
        Ok(StoredEvent {
            id: self.id,
            name: self.name.clone(),
            owner: self.owner.clone(),
            event: Event::decode(&self.kind, &self.name, &self.dedup_key, &self.payload)?,
        })
    }
}

/// The advisory-lock key of "dispatching the inbox" ("SNTLDISP" in ASCII).
pub const DISPATCH_LOCK_KEY: i64 = 0x534E_544C_4449_5350;

/// Takes the cluster-wide dispatch turn for the rest of the transaction, if it is free: on
/// PostgreSQL a transaction-scoped advisory lock (released by commit or rollback, and with the
/// session when an instance dies), so one instance at a time dispatches, as SQLite's single
/// writer makes it. False: another instance is dispatching now. Always true on SQLite. Call first
/// in the dispatcher's write transaction.
pub async fn try_dispatch_turn(conn: &mut Conn) -> Result<bool, sqlx::Error> {
    match super::Engine::of_conn(conn) {
        super::Engine::Sqlite => Ok(true),
        super::Engine::Postgres => {
            sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                .bind(DISPATCH_LOCK_KEY)
                .fetch_one(conn)
                .await
        }
    }
}

/// The oldest pending events whose retry time (if any) has come, in arrival order. On PostgreSQL
/// the rows are locked (`FOR UPDATE SKIP LOCKED`) for the rest of the transaction: with the
/// dispatch turn held nobody else dispatches, and the locks keep any other writer (`sentinel dead
/// retry`, pruning) off the rows being handled.
pub async fn next_batch(conn: &mut Conn, now: DateTime<Utc>, limit: usize) -> Result<Vec<PendingRow>, sqlx::Error> {
    let skip = super::Engine::of_conn(conn).skip_locked();
    // Only the engine's locking clause is generated; every value is bound.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, dedup_key, kind, name, owner, payload, passes FROM inbox
         WHERE state = 'pending' AND (retry_at IS NULL OR retry_at <= $1)
         ORDER BY id LIMIT $2{skip}"
    )))
    .bind(to_ms(now))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(PendingRow {
                id: EventId(row.try_get("id")?),
                dedup_key: row.try_get("dedup_key")?,
                kind: row.try_get("kind")?,
                name: row.try_get("name")?,
                owner: row.try_get("owner")?,
                payload: row.try_get("payload")?,
                passes: row.try_get("passes")?,
            })
        })
        .collect()
}

/// The earliest retry time among pending events waiting for one.
pub async fn next_retry_at(conn: &mut Conn) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let at: Option<i64> =
        sqlx::query_scalar("SELECT MIN(retry_at) FROM inbox WHERE state = 'pending' AND retry_at IS NOT NULL")
            .fetch_one(conn)
            .await?;
    Ok(at.map(from_ms))
}

/// What one plugin made of one event so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handling {
    /// The plugin.
    pub plugin: String,
    /// `done`, `retry` or `dead`.
    pub state: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When a `retry` may run.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The handling records of one event.
pub async fn handling_of(conn: &mut Conn, event: EventId) -> Result<Vec<Handling>, sqlx::Error> {
    let rows = sqlx::query("SELECT plugin, state, attempts, next_attempt_at FROM handling WHERE event_id = $1")
        .bind(event.0)
        .fetch_all(conn)
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Handling {
                plugin: row.try_get("plugin")?,
                state: row.try_get("state")?,
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                next_attempt_at: row.try_get::<Option<i64>, _>("next_attempt_at")?.map(from_ms),
            })
        })
        .collect()
}

/// What one plugin made of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Handled; its effects are committed.
    Done,
    /// Failed `attempts` times so far; try again at `at`.
    Retry {
        /// Failed attempts so far.
        attempts: u32,
        /// The last error.
        error: &'a str,
        /// When to try again.
        at: DateTime<Utc>,
    },
    /// Given up after `attempts`.
    Dead {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        error: &'a str,
    },
}

/// Records (or updates) what `plugin` made of `event`.
pub async fn record_handling(
    conn: &mut Conn,
    event: EventId,
    plugin: &str,
    outcome: Outcome<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let (state, attempts, error, next) = match outcome {
        Outcome::Done => ("done", 0, None, None),
        Outcome::Retry { attempts, error, at } => ("retry", attempts, Some(error), Some(to_ms(at))),
        Outcome::Dead { attempts, error } => ("dead", attempts, Some(error), None),
    };
    sqlx::query(
        "INSERT INTO handling (event_id, plugin, state, attempts, last_error, next_attempt_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (event_id, plugin) DO UPDATE SET state = excluded.state, attempts = excluded.attempts,
           last_error = excluded.last_error, next_attempt_at = excluded.next_attempt_at,
           updated_at = excluded.updated_at",
    )
    .bind(event.0)
    .bind(plugin)
    .bind(state)
    .bind(i64::from(attempts))
    .bind(error)
    .bind(next)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks events finished: every plugin that wanted them has handled them (or given up).
pub async fn finish(conn: &mut Conn, ids: &[EventId], now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE inbox SET state = 'done', done_at = $1, retry_at = NULL WHERE id IN ({})",
        super::placeholders(2, ids.len())
    );
    // Only placeholders are generated; every value is bound.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_ms(now));
    for id in ids {
        query = query.bind(id.0);
    }
    query.execute(conn).await?;
    Ok(())
}

/// Leaves an event pending until `retry_at`, recording that a pass has been made.
pub async fn postpone(conn: &mut Conn, id: EventId, retry_at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE inbox SET retry_at = $1, passes = passes + 1 WHERE id = $2")
        .bind(to_ms(retry_at))
        .bind(id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// A plugin's dead handling of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadEvent {
    /// The event.
    pub event: EventId,
    /// Its kind and routing name, e.g. `github dependabot_alert`.
    pub what: String,
    /// The plugin that gave up.
    pub plugin: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub error: String,
    /// When it was parked.
    pub at: DateTime<Utc>,
}

/// Every dead (event, plugin), oldest first.
pub async fn dead(conn: &mut Conn) -> Result<Vec<DeadEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT h.event_id, i.kind, i.name, h.plugin, h.attempts, h.last_error, h.updated_at
         FROM handling h JOIN inbox i ON i.id = h.event_id WHERE h.state = 'dead' ORDER BY h.updated_at, h.event_id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(DeadEvent {
                event: EventId(row.try_get("event_id")?),
                what: format!(
                    "{} {}",
                    row.try_get::<String, _>("kind")?,
                    row.try_get::<String, _>("name")?
                ),
                plugin: row.try_get("plugin")?,
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                error: row.try_get::<Option<String>, _>("last_error")?.unwrap_or_default(),
                at: from_ms(row.try_get("updated_at")?),
            })
        })
        .collect()
}

/// Gives dead handlings a fresh start: `event` alone, or all of them. Returns how many were revived.
pub async fn revive_dead(conn: &mut Conn, event: Option<EventId>) -> Result<u64, sqlx::Error> {
    let events: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT event_id FROM handling WHERE state = 'dead' AND ($1 IS NULL OR event_id = $1)",
    )
    .bind(event.map(|e| e.0))
    .fetch_all(&mut *conn)
    .await?;
    if events.is_empty() {
        return Ok(0);
    }
    let list = super::placeholders(1, events.len());
    // Only placeholders are generated; every value is bound.
    let mut delete = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM handling WHERE state = 'dead' AND event_id IN ({list})"
    )));
    for event in &events {
        delete = delete.bind(event);
    }
    let revived = delete.execute(&mut *conn).await?.rows_affected();
    // `passes` > 0 makes the dispatcher read the remaining handling records and skip the plugins
    // that already handled the event.
    let mut revive = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE inbox SET state = 'pending', retry_at = NULL, done_at = NULL, passes = passes + 1 WHERE id IN ({list})"
    )));
    for event in &events {
        revive = revive.bind(event);
    }
    revive.execute(conn).await?;
    Ok(revived)
}

/// Pending and dead counts, for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxCounts {
    /// Events not yet handled by every plugin that wants them.
    pub pending: i64,
    /// (event, plugin) pairs parked as dead.
    pub dead: i64,
}

/// Current counts.
pub async fn counts(conn: &mut Conn) -> Result<InboxCounts, sqlx::Error> {
    let pending = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE state = 'pending'")
        .fetch_one(&mut *conn)
        .await?;
    let dead = sqlx::query_scalar("SELECT COUNT(*) FROM handling WHERE state = 'dead'")
        .fetch_one(conn)
        .await?;
    Ok(InboxCounts { pending, dead })
}

/// Deletes finished events older than `before` (their dedup keys go with them), keeping any with a
/// dead handling. Returns how many were deleted.
pub async fn prune(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM inbox WHERE state = 'done' AND done_at < $1
         AND id NOT IN (SELECT event_id FROM handling WHERE state = 'dead')",
    )
    .bind(to_ms(before))
    .execute(conn)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::NewEvent;

    #[tokio::test]
    async fn insert_many_keeps_order_and_recognises_duplicates_old_and_within_the_batch() {
        let db = crate::harness::test_db::TestDb::new().await;
        let pool = db.open().await.expect("open");
        let mut conn = pool.acquire().await.expect("conn");
        let now = chrono::Utc::now();
        let event = |d: &str| NewEvent::github("probe", d, "{}".to_owned());
        let first = insert_many(&mut conn, &[&event("a")], now).await.expect("insert");
        assert!(first[0].is_some());
        // 300 events span two chunks; "a" is old, "b" repeats within the batch.
        let mut batch: Vec<NewEvent> = vec![event("a"), event("b"), event("b")];
        batch.extend((0..297).map(|i| event(&format!("n{i}"))));
        let refs: Vec<&NewEvent> = batch.iter().collect();
        let ids = insert_many(&mut conn, &refs, now).await.expect("insert");
        assert_eq!(ids.len(), 300);
        assert_eq!((ids[0], ids[2]), (None, None));
        assert!(ids[1].is_some() && ids[3..].iter().all(Option::is_some));
        let mut unique: Vec<i64> = ids.iter().flatten().map(|id| id.0).collect();
        unique.dedup();
        assert_eq!(unique.len(), 298, "ids are distinct and in insertion order");
        assert!(unique.windows(2).all(|w| w[0] < w[1]));
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
            .fetch_one(&mut *conn)
            .await
            .expect("count");
        assert_eq!(stored, 299);
    }
}
