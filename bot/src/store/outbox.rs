//! The `outbox` and `message_refs` tables: messages on their way out, and where they landed.

use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteConnection};

use super::{from_ms, to_ms};
use crate::ids::Platform;
use crate::message::Message;
use crate::space::Space;

/// How a row is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Posted to the channel (or, when keyed and already posted, edited in place).
    Post,
    /// Shown only to `recipient`.
    Ephemeral,
    /// Opens the space in the row's `space` column under the row's channel (its parent).
    Space,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Post => "post",
            Op::Ephemeral => "ephemeral",
            Op::Space => "space",
        }
    }

    fn parse(op: &str) -> Self {
        match op {
            "ephemeral" => Op::Ephemeral,
            "space" => Op::Space,
            _ => Op::Post,
        }
    }
}

/// A message to enqueue for one platform.
#[derive(Debug, Clone)]
pub struct NewOutbound<'a> {
    /// Unique per row; a second insert with the same key is ignored.
    pub idempotency_key: String,
    /// The platform.
    pub platform: Platform,
    /// The platform's channel id.
    pub channel: &'a str,
    /// How to deliver it.
    pub op: Op,
    /// The user an ephemeral reply is for.
    pub recipient: Option<&'a str>,
    /// A per-interaction reply address.
    pub response_url: Option<&'a str>,
    /// The message.
    pub message: &'a Message,
    /// The space an [`Op::Space`] row opens.
    pub space: Option<&'a Space>,
}

/// Enqueues one message. Rows to the same (platform, channel) are delivered in order; a space's
/// opening row is ordered with the messages to `space:<key>`, so they follow it.
pub async fn enqueue(
    conn: &mut SqliteConnection,
    row: &NewOutbound<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let message = serde_json::to_string(row.message).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    let space = row
        .space
        .map(serde_json::to_string)
        .transpose()
        .map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    let order_key = match row.space {
        Some(space) => format!("{}:{}", row.platform, space.channel()),
        None => format!("{}:{}", row.platform, row.channel),
    };
    sqlx::query(
        "INSERT INTO outbox (idempotency_key, platform, channel, op, message_key, thread_key, order_key,
           recipient, response_url, message, space, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(&row.idempotency_key)
    .bind(row.platform.as_str())
    .bind(row.channel)
    .bind(row.op.as_str())
    .bind(row.message.key.as_ref().map(|k| k.as_str()))
    .bind(row.message.thread.as_ref().map(|k| k.as_str()))
    .bind(order_key)
    .bind(row.recipient)
    .bind(row.response_url)
    .bind(message)
    .bind(space)
    .bind(to_ms(now))
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// A row the delivery worker is about to deliver.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// Row id.
    pub id: i64,
    /// Idempotency key (sent to platforms that support one).
    pub idempotency_key: String,
    /// Channel id.
    pub channel: String,
    /// How to deliver it.
    pub op: Op,
    /// The user an ephemeral reply is for.
    pub recipient: Option<String>,
    /// A per-interaction reply address.
    pub response_url: Option<String>,
    /// The message.
    pub message: Message,
    /// The space an [`Op::Space`] row opens.
    pub space: Option<Space>,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// Rows for `platform` that are due, oldest first, skipping any channel whose earlier message is
/// still waiting for a retry (so a channel's messages never overtake each other).
pub async fn due(
    conn: &mut SqliteConnection,
    platform: Platform,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Outbound>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT o.id, o.idempotency_key, o.channel, o.op, o.recipient, o.response_url, o.message, o.space, o.attempts
         FROM outbox o
         WHERE o.state = 'pending' AND o.platform = ?1 AND o.next_attempt_at <= ?2
           AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.state = 'pending' AND e.order_key = o.order_key AND e.id < o.id)
         ORDER BY o.id LIMIT ?3",
    )
    .bind(platform.as_str())
    .bind(to_ms(now))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let message: String = row.try_get("message")?;
        let op: String = row.try_get("op")?;
        let space: Option<String> = row.try_get("space")?;
        out.push(Outbound {
            id: row.try_get("id")?,
            idempotency_key: row.try_get("idempotency_key")?,
            channel: row.try_get("channel")?,
            op: Op::parse(&op),
            recipient: row.try_get("recipient")?,
            response_url: row.try_get("response_url")?,
            message: serde_json::from_str(&message).map_err(|err| sqlx::Error::Decode(Box::new(err)))?,
            space: space
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|err| sqlx::Error::Decode(Box::new(err)))?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        });
    }
    Ok(out)
}

