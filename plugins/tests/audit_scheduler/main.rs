//! The audit scheduler at chat level, with the real core (dispatcher, timers, GitHub worker) and a
//! fake GitHub API on 127.0.0.1: checklists posting themselves on the manual clock, automatic checks
//! with pagination, rate-limit headers, 5xx and 403 answers, people ticking the rest, reminders and
//! escalation, a missed run after downtime, and the monthly report against last month's snapshot.
//!
//! One module a concern: `checklists`, `schedules` and `report`; the helpers below serve them all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod checklists;
mod report;
mod schedules;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sentinel_bot::chat::console::{Printed, PrintedKind};
use sentinel_bot::harness::fakes::github::{FakeGitHub, Reply};
use sentinel_bot::harness::{TestBot, test_start};
use sentinel_bot::store::from_ms;
use sentinel_bot::{Clock, Message};
use sentinel_plugins::audit_scheduler::AuditScheduler;
use serde_json::{Value, json};
use support::{alone, domain_event, github_section, private, start_alone};

const CHANNEL: &str = "security-audits";

// -------------------------------------------------------------------------------------------------
// A fake GitHub API

/// A 200 with a comfortable rate limit.
fn ok(body: Value) -> Reply {
    Reply::ok(body).header("x-ratelimit-remaining", "4900")
}

/// The fake GitHub, answering `200 []` (an empty listing) where nothing is set.
async fn fake_github() -> FakeGitHub {
    let fake = FakeGitHub::start().await.unwrap();
    fake.otherwise(ok(json!([])));
    fake
}

// -------------------------------------------------------------------------------------------------
// Harness helpers

const PEOPLE: &str = r#"
[people.alice]
github = "alice"
[people.bob]
github = "bob"
[groups.on-call]
members = ["alice"]
[groups.team-lead]
members = ["bob"]
"#;

async fn start(extra: &str) -> TestBot {
    start_alone::<AuditScheduler>(&format!("{PEOPLE}{extra}")).await
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap()
}

/// The latest version of the message with `key`.
fn latest(bot: &TestBot, key: &str) -> Message {
    bot.all_printed()
        .into_iter()
        .rev()
        .find(|p| p.message.key.as_ref().map(|k| k.as_str()) == Some(key))
        .unwrap_or_else(|| panic!("no message {key}"))
        .message
}

/// The line of item `id` in run `run`'s latest checklist.
fn line(bot: &TestBot, run: i64, id: &str) -> String {
    let body = latest(bot, &format!("audit:run:{run}")).body.unwrap_or_default();
    let needle = format!(". {id} — ");
    body.lines()
        .find(|l| l.contains(&needle))
        .unwrap_or_else(|| panic!("no item {id} in {body}"))
        .to_owned()
}

fn texts(printed: &[Printed]) -> Vec<String> {
    printed.iter().map(|p| p.text.clone()).collect()
}

async fn runs(bot: &TestBot) -> Vec<(String, DateTime<Utc>, bool)> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as("SELECT schedule, due_at, late FROM audit_runs ORDER BY id")
        .fetch_all(bot.bot().pool())
        .await
        .unwrap();
    rows.into_iter().map(|(s, d, l)| (s, from_ms(d), l != 0)).collect()
}

async fn push_domain(bot: &mut TestBot, kind: &str, payload: Value) {
    let dedup = format!("test:{kind}:{}", bot.clock.now().timestamp_millis());
    bot.push(domain_event(dedup, kind, payload)).await;
}
