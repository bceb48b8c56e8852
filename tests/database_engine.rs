//! The real binary on the test run's engine (`SENTINEL_TEST_ENGINE`: SQLite by default, PostgreSQL
//! under `.ci/test`'s second pass): `sentinel migrate` from two processes at once, then
//! `sentinel run` taking a webhook and saying in `/healthz` which engine it runs on.

#![allow(clippy::expect_used)]

mod support;

use std::process::{Command, Stdio};

use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::store::Engine;
use support::{SECRET, Sentinel, fixture, post_webhook};

fn migrate(url: &str, dir: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .arg("migrate")
        .current_dir(dir)
        .env_remove("SENTINEL_CONFIG")
        .env("SENTINEL_DATABASE_URL", url)
        .env("SENTINEL_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sentinel migrate")
}

#[tokio::test]
async fn two_migrates_at_once_both_succeed_and_apply_each_migration_once() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (migrate(db.url(), dir.path()), migrate(db.url(), dir.path()));
    for child in [a, b] {
        let out = child.wait_with_output().expect("wait");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("({}) is up to date", db.engine().name())),
            "{stdout}"
        );
    }
    let pool = db.open().await.expect("open");
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&pool)
        .await
        .expect("versions");
    let expected: Vec<i64> = db.engine().migrator().iter().map(|m| m.version).collect();
    assert_eq!(applied, expected);
    pool.close().await;
}

#[tokio::test]
async fn a_signed_webhook_is_stored_on_the_engine_healthz_names() {
    let db = TestDb::new().await;
    let mut sentinel = Sentinel::start_on_database(
        db.url(),
        &format!("[github]\nwebhook_secret = \"{SECRET}\"\n[chat]\nconsole = \"off\""),
    );
    let health = sentinel.health().await;
    let expected = match db.engine() {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    assert_eq!(health["engine"], expected, "{health}");
    assert_eq!(health["database"], true, "{health}");

    let client = reqwest::Client::new();
    let (status, answer) = post_webhook(
        &client,
        &sentinel.url("/webhooks/github"),
        Some("dependabot_alert"),
        Some("engine-1"),
        fixture("dependabot_alert.created.json"),
        Some(SECRET),
    )
    .await;
    assert_eq!(
        (status, &answer["status"]),
        (202, &serde_json::json!("accepted")),
        "{answer}"
    );
    assert!(sentinel.terminate().success());

    let pool = db.open().await.expect("open");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE kind = $1 AND name = $2")
        .bind("github")
        .bind("dependabot_alert")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(stored, 1);
    pool.close().await;
}

/// Several instances behind one load balancer must verify webhooks with one secret: on PostgreSQL,
/// `sentinel run` refuses to generate a per-host one and says what to set. (On SQLite the generated
/// secret beside the database file is tested in `files_and_config.rs`.)
#[tokio::test]
async fn on_postgresql_a_missing_webhook_secret_is_refused_rather_than_generated_per_host() {
    let db = TestDb::new().await;
    if db.engine() != Engine::Postgres {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("sentinel.toml"), "[chat]\nconsole = \"off\"\n").expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(["--config", "sentinel.toml", "run"])
        .current_dir(dir.path())
        .env_remove("SENTINEL_CONFIG")
        .env_remove("SENTINEL_GITHUB_WEBHOOK_SECRET")
        .env("SENTINEL_DATABASE_URL", db.url())
        .env("SENTINEL_LISTEN", "127.0.0.1:0")
        .stdin(Stdio::null())
        .output()
        .expect("run sentinel");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("github.webhook_secret (or SENTINEL_GITHUB_WEBHOOK_SECRET) must be set on PostgreSQL"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        1,
        "no secret file was written"
    );
}
