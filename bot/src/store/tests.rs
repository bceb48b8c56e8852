use super::*;
use crate::harness::test_db::TestDb;

#[test]
fn placeholders_are_numbered_from_the_first() {
    assert_eq!(placeholders(2, 3), "$2, $3, $4");
    assert_eq!(placeholders(1, 1), "$1");
    assert_eq!(placeholders(1, 0), "");
}

#[test]
fn the_url_scheme_selects_the_engine() {
    assert_eq!(Engine::of_url("postgres://u@db/sentinel"), Engine::Postgres);
    assert_eq!(
        Engine::of_url("postgresql://u:p@db:5432/sentinel?sslmode=require"),
        Engine::Postgres
    );
    assert_eq!(Engine::of_url("sqlite://sentinel.db"), Engine::Sqlite);
    assert_eq!(Engine::of_url("sqlite:/var/lib/s.db"), Engine::Sqlite);
    assert_eq!(Engine::of_url("data/s.db"), Engine::Sqlite);
    assert_eq!(Engine::of_url("data/postgres.db"), Engine::Sqlite);
}

#[test]
fn a_password_in_the_url_is_redacted() {
    assert_eq!(
        redacted("postgres://sentinel:hunter2@db.internal:5432/sentinel?sslmode=require"),
        "postgres://sentinel:***@db.internal:5432/sentinel?sslmode=require"
    );
    assert_eq!(
        redacted("postgres://sentinel@db/sentinel"),
        "postgres://sentinel@db/sentinel"
    );
    assert_eq!(redacted("postgresql://u:p%40ss@db/s"), "postgresql://u:***@db/s");
    assert_eq!(redacted("sqlite://sentinel.db"), "sqlite://sentinel.db");
    assert_eq!(redacted("data/s.db"), "data/s.db");
    assert!(
        !format!(
            "{}",
            StoreError::Url {
                url: redacted("postgres://u:hunter2@h/d"),
                source: sqlx::Error::PoolClosed
            }
        )
        .contains("hunter2")
    );
}

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
    assert_eq!(database_file("postgres://u:p@db/sentinel"), None);
}

/// Existing SQLite databases record each migration's SHA-384; a changed byte in an applied migration
/// makes every one of them refuse to start. These are the checksums of `migrations/00NN_*.sql` before
/// they moved to `migrations/sqlite/` (commit e40e5a0).
#[test]
fn sqlite_migrations_keep_the_checksums_existing_databases_recorded() {
    let before: [(i64, &str); 14] = [
        (
            1,
            "ec39a45172b7d0f7dd5bc62361eea737fdbcff1d245c365fa14aa05be4f85fded4fe425f183cf72cfc59011fd8909b8d",
        ),
        (
            2,
            "170e8ee1aa9e189415ab8ace914a883852320f39f563520809a9a9368bca41c2ae67aeb43f77c2a427426722354df197",
        ),
        (
            3,
            "f1381bab00ad1feed10e8b2119228a7d8cc2e2f41cbfe5ccef5802a7bffd964f8c1d898005769b4ab72ebb994116d02d",
        ),
        (
            4,
            "0fd7f98758c7ed07139af9c967ab38e5238f3e3dd5c131eb386f235e9b66c38ea196e55ef4b9058038aade99841e42da",
        ),
        (
            5,
            "b5e5bdd2e834349b0a92050cc1b12ec6b16c28795e2a6bfb69e790ce2dca98ce355d7d79408b96273839fa969d203796",
        ),
        (
            6,
            "ceefb0f767d4573a0885ffd734b279e2cc1bb70d7516b4aeedae7d8df13eb71bee7414ecc750e7822fa1b65d953e7739",
        ),
        (
            7,
            "f552dc42df3cdc7e1662928749974b5f23c1ae33f640a9eb34d68f0c0a3738205748bc5b7c16ca70e685f790115ea7c7",
        ),
        (
            8,
            "89ea1e38d14cdec54c6e6c825f7ceeb2cda0ce869eb5f8e7aa243ab9370956658aa4eecb0c3a0c2946a6fe44bb6057d0",
        ),
        (
            9,
            "1d038ee73e2f2b18daf755df701c417d3aef84f139ec412cef5dc9247459a158e5510f0e60978377bd1c11693fb6d9ca",
        ),
        (
            10,
            "57bff35bc00b82eaf5ef2c8950a6a21da30654267a9589c8acde8ba37a315206fd6bc3170d9e71ab2d124e35e7d078c5",
        ),
        (
            11,
            "10196b1653f76e914962b83214ba6446023bd570ec54758739ceb620a5b26d7fa8fa1c62d1c0f2b5f21438d0bc410a96",
        ),
        (
            12,
            "bcc1e8ab8d1e6f19ea9449f319dc0981b56a09808b880c46789be5989033058e14157b63a01c9f0fcb3b147068aab1d3",
        ),
        (
            13,
            "ec454a4d490b103e312d57587ff99f9773313bf31ddc17ea9ad2309cd39a84339715368e12c6e3bda7253be1baafb57b",
        ),
        (
            14,
            "b47351e60c319fb4e246e3a17858dd10f76bbe28d6630dc0c49ea8936522727eb390d5f92d4e547037470170f8ad02b9",
        ),
    ];
    let now: Vec<(i64, String)> = SQLITE_MIGRATOR
        .iter()
        .map(|m| (m.version, hex::encode(&m.checksum)))
        .collect();
    for (version, checksum) in before {
        assert!(
            now.contains(&(version, checksum.to_owned())),
            "migration {version} changed: existing SQLite databases would refuse it"
        );
    }
}

