//! The `web_links` and `web_sessions` tables (migration `0015_web.sql`): every query the web page
//! runs on them. Tokens are never stored, only their SHA-256 ([`sentinel_bot::builtin::token_hash`]).

use chrono::{DateTime, Utc};
use sentinel_bot::store::{Conn, to_ms};

/// What a consumed sign-in link says about who asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    /// The chat actor, as JSON.
    pub actor: String,
    /// Their `[people]` key or display name.
    pub person: String,
}

/// Why a link could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No such link was ever issued.
    Unknown,
    /// It was used already.
    Used,
    /// It expired.
    Expired,
}

impl Refused {
    /// The word the security log and the page use.
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Unknown => "unknown",
            Refused::Used => "already used",
            Refused::Expired => "expired",
        }
    }
}

/// Uses up the link with `hash` at `now` when it is unused and unexpired. One statement, so two
/// requests (or two Sentinel instances on one database) can never both use it.
pub async fn consume(
    conn: &mut Conn,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Result<Consumed, Refused>, sqlx::Error> {
    let row: Option<(String, String)> = sqlx::query_as(
        "UPDATE web_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
         RETURNING actor, person",
    )
    .bind(to_ms(now))
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((actor, person)) = row {
        return Ok(Ok(Consumed { actor, person }));
    }
    let found: Option<(Option<i64>,)> = sqlx::query_as("SELECT used_at FROM web_links WHERE token_hash = $1")
        .bind(hash)
        .fetch_optional(conn)
        .await?;
    Ok(Err(match found {
        None => Refused::Unknown,
        Some((Some(_),)) => Refused::Used,
        Some((None,)) => Refused::Expired,
    }))
}

/// The person a link was issued to, when it exists (for the security log of a refusal).
pub async fn link_person(conn: &mut Conn, hash: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT person FROM web_links WHERE token_hash = $1")
        .bind(hash)
        .fetch_optional(conn)
        .await
}

/// Stores a new session.
pub async fn insert_session(
    conn: &mut Conn,
    hash: &str,
    person: &str,
    role: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO web_sessions (token_hash, person, role, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash)
    .bind(person)
    .bind(role)
    .bind(to_ms(now))
    .bind(to_ms(expires))
    .execute(conn)
    .await?;
    Ok(())
}

/// The person and role of the unexpired session with `hash`.
pub async fn session(conn: &mut Conn, hash: &str, now: DateTime<Utc>) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT person, role FROM web_sessions WHERE token_hash = $1 AND expires_at > $2")
        .bind(hash)
        .bind(to_ms(now))
        .fetch_optional(conn)
        .await
}

/// Ends the session with `hash` (sign-out).
pub async fn delete_session(conn: &mut Conn, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets links and sessions that expired before `before`; returns how many rows went.
pub async fn purge_expired(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let links = sqlx::query("DELETE FROM web_links WHERE expires_at < $1")
        .bind(to_ms(before))
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let sessions = sqlx::query("DELETE FROM web_sessions WHERE expires_at < $1")
        .bind(to_ms(before))
        .execute(conn)
        .await?
        .rows_affected();
    Ok(links + sessions)
}
