//! `/web/alerts` — open alerts counted by severity and source (all of them, in SQL) and listed most
//! severe first, [`PAGE_SIZE`] a page (`?page=N`), each linking to GitHub and to its chat messages
//! ([`crate::chat_links`], read for the listed alerts only); `?repo=owner/name` narrows to one
//! repository; the alerts fixed or dismissed in the last 30 days, the [`CLOSED_SHOWN`] most recent.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use sentinel_bot::http::AppState;
use sentinel_plugins::alert_notifier::view::{self as alerts, AlertRow, Listing};
use sentinel_plugins::incident_commander::view::READ_ROLE;
use serde::Deserialize;

use super::{Nav, PageError, html};
use crate::Web;
use crate::access::Session;
use crate::chat_links::{self, ChatLink};
use crate::format::time;
use crate::paging::{self, Paging, count};

/// Open alerts listed a page. GitHub's own security-alert lists show 25; a responder scanning by
/// severity is served by more, and 100 rows keep a render to a few milliseconds on either engine
/// (every open alert is still counted by severity and source).
pub const PAGE_SIZE: u64 = 100;

/// Most recently closed alerts listed (all those of the last 30 days are counted).
pub const CLOSED_SHOWN: u64 = 100;

const PATH: &str = "/web/alerts";

/// The query string: `?repo=owner/name&page=N`.
#[derive(Debug, Deserialize)]
pub struct Filter {
    repo: Option<String>,
    /// Kept as text, so a page that is not a number gets the page's own answer, not axum's.
    page: Option<String>,
}

