//! `sentinel demo`: the whole bot in-process on a temporary database, a manual clock and the
//! console, playing a scripted scenario through every plugin, printing what a channel would see.

use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use sentinel_bot::NewEvent;
use sentinel_bot::harness::TestBot;

/// The demo's configuration: defaults, with people and groups so mentions resolve.
const CONFIG: &str = r#"
[people.alice]
github = "alice"
[people.bob]
github = "bob"
[groups.security-champions]
members = ["alice"]
"#;

/// Runs the scenario.
pub async fn run() -> Result<ExitCode> {
    let config = sentinel_bot::config::load::from_table(
        sentinel_bot::config::load::parse_table(CONFIG, "demo").map_err(|e| anyhow!("{e}"))?,
    )
    .map_err(|e| anyhow!("{e}"))?;
    let mut bot = TestBot::start_echoing(CONFIG, move || sentinel_plugins::build(&config).unwrap_or_default())
        .await
        .map_err(|e| anyhow!(e))?;
    step("Anyone can ask what Sentinel can do");
    bot.command_as("alice", "/sentinel help").await;
    step("…and how it is doing");
    bot.command_as("alice", "/sentinel status").await;
    step("A command nobody owns gets a clear answer");
    bot.command_as("alice", "/deploy now").await;

    step("GitHub reports a Dependabot alert: it is posted once, with what to do and buttons to act");
    let created = include_str!("../samples/github/dependabot_alert.created.json");
    bot.push(NewEvent::github(
        "dependabot_alert",
        "demo-dependabot-1",
        created.to_owned(),
    ))
    .await;
    step("GitHub redelivers the same webhook under a new delivery id: nothing is posted twice");
    bot.push(NewEvent::github(
        "dependabot_alert",
        "demo-dependabot-1-redelivered",
        created.to_owned(),
    ))
    .await;
    step("GitHub reports another alert that was fixed before Sentinel heard of it: posted as fixed, no buttons");
    let fixed = include_str!("../samples/github/dependabot_alert.fixed.json");
    bot.push(NewEvent::github(
        "dependabot_alert",
        "demo-dependabot-2",
        fixed.to_owned(),
    ))
    .await;
    step("The first alert is fixed: its message is edited in place and the fix noted in its thread");
    let mut fixing: serde_json::Value = serde_json::from_str(created).context("the demo fixture is JSON")?;
    fixing["action"] = "fixed".into();
    fixing["alert"]["state"] = "fixed".into();
    bot.push(NewEvent::github(
        "dependabot_alert",
        "demo-dependabot-3",
        fixing.to_string(),
    ))
    .await;

    step("A responder declares an incident: one message in #security-incidents, kept up to date in place");
    let declared = bot
        .command_as("alice", "/incident declare high Deploy token leaked in a CI log")
        .await;
    // Alerts above may already have opened incidents, so take the number from the reply.
    let incident = declared
        .iter()
        .find_map(|p| p.message.text.strip_prefix("Declared incident #"))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the declaration did not name the incident"))?;
    bot.advance(chrono::Duration::minutes(4)).await;
    step("Bob acknowledges it: the message is edited, the thread notes who and when");
    bot.command_as("bob", &format!("/incident ack {incident}")).await;
    step("Alice moves it to containment: the guide's containment checklist is posted");
    bot.advance(chrono::Duration::minutes(6)).await;
    bot.command_as("alice", &format!("/incident stage {incident} containment"))
        .await;
    step("Bob ticks an item off the checklist");
    bot.advance(chrono::Duration::minutes(5)).await;
    bot.command_as("bob", &format!("/incident check {incident} 2")).await;
    step("Alice resolves it with a summary");
    bot.advance(chrono::Duration::minutes(45)).await;
    bot.command_as(
        "alice",
        &format!("/incident resolve {incident} Revoked the token and scrubbed the CI log"),
    )
    .await;
    step("…and posts the post-mortem: times, SLA, stages, timeline and lessons learned");
    bot.command_as("alice", &format!("/incident postmortem {incident}"))
        .await;
    step("The weekly security review posts its checklist: Sentinel checks what it can, people tick the rest");
    bot.command_as("alice", "/audit run weekly").await;
    bot.command_as(
        "alice",
        "/audit done weekly access-logs nothing unusual in the proxy logs",
    )
    .await;
    bot.command_as(
        "bob",
        "/audit skip weekly codeql CodeQL is not enabled on this repository yet",
    )
    .await;
    step("The month's security report so far, in the guide's template");
    bot.command_as("alice", "/audit report 2026-03").await;
    bot.stop().await;
    println!("\ndemo finished");
    Ok(ExitCode::SUCCESS)
}

fn step(text: &str) {
    println!("\n═══ {text} ═══");
}
