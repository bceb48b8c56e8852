//! The pages, one module each, and what they share: the error a page can end in and how a
//! template becomes a response.
//!
//! - [`now`]: `/web` — open incidents with their clocks, and silences.
//! - [`alerts`]: `/web/alerts` — open alerts by severity and source, recently closed ones.
//! - [`incident`]: `/web/incidents/{id}` — one incident.
//! - [`audits`]: `/web/audits` — audit runs, what is done, skipped or overdue, by whom.
//! - [`report`]: `/web/reports/{period}` — the security report with charts.

pub mod alerts;
pub mod audits;
pub mod incident;
pub mod now;
pub mod report;

use askama::Template;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use sentinel_plugins::incident_commander::Role;

/// Why a page could not be shown. Internal causes are logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A query failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A template failed to render.
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    /// Anything else internal.
    #[error("{0}")]
    Internal(String),
    /// No such thing.
    #[error("not found")]
    NotFound,
    /// The address asks for something that cannot be: the text says what, for the reader.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The session's role is too low.
    #[error("needs the {0} role")]
    Forbidden(Role),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    text: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, text) = match &self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing at this address.".to_owned(),
            ),
            PageError::BadRequest(text) => (StatusCode::BAD_REQUEST, "Not a page", text.clone()),
            PageError::Forbidden(role) => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                format!("This needs the {role} role, as the same command in chat does. Ask an incident commander."),
            ),
            other => {
                tracing::error!(cause = %other, "web page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The page could not be shown; the cause was logged.".to_owned(),
                )
            }
        };
        let body = ErrorPage { title, text }
            .render()
            .unwrap_or_else(|_| "Something went wrong.".to_owned());
        (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
    }
}

/// A rendered template as an HTML response.
pub fn html(template: &impl Template) -> Result<Response, PageError> {
    let body = template.render()?;
    Ok(([(CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response())
}

/// The navigation bar's state: who is signed in and which page is open.
#[derive(Debug, Clone)]
pub struct Nav {
    /// The signed-in person.
    pub person: String,
    /// Their role, in words.
    pub role: String,
    /// `now`, `alerts`, `audits` or `report`.
    pub current: &'static str,
    /// The server's time at render (Unix ms): the countdown script counts from it, not from the
    /// browser's own clock, which may be off.
    pub now_ms: i64,
}

impl Nav {
    /// The bar for `session` on page `current`, rendered at `now`.
    pub fn new(session: &crate::access::Session, current: &'static str, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            person: session.person.clone(),
            role: session.role.to_string(),
            current,
            now_ms: now.timestamp_millis(),
        }
    }
}