/// When the next pending row for `platform` is due.
pub async fn next_due_at(
    conn: &mut SqliteConnection,
    platform: Platform,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let at: Option<i64> =
        sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending' AND platform = ?")
            .bind(platform.as_str())
            .fetch_one(conn)
            .await?;
    Ok(at.map(from_ms))
}

/// Where a keyed message landed on a platform.
pub async fn find_ref(
    conn: &mut SqliteConnection,
    platform: Platform,
    channel: &str,
    key: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT platform_message_id FROM message_refs WHERE platform = ? AND channel = ? AND message_key = ?",
    )
    .bind(platform.as_str())
    .bind(channel)
    .bind(key)
    .fetch_optional(conn)
    .await
}

/// Records a delivery: the row is done, and a keyed message's platform id is remembered.
pub async fn mark_delivered(
    conn: &mut SqliteConnection,
    platform: Platform,
    row: &Outbound,
    platform_message_id: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET state = 'delivered', delivered_at = ?, platform_message_id = ?, attempts = attempts + 1
         WHERE id = ?",
    )
    .bind(to_ms(now))
    .bind(platform_message_id)
    .bind(row.id)
    .execute(&mut *conn)
    .await?;
    if let (Some(key), Op::Post) = (&row.message.key, row.op) {
        sqlx::query(
            "INSERT INTO message_refs (platform, channel, message_key, platform_message_id, updated_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (platform, channel, message_key) DO UPDATE SET platform_message_id = excluded.platform_message_id,
               updated_at = excluded.updated_at",
        )
        .bind(platform.as_str())
        .bind(&row.channel)
        .bind(key.as_str())
        .bind(platform_message_id)
        .bind(to_ms(now))
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Schedules another attempt.
pub async fn mark_retry(
    conn: &mut SqliteConnection,
    id: i64,
    next_attempt_at: DateTime<Utc>,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?")
        .bind(to_ms(next_attempt_at))
        .bind(error)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives up on a row; it stays visible (`sentinel dead list`) and can be retried.
pub async fn mark_failed(conn: &mut SqliteConnection, id: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?")
        .bind(error)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A message that could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedMessage {
    /// Row id.
    pub id: i64,
    /// Platform and channel.
    pub destination: String,
    /// The message's summary text.
    pub text: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub error: String,
}

/// Every failed message, oldest first.
pub async fn failed(conn: &mut SqliteConnection) -> Result<Vec<FailedMessage>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, platform, channel, json_extract(message, '$.text') AS text, attempts, last_error
         FROM outbox WHERE state = 'failed' ORDER BY id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(FailedMessage {
                id: row.try_get("id")?,
                destination: format!(
                    "{} {}",
                    row.try_get::<String, _>("platform")?,
                    row.try_get::<String, _>("channel")?
                ),
                text: row.try_get::<Option<String>, _>("text")?.unwrap_or_default(),
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                error: row.try_get::<Option<String>, _>("last_error")?.unwrap_or_default(),
            })
        })
        .collect()
}

/// Puts failed messages back in the queue: `id` alone, or all. Returns how many.
pub async fn requeue_failed(
    conn: &mut SqliteConnection,
    id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?1 WHERE state = 'failed' AND (?2 IS NULL OR id = ?2)",
    )
    .bind(to_ms(now))
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Pending and failed counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting for delivery.
    pub pending: i64,
    /// Given up on.
    pub failed: i64,
}

/// Current counts.
pub async fn counts(conn: &mut SqliteConnection) -> Result<OutboxCounts, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(state = 'pending'), 0) AS pending, COALESCE(SUM(state = 'failed'), 0) AS failed FROM outbox",
    )
    .fetch_one(conn)
    .await?;
    Ok(OutboxCounts {
        pending: row.try_get("pending")?,
        failed: row.try_get("failed")?,
    })
}

/// Deletes delivered rows older than `before` (the message refs stay, so edits still find their message).
pub async fn prune(conn: &mut SqliteConnection, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?")
            .bind(to_ms(before))
            .execute(conn)
            .await?
            .rows_affected(),
    )
}
