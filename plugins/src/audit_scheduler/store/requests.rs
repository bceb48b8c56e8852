//! The GitHub requests a run or report made, and their answers.

use chrono::{DateTime, Utc};
use sentinel_bot::store::{Conn, DbRow, to_ms};
use sqlx::Row;

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

fn request_of(row: &DbRow) -> Result<Request, sqlx::Error> {
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
    conn: &mut Conn,
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
    conn: &mut Conn,
    correlation: &str,
    ok: bool,
    response: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Option<Request>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "UPDATE audit_requests SET state = $1, response = $2, answered_at = $3
         WHERE correlation = $4 AND state = 'pending' RETURNING {REQUEST_COLUMNS}"
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
pub async fn item_requests(conn: &mut Conn, run_id: i64, item: &str) -> Result<Vec<Request>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {REQUEST_COLUMNS} FROM audit_requests WHERE run_id = $1 AND item = $2 ORDER BY id"
    ));
    let rows = sqlx::query(sql).bind(run_id).bind(item).fetch_all(conn).await?;
    rows.iter().map(request_of).collect()
}

/// Every request of one report, oldest first.
pub async fn report_requests(conn: &mut Conn, report_id: i64) -> Result<Vec<Request>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {REQUEST_COLUMNS} FROM audit_requests WHERE report_id = $1 ORDER BY id"
    ));
    let rows = sqlx::query(sql).bind(report_id).fetch_all(conn).await?;
    rows.iter().map(request_of).collect()
}

/// Gives up on the pending requests of a run (`run_id`) or report (`report_id`): each becomes failed
/// with `reason`. Returns the items (run) or metrics (report) they served.
pub async fn time_out_requests(
    conn: &mut Conn,
    run_id: Option<i64>,
    report_id: Option<i64>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    let response = serde_json::json!({ "ok": false, "error": reason }).to_string();
    let items: Vec<String> = sqlx::query_scalar(
        "UPDATE audit_requests SET state = 'failed', response = $1, answered_at = $2
         WHERE state = 'pending' AND (run_id = $3 OR report_id = $4) RETURNING item",
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
pub async fn compact_item_requests(conn: &mut Conn, run_id: i64, item: &str) -> Result<(), sqlx::Error> {
    let answered: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, response FROM audit_requests
         WHERE run_id = $1 AND item = $2 AND state <> 'pending' AND response IS NOT NULL ORDER BY id",
    )
    .bind(run_id)
    .bind(item)
    .fetch_all(&mut *conn)
    .await?;
    store_compacted(conn, answered).await
}

/// Like [`compact_item_requests`], for a posted report.
pub async fn compact_report_requests(conn: &mut Conn, report_id: i64) -> Result<(), sqlx::Error> {
    let answered: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, response FROM audit_requests
         WHERE report_id = $1 AND state <> 'pending' AND response IS NOT NULL ORDER BY id",
    )
    .bind(report_id)
    .fetch_all(&mut *conn)
    .await?;
    store_compacted(conn, answered).await
}

/// Rewrites each `(id, response)` as its [`compacted`] form. The JSON is taken apart here rather
/// than in SQL because SQLite's and PostgreSQL's JSON functions differ.
async fn store_compacted(conn: &mut Conn, answered: Vec<(i64, String)>) -> Result<(), sqlx::Error> {
    for (id, response) in answered {
        // Only this module writes the column, always JSON; anything else is left as it is.
        let Some(compact) = compacted(&response) else { continue };
        if compact != response {
            sqlx::query("UPDATE audit_requests SET response = $1 WHERE id = $2")
                .bind(compact)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// `{"ok": …, "status": …, "error": …}` of a stored answer (a missing field is null, `ok` false
/// unless it is true); `None` when the text is not JSON.
fn compacted(response: &str) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_str(response).ok()?;
    let field = |name: &str| answer.get(name).cloned().unwrap_or(serde_json::Value::Null);
    let ok = answer.get("ok").and_then(serde_json::Value::as_bool).unwrap_or(false);
    Some(serde_json::json!({ "ok": ok, "status": field("status"), "error": field("error") }).to_string())
}

#[cfg(test)]
mod tests {
    use super::compacted;
    use serde_json::{Value, json};

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).expect("json")
    }

    #[test]
    fn compacting_keeps_only_the_outcome() {
        let answer = json!({"ok": true, "status": 200, "body": [{"number": 1}], "headers": {"x": "y"}}).to_string();
        let compact = compacted(&answer).expect("json");
        assert_eq!(parsed(&compact), json!({"ok": true, "status": 200, "error": null}));
        // Compacting again changes nothing.
        assert_eq!(compacted(&compact).as_deref(), Some(compact.as_str()));
    }

    #[test]
    fn a_failed_answer_keeps_its_error_and_a_missing_ok_reads_as_failed() {
        let failed = json!({"ok": false, "status": 404, "error": "Not Found", "body": null}).to_string();
        assert_eq!(
            parsed(&compacted(&failed).expect("json")),
            json!({"ok": false, "status": 404, "error": "Not Found"})
        );
        assert_eq!(
            parsed(&compacted(r#"{"error": "timed out"}"#).expect("json")),
            json!({"ok": false, "status": null, "error": "timed out"})
        );
        assert_eq!(compacted("not json"), None);
    }
}
