//! `sentinel demo`: the whole bot in-process on a temporary database, a manual clock and the
//! console, playing a scripted scenario through every plugin, printing what a channel would see.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
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
    bot.stop().await;
    println!("\ndemo finished");
    Ok(ExitCode::SUCCESS)
}

fn step(text: &str) {
    println!("\n═══ {text} ═══");
}
