//! The `timers` table: one-shot timers and cron schedules, turned into inbox events when due.

use std::str::FromStr;

use crate::store::Conn;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::Row;

use super::{from_ms, inbox, to_ms};
use crate::event::{NewEvent, ScheduleTick, TimerFired};
use crate::ids::{DedupKey, TimerKey};
use crate::plugin::{MissedRun, Schedule};

/// Key prefix of schedule rows, so they never collide with a plugin's own timer keys.
const SCHEDULE_PREFIX: &str = "schedule:";

/// Sets (or replaces) `owner`'s timer `key` to fire at `due_at` with `payload`.
pub async fn set(
    conn: &mut Conn,
    owner: &str,
    key: &str,
    due_at: DateTime<Utc>,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO timers (owner, key, due_at, payload, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (owner, key) DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload",
    )
    .bind(owner)
    .bind(key)
    .bind(to_ms(due_at))
    .bind(payload.to_string())
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Cancels one timer. Returns whether it existed.
pub async fn cancel(conn: &mut Conn, owner: &str, key: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM timers WHERE owner = $1 AND key = $2")
        .bind(owner)
        .bind(key)
        .execute(conn)
        .await?
        .rows_affected()
        > 0)
}

/// Cancels every timer of `owner` whose key starts with `prefix`. Returns how many.
pub async fn cancel_prefix(conn: &mut Conn, owner: &str, prefix: &str) -> Result<u64, sqlx::Error> {
    // A compared prefix rather than LIKE (no escaping of % and _, and no case folding) or a key range
    // (which depends on the collation: PostgreSQL's default one is not byte order).
    Ok(
        sqlx::query("DELETE FROM timers WHERE owner = $1 AND substr(key, 1, CAST($3 AS INTEGER)) = $2")
            .bind(owner)
            .bind(prefix)
            .bind(prefix_chars(prefix))
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// The length of `prefix` as SQL's `substr` counts it (characters, on both engines).
fn prefix_chars(prefix: &str) -> i64 {
    i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX)
}

/// One pending timer, as a plugin lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingTimer {
    /// Its key.
    pub key: TimerKey,
    /// When it fires.
    pub due_at: DateTime<Utc>,
    /// Its payload.
    pub payload: serde_json::Value,
}

/// `owner`'s pending timers whose keys start with `prefix`, soonest first.
pub async fn list(conn: &mut Conn, owner: &str, prefix: &str) -> Result<Vec<PendingTimer>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT key, due_at, payload FROM timers WHERE owner = $1 AND substr(key, 1, CAST($3 AS INTEGER)) = $2 ORDER BY due_at, id",
    )
    .bind(owner)
    .bind(prefix)
    .bind(prefix_chars(prefix))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            let payload: String = row.try_get("payload")?;
            Ok(PendingTimer {
                key: TimerKey(row.try_get("key")?),
                due_at: from_ms(row.try_get("due_at")?),
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
            })
        })
        .collect()
}

/// When the earliest timer is due.
pub async fn earliest(conn: &mut Conn) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let at: Option<i64> = sqlx::query_scalar("SELECT MIN(due_at) FROM timers")
        .fetch_one(conn)
        .await?;
    Ok(at.map(from_ms))
}

/// Number of pending timers.
pub async fn count(conn: &mut Conn) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM timers").fetch_one(conn).await
}

