//! Storage: one store, two engines — SQLite (the embedded default) or PostgreSQL — through sqlx `Any`.
//!
//! Each submodule owns one table's queries. All times are stored as Unix milliseconds (UTC).
//!
//! # Why sqlx `Any`
//!
//! Every query is written once, as one SQL text both engines accept: `$1` placeholders, `ON CONFLICT`,
//! `RETURNING`, `COALESCE`, `CAST(SUM(…) AS BIGINT)`, `CASE WHEN` instead of a boolean read as an
//! integer, no engine function (`json_each`, `strftime`, `now()`). The engine is chosen at run time by
//! the URL ([`Engine::of_url`]), and the engines differ in three places only, all in this module:
//! the migrations (`migrations/sqlite/`, `migrations/postgres/`: the same versions and tables, in
//! each engine's types), the connection set-up ([`open`]) and the write-transaction opener
//! ([`begin_write`]). A plugin author writes each query once against [`Conn`] and it runs on both.
//!
//! The alternatives were rejected for that reason: code generic over `sqlx::Database` makes every
//! store and plugin carry the bounds (and still needs two SQL texts wherever the dialects differ);
//! a per-engine SQL layer doubles every query. The cost of `Any` is its small set of types: bool,
//! integers, floats, `String` and bytes (and `Option` of them). Sentinel already stores times as i64
//! milliseconds and JSON as TEXT, so nothing is lost; a column must never be a type `Any` cannot
//! decode (no `TIMESTAMPTZ`, `JSONB`, `NUMERIC`), and a `SUM` must be cast to BIGINT.
//!
//! # What each engine guarantees
//!
//! SQLite: WAL, `synchronous = FULL` (a commit is on disk before it returns), foreign keys, a busy
//! timeout, the file private to its owner (0600); one writer at a time, queued fairly by
//! [`WriteLock`] and `BEGIN IMMEDIATE`. PostgreSQL: the server's durability (`synchronous_commit`
//! on, the default), plain `BEGIN` (READ COMMITTED); [`WriteLock`] still orders this instance's
//! writers, which costs nothing there and keeps one code path.
//!
//! # Several instances (issue #14 §2)
//!
//! Any number of instances may share one PostgreSQL database; each kind of work is claimed so that
//! exactly one instance does it:
//! - inbox: the dispatcher takes a transaction-scoped advisory lock and reads its batch `FOR UPDATE
//!   SKIP LOCKED` (see `pipeline::dispatcher`): dispatch is serialised cluster-wide, as SQLite's
//!   single writer serialises it, because plugins' handlers read-then-write their state;
//! - timers: `fire_due` selects `FOR UPDATE SKIP LOCKED` inside the transaction that fires them;
//! - outbox rows and GitHub requests, carried out over HTTP outside any transaction: leases with
//!   expiry and a fencing token ([`claims`]).
//!
//! The only engine difference in that SQL is the locking clause, behind [`Engine::skip_locked`], so
//! each query stays one text. A paused instance is fenced twice: its leases run out (and its late
//! outcomes are refused by the fence), and on PostgreSQL every pooled session has
//! `idle_in_transaction_session_timeout` = the lease, so a transaction left open by a paused
//! process is ended by the server, its locks released and its late commit failed. On SQLite one
//! process owns the file: at start every claim left in it is expired at once ([`claims::expire_all`]).
//! Which instances share the database, and which of them leads each periodic job, is in
//! [`instances`] and [`cluster_jobs`].

pub mod claims;
pub mod cluster_jobs;
pub mod inbox;
pub mod instances;
pub mod outbox;
pub mod plugin_state;
pub mod security_log;
pub mod spaces;
pub mod timers;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};

/// The database engine seen through sqlx `Any`. Code outside this module writes `&mut Conn`,
/// `DbRow` and `DbPool`, and portable SQL (`$1` placeholders, `ON CONFLICT`): see the module doc.
pub type Db = sqlx::Any;
/// A connection (or, through `&mut *tx`, a transaction) of the engine.
pub type Conn = sqlx::AnyConnection;
/// A row of the engine.
pub type DbRow = sqlx::any::AnyRow;
/// A pool of the engine's connections.
pub type DbPool = sqlx::AnyPool;

