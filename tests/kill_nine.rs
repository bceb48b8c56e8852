//! `kill -9` between storing and acknowledging loses nothing, through the real binary on a SQLite
//! file and the harness's fake platforms on 127.0.0.1.
//!
//! Slack Socket Mode: a slash command stored but not acknowledged when the process dies is sent
//! again by Slack on the new connection after the restart (`retry_attempt` 1) and runs exactly
//! once; one that died with the process before it was stored is sent again and runs once too.
//! (The command's reply is delivered at least once: a reply whose POST reached Slack just before
//! the kill, not yet recorded as delivered, is sent again.)
//! Discord Gateway: an `INTERACTION_CREATE` stored but not answered when the process dies is not
//! sent again (the session lived in memory), yet the stored command runs once after the restart
//! and its answer reaches Discord as a direct message — exactly the gap the README describes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../bot/tests/discord_gateway/fake_gateway.rs"]
mod fake_gateway;
mod support;

use std::time::{Duration, Instant};

use sentinel_bot::harness::fakes::slack_socket::{APP_TOKEN, Behaviour, FakeSocketMode};
use sentinel_bot::store::{self, DbPool};
use serde_json::{Value, json};
use support::Sentinel;

/// The restarted process is the same instance, named as a service manager's configuration would
/// name it: it takes over at once the claims its killed run left (a reply in flight), on
/// PostgreSQL too, where another name's claims would wait out `cluster.lease`.
const RESTARTED: &str = "[cluster]\ninstance = \"kill-nine\"\n";

/// Waits (up to 20 s) until `done` holds.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A look at the binary's database (SQLite allows a second process beside it).
async fn database(sentinel: &Sentinel) -> DbPool {
    store::open(sentinel.database_url(), Duration::from_secs(5))
        .await
        .unwrap()
}