/// Both engines have the same migration versions, so `sentinel migrate` means the same on either.
#[test]
fn both_engines_have_the_same_migration_versions() {
    let versions =
        |m: &sqlx::migrate::Migrator| m.iter().map(|m| (m.version, m.description.clone())).collect::<Vec<_>>();
    assert_eq!(versions(&SQLITE_MIGRATOR), versions(&POSTGRES_MIGRATOR));
}

/// The tables and columns of both engines' schemas, so a migration added to one folder only, or a
/// column spelt differently, fails here (on the PostgreSQL pass, which has both).
#[tokio::test]
async fn both_engines_have_the_same_tables_and_columns() {
    let db = TestDb::new().await;
    let pool = db.open().await.expect("open");
    let sql = match db.engine() {
        Engine::Sqlite => {
            "SELECT m.name || '.' || p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx_%'
             ORDER BY 1"
        }
        Engine::Postgres => {
            "SELECT table_name || '.' || column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx\\_%' ESCAPE '\\'
             ORDER BY 1"
        }
    };
    let mut columns: Vec<String> = sqlx::query_scalar(sql).fetch_all(&pool).await.expect("columns");
    // PostgreSQL's explicit stand-in for SQLite's implicit rowid (see migrations/postgres/0003).
    columns.retain(|c| c != "incident_alerts.rowid");
    columns.sort();
    let mut expected: Vec<String> = EXPECTED_COLUMNS
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    expected.sort();
    assert_eq!(columns, expected, "schema of {}", db.engine().name());
}

/// Every table.column, as both engines' migrations create them.
const EXPECTED_COLUMNS: &str = include_str!("schema_columns.txt");

/// SQLite-only by nature (PRAGMAs): runs on a SQLite file whatever `SENTINEL_TEST_ENGINE` says.
#[tokio::test]
async fn opening_creates_the_file_in_wal_mode_with_foreign_keys() {
    let db = TestDb::sqlite();
    let path = db.file().expect("a file").to_path_buf();
    std::fs::remove_file(&path).ok();
    let pool = open(db.url(), Duration::from_secs(1)).await.expect("open");
    assert!(path.exists());
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
    // Every pooled connection, not only the first: hold several at once.
    let mut conns = Vec::new();
    for _ in 0..3 {
        conns.push(pool.acquire().await.expect("conn"));
    }
    for conn in &mut conns {
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut **conn)
            .await
            .expect("pragma");
        assert_eq!(fk, 1);
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut **conn)
            .await
            .expect("pragma");
        assert_eq!(sync, 2, "synchronous = FULL");
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut **conn)
            .await
            .expect("pragma");
        assert_eq!(busy, 1000);
    }
}

/// SQLite-only by nature (file modes).
#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_wal_and_shm_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::sqlite();
    let path = db.file().expect("a file").to_path_buf();
    let pool = open(db.url(), Duration::from_secs(1)).await.expect("open");
    sqlx::query("INSERT INTO security_log (at, kind, source, detail) VALUES (0, 'k', 's', 'd')")
        .execute(&pool)
        .await
        .expect("write");
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        let mode = std::fs::metadata(&file).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    pool.close().await;
}

/// A path with characters a URL gives meaning to (space, `?`, `#`, `%`) still names the file.
#[tokio::test]
async fn a_plain_path_with_url_characters_opens_that_file() {
    let db = TestDb::sqlite();
    let dir = db.file().expect("a file").parent().expect("dir").to_path_buf();
    let path = dir.join("odd name ?#%.db");
    let pool = open(&path.display().to_string(), Duration::from_secs(1))
        .await
        .expect("open");
    sqlx::query("INSERT INTO security_log (at, kind, source, detail) VALUES (0, 'k', 's', 'd')")
        .execute(&pool)
        .await
        .expect("write");
    pool.close().await;
    assert!(path.exists(), "{}", path.display());
}

/// Opening twice (a restart, or two instances starting at once on PostgreSQL) applies nothing twice.
#[tokio::test]
async fn two_opens_at_once_migrate_once() {
    let db = TestDb::new().await;
    let (a, b) = tokio::join!(db.open(), db.open());
    let (a, b) = (a.expect("first"), b.expect("second"));
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&a)
        .await
        .expect("count");
    assert_eq!(
        applied,
        i64::try_from(db.engine().migrator().iter().count()).expect("fits")
    );
    a.close().await;
    b.close().await;
}

