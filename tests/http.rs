//! The `sentinel` binary end to end over HTTP on 127.0.0.1: health, metrics, every webhook
//! rejection, the generated secret, and graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use sentinel_bot::harness::test_db::test_engine;
use sentinel_bot::store::Engine;
use support::{SECRET, Sentinel, fixture, post_webhook};

fn secret_config() -> String {
    format!(
        "[github]\nwebhook_secret = \"{SECRET}\"\nallowed_repositories = [\"octo-org/*\", \"Codertocat/Hello-World\"]\n"
    )
}

#[tokio::test]
async fn health_and_metrics_report_the_pipeline_without_secrets() {
    let mut sentinel = Sentinel::start(&secret_config());
    let client = reqwest::Client::new();
    let health: serde_json::Value = sentinel.health().await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], true);
    assert_eq!(health["integrations"]["console"], true);
    assert_eq!(health["integrations"]["slack"], false);
    assert_eq!(health["integrations"]["github_webhooks"], true);
    assert_eq!(health["dead_events"], 0);
    assert!(!health.to_string().contains(SECRET));

    let metrics = client
        .get(sentinel.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "sentinel_inbox_pending",
        "sentinel_dead_events",
        "sentinel_outbox_pending",
        "sentinel_timers_pending",
    ] {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }
    assert!(
        metrics.contains("sentinel_http_requests_total{route=\"/healthz\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(sentinel.terminate().success());
    let logs = sentinel.drain_stderr().join("\n");
    assert!(!logs.contains(SECRET), "the secret reached a log line");
}

#[tokio::test]
async fn every_webhook_rejection_has_its_status_a_security_log_row_and_a_counter() {
    // One row per rejection here (repeated rejections are folded into one row per window by default).
    let mut sentinel = Sentinel::start(&format!(
        "{}\n[http]\nmax_body_bytes = 65536\nrejection_log_window = \"0s\"\n",
        secret_config()
    ));
    let client = reqwest::Client::new();
    let url = sentinel.url("/webhooks/github");
    let body = fixture("issues.opened.json");

    let (status, _) = post_webhook(&client, &url, Some("issues"), Some("d-1"), body.clone(), None).await;
    assert_eq!(status, 401, "unsigned");
    let (status, _) = post_webhook(
        &client,
        &url,
        Some("issues"),
        Some("d-2"),
        body.clone(),
        Some("wrong-secret"),
    )
    .await;
    assert_eq!(status, 401, "wrong secret");
    let (status, _) = post_webhook(&client, &url, None, Some("d-3"), body.clone(), Some(SECRET)).await;
    assert_eq!(status, 400, "no X-GitHub-Event");
    let (status, _) = post_webhook(&client, &url, Some("issues"), None, body.clone(), Some(SECRET)).await;
    assert_eq!(status, 400, "no X-GitHub-Delivery");
    let (status, _) = post_webhook(
        &client,
        &url,
        Some("issues"),
        Some("d-5"),
        b"{not json".to_vec(),
        Some(SECRET),
    )
    .await;
    assert_eq!(status, 400, "malformed JSON");
    let huge = vec![b' '; 70_000];
    let (status, _) = post_webhook(&client, &url, Some("issues"), Some("d-6"), huge, Some(SECRET)).await;
    assert_eq!(status, 413, "over the body limit");
    let outsider = fixture("dependabot_alert.created.json");
    let outsider = String::from_utf8(outsider)
        .unwrap()
        .replace("\"full_name\": \"", "\"full_name\": \"outsider-");
    let (status, _) = post_webhook(
        &client,
        &url,
        Some("dependabot_alert"),
        Some("d-7"),
        outsider.into_bytes(),
        Some(SECRET),
    )
    .await;
    assert_eq!(status, 403, "repository outside the allow-list");

    let (status, answer) = post_webhook(
        &client,
        &url,
        Some("ping"),
        Some("d-8"),
        fixture("ping.json"),
        Some(SECRET),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = post_webhook(
        &client,
        &url,
        Some("issues"),
        Some("d-9"),
        fixture("issues.opened.json"),
        Some(SECRET),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(answer["status"], "ignored");
    assert!(answer["reason"].as_str().unwrap().contains("issues"));

    let metrics = client
        .get(sentinel.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("webhook_signatures_verified_total{status=\"missing\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("webhook_signatures_verified_total{status=\"invalid\"} 1"),
        "{metrics}"
    );
    for kind in [
        "signature_missing",
        "signature_invalid",
        "headers_missing",
        "malformed_json",
        "body_too_large",
        "repository_not_allowed",
    ] {
        assert!(
            metrics.contains(&format!("security_violations_total{{type=\"{kind}\"}}")),
            "{kind}: {metrics}"
        );
    }
    assert!(sentinel.terminate().success());

    let pool = sentinel_bot::store::open(sentinel.database_url(), std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT kind, detail FROM security_log ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let kinds: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "signature_missing",
            "signature_invalid",
            "headers_missing",
            "headers_missing",
            "malformed_json",
            "body_too_large",
            "repository_not_allowed"
        ]
    );
    assert!(
        rows.iter()
            .all(|(_, detail)| !detail.contains(SECRET) && !detail.contains("Hello-World\","))
    );
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing rejected or ignored was stored");
}

#[tokio::test]
async fn without_a_configured_secret_the_first_run_generates_a_private_one_and_never_logs_it() {
    // SQLite on either engine's run: the generated secret is a file beside the SQLite database.
    let mut sentinel = Sentinel::start_sqlite("");
    let path = sentinel.dir.path().join("sentinel.db.webhook-secret");
    let secret = std::fs::read_to_string(&path).expect("secret file").trim().to_owned();
    assert_eq!(secret.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let client = reqwest::Client::new();
    let url = sentinel.url("/webhooks/github");
    let (status, _) = post_webhook(&client, &url, Some("ping"), Some("p-1"), fixture("ping.json"), None).await;
    assert_eq!(
        status, 401,
        "unsigned webhooks are refused even with no configured secret"
    );
    let (status, _) = post_webhook(
        &client,
        &url,
        Some("ping"),
        Some("p-2"),
        fixture("ping.json"),
        Some(&secret),
    )
    .await;
    assert_eq!(status, 200);
    assert!(sentinel.terminate().success());
    let logs = sentinel.drain_stderr().join("\n");
    assert!(logs.contains("sentinel.db.webhook-secret"), "{logs}");
    assert!(!logs.contains(&secret), "the generated secret reached a log line");
}

/// Runs `sentinel check-config` on `text`; returns whether it passed and what it printed.
fn check_config(text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, text).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(["--config", path.to_str().unwrap(), "check-config"])
        .env_remove("SENTINEL_CONFIG")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn check_config_lists_every_problem_by_key_and_fails() {
    let (ok, text) = check_config(
        "[github]\nwebhook_secret = \"short\"\n[slack]\nbot_token = \"xoxb-1\"\n[schedule]\ntime_zone = \"Nowhere/City\"\n",
    );
    assert!(!ok);
    for key in [
        "github.webhook_secret:",
        "slack.signing_secret:",
        "schedule.time_zone:",
        "bad.toml: holds secrets",
    ] {
        assert!(text.contains(key), "{key} missing from:\n{text}");
    }
    assert!(!text.contains("xoxb-1"), "a secret was printed:\n{text}");

    let (ok, text) = check_config("[pipeline]\nmax_attempts = \"three\"\n");
    assert!(!ok);
    assert!(text.starts_with("pipeline.max_attempts:"), "{text}");
}

#[tokio::test]
async fn a_payload_nested_too_deep_for_the_dispatcher_is_refused_at_the_door() {
    // The fixture's repository must be allowed, so that only the nesting decides.
    let config = format!("[github]\nwebhook_secret = \"{SECRET}\"\n");
    let mut sentinel = Sentinel::start(&config);
    let client = reqwest::Client::new();
    let url = sentinel.url("/webhooks/github");
    let alert = String::from_utf8(fixture("dependabot_alert.created.json")).unwrap();
    let with = |levels: usize| {
        let nested = format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        alert.replacen('{', &format!("{{\"nested\": {nested},"), 1).into_bytes()
    };

    let (status, answer) = post_webhook(
        &client,
        &url,
        Some("dependabot_alert"),
        Some("deep-1"),
        with(100_000),
        Some(SECRET),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "body nests JSON deeper than 64 levels");

    // As deep as the door allows (63 levels inside the top-level object): stored and handled.
    let (status, answer) = post_webhook(
        &client,
        &url,
        Some("dependabot_alert"),
        Some("deep-2"),
        with(63),
        Some(SECRET),
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let mut health = serde_json::Value::Null;
    for _ in 0..200 {
        health = client
            .get(sentinel.url("/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if health["inbox_pending"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(health["inbox_pending"], 0, "{health}");
    assert_eq!(health["dead_events"], 0, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    let engine = match test_engine() {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    assert_eq!(health["engine"], engine, "{health}");
    assert!(sentinel.terminate().success());

    let pool = sentinel_bot::store::open(sentinel.database_url(), std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let stored: Vec<String> = sqlx::query_scalar("SELECT dedup_key FROM inbox WHERE kind = 'github' ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    // One row, the accepted one (a security alert is keyed by its content, not its delivery id).
    assert_eq!(
        stored,
        ["github-alert:dependabot_alert:wolfy1339/pika-pack:20:open:2023-06-24T13:57:12Z"],
        "the too-deep payload was never stored"
    );
}
