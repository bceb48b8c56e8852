//! Alert storms as a channel sees them: the real Dependabot payload with varied alert numbers,
//! repositories and severities, through the real pipeline (SQLite file, dispatcher, durable timers,
//! outbox, console adapter) with a manual clock. Below the threshold every alert has its own
//! message; in a storm the most severe are still posted alone and at once, the rest in digests
//! after `group_wait`; later changes edit the digest and are noted in its thread; a restart loses
//! and doubles nothing.

// Panicking on a broken fixture or a failed start is the point of a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;

use chrono::Duration;
use sentinel_bot::NewEvent;
use sentinel_bot::chat::console::{Printed, PrintedKind};
use sentinel_bot::harness::TestBot;
use sentinel_plugins::alert_notifier::AlertNotifier;
use serde_json::{Value, json};
use support::{fixture, start_alone};

/// Three alerts make a storm; digests gather 10 s and come at most every 30 s.
const STORM: &str = "[plugins.alert_notifier.digest]\nthreshold = 3\nwindow = \"1m\"\ngroup_wait = \"10s\"\n\
                     group_interval = \"30s\"\nmin_severity_alone = \"critical\"\n";

async fn start(config: &str) -> TestBot {
    start_alone::<AlertNotifier>(config).await
}

/// The real `dependabot_alert.created` payload, for alert `number` of `repository` at
/// `severity`, as GitHub sends it for `action`.
fn dependabot(repository: &str, number: u64, severity: &str, action: &str) -> Value {
    let mut p = fixture("dependabot_alert.created.json");
    p["action"] = json!(action);
    p["alert"]["number"] = json!(number);
    p["alert"]["html_url"] = json!(url(repository, number));
    p["alert"]["security_advisory"]["severity"] = json!(severity);
    p["repository"]["full_name"] = json!(repository);
    p["repository"]["name"] = json!(repository.split('/').nth(1).unwrap());
    match action {
        "fixed" => {
            p["alert"]["state"] = json!("fixed");
            p["alert"]["fixed_at"] = json!("2023-06-27T09:00:00Z");
        }
        "dismissed" => {
            p["alert"]["state"] = json!("dismissed");
            p["alert"]["dismissed_at"] = json!("2023-06-25T10:00:00Z");
            p["alert"]["dismissed_by"] = json!({ "login": "octocat" });
            p["alert"]["dismissed_reason"] = json!("tolerable_risk");
            p["sender"] = json!({ "login": "octocat" });
        }
        _ => {}
    }
    p
}

fn url(repository: &str, number: u64) -> String {
    format!("https://github.com/{repository}/security/dependabot/{number}")
}

/// Alert `n` of a storm: one of seven repositories, every tenth critical, the rest high, medium
/// or low.
fn storm_alert(n: u64) -> (String, u64, &'static str) {
    let severity = match n % 10 {
        0 => "critical",
        1 | 4 => "high",
        2 | 5 | 7 => "medium",
        _ => "low",
    };
    (format!("octo-org/service-{}", n % 7), 100 + n, severity)
}

async fn deliver(bot: &mut TestBot, delivery: &str, payload: &Value) {
    bot.push(NewEvent::github("dependabot_alert", delivery, payload.to_string()))
        .await;
}

/// How often each alert URL appears in new messages (not edits or thread replies).
fn listed(printed: &[Printed]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for p in printed.iter().filter(|p| p.kind == PrintedKind::New) {
        let mut seen: Vec<String> = p
            .text
            .split("https://github.com/")
            .skip(1)
            .map(|rest| {
                let end = rest.find([')', ' ', '\n']).unwrap_or(rest.len());
                rest[..end].to_owned()
            })
            .collect();
        seen.sort();
        seen.dedup();
        for url in seen {
            *counts.entry(format!("https://github.com/{url}")).or_default() += 1;
        }
    }
    counts
}

fn digests(printed: &[Printed]) -> Vec<&Printed> {
    printed
        .iter()
        .filter(|p| {
            p.message
                .key
                .as_ref()
                .is_some_and(|k| k.as_str().starts_with("digest:"))
        })
        .collect()
}

#[tokio::test]
async fn below_the_threshold_every_alert_has_its_own_message() {
    let mut bot = start(STORM).await;
    for n in 1..=3 {
        let (repository, number, severity) = storm_alert(n);
        deliver(
            &mut bot,
            &format!("d-{n}"),
            &dependabot(&repository, number, severity, "created"),
        )
        .await;
    }
    let printed = bot.pop();
    assert_eq!(printed.len(), 3, "{printed:#?}");
    assert!(
        printed
            .iter()
            .all(|p| p.kind == PrintedKind::New && p.message.key.is_some())
    );
    assert!(
        printed[0].text.contains("Dependabot alert #101 in octo-org/service-1"),
        "{}",
        printed[0].text
    );
    // A minute later the window has moved on: three more are still no storm.
    assert!(bot.advance(Duration::seconds(61)).await.is_empty());
    for n in 4..=6 {
        let (repository, number, severity) = storm_alert(n);
        deliver(
            &mut bot,
            &format!("d-{n}"),
            &dependabot(&repository, number, severity, "created"),
        )
        .await;
    }
    assert_eq!(bot.pop().len(), 3);
    assert!(bot.advance(Duration::seconds(60)).await.is_empty(), "no digest");
    bot.stop().await;
}

