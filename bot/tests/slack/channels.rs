//! The start-up token check, and a channel per incident: created once, found again after a lost answer.

use std::sync::Arc;
use std::time::Duration;

use sentinel_bot::chat::Directory;
use sentinel_bot::chat::slack::{CredentialsError, SlackAdapter};
use sentinel_bot::harness::fakes::slack::{self, FakeSlack};
use sentinel_bot::store::outbox;
use serde_json::json;

use crate::{Harness, config_text, support};

#[tokio::test]
async fn start_up_checks_the_token_and_channels_can_be_created_per_incident() {
    let fake = FakeSlack::start().await.unwrap();
    // Only the adapter is built: no database is opened.
    let text = config_text(&fake.api_url(), "sqlite://unused.db");
    let config =
        sentinel_bot::config::load::from_table(sentinel_bot::config::load::parse_table(&text, "t").unwrap()).unwrap();
    let adapter = SlackAdapter::new(&config.slack, Arc::new(Directory::default()), Duration::from_secs(5)).unwrap();
    assert_eq!(
        adapter.check_credentials().await,
        Ok("Slack: signed in as sentinel (U0BOT) in workspace Acme".into())
    );
    fake.fail_next("/api/auth.test", slack::error("invalid_auth"));
    assert_eq!(
        adapter.check_credentials().await,
        Err(CredentialsError::Rejected("invalid_auth".into()))
    );
    fake.fail_next("/api/auth.test", slack::server_error(503));
    assert!(matches!(
        adapter.check_credentials().await,
        Err(CredentialsError::Unreachable(_))
    ));

    let channel = adapter
        .create_channel("Incident 42: leaked key", &["U0ALICE".into(), "U0BOB".into()])
        .await
        .unwrap();
    assert_eq!(channel, "C0NEW");
    let created = fake.calls_to("/api/conversations.create");
    assert_eq!(created[0].body["name"], "incident-42--leaked-key");
    let invited = fake.calls_to("/api/conversations.invite");
    assert_eq!(
        invited[0].body,
        json!({"channel": "C0NEW", "users": ["U0ALICE", "U0BOB"]})
    );

    // A bad token is reported without printing it.
    let bad = CredentialsError::Rejected("invalid_auth".into()).to_string();
    assert!(!bad.contains("xoxb"), "{bad}");
}

#[tokio::test]
async fn a_plugin_opens_a_channel_per_incident_invites_responders_and_posts_into_it_once() {
    let h = Harness::start().await;
    h.push(support::incident("d-1", 12, "SQL Injection", "first", true))
        .await;
    assert_eq!(
        h.paths(),
        [
            "/api/conversations.create",
            "/api/conversations.invite",
            "/api/chat.postMessage",
            "/api/chat.postMessage"
        ],
        "the channel exists before anything is posted to it"
    );
    let created = h.fake.calls_to("/api/conversations.create");
    assert_eq!(created[0].body["name"], "inc-12-sql-injection");
    assert_eq!(created[0].body["is_private"], false);
    let invited = h.fake.calls_to("/api/conversations.invite");
    assert_eq!(
        invited[0].body,
        json!({"channel": "C0NEW", "users": ["U0ALICE", "U0BOB"]}),
        "alice, and the responders group by its members; secops has no members listed"
    );
    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts[0].body["channel"], "C0NEW");
    assert_eq!(posts[0].body["text"], "Status: first");
    assert_eq!(posts[1].body["channel"], "C0NEW");
    assert_eq!(posts[1].body["text"], "Note: first");
    assert_eq!(posts[1].body["thread_ts"], "1700000000.000001");

    // A replayed delivery, then a new event for the same incident: no second channel or invite.
    h.push(support::incident("d-1", 12, "SQL Injection", "first", true))
        .await;
    h.push(support::incident("d-2", 12, "SQL Injection", "second", true))
        .await;
    assert_eq!(h.fake.calls_to("/api/conversations.create").len(), 1);
    assert_eq!(h.fake.calls_to("/api/conversations.invite").len(), 1);
    let updates = h.fake.calls_to("/api/chat.update");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].body["channel"], "C0NEW");
    assert_eq!(updates[0].body["ts"], "1700000000.000001");
    assert_eq!(updates[0].body["text"], "Status: second");
    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 3);
    assert_eq!(
        (&posts[2].body["channel"], &posts[2].body["thread_ts"]),
        (&json!("C0NEW"), &json!("1700000000.000001"))
    );

    let mut conn = h.bot.pool().acquire().await.unwrap();
    let counts = outbox::counts(&mut conn).await.unwrap();
    assert_eq!((counts.pending, counts.failed), (0, 0));
    let channel: Option<String> =
        sqlx::query_scalar("SELECT channel_id FROM spaces WHERE platform = 'slack' AND key = 'incident-12'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(channel.as_deref(), Some("C0NEW"));
    drop(conn);
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_lost_answer_to_conversations_create_finds_the_channel_on_the_retry() {
    let h = Harness::start().await;
    h.fake.lose_next_create();
    h.push(support::incident("d-1", 7, "leaked-key", "first", true)).await;
    assert_eq!(
        h.paths(),
        ["/api/conversations.create"],
        "the messages wait for the channel"
    );

    h.advance(chrono::Duration::seconds(2)).await;
    assert_eq!(
        h.paths(),
        [
            "/api/conversations.create",
            "/api/conversations.create",
            "/api/conversations.list",
            "/api/conversations.invite",
            "/api/chat.postMessage",
            "/api/chat.postMessage"
        ]
    );
    assert_eq!(h.fake.channels().len(), 1, "one channel");
    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert!(posts.iter().all(|p| p.body["channel"] == "C0NEW"), "{posts:?}");
    support::all_delivered_then_stop(h.bot).await;
}
