//! Delivery to Slack: `Retry-After`, server errors, and answers lost after Slack carried a post out.

use std::time::Duration;

use sentinel_bot::harness::fakes::{Reply, slack};
use serde_json::{Value, json};

use crate::{Harness, support};

#[tokio::test]
async fn a_429_waits_for_retry_after_and_then_delivers_exactly_once() {
    let h = Harness::start().await;
    h.fake.fail_next("/api/chat.postMessage", slack::rate_limited(30));
    let form = h.command_form("/say", "slow down", "5.5.a");
    h.post("/slack/commands", &form, &h.now(), None).await;
    assert_eq!(h.fake.calls_to("/api/chat.postMessage").len(), 1);

    h.advance(chrono::Duration::seconds(29)).await;
    assert_eq!(
        h.fake.calls_to("/api/chat.postMessage").len(),
        1,
        "Retry-After: 30 honoured"
    );
    h.advance(chrono::Duration::seconds(1)).await;
    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 2, "retried once, after 30 s");
    assert_eq!(posts[0].body, posts[1].body, "the same message");
    h.advance(chrono::Duration::minutes(10)).await;
    assert_eq!(h.fake.calls_to("/api/chat.postMessage").len(), 2, "and never again");

    support::all_delivered_then_stop(h.bot).await;
}

#[tokio::test]
async fn a_server_error_is_retried_and_an_expired_response_url_falls_back_to_post_ephemeral() {
    let h = Harness::start().await;
    h.fake.fail_next("/api/chat.postMessage", slack::server_error(500));
    let form = h.command_form("/say", "hello", "6.6.a");
    h.fake.fail_next(
        "/response/6.6.a",
        Reply::new(404, json!({"ok": false, "error": "expired_url"})),
    );
    h.post("/slack/commands", &form, &h.now(), None).await;
    // The failed post blocks only its own channel; the private reply goes out.
    let ephemeral = h.fake.calls_to("/api/chat.postEphemeral");
    assert_eq!(ephemeral.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(ephemeral[0].body["channel"], "C0GENERAL");
    assert_eq!(ephemeral[0].body["user"], "U0ALICE");
    assert_eq!(ephemeral[0].body["text"], "Posted: hello");

    h.advance(chrono::Duration::seconds(2)).await;
    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 2, "retried after the backoff");
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_found_in_the_channel_and_not_posted_again() {
    let h = Harness::start().await;
    // Slack posts the alert, then the answer is lost (500).
    h.fake.lose_next_posts(1);
    let form = h.command_form("/say", "AWS key in org/app", "7.7.a");
    h.post("/slack/commands", &form, &h.now(), None).await;
    assert_eq!(h.fake.messages_in("C0INC").len(), 1, "posted once");
    assert_eq!(
        h.fake.messages_in("C0INC")[0]["metadata"]["event_type"],
        "sentinel_message",
        "tagged with its idempotency key"
    );

    h.advance(chrono::Duration::seconds(2)).await;
    let lookups = h.fake.calls_to("/api/conversations.history");
    assert_eq!(lookups.len(), 1, "looked before posting again: {:?}", h.fake.calls());
    assert_eq!(lookups[0].body["channel"], "C0INC");
    assert_eq!(lookups[0].body["include_all_metadata"], "true");
    assert_eq!(h.fake.calls_to("/api/chat.postMessage").len(), 1, "not posted again");
    assert_eq!(h.fake.messages_in("C0INC").len(), 1);

    // The adopted message is the one later changes edit, and its thread gets the reply once,
    // although that reply's answer is lost as well.
    h.fake.lose_next_posts(1);
    let click = h.click_form("speaker.ack", "42", "7.7.b");
    h.post("/slack/interactions", &click, &h.now(), None).await;
    let updates = h.fake.calls_to("/api/chat.update");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].body["ts"], "1700000000.000001");
    h.advance(chrono::Duration::seconds(2)).await;
    let replies = h.fake.calls_to("/api/conversations.replies");
    assert_eq!(replies.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(replies[0].body["ts"], "1700000000.000001");
    let thread: Vec<Value> = h
        .fake
        .messages_in("C0INC")
        .into_iter()
        .filter(|m| m["thread_ts"] == "1700000000.000001")
        .collect();
    assert_eq!(thread.len(), 1, "one reply in the thread: {thread:?}");

    support::all_delivered_then_stop(h.bot).await;
}

#[tokio::test]
async fn a_rate_limited_post_is_looked_for_nowhere_and_posted_once_after_retry_after() {
    let h = Harness::start().await;
    // A 429 says Slack did not post: no look-up is needed before the retry.
    h.fake.fail_next("/api/chat.postMessage", slack::rate_limited(3));
    let form = h.command_form("/say", "hello", "8.8.a");
    h.post("/slack/commands", &form, &h.now(), None).await;
    h.advance(chrono::Duration::seconds(3)).await;
    assert_eq!(h.fake.calls_to("/api/conversations.history").len(), 0);
    assert_eq!(h.fake.messages_in("C0INC").len(), 1);
    h.bot.shutdown(Duration::from_secs(5)).await;
}
