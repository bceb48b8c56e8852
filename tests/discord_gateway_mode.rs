//! Discord over the Gateway through the real binary: `check-config` says how interactions reach
//! Sentinel and needs no public key for the Gateway, `run` serves no Discord endpoint, a slash
//! command dispatched by the fake Gateway is stored, answered through the callback and followed up
//! by the built-in `/sentinel help`, and neither the token nor the session id reaches the log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../bot/tests/discord_gateway/fake_gateway.rs"]
mod fake;
mod support;

use std::process::Output;
use std::time::Duration;

use fake::{APP, BOT_TOKEN, FakeGateway};
use serde_json::json;
use support::Sentinel;

fn discord_config(api_url: &str, token: &str, mode: &str) -> String {
    format!(
        "[discord]\nbot_token = \"{token}\"\napplication_id = \"{APP}\"\ninteractions = \"{mode}\"\napi_url = \"{api_url}\"\n"
    )
}

/// Runs `sentinel <args…>` with `config` to the end (at most 30 s).
fn sentinel(dir: &std::path::Path, config: &str, args: &[&str]) -> Output {
    support::run_with_config(dir, config, args, &["SENTINEL_DISCORD_INTERACTIONS"])
}

#[test]
fn check_config_says_how_discord_reaches_sentinel_and_the_gateway_needs_no_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = sentinel(
        dir.path(),
        &discord_config("http://127.0.0.1:9", "t", "gateway"),
        &["check-config"],
    );
    let stdout = String::from_utf8_lossy(&gateway.stdout).into_owned();
    assert!(gateway.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "discord: commands and buttons arrive over the Discord Gateway (an outbound WebSocket, no inbound port)"
        ),
        "{stdout}"
    );
    let http = sentinel(
        dir.path(),
        &discord_config("http://127.0.0.1:9", "t", "http"),
        &["check-config"],
    );
    let stdout = String::from_utf8_lossy(&http.stdout).into_owned();
    assert!(!http.status.success(), "{stdout}");
    assert!(
        stdout.contains("discord.public_key") && stdout.contains("interactions = \"gateway\""),
        "{stdout}"
    );
    let wrong = sentinel(
        dir.path(),
        &discord_config("http://127.0.0.1:9", "t", "websocket"),
        &["check-config"],
    );
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stdout).contains("discord.interactions"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_command_over_the_gateway_runs_in_the_binary_with_no_discord_endpoint() {
    let fake = FakeGateway::start(Duration::from_secs(45)).await;
    let mut running = Sentinel::start(&discord_config(&fake.base, BOT_TOKEN, "gateway"));
    let pool = sentinel_bot::store::open(running.database_url(), Duration::from_secs(5))
        .await
        .unwrap();
    fake.watch_inbox(pool);
    let status = reqwest::Client::new()
        .post(running.url("/discord/interactions"))
        .body("{}")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 404, "no inbound Discord endpoint in gateway mode");
    for _ in 0..1000 {
        if fake.identifies().len() == 1 && fake.open_connections() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fake.identifies()[0].1["intents"], 0);
    tokio::time::sleep(Duration::from_millis(100)).await;

    fake.dispatch(json!({
        "id": "4001", "application_id": APP, "type": 2, "token": "token-4001", "version": 1,
        "guild_id": "400000000000000004", "channel_id": "100000000000000020",
        "member": {"user": {"id": "200000000000000002", "username": "bob"}, "roles": []},
        "data": {"id": "800000000000000008", "name": "sentinel", "type": 1,
                 "options": [{"type": 3, "name": "args", "value": "help"}]}
    }));
    for _ in 0..1000 {
        if !fake.delivered("token-4001").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let callbacks = fake.callbacks();
    assert_eq!(callbacks.len(), 1, "{:?}", fake.violations());
    assert_eq!((callbacks[0].status, callbacks[0].stored_before), (204, 1));
    assert_eq!(callbacks[0].body["type"], 5);
    let delivered = fake.delivered("token-4001");
    assert_eq!(delivered.len(), 1, "{:?}", fake.violations());
    assert!(delivered[0].contains("/sentinel"), "{}", delivered[0]);

    let health = running.health().await;
    assert_eq!(health["tasks"]["discord_gateway"]["running"], true, "{health}");
    assert!(running.terminate().success());
    let logs = running.drain_stderr().join("\n");
    assert!(logs.contains("interactions arrive over the Gateway"), "{logs}");
    assert!(!logs.contains(BOT_TOKEN) && !logs.contains("fake-session"), "{logs}");
    assert!(
        !logs.contains("token-4001"),
        "the interaction token is a credential: {logs}"
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}