#[tokio::test]
async fn in_a_storm_criticals_are_posted_alone_at_once_and_the_rest_in_one_digest() {
    let mut bot = start(STORM).await;
    for n in 1..=30 {
        let (repository, number, severity) = storm_alert(n);
        deliver(
            &mut bot,
            &format!("d-{n}"),
            &dependabot(&repository, number, severity, "created"),
        )
        .await;
    }
    let at_once = bot.pop();
    let alone: Vec<&str> = at_once.iter().map(|p| p.message.text.as_str()).collect();
    // The first three before the storm was known, then the three criticals (#110, #120, #130).
    assert_eq!(
        alone,
        [
            "Dependabot alert #101 in octo-org/service-1",
            "Dependabot alert #102 in octo-org/service-2",
            "Dependabot alert #103 in octo-org/service-3",
            "Dependabot alert #110 in octo-org/service-3",
            "Dependabot alert #120 in octo-org/service-6",
            "Dependabot alert #130 in octo-org/service-2",
        ]
    );
    assert!(at_once[3].text.contains("[CRITICAL]"), "{}", at_once[3].text);

    assert!(
        bot.advance(Duration::seconds(9)).await.is_empty(),
        "the digest waits group_wait"
    );
    let printed = bot.advance(Duration::seconds(1)).await;
    assert_eq!(printed.len(), 1, "{printed:#?}");
    let digest = &printed[0];
    assert_eq!(digest.kind, PrintedKind::New);
    assert_eq!(digest.message.title.as_deref(), Some("Alert digest: 24 new alerts"));
    assert_eq!(
        digest.message.text,
        "24 new alerts in 7 repositories: 5 high · 8 medium · 11 low"
    );
    // Grouped by severity, then repository, each alert linked.
    assert!(
        digest.text.contains(
            "🟠 High: **octo-org/service-0**: [#114](https://github.com/octo-org/service-0/security/dependabot/114) semver"
        ),
        "{}",
        digest.text
    );
    let mut all = at_once.clone();
    all.extend(printed.clone());
    let counts = listed(&all);
    for n in 1..=30 {
        let (repository, number, _) = storm_alert(n);
        assert_eq!(counts.get(&url(&repository, number)), Some(&1), "alert {number}");
    }
    assert_eq!(counts.len(), 30);
    bot.stop().await;
}

#[tokio::test]
async fn a_channel_gets_at_most_one_digest_per_group_interval() {
    let mut bot = start(STORM).await;
    for n in 1..=8 {
        let (repository, number, _) = storm_alert(n);
        deliver(
            &mut bot,
            &format!("d-{n}"),
            &dependabot(&repository, number, "low", "created"),
        )
        .await;
    }
    assert_eq!(bot.pop().len(), 3);
    assert_eq!(digests(&bot.advance(Duration::seconds(10)).await).len(), 1);
    // Five seconds after the first digest the storm goes on.
    bot.advance(Duration::seconds(5)).await;
    for n in 9..=12 {
        let (repository, number, _) = storm_alert(n);
        deliver(
            &mut bot,
            &format!("d-{n}"),
            &dependabot(&repository, number, "low", "created"),
        )
        .await;
    }
    assert!(bot.pop().is_empty());
    // group_wait has passed, group_interval (30 s after the first digest) not yet.
    assert!(bot.advance(Duration::seconds(20)).await.is_empty());
    let second = bot.advance(Duration::seconds(5)).await;
    assert_eq!(digests(&second).len(), 1, "{second:#?}");
    assert_eq!(second[0].message.title.as_deref(), Some("Alert digest: 4 new alerts"));
    bot.stop().await;
}

