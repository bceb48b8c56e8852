//! The `github_requests` table: API calls plugins asked for, waiting for the GitHub worker.

use crate::store::Conn;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;

use super::request::{GitHubRequest, Method};
use crate::store::{from_ms, to_ms};

/// Enqueues `request` for `requester`, due at once. Returns the row id.
pub async fn insert(
    conn: &mut Conn,
    requester: &str,
    request: &GitHubRequest,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let body = json_text(request.body.as_ref())?;
    let look_first = json_text(request.look_first.as_ref())?;
    sqlx::query_scalar(
        "INSERT INTO github_requests (requester, correlation, method, path, body, paginate, look_first, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(requester)
    .bind(&request.correlation)
    .bind(request.method.as_str())
    .bind(&request.path)
    .bind(body)
    .bind(i64::from(request.paginate))
    .bind(look_first)
    .bind(to_ms(now))
    .bind(to_ms(now))
    .fetch_one(conn)
    .await
}

/// A column's JSON text, `None` for `None`.
fn json_text<T: serde::Serialize>(value: Option<&T>) -> Result<Option<String>, sqlx::Error> {
    value
        .map(serde_json::to_string)
        .transpose()
        .map_err(|err| sqlx::Error::Encode(Box::new(err)))
}

/// A pending row as the worker reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRequest {
    /// Row id.
    pub id: i64,
    /// The plugin that asked.
    pub requester: String,
    /// The request (a body that no longer reads as JSON is dropped, a method unknown to this
    /// version is `None`: the worker answers such a row with an error).
    pub request: GitHubRequest,
    /// The stored method, when this version does not know it.
    pub unknown_method: Option<String>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Where a paginated request resumes, with what was fetched before.
    pub progress: Progress,
    /// The fencing token of this instance's claim on the row (see [`crate::store::claims`]); 0
    /// until claimed. Progress and the answer are recorded only with the current one.
    pub fence: i64,
    /// Set by the claim: an earlier attempt (failed, or in flight at an instance that died) may
    /// have reached GitHub.
    pub outcome_unknown: bool,
}

/// How far a paginated request got before it had to wait (a failure or a rate-limit pause).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// The next page to fetch; `None` starts from the request's path.
    pub cursor: Option<String>,
    /// Entries of the pages fetched so far.
    pub items: Vec<Value>,
    /// Pages fetched so far.
    pub pages: u32,
}

/// Pending rows due at `now`, oldest first, leaving out rows in flight at some instance (a running
/// lease). Claim each before performing it ([`crate::store::claims::claim`]).
pub async fn due(conn: &mut Conn, now: DateTime<Utc>, limit: usize) -> Result<Vec<StoredRequest>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, requester, correlation, method, path, body, paginate, look_first, attempts, cursor, partial, pages
         FROM github_requests WHERE state = 'pending' AND next_attempt_at <= $1
           AND (lease_until IS NULL OR lease_until <= $1) ORDER BY id LIMIT $2",
    )
    .bind(to_ms(now))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            let method: String = row.try_get("method")?;
            let parsed = Method::parse(&method);
            let body: Option<String> = row.try_get("body")?;
            let partial: Option<String> = row.try_get("partial")?;
            let look_first: Option<String> = row.try_get("look_first")?;
            Ok(StoredRequest {
                id: row.try_get("id")?,
                requester: row.try_get("requester")?,
                request: GitHubRequest {
                    correlation: row.try_get("correlation")?,
                    method: parsed.unwrap_or(Method::Get),
                    path: row.try_get("path")?,
                    body: body.and_then(|b| serde_json::from_str(&b).ok()),
                    paginate: row.try_get::<i64, _>("paginate")? != 0,
                    // Written by this version as JSON; unreadable, the POST is sent without looking.
                    look_first: look_first.and_then(|l| serde_json::from_str(&l).ok()),
                },
                unknown_method: parsed.is_none().then_some(method),
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                progress: Progress {
                    cursor: row.try_get("cursor")?,
                    // Saved by this worker as a JSON array; anything else restarts the listing.
                    items: partial.and_then(|p| serde_json::from_str(&p).ok()).unwrap_or_default(),
                    pages: u32::try_from(row.try_get::<i64, _>("pages")?).unwrap_or(0),
                },
                fence: 0,
                outcome_unknown: false,
            })
        })
        .collect()
}

/// When the next pending row is due (a row in flight elsewhere: when its lease runs out).
pub async fn next_due_at(conn: &mut Conn) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let at: Option<i64> = sqlx::query_scalar(
        "SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END)
         FROM github_requests WHERE state = 'pending'",
    )
    .fetch_one(conn)
    .await?;
    Ok(at.map(from_ms))
}

/// Holds every pending row until at least `until` (the rate-limit window resets then).
pub async fn hold_all_until(conn: &mut Conn, until: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE github_requests SET next_attempt_at = $1 WHERE state = 'pending' AND next_attempt_at < $1")
            .bind(to_ms(until))
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Saves how far a paginated request got, so it resumes there (and releases the claim: the row
/// waits for a pause or a retry). Returns false, changing nothing, when the claim `fence` was lost.
pub async fn save_progress(conn: &mut Conn, id: i64, fence: i64, progress: &Progress) -> Result<bool, sqlx::Error> {
    let partial = serde_json::to_string(&progress.items).map_err(|err| sqlx::Error::Encode(Box::new(err)))?;
    let changed = sqlx::query(
        "UPDATE github_requests SET cursor = $1, partial = $2, pages = $3, lease_owner = NULL, lease_until = NULL
         WHERE id = $4 AND fence = $5",
    )
    .bind(progress.cursor.as_deref())
    .bind(progress.cursor.as_ref().map(|_| partial))
    .bind(i64::from(progress.pages))
    .bind(id)
    .bind(fence)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Records a failed attempt and when to try again. Returns false, changing nothing, when the claim
/// `fence` was lost.
pub async fn mark_retry(
    conn: &mut Conn,
    id: i64,
    fence: i64,
    next_attempt_at: DateTime<Utc>,
    error: &str,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE github_requests SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2,
           lease_owner = NULL, lease_until = NULL
         WHERE id = $3 AND fence = $4",
    )
    .bind(to_ms(next_attempt_at))
    .bind(error)
    .bind(id)
    .bind(fence)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Marks a row answered (call in the transaction that stores the answer). Returns false when it was
/// no longer pending, or the claim `fence` was lost (another instance took the row over): roll back.
pub async fn mark_done(
    conn: &mut Conn,
    id: i64,
    fence: i64,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE github_requests SET state = 'done', done_at = $1, last_error = COALESCE($2, last_error),
           cursor = NULL, partial = NULL, lease_owner = NULL, lease_until = NULL
         WHERE id = $3 AND state = 'pending' AND fence = $4",
    )
    .bind(to_ms(now))
    .bind(error)
    .bind(id)
    .bind(fence)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Deletes answered rows older than `before`.
pub async fn prune(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM github_requests WHERE state = 'done' AND done_at < $1")
            .bind(to_ms(before))
            .execute(conn)
            .await?
            .rows_affected(),
    )
}
