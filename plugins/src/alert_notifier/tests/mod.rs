//! The alert notifier's unit tests: the real GitHub fixtures normalized source by source, the
//! severity mapping and workflow filter, routing, rendering and the plugin's own rules, one module
//! each; the fixture helpers below serve them all.

// Panicking on a broken fixture is the point of a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;
use sentinel_bot::Severity;

mod advisories;
mod code_and_secret_scanning;
mod dependabot_alerts;
mod errors_and_coverage;
mod plugin_rules;
mod rendering;
mod routing;
mod severity_mapping;
mod workflow_runs;

/// Same relative path from the scratch crate and from `plugins/` in the bot.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/github/");

/// Event types this module handles; everything else must be ignored.
const SECURITY_EVENTS: [&str; 8] = [
    "dependabot_alert",
    "code_scanning_alert",
    "secret_scanning_alert",
    "secret_scanning_alert_location",
    "security_advisory",
    "repository_advisory",
    "repository_vulnerability_alert",
    "workflow_run",
];

fn load(file: &str) -> Value {
    let path = format!("{FIXTURES}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

/// The `X-GitHub-Event` header is the file name's first dot part.
fn event_of(file: &str) -> &str {
    file.split('.').next().unwrap()
}

fn normalize_default(event: &str, payload: &Value) -> Result<Option<AlertChange>, NormalizeError> {
    normalize(event, payload, &SeverityMapping::default(), &WorkflowFilter::default())
}

fn change_of(event: &str, payload: &Value) -> AlertChange {
    normalize_default(event, payload)
        .unwrap_or_else(|e| panic!("{event}: {e}"))
        .unwrap_or_else(|| panic!("{event}: expected an alert change"))
}

fn fixture(file: &str) -> AlertChange {
    change_of(event_of(file), &load(file))
}

fn ts(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn fixture_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    files
}

/// The real `workflow_run.completed` payload, with `conclusion` and the workflow `name` changed.
fn failed_run(conclusion: &str, name: &str) -> Value {
    let mut p = load("workflow_run.completed.json");
    p["workflow_run"]["conclusion"] = json!(conclusion);
    p["workflow_run"]["name"] = json!(name);
    p
}

/// The configuration `text` (TOML) describes.
fn bot_config(text: &str) -> sentinel_bot::config::Config {
    let table = sentinel_bot::config::load::parse_table(text, "test").unwrap();
    sentinel_bot::config::load::from_table(table).unwrap()
}

/// The notifier's section of `config`, its problems joined into one text.
fn notifier_config(config: &sentinel_bot::config::Config) -> Result<AlertNotifierConfig, String> {
    AlertNotifierConfig::from_config(config)
        .map_err(|problems| problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
}

/// Where a route sends an alert: `channel`, mentioning `mentions`.
fn dest(channel: &str, mentions: &[sentinel_bot::Mention]) -> route::Destination {
    route::Destination {
        channel: channel.to_owned(),
        mentions: mentions.to_vec(),
    }
}
