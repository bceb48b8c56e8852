//! The incident commander at chat level: commands typed at the console, buttons clicked, alert and
//! SLA events pushed in, and what the incident channel and the caller see; the GitHub tracking issue
//! against a fake GitHub API on 127.0.0.1 behind the core's real GitHub worker.
//!
//! One module a concern: `declare` (declaring, updating, reading), `life_cycle` (stages,
//! transitions, bad input), `roles`, `alerts_and_sla` (events from the other plugins),
//! `post_mortem`, `tracking_issue` (the fake GitHub) and `spaces`; the helpers below serve them all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod alerts_and_sla;
mod declare;
mod life_cycle;
mod post_mortem;
mod roles;
mod spaces;
mod tracking_issue;

use chrono::Duration;
use sentinel_bot::chat::console::{Printed, PrintedKind};
use sentinel_bot::harness::TestBot;
use sentinel_bot::harness::fakes::github::{FakeGitHub, Reply};
use sentinel_bot::{Message, NewEvent};
use sentinel_plugins::incident_commander::{IncidentCommander, IncidentConfig};
use serde_json::{Value, json};
use support::{emitted, private, start_alone};

const CHANNEL: &str = "security-incidents";
const PEOPLE: &str = r#"
[people.alice]
slack = "UALICE"
[people.bob]
[people.carol]
[people.dave]
[groups.team-lead]
members = ["alice"]
"#;

async fn start(extra: &str) -> TestBot {
    start_with(PEOPLE, extra).await
}

async fn start_with(people: &str, extra: &str) -> TestBot {
    start_alone::<IncidentCommander>(&format!("{people}{extra}")).await
}

/// The one private reply a command got.
fn answer(printed: &[Printed]) -> String {
    let replies = private(printed);
    assert_eq!(replies.len(), 1, "{printed:#?}");
    replies[0].clone()
}

/// The latest version of incident `id`'s message among `printed`.
fn incident_message(printed: &[Printed], id: i64) -> Option<Message> {
    let key = format!("incident:{id}");
    printed
        .iter()
        .rev()
        .find(|p| p.channel == CHANNEL && p.message.key.as_ref().map(|k| k.as_str()) == Some(key.as_str()))
        .map(|p| p.message.clone())
}

/// Thread notes under incident `id`'s message.
fn notes(printed: &[Printed], id: i64) -> Vec<String> {
    let key = format!("incident:{id}");
    printed
        .iter()
        .filter(|p| p.message.thread.as_ref().map(|k| k.as_str()) == Some(key.as_str()))
        .inspect(|p| assert!(matches!(p.kind, PrintedKind::Reply { .. }), "{p:?}"))
        .map(|p| p.message.text.clone())
        .collect()
}

fn field(message: &Message, name: &str) -> String {
    message
        .fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.clone())
        .unwrap_or_else(|| panic!("no field {name} in {message:#?}"))
}

fn button_ids(message: &Message) -> Vec<String> {
    message
        .buttons
        .iter()
        .map(|b| match &b.kind {
            sentinel_bot::ButtonKind::Action { id, value } => format!("{id} {value}"),
            sentinel_bot::ButtonKind::Link { url } => url.clone(),
        })
        .collect()
}

async fn state_of(bot: &TestBot, id: i64) -> String {
    sqlx::query_scalar("SELECT state FROM incidents WHERE id = $1")
        .bind(id)
        .fetch_one(bot.bot().pool())
        .await
        .unwrap()
}

async fn count(bot: &TestBot, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(bot.bot().pool()).await.unwrap()
}

/// Domain event `kind` as another plugin emits it; `n` tells pushes apart.
fn domain_event(n: u32, kind: &str, payload: Value) -> NewEvent {
    support::domain_event(format!("test-domain:{n}"), kind, payload)
}

/// `user` clicking button `id` with `value` in the incidents channel; `n` tells clicks apart.
fn click(n: u32, user: &str, id: &str, value: &str) -> NewEvent {
    support::click(&format!("click-{n}"), user, CHANNEL, id, value)
}

fn alert(key: &str, number: i64, severity: &str, ghsa: &str) -> Value {
    json!({
        "key": key, "source": "dependabot", "repository": "acme/app", "number": number,
        "severity": severity, "state": "open", "title": "lodash: prototype pollution",
        "ghsa": ghsa, "cve": "CVE-2021-23337", "url": format!("https://github.com/acme/app/security/dependabot/{number}"),
    })
}
