//! Storage: SQLite through sqlx, in WAL mode with synced commits, migrations embedded.
//!
//! Each submodule owns one table's queries. All times are stored as Unix milliseconds (UTC).

pub mod inbox;
pub mod outbox;
pub mod plugin_state;
pub mod security_log;
pub mod spaces;
pub mod timers;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// The database engine, named once. Code outside this module writes `&mut Conn`, `DbRow` and
/// `DbPool` rather than SQLite's types, and portable SQL (`$1` placeholders, `ON CONFLICT`), so that
/// a second engine (PostgreSQL, issue #14) changes these names and not every store.
pub type Db = sqlx::Sqlite;
/// A connection (or, through `&mut *tx`, a transaction) of the engine.
pub type Conn = sqlx::SqliteConnection;
/// A row of the engine.
pub type DbRow = sqlx::sqlite::SqliteRow;
/// A pool of the engine's connections.
pub type DbPool = sqlx::SqlitePool;

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL could not be understood.
    #[error("bad database URL `{url}`: {source}")]
    Url {
        /// The URL.
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

/// Opens (creating when missing) the database at `url` — `sqlite://path`, `sqlite:path` or a plain
/// path — in WAL mode with `synchronous = FULL`, foreign keys on and a busy timeout, and applies
/// pending migrations. A new database file is created readable by its owner only (0600), and
/// SQLite gives its `-wal` and `-shm` files the database file's mode.
pub async fn open(url: &str, busy_timeout: Duration) -> Result<SqlitePool, StoreError> {
    if let Some(path) = database_file(url) {
        create_private(&path).map_err(|source| StoreError::Create {
            path: path.display().to_string(),
            source,
        })?;
    }
    let options = connect_options(url)?
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is on disk before the call returns, so an acknowledged input survives a
        // power cut. Throughput comes from group commit, not from weaker syncing.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(busy_timeout)
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .min_connections(1)
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

fn connect_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url).map_err(|source| StoreError::Url {
            url: url.to_owned(),
            source,
        })
    } else {
        Ok(SqliteConnectOptions::new().filename(url))
    }
}

/// The database file behind `url`, when it names one (not `sqlite::memory:`).
pub fn database_file(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap_or(path);
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// Serialises write transactions in arrival order.
///
/// SQLite has one writer at a time, and a writer that finds the lock taken does not queue: its busy
/// handler sleeps (1, 2, 5 … 100 ms) and tries again. Under load a task that commits back to back
/// (the timer engine, the inbox writer) keeps winning and the others wait for seconds — measured:
/// timer lateness p99 of 161–974 ms. Every writer takes this FIFO lock before `BEGIN IMMEDIATE`
/// (or a single-statement write) and holds it until commit, which turns that into a fair queue.
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
mod tests {
    use super::*;

    #[test]
    fn finds_the_file_behind_a_url() {
        assert_eq!(
            database_file("sqlite://sentinel.db"),
            Some(PathBuf::from("sentinel.db"))
        );
        assert_eq!(
            database_file("sqlite:/var/lib/s.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/s.db"))
        );
        assert_eq!(database_file("data/s.db"), Some(PathBuf::from("data/s.db")));
        assert_eq!(database_file("sqlite::memory:"), None);
    }

    #[tokio::test]
    async fn opening_creates_the_file_in_wal_mode_with_foreign_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new.db");
        let pool = open(&format!("sqlite://{}", path.display()), Duration::from_secs(1))
            .await
            .expect("open");
        assert!(path.exists());
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&pool)
            .await
            .expect("pragma");
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&pool)
            .await
            .expect("pragma");
        assert_eq!(fk, 1);
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&pool)
            .await
            .expect("pragma");
        assert_eq!(sync, 2, "synchronous = FULL");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_and_its_wal_and_shm_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("private.db");
        let pool = open(&format!("sqlite://{}", path.display()), Duration::from_secs(1))
            .await
            .expect("open");
        sqlx::query("INSERT INTO security_log (at, kind, source, detail) VALUES (0, 'k', 's', 'd')")
            .execute(&pool)
            .await
            .expect("write");
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.path().join(format!("private.db{suffix}"));
            let mode = std::fs::metadata(&file).expect("exists").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
        pool.close().await;
    }
}
