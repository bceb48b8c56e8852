//! The `outbox` and `message_refs` tables: messages on their way out, and where they landed.

use crate::store::Conn;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{from_ms, to_ms};
use crate::ids::{ChannelRef, Platform};
use crate::message::Message;
use crate::severity::Severity;
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

/// Enqueues one message. Order is kept only where it matters (see [`chains`]); among the rows that
/// may go, the most severe message goes first.
pub async fn enqueue(conn: &mut Conn, row: &NewOutbound<'_>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let message = serde_json::to_string(row.message).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    let space = row
        .space
        .map(serde_json::to_string)
        .transpose()
        .map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    let (order_key, depends_on) = chains(row);
    sqlx::query(
        "INSERT INTO outbox (idempotency_key, platform, channel, op, message_key, thread_key, order_key, depends_on,
           priority, recipient, response_url, message, space, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(&row.idempotency_key)
    .bind(row.platform.as_str())
    .bind(row.channel)
    .bind(row.op.as_str())
    .bind(row.message.key.as_ref().map(|k| k.as_str()))
    .bind(row.message.thread.as_ref().map(|k| k.as_str()))
    .bind(order_key)
    .bind(depends_on)
    .bind(priority(row.message))
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

/// The chain a row belongs to and the one other chain it waits for. Rows of one chain are delivered
/// strictly in id order: a keyed message's post and edits (an edit never overtakes its post), and
/// the unkeyed replies under one parent (a reply never overtakes its parent, notes keep their
/// order). A keyed reply waits for its parent's chain; a message to a space waits for the space's
/// opening row. Everything else is independent: one message waiting for a retry holds up nothing
/// but what depends on it.
fn chains(row: &NewOutbound<'_>) -> (String, Option<String>) {
    let chain = |channel: &str, link: &str| format!("{}:{channel}|{link}", row.platform);
    if let Some(space) = row.space {
        return (chain(space.channel().as_str(), "open"), None);
    }
    let (key, thread) = match row.op {
        Op::Post => (row.message.key.as_ref(), row.message.thread.as_ref()),
        Op::Ephemeral | Op::Space => (None, None),
    };
    let own = match (key, thread) {
        (Some(key), _) => chain(row.channel, key.as_str()),
        (None, Some(parent)) => chain(row.channel, parent.as_str()),
        (None, None) => chain(row.channel, &format!("#{}", row.idempotency_key)),
    };
    let waits_for = match (key, thread) {
        (Some(_), Some(parent)) => Some(chain(row.channel, parent.as_str())),
        _ if ChannelRef::from(row.channel).space_key().is_some() => Some(chain(row.channel, "open")),
        _ => None,
    };
    (own, waits_for)
}

/// Delivery priority: the message's severity (critical highest), 0 without one.
fn priority(message: &Message) -> i64 {
    match message.severity {
        None => 0,
        Some(Severity::Low) => 1,
        Some(Severity::Medium) => 2,
        Some(Severity::High) => 3,
        Some(Severity::Critical) => 4,
    }
}

/// Rows of one channel taken per [`due`] query.
const PER_CHANNEL: i64 = 8;

/// A row `o` may go when no earlier pending row of its chain, or of the chain it waits for, remains.
/// (A macro, so that the statements using it stay static strings.)
macro_rules! may_go {
    () => {
        "NOT EXISTS (SELECT 1 FROM outbox e WHERE e.state = 'pending' AND e.id < o.id
                       AND (e.order_key = o.order_key OR e.order_key = o.depends_on))"
    };
}

/// [`due`]'s question, with `paced_out` channels whose posts must wait. A few rows per channel at
/// most, so that a storm in one channel cannot fill the batch and hold up the others. The rows are
/// ranked on the narrow columns of the index `outbox_waiting` alone (migration 0021); only the rows
/// picked are read whole, with their messages.
fn due_sql(paced_out: usize) -> String {
    let skip = if paced_out == 0 {
        String::new()
    } else {
        // Ephemeral replies are never paced.
        format!(
            " AND (o.op = 'ephemeral' OR o.channel NOT IN ({}))",
            super::placeholders(5, paced_out)
        )
    };
    format!(
        concat!(
            "SELECT m.id, m.idempotency_key, m.channel, m.op, m.recipient, m.response_url, m.message, m.space,
                    m.attempts, m.outcome_unknown
             FROM (SELECT o.id, o.priority,
                          ROW_NUMBER() OVER (PARTITION BY o.channel ORDER BY o.priority DESC, o.id) AS place
                   FROM outbox o
                   WHERE o.state = 'pending' AND o.platform = $1 AND o.next_attempt_at <= $2
                     AND (o.lease_until IS NULL OR o.lease_until <= $2) AND ",
            may_go!(),
            "{skip}) AS due
             JOIN outbox m ON m.id = due.id
             WHERE due.place <= $4
             ORDER BY due.priority DESC, due.id LIMIT $3"
        ),
        skip = skip
    )
}

/// [`next_due`]'s question, answered from the index `outbox_waiting` alone (migration 0021). A
/// comparison is BOOLEAN on PostgreSQL and INTEGER on SQLite; CASE gives both an integer.
const NEXT_DUE: &str = concat!(
    "SELECT o.channel, CASE WHEN o.op = 'ephemeral' THEN 1 ELSE 0 END AS ephemeral,
       MIN(CASE WHEN o.lease_until > o.next_attempt_at THEN o.lease_until ELSE o.next_attempt_at END) AS at
     FROM outbox o
     WHERE o.state = 'pending' AND o.platform = $1 AND ",
    may_go!(),
    " GROUP BY o.channel, CASE WHEN o.op = 'ephemeral' THEN 1 ELSE 0 END"
);

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
    /// The last attempt may have been carried out (its answer was lost, or the instance making it
    /// died): look before posting again.
    pub outcome_unknown: bool,
    /// The fencing token of this instance's claim on the row (see [`super::claims`]); 0 until
    /// claimed. Outcomes are recorded only with the current one.
    pub fence: i64,
}

/// Rows for `platform` that are due and may go (see [`chains`]), most severe first, then oldest,
/// leaving out the posts to the `paced_out` channels (whose pace allows no post now: asking for
/// them would fill the batch with rows that cannot go while other channels' rows wait).
/// Rows in flight at some instance (a running lease) are left out; they stay `pending`, so the
/// rows behind them in their chain stay held on every instance. Claim the rows before sending them
/// ([`super::claims::claim`]).
pub async fn due(
    conn: &mut Conn,
    platform: Platform,
    now: DateTime<Utc>,
    limit: usize,
    paced_out: &[&str],
) -> Result<Vec<Outbound>, sqlx::Error> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(due_sql(paced_out.len())))
        .bind(platform.as_str())
        .bind(to_ms(now))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(PER_CHANNEL);
    // Only placeholders are generated; every channel is bound.
    for channel in paced_out {
        query = query.bind(*channel);
    }
    let rows = query.fetch_all(conn).await?;
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
            outcome_unknown: row.try_get::<i64, _>("outcome_unknown")? != 0,
            fence: 0,
        });
    }
    Ok(out)
}

