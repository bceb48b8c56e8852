//! `/web/alerts` — open alerts counted by severity and source and listed most severe first, each
//! linking to GitHub and to its chat messages ([`crate::chat_links`]); `?repo=owner/name` narrows
//! to one repository; alerts fixed or dismissed in the
//! last 30 days.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use sentinel_bot::http::AppState;
use sentinel_plugins::alert_notifier::view::{self as alerts, AlertRow};
use sentinel_plugins::incident_commander::view::READ_ROLE;
use serde::Deserialize;

use super::{Nav, PageError, html};
use crate::Web;
use crate::access::Session;
use crate::chat_links::{self, ChatLink};
use crate::format::time;

/// Most open alerts listed one by one (all are counted).
const LIMIT: i64 = 2_000;

/// The filter.
#[derive(Debug, Deserialize)]
pub struct Filter {
    repo: Option<String>,
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
    counts: Vec<(String, String, usize)>,
    open: Vec<Row>,
    truncated: bool,
    closed: Vec<Row>,
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

/// `GET /web/alerts[?repo=owner/name]`.
pub async fn page(
    session: Session,
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    Query(filter): Query<Filter>,
) -> Result<Response, PageError> {
    session.require(READ_ROLE)?;
    html(&build(&state, &web, &session, filter.repo).await?)
}

async fn build(state: &AppState, web: &Web, session: &Session, repo: Option<String>) -> Result<Page, PageError> {
    let now = state.shared.clock.now();
    let since = now - chrono::Duration::days(30);
    let repo = repo.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    // Two connections, so the chat links (as many rows as the alerts) are read while the alerts
    // are: on SQLite each connection has its own thread, on PostgreSQL its own backend.
    let listed = async {
        let mut conn = state.pool.acquire().await?;
        let open = alerts::open(&mut conn, repo.as_deref(), LIMIT + 1).await?;
        Ok::<_, sqlx::Error>(open)
    };
    let linked = async {
        let mut conn = state.pool.acquire().await?;
        let links = chat_links::for_alerts(&mut conn, since).await?;
        let closed = alerts::closed_since(&mut conn, since, repo.as_deref(), 200).await?;
        let repositories = alerts::repositories(&mut conn).await?;
        Ok::<_, sqlx::Error>((links, closed, repositories))
    };
    let (open, ((mut chat, unlearned), closed, repositories)) = tokio::try_join!(listed, linked)?;
    web.chat_links.learn_in_background(state, unlearned);
    let mut counts: BTreeMap<(u8, String, String), usize> = BTreeMap::new();
    for a in &open {
        *counts
            .entry((rank(&a.severity), a.severity.clone(), a.source.clone()))
            .or_default() += 1;
    }
    let truncated = open.len() > usize::try_from(LIMIT).unwrap_or(usize::MAX);
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
            .map(|((_, sev, source), n)| (sev, source, n))
            .collect(),
        open: open
            .into_iter()
            .take(usize::try_from(LIMIT).unwrap_or(usize::MAX))
            .map(|a| {
                let when = a.first_seen_at;
                row(a, when, &mut chat)
            })
            .collect(),
        truncated,
        repo,
        closed: closed
            .into_iter()
            .map(|a| {
                let when = a.closed_at.unwrap_or(a.first_seen_at);
                row(a, when, &mut chat)
            })
            .collect(),
    })
}
