//! The example plugin `ping` as a user meets it, built through the real registry: absent unless
//! enabled, `/ping` now and later (a durable timer across a restart), GitHub pushes posted, and a
//! daily summary counted in per-plugin storage.

// Panicking on a broken fixture or a failed start is the point of a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::Duration;
use sentinel_bot::NewEvent;
use sentinel_bot::chat::console::{Printed, PrintedKind};
use sentinel_bot::harness::TestBot;
use support::texts;

/// Only `ping`, so what shows is its doing.
const PING_ONLY: &str = r#"
[plugins.alert_notifier]
enabled = false
[plugins.incident_commander]
enabled = false
[plugins.audit_scheduler]
enabled = false
[plugins.sla_escalator]
enabled = false
[plugins.ping]
enabled = true
"#;

async fn start(text: &str) -> TestBot {
    let config = support::config(text);
    TestBot::start(text, move || sentinel_plugins::build(&config).unwrap())
        .await
        .unwrap()
}

async fn push(bot: &mut TestBot, fixture: &str, delivery: &str) -> Vec<Printed> {
    let body = support::fixture_text(fixture);
    bot.push(NewEvent::github("push", delivery, body)).await;
    bot.pop()
}

async fn stored(bot: &TestBot) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT plugin, key, value FROM plugin_state ORDER BY plugin, key")
        .fetch_all(bot.bot().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn ping_is_absent_unless_enabled() {
    let mut bot = start("").await;
    let answer = bot.command("/ping").await;
    assert!(!texts(&answer).iter().any(|t| t.contains("pong")), "{answer:?}");
    let help = bot.command("/sentinel help").await;
    assert!(!texts(&help).concat().contains("/ping"), "{help:?}");
    assert!(push(&mut bot, "push.with-new-branch.json", "d-off").await.is_empty());
    bot.stop().await;

    let mut bot = start("[plugins.ping]\nenabled = true\n").await;
    assert_eq!(texts(&bot.command("/ping").await), ["pong (1 since the last summary)"]);
    bot.stop().await;
}

#[tokio::test]
async fn pings_and_pushes_are_counted_until_the_daily_summary() {
    let mut bot = start(PING_ONLY).await;
    assert_eq!(texts(&bot.command("/ping").await), ["pong (1 since the last summary)"]);
    assert_eq!(
        texts(&bot.command_as("alice", "/ping").await),
        ["pong (2 since the last summary)"]
    );

    let posted = push(&mut bot, "push.with-new-branch.json", "d-1").await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0].channel, "general");
    assert_eq!(
        posted[0].message.text,
        "Codertocat pushed 1 commit(s) to refs/heads/master in Codertocat/Hello-World"
    );
    let deleted = push(&mut bot, "push.json", "d-2").await;
    assert_eq!(
        texts(&deleted),
        ["Codertocat deleted refs/tags/simple-tag in Codertocat/Hello-World"]
    );
    assert_eq!(
        stored(&bot).await,
        [
            ("ping".to_owned(), "pings".to_owned(), "2".to_owned()),
            ("ping".to_owned(), "pushes".to_owned(), "2".to_owned()),
        ]
    );

    // The test clock starts Monday 09:00 UTC; the summary runs daily at 09:00.
    assert!(bot.advance(Duration::hours(23)).await.is_empty());
    let summary = bot.advance(Duration::hours(1)).await;
    assert_eq!(texts(&summary), ["Since the last summary: 2 ping(s), 2 push(es)"]);
    assert_eq!(summary[0].channel, "general");
    assert!(stored(&bot).await.is_empty(), "the summary resets the counts");
    assert_eq!(texts(&bot.command("/ping").await), ["pong (1 since the last summary)"]);
    bot.stop().await;
}

#[tokio::test]
async fn ping_in_answers_later_through_a_timer_that_survives_a_restart() {
    let mut bot = start(PING_ONLY).await;
    assert_eq!(texts(&bot.command("/ping in 10m").await), ["I will answer in 10m"]);
    bot.restart().await.unwrap();
    assert!(bot.advance(Duration::minutes(9)).await.is_empty());
    let later = bot.advance(Duration::minutes(1)).await;
    assert_eq!(texts(&later), ["pong (10m later)"]);
    assert_eq!(later[0].kind, PrintedKind::New);
    bot.stop().await;
}

#[tokio::test]
async fn a_bad_wait_is_answered_privately_and_sets_no_timer() {
    let mut bot = start(PING_ONLY).await;
    for (line, expected) in [
        ("/ping in 2d", "wait between 1s and 1day"),
        ("/ping in soon", "`soon` is not a duration"),
        ("/ping pong", "usage: /ping or /ping in <duration>"),
    ] {
        let answer = bot.command(line).await;
        assert_eq!(answer.len(), 1, "{line}: {answer:?}");
        assert!(
            matches!(answer[0].kind, PrintedKind::Ephemeral { .. }),
            "{line}: {answer:?}"
        );
        assert!(answer[0].message.text.contains(expected), "{line}: {answer:?}");
    }
    assert!(
        bot.advance(Duration::days(3))
            .await
            .iter()
            .all(|p| p.message.text.starts_with("Since"))
    );
    bot.stop().await;
}
