//! Runs (one posted checklist each) and their items.

use chrono::{DateTime, Utc};
use sentinel_bot::store::{Conn, DbRow, from_ms, to_ms};
use sqlx::Row;

use super::opt_time;
use crate::audit_scheduler::checklist::{Cadence, Check, ItemSpec};

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

fn run_of(row: &DbRow) -> Result<Run, sqlx::Error> {
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
pub async fn insert_run(conn: &mut Conn, run: &NewRun<'_>) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO audit_runs (schedule, due_at, started_at, late, started_by, since_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (schedule, due_at) DO NOTHING RETURNING id",
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
    conn: &mut Conn,
    cadence: Cadence,
    before: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let at: Option<i64> = sqlx::query_scalar("SELECT MAX(due_at) FROM audit_runs WHERE schedule = $1 AND due_at < $2")
        .bind(cadence.as_str())
        .bind(to_ms(before))
        .fetch_one(conn)
        .await?;
    Ok(at.map(from_ms))
}

/// One run.
pub async fn run(conn: &mut Conn, id: i64) -> Result<Option<Run>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM audit_runs WHERE id = $1"));
    let row = sqlx::query(sql).bind(id).fetch_optional(conn).await?;
    row.as_ref().map(run_of).transpose()
}

/// The latest run of `cadence`.
pub async fn latest_run(conn: &mut Conn, cadence: Cadence) -> Result<Option<Run>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM audit_runs WHERE schedule = $1 ORDER BY started_at DESC, id DESC LIMIT 1"
    ));
    let row = sqlx::query(sql).bind(cadence.as_str()).fetch_optional(conn).await?;
    row.as_ref().map(run_of).transpose()
}

/// Incomplete runs, oldest first.
pub async fn open_runs(conn: &mut Conn) -> Result<Vec<Run>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM audit_runs WHERE state = 'open' ORDER BY started_at, id"
    ));
    let rows = sqlx::query(sql).fetch_all(conn).await?;
    rows.iter().map(run_of).collect()
}

/// The latest `limit` runs, of `cadence` when given, newest first.
pub async fn recent_runs(conn: &mut Conn, cadence: Option<Cadence>, limit: i64) -> Result<Vec<Run>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM audit_runs WHERE (CAST($1 AS TEXT) IS NULL OR schedule = $1)
         ORDER BY started_at DESC, id DESC LIMIT $2"
    ));
    let rows = sqlx::query(sql)
        .bind(cadence.map(Cadence::as_str))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(run_of).collect()
}

/// Runs started in `[start, end)`, oldest first.
pub async fn runs_between(conn: &mut Conn, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<Run>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM audit_runs WHERE started_at >= $1 AND started_at < $2 ORDER BY started_at, id"
    ));
    let rows = sqlx::query(sql)
        .bind(to_ms(start))
        .bind(to_ms(end))
        .fetch_all(conn)
        .await?;
    rows.iter().map(run_of).collect()
}

/// Marks a run complete.
pub async fn complete_run(conn: &mut Conn, id: i64, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_runs SET state = 'complete', completed_at = $1 WHERE id = $2 AND state = 'open'")
        .bind(to_ms(at))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that a run was reminded.
pub async fn mark_reminded(conn: &mut Conn, id: i64, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_runs SET reminded_at = $1 WHERE id = $2")
        .bind(to_ms(at))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that a run was escalated.
pub async fn mark_escalated(conn: &mut Conn, id: i64, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE audit_runs SET escalated_at = $1 WHERE id = $2")
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

fn item_of(row: &DbRow) -> Result<Item, sqlx::Error> {
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
    conn: &mut Conn,
    run_id: i64,
    position: i64,
    spec: &ItemSpec,
    state: ItemState,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_items (run_id, position, item, text, check_kind, state) VALUES ($1, $2, $3, $4, $5, $6)",
    )
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
pub async fn items(conn: &mut Conn, run_id: i64) -> Result<Vec<Item>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT run_id, position, item, text, check_kind, state, actor, at, note, evidence
         FROM audit_items WHERE run_id = $1 ORDER BY position",
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
pub async fn update_item(conn: &mut Conn, run_id: i64, item: &str, update: &ItemUpdate<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE audit_items SET state = $1, actor = $2, at = $3, note = COALESCE($4, note), evidence = COALESCE($5, evidence)
         WHERE run_id = $6 AND item = $7",
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
