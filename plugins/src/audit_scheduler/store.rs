//! The plugin's tables (migration 0005): runs, items, GitHub requests, reports, snapshots, and its own
//! record of alerts and incidents from domain events.

use chrono::{DateTime, Utc};
use sentinel_bot::store::{from_ms, to_ms};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::checklist::{Cadence, Check, ItemSpec};

type Db = SqliteConnection;

fn opt_time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(from_ms)
}

// ---------------------------------------------------------------------------------------------
// Runs and items

/// One posted checklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Its number, as people type it.
    pub id: i64,
    /// Which audit.
    pub cadence: Cadence,
    /// The occurrence it stands for.
    pub due_at: DateTime<Utc>,
    /// When it was posted.
    pub started_at: DateTime<Utc>,
    /// Run after downtime.
    pub late: bool,
    /// Who started it by hand, if anyone.
    pub started_by: Option<String>,
    /// "Since the last run" for its checks.
    pub since_at: DateTime<Utc>,
    /// Whether every item is done, checked or skipped.
    pub complete: bool,
    /// When it became complete.
    pub completed_at: Option<DateTime<Utc>>,
    /// When it was escalated as overdue.
    pub escalated_at: Option<DateTime<Utc>>,
}

fn run_of(row: &SqliteRow) -> Result<Run, sqlx::Error> {
    let schedule: String = row.try_get("schedule")?;
    Ok(Run {
        id: row.try_get("id")?,
        cadence: schedule.parse().unwrap_or(Cadence::Daily),
        due_at: from_ms(row.try_get("due_at")?),
        started_at: from_ms(row.try_get("started_at")?),
        late: row.try_get::<i64, _>("late")? != 0,
        started_by: row.try_get("started_by")?,
        since_at: from_ms(row.try_get("since_at")?),
        complete: row.try_get::<String, _>("state")? == "complete",
        completed_at: opt_time(row.try_get("completed_at")?),
        escalated_at: opt_time(row.try_get("escalated_at")?),
    })
}

const RUN_COLUMNS: &str =
    "id, schedule, due_at, started_at, late, started_by, since_at, state, completed_at, escalated_at";

/// A new run; `None` when one for the same audit and occurrence exists already.
pub struct NewRun<'a> {
    /// Which audit.
    pub cadence: Cadence,
    /// The occurrence.
    pub due_at: DateTime<Utc>,
    /// Now.
    pub started_at: DateTime<Utc>,
    /// Run after downtime.
    pub late: bool,
    /// Who typed `/audit run`.
    pub started_by: Option<&'a str>,
    /// Since when its checks look.
    pub since_at: DateTime<Utc>,
}

/// Inserts a run; `None` when the occurrence already has one (a replayed tick).
pub async fn insert_run(conn: &mut Db, run: &NewRun<'_>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO audit_runs (schedule, due_at, started_at, late, started_by, since_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (schedule, due_at) DO NOTHING RETURNING id",
    )
    .bind(run.cadence.as_str())
    .bind(to_ms(run.due_at))
    .bind(to_ms(run.started_at))
    .bind(i64::from(run.late))
    .bind(run.started_by)
    .bind(to_ms(run.since_at))
    .fetch_optional(conn)
    .await
}

/// The occurrence of the latest run of `cadence` before `before`.
pub async fn previous_due(
    conn: &mut Db,
    cadence: Cadence,
    before: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let at: Option<i64> = sqlx::query_scalar("SELECT MAX(due_at) FROM audit_runs WHERE schedule = ? AND due_at < ?")
        .bind(cadence.as_str())
        .bind(to_ms(before))
        .fetch_one(conn)
        .await?;
    Ok(at.map(from_ms))
}

/// One run.
pub async fn run(conn: &mut Db, id: i64) -> Result<Option<Run>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM audit_runs WHERE id = ?"));
    let row = sqlx::query(sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(run_of).transpose()
}

/// The latest run of `cadence`.
pub async fn latest_run(conn: &mut Db, cadence: Cadence) -> Result<Option<Run>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM audit_runs WHERE schedule = ? ORDER BY started_at DESC, id DESC LIMIT 1"
    ));
    let row = sqlx::query(sql).bind(cadence.as_str()).fetch_optional(conn).await?;
    row.as_ref().map(run_of).transpose()
}

