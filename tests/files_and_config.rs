//! Files and configuration, through the real binary: private database files, a loose webhook
//! secret file refused, values that cannot work refused by `check-config`, warnings about an open
//! listener and unmapped channels, and a `[chat.webhook]` URL that never leaks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{SECRET, Sentinel, fixture, post_webhook};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Runs `sentinel <args…>` with `config` (written 0600) and the database in `dir` (`run` listens on
/// a free port on 127.0.0.1); kills it after 30 s. SQLite on either engine's run: these runs are
/// about the files beside the SQLite database (the generated webhook secret) or check the config.
fn run_sentinel(dir: &Path, config: &str, args: &[&str]) -> Output {
    let database_url = format!("sqlite://{}", dir.join("sentinel.db").display());
    run_sentinel_on(dir, &database_url, config, args)
}

/// [`run_sentinel`] on the database at `database_url`.
fn run_sentinel_on(dir: &Path, database_url: &str, config: &str, args: &[&str]) -> Output {
    let path = dir.join("sentinel.toml");
    std::fs::write(&path, config).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .arg("--config")
        .arg(&path)
        .args(args)
        .env_remove("SENTINEL_CONFIG")
        .env("SENTINEL_DATABASE_URL", database_url)
        .envs(
            args.first()
                .filter(|a| **a == "run")
                .map(|_| ("SENTINEL_LISTEN", "127.0.0.1:0")),
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn the_database_and_its_wal_and_shm_files_are_created_private() {
    // SQLite on either engine's run: the test is about the SQLite file and its WAL.
    let mut sentinel = Sentinel::start_sqlite(&format!("[github]\nwebhook_secret = \"{SECRET}\"\n"));
    let client = reqwest::Client::new();
    let (status, _) = post_webhook(
        &client,
        &sentinel.url("/webhooks/github"),
        Some("dependabot_alert"),
        Some("private-1"),
        fixture("dependabot_alert.created.json"),
        Some(SECRET),
    )
    .await;
    assert_eq!(status, 202);
    let db = sentinel.database();
    for suffix in ["", "-wal", "-shm"] {
        let file = db.with_file_name(format!("sentinel.db{suffix}"));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    assert!(sentinel.terminate().success());
}

#[test]
fn a_webhook_secret_file_open_to_others_is_refused_by_run_and_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("sentinel.db.webhook-secret");
    std::fs::write(&secret, "").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();

    let run = run_sentinel(dir.path(), "", &["run"]);
    assert!(!run.status.success());
    let stderr = text(&run.stderr);
    assert!(stderr.contains(&secret.display().to_string()), "{stderr}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        "",
        "no secret was written into it"
    );

    let config = format!(
        "[database]\nurl = \"sqlite://{}\"\n",
        dir.path().join("sentinel.db").display()
    );
    let check = run_sentinel(dir.path(), &config, &["check-config"]);
    assert!(!check.status.success());
    let stdout = text(&check.stdout);
    assert!(stdout.contains(&format!("{}: ", secret.display())), "{stdout}");
    assert!(stdout.contains("chmod 600"), "{stdout}");

    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let check = run_sentinel(dir.path(), &config, &["check-config"]);
    assert!(check.status.success(), "{}", text(&check.stdout));
}

#[test]
fn check_config_refuses_values_that_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let check = run_sentinel(
        dir.path(),
        "[database]\nbusy_timeout = \"0s\"\n[outbox]\nrequest_timeout = \"0s\"\n[github]\nrequest_timeout = \"0s\"\n\
         [pipeline]\nretain = \"0s\"\n[http]\nmax_body_bytes = 0\nheader_read_timeout = \"0s\"\nbody_read_timeout = \"0s\"\n\
         idle_timeout = \"0s\"\nmax_connections = 0\nfailed_auth_per_minute = 0\ntrusted_proxies = [\"10.0.0.0/40\"]\n",
        &["check-config"],
    );
    assert!(!check.status.success());
    let stdout = text(&check.stdout);
    for key in [
        "database.busy_timeout:",
        "outbox.request_timeout:",
        "github.request_timeout:",
        "pipeline.retain:",
        "http.max_body_bytes:",
        "http.header_read_timeout:",
        "http.body_read_timeout:",
        "http.idle_timeout:",
        "http.max_connections:",
        "http.failed_auth_per_minute:",
        "http.trusted_proxies:",
    ] {
        assert!(stdout.contains(key), "{key} missing from:\n{stdout}");
    }
    assert!(stdout.contains("11 problem(s)"), "{stdout}");
}

#[test]
fn an_open_listener_and_unmapped_channels_are_warned_about_by_check_config_and_at_start() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing answers at the Slack URL: start-up only warns about that and goes on.
    let slack = "[slack]\nbot_token = \"xoxb-test\"\nsigning_secret = \"s\"\napi_url = \"http://127.0.0.1:9/api\"\n\
                 [channels.security-incidents]\nslack = \"C0INC\"\n";
    let check = run_sentinel(
        dir.path(),
        &format!("{slack}[http]\nlisten = \"0.0.0.0:8080\"\n"),
        &["check-config"],
    );
    let stdout = text(&check.stdout);
    assert!(check.status.success(), "warnings are not problems:\n{stdout}");
    assert!(
        stdout.contains("warning: http.listen: 0.0.0.0:8080 accepts connections from other hosts"),
        "{stdout}"
    );
    assert!(stdout.contains("TLS"), "{stdout}");
    assert!(
        stdout.contains("warning: channels.security-audits.slack: Slack is configured but the channel `security-audits` that audit_scheduler posts to has no Slack id"),
        "{stdout}"
    );
    assert!(!stdout.contains("channels.security-incidents"), "{stdout}");

    let mut running = Sentinel::start_in(tempfile::tempdir().unwrap(), slack);
    std::thread::sleep(Duration::from_millis(300));
    let logs = running.drain_stderr().join("\n");
    assert!(logs.contains("channels.security-audits.slack"), "{logs}");
    assert!(
        logs.contains("security-audits` that audit_scheduler posts to"),
        "{logs}"
    );
    assert!(running.terminate().success());
}