/// The write-transaction opener works on the run's engine, and a rolled-back write leaves nothing.
#[tokio::test]
async fn a_write_transaction_commits_or_leaves_nothing() {
    let db = TestDb::new().await;
    let pool = db.open().await.expect("open");
    let mut tx = begin_write(&pool).await.expect("begin");
    sqlx::query("INSERT INTO security_log (at, kind, source, detail) VALUES (1, 'k', 's', 'rolled back')")
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx.rollback().await.expect("rollback");
    let mut tx = begin_write(&pool).await.expect("begin");
    sqlx::query("INSERT INTO security_log (at, kind, source, detail) VALUES (2, 'k', 's', 'kept')")
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    let details: Vec<String> = sqlx::query_scalar("SELECT detail FROM security_log ORDER BY id")
        .fetch_all(&pool)
        .await
        .expect("read");
    assert_eq!(details, ["kept"]);
}

#[test]
fn an_instance_names_its_postgres_sessions_unless_the_operator_did() {
    assert_eq!(
        application_name_url("postgres://sentinel:pw@db:5432/sentinel", "eu-1", None).expect("url"),
        "postgres://sentinel:pw@db:5432/sentinel?application_name=sentinel%2Feu-1"
    );
    assert_eq!(
        application_name_url("postgres://db/sentinel?sslmode=require", "eu 2", None).expect("url"),
        "postgres://db/sentinel?sslmode=require&application_name=sentinel%2Feu+2"
    );
    // The operator's own name wins, in the URL or in libpq's PGAPPNAME.
    let theirs = "postgres://db/sentinel?application_name=ops-sentinel-a";
    assert_eq!(application_name_url(theirs, "eu-1", None).expect("url"), theirs);
    assert_eq!(
        application_name_url("postgres://db/sentinel", "eu-1", Some("from-env")).expect("url"),
        "postgres://db/sentinel"
    );
}

/// PostgreSQL only (SQLite sessions have no name): every pooled session of an instance shows
/// `sentinel/<instance>` in `pg_stat_activity`, and a name in the URL wins.
#[tokio::test]
async fn an_instance_s_postgres_sessions_show_its_name_in_pg_stat_activity() {
    let db = TestDb::new().await;
    if db.engine() != Engine::Postgres {
        eprintln!("application_name is PostgreSQL's: this test runs in .ci/test's PostgreSQL pass");
        return;
    }
    if std::env::var_os("PGAPPNAME").is_some() {
        eprintln!("PGAPPNAME is set, and it wins over the instance's name: nothing to check");
        return;
    }
    let pool = open_with_lease(db.url(), Duration::from_secs(5), None, Some("eu-1"))
        .await
        .expect("open");
    // Several sessions at once, each asked for its own name.
    let mut conns = Vec::new();
    for _ in 0..3 {
        conns.push(pool.acquire().await.expect("conn"));
    }
    for conn in &mut conns {
        let name: String =
            sqlx::query_scalar("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
                .fetch_one(&mut **conn)
                .await
                .expect("name");
        assert_eq!(name, "sentinel/eu-1");
    }
    // Seen from another session, as an operator would look.
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name LIKE 'sentinel/%'",
    )
    .fetch_all(&db.open().await.expect("open"))
    .await
    .expect("names");
    assert_eq!(names, vec!["sentinel/eu-1".to_owned()]);
    drop(conns);
    pool.close().await;

    let sep = if db.url().contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}application_name=ops-sentinel", db.url());
    let pool = open_with_lease(&url, Duration::from_secs(5), None, Some("eu-1"))
        .await
        .expect("open");
    let name: String = sqlx::query_scalar("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .expect("name");
    assert_eq!(name, "ops-sentinel");
}

/// PostgreSQL only (SQLite stores text uncompressed): the big JSON columns compress with LZ4, not
/// pglz, which took most of the server's CPU time in a burst of 10 KB webhooks (migration 0019).
#[tokio::test]
async fn postgres_compresses_the_big_json_columns_with_lz4() {
    let db = TestDb::new().await;
    if db.engine() != Engine::Postgres {
        eprintln!("TOAST compression is PostgreSQL's: this test runs in .ci/test's PostgreSQL pass");
        return;
    }
    let pool = db.open().await.expect("open");
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(attrelid::regclass AS TEXT) || '.' || attname FROM pg_attribute \
         WHERE attcompression = 'l' AND attnum > 0 ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("columns");
    assert_eq!(
        columns,
        [
            "alerts.data",
            "github_requests.body",
            "github_requests.partial",
            "inbox.payload",
            "outbox.message",
            "plugin_state.value"
        ]
    );
    // A real webhook body, as the inbox stores it: compressed, and with LZ4.
    let payload = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/github/dependabot_alert.created.json"
    ))
    .expect("fixture");
    sqlx::query("INSERT INTO inbox (dedup_key, kind, name, owner, payload, received_at) VALUES ('k', 'github', 'dependabot_alert', NULL, $1, 0)")
        .bind(&payload)
        .execute(&pool)
        .await
        .expect("insert");
    let method: Option<String> =
        sqlx::query_scalar("SELECT pg_column_compression(payload) FROM inbox WHERE dedup_key = 'k'")
            .fetch_one(&pool)
            .await
            .expect("compression");
    assert_eq!(method.as_deref(), Some("lz4"));
}