/// When a row of `platform` waits, per channel: the earliest time one of that channel's rows that
/// may go (see [`chains`]) is due, and whether it is an ephemeral reply (which is never paced).
/// Rows held up behind another row are left out: they can go only once that one has, and its
/// delivery wakes the worker. A row in flight elsewhere counts from when its lease runs out (then it
/// may be taken over). Sleeping until the earliest of these times never wakes for nothing.
pub async fn next_due(conn: &mut Conn, platform: Platform) -> Result<Vec<ChannelDue>, sqlx::Error> {
    let rows = sqlx::query(NEXT_DUE).bind(platform.as_str()).fetch_all(conn).await?;
    rows.into_iter()
        .map(|row| {
            Ok(ChannelDue {
                channel: row.try_get("channel")?,
                ephemeral: row.try_get::<i64, _>("ephemeral")? != 0,
                at: from_ms(row.try_get("at")?),
            })
        })
        .collect()
}

/// When a channel next has a row that may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelDue {
    /// The channel.
    pub channel: String,
    /// True for ephemeral replies (never paced).
    pub ephemeral: bool,
    /// When the earliest of them is due.
    pub at: DateTime<Utc>,
}

/// Where a keyed message landed on a platform.
pub async fn find_ref(
    conn: &mut Conn,
    platform: Platform,
    channel: &str,
    key: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT platform_message_id FROM message_refs WHERE platform = $1 AND channel = $2 AND message_key = $3",
    )
    .bind(platform.as_str())
    .bind(channel)
    .bind(key)
    .fetch_optional(conn)
    .await
}

