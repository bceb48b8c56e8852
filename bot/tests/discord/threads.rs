//! A thread per incident: started once, found among the active threads after a lost answer.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Harness, support};

#[tokio::test]
async fn a_plugin_opens_a_thread_per_incident_and_posts_into_it_once() {
    let h = Harness::start().await;
    h.push(support::incident("d-1", 12, "sql-injection", "first", true))
        .await;
    let started = h.fake.calls_of("POST", "/channels/100000000000000010/threads");
    assert_eq!(started.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(started[0].body["name"], "inc-12-sql-injection");
    assert_eq!(started[0].body["type"], 11, "a public thread");
    let thread = h.fake.channel_threads()[0].0.clone();

    let posts = h.fake.calls_of("POST", &format!("/channels/{thread}/messages"));
    let contents: Vec<&Value> = posts.iter().map(|p| &p.body["content"]).collect();
    assert_eq!(
        contents,
        [
            "Space for inc-12-sql-injection\ncc <@200000000000000001> <@&300000000000000003>",
            "Status: first",
            "Note: first"
        ],
        "members are mentioned (secops is unknown here), then the messages follow in the thread"
    );
    assert_eq!(
        posts[0].body["allowed_mentions"]["users"],
        json!(["200000000000000001"])
    );
    let status_id = (thread.parse::<u64>().unwrap() + 2).to_string();
    assert_eq!(
        posts[2].body["message_reference"]["message_id"], status_id,
        "a thread reply inside the space replies to its parent in the same thread"
    );

    h.push(support::incident("d-1", 12, "sql-injection", "first", true))
        .await;
    h.push(support::incident("d-2", 12, "sql-injection", "second", true))
        .await;
    assert_eq!(h.fake.channel_threads().len(), 1, "nothing opened twice");
    let edits = h
        .fake
        .calls_of("PATCH", &format!("/channels/{thread}/messages/{status_id}"));
    assert_eq!(edits.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(edits[0].body["content"], "Status: second");
    let posts = h.fake.calls_of("POST", &format!("/channels/{thread}/messages"));
    assert_eq!(posts.len(), 4);
    assert_eq!(posts[3].body["content"], "Note: second");
    assert_eq!(posts[3].body["message_reference"]["message_id"], status_id);

    support::all_delivered_then_stop(h.bot).await;
}

#[tokio::test]
async fn a_retried_thread_start_uses_the_thread_an_earlier_attempt_made() {
    let h = Harness::start().await;
    h.fake.lose_next_thread();
    h.push(support::incident("d-1", 5, "leak", "first", true)).await;
    assert_eq!(h.fake.calls_of("POST", "/channels/100000000000000010/threads").len(), 1);
    h.advance(chrono::Duration::seconds(2)).await;
    assert_eq!(
        h.fake.calls_of("POST", "/channels/100000000000000010/threads").len(),
        1,
        "found among the active threads, not started again"
    );
    assert_eq!(
        h.fake
            .calls_of("GET", "/guilds/400000000000000004/threads/active")
            .len(),
        2,
        "looked before each attempt"
    );
    let thread = h.fake.channel_threads()[0].0.clone();
    let posts = h.fake.calls_of("POST", &format!("/channels/{thread}/messages"));
    let contents: Vec<&Value> = posts.iter().map(|p| &p.body["content"]).collect();
    assert_eq!(
        contents,
        [
            "Space for inc-5-leak\ncc <@200000000000000001> <@&300000000000000003>",
            "Status: first",
            "Note: first"
        ]
    );
    h.bot.shutdown(Duration::from_secs(5)).await;
}
