//! Slack in Socket Mode through the real binary: `check-config` says how Slack reaches Sentinel,
//! `run` refuses a wrong app-level token with a clear message (never the token), serves no Slack
//! HTTP endpoint when only the app token is set, and the Socket Mode manifest stays the HTTP one
//! without request URLs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::IntoResponse;
use serde_json::json;
use support::Sentinel;

const APP_TOKEN: &str = "xapp-1-A0SENTINEL-1-good";

/// A fake Slack Web API on 127.0.0.1: `auth.test` for the bot token, `apps.connections.open` for
/// the app-level token (a URL nothing listens on: the connection then fails and is retried).
fn fake_slack() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = axum::Router::new().fallback(|uri: axum::http::Uri, headers: HeaderMap| async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let body = match uri.path() {
                    "/api/auth.test" => json!({"ok": true, "user_id": "U0BOT", "team_id": "T0", "user": "sentinel",
                                                "team": "Acme", "url": "https://acme.slack.com/"}),
                    "/api/apps.connections.open" if auth == format!("Bearer {APP_TOKEN}") => {
                        json!({"ok": true, "url": "ws://127.0.0.1:9/link/?ticket=1"})
                    }
                    "/api/apps.connections.open" => json!({"ok": false, "error": "invalid_auth"}),
                    _ => json!({"ok": false, "error": "unknown_method"}),
                };
                axum::Json(body).into_response()
            });
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("{base}/api")
}

fn slack_config(api_url: &str, app_token: &str) -> String {
    format!("[slack]\nbot_token = \"xoxb-test\"\napp_token = \"{app_token}\"\napi_url = \"{api_url}\"\n")
}

/// Runs `sentinel <args…>` with `config` to the end (at most 30 s).
fn sentinel(dir: &std::path::Path, config: &str, args: &[&str]) -> Output {
    let path = dir.join("sentinel.toml");
    std::fs::write(&path, config).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .arg("--config")
        .arg(&path)
        .args(args)
        .env_remove("SENTINEL_CONFIG")
        .env_remove("SENTINEL_SLACK_APP_TOKEN")
        .env(
            "SENTINEL_DATABASE_URL",
            format!("sqlite://{}", dir.join("sentinel.db").display()),
        )
        .env("SENTINEL_LISTEN", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    let output = child.wait_with_output().unwrap();
    drop(watchdog);
    output
}

#[test]
fn check_config_says_how_slack_reaches_sentinel() {
    let dir = tempfile::tempdir().unwrap();
    let socket = sentinel(
        dir.path(),
        &slack_config("http://127.0.0.1:9/api", APP_TOKEN),
        &["check-config"],
    );
    let stdout = String::from_utf8_lossy(&socket.stdout).into_owned();
    assert!(socket.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "slack: commands and buttons arrive over Socket Mode (2 outbound WebSocket connection(s), no inbound port)"
        ),
        "{stdout}"
    );
    let both = format!(
        "{}signing_secret = \"s\"\n",
        slack_config("http://127.0.0.1:9/api", APP_TOKEN)
    );
    let both = sentinel(dir.path(), &both, &["check-config"]);
    let stdout = String::from_utf8_lossy(&both.stdout).into_owned();
    assert!(
        stdout.contains("Socket Mode") && stdout.contains("over HTTP"),
        "{stdout}"
    );

    let wrong = sentinel(
        dir.path(),
        &slack_config("http://127.0.0.1:9/api", "xoxb-not-an-app-token"),
        &["check-config"],
    );
    let stdout = String::from_utf8_lossy(&wrong.stdout).into_owned();
    assert!(!wrong.status.success());
    assert!(stdout.contains("slack.app_token: not an app-level token"), "{stdout}");
    assert!(!stdout.contains("not-an-app-token"), "the token never prints: {stdout}");
}

#[test]
fn run_refuses_an_app_token_slack_rejects_and_never_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let api = fake_slack();
    let output = sentinel(dir.path(), &slack_config(&api, "xapp-1-A0SENTINEL-1-stolen"), &["run"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "Slack rejected the app-level token (invalid_auth); check slack.app_token / SENTINEL_SLACK_APP_TOKEN"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("stolen"), "{stderr}");
}

#[tokio::test]
async fn with_only_an_app_token_no_slack_endpoint_is_served_and_healthz_shows_the_connections() {
    let api = fake_slack();
    let mut running = Sentinel::start(&slack_config(&api, APP_TOKEN));
    let client = reqwest::Client::new();
    let status = client
        .post(running.url("/slack/commands"))
        .body("command=%2Fsentinel")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(
        status.as_u16(),
        404,
        "no inbound Slack endpoint without a signing secret"
    );
    let health: serde_json::Value = running.health().await;
    let tasks = health["tasks"].as_object().unwrap();
    assert!(
        tasks.contains_key("slack_socket:0") && tasks.contains_key("slack_socket:1"),
        "{health}"
    );
    let logs = running.drain_stderr().join("\n");
    assert!(logs.contains("Socket Mode token accepted"), "{logs}");
    assert!(!logs.contains(APP_TOKEN) && !logs.contains("ticket="), "{logs}");
    assert!(running.terminate().success());
}

#[test]
fn the_socket_mode_manifest_is_the_http_one_without_request_urls() {
    let read = |name: &str| std::fs::read_to_string(format!("{}/config/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let content = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter(|line| !line.trim_start().starts_with("url:") && !line.trim_start().starts_with("request_url:"))
            .map(str::to_owned)
            .collect()
    };
    let http = read("slack-app-manifest.yml").replace("socket_mode_enabled: false", "socket_mode_enabled: true");
    let socket = read("slack-app-manifest.socket-mode.yml");
    assert!(socket.contains("socket_mode_enabled: true"));
    assert!(!socket.contains("url:"), "Socket Mode apps have no request URLs");
    assert_eq!(content(&socket), content(&http));
}