/// Turns up to `limit` due timers into inbox events: one-shot timers are deleted, schedules re-arm
/// for their next occurrence after `now`. Run inside a transaction so each fires exactly once.
/// Returns how many fired.
///
/// Several instances (issue 14 §2): on PostgreSQL the due rows are claimed `FOR UPDATE SKIP
/// LOCKED`, so instances firing at once take disjoint rows and do not wait for each other; the
/// firing (delete or re-arm) commits with the inbox insert, so a row another instance fired is
/// gone or re-armed when the lock is released. Should a timer still fire twice (it cannot, short
/// of a bug), the inbox's dedup key stores it once, and a schedule's tick key holds its due time,
/// so each occurrence ticks once cluster-wide.
pub async fn fire_due(conn: &mut Conn, now: DateTime<Utc>, limit: usize) -> Result<usize, sqlx::Error> {
    let skip = super::Engine::of_conn(conn).skip_locked();
    // Only the engine's locking clause is generated; every value is bound.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, owner, key, due_at, payload, cron, time_zone FROM timers WHERE due_at <= $1
         ORDER BY due_at, id LIMIT $2{skip}"
    )))
    .bind(to_ms(now))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(&mut *conn)
    .await?;
    let fired = rows.len();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        let owner: String = row.try_get("owner")?;
        let key: String = row.try_get("key")?;
        let due_at = from_ms(row.try_get("due_at")?);
        let cron: Option<String> = row.try_get("cron")?;
        let event = match (&cron, key.strip_prefix(SCHEDULE_PREFIX)) {
            (Some(expr), Some(name)) => {
                let tz: Option<String> = row.try_get("time_zone")?;
                let tz = tz.and_then(|t| Tz::from_str(&t).ok()).unwrap_or(Tz::UTC);
                match parse_cron(expr).ok().and_then(|s| next_occurrence(&s, tz, now)) {
                    Some(next) => {
                        sqlx::query("UPDATE timers SET due_at = $1 WHERE id = $2")
                            .bind(to_ms(next))
                            .bind(id)
                            .execute(&mut *conn)
                            .await?;
                    }
                    None => {
                        // An expression with no future occurrence (a past year) fires its last time.
                        sqlx::query("DELETE FROM timers WHERE id = $1")
                            .bind(id)
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                let tick = ScheduleTick {
                    name: name.to_owned(),
                    due_at,
                    late: now - due_at > chrono::Duration::minutes(1),
                };
                NewEvent {
                    dedup_key: DedupKey(format!("schedule:{owner}:{name}:{}", to_ms(due_at))),
                    kind: "schedule",
                    name: name.to_owned(),
                    owner: Some(owner.clone()),
                    payload: serde_json::to_string(&tick).unwrap_or_default(),
                }
            }
            _ => {
                sqlx::query("DELETE FROM timers WHERE id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                let payload: String = row.try_get("payload")?;
                let fired = TimerFired {
                    key: TimerKey(key.clone()),
                    due_at,
                    payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                };
                NewEvent {
                    // The row id makes a re-set timer with the same key and due time a new firing.
                    dedup_key: DedupKey(format!("timer:{owner}:{key}:{}:{id}", to_ms(due_at))),
                    kind: "timer",
                    name: key.clone(),
                    owner: Some(owner.clone()),
                    payload: serde_json::to_string(&fired).unwrap_or_default(),
                }
            }
        };
        inbox::insert(conn, &event, now).await?;
    }
    Ok(fired)
}

/// Makes sure `owner`'s schedule has its row. An unchanged schedule keeps its due time, so an
/// occurrence missed while Sentinel was down fires on start (or is skipped, by its policy); a new
/// or changed one is armed for its next occurrence.
///
/// One statement, decided by the upsert itself rather than read-then-write: two instances starting
/// at once (or one starting while another fires the schedule) cannot interleave between a read and
/// the write and put back a due time that has just ticked. Should one still re-arm an occurrence
/// that already ticked, its tick's dedup key (which holds the due time) stores it once.
pub async fn ensure_schedule(
    conn: &mut Conn,
    owner: &str,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<(), ScheduleError> {
    let parsed = parse_cron(&schedule.cron).map_err(ScheduleError::Cron)?;
    let next = next_occurrence(&parsed, schedule.time_zone, now).ok_or(ScheduleError::NoOccurrence)?;
    let key = format!("{SCHEDULE_PREFIX}{}", schedule.name);
    let tz = schedule.time_zone.name();
    sqlx::query(
        "INSERT INTO timers (owner, key, due_at, payload, cron, time_zone, missed, created_at)
         VALUES ($1, $2, $3, 'null', $4, $5, $6, $7)
         ON CONFLICT (owner, key) DO UPDATE SET
           due_at = CASE WHEN timers.cron = excluded.cron AND timers.time_zone = excluded.time_zone
                          AND NOT (timers.due_at <= $7 AND $8 = 1)
                         THEN timers.due_at ELSE excluded.due_at END,
           cron = excluded.cron, time_zone = excluded.time_zone, missed = excluded.missed",
    )
    .bind(owner)
    .bind(&key)
    .bind(to_ms(next))
    .bind(&schedule.cron)
    .bind(tz)
    .bind(schedule.missed.as_str())
    .bind(to_ms(now))
    // An integer flag on both engines: a missed occurrence is skipped rather than fired late.
    .bind(i64::from(schedule.missed == MissedRun::Skip))
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes schedule rows of `owner` that are no longer declared.
pub async fn retire_schedules(conn: &mut Conn, owner: &str, keep: &[String]) -> Result<u64, sqlx::Error> {
    let keep: Vec<String> = keep.iter().map(|name| format!("{SCHEDULE_PREFIX}{name}")).collect();
    let mut sql = String::from("DELETE FROM timers WHERE owner = $1 AND cron IS NOT NULL");
    if !keep.is_empty() {
        sql.push_str(&format!(" AND key NOT IN ({})", super::placeholders(2, keep.len())));
    }
    // Only placeholders are generated; every value is bound.
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner);
    for key in &keep {
        query = query.bind(key);
    }
    Ok(query.execute(conn).await?.rows_affected())
}

/// A schedule that cannot be armed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The expression is not valid.
    #[error("{0}")]
    Cron(String),
    /// The expression has no future occurrence.
    #[error("the cron expression has no future occurrence")]
    NoOccurrence,
    /// A statement failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Parses a cron expression, explaining the usual mistakes.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    cron::Schedule::from_str(expr).map_err(|err| {
        let fields = expr.split_whitespace().count();
        if fields == 5 {
            format!("`{expr}` has five fields; Sentinel's cron expressions start with seconds, e.g. `0 {expr}`")
        } else {
            format!("`{expr}` is not a valid cron expression: {err}")
        }
    })
}

