//! The alert notifier as a user meets it: real GitHub payloads in, chat messages out, on the real
//! pipeline (SQLite file, dispatcher, outbox, console adapter) through the `TestBot` harness.

// Panicking on a broken fixture or a failed start is the point of a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use sentinel_bot::chat::console::{Printed, PrintedKind};
use sentinel_bot::harness::TestBot;
use sentinel_bot::{Action, Actor, Mention, NewEvent, Origin, Platform, Plugin};
use sentinel_plugins::alert_notifier::{AlertNotifier, AlertNotifierConfig};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/github/");

fn fixture(file: &str) -> Value {
    let path = format!("{FIXTURES}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

/// The `X-GitHub-Event` header is the fixture name's first dot part.
fn event_of(file: &str) -> &str {
    file.split('.').next().unwrap()
}

fn config_of(text: &str) -> sentinel_bot::config::Config {
    let table = sentinel_bot::config::load::parse_table(text, "test").unwrap();
    sentinel_bot::config::load::from_table(table).unwrap()
}

/// A bot running the alert notifier alone, configured by `config`, so what it shows is the
/// notifier's doing and not another plugin's reaction to its events.
async fn start(config: &str) -> TestBot {
    let section = AlertNotifierConfig::from_config(&config_of(config)).unwrap();
    TestBot::start(config, move || {
        vec![Arc::new(AlertNotifier::new(section.clone())) as Arc<dyn Plugin>]
    })
    .await
    .unwrap()
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

fn texts(printed: &[Printed]) -> Vec<&str> {
    printed.iter().map(|p| p.message.text.as_str()).collect()
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

fn click(id: &str, value: &str, user: &str) -> NewEvent {
    let action = Action {
        id: id.into(),
        value: value.into(),
        origin: Origin {
            actor: Actor {
                platform: Platform::Console,
                id: user.into(),
                name: user.into(),
                groups: Vec::new(),
            },
            channel: "security-incidents".into(),
            response_url: None,
        },
    };
    NewEvent::action(&format!("{id}:{value}:{user}:{}", rand_suffix()), &action).unwrap()
}

/// Distinct dedup ids for distinct clicks within one test process.
fn rand_suffix() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

#[tokio::test]
async fn a_new_dependabot_alert_is_posted_once_with_everything_a_responder_needs() {
    let mut bot = start("").await;
    let printed = deliver(&mut bot, "dependabot_alert", "d-1", &dependabot("created")).await;
    assert_eq!(printed.len(), 1, "{printed:#?}");
    let post = &printed[0];
    assert_eq!(post.channel, "security-incidents");
    assert_eq!(post.kind, PrintedKind::New);
    assert_eq!(
        post.text,
        "── #security-incidents ──\n\
         🟡 [MEDIUM] semver vulnerable to Regular Expression Denial of Service\n\
         Dependabot alert #20 in wolfy1339/pika-pack\n  \
         Repository: wolfy1339/pika-pack\n  \
         Package: semver (npm)\n  \
         Manifest: package-lock.json\n  \
         Vulnerable: < 7.5.2\n  \
         Patched: 7.5.2\n  \
         CVE: CVE-2022-25883\n  \
         GHSA: GHSA-c2qf-rxjj-qqgw\n  \
         CVSS: 5.3\n  \
         State: Open\n  \
         Versions of the package semver before 7.5.2 are vulnerable to Regular Expression Denial of Service \
         (ReDoS) via the function new Range, when untrusted user data is provided as a range.\n  \
         [Acknowledge: alert.ack dependabot:wolfy1339/pika-pack:20] \
         [Open incident: alert.incident dependabot:wolfy1339/pika-pack:20] \
         [View on GitHub](https://github.com/wolfy1339/pika-pack/security/dependabot/20)\n  \
         — dependabot · dependabot:wolfy1339/pika-pack:20\n"
    );
    bot.stop().await;
}

/// Every security fixture GitHub documents becomes one new message keyed by its alert; workflow
/// runs that did not fail post nothing.
#[tokio::test]
async fn every_security_fixture_posts_the_alert_it_describes() {
    let cases: [(&str, &str, &str, &str); 13] = [
        (
            "code_scanning_alert.created.json",
            "code_scanning:Codertocat/Hello-World:10",
            "[HIGH] Query built from user-controlled sources",
            "Code scanning alert #10 in Codertocat/Hello-World",
        ),
        (
            "code_scanning_alert.fixed.json",
            "code_scanning:Codertocat/Hello-World:10",
            "[HIGH] Query built from user-controlled sources",
            "Code scanning alert #10 in Codertocat/Hello-World — fixed",
        ),
        (
            "code_scanning_alert.reopened.json",
            "code_scanning:Codertocat/Hello-World:10",
            "[LOW] Add the frozen_string_literal comment",
            "Code scanning alert #10 in Codertocat/Hello-World",
        ),
        (
            "dependabot_alert.created.json",
            "dependabot:wolfy1339/pika-pack:20",
            "[MEDIUM] semver vulnerable to Regular Expression Denial of Service",
            "Dependabot alert #20 in wolfy1339/pika-pack",
        ),
        (
            "dependabot_alert.fixed.json",
            "dependabot:octocat/hello-world:1",
            "[MEDIUM] Insertion of Sensitive Information into Log File in ansible",
            "Dependabot alert #1 in octocat/hello-world — fixed",
        ),
        (
            "repository_advisory.published.json",
            "repository_advisory:",
            "[LOW] 12314",
            "Repository security advisory GHSA-",
        ),
        (
            "repository_vulnerability_alert.create.json",
            "vulnerability_alert:Codertocat/Hello-World:2",
            "[MEDIUM] Vulnerable dependency rack (CVE-2018-16470)",
            "Vulnerable dependency alert #2 in Codertocat/Hello-World",
        ),
        (
            "repository_vulnerability_alert.dismiss.json",
            "vulnerability_alert:Codertocat/Hello-World:2",
            "[MEDIUM] Vulnerable dependency many_versioned_gem",
            "Vulnerable dependency alert #2 in Codertocat/Hello-World — dismissed",
        ),
        (
            "repository_vulnerability_alert.resolve.json",
            "vulnerability_alert:Codertocat/Hello-World:2",
            "[MEDIUM] Vulnerable dependency rack",
            "Vulnerable dependency alert #2 in Codertocat/Hello-World — fixed",
        ),
        (
            "secret_scanning_alert.reopened.json",
            "secret_scanning:Codertocat/Hello-World:191",
            "[CRITICAL] Secret detected: adafruit_io_key",
            "Secret scanning alert #191 in Codertocat/Hello-World",
        ),
        (
            "secret_scanning_alert_location.created.json",
            "secret_scanning:Codertocat/Hello-World:191",
            "[CRITICAL] Secret detected: adafruit_io_key",
            "Secret scanning alert #191 in Codertocat/Hello-World",
        ),
        (
            "security_advisory.published.json",
            "security_advisory:GHSA-rf4j-j272-fj86",
            "[MEDIUM] Moderate severity vulnerability that affects django",
            "GitHub security advisory GHSA-rf4j-j272-fj86",
        ),
        (
            "security_advisory.withdrawn.json",
            "security_advisory:GHSA-8v27-2fg9-7h62",
            "[CRITICAL] ",
            "GitHub security advisory GHSA-8v27-2fg9-7h62 — withdrawn",
        ),
    ];
    for (file, key, title, text) in cases {
        // A fresh bot each time: several fixtures describe the same alert.
        let mut bot = start("").await;
        let printed = deliver(&mut bot, event_of(file), file, &fixture(file)).await;
        assert_eq!(printed.len(), 1, "{file}: {printed:#?}");
        let message = &printed[0].message;
        assert_eq!(printed[0].kind, PrintedKind::New, "{file}");
        assert_eq!(printed[0].channel, "security-incidents", "{file}");
        let message_key = message.key.as_ref().map(|k| k.as_str()).unwrap_or_default();
        assert!(message_key.starts_with(key), "{file}: {message_key}");
        let heading = message.title.as_deref().unwrap_or_default();
        assert!(heading.starts_with(title), "{file}: {heading}");
        assert!(message.text.starts_with(text), "{file}: {}", message.text);
        assert!(
            message.buttons.iter().any(|b| b.label == "View on GitHub"),
            "{file}: every alert links to GitHub"
        );
        bot.stop().await;
    }

    let mut bot = start("").await;
    for file in [
        "workflow_run.completed.json",
        "workflow_run.in_progress.json",
        "workflow_run.requested.json",
    ] {
        let printed = deliver(&mut bot, event_of(file), file, &fixture(file)).await;
        assert!(printed.is_empty(), "{file}: {printed:#?}");
    }
    bot.stop().await;
}

#[tokio::test]
async fn a_failed_security_workflow_is_an_alert_and_other_failures_are_not() {
    let mut bot = start("").await;
    let mut run = fixture("workflow_run.completed.json");
    run["workflow_run"]["conclusion"] = json!("failure");
    run["workflow_run"]["name"] = json!("CodeQL");
    let printed = deliver(&mut bot, "workflow_run", "w-1", &run).await;
    assert_eq!(printed.len(), 1, "{printed:#?}");
    assert!(
        printed[0]
            .message
            .text
            .starts_with("Failed security workflow in octo-org/octo-repo"),
        "{}",
        printed[0].message.text
    );

    let mut build = fixture("workflow_run.completed.json");
    build["workflow_run"]["conclusion"] = json!("failure");
    build["workflow_run"]["name"] = json!("Build");
    build["workflow_run"]["path"] = json!(".github/workflows/build.yml");
    build["workflow"] = json!({ "name": "Build", "path": ".github/workflows/build.yml" });
    build["workflow_run"]["id"] = json!(1);
    assert!(deliver(&mut bot, "workflow_run", "w-2", &build).await.is_empty());
    bot.stop().await;
}

/// One alert's life: a single message, edited in place, with a note in its thread per change.
#[tokio::test]
async fn an_alert_lifecycle_edits_one_message_and_notes_each_change_in_its_thread() {
    let mut bot = start("").await;
    let created = deliver(&mut bot, "dependabot_alert", "d-1", &dependabot("created")).await;
    assert_eq!(created.len(), 1);
    let original = created[0].message_id.clone();

    let steps = [
        (
            "dismissed",
            "d-2",
            "Dismissed by octocat: tolerable_risk — “only used in tests”",
            "Dismissed",
        ),
        ("reopened", "d-3", "Reopened by alice", "Open"),
        ("fixed", "d-4", "Fixed", "Fixed"),
    ];
    for (action, delivery, note, state) in steps {
        let printed = deliver(&mut bot, "dependabot_alert", delivery, &dependabot(action)).await;
        assert_eq!(printed.len(), 2, "{action}: {printed:#?}");
        let (edit, reply) = (&printed[0], &printed[1]);
        assert_eq!(edit.kind, PrintedKind::Edit, "{action}");
        assert_eq!(edit.message_id, original, "{action}: the original message is edited");
        assert!(
            edit.text.contains(&format!("State: {state}")),
            "{action}: {}",
            edit.text
        );
        assert_eq!(
            reply.kind,
            PrintedKind::Reply {
                parent: original.clone()
            },
            "{action}"
        );
        assert_eq!(reply.message.text, note, "{action}");
        assert_eq!(reply.channel, "security-incidents");
    }
    // The closed alert's message keeps its link but no longer offers to act on it.
    let fixed = bot
        .all_printed()
        .into_iter()
        .rev()
        .find(|p| p.kind == PrintedKind::Edit)
        .unwrap();
    assert!(fixed.message.text.ends_with("— fixed"), "{}", fixed.message.text);
    let labels: Vec<&str> = fixed.message.buttons.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(labels, ["View on GitHub"]);
    let new_messages = bot.all_printed().iter().filter(|p| p.kind == PrintedKind::New).count();
    assert_eq!(new_messages, 1);
    bot.stop().await;
}

#[tokio::test]
async fn the_same_change_delivered_again_posts_nothing_but_a_repeat_after_a_reopen_does() {
    let mut bot = start("").await;
    deliver(&mut bot, "dependabot_alert", "d-1", &dependabot("created")).await;
    // GitHub's "Redeliver" button sends the same body under a new delivery id.
    assert!(
        deliver(&mut bot, "dependabot_alert", "d-1-again", &dependabot("created"))
            .await
            .is_empty()
    );
    assert_eq!(
        deliver(&mut bot, "dependabot_alert", "d-2", &dependabot("dismissed"))
            .await
            .len(),
        2
    );
    assert!(
        deliver(&mut bot, "dependabot_alert", "d-2-again", &dependabot("dismissed"))
            .await
            .is_empty()
    );
    // A late redelivery of the creation must not reopen the dismissed alert.
    assert!(
        deliver(&mut bot, "dependabot_alert", "d-1-late", &dependabot("created"))
            .await
            .is_empty()
    );
    // Reopened and dismissed again for the same reason: a real change, posted.
    assert_eq!(
        deliver(&mut bot, "dependabot_alert", "d-3", &dependabot("reopened"))
            .await
            .len(),
        2
    );
    let again = deliver(&mut bot, "dependabot_alert", "d-4", &dependabot("dismissed")).await;
    assert_eq!(
        texts(&again)[1],
        "Dismissed by octocat: tolerable_risk — “only used in tests”"
    );
    assert!(
        deliver(&mut bot, "dependabot_alert", "d-4-again", &dependabot("dismissed"))
            .await
            .is_empty()
    );

    let changes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alert_changes")
        .fetch_one(bot.bot().pool())
        .await
        .unwrap();
    assert_eq!(changes, 4, "created, dismissed, reopened, dismissed");
    bot.stop().await;
}

#[tokio::test]
async fn a_secret_found_in_a_new_place_updates_the_alert_and_says_where() {
    let mut bot = start("").await;
    deliver(
        &mut bot,
        "secret_scanning_alert",
        "s-1",
        &fixture("secret_scanning_alert.reopened.json"),
    )
    .await;
    let printed = deliver(
        &mut bot,
        "secret_scanning_alert_location",
        "s-2",
        &fixture("secret_scanning_alert_location.created.json"),
    )
    .await;
    assert_eq!(texts(&printed)[1], "New location: /example/secrets.txt:1");
    assert_eq!(printed[0].kind, PrintedKind::Edit);
    assert!(
        printed[0].text.contains("Location: /example/secrets.txt:1"),
        "{}",
        printed[0].text
    );

    // Resolving it keeps the location the resolution payload does not carry.
    let mut resolved = fixture("secret_scanning_alert.reopened.json");
    resolved["action"] = json!("resolved");
    resolved["alert"]["resolution"] = json!("revoked");
    resolved["alert"]["resolved_by"] = json!({ "login": "octocat" });
    let printed = deliver(&mut bot, "secret_scanning_alert", "s-3", &resolved).await;
    assert_eq!(texts(&printed)[1], "Resolved by octocat: revoked");
    assert!(
        printed[0].text.contains("Location: /example/secrets.txt:1"),
        "{}",
        printed[0].text
    );
    assert!(printed[0].text.contains("State: Resolved"), "{}", printed[0].text);
    bot.stop().await;
}

const ROUTED: &str = r#"
[people.alice]
github = "alice"
[people.bob]
github = "bob"
[groups.security-champions]
members = ["alice"]

[plugins.alert_notifier]
channel = "security-alerts"

[[plugins.alert_notifier.routes]]
severity = ["critical"]
channels = ["security-pager"]
mention = ["security-champions"]
continue = true

[[plugins.alert_notifier.routes]]
repository = "Codertocat/*"
channels = ["hello-world-team"]
mention = ["bob"]

[[plugins.alert_notifier.routes]]
source = ["dependabot"]
channels = ["dependencies"]
"#;

#[tokio::test]
async fn routes_pick_channels_and_mentions_and_continue_adds_more() {
    let mut bot = start(ROUTED).await;

    // Critical and in Codertocat/*: the pager (with champions), then the team's channel (with bob).
    let printed = deliver(
        &mut bot,
        "secret_scanning_alert",
        "s-1",
        &fixture("secret_scanning_alert.reopened.json"),
    )
    .await;
    let places: Vec<(&str, &[Mention])> = printed
        .iter()
        .map(|p| (p.channel.as_str(), p.message.mentions.as_slice()))
        .collect();
    assert_eq!(
        places,
        [
            ("security-pager", &[Mention::Group("security-champions".into())][..]),
            ("hello-world-team", &[Mention::Person("bob".into())][..]),
        ]
    );
    assert!(
        printed[0].text.contains("cc @security-champions"),
        "{}",
        printed[0].text
    );
    assert!(printed[1].text.contains("cc @bob"), "{}", printed[1].text);

    // Medium, in wolfy1339/*, from Dependabot: the first matching route wins.
    let printed = deliver(&mut bot, "dependabot_alert", "d-1", &dependabot("created")).await;
    let channels: Vec<&str> = printed.iter().map(|p| p.channel.as_str()).collect();
    assert_eq!(channels, ["dependencies"]);
    assert!(printed[0].message.mentions.is_empty());

    // Matching no route: the default channel, nobody mentioned.
    let printed = deliver(
        &mut bot,
        "security_advisory",
        "a-1",
        &fixture("security_advisory.published.json"),
    )
    .await;
    let channels: Vec<&str> = printed.iter().map(|p| p.channel.as_str()).collect();
    assert_eq!(channels, ["security-alerts"]);

    // A change reaches every channel the alert was posted to: an edit and a note in each.
    let mut resolved = fixture("secret_scanning_alert.reopened.json");
    resolved["action"] = json!("resolved");
    resolved["alert"]["resolution"] = json!("false_positive");
    let printed = deliver(&mut bot, "secret_scanning_alert", "s-2", &resolved).await;
    let seen: Vec<(&str, &PrintedKind)> = printed.iter().map(|p| (p.channel.as_str(), &p.kind)).collect();
    assert_eq!(seen.len(), 4, "{printed:#?}");
    for channel in ["security-pager", "hello-world-team"] {
        assert!(seen.contains(&(channel, &PrintedKind::Edit)), "{channel}: {seen:?}");
        assert!(
            printed
                .iter()
                .any(|p| p.channel == channel && matches!(p.kind, PrintedKind::Reply { .. })),
            "{channel}"
        );
    }
    bot.stop().await;
}

#[tokio::test]
async fn domain_events_announce_raised_incident_closed_and_reopened() {
    let mut bot = start("[plugins.alert_notifier]\nincident_severity = \"medium\"\n").await;
    deliver(&mut bot, "dependabot_alert", "d-1", &dependabot("created")).await;
    let events = domain_events(&bot).await;
    assert_eq!(kinds(&events), ["alert.raised", "alert.incident_requested"]);
    assert_eq!(events[0].1["key"], KEY);
    assert_eq!(events[0].1["severity"], "medium");
    assert_eq!(events[1].1["alert"]["key"], KEY);
    assert_eq!(events[1].1["grouping_key"], "wolfy1339/pika-pack:GHSA-c2qf-rxjj-qqgw");

    deliver(&mut bot, "dependabot_alert", "d-2", &dependabot("dismissed")).await;
    deliver(&mut bot, "dependabot_alert", "d-3", &dependabot("reopened")).await;
    deliver(&mut bot, "dependabot_alert", "d-4", &dependabot("fixed")).await;
    let events = domain_events(&bot).await;
    assert_eq!(
        kinds(&events),
        [
            "alert.raised",
            "alert.incident_requested",
            "alert.closed",
            "alert.reopened",
            "alert.incident_requested",
            "alert.closed",
        ]
    );
    let closed = &events[2].1;
    assert_eq!(closed["action"], "dismissed");
    assert_eq!(closed["actor"], "octocat");
    assert_eq!(closed["alert"]["state"], "dismissed");
    assert_eq!(closed["grouping_key"], "wolfy1339/pika-pack:GHSA-c2qf-rxjj-qqgw");
    assert_eq!(events[3].1["actor"], "alice");
    assert_eq!(events[5].1["action"], "fixed");
    bot.stop().await;
}

#[tokio::test]
async fn below_incident_severity_or_without_resolve_incidents_fewer_events_are_announced() {
    // Default incident_severity is high: a medium alert is raised but asks for no incident.
    let mut bot = start("[plugins.alert_notifier]\nresolve_incidents = false\n").await;
    deliver(&mut bot, "dependabot_alert", "d-1", &dependabot("created")).await;
    deliver(&mut bot, "dependabot_alert", "d-2", &dependabot("fixed")).await;
    assert_eq!(kinds(&domain_events(&bot).await), ["alert.raised"]);

    // The same alert rising to critical (its advisory was re-rated) asks for an incident then.
    let mut rerated = dependabot("reopened");
    rerated["alert"]["security_advisory"]["severity"] = json!("critical");
    rerated["alert"]["security_vulnerability"]["severity"] = json!("critical");
    let printed = deliver(&mut bot, "dependabot_alert", "d-3", &rerated).await;
    assert!(
        printed[0]
            .message
            .title
            .as_deref()
            .unwrap_or_default()
            .starts_with("[CRITICAL]")
    );
    assert_eq!(
        kinds(&domain_events(&bot).await),
        ["alert.raised", "alert.reopened", "alert.incident_requested"]
    );
    bot.stop().await;
}

#[tokio::test]
async fn acknowledge_answers_the_clicker_notes_it_in_the_thread_and_announces_it() {
    let mut bot = start("[people.alice]\ngithub = \"alice\"\n").await;
    let created = deliver(&mut bot, "dependabot_alert", "d-1", &dependabot("created")).await;
    let original = created[0].message_id.clone();

    bot.push(click("alert.ack", KEY, "alice")).await;
    let printed = bot.pop();
    assert_eq!(printed.len(), 2, "{printed:#?}");
    let private = printed
        .iter()
        .find(|p| matches!(p.kind, PrintedKind::Ephemeral { .. }))
        .unwrap();
    assert_eq!(private.kind, PrintedKind::Ephemeral { user: "alice".into() });
    assert_eq!(
        private.message.text,
        "Acknowledged semver vulnerable to Regular Expression Denial of Service"
    );
    let note = printed
        .iter()
        .find(|p| matches!(p.kind, PrintedKind::Reply { .. }))
        .unwrap();
    assert_eq!(note.kind, PrintedKind::Reply { parent: original });
    assert_eq!(note.message.text, "Acknowledged by alice");

    // A second click by the same person changes nothing but says so.
    bot.push(click("alert.ack", KEY, "alice")).await;
    let printed = bot.pop();
    assert_eq!(
        texts(&printed),
        ["You already acknowledged semver vulnerable to Regular Expression Denial of Service"]
    );

    let events = domain_events(&bot).await;
    assert_eq!(kinds(&events), ["alert.raised", "alert.acknowledged"]);
    assert_eq!(events[1].1["by"], "alice");
    let recorded: (String, String) =
        sqlx::query_as("SELECT action, actor FROM alert_changes WHERE action = 'acknowledged'")
            .fetch_one(bot.bot().pool())
            .await
            .unwrap();
    assert_eq!(recorded, ("acknowledged".to_owned(), "alice".to_owned()));
    bot.stop().await;
}

#[tokio::test]
async fn open_incident_asks_for_one_on_behalf_of_the_clicker() {
    let mut bot = start("").await;
    deliver(&mut bot, "dependabot_alert", "d-1", &dependabot("created")).await;
    bot.push(click("alert.incident", KEY, "carol")).await;
    let printed = bot.pop();
    let mut seen = texts(&printed);
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            "Incident requested by carol",
            "Incident requested for semver vulnerable to Regular Expression Denial of Service",
        ]
    );
    let events = domain_events(&bot).await;
    assert_eq!(kinds(&events), ["alert.raised", "alert.incident_requested"]);
    assert_eq!(events[1].1["requested_by"], "carol");
    assert_eq!(events[1].1["alert"]["key"], KEY);

    // A button for an alert Sentinel does not know is answered, not retried.
    bot.push(click("alert.ack", "dependabot:nobody/nothing:1", "carol"))
        .await;
    let printed = bot.pop();
    assert_eq!(printed.len(), 1);
    assert!(
        printed[0].message.text.contains("does not know the alert"),
        "{}",
        printed[0].message.text
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_malformed_payload_is_dropped_with_a_warning_not_retried_or_parked() {
    let mut bot = start("").await;
    let mut broken = dependabot("created");
    broken.as_object_mut().unwrap().remove("alert");
    assert!(deliver(&mut bot, "dependabot_alert", "bad-1", &broken).await.is_empty());
    assert!(
        deliver(
            &mut bot,
            "code_scanning_alert",
            "bad-2",
            &json!(["not", "an", "object"])
        )
        .await
        .is_empty()
    );
    let unfinished: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM handling WHERE state <> 'done'")
        .fetch_one(bot.bot().pool())
        .await
        .unwrap();
    assert_eq!(unfinished, 0);
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE state = 'pending'")
        .fetch_one(bot.bot().pool())
        .await
        .unwrap();
    assert_eq!(pending, 0);
    bot.stop().await;
}

#[test]
fn the_registry_builds_the_notifier_and_reports_its_configuration_errors_by_key() {
    let plugins = sentinel_plugins::build(&config_of("")).unwrap();
    assert!(plugins.iter().any(|p| p.name() == "alert_notifier"));
    assert!(sentinel_plugins::registry::KNOWN.contains(&"alert_notifier"));
    // Only the notifier's own errors: other plugins judge their own sections.
    let errors = |text: &str| -> Vec<String> {
        match sentinel_plugins::build(&config_of(text)) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .iter()
                .map(ToString::to_string)
                .filter(|e| e.starts_with("plugins.alert_notifier"))
                .collect(),
        }
    };
    let found = errors("[plugins.alert_notifier]\nincident_severity = \"urgent\"\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("plugins.alert_notifier.incident_severity"),
        "{found:?}"
    );
    let found = errors("[[plugins.alert_notifier.routes]]\nmention = [\"nobody\"]\n");
    assert_eq!(
        found,
        ["plugins.alert_notifier.routes[0].mention: `nobody` is neither a [groups] nor a [people] key"]
    );
    let found = errors("[plugins.alert_notifier]\nchannels = \"x\"\n");
    assert!(found[0].contains("channels"), "{found:?}");
}