/// The SQLite migrations (`migrations/sqlite/`), embedded in the binary. Their names and contents
/// are those of the single `migrations/` folder before PostgreSQL arrived, so an existing database's
/// recorded checksums still match.
pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
/// The PostgreSQL migrations (`migrations/postgres/`): the same versions and tables in PostgreSQL's
/// types. sqlx runs them under a session advisory lock, so two instances starting at once apply
/// each migration once.
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Connections per pool, per engine. SQLite has one writer anyway (readers are the rest); a
/// PostgreSQL server serves many, and the web UI, health checks and workers read concurrently.
const SQLITE_CONNECTIONS: u32 = 8;
const POSTGRES_CONNECTIONS: u32 = 16;

/// The engine behind a database URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `sqlite://path`, `sqlite:path` or a plain path: the embedded default.
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl Engine {
    /// The engine `url` selects: PostgreSQL for `postgres://` and `postgresql://`, else SQLite.
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    /// The engine of an open pool.
    pub fn of_pool(pool: &DbPool) -> Self {
        Self::of_url(pool.connect_options().database_url.as_str())
    }

    /// `sqlite` or `postgres`, as `/healthz` reports it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// The engine behind an open connection (or, through `&mut *tx`, a transaction).
    pub fn of_conn(conn: &Conn) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    /// The clause that makes a `SELECT` claim its rows, skipping those another transaction holds:
    /// `FOR UPDATE SKIP LOCKED` on PostgreSQL; nothing on SQLite, whose single writer already holds
    /// the whole database. Appended to the inner `SELECT` of a claim, so the query stays one text.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// The engine's migrations.
    pub fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATOR,
            Self::Postgres => &POSTGRES_MIGRATOR,
        }
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL could not be understood.
    #[error("bad database URL `{url}`: {source}")]
    Url {
        /// The URL, its password (if any) redacted.
        url: String,
        /// Why.
        source: sqlx::Error,
    },
    /// A statement failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database file could not be created.
    #[error("cannot create {path}: {source}")]
    Create {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// `url` with its password replaced by `***`, for messages and logs: a PostgreSQL URL may carry one.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Creates the (empty) database file with mode 0600 when it does not exist — SQLite would create it
/// 0644, and it holds webhook payloads, the security log, response URLs and interaction tokens. An
/// existing file open to group or others is left as it is, with a warning.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        // An empty file is an empty SQLite database.
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        path = %path.display(),
                        mode = format!("{mode:o}"),
                        "the database is readable by group or others; run `chmod 600` on it and its -wal and -shm files"
                    );
                }
            }
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// Opens the database at `url` and applies the engine's pending migrations.
///
/// SQLite (`sqlite://path`, `sqlite:path` or a plain path): the file is created when missing,
/// readable by its owner only (0600; SQLite gives its `-wal` and `-shm` files the same mode), in WAL
/// mode with `synchronous = FULL`, foreign keys on and `busy_timeout`. PostgreSQL
/// (`postgres://user:password@host:port/database?sslmode=…`): the database must exist; TLS is
/// rustls with the Mozilla roots when `sslmode` asks for it.
pub async fn open(url: &str, busy_timeout: Duration) -> Result<DbPool, StoreError> {
    open_with_lease(url, busy_timeout, None, None).await
}

/// The PostgreSQL `url` an instance connects with: its sessions' `application_name` set to
/// `sentinel/<instance>` (PostgreSQL keeps 63 bytes of it, printable ASCII; other characters show
/// as `?`), so `pg_stat_activity` (and, joined to it, `pg_locks`) tells which instance holds which
/// session, lock and transaction. A name the operator chose wins: an `application_name` already in
/// the URL, or `pgappname` (libpq's `PGAPPNAME` variable, which sqlx reads too), leaves `url` as it is.
pub fn application_name_url(url: &str, instance: &str, pgappname: Option<&str>) -> Result<String, StoreError> {
    let mut parsed = reqwest::Url::parse(url).map_err(|err| StoreError::Url {
        url: redacted(url),
        source: sqlx::Error::Configuration(Box::new(err)),
    })?;
    let named = parsed.query_pairs().any(|(key, _)| key == "application_name");
    if named || pgappname.is_some_and(|name| !name.is_empty()) {
        return Ok(url.to_owned());
    }
    parsed
        .query_pairs_mut()
        .append_pair("application_name", &format!("sentinel/{instance}"));
    Ok(parsed.into())
}

