//! `/web/audits` — the latest audit runs: what is done, skipped or still open, by whom and when,
//! which runs are overdue (escalated and still incomplete), and for each item Sentinel checks by
//! itself what the check found (its evidence: counts, what needs a person, or why it could not
//! check), whether it passed, and when it was checked.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use sentinel_bot::http::AppState;
use sentinel_plugins::audit_scheduler::view::{self as audits, Item, ItemState, Run};
use sentinel_plugins::incident_commander::view::READ_ROLE;

use super::{Nav, PageError, html};
use crate::access::Session;
use crate::format::time;

/// How many runs are shown.
const RUNS: i64 = 30;

/// An item as shown.
pub struct ItemRow {
    position: i64,
    text: String,
    state: &'static str,
    /// `pass`, `flag` or `fail` for an item Sentinel checked (the state's CSS class).
    verdict: &'static str,
    /// The automatic check's name, for an item Sentinel checks.
    check: Option<&'static str>,
    /// What the check found.
    evidence: String,
    by: String,
    at: String,
    note: String,
}

/// A run as shown.
pub struct RunRow {
    id: i64,
    title: &'static str,
    due: String,
    started_by: Option<String>,
    status: String,
    overdue: bool,
    progress: String,
    items: Vec<ItemRow>,
}

#[derive(Template)]
#[template(path = "audits.html")]
struct Page {
    nav: Nav,
    runs: Vec<RunRow>,
}

fn run_row((run, items): (Run, Vec<Item>)) -> RunRow {
    let finished = items.iter().filter(|i| i.state.is_finished()).count();
    let overdue = !run.complete && run.escalated_at.is_some();
    let status = match (run.complete, run.completed_at) {
        (true, Some(at)) => format!("complete {}", time(at)),
        (true, None) => "complete".to_owned(),
        (false, _) if overdue => "overdue".to_owned(),
        (false, _) => "open".to_owned(),
    };
    RunRow {
        id: run.id,
        title: run.cadence.title(),
        due: time(run.due_at),
        started_by: run.started_by,
        status,
        overdue,
        progress: format!("{finished}/{} items finished", items.len()),
        items: items
            .into_iter()
            .map(|i| ItemRow {
                position: i.position,
                text: i.text,
                state: state_words(i.state),
                verdict: match i.state {
                    ItemState::Checked => "pass",
                    ItemState::Flagged => "flag",
                    ItemState::Failed => "fail",
                    _ => "",
                },
                check: i.check.map(|c| c.as_str()),
                evidence: i.evidence.unwrap_or_default(),
                by: by_words(i.actor, i.state, i.check.map(|c| c.as_str())),
                at: i.at.map(time).unwrap_or_default(),
                note: i.note.unwrap_or_default(),
            })
            .collect(),
    }
}

/// Who settled an item: the person, or for an automatic check's outcome with no person (passed,
/// flagged, could not check), Sentinel and the check it ran; nothing for an open item.
fn by_words(actor: Option<String>, state: ItemState, check: Option<&str>) -> String {
    match (actor, state, check) {
        (Some(actor), _, _) => actor,
        (None, ItemState::Checked | ItemState::Flagged | ItemState::Failed, Some(check)) => {
            format!("Sentinel ({check})")
        }
        (None, ItemState::Checked | ItemState::Flagged | ItemState::Failed, None) => "Sentinel".to_owned(),
        (None, _, _) => String::new(),
    }
}

/// An item's state as the page says it: what an automatic check's outcome means.
fn state_words(state: ItemState) -> &'static str {
    match state {
        ItemState::Checked => "checked: passed",
        ItemState::Flagged => "checked: needs a look",
        ItemState::Failed => "could not check",
        other => other.as_str(),
    }
}

/// `GET /web/audits`.
pub async fn page(session: Session, State(state): State<AppState>) -> Result<Response, PageError> {
    session.require(READ_ROLE)?;
    let mut conn = state.pool.acquire().await?;
    let runs = audits::recent_runs(&mut conn, RUNS).await?;
    html(&Page {
        nav: Nav::new(&session, "audits", state.shared.clock.now()),
        runs: runs.into_iter().map(run_row).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_automatic_outcome_is_by_sentinel_and_its_check() {
        assert_eq!(
            by_words(None, ItemState::Flagged, Some("branch_protection")),
            "Sentinel (branch_protection)"
        );
        assert_eq!(
            by_words(None, ItemState::Failed, Some("branch_protection")),
            "Sentinel (branch_protection)"
        );
        assert_eq!(by_words(None, ItemState::Checked, None), "Sentinel");
        assert_eq!(
            by_words(Some("alice".to_owned()), ItemState::Checked, Some("x")),
            "alice"
        );
        assert_eq!(by_words(None, ItemState::Open, Some("x")), "");
    }
}