/// Incomplete runs, oldest first.
pub async fn open_runs(conn: &mut Db) -> Result<Vec<Run>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM audit_runs WHERE state = 'open' ORDER BY started_at, id"
    ));
    let rows = sqlx::query(sql).fetch_all(conn).await?;
    rows.iter().map(run_of).collect()
}

/// The latest `limit` runs, of `cadence` when given, newest first.
pub async fn recent_runs(conn: &mut Db, cadence: Option<Cadence>, limit: i64) -> Result<Vec<Run>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM audit_runs WHERE (?1 IS NULL OR schedule = ?1)
         ORDER BY started_at DESC, id DESC LIMIT ?2"
    ));
    let rows = sqlx::query(sql)
        .bind(cadence.map(Cadence::as_str))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(run_of).collect()
}

/// Runs started in `[start, end)`, oldest first.
pub async fn runs_between(conn: &mut Db, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<Run>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM audit_runs WHERE started_at >= ? AND started_at < ? ORDER BY started_at, id"
    ));
    let rows = sqlx::query(sql)
        .bind(to_ms(start))
        .bind(to_ms(end))
        .fetch_all(conn)
        .await?;
    rows.iter().map(run_of).collect()
}

/// Marks a run complete.
pub async fn complete_run(conn: &mut Db, id: i64, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_runs SET state = 'complete', completed_at = ? WHERE id = ? AND state = 'open'")
        .bind(to_ms(at))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that a run was reminded.
pub async fn mark_reminded(conn: &mut Db, id: i64, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_runs SET reminded_at = ? WHERE id = ?")
        .bind(to_ms(at))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that a run was escalated.
pub async fn mark_escalated(conn: &mut Db, id: i64, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_runs SET escalated_at = ? WHERE id = ?")
        .bind(to_ms(at))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemState {
    /// Waiting for a person.
    Open,
    /// Waiting for GitHub's answer (or for the report).
    Checking,
    /// Sentinel checked it and found nothing that needs a person.
    Checked,
    /// Sentinel checked it and found something a person must look at.
    Flagged,
    /// Sentinel could not check it; a person must.
    Failed,
    /// A person did it.
    Done,
    /// A person skipped it, with a reason.
    Skipped,
}

impl ItemState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Open => "open",
            ItemState::Checking => "checking",
            ItemState::Checked => "checked",
            ItemState::Flagged => "flagged",
            ItemState::Failed => "failed",
            ItemState::Done => "done",
            ItemState::Skipped => "skipped",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "checking" => ItemState::Checking,
            "checked" => ItemState::Checked,
            "flagged" => ItemState::Flagged,
            "failed" => ItemState::Failed,
            "done" => ItemState::Done,
            "skipped" => ItemState::Skipped,
            _ => ItemState::Open,
        }
    }

    /// True when nothing is left to do for the item.
    pub fn is_finished(self) -> bool {
        matches!(self, ItemState::Checked | ItemState::Done | ItemState::Skipped)
    }
}

/// One checklist item of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its run.
    pub run_id: i64,
    /// 1-based position.
    pub position: i64,
    /// Short id.
    pub item: String,
    /// What to do.
    pub text: String,
    /// Its automatic check.
    pub check: Option<Check>,
    /// Where it stands.
    pub state: ItemState,
    /// Who ticked or skipped it.
    pub actor: Option<String>,
    /// When.
    pub at: Option<DateTime<Utc>>,
    /// A person's note or reason.
    pub note: Option<String>,
    /// What the automatic check found.
    pub evidence: Option<String>,
}

fn item_of(row: &SqliteRow) -> Result<Item, sqlx::Error> {
    let check: Option<String> = row.try_get("check_kind")?;
    Ok(Item {
        run_id: row.try_get("run_id")?,
        position: row.try_get("position")?,
        item: row.try_get("item")?,
        text: row.try_get("text")?,
        check: check.as_deref().and_then(Check::parse),
        state: ItemState::parse(&row.try_get::<String, _>("state")?),
        actor: row.try_get("actor")?,
        at: opt_time(row.try_get("at")?),
        note: row.try_get("note")?,
        evidence: row.try_get("evidence")?,
    })
}