/// An alert as listed.
pub struct Row {
    severity: String,
    source: String,
    repository: String,
    title: String,
    url: Option<String>,
    /// Its messages in chat, one per channel it was posted to.
    chat: Vec<ChatLink>,
    state: String,
    when: String,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct Page {
    nav: Nav,
    repo: Option<String>,
    repositories: Vec<(String, bool)>,
    counts: Vec<(String, String, String)>,
    /// Every open alert (of the repository), in words.
    open_total: String,
    open: Vec<Row>,
    /// Paging, when there is more than one page.
    pages: Option<Pages>,
    closed: Vec<Row>,
    /// All alerts closed in the 30 days, in words, when more than those listed.
    closed_total: Option<String>,
}

/// Where this page of open alerts is in the list, in words and links.
struct Pages {
    /// `101–200 of 1,000`.
    range: String,
    /// `2 of 10`.
    page: String,
    previous: Option<String>,
    next: Option<String>,
    /// Why this is not the page asked for.
    clamped: Option<String>,
}

impl Pages {
    fn new(paging: &Paging, repo: Option<&str>) -> Option<Self> {
        if paging.pages <= 1 && paging.clamped_from.is_none() {
            return None;
        }
        let (first, last) = paging.range();
        let link = |page: u64| paging::link(PATH, &[("repo", repo)], page);
        Some(Self {
            range: if paging.total == 0 {
                "none".to_owned()
            } else {
                format!("{}–{} of {}", count(first), count(last), count(paging.total))
            },
            page: format!("{} of {}", count(paging.page), count(paging.pages)),
            previous: paging.previous().map(link),
            next: paging.next().map(link),
            clamped: paging.clamped_from.map(|asked| {
                format!(
                    "There is no page {}: there are {} pages of open alerts, and this is the last.",
                    count(asked),
                    count(paging.pages)
                )
            }),
        })
    }
}

fn row(a: AlertRow, when: chrono::DateTime<chrono::Utc>, chat: &mut HashMap<String, Vec<ChatLink>>) -> Row {
    let chat = chat.remove(&a.key).unwrap_or_default();
    let number = a.number.map(|n| format!(" #{n}")).unwrap_or_default();
    let title = match &a.package {
        Some(package) => format!("{}{number} ({package})", a.title),
        None => format!("{}{number}", a.title),
    };
    Row {
        severity: a.severity,
        source: a.source,
        repository: a.repository.unwrap_or_else(|| "—".to_owned()),
        title,
        url: a.url,
        chat,
        state: a.state,
        when: time(when),
    }
}

fn rank(severity: &str) -> u8 {
    match severity {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 4,
    }
}

/// `GET /web/alerts[?repo=owner/name][&page=N]`.
pub async fn page(
    session: Session,
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    Query(filter): Query<Filter>,
) -> Result<Response, PageError> {
    session.require(READ_ROLE)?;
    let asked = paging::asked(filter.page.as_deref()).map_err(PageError::BadRequest)?;
    html(&build(&state, &web, &session, filter.repo, asked).await?)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

async fn build(
    state: &AppState,
    web: &Web,
    session: &Session,
    repo: Option<String>,
    asked: u64,
) -> Result<Page, PageError> {
    let now = state.shared.clock.now();
    let repo = repo.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    let mut listing = Listing {
        repository: repo.as_deref(),
        limit: to_i64(PAGE_SIZE),
        offset: to_i64(asked.saturating_sub(1).saturating_mul(PAGE_SIZE)),
        closed_since: now - chrono::Duration::days(30),
        closed_limit: to_i64(CLOSED_SHOWN),
    };
    // Two connections, so the open alerts and their chat links are read at the same time: on
    // SQLite each connection has its own thread, on PostgreSQL its own backend. The page asked
    // for is read before the total is known; past the last page, the last is read after.
    let listed = async {
        let mut conn = state.pool.acquire().await?;
        let counts = alerts::open_counts(&mut conn, listing.repository).await?;
        let open = alerts::open(&mut conn, &listing).await?;
        Ok::<_, sqlx::Error>((counts, open))
    };
    let linked = async {
        let mut conn = state.pool.acquire().await?;
        let links = chat_links::for_alerts(&mut conn, &listing).await?;
        let closed = alerts::closed_since(&mut conn, &listing).await?;
        let closed_total = alerts::closed_count(&mut conn, listing.closed_since, listing.repository).await?;
        let repositories = alerts::repositories(&mut conn).await?;
        Ok::<_, sqlx::Error>((links, closed, closed_total, repositories))
    };
    let ((counts, mut open), ((mut chat, mut unlearned), closed, closed_total, repositories)) =
        tokio::try_join!(listed, linked)?;
    let total: i64 = counts.iter().map(|(_, _, n)| n).sum();
    let paging = Paging::new(asked, u64::try_from(total).unwrap_or(0), PAGE_SIZE);
    if paging.clamped_from.is_some() {
        listing.offset = to_i64(paging.offset());
        let mut conn = state.pool.acquire().await?;
        open = alerts::open(&mut conn, &listing).await?;
        (chat, unlearned) = chat_links::for_alerts(&mut conn, &listing).await?;
    }
    web.chat_links.learn_in_background(state, unlearned);
    let mut counts: Vec<(u8, String, String, i64)> = counts
        .into_iter()
        .map(|(severity, source, n)| (rank(&severity), severity, source, n))
        .collect();
    counts.sort();
    let closed_total = u64::try_from(closed_total).unwrap_or(0);
    Ok(Page {
        nav: Nav::new(session, "alerts", now),
        repositories: repositories
            .into_iter()
            .map(|r| {
                let selected = repo.as_deref() == Some(r.as_str());
                (r, selected)
            })
            .collect(),
        counts: counts
            .into_iter()
            .map(|(_, severity, source, n)| (severity, source, count(u64::try_from(n).unwrap_or(0))))
            .collect(),
        open_total: count(paging.total),
        pages: Pages::new(&paging, repo.as_deref()),
        open: open
            .into_iter()
            .map(|a| {
                let when = a.first_seen_at;
                row(a, when, &mut chat)
            })
            .collect(),
        closed_total: (closed_total > CLOSED_SHOWN).then(|| count(closed_total)),
        closed: closed
            .into_iter()
            .map(|a| {
                let when = a.closed_at.unwrap_or(a.first_seen_at);
                row(a, when, &mut chat)
            })
            .collect(),
        repo,
    })
}
