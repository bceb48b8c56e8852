// Panicking on a broken fixture is the point of a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use sentinel_bot::Mention;
use serde_json::{Value, json};

use super::*;
use crate::alert_notifier::normalize::{SeverityMapping, WorkflowFilter, normalize};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/github/");
const FOOTER: &str = "More than 10 new alerts within 1m in this channel, so they are listed together; alerts \
                      rated critical or above are still posted on their own. Changes are noted in the thread.";

/// The real `dependabot_alert.created` payload as GitHub would send it for alert `number` of
/// `repository` at `severity`.
fn dependabot(repository: &str, number: u64, severity: &str) -> Alert {
    let path = format!("{FIXTURES}dependabot_alert.created.json");
    let mut p: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    p["alert"]["number"] = json!(number);
    p["alert"]["html_url"] = json!(format!("https://github.com/{repository}/security/dependabot/{number}"));
    p["alert"]["security_advisory"]["severity"] = json!(severity);
    p["repository"]["full_name"] = json!(repository);
    p["repository"]["name"] = json!(repository.split('/').nth(1).unwrap());
    normalize(
        "dependabot_alert",
        &p,
        &SeverityMapping::default(),
        &WorkflowFilter::default(),
    )
    .unwrap()
    .unwrap()
    .alert
}

/// 2,000 alerts as a storm brings them: many repositories with one alert, a few with hundreds,
/// a long organisation name, three severities.
fn storm() -> Vec<Alert> {
    let severities = ["high", "medium", "low", "medium"];
    (1..=2000u64)
        .map(|n| {
            let repository = match n % 5 {
                0 => "octo-org/monorepo".to_owned(),
                1 => format!("a-rather-long-organisation-name/service-{n}"),
                _ => format!("octo-org/app-{}", n % 97),
            };
            dependabot(&repository, n, severities[(n % 4) as usize])
        })
        .collect()
}

fn parts_of(alerts: &[Alert], limits: Limits) -> Vec<Vec<Entry>> {
    let mut entries: Vec<Entry> = alerts.iter().map(Entry::of).collect();
    sort(&mut entries);
    split(entries, limits)
}

fn messages(parts: &[Vec<Entry>], limits: Limits) -> Vec<Message> {
    let count = parts.len() as u32;
    (1..)
        .zip(parts)
        .map(|(number, entries)| {
            let part = Part {
                channel: "security-alerts",
                digest: 7,
                part: number,
                parts: count,
                entries,
                mentions: &[],
                footer: FOOTER,
            };
            part_message(&part, limits.field)
        })
        .collect()
}