/// Records a delivery: the row is done, and a keyed message's platform id is remembered. Returns
/// false, changing nothing, when the claim `row.fence` was lost (another instance took the row
/// over): the caller rolls back.
pub async fn mark_delivered(
    conn: &mut Conn,
    platform: Platform,
    row: &Outbound,
    platform_message_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE outbox SET state = 'delivered', delivered_at = $1, platform_message_id = $2, attempts = attempts + 1,
           lease_owner = NULL, lease_until = NULL
         WHERE id = $3 AND fence = $4",
    )
    .bind(to_ms(now))
    .bind(platform_message_id)
    .bind(row.id)
    .bind(row.fence)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed != 1 {
        return Ok(false);
    }
    if let (Some(key), Op::Post) = (&row.message.key, row.op) {
        sqlx::query(
            "INSERT INTO message_refs (platform, channel, message_key, platform_message_id, updated_at)
             VALUES ($1, $2, $3, $4, $5)
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
    Ok(true)
}

/// Schedules another attempt; `outcome_unknown` when the failed attempt may have been carried out.
/// Returns false, changing nothing, when the claim `fence` was lost.
pub async fn mark_retry(
    conn: &mut Conn,
    id: i64,
    fence: i64,
    next_attempt_at: DateTime<Utc>,
    error: &str,
    outcome_unknown: bool,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2,
           outcome_unknown = CASE WHEN $3 = 1 THEN 1 ELSE outcome_unknown END, lease_owner = NULL, lease_until = NULL
         WHERE id = $4 AND fence = $5",
    )
    .bind(to_ms(next_attempt_at))
    .bind(error)
    // An integer flag on both engines (PostgreSQL has no OR of integers).
    .bind(i64::from(outcome_unknown))
    .bind(id)
    .bind(fence)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Gives up on a row; it stays visible (`sentinel dead list`) and can be retried. Returns false,
/// changing nothing, when the claim `fence` was lost.
pub async fn mark_failed(conn: &mut Conn, id: i64, fence: i64, error: &str) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = $1, lease_owner = NULL,
           lease_until = NULL WHERE id = $2 AND fence = $3",
    )
    .bind(error)
    .bind(id)
    .bind(fence)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
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
pub async fn failed(conn: &mut Conn) -> Result<Vec<FailedMessage>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, platform, channel, message, attempts, last_error
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
                text: message_text(&row.try_get::<String, _>("message")?),
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                error: row.try_get::<Option<String>, _>("last_error")?.unwrap_or_default(),
            })
        })
        .collect()
}