#[tokio::test]
async fn a_chat_webhook_url_stays_out_of_logs_stored_errors_and_dead_list() {
    // A port that was free a moment ago: the delivery fails with reqwest's "error sending request for url (…)".
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "[github]\nwebhook_secret = \"{SECRET}\"\n[outbox]\nmax_attempts = 1\n\
         [chat.webhook]\nurl = \"http://127.0.0.1:{port}/hooks/T000/B000/s3cret-path\"\n"
    );
    let mut sentinel = Sentinel::start(&config);
    let client = reqwest::Client::new();
    let (status, _) = post_webhook(
        &client,
        &sentinel.url("/webhooks/github"),
        Some("dependabot_alert"),
        Some("leak-1"),
        fixture("dependabot_alert.created.json"),
        Some(SECRET),
    )
    .await;
    assert_eq!(status, 202);
    let mut failed = false;
    for _ in 0..200 {
        let health: serde_json::Value = sentinel.health().await;
        if health["outbox_failed"].as_i64().unwrap_or(0) > 0 {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failed, "the delivery never failed");
    assert!(sentinel.terminate().success());

    let pool = sentinel_bot::store::open(sentinel.database_url(), Duration::from_secs(5))
        .await
        .unwrap();
    let errors: Vec<String> = sqlx::query_scalar("SELECT last_error FROM outbox WHERE last_error IS NOT NULL")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert!(!errors.is_empty());
    for error in &errors {
        assert!(error.contains("error sending request"), "{error}");
        assert!(!error.contains("s3cret-path") && !error.contains("/hooks"), "{error}");
    }
    let logs = sentinel.drain_stderr().join("\n");
    assert!(
        logs.contains("delivery failed") || logs.contains("error sending request"),
        "{logs}"
    );
    assert!(!logs.contains("s3cret-path"), "{logs}");

    let dead = run_sentinel_on(sentinel.dir.path(), sentinel.database_url(), &config, &["dead", "list"]);
    let listed = text(&dead.stdout);
    assert!(dead.status.success(), "{}", text(&dead.stderr));
    assert!(listed.contains("error sending request"), "{listed}");
    assert!(!listed.contains("s3cret-path"), "{listed}");

    let check = run_sentinel(
        sentinel.dir.path(),
        "[chat.webhook]\nurl = \"not a url/s3cret-path\"\n",
        &["check-config"],
    );
    let stdout = text(&check.stdout);
    assert!(stdout.contains("chat.webhook.url: is not a URL"), "{stdout}");
    assert!(!stdout.contains("s3cret-path"), "{stdout}");
}