async fn rows(pool: &DbPool, dedup_suffix: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE dedup_key LIKE '%' || $1")
        .bind(dedup_suffix)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn slack_config(fake: &FakeSocketMode) -> String {
    format!(
        "{RESTARTED}[slack]\nbot_token = \"xoxb-test\"\napp_token = \"{APP_TOKEN}\"\napi_url = \"{}/api\"\nsocket_connections = 1\n",
        fake.base
    )
}

/// `/sentinel help` as a Socket Mode envelope, in the format Slack's documentation shows.
fn slash_command(fake: &FakeSocketMode, envelope_id: &str, trigger: &str) -> Value {
    json!({
        "payload": {
            "token": "bHKJ2n9AW6Ju3MjciOHfbA1b",
            "team_id": "T0ACME",
            "team_domain": "acme",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": "U0ALICE",
            "user_name": "alice.s",
            "command": "/sentinel",
            "text": "help",
            "api_app_id": "A0SENTINEL",
            "is_enterprise_install": "false",
            "response_url": format!("{}/response/{trigger}", fake.base),
            "trigger_id": trigger
        },
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": true
    })
}

/// After the restart: the envelope comes again on connection 2 as retry 1, is acknowledged there,
/// and the command was answered exactly once and stored once.
async fn answered_once_after_restart(fake: &FakeSocketMode, sentinel: &Sentinel, envelope: &str, trigger: &str) {
    until("the ack on the new connection", || fake.acks().len() == 1).await;
    assert_eq!(fake.deliveries_of(envelope), [1, 2], "sent again after the restart");
    assert_eq!(fake.acks()[0].connection, 2);
    until("the reply", || !fake.replies_to(trigger).is_empty()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pool = database(sentinel).await;
    assert_eq!(rows(&pool, trigger).await, 1, "stored once");
    // The command ran once: it made one reply, delivered.
    let made: Vec<String> = sqlx::query_scalar("SELECT state FROM outbox WHERE response_url LIKE '%/' || $1")
        .bind(trigger)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(made, ["delivered"], "the command ran exactly once");
    // That reply reached Slack. When the process died after its POST reached Slack but before
    // the outbox recorded it, it is sent again after the restart: a `response_url` has no
    // idempotency key (README, "Running without inbound ports").
    let replies = fake.replies_to(trigger);
    assert!((1..=2).contains(&replies.len()), "{replies:?}");
    assert!(
        replies.iter().all(|reply| *reply == replies[0]),
        "one reply: {replies:?}"
    );
    assert!(
        replies[0]["text"].as_str().unwrap().contains("/sentinel"),
        "{}",
        replies[0]
    );
    assert_eq!(fake.pending(), 0, "nothing left unacknowledged");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

// Multi-threaded: `Sentinel::start` blocks its thread while the fakes answer the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_a_command_stored_but_not_acknowledged_runs_once_after_kill_9() {
    let fake = FakeSocketMode::start().await.unwrap();
    // The first process's acknowledgements never reach Slack: it dies before they leave.
    fake.script(&[Behaviour::HoldAcks]);
    let config = slack_config(&fake);
    let running = Sentinel::start(&config);
    until("a connection", || fake.open_connections() == 1).await;
    fake.watch_inbox(database(&running).await);

    fake.deliver(slash_command(&fake, "env-k1", "k1.trigger"));
    until("the (held) ack", || fake.held_acks().len() == 1).await;
    assert_eq!(fake.held_acks()[0].stored_before, 1, "stored before the ack was sent");
    let dir = running.kill9();
    until("the connection to close", || fake.open_connections() == 0).await;
    assert_eq!(fake.pending(), 1, "Slack still waits for the acknowledgement");

    let running = Sentinel::start_in(dir, &config);
    answered_once_after_restart(&fake, &running, "env-k1", "k1.trigger").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_a_command_that_died_before_it_was_stored_runs_once_after_kill_9() {
    let fake = FakeSocketMode::start().await.unwrap();
    let config = slack_config(&fake);
    let running = Sentinel::start(&config);
    until("a connection", || fake.open_connections() == 1).await;
    let pool = database(&running).await;

    // Stopped, the process cannot read the envelope the fake writes to its socket; killed, it
    // never will.
    let pid = running.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    fake.deliver(slash_command(&fake, "env-k2", "k2.trigger"));
    until("the delivery", || fake.deliveries_of("env-k2") == [1]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let dir = running.kill9();
    assert_eq!(rows(&pool, "k2.trigger").await, 0, "killed before it was stored");
    until("the connection to close", || fake.open_connections() == 0).await;

    let running = Sentinel::start_in(dir, &config);
    answered_once_after_restart(&fake, &running, "env-k2", "k2.trigger").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_an_interaction_stored_but_not_answered_runs_once_after_kill_9_and_answers_by_dm() {
    use fake_gateway::{APP, BOT_TOKEN, FakeGateway};
    let fake = FakeGateway::start(Duration::from_secs(45)).await;
    let config = format!(
        "{RESTARTED}[discord]\nbot_token = \"{BOT_TOKEN}\"\napplication_id = \"{APP}\"\ninteractions = \"gateway\"\napi_url = \"{}\"\n",
        fake.base
    );
    let running = Sentinel::start(&config);
    until("a ready session", || {
        fake.identifies().len() == 1 && fake.open_connections() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pool = database(&running).await;

    // The answer to the interaction is held on its way to Discord; the process dies meanwhile.
    // (An id from 2015: far older than the 10 s during which a follow-up would be retried.)
    fake.hold_callbacks(true);
    fake.dispatch(json!({
        "id": "4002", "application_id": APP, "type": 2, "token": "token-4002", "version": 1,
        "guild_id": "400000000000000004", "channel_id": "100000000000000020",
        "member": {"user": {"id": "200000000000000002", "username": "bob"}, "roles": []},
        "data": {"id": "800000000000000008", "name": "sentinel", "type": 1,
                 "options": [{"type": 3, "name": "args", "value": "help"}]}
    }));
    let deadline = Instant::now() + Duration::from_secs(20);
    while rows(&pool, "4002").await == 0 {
        assert!(Instant::now() < deadline, "the interaction was never stored");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dir = running.kill9();
    until("the connection to close", || fake.open_connections() == 0).await;
    assert!(fake.callbacks().is_empty(), "no answer reached Discord before the kill");

    let running = Sentinel::start_in(dir, &config);
    until("the direct message", || !fake.direct_messages().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // One message at Discord: a message sent again (the process died after its POST reached
    // Discord, before the outbox recorded it) carries the same nonce with `enforce_nonce`, and
    // Discord answers it with the message it already created.
    let messages = fake.direct_messages();
    let mut nonces: Vec<String> = messages.iter().map(|m| m["nonce"].to_string()).collect();
    assert!(messages.iter().all(|m| m["enforce_nonce"] == true), "{messages:?}");
    nonces.dedup();
    assert_eq!(nonces.len(), 1, "the command ran exactly once: {messages:?}");
    assert!(
        messages[0].to_string().contains("/sentinel"),
        "the help reached Discord: {}",
        messages[0]
    );
    assert_eq!(
        fake.identifies().len(),
        2,
        "a new session: nothing to resume after kill -9"
    );
    assert!(fake.resumes().is_empty());
    assert!(fake.callbacks().is_empty(), "Discord never sends the interaction again");
    assert!(
        fake.delivered("token-4002").is_empty(),
        "no follow-up to an unanswered interaction"
    );
    assert_eq!(rows(&database(&running).await, "4002").await, 1, "stored once");
    assert_eq!(fake.violations(), Vec::<String>::new());
}