#[tokio::test]
async fn a_later_fix_or_dismissal_of_a_digested_alert_edits_the_digest_and_notes_it_in_its_thread() {
    let mut bot = start(STORM).await;
    for n in 1..=9 {
        let (repository, number, _) = storm_alert(n);
        deliver(
            &mut bot,
            &format!("d-{n}"),
            &dependabot(&repository, number, "medium", "created"),
        )
        .await;
    }
    bot.pop();
    let posted = bot.advance(Duration::seconds(10)).await;
    let digest_id = digests(&posted)[0].message_id.clone();
    assert!(!posted[0].text.contains("fixed"));

    // #105 is fixed, #107 dismissed: both are in the digest, neither gets a message of its own.
    let (repository, number, _) = storm_alert(5);
    deliver(&mut bot, "fix-5", &dependabot(&repository, number, "medium", "fixed")).await;
    let (repository, number, _) = storm_alert(7);
    deliver(
        &mut bot,
        "dismiss-7",
        &dependabot(&repository, number, "medium", "dismissed"),
    )
    .await;
    assert!(bot.pop().is_empty(), "changes are gathered for group_wait");
    // A restart meanwhile: the pending edit is a durable timer.
    bot.restart().await.unwrap();
    assert!(bot.pop().is_empty());

    let printed = bot.advance(Duration::seconds(10)).await;
    assert_eq!(printed.len(), 2, "{printed:#?}");
    let (edit, note) = (&printed[0], &printed[1]);
    assert_eq!(edit.kind, PrintedKind::Edit);
    assert_eq!(edit.message_id, digest_id, "the digest is edited in place");
    assert!(
        edit.text
            .contains("[#105](https://github.com/octo-org/service-5/security/dependabot/105) semver — fixed"),
        "{}",
        edit.text
    );
    assert!(
        edit.text
            .contains("#107](https://github.com/octo-org/service-0/security/dependabot/107) semver — dismissed")
    );
    assert!(edit.message.text.ends_with("— 2 closed since"), "{}", edit.message.text);
    assert_eq!(
        note.kind,
        PrintedKind::Reply {
            parent: digest_id.clone()
        }
    );
    assert_eq!(
        note.message.text,
        "[#105](https://github.com/octo-org/service-5/security/dependabot/105) semver (octo-org/service-5): Fixed\n\
         [#107](https://github.com/octo-org/service-0/security/dependabot/107) semver (octo-org/service-0): \
         Dismissed by octocat: tolerable_risk"
    );

    // The same fix delivered again changes nothing; nothing more is due.
    let (repository, number, _) = storm_alert(5);
    deliver(
        &mut bot,
        "fix-5-again",
        &dependabot(&repository, number, "medium", "fixed"),
    )
    .await;
    assert!(bot.advance(Duration::seconds(60)).await.is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn a_digested_alert_that_turns_critical_gets_its_own_message() {
    let mut bot = start(STORM).await;
    for n in 1..=6 {
        let (repository, number, _) = storm_alert(n);
        deliver(
            &mut bot,
            &format!("d-{n}"),
            &dependabot(&repository, number, "low", "created"),
        )
        .await;
    }
    bot.pop();
    bot.advance(Duration::seconds(10)).await;
    // GitHub re-rates the advisory of #106 as critical (a `reopened`-style update of the alert).
    let (repository, number, _) = storm_alert(6);
    deliver(
        &mut bot,
        "raise-6",
        &dependabot(&repository, number, "critical", "reopened"),
    )
    .await;
    let printed = bot.pop();
    let alone: Vec<&Printed> = printed.iter().filter(|p| p.kind == PrintedKind::New).collect();
    assert_eq!(alone.len(), 1, "{printed:#?}");
    assert!(alone[0].text.contains("[CRITICAL]") && alone[0].text.contains("#106"));
    bot.stop().await;
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_storm_loses_nothing_and_doubles_nothing() {
    let mut bot = start(STORM).await;
    let mut seen: Vec<Printed> = Vec::new();
    for n in 1..=20 {
        let (repository, number, severity) = storm_alert(n);
        deliver(
            &mut bot,
            &format!("d-{n}"),
            &dependabot(&repository, number, severity, "created"),
        )
        .await;
    }
    seen.extend(bot.pop());
    // Down before the digest is posted; its timer is on disk.
    bot.restart().await.unwrap();
    seen.extend(bot.pop());
    for n in 21..=25 {
        let (repository, number, severity) = storm_alert(n);
        deliver(
            &mut bot,
            &format!("d-{n}"),
            &dependabot(&repository, number, severity, "created"),
        )
        .await;
    }
    // GitHub redelivers some (same delivery ids), and sends some again under new ids.
    for n in [4, 12, 21] {
        let (repository, number, severity) = storm_alert(n);
        let payload = dependabot(&repository, number, severity, "created");
        deliver(&mut bot, &format!("d-{n}"), &payload).await;
        deliver(&mut bot, &format!("again-{n}"), &payload).await;
    }
    seen.extend(bot.advance(Duration::seconds(10)).await);
    bot.restart().await.unwrap();
    seen.extend(bot.advance(Duration::seconds(120)).await);

    let counts = listed(&seen);
    for n in 1..=25 {
        let (repository, number, _) = storm_alert(n);
        assert_eq!(
            counts.get(&url(&repository, number)),
            Some(&1),
            "alert {number}: {seen:#?}"
        );
    }
    assert_eq!(digests(&seen).len(), 1, "one digest: {seen:#?}");
    bot.stop().await;
}

#[tokio::test]
async fn with_digests_off_a_storm_is_one_message_per_alert() {
    let mut bot = start("[plugins.alert_notifier.digest]\nenabled = false\n").await;
    for n in 1..=15 {
        let (repository, number, severity) = storm_alert(n);
        deliver(
            &mut bot,
            &format!("d-{n}"),
            &dependabot(&repository, number, severity, "created"),
        )
        .await;
    }
    assert_eq!(bot.pop().len(), 15);
    assert!(bot.advance(Duration::seconds(60)).await.is_empty());
    bot.stop().await;
}
