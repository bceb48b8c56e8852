//! Read-only views for the web status page: the alert notifier's own `alerts` rows, decoded the
//! way the plugin stores them (the normalized alert, never a raw payload).

use chrono::{DateTime, Utc};
use sentinel_bot::store::{Conn, DbRow, from_ms, to_ms};
use sqlx::any::AnyArguments;
use sqlx::{Arguments, Row};

/// The two fields of the stored alert (the plugin's normalized
/// [`Alert`](super::normalize::Alert), as JSON) that the page shows; serde skips the rest unread,
/// which is most of the work of decoding an alert row.
#[derive(serde::Deserialize)]
struct Shown {
    package: Option<String>,
    url: Option<String>,
}

/// One alert as the page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    /// The notifier's key.
    pub key: String,
    /// dependabot, code_scanning, secret_scanning, …
    pub source: String,
    /// `owner/name`, when the alert belongs to a repository.
    pub repository: Option<String>,
    /// GitHub's number.
    pub number: Option<i64>,
    /// critical, high, medium, low.
    pub severity: String,
    /// open, fixed, dismissed, …
    pub state: String,
    /// Its title.
    pub title: String,
    /// The affected package, when there is one.
    pub package: Option<String>,
    /// Its page on GitHub (only `https://` addresses are kept).
    pub url: Option<String>,
    /// When Sentinel first saw it.
    pub first_seen_at: DateTime<Utc>,
    /// When it was closed, while it is.
    pub closed_at: Option<DateTime<Utc>>,
}

/// The columns [`decode`] reads.
macro_rules! columns {
    () => {
        "key, source, repository, number, severity, state, title, data, first_seen_at, closed_at"
    };
}

/// The open alerts a page lists: of `$1` (NULL for every repository), most severe first whatever
/// the engine's collation, then oldest first; `LIMIT $2 OFFSET $3`. Shared by [`open`] and
/// [`LISTED_KEYS`], so the chat links read are exactly those of the alerts listed.
macro_rules! open_page {
    ($($columns:tt)+) => {
        concat!(
            "SELECT ",
            $($columns)+,
            " FROM alerts WHERE closed_at IS NULL AND ($1 IS NULL OR repository = $1) ORDER BY ",
            "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, ",
            "first_seen_at, key LIMIT $2 OFFSET $3"
        )
    };
}

/// The closed alerts a page lists: closed since `$4` (Unix ms), of `$1` when given, newest first;
/// at most `$5`. Shared by [`closed_since`] and [`LISTED_KEYS`].
macro_rules! closed_page {
    ($($columns:tt)+) => {
        concat!(
            "SELECT ",
            $($columns)+,
            " FROM alerts WHERE closed_at >= $4 AND ($1 IS NULL OR repository = $1) ",
            "ORDER BY closed_at DESC, key LIMIT $5"
        )
    };
}

/// The keys of the alerts one page shows, open and closed, for `… WHERE x IN (LISTED_KEYS)`, with
/// [`Listing::arguments`] (`$1` to `$5`). Each part is a derived table because `ORDER BY … LIMIT`
/// inside a `UNION ALL` needs one.
pub const LISTED_KEYS: &str = concat!(
    "SELECT key FROM (",
    open_page!("key"),
    ") listed_open UNION ALL SELECT key FROM (",
    closed_page!("key"),
    ") listed_closed"
);

/// What one render of the alerts page lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<'a> {
    /// Only this repository's alerts (`owner/name`), or every repository's.
    pub repository: Option<&'a str>,
    /// Open alerts listed: at most this many…
    pub limit: i64,
    /// …after this many (most severe first).
    pub offset: i64,
    /// Closed alerts listed: those closed since then…
    pub closed_since: DateTime<Utc>,
    /// …at most this many, newest first.
    pub closed_limit: i64,
}

impl Listing<'_> {
    /// `$1` to `$5` of [`LISTED_KEYS`] and of the listing queries, which share them.
    pub fn arguments(&self) -> Result<AnyArguments, sqlx::Error> {
        let mut args = AnyArguments::default();
        args.add(self.repository.map(str::to_owned))
            .and_then(|()| args.add(self.limit))
            .and_then(|()| args.add(self.offset))
            .and_then(|()| args.add(to_ms(self.closed_since)))
            .and_then(|()| args.add(self.closed_limit))
            .map_err(sqlx::Error::Encode)?;
        Ok(args)
    }
}

fn decode(row: &DbRow) -> Result<AlertRow, sqlx::Error> {
    let data: String = row.try_get("data")?;
    // The stored JSON is the plugin's own normalized alert; an unreadable one only loses its link.
    let shown: Option<Shown> = serde_json::from_str(&data).ok();
    let (package, url) = shown.map_or((None, None), |s| (s.package, s.url));
    let url = url.filter(|url| url.starts_with("https://"));
    Ok(AlertRow {
        key: row.try_get("key")?,
        source: row.try_get("source")?,
        repository: row.try_get("repository")?,
        number: row.try_get("number")?,
        severity: row.try_get("severity")?,
        state: row.try_get("state")?,
        title: row.try_get("title")?,
        package,
        url,
        first_seen_at: from_ms(row.try_get("first_seen_at")?),
        closed_at: row.try_get::<Option<i64>, _>("closed_at")?.map(from_ms),
    })
}

/// The open alerts `listing` lists (of its repository when given), most severe first, then oldest
/// first.
pub async fn open(conn: &mut Conn, listing: &Listing<'_>) -> Result<Vec<AlertRow>, sqlx::Error> {
    let rows = sqlx::query_with(open_page!(columns!()), listing.arguments()?)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// The alerts `listing` lists as closed (fixed, dismissed, …) since its `closed_since`, newest first.
pub async fn closed_since(conn: &mut Conn, listing: &Listing<'_>) -> Result<Vec<AlertRow>, sqlx::Error> {
    let rows = sqlx::query_with(closed_page!(columns!()), listing.arguments()?)
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// How many alerts are open (of `repository` when given), by severity and source, over all of
/// them (not only the listed ones); in no particular order.
pub async fn open_counts(conn: &mut Conn, repository: Option<&str>) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT severity, source, COUNT(*) FROM alerts WHERE closed_at IS NULL AND ($1 IS NULL OR repository = $1)
         GROUP BY severity, source",
    )
    .bind(repository)
    .fetch_all(conn)
    .await
}

/// How many alerts were closed since `since` (of `repository` when given).
pub async fn closed_count(conn: &mut Conn, since: DateTime<Utc>, repository: Option<&str>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE closed_at >= $1 AND ($2 IS NULL OR repository = $2)")
        .bind(to_ms(since))
        .bind(repository)
        .fetch_one(conn)
        .await
}

/// Every repository with an open alert, for the page's filter.
pub async fn repositories(conn: &mut Conn) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT repository FROM alerts WHERE closed_at IS NULL AND repository IS NOT NULL ORDER BY repository",
    )
    .fetch_all(conn)
    .await
}