/// [`open`] for a running instance named `instance` (`cluster.instance`), whose claims last `lease`
/// (`cluster.lease`). On PostgreSQL every pooled session gets `idle_in_transaction_session_timeout` =
/// `lease`: an instance paused inside a transaction (a stopped VM, a long GC-like stall) loses its
/// session, and with it its row and advisory locks, once its leases have run out, and its late
/// commit fails instead of acting on work another instance has taken over. No code holds a
/// transaction open across a network call, so a live instance never reaches it. Every session is
/// also named `sentinel/<instance>` (see [`application_name_url`]), so `pg_stat_activity` and
/// `pg_locks` show which instance holds what. SQLite ignores both (one process per file).
pub async fn open_with_lease(
    url: &str,
    busy_timeout: Duration,
    lease: Option<Duration>,
    instance: Option<&str>,
) -> Result<DbPool, StoreError> {
    sqlx::any::install_default_drivers();
    let engine = Engine::of_url(url);
    let pool = match engine {
        Engine::Sqlite => open_sqlite(url, busy_timeout).await?,
        Engine::Postgres => {
            let named = match instance {
                Some(instance) => application_name_url(url, instance, std::env::var("PGAPPNAME").ok().as_deref())?,
                None => url.to_owned(),
            };
            open_postgres(&named, lease).await?
        }
    };
    migrate(engine, &pool).await?;
    Ok(pool)
}

/// Applies `engine`'s pending migrations. On PostgreSQL sqlx holds an advisory lock meanwhile, so a
/// second instance starting at once waits and then finds nothing to do. SQLite has no such lock: a
/// second process migrating the same new file at once fails on a table the first has just created
/// (the busy timeout makes it wait for the first's commit, not skip its work). Running again finds
/// the first's migrations applied, so it tries again for up to ~5 s.
async fn migrate(engine: Engine, pool: &DbPool) -> Result<(), StoreError> {
    let mut attempts = 0;
    loop {
        match engine.migrator().run(pool).await {
            Ok(()) => return Ok(()),
            Err(sqlx::migrate::MigrateError::Execute(_) | sqlx::migrate::MigrateError::ExecuteMigration(..))
                if engine == Engine::Sqlite && attempts < 50 =>
            {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
}

async fn open_sqlite(url: &str, busy_timeout: Duration) -> Result<DbPool, StoreError> {
    if let Some(path) = database_file(url) {
        create_private(&path).map_err(|source| StoreError::Create {
            path: path.display().to_string(),
            source,
        })?;
    }
    let options = sqlite_options(url)?;
    // WAL is a property of the file, set once through SQLite's own options (the `Any` driver takes a
    // URL only, which cannot say it). Setting it needs a lock that the busy timeout does not wait
    // for, so it is not repeated on every pooled connection.
    let wal = options
        .clone()
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(busy_timeout)
        .create_if_missing(true);
    // Another process switching the same new file to WAL at this moment makes this one fail at once
    // ("database is locked"): it is switched a moment later, so try again briefly.
    let mut attempts = 0;
    let first = loop {
        match wal.connect().await {
            Ok(conn) => break conn,
            Err(sqlx::Error::Database(_)) if attempts < 50 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => return Err(err.into()),
        }
    };
    first.close().await?;
    let any_url = sqlite_url(&options);
    let busy_ms = busy_timeout.as_millis();
    let pool = AnyPoolOptions::new()
        .max_connections(SQLITE_CONNECTIONS)
        .min_connections(1)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // Per connection. FULL: a commit is on disk before the call returns, so an
                // acknowledged input survives a power cut; throughput comes from group commit, not
                // from weaker syncing.
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "PRAGMA busy_timeout = {busy_ms}; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
                )))
                .execute(conn)
                .await?;
                Ok(())
            })
        })
        .connect(&any_url)
        .await?;
    Ok(pool)
}

