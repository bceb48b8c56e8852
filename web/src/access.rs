//! Sign-in and sessions. `/sentinel web` (in the core) issues a single-use link; `GET /web/signin`
//! only shows a button (link previewers and unfurlers issue GETs, which must not use the link up);
//! its `POST` uses the link up in one statement, resolves the person's incident role and starts a
//! session: a random cookie, stored hashed, `HttpOnly`, `SameSite=Strict`, `Path=/web`, `Secure`
//! behind TLS. Every sign-in and every refused link is a security-log row.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sentinel_bot::Actor;
use sentinel_bot::builtin::token_hash;
use sentinel_bot::http::AppState;
use sentinel_bot::store::security_log;
use sentinel_plugins::incident_commander::Role;
use sentinel_plugins::incident_commander::view::role_of;
use serde::Deserialize;

use crate::Web;
use crate::pages::{PageError, html};
use crate::store::{self, Refused};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "sentinel_session";

/// Who is looking, and what they may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Their `[people]` key or display name.
    pub person: String,
    /// Their incident role at sign-in.
    pub role: Role,
}

impl Session {
    /// Refuses a page that needs `needed` to a session that does not hold it.
    pub fn require(&self, needed: Role) -> Result<(), PageError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(PageError::Forbidden(needed))
        }
    }
}

/// A role as stored in a session (an unknown name gives the least rights).
pub fn parse_role(text: &str) -> Role {
    match text {
        "admin" => Role::Admin,
        "commander" => Role::Commander,
        "responder" => Role::Responder,
        _ => Role::Anyone,
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// A token as Sentinel makes them: 64 lowercase hex digits (256 bits).
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response()
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    /// The request's unexpired session; without one, a redirect to the page that says how to get one.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = cookie(&parts.headers, COOKIE_NAME).filter(|t| well_formed(t)) else {
            return Err(see_other("/web/welcome"));
        };
        let now = state.shared.clock.now();
        let found = async {
            let mut conn = state.pool.acquire().await?;
            store::session(&mut conn, &token_hash(token), now).await
        }
        .await
        .map_err(|err| PageError::from(err).into_response())?;
        match found {
            Some((person, role)) => Ok(Session {
                person,
                role: parse_role(&role),
            }),
            None => Err(see_other("/web/welcome")),
        }
    }
}

/// The sign-in link's query.
#[derive(Debug, Deserialize)]
pub struct SigninQuery {
    token: Option<String>,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage;

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomePage<'a> {
    problem: Option<&'a str>,
}

/// `GET /web/signin?token=…`: a button that posts the link back (the form posts to this same address).
pub async fn signin_page() -> Result<Response, PageError> {
    html(&SigninPage)
}

/// `GET /web/welcome`: how to sign in; shows no data.
pub async fn welcome() -> Result<Response, PageError> {
    html(&WelcomePage { problem: None })
}

/// `POST /web/signin?token=…`: uses the link up, starts a session, and goes to the Now page.
pub async fn signin(
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    Query(query): Query<SigninQuery>,
) -> Result<Response, PageError> {
    let now = state.shared.clock.now();
    let token = query.token.unwrap_or_default();
    let hash = token_hash(&token);
    let mut conn = state.pool.acquire().await?;
    let consumed = if well_formed(&token) {
        let _turn = state.shared.writes.turn().await;
        store::consume(&mut conn, &hash, now).await?
    } else {
        Err(Refused::Unknown)
    };
    let consumed = match consumed {
        Ok(consumed) => consumed,
        Err(refused) => {
            let person = store::link_person(&mut conn, &hash).await?;
            let detail = match &person {
                Some(person) => format!("a sign-in link of {person} was refused: {}", refused.as_str()),
                None => "an unknown sign-in link was refused".to_owned(),
            };
            {
                let _turn = state.shared.writes.turn().await;
                security_log::record(&mut conn, now, "web_link_refused", "web", &detail).await?;
            }
            state.shared.metrics.security_violation("web_link_refused");
            tracing::info!(reason = refused.as_str(), "refused a web sign-in link");
            let problem = match refused {
                Refused::Used => "This sign-in link was used already: each link works once.",
                Refused::Expired => "This sign-in link has expired.",
                Refused::Unknown => "This is not a valid sign-in link.",
            };
            let mut response = html(&WelcomePage { problem: Some(problem) })?;
            *response.status_mut() = StatusCode::FORBIDDEN;
            return Ok(response);
        }
    };
    let actor: Actor = serde_json::from_str(&consumed.actor).map_err(|err| PageError::Internal(err.to_string()))?;
    let role = role_of(&web.incidents, &state.shared.directory, &actor);
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| PageError::Internal(err.to_string()))?;
    let session = hex::encode(bytes);
    let ttl = chrono::Duration::from_std(web.config.session_ttl.std()).unwrap_or(chrono::Duration::hours(12));
    let detail = format!(
        "{} ({}:{}) signed in to the web status page as {role}",
        consumed.person, actor.platform, actor.id
    );
    {
        let _turn = state.shared.writes.turn().await;
        store::insert_session(
            &mut conn,
            &token_hash(&session),
            &consumed.person,
            &role.to_string(),
            now,
            now + ttl,
        )
        .await?;
        security_log::record(&mut conn, now, "web_sign_in", actor.platform.as_str(), &detail).await?;
        // Used links are kept a day, so that reusing one says "already used" rather than "unknown".
        store::purge_expired(&mut conn, now - chrono::Duration::days(1)).await?;
    }
    tracing::info!(person = %consumed.person, role = %role, "web sign-in");
    let secure = if web.config.is_https() { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE_NAME}={session}; HttpOnly; SameSite=Strict; Path=/web; Max-Age={}{secure}",
        ttl.num_seconds()
    );
    let mut response = see_other("/web");
    response.headers_mut().insert(
        SET_COOKIE,
        cookie.parse().map_err(|_| PageError::Internal("bad cookie".into()))?,
    );
    Ok(response)
}

/// `POST /web/signout`: ends the session.
pub async fn signout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    if let Some(token) = cookie(&headers, COOKIE_NAME).filter(|t| well_formed(t)) {
        let mut conn = state.pool.acquire().await?;
        let _turn = state.shared.writes.turn().await;
        store::delete_session(&mut conn, &token_hash(token)).await?;
    }
    let mut response = see_other("/web/welcome");
    let expired = format!("{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/web; Max-Age=0");
    if let Ok(value) = expired.parse() {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            "a=1; sentinel_session=abc; b=2"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(cookie(&headers, COOKIE_NAME), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn only_sentinel_shaped_tokens_are_looked_up() {
        assert!(well_formed(&"ab".repeat(32)));
        assert!(!well_formed(&"AB".repeat(32)));
        assert!(!well_formed("abc"));
        assert!(!well_formed(&"zz".repeat(32)));
    }
}