/// The first occurrence of `schedule`, read in `tz`, strictly after `after`.
pub fn next_occurrence(schedule: &cron::Schedule, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule
        .after(&after.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("valid time")
    }

    #[test]
    fn next_occurrence_follows_local_time_across_dst_changes() {
        let berlin: Tz = "Europe/Berlin".parse().expect("zone");
        let daily = parse_cron("0 0 9 * * *").expect("cron");
        // 09:00 in Berlin is 08:00 UTC in winter (CET) and 07:00 UTC in summer (CEST); clocks
        // go forward on 2026-03-29.
        assert_eq!(
            next_occurrence(&daily, berlin, utc(2026, 3, 28, 8, 0)),
            Some(utc(2026, 3, 29, 7, 0))
        );
        assert_eq!(
            next_occurrence(&daily, berlin, utc(2026, 3, 27, 9, 0)),
            Some(utc(2026, 3, 28, 8, 0))
        );
        // …and back on 2026-10-25.
        assert_eq!(
            next_occurrence(&daily, berlin, utc(2026, 10, 24, 7, 0)),
            Some(utc(2026, 10, 25, 8, 0))
        );
        // 02:30 does not exist on 2026-03-29 in Berlin: that day is skipped, not fired twice or early.
        let nightly = parse_cron("0 30 2 * * *").expect("cron");
        assert_eq!(
            next_occurrence(&nightly, berlin, utc(2026, 3, 28, 2, 0)),
            Some(utc(2026, 3, 30, 0, 30))
        );
    }

    #[test]
    fn cron_errors_explain_the_seconds_field() {
        let err = parse_cron("0 9 * * *").expect_err("five fields");
        assert!(err.contains("start with seconds"), "{err}");
        assert!(parse_cron("0 0 9 * * Mon-Fri").is_ok());
    }
}
