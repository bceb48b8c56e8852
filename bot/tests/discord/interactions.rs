//! Slash commands and button clicks over signed HTTP, and what Discord's interactions endpoint refuses.

use std::time::Duration;

use axum::http::StatusCode;
use ed25519_dalek::SigningKey;
use sentinel_bot::Clock;
use serde_json::json;

use crate::{APP, Harness, button_click, declare, slash_command};

#[tokio::test]
async fn a_slash_command_and_a_button_click_become_the_expected_rest_calls() {
    let h = Harness::start().await;
    let (status, body) = h
        .send(&json!({"id": "1", "application_id": APP, "type": 1, "token": "t", "version": 1}))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"type": 1})), "PING → PONG");

    let (status, body) = h.send(&declare("1001", "Leaked AWS key")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&body["type"], &body["data"]["flags"]),
        (&json!(5), &json!(64)),
        "deferred, ephemeral"
    );

    let posts = h.fake.calls_of("POST", "/channels/100000000000000010/messages");
    assert_eq!(posts.len(), 1, "{:?}", h.fake.calls());
    let post = &posts[0];
    assert_eq!(post.auth.as_deref(), Some("Bot discord-test-token"));
    assert_eq!(post.body["content"], "<@&300000000000000003>");
    assert_eq!(post.body["allowed_mentions"]["roles"], json!(["300000000000000003"]));
    assert_eq!(post.body["embeds"][0]["title"], "🔴 Leaked AWS key");
    assert_eq!(post.body["embeds"][0]["color"], 0xD0212E);
    assert_eq!(
        post.body["embeds"][0]["fields"][0],
        json!({"name": "State", "value": "open", "inline": true})
    );
    assert_eq!(
        post.body["components"][0]["components"][0]["custom_id"],
        "incident.ack|7"
    );
    assert_eq!(post.body["enforce_nonce"], true);
    let alert_id = "500000000000000001";

    let followups = h.fake.calls_of("POST", &format!("/webhooks/{APP}/token-1001"));
    assert_eq!(followups.len(), 1, "the private reply is the interaction's follow-up");
    assert_eq!(followups[0].body["content"], "Declared: Leaked AWS key");
    assert_eq!(followups[0].body["flags"], 64);

    let (status, body) = h.send(&button_click("1002", "incident.ack|7")).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"type": 6})),
        "acknowledged without a change"
    );
    let edits = h
        .fake
        .calls_of("PATCH", &format!("/channels/100000000000000010/messages/{alert_id}"));
    assert_eq!(edits.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(edits[0].body["embeds"][0]["description"], "Acknowledged by bob");
    assert_eq!(
        edits[0].body["components"],
        json!([]),
        "the button is gone with the new version"
    );

    // The thread reply: the thread does not exist yet, so it is started from the alert first.
    let threads = h.fake.calls_of(
        "POST",
        &format!("/channels/100000000000000010/messages/{alert_id}/threads"),
    );
    assert_eq!(threads.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(threads[0].body["name"], "incident-7");
    let in_thread = h.fake.calls_of("POST", &format!("/channels/{alert_id}/messages"));
    assert_eq!(
        in_thread.len(),
        2,
        "one refused before the thread existed, one delivered"
    );
    assert_eq!(in_thread[1].body["content"], "bob took #7");
    let thanks = h.fake.calls_of("POST", &format!("/webhooks/{APP}/token-1002"));
    assert_eq!(thanks[0].body["content"], "Thanks!");

    // Discord retries an interaction it got no answer for; the interaction id keeps it to one.
    h.send(&button_click("1002", "incident.ack|7")).await;
    assert_eq!(
        h.fake
            .calls_of("PATCH", &format!("/channels/100000000000000010/messages/{alert_id}"))
            .len(),
        1
    );
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn forged_stale_malformed_and_unknown_interactions_get_clear_answers() {
    let h = Harness::start().await;
    let body = declare("2001", "x").to_string();

    let impostor = SigningKey::from_bytes(&[9u8; 32]);
    let (status, answer) = h.send_signed(&body, &h.now(), &impostor).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"], "X-Signature-Ed25519 does not match the body");

    let stale = (h.clock.now().timestamp() - 301).to_string();
    let (status, answer) = h.send_signed(&body, &stale, &h.key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"], "X-Signature-Timestamp is more than 5 minutes from now");

    let response = h.http.post(&h.url).body(body.clone()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);

    let (status, answer) = h.send_signed("{\"type\": \"nope\"}", &h.now(), &h.key).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("not a Discord interaction"),
        "{answer}"
    );

    let (status, answer) = h.send(&slash_command("2002", "nope", json!([]))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["type"], 4);
    assert_eq!(answer["data"]["flags"], 64);
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Unknown command `/nope`: no Sentinel plugin handles it."),
        "{answer}"
    );
    assert!(
        h.fake.calls().is_empty(),
        "nothing reached Discord: {:?}",
        h.fake.calls()
    );
    h.bot.shutdown(Duration::from_secs(5)).await;
}
