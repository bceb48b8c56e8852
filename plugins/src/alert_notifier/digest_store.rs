//! The `alert_arrivals`, `alert_digests` and `alert_digest_entries` tables
//! (`migrations/0011_alert_digests.sql`), all used on the dispatcher's transaction.

use chrono::{DateTime, Utc};
use sentinel_bot::store::{Conn, from_ms, to_ms};
use sentinel_bot::{Mention, PluginError, Severity};
use sqlx::Row;

use super::digest_layout::Entry;
use super::normalize::{Alert, AlertState};

/// Records a new alert for `channel` and returns how many arrived there within `window` up to
/// and including it. Arrivals older than the window are forgotten.
pub async fn arrive(
    conn: &mut Conn,
    channel: &str,
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> Result<u64, PluginError> {
    let since = to_ms(now - window);
    sqlx::query("DELETE FROM alert_arrivals WHERE channel = $1 AND at <= $2")
        .bind(channel)
        .bind(since)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO alert_arrivals (channel, at) VALUES ($1, $2)")
        .bind(channel)
        .bind(to_ms(now))
        .execute(&mut *conn)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alert_arrivals WHERE channel = $1 AND at > $2")
        .bind(channel)
        .bind(since)
        .fetch_one(conn)
        .await?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// The digest gathering alerts for `channel`, when there is one.
pub async fn gathering(conn: &mut Conn, channel: &str) -> Result<Option<i64>, PluginError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM alert_digests WHERE channel = $1 AND state = 'gathering'")
            .bind(channel)
            .fetch_optional(conn)
            .await?,
    )
}

/// When the last digest of `channel` was posted.
pub async fn last_posted(conn: &mut Conn, channel: &str) -> Result<Option<DateTime<Utc>>, PluginError> {
    let at: Option<i64> = sqlx::query_scalar("SELECT MAX(posted_at) FROM alert_digests WHERE channel = $1")
        .bind(channel)
        .fetch_one(conn)
        .await?;
    Ok(at.map(from_ms))
}

/// Opens a gathering digest for `channel`, to be posted at `flush_at`; returns its id.
pub async fn open(
    conn: &mut Conn,
    channel: &str,
    now: DateTime<Utc>,
    flush_at: DateTime<Utc>,
) -> Result<i64, PluginError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO alert_digests (channel, state, opened_at, flush_at) VALUES ($1, 'gathering', $2, $3) RETURNING id",
    )
    .bind(channel)
    .bind(to_ms(now))
    .bind(to_ms(flush_at))
    .fetch_one(conn)
    .await?)
}

/// Adds an alert to digest `digest` of `channel`. Returns false when the alert is listed in a
/// digest of that channel already.
pub async fn add(
    conn: &mut Conn,
    digest: i64,
    channel: &str,
    alert_key: &str,
    mentions: &[Mention],
) -> Result<bool, PluginError> {
    let added = sqlx::query(
        "INSERT INTO alert_digest_entries (alert_key, channel, digest_id, mentions) VALUES ($1, $2, $3, $4)
         ON CONFLICT (alert_key, channel) DO NOTHING",
    )
    .bind(alert_key)
    .bind(channel)
    .bind(digest)
    .bind(serde_json::to_string(mentions)?)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(added == 1)
}

/// A digest's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// Its id.
    pub id: i64,
    /// The logical channel.
    pub channel: String,
    /// Still gathering alerts (not posted yet).
    pub gathering: bool,
    /// Messages it was posted as.
    pub parts: u32,
}

/// Digest `id`.
pub async fn digest(conn: &mut Conn, id: i64) -> Result<Option<Digest>, PluginError> {
    let row = sqlx::query("SELECT channel, state, parts FROM alert_digests WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let state: String = row.try_get("state")?;
    Ok(Some(Digest {
        id,
        channel: row.try_get("channel")?,
        gathering: state == "gathering",
        parts: u32::try_from(row.try_get::<i64, _>("parts")?).unwrap_or(0),
    }))
}

/// The alerts digest `id` gathered, as they are now, with who to mention for each.
pub async fn gathered(conn: &mut Conn, id: i64) -> Result<Vec<(Alert, Vec<Mention>)>, PluginError> {
    let rows = sqlx::query(
        "SELECT a.data, e.mentions FROM alert_digest_entries e JOIN alerts a ON a.key = e.alert_key
         WHERE e.digest_id = $1 ORDER BY a.number NULLS FIRST, a.key",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push((
            serde_json::from_str(row.try_get("data")?)?,
            serde_json::from_str(row.try_get("mentions")?)?,
        ));
    }
    Ok(out)
}

