//! Exactly-once escalation across a crash: the real binary is killed with SIGKILL while escalation
//! timers are pending; after a restart every ping reaches the fake chat server exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use support::Sentinel;

/// A chat endpoint (the generic webhook adapter's peer) that records (idempotency key, text).
#[derive(Clone, Default)]
struct FakeChat {
    received: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeChat {
    async fn start() -> (Self, String) {
        let chat = FakeChat::default();
        let state = chat.clone();
        let app = axum::Router::new().route(
            "/chat",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let key = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    let text = body["text"].as_str().unwrap_or_default().to_owned();
                    state.received.lock().unwrap().push((key.clone(), text));
                    axum::Json(serde_json::json!({ "id": key }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/chat", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (chat, url)
    }

    /// Pings received: for each ping text prefix, the distinct idempotency keys it came with, and
    /// how many requests carried it.
    fn pings(&self) -> BTreeMap<&'static str, (usize, usize)> {
        let received = self.received.lock().unwrap();
        let mut out = BTreeMap::new();
        for marker in ["needs a responder", "Reminder 1/2", "Reminder 2/2"] {
            let hits: Vec<&(String, String)> = received.iter().filter(|(_, text)| text.contains(marker)).collect();
            let mut keys: Vec<&str> = hits.iter().map(|(k, _)| k.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            out.insert(marker, (keys.len(), hits.len()));
        }
        out
    }

    async fn wait_for(&self, marker: &str, limit: Duration) {
        let start = Instant::now();
        while self.pings()[marker].0 == 0 {
            assert!(
                start.elapsed() < limit,
                "no `{marker}` ping within {limit:?}: {:?}",
                self.received.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn config(chat: &str) -> String {
    format!(
        r#"[github]
webhook_secret = "test-secret-that-is-long-enough-0123456789"
[chat]
console = "on"
[chat.webhook]
url = "{chat}"
[people.oncall]
github = "oncall"
[plugins.sla_escalator.levels]
emergency_contact = ["oncall"]
[plugins.sla_escalator.policy.critical]
respond = "1h"
resolve = "24h"
steps = [{{ after = "0s", notify = "emergency_contact", repeat_every = "4s", repeat = 2 }}]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_pending_at_a_kill_9_arrive_exactly_once_after_restart() {
    let (chat, url) = FakeChat::start().await;
    let mut sentinel = Sentinel::start_typing(tempfile::tempdir().unwrap(), &config(&url));
    sentinel.type_line("/incident declare critical Leaked deploy key");
    chat.wait_for("needs a responder", Duration::from_secs(20)).await;

    // Both reminders (due 4 s and 8 s after the declaration) are pending timers now. Kill -9.
    let dir = sentinel.kill9();
    assert_eq!(
        chat.pings()["Reminder 1/2"].0,
        0,
        "killed before the first reminder was due"
    );
    // Stay down until both reminders are overdue.
    tokio::time::sleep(Duration::from_secs(9)).await;

    let sentinel = Sentinel::start_in(dir, &config(&url));
    chat.wait_for("Reminder 2/2", Duration::from_secs(20)).await;
    // Give a duplicate every chance to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pings = chat.pings();
    for (marker, (keys, _requests)) in &pings {
        assert_eq!(
            *keys, 1,
            "`{marker}` must be sent exactly once (one idempotency key): {pings:?}"
        );
    }
    let overdue = chat
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, t)| t.contains("Reminder 1/2"))
        .count();
    assert_eq!(overdue, 1, "the overdue reminder was delivered once");
    drop(sentinel);
}
