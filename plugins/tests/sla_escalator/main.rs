//! The SLA escalator at chat level: real pipeline, real SQLite, manual clock. Incidents are driven
//! by pushing the incident commander's domain events (`sentinel_plugins::domain`) directly.
//!
//! One module a concern: `rows` (each row of the policy, business days), `changes` (ack, severity,
//! resolve and reopen), `silences`, `status_and_levels` (the commands, empty levels, escalate
//! requests) and `restarts`; the helpers below serve them all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod changes;
mod restarts;
mod rows;
mod silences;
mod status_and_levels;

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use sentinel_bot::chat::console::{Printed, PrintedKind};
use sentinel_bot::harness::test_db::TestDb;
use sentinel_bot::harness::{TestBot, test_start};
use sentinel_bot::ids::TimerKey;
use sentinel_bot::{Clock, DedupKey, Mention, NewEvent, TimerFired};
use sentinel_plugins::sla_escalator::SlaEscalator;
use serde_json::{Value, json};
use support::{alone, domain_event, emitted, start_alone};

/// Four levels, one group each, one person per group.
const LEVELS: &str = r#"
[people.alice]
[people.bob]
[people.carol]
[people.dave]
[people.mallory]

[groups.team-lead]
members = ["alice"]
[groups.security-champions]
members = ["bob"]
[groups.repository-owners]
members = ["carol"]
[groups.emergency]
members = ["dave"]

[plugins.sla_escalator.levels]
team_lead = ["team-lead"]
security_champion = ["security-champions"]
repository_owner = ["repository-owners"]
emergency_contact = ["emergency"]
"#;

async fn start(config_text: &str) -> TestBot {
    start_alone::<SlaEscalator>(config_text).await
}

/// A bot on `db` (the test run's engine; it outlives restarts) whose clock starts at `at`.
async fn start_at(config_text: &str, at: DateTime<Utc>, db: &TestDb) -> TestBot {
    TestBot::start_on_url(db.url(), config_text, alone::<SlaEscalator>(config_text), at, false)
        .await
        .unwrap()
}

fn rfc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// Pushes an incident commander event, as it would arrive after the commander committed.
async fn domain(bot: &mut TestBot, kind: &str, payload: Value) -> Vec<Printed> {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    bot.push(domain_event(format!("t:{n}"), kind, payload)).await;
    bot.pop()
}

async fn open(bot: &mut TestBot, id: i64, severity: &str, title: &str, repository: Option<&str>) -> Vec<Printed> {
    let now = bot.clock.now();
    domain(
        bot,
        "incident.opened",
        json!({ "id": id, "title": title, "severity": severity, "opened_at": rfc(now), "opened_by": "alice",
                "repository": repository, "alert_keys": [] }),
    )
    .await
}

async fn change(bot: &mut TestBot, kind: &str, id: i64, by: &str) -> Vec<Printed> {
    let now = bot.clock.now();
    domain(bot, kind, json!({ "id": id, "at": rfc(now), "by": by })).await
}

/// Moves the clock to `at` and returns what was posted.
async fn until(bot: &mut TestBot, at: DateTime<Utc>) -> Vec<Printed> {
    let by = at - bot.clock.now();
    assert!(by >= Duration::zero(), "the clock only moves forward");
    bot.advance(by).await
}

fn names(p: &Printed) -> String {
    p.message
        .mentions
        .iter()
        .map(|m| match m {
            Mention::Group(n) | Mention::Person(n) | Mention::User(n) => n.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// What a post is and whom it mentions: `reminder 2/3 → emergency`.
fn sig(p: &Printed) -> String {
    let text = &p.message.text;
    let kind = if text.starts_with("🔔") {
        "ping".to_owned()
    } else if let Some(rest) = text.strip_prefix("🔁 Reminder ") {
        format!("reminder {}", rest.split(':').next().unwrap())
    } else if text.starts_with("🔺") {
        "escalate".to_owned()
    } else if text.starts_with("⏳") {
        if text.contains("response time") {
            "warn response"
        } else {
            "warn resolution"
        }
        .to_owned()
    } else if text.starts_with("🚨") {
        if text.contains("response SLA") {
            "breach response"
        } else {
            "breach resolution"
        }
        .to_owned()
    } else {
        text.clone()
    };
    format!("{kind} → {}", names(p))
}

fn sigs(printed: &[Printed]) -> Vec<String> {
    printed.iter().map(sig).collect()
}

/// For each `(offset from start, posts)`: nothing a minute before, exactly these posts at the
/// offset, all in the incident's thread in the incidents channel.
async fn walk(bot: &mut TestBot, start: DateTime<Utc>, incident: i64, steps: &[(Duration, &[&str])]) {
    for (offset, expected) in steps {
        let before = until(bot, start + *offset - Duration::minutes(1)).await;
        assert!(before.is_empty(), "before +{offset}: {:?}", sigs(&before));
        let got = until(bot, start + *offset).await;
        assert_eq!(sigs(&got), *expected, "at +{offset}");
        for p in &got {
            assert_eq!(p.channel, "security-incidents");
            assert_eq!(
                p.message.thread.as_ref().map(|k| k.as_str().to_owned()),
                Some(format!("incident:{incident}"))
            );
        }
    }
}

async fn timer_keys(bot: &TestBot) -> Vec<String> {
    sqlx::query_scalar("SELECT key FROM timers WHERE owner = 'sla_escalator' ORDER BY key")
        .fetch_all(bot.bot().pool())
        .await
        .unwrap()
}

async fn column(bot: &TestBot, sql: &'static str) -> Option<i64> {
    sqlx::query_scalar(sql).fetch_one(bot.bot().pool()).await.unwrap()
}

fn m(minutes: i64) -> Duration {
    Duration::minutes(minutes)
}

fn h(hours: i64) -> Duration {
    Duration::hours(hours)
}