/// Every alert URL in `text`, counted.
fn urls(text: &str, counts: &mut HashMap<String, usize>) {
    for piece in text.split("https://github.com/").skip(1) {
        let end = piece.find(['|', ')', '>', '"']).unwrap_or(piece.len());
        *counts.entry(piece[..end].to_owned()).or_default() += 1;
    }
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// Checks a Slack rendering against Slack's limits and returns its text.
fn check_slack(message: &Message) -> String {
    let content = sentinel_bot::chat::slack::render::render(message, |_| "<@U1>".to_owned());
    let json = serde_json::to_value(&content).unwrap();
    let blocks = json["attachments"][0]["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 50, "{} blocks", blocks.len());
    let mut total = 0;
    for block in blocks {
        if let Some(text) = block["text"]["text"].as_str() {
            assert!(chars(text) <= 3000, "section of {} characters", chars(text));
            total += chars(text);
        }
        let fields = block["fields"].as_array().map(Vec::as_slice).unwrap_or_default();
        assert!(fields.len() <= 10);
        for field in fields {
            let text = field["text"].as_str().unwrap();
            assert!(chars(text) <= 2000, "field of {} characters", chars(text));
            total += chars(text);
        }
    }
    assert!(total <= 13_000, "blocks carry {total} characters (msg_blocks_too_long)");
    let text = json.to_string();
    assert!(!text.contains('…'), "the renderer had to cut something");
    text
}

/// Checks a Discord rendering against Discord's limits and returns its text.
fn check_discord(message: &Message) -> String {
    let rendered = sentinel_bot::chat::discord::render::render(message, |_| "<@1>".to_owned());
    let embeds = serde_json::to_value(&rendered.embeds).unwrap();
    let embed = &embeds[0];
    let title = embed["title"].as_str().unwrap_or_default();
    let description = embed["description"].as_str().unwrap_or_default();
    let footer = embed["footer"]["text"].as_str().unwrap_or_default();
    assert!(chars(title) <= 256 && chars(description) <= 4096);
    let fields = embed["fields"].as_array().unwrap();
    assert!(fields.len() <= 25, "{} fields", fields.len());
    let mut total = chars(title) + chars(description) + chars(footer);
    for field in fields {
        let (name, value) = (field["name"].as_str().unwrap(), field["value"].as_str().unwrap());
        assert!(
            chars(name) <= 256 && chars(value) <= 1024,
            "field value of {} characters",
            chars(value)
        );
        total += chars(name) + chars(value);
    }
    assert!(total <= 6000, "embed of {total} characters");
    let text = embeds.to_string();
    assert!(!text.contains('…'), "the renderer had to cut something");
    text
}

fn every_alert_listed_once(alerts: &[Alert], texts: &[String]) {
    let mut counts = HashMap::new();
    for text in texts {
        urls(text, &mut counts);
    }
    for alert in alerts {
        let url = alert.url.as_deref().unwrap().trim_start_matches("https://github.com/");
        assert_eq!(counts.get(url), Some(&1), "{url} listed {:?} times", counts.get(url));
    }
    assert_eq!(counts.len(), alerts.len());
}

#[test]
fn a_storm_is_split_so_that_every_alert_is_listed_within_slack_limits() {
    let alerts = storm();
    let parts = parts_of(&alerts, Limits::SLACK);
    assert!(parts.len() > 1 && parts.len() < 40, "{} parts", parts.len());
    let texts: Vec<String> = messages(&parts, Limits::SLACK).iter().map(check_slack).collect();
    every_alert_listed_once(&alerts, &texts);
    assert!(texts[0].contains("(part 1 of "), "{}", texts[0]);
}

#[test]
fn a_storm_is_split_so_that_every_alert_is_listed_within_discord_limits() {
    let alerts = storm();
    let parts = parts_of(&alerts, Limits::DISCORD);
    let texts: Vec<String> = messages(&parts, Limits::DISCORD).iter().map(check_discord).collect();
    every_alert_listed_once(&alerts, &texts);
    assert!(parts.len() > parts_of(&alerts, Limits::SLACK).len());
}

#[test]
fn a_part_whose_alerts_all_closed_still_fits_when_re_rendered() {
    let alerts = storm();
    for limits in [Limits::SLACK, Limits::DISCORD] {
        let mut parts = parts_of(&alerts, limits);
        for entry in parts.iter_mut().flatten() {
            entry.state = AlertState::Dismissed;
        }
        for message in messages(&parts, limits) {
            let text = if limits == Limits::SLACK {
                check_slack(&message)
            } else {
                check_discord(&message)
            };
            assert!(text.contains(" — dismissed"));
            assert!(message.text.ends_with("closed since"), "{}", message.text);
        }
    }
}

#[test]
fn a_digest_groups_by_severity_then_repository_and_links_every_alert() {
    let alerts = vec![
        dependabot("org/b", 3, "low"),
        dependabot("org/a", 1, "high"),
        dependabot("org/a", 2, "high"),
        dependabot("org/b", 4, "high"),
    ];
    let parts = parts_of(&alerts, Limits::SLACK);
    assert_eq!(parts.len(), 1);
    let mention = [Mention::Group("security-champions".into())];
    let part = Part {
        channel: "security-alerts",
        digest: 3,
        part: 1,
        parts: 1,
        entries: &parts[0],
        mentions: &mention,
        footer: FOOTER,
    };
    let message = part_message(&part, Limits::SLACK.field);
    assert_eq!(message.key.as_ref().unwrap().as_str(), "digest:3:1");
    assert_eq!(message.title.as_deref(), Some("Alert digest: 4 new alerts"));
    assert_eq!(message.text, "4 new alerts in 2 repositories: 3 high · 1 low");
    assert_eq!(message.severity, Some(Severity::High));
    assert_eq!(message.mentions, mention);
    let fields: Vec<(&str, &str)> = message
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            (
                "🟠 High",
                "**org/a**: [#1](https://github.com/org/a/security/dependabot/1) semver, \
                 [#2](https://github.com/org/a/security/dependabot/2) semver\n\
                 **org/b**: [#4](https://github.com/org/b/security/dependabot/4) semver"
            ),
            (
                "🔵 Low",
                "**org/b**: [#3](https://github.com/org/b/security/dependabot/3) semver"
            ),
        ]
    );
}

