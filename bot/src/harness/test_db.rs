//! A fresh database for each test, on the engine the test run names: `SENTINEL_TEST_ENGINE=sqlite`
//! (the default: a file in a private temporary directory) or `postgres` (a new database, with a
//! unique name, on the server at `SENTINEL_TEST_POSTGRES_URL`, dropped when the [`TestDb`] is).
//!
//! `.ci/with-postgres` starts a throwaway server and sets the URL; `.ci/test` runs the whole suite
//! once per engine. A test run that names PostgreSQL without a server fails loudly: a suite that
//! silently fell back to SQLite would claim a coverage it does not have.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::Connection;

use super::ScratchDir;
use crate::store::{self, DbPool, Engine, StoreError};

/// The variable naming the engine of a test run: `sqlite` (default) or `postgres`.
pub const ENGINE_VAR: &str = "SENTINEL_TEST_ENGINE";
/// The variable holding the URL of the PostgreSQL server tests create their databases on.
pub const POSTGRES_URL_VAR: &str = "SENTINEL_TEST_POSTGRES_URL";

/// The engine this test run uses. Panics on a value other than `sqlite` or `postgres`.
pub fn test_engine() -> Engine {
    match std::env::var(ENGINE_VAR).as_deref() {
        Err(_) | Ok("" | "sqlite") => Engine::Sqlite,
        Ok("postgres" | "postgresql") => Engine::Postgres,
        Ok(other) => panic!("{ENGINE_VAR}={other}: expected `sqlite` or `postgres`"),
    }
}

/// One test's own database. Dropping it deletes it (the SQLite directory, or the PostgreSQL
/// database, connections and all).
pub struct TestDb {
    url: String,
    file: Option<PathBuf>,
    _dir: Option<ScratchDir>,
    postgres: Option<DropOnServer>,
}

struct DropOnServer {
    server: String,
    name: String,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("url", &store::redacted(&self.url))
            .finish_non_exhaustive()
    }
}

impl TestDb {
    /// A new, empty database on this run's engine (see [`test_engine`]). Panics when it cannot be
    /// made: this is test set-up, and a clear message beats a skipped test.
    pub async fn new() -> Self {
        match test_engine() {
            Engine::Sqlite => Self::sqlite(),
            Engine::Postgres => Self::postgres().await,
        }
    }

    /// A new SQLite database file, whatever the run's engine: for the few tests that are about
    /// SQLite itself (file modes, PRAGMAs).
    pub fn sqlite() -> Self {
        Self::try_sqlite().unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"))
    }

    /// [`TestDb::sqlite`], failing with an error rather than a panic (for `sentinel demo`).
    pub fn try_sqlite() -> std::io::Result<Self> {
        let dir = ScratchDir::new()?;
        let file = dir.0.join("sentinel.db");
        Ok(Self {
            url: format!("sqlite://{}", file.display()),
            file: Some(file),
            _dir: Some(dir),
            postgres: None,
        })
    }

    async fn postgres() -> Self {
        let server = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
            panic!(
                "{ENGINE_VAR}=postgres but {POSTGRES_URL_VAR} is not set: run the tests through \
                 `.ci/with-postgres` (it starts a throwaway PostgreSQL and sets it), or point it at a \
                 server where this user may CREATE DATABASE"
            )
        });
        let name = unique_name();
        sqlx::any::install_default_drivers();
        let mut admin = sqlx::AnyConnection::connect(&server).await.unwrap_or_else(|e| {
            panic!(
                "cannot connect to {POSTGRES_URL_VAR} ({}): {e}",
                store::redacted(&server)
            )
        });
        // The name is ours (letters, digits and `_`), so it needs no quoting; DDL takes no parameter.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
        let _ = admin.close().await;
        let mut url = reqwest::Url::parse(&server)
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is not a URL ({}): {e}", store::redacted(&server)));
        url.set_path(&format!("/{name}"));
        Self {
            url: url.to_string(),
            file: None,
            _dir: None,
            postgres: Some(DropOnServer { server, name }),
        }
    }

    /// Its URL, for `database.url`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its engine.
    pub fn engine(&self) -> Engine {
        Engine::of_url(&self.url)
    }

    /// The SQLite file, when it is one.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Opens it (migrating it), as the bot does.
    pub async fn open(&self) -> Result<DbPool, StoreError> {
        store::open(&self.url, Duration::from_secs(10)).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(DropOnServer { server, name }) = self.postgres.take() else {
            return;
        };
        // Drop may run inside a runtime, which must not be blocked on: a thread of its own with a
        // runtime of its own. Best effort: `.ci/with-postgres` deletes the whole cluster anyway.
        let dropped = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::AnyConnection::connect(&server).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = dropped.join();
    }
}

/// `sentinel_test_<pid>_<n>_<random>`: unique across the test binaries that share one server.
fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 4];
    let _ = getrandom::fill(&mut bytes);
    format!(
        "sentinel_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        hex::encode(bytes)
    )
}
