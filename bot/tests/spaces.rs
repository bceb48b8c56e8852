//! Per-incident spaces through the real pipeline and the console adapter: a plugin opens a space
//! and posts into it, later events edit and reply inside it, nothing opens twice, and a message to
//! a space nobody opened fails visibly; the generic webhook is told about the space and then
//! receives its messages under the channel it named.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use sentinel_bot::chat::console::PrintedKind;
use sentinel_bot::harness::TestBot;
use sentinel_bot::pipeline::ingest::Accepted;
use sentinel_bot::store::outbox;
use support::{Opener, incident};

const CONFIG: &str = "[people.alice]\n[people.bob]\n[groups.responders]\nmembers = [\"bob\"]\n";

async fn start() -> TestBot {
    TestBot::start(CONFIG, || vec![Arc::new(Opener) as Arc<dyn sentinel_bot::Plugin>])
        .await
        .unwrap()
}

#[tokio::test]
async fn a_space_opens_once_and_its_messages_print_under_its_name() {
    let mut bot = start().await;
    assert!(matches!(
        bot.push(incident("d-1", 12, "sql-injection", "first", true)).await,
        Accepted::New(_)
    ));
    let printed = bot.pop();
    let texts: Vec<&str> = printed.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "── opened #inc-12-sql-injection (space incident-12) ──\nwith @alice @responders @secops",
            "── #inc-12-sql-injection ──\nStatus: first\n",
            "── #inc-12-sql-injection · thread reply ──\nNote: first\n",
        ]
    );
    assert_eq!(
        printed[0].kind,
        PrintedKind::Opened {
            space: "incident-12".into()
        }
    );
    assert!(printed.iter().all(|p| p.channel == "inc-12-sql-injection"));
    assert_eq!(printed[1].kind, PrintedKind::New);
    assert_eq!(
        printed[2].kind,
        PrintedKind::Reply {
            parent: printed[1].message_id.clone()
        }
    );

    // The same delivery again is recognised; a later event asks for the same space again.
    assert_eq!(
        bot.push(incident("d-1", 12, "sql-injection", "first", true)).await,
        Accepted::Duplicate
    );
    bot.push(incident("d-2", 12, "sql-injection", "second", true)).await;
    let printed = bot.pop();
    let texts: Vec<&str> = printed.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "── #inc-12-sql-injection · updated ──\nStatus: second\n",
            "── #inc-12-sql-injection · thread reply ──\nNote: second\n",
        ],
        "nothing opened twice; the status is edited in place"
    );
    let opened: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE op = 'space'")
        .fetch_one(bot.bot().pool())
        .await
        .unwrap();
    assert_eq!(opened, 1);
    let channel: Option<String> =
        sqlx::query_scalar("SELECT channel_id FROM spaces WHERE platform = 'console' AND key = 'incident-12'")
            .fetch_one(bot.bot().pool())
            .await
            .unwrap();
    assert_eq!(channel.as_deref(), Some("inc-12-sql-injection"));

    // Another event that only posts (no open_space) reaches the open space too.
    bot.push(incident("d-3", 12, "sql-injection", "third", false)).await;
    let printed = bot.pop();
    assert_eq!(
        printed[0].text,
        "── #inc-12-sql-injection · updated ──\nStatus: third\n"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_message_to_a_space_nobody_opened_fails_with_the_reason() {
    let mut bot = start().await;
    bot.push(incident("d-9", 99, "x", "lost", false)).await;
    assert!(bot.pop().is_empty(), "nothing printed");
    let mut conn = bot.bot().pool().acquire().await.unwrap();
    let failed = outbox::failed(&mut conn).await.unwrap();
    drop(conn);
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0].destination, "console space:incident-99");
    assert_eq!(failed[0].text, "Status: lost");
    assert_eq!(
        failed[0].error,
        "space `incident-99` was never opened on console: call Cx::open_space first"
    );
    bot.stop().await;
}

/// A webhook endpoint that records every JSON body and answers an `open_space` request with a
/// channel id of its own.
async fn webhook_sink() -> (Arc<Mutex<Vec<serde_json::Value>>>, String) {
    let bodies: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let recorded = bodies.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let recorded = recorded.clone();
            async move {
                let n = recorded.lock().unwrap().len();
                let id = if body["target"]["type"] == "open_space" {
                    "bridge-room-7".to_owned()
                } else {
                    format!("msg-{n}")
                };
                recorded.lock().unwrap().push(body);
                axum::Json(serde_json::json!({ "id": id }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (bodies, url)
}

#[tokio::test]
async fn the_webhook_is_asked_to_open_the_space_and_gets_its_messages_under_the_id_it_gave() {
    let (bodies, url) = webhook_sink().await;
    let config = format!("{CONFIG}[chat.webhook]\nurl = \"{url}\"\n");
    let mut bot = TestBot::start(&config, || vec![Arc::new(Opener) as Arc<dyn sentinel_bot::Plugin>])
        .await
        .unwrap();
    bot.push(incident("d-1", 12, "sql-injection", "first", true)).await;
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert_eq!(bodies[0]["channel"], "security-incidents");
    assert_eq!(
        bodies[0]["target"],
        serde_json::json!({"type": "open_space", "key": "incident-12", "name": "inc-12-sql-injection",
                           "members": ["alice", "responders", "secops"]})
    );
    assert_eq!(bodies[0]["text"], "Opened #inc-12-sql-injection (space incident-12)");
    assert_eq!(bodies[1]["channel"], "bridge-room-7");
    assert_eq!(bodies[1]["target"]["type"], "new");
    assert_eq!(bodies[1]["text"], "Status: first\n");
    assert_eq!(bodies[2]["channel"], "bridge-room-7");
    assert_eq!(
        bodies[2]["target"],
        serde_json::json!({"type": "reply", "parent_id": "msg-1"})
    );
    bot.stop().await;
}
