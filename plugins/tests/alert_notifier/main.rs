//! The alert notifier as a user meets it: real GitHub payloads in, chat messages out, on the real
//! pipeline (SQLite file, dispatcher, outbox, console adapter) through the `TestBot` harness.
//!
//! One module a concern: `posting` (new alerts), `changes` (an alert's later changes), `routes` and
//! `incidents` (domain events and buttons); the helpers below serve them all.

// Panicking on a broken fixture or a failed start is the point of a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod changes;
mod incidents;
mod posting;
mod routes;

use sentinel_bot::chat::console::{Printed, PrintedKind};
use sentinel_bot::harness::TestBot;
use sentinel_bot::{Mention, NewEvent};
use sentinel_plugins::alert_notifier::AlertNotifier;
use serde_json::{Value, json};
use support::{config, fixture, start_alone, texts};

/// The `X-GitHub-Event` header is the fixture name's first dot part.
fn event_of(file: &str) -> &str {
    file.split('.').next().unwrap()
}

async fn start(config: &str) -> TestBot {
    start_alone::<AlertNotifier>(config).await
}

async fn deliver(bot: &mut TestBot, event: &str, delivery: &str, payload: &Value) -> Vec<Printed> {
    bot.push(NewEvent::github(event, delivery, payload.to_string())).await;
    bot.pop()
}

async fn domain_events(bot: &TestBot) -> Vec<(String, Value)> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT name, payload FROM inbox WHERE kind = 'domain' ORDER BY id")
            .fetch_all(bot.bot().pool())
            .await
            .unwrap();
    rows.into_iter()
        .map(|(name, payload)| {
            let event: Value = serde_json::from_str(&payload).unwrap();
            (name, event["payload"].clone())
        })
        .collect()
}

fn kinds(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

/// The dependabot fixture as GitHub sends it for `action`, edited where no fixture exists.
fn dependabot(action: &str) -> Value {
    let mut p = fixture("dependabot_alert.created.json");
    p["action"] = json!(action);
    match action {
        "dismissed" => {
            p["alert"]["state"] = json!("dismissed");
            p["alert"]["dismissed_at"] = json!("2023-06-25T10:00:00Z");
            p["alert"]["dismissed_by"] = json!({ "login": "octocat" });
            p["alert"]["dismissed_reason"] = json!("tolerable_risk");
            p["alert"]["dismissed_comment"] = json!("only used in tests");
            p["sender"] = json!({ "login": "octocat" });
        }
        "reopened" => {
            p["alert"]["state"] = json!("open");
            p["sender"] = json!({ "login": "alice" });
        }
        "fixed" => {
            p["alert"]["state"] = json!("fixed");
            p["alert"]["fixed_at"] = json!("2023-06-27T09:00:00Z");
        }
        _ => {}
    }
    p
}

const KEY: &str = "dependabot:wolfy1339/pika-pack:20";

/// `user` clicking button `id` with `value` in the incidents channel.
fn click(id: &str, value: &str, user: &str) -> NewEvent {
    let dedup = format!("{id}:{value}:{user}:{}", rand_suffix());
    support::click(&dedup, user, "security-incidents", id, value)
}

/// Distinct dedup ids for distinct clicks within one test process.
fn rand_suffix() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}
