//! Slack in Socket Mode through the real binary: `check-config` says how Slack reaches Sentinel,
//! `run` refuses a wrong app-level token with a clear message (never the token), serves no Slack
//! HTTP endpoint when only the app token is set, and the Socket Mode manifest stays the HTTP one
//! without request URLs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Output;
use std::time::{Duration, Instant};

use sentinel_bot::harness::fakes::slack_socket::{APP_TOKEN, FakeSocketMode};
use support::Sentinel;

/// The harness's fake Slack for Socket Mode (`auth.test` for the bot token,
/// `apps.connections.open` for the app-level token, the WebSocket); returns it and the value for
/// `slack.api_url`.
async fn fake_slack() -> (FakeSocketMode, String) {
    let fake = FakeSocketMode::start().await.unwrap();
    let api = format!("{}/api", fake.base);
    (fake, api)
}

fn slack_config(api_url: &str, app_token: &str) -> String {
    format!("[slack]\nbot_token = \"xoxb-test\"\napp_token = \"{app_token}\"\napi_url = \"{api_url}\"\n")
}

/// Runs `sentinel <args…>` with `config` to the end (at most 30 s).
fn sentinel(dir: &std::path::Path, config: &str, args: &[&str]) -> Output {
    support::run_with_config(dir, config, args, &["SENTINEL_SLACK_APP_TOKEN"])
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

#[tokio::test]
async fn run_refuses_an_app_token_slack_rejects_and_never_prints_it() {
    let dir = tempfile::tempdir().unwrap();
    let (fake, api) = fake_slack().await;
    let config = slack_config(&api, "xapp-1-A0SENTINEL-1-stolen");
    let output = tokio::task::spawn_blocking(move || sentinel(dir.path(), &config, &["run"]))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "Slack rejected the app-level token (invalid_auth); check slack.app_token / SENTINEL_SLACK_APP_TOKEN"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("stolen"), "{stderr}");
    assert_eq!(fake.refused_opens(), ["invalid_auth"]);
    assert_eq!(fake.connections(), 0);
}

// Multi-threaded: `Sentinel::start` blocks its thread while the fake answers the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_only_an_app_token_no_slack_endpoint_is_served_and_healthz_shows_the_connections() {
    let (fake, api) = fake_slack().await;
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
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.open_connections() < 2 {
        assert!(
            Instant::now() < deadline,
            "{} connection(s) open",
            fake.open_connections()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    let logs = running.drain_stderr().join("\n");
    assert!(logs.contains("Socket Mode token accepted"), "{logs}");
    assert!(logs.contains("Slack: signed in as sentinel (U0BOT)"), "{logs}");
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