/// Adds an item to a run.
pub async fn insert_item(
    conn: &mut Db,
    run_id: i64,
    position: i64,
    spec: &ItemSpec,
    state: ItemState,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_items (run_id, position, item, text, check_kind, state) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(run_id)
        .bind(position)
        .bind(&spec.id)
        .bind(&spec.text)
        .bind(spec.check.map(Check::as_str))
        .bind(state.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// A run's items in order.
pub async fn items(conn: &mut Db, run_id: i64) -> Result<Vec<Item>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT run_id, position, item, text, check_kind, state, actor, at, note, evidence
         FROM audit_items WHERE run_id = ? ORDER BY position",
    )
    .bind(run_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(item_of).collect()
}

/// The change to make to an item.
pub struct ItemUpdate<'a> {
    /// New state.
    pub state: ItemState,
    /// Who (a person, or `Sentinel`).
    pub actor: Option<&'a str>,
    /// When.
    pub at: DateTime<Utc>,
    /// A person's note or reason (kept when `None`).
    pub note: Option<&'a str>,
    /// The check's evidence (kept when `None`).
    pub evidence: Option<&'a str>,
}

/// Updates one item.
pub async fn update_item(conn: &mut Db, run_id: i64, item: &str, update: &ItemUpdate<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE audit_items SET state = ?, actor = ?, at = ?, note = COALESCE(?, note), evidence = COALESCE(?, evidence)
         WHERE run_id = ? AND item = ?",
    )
    .bind(update.state.as_str())
    .bind(update.actor)
    .bind(to_ms(update.at))
    .bind(update.note)
    .bind(update.evidence)
    .bind(run_id)
    .bind(item)
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// GitHub requests

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

// ---------------------------------------------------------------------------------------------
// Reports and snapshots

/// A report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Row id.
    pub id: i64,
    /// `2026-03` or `2026-Q1`.
    pub period: String,
    /// The run whose checklist carries it.
    pub run_id: Option<i64>,
    /// Who asked for it by command.
    pub requested_by: Option<String>,
    /// Posted yet.
    pub posted: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was posted.
    pub posted_at: Option<DateTime<Utc>>,
    /// The posted text.
    pub markdown: Option<String>,
    /// The GitHub issue it was filed as.
    pub issue_url: Option<String>,
}

fn report_of(row: &SqliteRow) -> Result<Report, sqlx::Error> {
    Ok(Report {
        id: row.try_get("id")?,
        period: row.try_get("period")?,
        run_id: row.try_get("run_id")?,
        requested_by: row.try_get("requested_by")?,
        posted: row.try_get::<String, _>("state")? == "posted",
        created_at: from_ms(row.try_get("created_at")?),
        posted_at: opt_time(row.try_get("posted_at")?),
        markdown: row.try_get("markdown")?,
        issue_url: row.try_get("issue_url")?,
    })
}

const REPORT_COLUMNS: &str = "id, period, run_id, requested_by, state, created_at, posted_at, markdown, issue_url";

/// Starts collecting a report.
pub async fn insert_report(
    conn: &mut Db,
    period: &str,
    run_id: Option<i64>,
    requested_by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO audit_reports (period, run_id, requested_by, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(period)
    .bind(run_id)
    .bind(requested_by)
    .bind(to_ms(now))
    .fetch_one(conn)
    .await
}

/// One report.
pub async fn report(conn: &mut Db, id: i64) -> Result<Option<Report>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {REPORT_COLUMNS} FROM audit_reports WHERE id = ?"));
    let row = sqlx::query(sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(report_of).transpose()
}

/// The latest report of `period` (posted or still collecting).
pub async fn latest_report(conn: &mut Db, period: &str) -> Result<Option<Report>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {REPORT_COLUMNS} FROM audit_reports WHERE period = ? ORDER BY id DESC LIMIT 1"
    ));
    let row = sqlx::query(sql).bind(period).fetch_optional(conn).await?;
    row.as_ref().map(report_of).transpose()
}

/// Whether a report of `period` was already filed as an issue.
pub async fn period_has_issue(conn: &mut Db, period: &str) -> Result<bool, sqlx::Error> {
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_reports WHERE period = ? AND issue_url IS NOT NULL")
            .bind(period)
            .fetch_one(conn)
            .await?;
    Ok(count > 0)
}

