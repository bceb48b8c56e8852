//! Delivery to Discord: `retry_after`, a lost answer made harmless by the nonce, and a spent global
//! bucket holding messages back without a request.

use std::time::Duration;

use sentinel_bot::chat::discord::CredentialsError;
use sentinel_bot::harness::fakes::discord::{self, FakeDiscord};
use sentinel_bot::{ManualClock, Message};

use crate::{Harness, declare, lone_adapter, support};

#[tokio::test]
async fn a_429_waits_for_retry_after_and_then_delivers_exactly_once() {
    let h = Harness::start().await;
    h.fake.fail_next(
        "/channels/100000000000000010/messages",
        discord::rate_limited(1.5, false),
    );
    h.send(&declare("3001", "Slow")).await;
    let path = "/channels/100000000000000010/messages";
    assert_eq!(h.fake.calls_of("POST", path).len(), 1);

    // The outbox's own backoff (2 s) is longer here; the wait is the longer of the two.
    h.advance(chrono::Duration::milliseconds(1500)).await;
    assert_eq!(h.fake.calls_of("POST", path).len(), 1, "not before the backoff");
    h.advance(chrono::Duration::milliseconds(500)).await;
    let posts = h.fake.calls_of("POST", path);
    assert_eq!(posts.len(), 2, "delivered on the retry");
    assert_eq!(
        posts[0].body["nonce"], posts[1].body["nonce"],
        "the same nonce makes a resend harmless"
    );
    h.advance(chrono::Duration::minutes(10)).await;
    assert_eq!(h.fake.calls_of("POST", path).len(), 2, "exactly once");

    support::all_delivered_then_stop(h.bot).await;
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_sent_again_with_its_nonce_and_makes_one_message() {
    let h = Harness::start().await;
    let path = "/channels/100000000000000010/messages";
    h.fake.lose_next_posts(1);
    h.send(&declare("3002", "Lost answer")).await;
    assert_eq!(h.fake.calls_of("POST", path).len(), 1);
    assert_eq!(h.fake.created_in("100000000000000010"), 1, "the post was carried out");

    h.advance(chrono::Duration::minutes(1)).await;
    let posts = h.fake.calls_of("POST", path);
    assert_eq!(posts.len(), 2, "sent again: its outcome was unknown");
    assert_eq!(posts[0].body["nonce"], posts[1].body["nonce"]);
    assert_eq!(posts[1].status, 200);
    assert_eq!(
        h.fake.created_in("100000000000000010"),
        1,
        "Discord returns the message its nonce made instead of a second one"
    );
    h.advance(chrono::Duration::minutes(10)).await;
    assert_eq!(h.fake.calls_of("POST", path).len(), 2, "delivered: never sent again");

    support::all_delivered_then_stop(h.bot).await;
}

#[tokio::test]
async fn an_exhausted_bucket_holds_the_next_message_until_it_resets() {
    let fake = FakeDiscord::start().await.unwrap();
    let clock = ManualClock::new(sentinel_bot::harness::test_start());
    let adapter = lone_adapter(&fake, &clock);
    // A 429 on the global limit closes every route until it passes.
    fake.fail_next("/users/@me", discord::rate_limited(60.0, true));
    assert!(matches!(
        adapter.check_credentials().await,
        Err(CredentialsError::Unreachable(_))
    ));
    let message = Message::new("c", "hello");
    let delivery = sentinel_bot::chat::Delivery {
        idempotency_key: "k1",
        channel: "100000000000000010",
        target: sentinel_bot::chat::Target::New,
        message: &message,
        in_space: false,
        look_first: false,
    };
    use sentinel_bot::chat::ChatAdapter;
    match adapter.deliver(delivery).await {
        Err(sentinel_bot::chat::DeliveryError::Retry { after, .. }) => {
            assert_eq!(after, Some(Duration::from_secs(60)), "held back without a request");
        }
        other => panic!("expected a retry, got {other:?}"),
    }
    assert_eq!(fake.calls().len(), 1, "only the rate-limited call reached Discord");
    clock.advance(chrono::Duration::seconds(60));
    assert!(adapter.deliver(delivery).await.is_ok());
    assert_eq!(
        adapter.check_credentials().await,
        Ok("Discord: signed in as sentinel (700000000000000007)".into())
    );
}