async fn open_postgres(url: &str, lease: Option<Duration>) -> Result<DbPool, StoreError> {
    // At least one second: 0 would mean "no timeout" to the server.
    let idle_ms = lease.map(|lease| lease.as_millis().max(1000));
    let pool = AnyPoolOptions::new()
        .max_connections(POSTGRES_CONNECTIONS)
        .min_connections(1)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if let Some(ms) = idle_ms {
                    // A number we computed; SET takes no parameter.
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "SET idle_in_transaction_session_timeout = {ms}"
                    )))
                    .execute(conn)
                    .await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    // Text keys are compared and ordered as SQLite does (bytes) only under the C collation.
    let collation: Option<String> =
        sqlx::query_scalar("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            .fetch_optional(&pool)
            .await?;
    if let Some(collation) = collation.filter(|c| c != "C" && c != "POSIX") {
        tracing::warn!(
            collation,
            "the database's collation is not C: lists ordered by text may differ from SQLite's order; \
             create it with LC_COLLATE 'C' (see the README, Storage)"
        );
    }
    Ok(pool)
}

fn sqlite_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url).map_err(|source| StoreError::Url {
            url: redacted(url),
            source,
        })
    } else {
        Ok(SqliteConnectOptions::new().filename(url))
    }
}

/// The `sqlite://` URL the `Any` driver opens: the file (percent-encoded where a URL needs it) and
/// nothing else, the rest being set per connection.
fn sqlite_url(options: &SqliteConnectOptions) -> String {
    let path = options.get_filename().to_string_lossy().into_owned();
    let mut encoded = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' => encoded.push_str("%25"),
            '?' => encoded.push_str("%3F"),
            '#' => encoded.push_str("%23"),
            ' ' => encoded.push_str("%20"),
            c => encoded.push(c),
        }
    }
    format!("sqlite://{encoded}")
}

/// The database file behind `url`, when it names one (not `sqlite::memory:`, not PostgreSQL).
pub fn database_file(url: &str) -> Option<PathBuf> {
    if Engine::of_url(url) == Engine::Postgres {
        return None;
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// Begins a write transaction: `BEGIN IMMEDIATE` on SQLite, so the write lock is taken at the start
/// rather than at the first write (a deferred transaction that later needs it fails with "database
/// is locked" instead of waiting); plain `BEGIN` on PostgreSQL, whose row locks need no such thing.
/// Callers take their [`WriteLock`] turn first.
pub async fn begin_write(pool: &DbPool) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
    match Engine::of_pool(pool) {
        Engine::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Engine::Postgres => pool.begin().await,
    }
}

/// `$first, $first + 1, …`: `count` numbered placeholders, for an `IN (…)` list or a `VALUES` row
/// whose length is known only at run time. Only placeholders are generated; every value is bound.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Serialises write transactions in arrival order.
///
/// SQLite has one writer at a time, and a writer that finds the lock taken does not queue: its busy
/// handler sleeps (1, 2, 5 … 100 ms) and tries again. Under load a task that commits back to back
/// (the timer engine, the inbox writer) keeps winning and the others wait for seconds — measured:
/// timer lateness p99 of 161–974 ms. Every writer takes this FIFO lock before [`begin_write`] (or a
/// single-statement write) and holds it until commit, which turns that into a fair queue. On
/// PostgreSQL it stays: it orders this instance's writers only (other instances are not affected),
/// and the writers of one instance would mostly wait for each other's row locks anyway.
#[derive(Debug, Default)]
pub struct WriteLock(tokio::sync::Mutex<()>);

impl WriteLock {
    /// Waits for this writer's turn; the turn lasts until the guard is dropped.
    pub async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.0.lock().await
    }
}

/// A time as stored.
pub fn to_ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// A stored time back as a time (the epoch for a value chrono cannot hold, which no row holds).
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

#[cfg(test)]
mod tests;