/// Marks a report posted with its text; false when it was posted already.
pub async fn post_report(conn: &mut Db, id: i64, markdown: &str, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE audit_reports SET state = 'posted', markdown = ?, posted_at = ? WHERE id = ? AND state = 'collecting'",
    )
    .bind(markdown)
    .bind(to_ms(now))
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Records where a report was filed.
pub async fn set_issue_url(conn: &mut Db, id: i64, url: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_reports SET issue_url = ? WHERE id = ?")
        .bind(url)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The report's numbers for one period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Open Dependabot alerts.
    pub open_dependabot: Option<i64>,
    /// Open code-scanning alerts.
    pub open_code_scanning: Option<i64>,
    /// Open secret-scanning alerts.
    pub open_secret_scanning: Option<i64>,
    /// Dependabot pull requests merged in the period.
    pub dependencies_updated: Option<i64>,
    /// Dependabot alerts fixed in the period.
    pub patches_applied: Option<i64>,
    /// Open high and critical alerts.
    pub open_high_critical: Option<i64>,
    /// `github`, `records` or `mixed`.
    pub source: String,
}

/// The snapshot of `period`.
pub async fn snapshot(conn: &mut Db, period: &str) -> Result<Option<Snapshot>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT open_dependabot, open_code_scanning, open_secret_scanning, dependencies_updated, patches_applied,
                open_high_critical, source FROM audit_snapshots WHERE period = ?",
    )
    .bind(period)
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        Ok(Snapshot {
            open_dependabot: row.try_get("open_dependabot")?,
            open_code_scanning: row.try_get("open_code_scanning")?,
            open_secret_scanning: row.try_get("open_secret_scanning")?,
            dependencies_updated: row.try_get("dependencies_updated")?,
            patches_applied: row.try_get("patches_applied")?,
            open_high_critical: row.try_get("open_high_critical")?,
            source: row.try_get("source")?,
        })
    })
    .transpose()
}

/// Stores (or replaces) the snapshot of `period`.
pub async fn save_snapshot(
    conn: &mut Db,
    period: &str,
    snap: &Snapshot,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_snapshots (period, open_dependabot, open_code_scanning, open_secret_scanning,
            dependencies_updated, patches_applied, open_high_critical, source, taken_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (period) DO UPDATE SET open_dependabot = excluded.open_dependabot,
            open_code_scanning = excluded.open_code_scanning, open_secret_scanning = excluded.open_secret_scanning,
            dependencies_updated = excluded.dependencies_updated, patches_applied = excluded.patches_applied,
            open_high_critical = excluded.open_high_critical, source = excluded.source, taken_at = excluded.taken_at",
    )
    .bind(period)
    .bind(snap.open_dependabot)
    .bind(snap.open_code_scanning)
    .bind(snap.open_secret_scanning)
    .bind(snap.dependencies_updated)
    .bind(snap.patches_applied)
    .bind(snap.open_high_critical)
    .bind(&snap.source)
    .bind(to_ms(now))
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Alerts and incidents, as the domain events announced them

/// An alert as announced by `alert.raised`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertFact {
    /// Its key.
    pub key: String,
    /// dependabot, code_scanning, secret_scanning, …
    pub source: String,
    /// `org/repo`.
    pub repository: Option<String>,
    /// GitHub's alert number.
    pub number: Option<i64>,
    /// Its severity.
    pub severity: Option<String>,
    /// Its title.
    pub title: String,
    /// The vulnerable package.
    pub package: Option<String>,
    /// CVE id.
    pub cve: Option<String>,
    /// GHSA id.
    pub ghsa: Option<String>,
    /// Link.
    pub url: Option<String>,
    /// When GitHub created it.
    pub created_at: Option<DateTime<Utc>>,
    /// When Sentinel announced it.
    pub raised_at: DateTime<Utc>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// How it was closed.
    pub close_action: Option<String>,
}