#[test]
fn payload_text_cannot_become_markup_and_odd_urls_are_not_linked() {
    let mut alert = dependabot("org/app", 9, "medium");
    alert.package = Some("[click](https://evil.example) <!channel> **bold**".into());
    alert.url = Some("https://github.com/org/app/security/dependabot/9) [x](https://evil.example".into());
    let line = line(&alert);
    assert_eq!(line, "#9 click https://evil.example channel bold");
    alert.url = Some("https://github.com/org/app/security/dependabot/9".into());
    alert.package = Some("x".repeat(100));
    let line = super::line(&alert);
    assert!(line.starts_with("[#9](https://github.com/org/app/security/dependabot/9) xxx"));
    assert!(line.chars().count() < 100, "the detail is cut: {line}");
}

#[test]
fn every_closed_state_fits_the_counted_suffix() {
    for state in [
        AlertState::Fixed,
        AlertState::Dismissed,
        AlertState::Resolved,
        AlertState::Withdrawn,
    ] {
        assert!(chars(&suffix(state)) <= SUFFIX_MAX, "{state}");
    }
}

#[test]
fn the_tightest_platform_decides_the_limits() {
    assert_eq!(Limits::for_platforms(&[Platform::Console]), Limits::SLACK);
    assert_eq!(Limits::for_platforms(&[Platform::Slack]), Limits::SLACK);
    assert_eq!(
        Limits::for_platforms(&[Platform::Slack, Platform::Discord]),
        Limits::DISCORD
    );
}

#[test]
fn notes_are_split_into_messages_within_the_note_limit() {
    let changes: Vec<(String, String, String)> = (1..=200)
        .map(|n| {
            (
                format!("[#{n}](https://github.com/org/app/security/dependabot/{n}) semver"),
                "org/app".to_owned(),
                "Dismissed by octocat: tolerable_risk — only used in tests".to_owned(),
            )
        })
        .collect();
    let notes = notes(&changes, Limits::DISCORD);
    assert!(notes.len() > 1);
    for note in &notes {
        assert!(chars(note) <= Limits::DISCORD.note);
    }
    assert_eq!(notes.iter().map(|n| n.lines().count()).sum::<usize>(), 200);
    assert!(
        notes[0].starts_with(
            "[#1](https://github.com/org/app/security/dependabot/1) semver (org/app): Dismissed by octocat"
        )
    );
}

#[test]
fn a_long_detail_is_cut_in_units_the_platforms_count() {
    // Mathematical letters are alphanumeric (kept by `plain`) and take two UTF-16 units each.
    let mut alert = dependabot("org/app", 1, "high");
    alert.package = Some("𝐀".repeat(60));
    let line = line(&alert);
    let detail = line.rsplit_once(") ").unwrap().1;
    assert!(detail.ends_with('…'), "{detail}");
    assert!(
        sentinel_bot::chat::fit::units(detail) <= DETAIL_MAX,
        "{} units",
        sentinel_bot::chat::fit::units(detail)
    );
}
