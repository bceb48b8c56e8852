//! Slash commands and button clicks over signed HTTP, and what Slack's ingress refuses.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::Harness;

#[tokio::test]
async fn a_slash_command_and_a_button_click_become_the_expected_web_api_calls() {
    let h = Harness::start().await;
    let form = h.command_form("/say", "AWS key in org/app", "111.222.aaa");
    let (status, body) = h.post("/slack/commands", &form, &h.now(), None).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, ""),
        "acknowledged at once, reply follows"
    );

    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 1, "{:?}", h.fake.calls());
    let post = &posts[0];
    assert_eq!(post.auth.as_deref(), Some("Bearer xoxb-test-token"));
    assert_eq!(post.body["channel"], "C0INC");
    assert_eq!(post.body["text"], "🟠 Leaked key: AWS key in org/app\ncc <@U0ALICE>");
    let attachment = &post.body["attachments"][0];
    assert_eq!(attachment["color"], "#F57C00");
    let blocks = attachment["blocks"].as_array().unwrap();
    assert_eq!(
        blocks[0]["text"]["text"],
        "🟠 *Leaked key*\nAWS key in org/app\ncc <@U0ALICE>"
    );
    assert_eq!(blocks[1]["fields"][0]["text"], "*Repository*\norg/app");
    assert_eq!(blocks[2]["elements"][0]["action_id"], "speaker.ack");
    assert_eq!(blocks[2]["elements"][0]["value"], "42");

    let replies = h.fake.calls_to("/response/111.222.aaa");
    assert_eq!(replies.len(), 1, "the private reply goes to the command's response_url");
    assert_eq!(replies[0].body["text"], "Posted: AWS key in org/app");
    assert_eq!(replies[0].auth, None, "response_url needs no token");

    let click = h.click_form("speaker.ack", "42", "333.444.bbb");
    let (status, body) = h.post("/slack/interactions", &click, &h.now(), None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    let updates = h.fake.calls_to("/api/chat.update");
    assert_eq!(updates.len(), 1, "{:?}", h.fake.calls());
    assert_eq!(
        updates[0].body["ts"], "1700000000.000001",
        "the alert is edited in place"
    );
    assert_eq!(updates[0].body["channel"], "C0INC");
    assert_eq!(updates[0].body["text"], "Leaked key: Acknowledged by bob");
    assert_eq!(
        updates[0].body["attachments"],
        json!([]),
        "the old coloured attachment is cleared"
    );
    let posts = h.fake.calls_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 2);
    assert_eq!(
        posts[1].body["thread_ts"], "1700000000.000001",
        "the reply is in the alert's thread"
    );
    assert_eq!(posts[1].body["text"], "bob is on it (42)");
    let thanks = h.fake.calls_to("/response/333.444.bbb");
    assert_eq!(thanks.len(), 1);
    assert_eq!(thanks[0].body["text"], "Thanks!");

    // Slack may deliver the same click twice; the trigger id keeps it to one event.
    h.post("/slack/interactions", &click, &h.now(), None).await;
    assert_eq!(h.fake.calls_to("/api/chat.update").len(), 1);
    h.bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn forged_stale_malformed_and_unknown_requests_get_clear_answers() {
    let h = Harness::start().await;
    let form = h.command_form("/say", "hi", "1.1.a");

    let (status, body) = h.post("/slack/commands", &form, &h.now(), Some("v0=deadbeef")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("X-Slack-Signature does not match the body"), "{body}");

    let stale = (h.clock_now().timestamp() - 301).to_string();
    let (status, body) = h.post("/slack/commands", &form, &stale, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("more than 5 minutes"), "{body}");

    let response = h
        .http
        .post(format!("{}/slack/commands", h.url))
        .body(form.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("X-Slack-Signature and X-Slack-Request-Timestamp are required")
    );

    let (status, body) = h.post("/slack/commands", "text=no+command+here", &h.now(), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("not a Slack slash command form"), "{body}");

    let (status, body) = h
        .post("/slack/interactions", "payload=%7Bnot+json", &h.now(), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("interaction payload"), "{body}");

    let unknown = h.command_form("/nope", "x", "1.1.b");
    let (status, body) = h.post("/slack/commands", &unknown, &h.now(), None).await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["response_type"], "ephemeral");
    assert_eq!(
        body["text"],
        "Unknown command `/nope`: no Sentinel plugin handles it. Type `/sentinel help` for the list."
    );

    assert!(h.fake.calls().is_empty(), "nothing reached Slack: {:?}", h.fake.calls());
    let since = h.clock_now() - chrono::Duration::hours(1);
    let mut conn = h.bot.pool().acquire().await.unwrap();
    let logged = sentinel_bot::store::security_log::count_since(&mut conn, None, since)
        .await
        .unwrap();
    assert_eq!(
        logged, 1,
        "one client's refusals within a minute: the first is logged, the rest folded"
    );
    // When the window ends, the folded refusals are written as summary rows that count them all.
    h.clock.advance(chrono::Duration::seconds(61));
    let mut refused = 0;
    for _ in 0..200 {
        refused = sentinel_bot::store::security_log::count_since(&mut conn, None, since)
            .await
            .unwrap();
        if refused == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(refused, 5, "every refusal is counted in the security log");
    drop(conn);
    h.bot.shutdown(Duration::from_secs(5)).await;
}