fn alert_of(row: &SqliteRow) -> Result<AlertFact, sqlx::Error> {
    Ok(AlertFact {
        key: row.try_get("key")?,
        source: row.try_get("source")?,
        repository: row.try_get("repository")?,
        number: row.try_get("number")?,
        severity: row.try_get("severity")?,
        title: row.try_get("title")?,
        package: row.try_get("package")?,
        cve: row.try_get("cve")?,
        ghsa: row.try_get("ghsa")?,
        url: row.try_get("url")?,
        created_at: opt_time(row.try_get("created_at")?),
        raised_at: from_ms(row.try_get("raised_at")?),
        closed_at: opt_time(row.try_get("closed_at")?),
        close_action: row.try_get("close_action")?,
    })
}

const ALERT_COLUMNS: &str = "key, source, repository, number, severity, title, package, cve, ghsa, url, created_at, raised_at, closed_at, close_action";

/// Records an alert as open (raised or reopened); its first announcement time is kept.
pub async fn alert_opened(conn: &mut Db, alert: &AlertFact) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_alerts (key, source, repository, number, severity, title, package, cve, ghsa, url, state,
            created_at, raised_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)
         ON CONFLICT (key) DO UPDATE SET source = excluded.source, repository = excluded.repository,
            number = excluded.number, severity = excluded.severity, title = excluded.title, package = excluded.package,
            cve = excluded.cve, ghsa = excluded.ghsa, url = excluded.url, state = 'open',
            created_at = COALESCE(audit_alerts.created_at, excluded.created_at), closed_at = NULL, close_action = NULL",
    )
    .bind(&alert.key)
    .bind(&alert.source)
    .bind(&alert.repository)
    .bind(alert.number)
    .bind(&alert.severity)
    .bind(&alert.title)
    .bind(&alert.package)
    .bind(&alert.cve)
    .bind(&alert.ghsa)
    .bind(&alert.url)
    .bind(alert.created_at.map(to_ms))
    .bind(to_ms(alert.raised_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records an alert as closed (inserting it when its raise was never seen).
pub async fn alert_closed(
    conn: &mut Db,
    alert: &AlertFact,
    action: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    alert_opened(conn, alert).await?;
    sqlx::query("UPDATE audit_alerts SET state = 'closed', closed_at = ?, close_action = ? WHERE key = ?")
        .bind(to_ms(at))
        .bind(action)
        .bind(&alert.key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Open alerts, most severe and oldest first.
pub async fn open_alerts(conn: &mut Db) -> Result<Vec<AlertFact>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ALERT_COLUMNS} FROM audit_alerts WHERE state = 'open' ORDER BY COALESCE(created_at, raised_at)"
    ));
    let rows = sqlx::query(sql).fetch_all(conn).await?;
    rows.iter().map(alert_of).collect()
}

/// Alerts closed in `[start, end)`, in order of closing.
pub async fn alerts_closed_between(
    conn: &mut Db,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<AlertFact>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ALERT_COLUMNS} FROM audit_alerts WHERE state = 'closed' AND closed_at >= ? AND closed_at < ?
         ORDER BY closed_at"
    ));
    let rows = sqlx::query(sql)
        .bind(to_ms(start))
        .bind(to_ms(end))
        .fetch_all(conn)
        .await?;
    rows.iter().map(alert_of).collect()
}

/// Alerts Sentinel announced in `[start, end)`.
pub async fn alerts_raised_between(
    conn: &mut Db,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<AlertFact>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ALERT_COLUMNS} FROM audit_alerts WHERE raised_at >= ? AND raised_at < ? ORDER BY raised_at"
    ));
    let rows = sqlx::query(sql)
        .bind(to_ms(start))
        .bind(to_ms(end))
        .fetch_all(conn)
        .await?;
    rows.iter().map(alert_of).collect()
}

/// An incident as its events announced it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentFact {
    /// The incident commander's id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Current severity.
    pub severity: String,
    /// Opened.
    pub opened_at: DateTime<Utc>,
    /// First acknowledged.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// Resolution summary.
    pub summary: Option<String>,
    /// A response deadline was missed.
    pub response_breached: bool,
    /// A resolution deadline was missed.
    pub resolution_breached: bool,
}