/// Fixes how `entry` is listed: in `part` of digest `digest`, under its severity and repository,
/// with its line; its changes up to now count as shown.
pub async fn list(conn: &mut Conn, digest: i64, part: u32, entry: &Entry) -> Result<(), PluginError> {
    sqlx::query(
        "UPDATE alert_digest_entries SET part = $1, severity = $2, repository = $3, line = $4,
                noted_change = (SELECT COALESCE(MAX(id), 0) FROM alert_changes WHERE alert_key = $5)
         WHERE digest_id = $6 AND alert_key = $7",
    )
    .bind(i64::from(part))
    .bind(entry.severity.as_str())
    .bind(&entry.repository)
    .bind(&entry.line)
    .bind(&entry.alert_key)
    .bind(digest)
    .bind(&entry.alert_key)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks digest `id` posted as `parts` messages.
pub async fn posted(conn: &mut Conn, id: i64, parts: u32, now: DateTime<Utc>) -> Result<(), PluginError> {
    sqlx::query("UPDATE alert_digests SET state = 'posted', posted_at = $1, parts = $2 WHERE id = $3")
        .bind(to_ms(now))
        .bind(i64::from(parts))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Where an alert is listed: a digest of a channel, and the part once posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The logical channel.
    pub channel: String,
    /// The digest.
    pub digest: i64,
    /// The part it is shown in; `None` while the digest is gathering.
    pub part: Option<u32>,
}

/// Every digest listing of `alert_key`.
pub async fn listings(conn: &mut Conn, alert_key: &str) -> Result<Vec<Listing>, PluginError> {
    let rows = sqlx::query("SELECT channel, digest_id, part FROM alert_digest_entries WHERE alert_key = $1")
        .bind(alert_key)
        .fetch_all(conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let part: Option<i64> = row.try_get("part")?;
        out.push(Listing {
            channel: row.try_get("channel")?,
            digest: row.try_get("digest_id")?,
            part: part.and_then(|p| u32::try_from(p).ok()),
        });
    }
    Ok(out)
}

/// The entries of one posted part, in the order the posting read them (sort them with
/// [`super::digest_layout::sort`] to list them), with each alert's state now and the mentions of
/// them all.
pub async fn part(conn: &mut Conn, digest: i64, part: u32) -> Result<(Vec<Entry>, Vec<Mention>), PluginError> {
    let rows = sqlx::query(
        "SELECT e.alert_key, e.severity, e.repository, e.line, e.mentions, a.state
         FROM alert_digest_entries e JOIN alerts a ON a.key = e.alert_key
         WHERE e.digest_id = $1 AND e.part = $2 ORDER BY a.number NULLS FIRST, a.key",
    )
    .bind(digest)
    .bind(i64::from(part))
    .fetch_all(conn)
    .await?;
    let mut entries = Vec::with_capacity(rows.len());
    let mut mentions: Vec<Mention> = Vec::new();
    for row in rows {
        let severity: Option<String> = row.try_get("severity")?;
        let state: String = row.try_get("state")?;
        entries.push(Entry {
            alert_key: row.try_get("alert_key")?,
            severity: severity
                .as_deref()
                .and_then(|s| s.parse().ok())
                .unwrap_or(Severity::Low),
            repository: row.try_get::<Option<String>, _>("repository")?.unwrap_or_default(),
            line: row.try_get::<Option<String>, _>("line")?.unwrap_or_default(),
            state: parse_state(&state),
        });
        let listed: Vec<Mention> = serde_json::from_str(row.try_get("mentions")?)?;
        for mention in listed {
            if !mentions.contains(&mention) {
                mentions.push(mention);
            }
        }
    }
    Ok((entries, mentions))
}

/// One change to note in a part's thread: the entry's line and repository, the note, its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unnoted {
    /// The listed line of the alert.
    pub line: String,
    /// Its repository.
    pub repository: String,
    /// The change's note.
    pub note: String,
}

/// Changes to the alerts of a posted part not yet shown or noted, oldest first, and the id of
/// the newest.
pub async fn unnoted(conn: &mut Conn, digest: i64, part: u32) -> Result<(Vec<Unnoted>, i64), PluginError> {
    let rows = sqlx::query(
        "SELECT e.line, e.repository, c.note, c.id FROM alert_digest_entries e
         JOIN alert_changes c ON c.alert_key = e.alert_key AND c.id > e.noted_change
         WHERE e.digest_id = $1 AND e.part = $2 ORDER BY c.id",
    )
    .bind(digest)
    .bind(i64::from(part))
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut newest = 0;
    for row in rows {
        newest = newest.max(row.try_get::<i64, _>("id")?);
        out.push(Unnoted {
            line: row.try_get::<Option<String>, _>("line")?.unwrap_or_default(),
            repository: row.try_get::<Option<String>, _>("repository")?.unwrap_or_default(),
            note: row.try_get("note")?,
        });
    }
    Ok((out, newest))
}

/// Records that the changes of a part's alerts up to `upto` were noted.
pub async fn noted(conn: &mut Conn, digest: i64, part: u32, upto: i64) -> Result<(), PluginError> {
    // The CASE keeps the larger of the two, which SQLite spells `MAX(a, b)` and PostgreSQL `GREATEST`.
    sqlx::query(
        "UPDATE alert_digest_entries SET noted_change = CASE WHEN noted_change > $1 THEN noted_change ELSE $1 END
         WHERE digest_id = $2 AND part = $3",
    )
    .bind(upto)
    .bind(digest)
    .bind(i64::from(part))
    .execute(conn)
    .await?;
    Ok(())
}

fn parse_state(state: &str) -> AlertState {
    match state {
        "fixed" => AlertState::Fixed,
        "dismissed" => AlertState::Dismissed,
        "resolved" => AlertState::Resolved,
        "withdrawn" => AlertState::Withdrawn,
        "failed" => AlertState::Failed,
        _ => AlertState::Open,
    }
}