/// The `text` of a stored message (its summary line), or nothing when it has none.
fn message_text(message: &str) -> String {
    serde_json::from_str::<serde_json::Value>(message)
        .ok()
        .and_then(|value| value.get("text").and_then(serde_json::Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

/// Puts failed messages back in the queue: `id` alone, or all. Returns how many.
pub async fn requeue_failed(conn: &mut Conn, id: Option<i64>, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1 WHERE state = 'failed' AND ($2 IS NULL OR id = $2)",
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
pub async fn counts(conn: &mut Conn) -> Result<OutboxCounts, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(CASE WHEN state = 'pending' THEN 1 END) AS pending,
                COUNT(CASE WHEN state = 'failed' THEN 1 END) AS failed FROM outbox",
    )
    .fetch_one(conn)
    .await?;
    Ok(OutboxCounts {
        pending: row.try_get("pending")?,
        failed: row.try_get("failed")?,
    })
}

/// Deletes delivered rows older than `before` (the message refs stay, so edits still find their message).
pub async fn prune(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < $1")
            .bind(to_ms(before))
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::Duration;

    use super::*;
    use crate::harness::test_db::TestDb;
    use crate::harness::test_start;

    /// Enqueues a Slack message `key` to `channel` (an ephemeral one for user U1).
    pub(crate) async fn enqueue_to(conn: &mut Conn, channel: &str, op: Op, key: &str, now: DateTime<Utc>) {
        let message = Message::new("ops", key);
        let row = NewOutbound {
            idempotency_key: key.to_owned(),
            platform: Platform::Slack,
            channel,
            op,
            recipient: (op == Op::Ephemeral).then_some("U1"),
            response_url: None,
            message: &message,
            space: None,
        };
        enqueue(conn, &row, now).await.expect("enqueue");
    }

    /// The delivery workers' two questions are asked of every waiting row, many times a second:
    /// on SQLite they must be answered from the covering indexes of migration 0021, never by
    /// reading the rows (whose messages sit before the columns asked about).
    #[tokio::test]
    async fn the_workers_questions_read_only_the_indexes_on_sqlite() {
        let db = TestDb::sqlite();
        let pool = db.open().await.expect("open");
        for (question, sql) in [
            ("due", due_sql(0)),
            ("due, paced", due_sql(2)),
            ("next_due", NEXT_DUE.to_owned()),
        ] {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))).bind("slack");
            if question.starts_with("due") {
                query = query.bind(0_i64).bind(10_i64).bind(PER_CHANNEL);
            }
            if question == "due, paced" {
                query = query.bind("C1").bind("C2");
            }
            let plan: Vec<String> = query
                .fetch_all(&pool)
                .await
                .expect("plan")
                .iter()
                .map(|row| row.try_get::<String, _>("detail").expect("detail"))
                .collect();
            let plan = plan.join("\n");
            assert!(
                plan.contains("SEARCH o USING COVERING INDEX outbox_waiting"),
                "{question}:\n{plan}"
            );
            assert!(
                plan.contains("SEARCH e USING COVERING INDEX outbox_order"),
                "{question}:\n{plan}"
            );
            assert!(
                !plan.contains("SCAN o") && !plan.contains("SCAN e"),
                "{question}:\n{plan}"
            );
        }
    }

    /// The delivery worker sleeps until `next_due`: on the run's engine it answers per channel,
    /// ephemeral replies apart, with the earliest due time. (On PostgreSQL it once failed to
    /// decode, and the worker fell back to waking a second late.)
    #[tokio::test]
    async fn next_due_gives_each_channels_earliest_waiting_row() {
        let db = TestDb::new().await;
        let pool = db.open().await.expect("open");
        let mut conn = pool.acquire().await.expect("conn");
        let t0 = test_start();
        assert!(next_due(&mut conn, Platform::Slack).await.expect("empty").is_empty());
        enqueue_to(&mut conn, "C1", Op::Post, "a", t0 + Duration::seconds(2)).await;
        enqueue_to(&mut conn, "C1", Op::Post, "b", t0).await;
        enqueue_to(&mut conn, "C1", Op::Ephemeral, "c", t0 + Duration::seconds(5)).await;
        enqueue_to(&mut conn, "C2", Op::Post, "d", t0 + Duration::seconds(7)).await;
        let mut waiting = next_due(&mut conn, Platform::Slack).await.expect("next_due");
        waiting.sort_by(|x, y| (&x.channel, x.ephemeral).cmp(&(&y.channel, y.ephemeral)));
        let due = |channel: &str, ephemeral: bool, at: DateTime<Utc>| ChannelDue {
            channel: channel.to_owned(),
            ephemeral,
            at,
        };
        assert_eq!(
            waiting,
            [
                due("C1", false, t0),
                due("C1", true, t0 + Duration::seconds(5)),
                due("C2", false, t0 + Duration::seconds(7)),
            ]
        );
        assert!(
            next_due(&mut conn, Platform::Discord)
                .await
                .expect("other platform")
                .is_empty()
        );
    }
}
