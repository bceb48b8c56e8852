//! The GitHub requests a run or report made, and their answers.

use chrono::{DateTime, Utc};
use sentinel_bot::store::to_ms;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::Db;

/// One GitHub request a run or report made.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Row id.
    pub id: i64,
    /// The correlation sent with it.
    pub correlation: String,
    /// The run it serves.
    pub run_id: Option<i64>,
    /// The report it serves.
    pub report_id: Option<i64>,
    /// The item (run) or metric (report).
    pub item: String,
    /// What it asked.
    pub kind: String,
    /// The repository it is about.
    pub repository: Option<String>,
    /// `pending`, `ok` or `failed`.
    pub state: String,
    /// The `github.response` payload.
    pub response: Option<serde_json::Value>,
}

fn request_of(row: &SqliteRow) -> Result<Request, sqlx::Error> {
    let response: Option<String> = row.try_get("response")?;
    Ok(Request {
        id: row.try_get("id")?,
        correlation: row.try_get("correlation")?,
        run_id: row.try_get("run_id")?,
        report_id: row.try_get("report_id")?,
        item: row.try_get("item")?,
        kind: row.try_get("check_kind")?,
        repository: row.try_get("repository")?,
        state: row.try_get("state")?,
        response: response.and_then(|text| serde_json::from_str(&text).ok()),
    })
}

const REQUEST_COLUMNS: &str = "id, correlation, run_id, report_id, item, check_kind, repository, state, response";

/// What a new request is for.
pub struct NewRequest<'a> {
    /// The run it serves.
    pub run_id: Option<i64>,
    /// The report it serves.
    pub report_id: Option<i64>,
    /// The item or metric.
    pub item: &'a str,
    /// What it asks.
    pub kind: &'a str,
    /// The repository.
    pub repository: Option<&'a str>,
}

/// Records a request and returns its correlation id, `audit:<id>:<kind>[:<repo>]`.
pub async fn insert_request(
    conn: &mut Db,
    request: &NewRequest<'_>,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    // Handlers run one at a time inside the dispatcher's write transaction, so the next id is ours.
    let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM audit_requests")
        .fetch_one(&mut *conn)
        .await?;
    let correlation = match request.repository {
        Some(repo) => format!("audit:{id}:{}:{repo}", request.kind),
        None => format!("audit:{id}:{}", request.kind),
    };
    sqlx::query(
        "INSERT INTO audit_requests (id, correlation, run_id, report_id, item, check_kind, repository, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(&correlation)
    .bind(request.run_id)
    .bind(request.report_id)
    .bind(request.item)
    .bind(request.kind)
    .bind(request.repository)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(correlation)
}

/// Stores the answer to a pending request and returns the request; `None` when it is unknown or
/// was answered (or timed out) already.
pub async fn answer_request(
    conn: &mut Db,
    correlation: &str,
    ok: bool,
    response: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Option<Request>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE audit_requests SET state = ?, response = ?, answered_at = ?
         WHERE correlation = ? AND state = 'pending' RETURNING {REQUEST_COLUMNS}"
    ));
    let row = sqlx::query(sql)
        .bind(if ok { "ok" } else { "failed" })
        .bind(response.to_string())
        .bind(to_ms(now))
        .bind(correlation)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(request_of).transpose()
}

/// Every request of one run item, oldest first.
pub async fn item_requests(conn: &mut Db, run_id: i64, item: &str) -> Result<Vec<Request>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {REQUEST_COLUMNS} FROM audit_requests WHERE run_id = ? AND item = ? ORDER BY id"
    ));
    let rows = sqlx::query(sql).bind(run_id).bind(item).fetch_all(conn).await?;
    rows.iter().map(request_of).collect()
}

/// Every request of one report, oldest first.
pub async fn report_requests(conn: &mut Db, report_id: i64) -> Result<Vec<Request>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {REQUEST_COLUMNS} FROM audit_requests WHERE report_id = ? ORDER BY id"
    ));
    let rows = sqlx::query(sql).bind(report_id).fetch_all(conn).await?;
    rows.iter().map(request_of).collect()
}

/// Gives up on the pending requests of a run (`run_id`) or report (`report_id`): each becomes failed
/// with `reason`. Returns the items (run) or metrics (report) they served.
pub async fn time_out_requests(
    conn: &mut Db,
    run_id: Option<i64>,
    report_id: Option<i64>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let response = serde_json::json!({ "ok": false, "error": reason }).to_string();
    let items: Vec<String> = sqlx::query_scalar(
        "UPDATE audit_requests SET state = 'failed', response = ?, answered_at = ?
         WHERE state = 'pending' AND (run_id = ? OR report_id = ?) RETURNING item",
    )
    .bind(response)
    .bind(to_ms(now))
    .bind(run_id)
    .bind(report_id)
    .fetch_all(conn)
    .await?;
    let mut unique: Vec<String> = Vec::new();
    for item in items {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    Ok(unique)
}

/// Keeps only the outcome (`ok`, `status`, `error`) of a run item's answered requests: the listings
/// themselves are no longer needed once the item is concluded, and can be large.
pub async fn compact_item_requests(conn: &mut Db, run_id: i64, item: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE audit_requests SET response = json_object('ok', json(CASE WHEN json_extract(response, '$.ok') THEN 'true' ELSE 'false' END),
            'status', json_extract(response, '$.status'), 'error', json_extract(response, '$.error'))
         WHERE run_id = ? AND item = ? AND state != 'pending' AND response IS NOT NULL",
    )
    .bind(run_id)
    .bind(item)
    .execute(conn)
    .await?;
    Ok(())
}

/// Like [`compact_item_requests`], for a posted report.
pub async fn compact_report_requests(conn: &mut Db, report_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE audit_requests SET response = json_object('ok', json(CASE WHEN json_extract(response, '$.ok') THEN 'true' ELSE 'false' END),
            'status', json_extract(response, '$.status'), 'error', json_extract(response, '$.error'))
         WHERE report_id = ? AND state != 'pending' AND response IS NOT NULL",
    )
    .bind(report_id)
    .execute(conn)
    .await?;
    Ok(())
}