/// Records an opened incident.
pub async fn incident_opened(
    conn: &mut Db,
    id: i64,
    title: &str,
    severity: &str,
    opened_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_incidents (id, title, severity, opened_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, severity = excluded.severity",
    )
    .bind(id)
    .bind(title)
    .bind(severity)
    .bind(to_ms(opened_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// What happened to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentChange<'a> {
    /// Acknowledged (the first one counts).
    Acknowledged,
    /// Resolved by someone, with a summary.
    Resolved(Option<&'a str>, Option<&'a str>),
    /// Reopened: no longer resolved.
    Reopened,
    /// Closed.
    Closed,
    /// Severity changed to this.
    Severity(&'a str),
    /// The response deadline passed.
    ResponseBreached,
    /// The resolution deadline passed.
    ResolutionBreached,
}

/// Applies one change to a known incident (unknown incidents are ignored: their opening was before
/// this plugin existed).
pub async fn incident_changed(
    conn: &mut Db,
    id: i64,
    change: IncidentChange<'_>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let at = to_ms(at);
    let query = match change {
        IncidentChange::Acknowledged => {
            sqlx::query("UPDATE audit_incidents SET acknowledged_at = COALESCE(acknowledged_at, ?) WHERE id = ?")
                .bind(at)
                .bind(id)
        }
        IncidentChange::Resolved(by, summary) => sqlx::query(
            "UPDATE audit_incidents SET resolved_at = ?, resolved_by = ?, summary = COALESCE(?, summary) WHERE id = ?",
        )
        .bind(at)
        .bind(by)
        .bind(summary)
        .bind(id),
        IncidentChange::Reopened => sqlx::query(
            "UPDATE audit_incidents SET resolved_at = NULL, resolved_by = NULL, closed_at = NULL WHERE id = ?",
        )
        .bind(id),
        IncidentChange::Closed => sqlx::query(
            "UPDATE audit_incidents SET closed_at = ?1, resolved_at = COALESCE(resolved_at, ?1) WHERE id = ?2",
        )
        .bind(at)
        .bind(id),
        IncidentChange::Severity(severity) => sqlx::query("UPDATE audit_incidents SET severity = ? WHERE id = ?")
            .bind(severity)
            .bind(id),
        IncidentChange::ResponseBreached => {
            sqlx::query("UPDATE audit_incidents SET response_breached = 1 WHERE id = ?").bind(id)
        }
        IncidentChange::ResolutionBreached => {
            sqlx::query("UPDATE audit_incidents SET resolution_breached = 1 WHERE id = ?").bind(id)
        }
    };
    query.execute(conn).await?;
    Ok(())
}

fn incident_of(row: &SqliteRow) -> Result<IncidentFact, sqlx::Error> {
    Ok(IncidentFact {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        severity: row.try_get("severity")?,
        opened_at: from_ms(row.try_get("opened_at")?),
        acknowledged_at: opt_time(row.try_get("acknowledged_at")?),
        resolved_at: opt_time(row.try_get("resolved_at")?),
        resolved_by: row.try_get("resolved_by")?,
        summary: row.try_get("summary")?,
        response_breached: row.try_get::<i64, _>("response_breached")? != 0,
        resolution_breached: row.try_get::<i64, _>("resolution_breached")? != 0,
    })
}

/// Incidents opened, acknowledged or resolved in `[start, end)`.
pub async fn incidents_touching(
    conn: &mut Db,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<IncidentFact>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, title, severity, opened_at, acknowledged_at, resolved_at, resolved_by, summary, response_breached,
                resolution_breached
         FROM audit_incidents
         WHERE (opened_at >= ?1 AND opened_at < ?2) OR (acknowledged_at >= ?1 AND acknowledged_at < ?2)
            OR (resolved_at >= ?1 AND resolved_at < ?2)
         ORDER BY id",
    )
    .bind(to_ms(start))
    .bind(to_ms(end))
    .fetch_all(conn)
    .await?;
    rows.iter().map(incident_of).collect()
}

// ---------------------------------------------------------------------------------------------
// The core's security log (read-only)

/// Security-log entries since `since`, counted by kind (a row summing repeated rejections counts
/// for as many as it stands for).
pub async fn security_log_since(conn: &mut Db, since: DateTime<Utc>) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT kind, SUM(count) AS n FROM security_log WHERE at >= ? GROUP BY kind ORDER BY n DESC, kind")
            .bind(to_ms(since))
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("kind")?, row.try_get("n")?)))
        .collect()
}
