//! The incident commander at chat level: commands typed at the console, buttons clicked, alert and
//! SLA events pushed in, and what the incident channel and the caller see; the GitHub tracking issue
//! against a fake GitHub API on 127.0.0.1 behind the core's real GitHub worker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::Duration;
use sentinel_bot::chat::console::{Printed, PrintedKind};
use sentinel_bot::harness::TestBot;
use sentinel_bot::harness::fakes::github::{FakeGitHub, Reply};
use sentinel_bot::{Action, Actor, DedupKey, DomainEvent, Message, NewEvent, Origin, Platform, Plugin};
use sentinel_plugins::incident_commander::{IncidentCommander, IncidentConfig};
use serde_json::{Value, json};

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
    let text = format!("{people}{extra}");
    let table = sentinel_bot::config::load::parse_table(&text, "test").unwrap();
    let config = sentinel_bot::config::load::from_table(table).unwrap();
    let section = IncidentConfig::from_config(&config, IncidentCommander::NAME).unwrap();
    TestBot::start(&text, move || {
        vec![Arc::new(IncidentCommander::new(section.clone())) as Arc<dyn Plugin>]
    })
    .await
    .unwrap()
}

/// What only the caller saw.
fn private(printed: &[Printed]) -> Vec<String> {
    printed
        .iter()
        .filter(|p| matches!(p.kind, PrintedKind::Ephemeral { .. }))
        .map(|p| p.message.text.clone())
        .collect()
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

/// Domain events the plugin emitted with `kind`, payloads in order.
async fn emitted(bot: &TestBot, kind: &str) -> Vec<Value> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM inbox WHERE kind = 'domain' AND name = ? ORDER BY id")
            .bind(kind)
            .fetch_all(bot.bot().pool())
            .await
            .unwrap();
    rows.iter()
        .map(|p| serde_json::from_str::<DomainEvent>(p).unwrap().payload)
        .collect()
}

async fn state_of(bot: &TestBot, id: i64) -> String {
    sqlx::query_scalar("SELECT state FROM incidents WHERE id = ?")
        .bind(id)
        .fetch_one(bot.bot().pool())
        .await
        .unwrap()
}

async fn count(bot: &TestBot, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(bot.bot().pool()).await.unwrap()
}

fn domain_event(n: u32, kind: &str, payload: Value) -> NewEvent {
    NewEvent {
        dedup_key: DedupKey(format!("test-domain:{n}")),
        kind: "domain",
        name: kind.to_owned(),
        owner: None,
        payload: serde_json::to_string(&DomainEvent {
            kind: kind.to_owned(),
            payload,
        })
        .unwrap(),
    }
}

fn click(n: u32, user: &str, id: &str, value: &str) -> NewEvent {
    let action = Action {
        id: id.to_owned(),
        value: value.to_owned(),
        origin: Origin {
            actor: Actor {
                platform: Platform::Console,
                id: user.to_owned(),
                name: user.to_owned(),
                groups: Vec::new(),
            },
            channel: CHANNEL.to_owned(),
            response_url: None,
        },
    };
    NewEvent::action(&format!("click-{n}"), &action).unwrap()
}

fn alert(key: &str, number: i64, severity: &str, ghsa: &str) -> Value {
    json!({
        "key": key, "source": "dependabot", "repository": "acme/app", "number": number,
        "severity": severity, "state": "open", "title": "lodash: prototype pollution",
        "ghsa": ghsa, "cve": "CVE-2021-23337", "url": format!("https://github.com/acme/app/security/dependabot/{number}"),
    })
}

#[tokio::test]
async fn declare_posts_one_message_that_every_change_edits_in_place() {
    let mut bot = start("").await;

    let out = bot
        .command_as("alice", "/incident declare high Leaked deploy token in acme/app")
        .await;
    assert_eq!(
        answer(&out),
        "Declared incident #1 (high): Leaked deploy token in acme/app. It is in #security-incidents; \
         acknowledge it with /incident ack 1"
    );
    let posted: Vec<&Printed> = out.iter().filter(|p| p.channel == CHANNEL).collect();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].kind, PrintedKind::New);
    let message = &posted[0].message;
    assert_eq!(
        message.title.as_deref(),
        Some("Incident #1: Leaked deploy token in acme/app")
    );
    assert_eq!(field(message, "State"), "open since 2026-03-02 09:00 UTC");
    assert_eq!(field(message, "Severity"), "high");
    assert_eq!(field(message, "Commander"), "—");
    assert_eq!(field(message, "Stage"), "Detection & Analysis (0/4 done)");
    assert!(
        message
            .body
            .as_deref()
            .unwrap()
            .contains("☐ 1. Identify the nature and scope of the incident"),
        "{message:?}"
    );
    let buttons = button_ids(message);
    assert_eq!(
        &buttons[..3],
        ["incident.ack 1", "incident.resolve 1", "incident.escalate 1"]
    );
    assert!(
        buttons.contains(&"incident.check 1:detection:2".to_owned()),
        "{buttons:?}"
    );
    let opened = emitted(&bot, "incident.opened").await;
    assert_eq!(
        opened,
        [json!({
            "id": 1, "title": "Leaked deploy token in acme/app", "severity": "high",
            "opened_at": "2026-03-02T09:00:00Z", "opened_by": "alice", "repository": null, "alert_keys": [],
        })]
    );

    bot.advance(Duration::minutes(5)).await;
    let out = bot.command_as("bob", "/incident ack 1").await;
    assert_eq!(answer(&out), "Acknowledged incident #1.");
    let edit = out
        .iter()
        .find(|p| p.channel == CHANNEL && p.kind == PrintedKind::Edit)
        .unwrap();
    assert_eq!(edit.message_id, posted[0].message_id, "the same message is edited");
    assert_eq!(
        field(&edit.message, "State"),
        "acknowledged by bob at 2026-03-02 09:05 UTC"
    );
    assert!(!button_ids(&edit.message).contains(&"incident.ack 1".to_owned()));
    assert_eq!(notes(&out, 1), ["✅ bob acknowledged incident #1."]);
    assert_eq!(
        emitted(&bot, "incident.acknowledged").await,
        [json!({ "id": 1, "at": "2026-03-02T09:05:00Z", "by": "bob" })]
    );
    bot.stop().await;
}

#[tokio::test]
async fn assign_commander_update_and_severity_show_on_the_message_and_in_the_thread() {
    let mut bot = start("").await;
    bot.command_as("alice", "/incident declare medium Suspicious pushes")
        .await;

    let out = bot.command_as("alice", "/incident assign 1 @bob").await;
    assert_eq!(answer(&out), "bob is now the assignee of incident #1.");
    assert_eq!(field(&incident_message(&out, 1).unwrap(), "Assignee"), "bob");
    let note = out.iter().find(|p| p.message.thread.is_some()).unwrap();
    assert_eq!(note.message.text, "👤 alice assigned incident #1 to bob.");
    assert_eq!(note.message.mentions, [sentinel_bot::Mention::Person("bob".into())]);
    assert_eq!(
        emitted(&bot, "incident.assigned").await,
        [json!({ "id": 1, "assignee": "bob", "at": "2026-03-02T09:00:00Z", "by": "alice" })]
    );

    // A Slack mention resolves to the [people] key.
    let out = bot.command_as("bob", "/incident commander 1 <@UALICE|alice>").await;
    assert_eq!(answer(&out), "alice is now the commander of incident #1.");
    assert_eq!(field(&incident_message(&out, 1).unwrap(), "Commander"), "alice");

    bot.advance(Duration::minutes(10)).await;
    let out = bot
        .command_as("bob", "/incident update 1 Token revoked; can't see further pushes")
        .await;
    assert_eq!(answer(&out), "Posted the update to incident #1.");
    assert_eq!(notes(&out, 1), ["📝 bob: Token revoked; can't see further pushes"]);
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "Last update"),
        "Token revoked; can't see further pushes — bob, 2026-03-02 09:10 UTC"
    );

    let out = bot.command_as("alice", "/incident severity 1 critical").await;
    assert_eq!(answer(&out), "Incident #1 is now critical.");
    let message = incident_message(&out, 1).unwrap();
    assert_eq!(field(&message, "Severity"), "critical");
    assert_eq!(message.severity, Some(sentinel_bot::Severity::Critical));
    assert_eq!(
        emitted(&bot, "incident.severity_changed").await,
        [json!({
            "id": 1, "from": "medium", "to": "critical", "at": "2026-03-02T09:10:00Z", "by": "alice",
            "opened_at": "2026-03-02T09:00:00Z",
        })]
    );
    let out = bot.command_as("alice", "/incident severity 1 critical").await;
    assert_eq!(
        answer(&out),
        "Incident #1 is already critical.\nUsage: /incident severity <id> <critical|high|medium|low>"
    );
    assert!(out.iter().all(|p| p.channel != CHANNEL), "nothing changes: {out:?}");
    bot.stop().await;
}

#[tokio::test]
async fn stages_post_their_checklist_and_items_are_ticked_by_command_or_button() {
    let mut bot = start("").await;
    bot.command_as("alice", "/incident declare critical Webhook secret leaked")
        .await;
    bot.advance(Duration::minutes(10)).await;

    let out = bot.command_as("alice", "/incident stage 1 containment").await;
    assert_eq!(answer(&out), "Incident #1 is now in Containment & Mitigation.");
    assert_eq!(
        notes(&out, 1),
        ["🧭 alice moved incident #1 to Containment & Mitigation.\n\
          Containment & Mitigation checklist (0/5 done):\n\
          ☐ 1. Stop the affected service\n\
          ☐ 2. Rotate GitHub tokens\n\
          ☐ 3. Generate a new webhook secret\n\
          ☐ 4. Back up the logs for analysis\n\
          ☐ 5. Clear temporary files"]
    );
    let message = incident_message(&out, 1).unwrap();
    assert_eq!(field(&message, "Stage"), "Containment & Mitigation (0/5 done)");
    assert!(button_ids(&message).contains(&"incident.check 1:containment:2".to_owned()));

    let out = bot.command_as("bob", "/incident check 1 2").await;
    assert_eq!(answer(&out), "Ticked Containment & Mitigation 2. Rotate GitHub tokens.");
    assert_eq!(
        notes(&out, 1),
        ["☑ bob ticked “Rotate GitHub tokens” (Containment & Mitigation 1/5)."]
    );
    let message = incident_message(&out, 1).unwrap();
    assert!(
        message
            .body
            .as_deref()
            .unwrap()
            .contains("☑ 2. Rotate GitHub tokens — bob, 2026-03-02 09:10 UTC"),
        "{message:?}"
    );
    assert!(!button_ids(&message).contains(&"incident.check 1:containment:2".to_owned()));

    // By words, and by clicking the button.
    let out = bot.command_as("carol", "/incident check 1 webhook secret").await;
    assert_eq!(
        answer(&out),
        "Ticked Containment & Mitigation 3. Generate a new webhook secret."
    );
    bot.push(click(1, "dave", "incident.check", "1:containment:1")).await;
    let out = bot.pop();
    assert_eq!(
        answer(&out),
        "Ticked Containment & Mitigation 1. Stop the affected service."
    );
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "Stage"),
        "Containment & Mitigation (3/5 done)"
    );

    // Bad items change nothing.
    let out = bot.command_as("bob", "/incident check 1 2").await;
    assert_eq!(
        answer(&out),
        "“Rotate GitHub tokens” is already ticked (by bob at 2026-03-02 09:10 UTC).\nUsage: /incident check <id> <item…>"
    );
    let out = bot.command_as("bob", "/incident check 1 9").await;
    let text = answer(&out);
    assert!(text.starts_with("There is no item 9. Incident #1's Containment & Mitigation checklist:\n☑ 1. Stop the affected service — dave"), "{text}");
    assert!(
        text.ends_with("☐ 5. Clear temporary files\nUsage: /incident check <id> <item…>"),
        "{text}"
    );
    let out = bot.command_as("bob", "/incident check 1 recovery:1").await;
    assert_eq!(
        answer(&out),
        "Incident #1 has not been in Recovery yet; it is in Containment & Mitigation.\nUsage: /incident check <id> <item…>"
    );
    let out = bot.command_as("bob", "/incident stage 1 containment").await;
    assert_eq!(
        answer(&out),
        "Incident #1 is already in Containment & Mitigation.\nUsage: /incident stage <id> <detection|containment|investigation|recovery|lessons>"
    );
    assert_eq!(
        count(
            &bot,
            "SELECT COUNT(*) FROM incident_checks WHERE checked_by IS NOT NULL"
        )
        .await,
        3
    );
    bot.stop().await;
}

#[tokio::test]
async fn the_life_cycle_follows_its_transitions_and_refuses_the_others() {
    let mut bot = start("").await;
    bot.command_as("alice", "/incident declare high Token leak").await;

    // Close before resolve, and reopen of an active incident, are refused.
    let out = bot.command_as("alice", "/incident close 1").await;
    assert_eq!(
        answer(&out),
        "Incident #1 is open; resolve it before closing it: /incident resolve 1 [summary]"
    );
    let out = bot.command_as("alice", "/incident reopen 1").await;
    assert_eq!(
        answer(&out),
        "Incident #1 is open, not resolved or closed, so there is nothing to reopen.\nUsage: /incident reopen <id>"
    );

    bot.advance(Duration::minutes(30)).await;
    let out = bot
        .command_as("alice", "/incident resolve 1 Rotated the token and purged the logs")
        .await;
    assert_eq!(answer(&out), "Resolved incident #1.");
    let message = incident_message(&out, 1).unwrap();
    assert_eq!(field(&message, "State"), "resolved by alice at 2026-03-02 09:30 UTC");
    assert_eq!(field(&message, "Summary"), "Rotated the token and purged the logs");
    assert!(!button_ids(&message).contains(&"incident.resolve 1".to_owned()));
    assert_eq!(
        emitted(&bot, "incident.resolved").await,
        [
            json!({ "id": 1, "at": "2026-03-02T09:30:00Z", "by": "alice", "summary": "Rotated the token and purged the logs" })
        ]
    );
    let out = bot.command_as("alice", "/incident resolve 1").await;
    assert_eq!(
        answer(&out),
        "Incident #1 is already resolved (by alice at 2026-03-02 09:30 UTC). Close it with /incident close 1"
    );

    let out = bot.command_as("alice", "/incident close 1").await;
    assert_eq!(answer(&out), "Closed incident #1.");
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "State"),
        "closed by alice at 2026-03-02 09:30 UTC"
    );
    assert!(button_ids(&incident_message(&out, 1).unwrap()).is_empty());

    // Acknowledging, updating or ticking a closed incident is refused and changes nothing.
    let out = bot.command_as("bob", "/incident ack 1").await;
    assert_eq!(
        answer(&out),
        "Incident #1 is closed, so it cannot be acknowledged. To work on it again: /incident reopen 1"
    );
    assert_eq!(out.len(), 1, "{out:?}");
    let out = bot.command_as("bob", "/incident update 1 more news").await;
    assert_eq!(
        answer(&out),
        "Incident #1 is closed, so it cannot be changed. Reopen it first: /incident reopen 1"
    );
    assert_eq!(state_of(&bot, 1).await, "closed");
    assert_eq!(
        count(&bot, "SELECT COUNT(*) FROM incident_timeline WHERE kind = 'update'").await,
        0
    );

    // Resolving an unacknowledged incident counted as acknowledging it, so it reopens acknowledged;
    // the resolution is cleared.
    let out = bot.command_as("alice", "/incident reopen 1").await;
    assert_eq!(answer(&out), "Reopened incident #1; it is acknowledged.");
    assert_eq!(state_of(&bot, 1).await, "acknowledged");
    let stamps: (Option<i64>, Option<i64>, Option<String>) =
        sqlx::query_as("SELECT resolved_at, closed_at, acknowledged_by FROM incidents WHERE id = 1")
            .fetch_one(bot.bot().pool())
            .await
            .unwrap();
    assert_eq!(stamps, (None, None, Some("alice".to_owned())));
    assert_eq!(emitted(&bot, "incident.reopened").await.len(), 1);
    assert_eq!(emitted(&bot, "incident.closed").await.len(), 1);

    // The buttons: escalate, resolve; acknowledge on a fresh incident.
    bot.push(click(1, "bob", "incident.escalate", "1")).await;
    let out = bot.pop();
    assert_eq!(answer(&out), "Asked for incident #1 to be escalated.");
    assert_eq!(notes(&out, 1), ["🚨 bob asked to escalate incident #1."]);
    assert_eq!(
        emitted(&bot, "incident.escalate_requested").await,
        [json!({ "id": 1, "at": "2026-03-02T09:30:00Z", "by": "bob" })]
    );
    bot.push(click(2, "alice", "incident.resolve", "1")).await;
    assert_eq!(answer(&bot.pop()), "Resolved incident #1.");
    assert_eq!(state_of(&bot, 1).await, "resolved");
    bot.push(click(3, "bob", "incident.escalate", "1")).await;
    assert_eq!(
        answer(&bot.pop()),
        "Incident #1 is resolved; there is nothing to escalate."
    );

    bot.command_as("alice", "/incident declare low Second").await;
    bot.push(click(4, "bob", "incident.ack", "2")).await;
    let out = bot.pop();
    assert_eq!(answer(&out), "Acknowledged incident #2.");
    assert_eq!(
        field(&incident_message(&out, 2).unwrap(), "State"),
        "acknowledged by bob at 2026-03-02 09:30 UTC"
    );
    bot.push(click(5, "carol", "incident.ack", "2")).await;
    assert_eq!(
        answer(&bot.pop()),
        "Incident #2 is already acknowledged (by bob at 2026-03-02 09:30 UTC)."
    );
    bot.stop().await;
}

#[tokio::test]
async fn ack_without_an_id_takes_the_only_waiting_incident_or_says_which_are_waiting() {
    let mut bot = start("").await;
    let out = bot.command_as("bob", "/incident ack").await;
    assert_eq!(
        answer(&out),
        "No incident is waiting for acknowledgement.\nUsage: /incident ack [id]"
    );

    bot.command_as("alice", "/incident declare high First").await;
    let out = bot.command_as("bob", "/incident ack").await;
    assert_eq!(answer(&out), "Acknowledged incident #1.");

    bot.command_as("alice", "/incident declare high Second").await;
    bot.command_as("alice", "/incident declare low Third").await;
    let out = bot.command_as("bob", "/incident ack").await;
    assert_eq!(
        answer(&out),
        "Several incidents are waiting for acknowledgement: #2, #3. Say which: /incident ack <id>"
    );
    assert_eq!(state_of(&bot, 2).await, "open");

    // …unless exactly one of them is the caller's.
    bot.command_as("alice", "/incident assign 3 bob").await;
    let out = bot.command_as("bob", "/incident ack").await;
    assert_eq!(answer(&out), "Acknowledged incident #3.");
    assert_eq!(state_of(&bot, 2).await, "open");
    bot.stop().await;
}

#[tokio::test]
async fn bad_input_gets_what_was_wrong_and_the_usage_and_changes_nothing() {
    let mut bot = start("").await;
    bot.command_as("alice", "/incident declare high Token leak").await;
    let before = count(&bot, "SELECT COUNT(*) FROM incident_timeline").await;

    let out = bot.command_as("alice", "/incident frobnicate 1").await;
    let text = answer(&out);
    assert!(text.contains("unrecognized subcommand 'frobnicate'"), "{text}");
    assert!(text.contains("/incident ack [id] — Acknowledge an incident"), "{text}");

    let out = bot.command_as("alice", "/incident show").await;
    let text = answer(&out);
    assert!(
        text.contains("the following required arguments were not provided"),
        "{text}"
    );
    assert!(text.ends_with("Usage: /incident show <id>"), "{text}");

    let out = bot.command_as("alice", "/incident show 42").await;
    assert_eq!(
        answer(&out),
        "There is no incident #42. Open incidents: #1.\nUsage: /incident show <id>"
    );

    let out = bot.command_as("alice", "/incident ack one").await;
    let text = answer(&out);
    assert!(
        text.contains("`one` is not an incident id (a number such as 3 or #3)"),
        "{text}"
    );
    assert!(text.ends_with("Usage: /incident ack [id]"), "{text}");

    let out = bot.command_as("alice", "/incident declare urgent Something").await;
    let text = answer(&out);
    assert!(text.contains("unknown severity `urgent`"), "{text}");
    assert!(
        text.ends_with("Usage: /incident declare <critical|high|medium|low> <title…>"),
        "{text}"
    );

    let out = bot.command_as("alice", "/incident stage 1 cleanup").await;
    assert!(answer(&out).contains("unknown stage `cleanup`"));

    let out = bot.command_as("alice", "/incident assign 1").await;
    assert!(answer(&out).ends_with("Usage: /incident assign <id> <@person>"));

    bot.push(click(1, "alice", "incident.detonate", "1")).await;
    assert_eq!(
        answer(&bot.pop()),
        "This button (`incident.detonate` `1`) is not one Sentinel knows."
    );

    assert_eq!(count(&bot, "SELECT COUNT(*) FROM incident_timeline").await, before);
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM incidents").await, 1);
    bot.stop().await;
}

#[tokio::test]
async fn list_show_timeline_and_help_answer_the_caller_only() {
    let mut bot = start("").await;
    bot.command_as("alice", "/incident declare high Token leak").await;
    bot.command_as("alice", "/incident declare low Noisy scanner").await;
    bot.command_as("alice", "/incident resolve 2 False positive").await;

    let out = bot.command_as("bob", "/incident list").await;
    assert_eq!(
        answer(&out),
        "Open incidents:\n#1 🟠 high · open · Detection & Analysis · Token leak"
    );
    let out = bot.command_as("bob", "/incident list all").await;
    assert_eq!(
        answer(&out),
        "Incidents, newest first:\n#2 🔵 low · resolved · Detection & Analysis · Noisy scanner\n\
         #1 🟠 high · open · Detection & Analysis · Token leak"
    );

    bot.advance(Duration::minutes(3)).await;
    bot.command_as("bob", "/incident ack 1").await;
    let out = bot.command_as("carol", "/incident show 1").await;
    assert_eq!(out.len(), 1);
    assert!(matches!(out[0].kind, PrintedKind::Ephemeral { .. }));
    assert_eq!(
        field(&out[0].message, "State"),
        "acknowledged by bob at 2026-03-02 09:03 UTC"
    );
    assert!(out[0].message.buttons.is_empty());

    let out = bot.command_as("carol", "/incident timeline 1").await;
    assert_eq!(
        answer(&out),
        "Timeline of incident #1: Token leak\n\
         2026-03-02 09:00 UTC · alice · declared a high incident: Token leak\n\
         2026-03-02 09:03 UTC · bob · acknowledged"
    );

    let out = bot.command_as("carol", "/incident help").await;
    let text = answer(&out);
    for line in [
        "/incident declare <critical|high|medium|low> <title…> — Declare an incident; you get its number",
        "/incident ack [id] — Acknowledge an incident (without an id: the one waiting for you)",
        "/incident assign <id> <@person> — Assign an incident to someone",
        "/incident check <id> <item…> — Tick a checklist item of the current stage, by number or words",
        "/incident resolve <id> [summary…] — Resolve an incident, optionally saying what was done",
        "/incident list [open|all] — List open incidents, or all of them",
        "/incident postmortem <id> — Post an incident's post-mortem to the incident channel",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert_eq!(answer(&bot.command_as("carol", "/incident").await), text);
    bot.stop().await;
}

const ROLES: &str = r#"
[plugins.incident_commander.roles]
responder = ["carol"]
commander = ["team-lead"]
admin = ["dave"]
"#;

#[tokio::test]
async fn roles_decide_who_may_do_what_and_refusals_are_logged() {
    let mut bot = start(ROLES).await;

    // bob holds no role: he may read, not declare.
    let out = bot.command_as("bob", "/incident declare high Something").await;
    assert_eq!(
        answer(&out),
        "You are not allowed to declare incidents: it needs the responder, commander or admin role, \
         and you have no incident role. Ask an incident commander."
    );
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM incidents").await, 0);
    let out = bot.command_as("bob", "/incident list").await;
    assert_eq!(answer(&out), "No open incidents.");

    // carol (responder) declares and acks, but may not resolve or change severity.
    bot.command_as("carol", "/incident declare high Token leak").await;
    bot.command_as("carol", "/incident ack 1").await;
    let out = bot.command_as("carol", "/incident resolve 1 done").await;
    assert_eq!(
        answer(&out),
        "You are not allowed to resolve incidents: it needs the commander or admin role, and you have \
         the responder role. Ask an incident commander."
    );
    let out = bot.command_as("carol", "/incident severity 1 low").await;
    assert!(answer(&out).starts_with("You are not allowed to change an incident's severity"));
    bot.push(click(1, "carol", "incident.resolve", "1")).await;
    assert!(answer(&bot.pop()).starts_with("You are not allowed to resolve incidents"));
    assert_eq!(state_of(&bot, 1).await, "acknowledged");

    let log: Vec<(String, String, String)> =
        sqlx::query_as("SELECT kind, source, detail FROM security_log ORDER BY id")
            .fetch_all(bot.bot().pool())
            .await
            .unwrap();
    assert_eq!(log.len(), 4, "{log:?}");
    assert_eq!(
        log[0],
        (
            "unauthorized_command".to_owned(),
            "console".to_owned(),
            "bob (console:bob) tried /incident declare; needs responder, has anyone".to_owned()
        )
    );
    assert_eq!(
        log[3].2,
        "carol (console:carol) tried the resolve button on #1; needs commander, has responder"
    );
    let metrics = bot.bot().shared().metrics.encode();
    assert!(
        metrics.contains("security_violations_total{type=\"unauthorized_command\"} 4"),
        "{metrics}"
    );

    // alice is a commander through the team-lead group; dave is an admin.
    let out = bot.command_as("alice", "/incident resolve 1 Rotated").await;
    assert_eq!(answer(&out), "Resolved incident #1.");
    let out = bot.command_as("dave", "/incident close 1").await;
    assert_eq!(answer(&out), "Closed incident #1.");
    bot.stop().await;
}

#[tokio::test]
async fn unknown_role_members_are_configuration_errors() {
    let text = format!("{PEOPLE}[plugins.incident_commander.roles]\ncommander = [\"alcie\"]\n");
    let config =
        sentinel_bot::config::load::from_table(sentinel_bot::config::load::parse_table(&text, "t").unwrap()).unwrap();
    let errors = IncidentConfig::from_config(&config, IncidentCommander::NAME).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "plugins.incident_commander.roles.commander");
    assert!(errors[0].message.contains("`alcie`"), "{}", errors[0].message);
}

#[tokio::test]
async fn alerts_open_incidents_and_a_second_alert_of_the_same_advisory_joins_the_open_one() {
    let mut bot = start("").await;

    bot.push(domain_event(
        1,
        "alert.incident_requested",
        json!({ "alert": alert("dependabot:acme/app:3", 3, "high", "GHSA-35jh-r3h4-6jhm"), "grouping_key": "x" }),
    ))
    .await;
    let out = bot.pop();
    let message = incident_message(&out, 1).unwrap();
    assert_eq!(
        message.title.as_deref(),
        Some("Incident #1: lodash: prototype pollution (acme/app)")
    );
    assert_eq!(
        field(&message, "Alerts"),
        "dependabot acme/app#3 (high, open): lodash: prototype pollution"
    );
    assert_eq!(
        message.context.as_deref(),
        Some("incident #1 · acme/app · opened by sentinel at 2026-03-02 09:00 UTC")
    );
    let opened = emitted(&bot, "incident.opened").await;
    assert_eq!(opened[0]["repository"], "acme/app");
    assert_eq!(opened[0]["alert_keys"], json!(["dependabot:acme/app:3"]));

    // Same repository and advisory, more severe: linked, and the incident's severity rises.
    bot.advance(Duration::minutes(1)).await;
    bot.push(domain_event(
        2,
        "alert.incident_requested",
        json!({ "alert": alert("dependabot:acme/app:4", 4, "critical", "GHSA-35jh-r3h4-6jhm"), "grouping_key": "x" }),
    ))
    .await;
    let out = bot.pop();
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM incidents").await, 1);
    let message = incident_message(&out, 1).unwrap();
    assert_eq!(field(&message, "Severity"), "critical");
    assert_eq!(
        field(&message, "Alerts"),
        "dependabot acme/app#3 (high, open): lodash: prototype pollution\n\
         dependabot acme/app#4 (critical, open): lodash: prototype pollution"
    );
    assert_eq!(
        notes(&out, 1),
        [
            "🔗 Linked another alert to incident #1: dependabot acme/app#4 (critical, open): lodash: prototype pollution",
            "🔴 sentinel changed the severity of incident #1: high → critical (a more severe alert was linked)."
        ]
    );

    // The same alert requested again changes nothing.
    bot.push(domain_event(
        3,
        "alert.incident_requested",
        json!({ "alert": alert("dependabot:acme/app:4", 4, "critical", "GHSA-35jh-r3h4-6jhm"), "grouping_key": "x" }),
    ))
    .await;
    assert!(bot.pop().is_empty());

    // A different advisory opens its own incident; a low one below the threshold opens nothing…
    bot.push(domain_event(
        4,
        "alert.incident_requested",
        json!({ "alert": alert("dependabot:acme/app:5", 5, "high", "GHSA-other"), "grouping_key": "y" }),
    ))
    .await;
    bot.push(domain_event(
        5,
        "alert.incident_requested",
        json!({ "alert": alert("dependabot:acme/app:6", 6, "low", "GHSA-third"), "grouping_key": "z" }),
    ))
    .await;
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM incidents").await, 2);
    // …unless someone asked for it.
    bot.push(domain_event(
        6,
        "alert.incident_requested",
        json!({ "alert": alert("dependabot:acme/app:6", 6, "low", "GHSA-third"), "grouping_key": "z", "requested_by": "carol" }),
    ))
    .await;
    let out = bot.pop();
    let message = incident_message(&out, 3).unwrap();
    assert_eq!(field(&message, "Severity"), "low");
    assert!(message.context.unwrap().contains("opened by carol"));

    // Once incident #1 is resolved, the advisory's next alert opens a new incident.
    bot.command_as("alice", "/incident resolve 1 Upgraded lodash").await;
    bot.push(domain_event(
        7,
        "alert.incident_requested",
        json!({ "alert": alert("dependabot:acme/app:7", 7, "high", "GHSA-35jh-r3h4-6jhm"), "grouping_key": "x" }),
    ))
    .await;
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM incidents").await, 4);
    bot.stop().await;
}

#[tokio::test]
async fn grouping_by_alert_keeps_every_alert_apart() {
    let mut bot = start("[plugins.incident_commander]\ngrouping = \"alert\"\n").await;
    for (n, key) in [(1, "dependabot:acme/app:3"), (2, "dependabot:acme/app:4")] {
        bot.push(domain_event(
            n,
            "alert.incident_requested",
            json!({ "alert": alert(key, 3, "high", "GHSA-35jh-r3h4-6jhm"), "grouping_key": "x" }),
        ))
        .await;
    }
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM incidents").await, 2);
    bot.stop().await;
}

#[tokio::test]
async fn closing_every_linked_alert_resolves_the_incident_when_configured() {
    let mut bot = start("[plugins.incident_commander]\nresolve_on_alert_closed = true\n").await;
    for (n, number) in [(1, 3), (2, 4)] {
        bot.push(domain_event(
            n,
            "alert.incident_requested",
            json!({ "alert": alert(&format!("dependabot:acme/app:{number}"), number, "high", "GHSA-1"), "grouping_key": "x" }),
        ))
        .await;
    }
    bot.pop();
    let mut closed = alert("dependabot:acme/app:3", 3, "high", "GHSA-1");
    closed["state"] = json!("fixed");
    bot.push(domain_event(
        3,
        "alert.closed",
        json!({ "alert": closed, "action": "fixed", "actor": null }),
    ))
    .await;
    let out = bot.pop();
    assert_eq!(state_of(&bot, 1).await, "open");
    assert_eq!(
        notes(&out, 1),
        ["✔ github: alert closed (fixed): dependabot acme/app#3 (high, fixed): lodash: prototype pollution"]
    );

    bot.push(domain_event(
        4,
        "alert.reopened",
        json!({ "alert": alert("dependabot:acme/app:3", 3, "high", "GHSA-1") }),
    ))
    .await;
    assert!(
        field(&incident_message(&bot.pop(), 1).unwrap(), "Alerts").starts_with("dependabot acme/app#3 (high, open)")
    );

    for (n, number) in [(5, 3), (6, 4)] {
        let mut closed = alert(&format!("dependabot:acme/app:{number}"), number, "high", "GHSA-1");
        closed["state"] = json!("dismissed");
        bot.push(domain_event(
            n,
            "alert.closed",
            json!({ "alert": closed, "action": "dismissed", "actor": "octocat" }),
        ))
        .await;
    }
    let out = bot.pop();
    assert_eq!(state_of(&bot, 1).await, "resolved");
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "State"),
        "resolved by github at 2026-03-02 09:00 UTC"
    );
    assert_eq!(
        emitted(&bot, "incident.resolved").await,
        [
            json!({ "id": 1, "at": "2026-03-02T09:00:00Z", "by": "github", "summary": "every linked alert was closed on GitHub" })
        ]
    );
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM incident_timeline WHERE incident_id = 1 ORDER BY id")
        .fetch_all(bot.bot().pool())
        .await
        .unwrap();
    assert_eq!(
        kinds,
        [
            "declared",
            "alert_linked",
            "alert_closed",
            "alert_reopened",
            "alert_closed",
            "alert_closed",
            "acknowledged",
            "resolved"
        ]
    );
    bot.stop().await;
}

#[tokio::test]
async fn sla_deadlines_and_breaches_show_on_the_message_and_the_timeline() {
    let mut bot = start("").await;
    bot.command_as("alice", "/incident declare critical Token leak").await;
    bot.push(domain_event(
        1,
        "sla.planned",
        json!({ "incident_id": 1, "severity": "critical", "respond_by": "2026-03-02T09:15:00Z", "resolve_by": "2026-03-02T13:00:00Z" }),
    ))
    .await;
    let message = incident_message(&bot.pop(), 1).unwrap();
    assert_eq!(field(&message, "Respond by"), "2026-03-02 09:15 UTC — due in 15m");
    assert_eq!(field(&message, "Resolve by"), "2026-03-02 13:00 UTC — due in 4h");

    bot.advance(Duration::minutes(10)).await;
    bot.push(domain_event(
        2,
        "sla.warning",
        json!({ "incident_id": 1, "kind": "response", "deadline": "2026-03-02T09:15:00Z", "at": "2026-03-02T09:10:00Z" }),
    ))
    .await;
    bot.advance(Duration::minutes(6)).await;
    bot.push(domain_event(
        3,
        "sla.breached",
        json!({ "incident_id": 1, "kind": "response", "deadline": "2026-03-02T09:15:00Z", "at": "2026-03-02T09:15:00Z" }),
    ))
    .await;
    bot.push(domain_event(
        4,
        "sla.ping",
        json!({ "incident_id": 1, "level": "team_lead", "step": 1, "at": "2026-03-02T09:15:00Z", "mentions": ["team-lead"] }),
    ))
    .await;
    let out = bot.pop();
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "Respond by"),
        "2026-03-02 09:15 UTC — BREACHED (overdue by 1m)"
    );
    assert_eq!(
        notes(&out, 1),
        ["⏰ Incident #1: response SLA breached (deadline 2026-03-02 09:15 UTC)."]
    );
    let breached: (i64, i64) =
        sqlx::query_as("SELECT response_breached, resolution_breached FROM incidents WHERE id = 1")
            .fetch_one(bot.bot().pool())
            .await
            .unwrap();
    assert_eq!(breached, (1, 0));
    let out = bot.command_as("alice", "/incident timeline 1").await;
    assert_eq!(
        answer(&out),
        "Timeline of incident #1: Token leak\n\
         2026-03-02 09:00 UTC · alice · declared a critical incident: Token leak\n\
         2026-03-02 09:00 UTC · sla · SLA planned (critical): respond by 2026-03-02 09:15 UTC, resolve by 2026-03-02 13:00 UTC\n\
         2026-03-02 09:10 UTC · sla · response deadline 2026-03-02 09:15 UTC is near\n\
         2026-03-02 09:15 UTC · sla · response SLA breached (deadline 2026-03-02 09:15 UTC)\n\
         2026-03-02 09:15 UTC · sla · escalated to team_lead (step 1): team-lead"
    );

    // An SLA event for an incident that does not exist is ignored.
    bot.push(domain_event(
        5,
        "sla.breached",
        json!({ "incident_id": 99, "kind": "response" }),
    ))
    .await;
    assert!(bot.pop().is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn the_post_mortem_of_a_scripted_incident() {
    let mut bot = start("").await;
    bot.command_as("alice", "/incident declare high Leaked deploy token")
        .await;
    bot.push(domain_event(
        1,
        "sla.planned",
        json!({ "incident_id": 1, "severity": "high", "respond_by": "2026-03-02T09:30:00Z", "resolve_by": "2026-03-02T10:30:00Z" }),
    ))
    .await;
    bot.advance(Duration::minutes(5)).await;
    bot.command_as("bob", "/incident ack 1").await;
    bot.command_as("alice", "/incident commander 1 alice").await;
    bot.command_as("alice", "/incident assign 1 bob").await;
    bot.advance(Duration::minutes(10)).await;
    bot.command_as("alice", "/incident stage 1 containment").await;
    bot.advance(Duration::minutes(5)).await;
    bot.command_as("bob", "/incident check 1 2").await;
    bot.advance(Duration::minutes(40)).await;
    bot.command_as("alice", "/incident stage 1 recovery").await;
    bot.advance(Duration::minutes(60)).await;
    bot.command_as(
        "alice",
        "/incident resolve 1 Revoked the token and rotated every credential",
    )
    .await;
    bot.advance(Duration::minutes(30)).await;
    bot.command_as("alice", "/incident stage 1 lessons").await;
    bot.command_as("alice", "/incident check 1 document").await;

    let out = bot.command_as("alice", "/incident postmortem 1").await;
    assert_eq!(
        answer(&out),
        "Posted the post-mortem of incident #1 to #security-incidents."
    );
    let posted: Vec<&Printed> = out.iter().filter(|p| p.channel == CHANNEL).collect();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].kind, PrintedKind::New);
    assert_eq!(
        posted[0].message.title.as_deref(),
        Some("Post-mortem: incident #1 — Leaked deploy token")
    );
    let body = posted[0].message.body.clone().unwrap();
    assert_eq!(
        body,
        "# Post-mortem: incident #1 — Leaked deploy token

## Summary
Revoked the token and rotated every credential

- Severity: high
- State: resolved
- Commander: alice
- Assignee: bob
- Opened: 2026-03-02 09:00 UTC by alice
- Acknowledged: 2026-03-02 09:05 UTC by bob — time to acknowledge: 5m
- Resolved: 2026-03-02 11:00 UTC by alice — time to resolve: 2h

## SLA
- Response: met (deadline 2026-03-02 09:30 UTC)
- Resolution: breached (late by 30m) (deadline 2026-03-02 10:30 UTC)

## Time in each stage
- Detection & Analysis: 15m
- Containment & Mitigation: 45m
- Recovery: 1h 30m
- Lessons Learned: 0s (current)

## Linked alerts
- none

## Checklists
- Detection & Analysis: 0/4 done
  - [ ] Identify the nature and scope of the incident
  - [ ] Preserve evidence and logs
  - [ ] Assess potential data exposure
  - [ ] Document initial findings
- Containment & Mitigation: 1/5 done
  - [ ] Stop the affected service
  - [x] Rotate GitHub tokens (bob, 2026-03-02 09:20 UTC)
  - [ ] Generate a new webhook secret
  - [ ] Back up the logs for analysis
  - [ ] Clear temporary files
- Recovery: 0/6 done
  - [ ] Patch vulnerabilities
  - [ ] Update configurations
  - [ ] Rotate all credentials
  - [ ] Restart services
  - [ ] Verify system integrity
  - [ ] Resume normal operations
- Lessons Learned: 1/5 done

## Timeline
- 2026-03-02 09:00 UTC · alice · declared a high incident: Leaked deploy token
- 2026-03-02 09:00 UTC · sla · SLA planned (high): respond by 2026-03-02 09:30 UTC, resolve by 2026-03-02 10:30 UTC
- 2026-03-02 09:05 UTC · bob · acknowledged
- 2026-03-02 09:05 UTC · alice · named alice commander
- 2026-03-02 09:05 UTC · alice · assigned to bob
- 2026-03-02 09:15 UTC · alice · stage Detection & Analysis → Containment & Mitigation
- 2026-03-02 09:20 UTC · bob · ticked Containment & Mitigation 2. Rotate GitHub tokens
- 2026-03-02 10:00 UTC · alice · stage Containment & Mitigation → Recovery
- 2026-03-02 11:00 UTC · alice · resolved: Revoked the token and rotated every credential
- 2026-03-02 11:30 UTC · alice · stage Recovery → Lessons Learned
- 2026-03-02 11:30 UTC · alice · ticked Lessons Learned 1. Document incident details

## Lessons learned
- [x] Document incident details (alice, 2026-03-02 11:30 UTC)
- [ ] Update security procedures
- [ ] Enhance monitoring
- [ ] Conduct team training
- [ ] Review and test response plan
- What went well:
- What should change:
"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_global_advisory_without_a_repository_still_opens_an_incident() {
    let mut bot = start("").await;
    let mut advisory = alert(
        "security_advisory:GHSA-abcd-1234-wxyz",
        0,
        "critical",
        "GHSA-abcd-1234-wxyz",
    );
    advisory["repository"] = Value::Null;
    advisory["number"] = Value::Null;
    bot.push(domain_event(
        1,
        "alert.incident_requested",
        json!({ "alert": advisory, "grouping_key": "g" }),
    ))
    .await;
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM incidents").await, 1);
    let opened = emitted(&bot, "incident.opened").await;
    assert_eq!(opened[0]["repository"], Value::Null);
    assert_eq!(opened[0]["severity"], "critical");
}

// -------------------------------------------------------------------------------------------------
// The GitHub tracking issue, against a fake GitHub API

const REPO: &str = "acme/security-incidents";
const ISSUES: &str = "/repos/acme/security-incidents/issues";
const ISSUE_7: &str = "/repos/acme/security-incidents/issues/7";
const ISSUE_7_URL: &str = "https://github.com/acme/security-incidents/issues/7";

/// People with GitHub logins (bob has none).
const PEOPLE_ON_GITHUB: &str = r#"
[people.alice]
github = "alice-gh"
[people.bob]
[people.carol]
github = "carol-gh"
"#;

fn reply(status: u16, body: Value) -> Reply {
    Reply::new(status, body)
}

/// The answer GitHub gives to a created issue 7.
fn created_7() -> Reply {
    reply(201, json!({ "number": 7, "html_url": ISSUE_7_URL, "state": "open" }))
}

/// The core's GitHub settings pointing at `fake` (two attempts, 1s backoff), plus `tracking`.
fn tracking_config(fake: &FakeGitHub, tracking: &str) -> String {
    format!(
        "[github]\ntoken = \"ghp_test\"\napi_url = \"{}\"\nmax_attempts = 2\nretry_base = \"1s\"\nretry_max = \"2s\"\n\
         [plugins.incident_commander.tracking_issue]\n{tracking}\n",
        fake.url
    )
}

async fn start_tracking(fake: &FakeGitHub) -> TestBot {
    start_with(
        PEOPLE_ON_GITHUB,
        &tracking_config(fake, &format!("repository = \"{REPO}\"")),
    )
    .await
}

/// The keys of a request body, sorted.
fn keys(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

async fn timeline_of(bot: &TestBot, id: i64, kind: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT text FROM incident_timeline WHERE incident_id = ? AND kind = ? ORDER BY id")
        .bind(id)
        .bind(kind)
        .fetch_all(bot.bot().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_declared_incident_gets_a_tracking_issue_that_follows_every_change_and_the_post_mortem() {
    let fake = FakeGitHub::start().await.unwrap();
    fake.set(&format!("POST {ISSUES}"), vec![created_7()]);
    let mut bot = start_tracking(&fake).await;

    let out = bot
        .command_as("alice", "/incident declare high Leaked deploy token")
        .await;
    let posts = fake.bodies("POST", ISSUES);
    assert_eq!(posts.len(), 1, "{:#?}", fake.received());
    assert_eq!(posts[0]["title"], "[HIGH] Incident #1: Leaked deploy token");
    assert_eq!(posts[0]["labels"], json!(["security-incident", "severity:high"]));
    assert_eq!(posts[0]["assignees"], json!([]));
    assert_eq!(keys(&posts[0]), ["assignees", "body", "labels", "title"]);
    assert_eq!(
        posts[0]["body"],
        "Security incident #1, run in chat with Sentinel (`/incident show 1`). Sentinel keeps this \
         description, the state and the labels up to date; comments here are not read back.\n\
         \n\
         - **State:** open since 2026-03-02 09:00 UTC\n\
         - **Severity:** high\n\
         - **Commander:** —\n\
         - **Assignee:** —\n\
         - **Stage:** Detection & Analysis\n\
         - **Opened:** 2026-03-02 09:00 UTC by alice\n\
         \n\
         ### Linked alerts\n\
         - none\n\
         \n\
         <!-- sentinel:incident:1 -->\n"
    );
    // GitHub's answer puts the link on the message and the timeline; nothing changed meanwhile.
    let message = incident_message(&out, 1).unwrap();
    assert_eq!(
        field(&message, "Tracking issue"),
        format!("acme/security-incidents#7 — {ISSUE_7_URL}")
    );
    assert_eq!(
        timeline_of(&bot, 1, "tracking_issue").await,
        [format!(
            "created the tracking issue acme/security-incidents#7: {ISSUE_7_URL}"
        )]
    );
    assert!(fake.bodies("PATCH", ISSUE_7).is_empty());

    // People with a GitHub login become assignees; only what changed is sent.
    bot.command_as("alice", "/incident commander 1 alice").await;
    bot.command_as("alice", "/incident assign 1 bob").await;
    let patches = fake.bodies("PATCH", ISSUE_7);
    assert_eq!(patches.len(), 2, "{patches:#?}");
    assert_eq!(keys(&patches[0]), ["assignees", "body"]);
    assert_eq!(patches[0]["assignees"], json!(["alice-gh"]));
    let body = patches[0]["body"].as_str().unwrap();
    assert!(body.contains("- **Commander:** alice (@alice-gh)\n"), "{body}");
    // bob has no login: the body names him, the assignees stay.
    assert_eq!(keys(&patches[1]), ["body"]);
    assert!(patches[1]["body"].as_str().unwrap().contains("- **Assignee:** bob\n"));

    bot.advance(Duration::minutes(5)).await;
    bot.command_as("bob", "/incident ack 1").await;
    let ack = fake.bodies("PATCH", ISSUE_7).pop().unwrap();
    assert_eq!(keys(&ack), ["body"]);
    assert!(
        ack["body"]
            .as_str()
            .unwrap()
            .contains("- **State:** acknowledged by bob at 2026-03-02 09:05 UTC\n")
    );

    // A severity change renames the issue and swaps the severity label.
    bot.command_as("alice", "/incident severity 1 critical").await;
    let severity = fake.bodies("PATCH", ISSUE_7).pop().unwrap();
    assert_eq!(keys(&severity), ["body", "labels", "title"]);
    assert_eq!(severity["title"], "[CRITICAL] Incident #1: Leaked deploy token");
    assert_eq!(severity["labels"], json!(["security-incident", "severity:critical"]));

    // A checklist tick changes nothing the issue shows: no request.
    let before = fake.received().len();
    bot.command_as("bob", "/incident check 1 1").await;
    assert_eq!(fake.received().len(), before);

    bot.command_as("alice", "/incident stage 1 containment").await;
    let stage = fake.bodies("PATCH", ISSUE_7).pop().unwrap();
    assert!(
        stage["body"]
            .as_str()
            .unwrap()
            .contains("- **Stage:** Containment & Mitigation\n")
    );

    // Resolve closes the issue as completed, reopen opens it, close keeps it closed.
    bot.advance(Duration::minutes(30)).await;
    bot.command_as("alice", "/incident resolve 1 Revoked the token").await;
    let resolved = fake.bodies("PATCH", ISSUE_7).pop().unwrap();
    assert_eq!(keys(&resolved), ["body", "state", "state_reason"]);
    assert_eq!(resolved["state"], "closed");
    assert_eq!(resolved["state_reason"], "completed");
    assert!(
        resolved["body"]
            .as_str()
            .unwrap()
            .contains("- **Summary:** Revoked the token\n")
    );
    bot.command_as("alice", "/incident reopen 1").await;
    let reopened = fake.bodies("PATCH", ISSUE_7).pop().unwrap();
    assert_eq!(keys(&reopened), ["body", "state"]);
    assert_eq!(reopened["state"], "open");
    bot.command_as("alice", "/incident resolve 1").await;
    bot.command_as("alice", "/incident close 1").await;
    let closed = fake.bodies("PATCH", ISSUE_7).pop().unwrap();
    assert_eq!(keys(&closed), ["body"]);
    assert!(
        closed["body"]
            .as_str()
            .unwrap()
            .contains("- **State:** closed by alice at 2026-03-02 09:35 UTC\n")
    );

    // The post-mortem goes to the channel and, as a comment, to the issue.
    let out = bot.command_as("alice", "/incident postmortem 1").await;
    assert_eq!(
        answer(&out),
        "Posted the post-mortem of incident #1 to #security-incidents and to the tracking issue \
         acme/security-incidents#7."
    );
    let comments = fake.bodies("POST", &format!("{ISSUE_7}/comments"));
    assert_eq!(comments.len(), 1);
    let comment = comments[0]["body"].as_str().unwrap();
    assert!(
        comment.starts_with("# Post-mortem: incident #1 — Leaked deploy token\n\n## Summary\nRevoked the token"),
        "{comment}"
    );
    assert_eq!(
        timeline_of(&bot, 1, "tracking_issue").await.last().unwrap(),
        "posted the post-mortem to the tracking issue acme/security-incidents#7"
    );

    // One issue, ever; no failure.
    assert_eq!(fake.bodies("POST", ISSUES).len(), 1);
    assert!(timeline_of(&bot, 1, "tracking_failed").await.is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn changes_made_before_github_answers_the_create_are_sent_once_the_issue_number_arrives() {
    let fake = FakeGitHub::start().await.unwrap();
    // The first attempt fails with a server error; the core's worker tries again a second later.
    fake.set(
        &format!("POST {ISSUES}"),
        vec![reply(502, json!({ "message": "Bad Gateway" })), created_7()],
    );
    let mut bot = start_tracking(&fake).await;

    bot.command_as("alice", "/incident declare medium Suspicious webhook deliveries")
        .await;
    assert_eq!(fake.bodies("POST", ISSUES).len(), 1);
    // While the create is unanswered nothing else is sent, and nothing is lost.
    bot.command_as("alice", "/incident commander 1 carol").await;
    bot.command_as("alice", "/incident resolve 1 Deliveries were from a test hook")
        .await;
    let out = bot.command_as("alice", "/incident postmortem 1").await;
    assert_eq!(
        answer(&out),
        "Posted the post-mortem of incident #1 to #security-incidents; the tracking issue in \
         acme/security-incidents gets it once GitHub has created it."
    );
    assert_eq!(fake.received().len(), 1, "{:#?}", fake.received());

    let out = bot.advance(Duration::seconds(2)).await;
    let posts = fake.bodies("POST", ISSUES);
    assert_eq!(posts.len(), 2, "the same create, retried");
    assert_eq!(posts[0], posts[1]);
    // The create was made with the incident as it was then; the difference follows it.
    assert_eq!(posts[0]["assignees"], json!([]));
    let patches = fake.bodies("PATCH", ISSUE_7);
    assert_eq!(patches.len(), 1, "{:#?}", fake.received());
    assert_eq!(keys(&patches[0]), ["assignees", "body", "state", "state_reason"]);
    assert_eq!(patches[0]["state"], "closed");
    assert_eq!(patches[0]["assignees"], json!(["carol-gh"]));
    let comments = fake.bodies("POST", &format!("{ISSUE_7}/comments"));
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]["body"]
            .as_str()
            .unwrap()
            .starts_with("# Post-mortem: incident #1 — Suspicious webhook deliveries")
    );
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "Tracking issue"),
        format!("acme/security-incidents#7 — {ISSUE_7_URL}")
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_refused_create_is_noted_once_and_tried_again_with_the_next_change() {
    let fake = FakeGitHub::start().await.unwrap();
    fake.set(
        &format!("POST {ISSUES}"),
        vec![
            reply(422, json!({ "message": "Validation Failed" })),
            reply(422, json!({ "message": "Validation Failed" })),
            created_7(),
        ],
    );
    let mut bot = start_tracking(&fake).await;

    let out = bot
        .command_as("alice", "/incident declare high Leaked deploy token")
        .await;
    assert_eq!(
        fake.bodies("POST", ISSUES).len(),
        1,
        "a refusal is not retried by the worker"
    );
    assert_eq!(
        notes(&out, 1),
        [
            "⚠️ Incident #1: Could not create the tracking issue in acme/security-incidents: GitHub answered 422 \
          Unprocessable Entity: Validation Failed. The incident goes on here. Sentinel tries again with the \
          incident's next change."
        ]
    );
    assert!(incident_message(&out, 1).is_some());

    // The next change tries again; the same failure is not announced twice.
    let out = bot.command_as("bob", "/incident ack 1").await;
    assert_eq!(fake.bodies("POST", ISSUES).len(), 2);
    assert_eq!(notes(&out, 1), ["✅ bob acknowledged incident #1."]);
    assert_eq!(state_of(&bot, 1).await, "acknowledged");
    assert_eq!(timeline_of(&bot, 1, "tracking_failed").await.len(), 2);

    // The third attempt works: one issue, created with the incident as it is now.
    let out = bot.command_as("alice", "/incident update 1 Token revoked").await;
    let posts = fake.bodies("POST", ISSUES);
    assert_eq!(posts.len(), 3);
    assert!(
        posts[2]["body"]
            .as_str()
            .unwrap()
            .contains("- **State:** acknowledged by bob at 2026-03-02 09:00 UTC\n")
    );
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "Tracking issue"),
        format!("acme/security-incidents#7 — {ISSUE_7_URL}")
    );
    bot.command_as("alice", "/incident severity 1 low").await;
    assert_eq!(fake.bodies("POST", ISSUES).len(), 3, "no duplicate issue");
    assert_eq!(fake.bodies("PATCH", ISSUE_7).len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_create_that_failed_on_the_server_is_not_repeated_and_failed_updates_are_noted_once() {
    let fake = FakeGitHub::start().await.unwrap();
    fake.set(
        &format!("POST {ISSUES}"),
        vec![reply(500, json!({ "message": "Internal Server Error" }))],
    );
    let mut bot = start_tracking(&fake).await;

    bot.command_as("alice", "/incident declare critical Signing key exposed")
        .await;
    // The worker retries once (max_attempts = 2), then gives up.
    let out = bot.advance(Duration::seconds(2)).await;
    assert_eq!(fake.bodies("POST", ISSUES).len(), 2);
    assert_eq!(
        notes(&out, 1),
        [
            "⚠️ Incident #1: Could not create the tracking issue in acme/security-incidents: gave up after 2 attempts: \
          GitHub answered 500 Internal Server Error: Internal Server Error. The incident goes on here. Sentinel \
          will not try again, since GitHub may have created it anyway: check the repository."
        ]
    );
    // GitHub may hold an issue already: later changes never create a second one.
    bot.command_as("bob", "/incident ack 1").await;
    bot.command_as("alice", "/incident resolve 1").await;
    bot.advance(Duration::seconds(5)).await;
    assert_eq!(fake.bodies("POST", ISSUES).len(), 2);
    assert_eq!(state_of(&bot, 1).await, "resolved");
    assert_eq!(
        timeline_of(&bot, 1, "tracking_failed").await,
        [
            "Could not create the tracking issue in acme/security-incidents: gave up after 2 attempts: GitHub \
          answered 500 Internal Server Error: Internal Server Error"
        ]
    );

    // A second incident's issue is created; its updates fail, are noted once, and the update after
    // a failure sends every field.
    fake.set(
        &format!("POST {ISSUES}"),
        vec![reply(
            201,
            json!({ "number": 8, "html_url": "https://github.com/acme/security-incidents/issues/8" }),
        )],
    );
    let issue_8 = "/repos/acme/security-incidents/issues/8";
    fake.set(
        &format!("PATCH {issue_8}"),
        vec![reply(404, json!({ "message": "Not Found" }))],
    );
    bot.command_as("alice", "/incident declare high Second incident").await;
    let out = bot.command_as("bob", "/incident ack 2").await;
    assert_eq!(
        notes(&out, 2),
        [
            "✅ bob acknowledged incident #2.",
            "⚠️ Incident #2: Could not update the tracking issue acme/security-incidents#8: GitHub answered 404 \
             Not Found: Not Found. The incident goes on here. Sentinel sends the whole issue again with the \
             incident's next change."
        ]
    );
    let out = bot.command_as("alice", "/incident assign 2 carol").await;
    assert_eq!(notes(&out, 2), ["👤 alice assigned incident #2 to carol."]);
    let patches = fake.bodies("PATCH", issue_8);
    assert_eq!(patches.len(), 2);
    assert_eq!(keys(&patches[0]), ["body"]);
    assert_eq!(keys(&patches[1]), ["assignees", "body", "labels", "state", "title"]);
    assert_eq!(timeline_of(&bot, 2, "tracking_failed").await.len(), 2);

    // Once GitHub accepts again, a later failure is announced again.
    fake.set(
        &format!("PATCH {issue_8}"),
        vec![reply(200, json!({})), reply(500, json!({ "message": "boom" }))],
    );
    let out = bot.command_as("alice", "/incident commander 2 alice").await;
    assert!(notes(&out, 2).iter().all(|n| !n.starts_with("⚠️")), "{out:#?}");
    bot.command_as("alice", "/incident severity 2 critical").await;
    let out = bot.advance(Duration::seconds(2)).await;
    assert_eq!(notes(&out, 2).len(), 1, "{out:#?}");
    assert!(notes(&out, 2)[0].starts_with("⚠️ Incident #2: Could not update the tracking issue"));
    assert_eq!(state_of(&bot, 2).await, "acknowledged");
    bot.stop().await;
}

#[tokio::test]
async fn without_a_tracking_repository_no_github_request_is_made() {
    let fake = FakeGitHub::start().await.unwrap();
    let mut bot = start_with(PEOPLE_ON_GITHUB, &tracking_config(&fake, "labels = [\"incident\"]")).await;
    let out = bot.command_as("alice", "/incident declare high Token leak").await;
    let message = incident_message(&out, 1).unwrap();
    assert!(
        message.fields.iter().all(|f| f.name != "Tracking issue"),
        "{message:#?}"
    );
    bot.command_as("alice", "/incident commander 1 alice").await;
    bot.command_as("bob", "/incident ack 1").await;
    bot.command_as("alice", "/incident resolve 1 Fixed").await;
    let out = bot.command_as("alice", "/incident postmortem 1").await;
    assert_eq!(
        answer(&out),
        "Posted the post-mortem of incident #1 to #security-incidents."
    );
    bot.advance(Duration::minutes(1)).await;
    assert!(fake.received().is_empty(), "{:#?}", fake.received());
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM incident_tracking").await, 0);
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM github_requests").await, 0);
    bot.stop().await;
}

#[tokio::test]
async fn a_tracking_repository_must_be_org_slash_repo() {
    for bad in [
        "security-incidents",
        "acme/",
        "acme/sec/incidents",
        "acme/sec incidents",
    ] {
        let text = format!("{PEOPLE}[plugins.incident_commander.tracking_issue]\nrepository = \"{bad}\"\n");
        let config =
            sentinel_bot::config::load::from_table(sentinel_bot::config::load::parse_table(&text, "t").unwrap())
                .unwrap();
        let errors = IncidentConfig::from_config(&config, IncidentCommander::NAME).unwrap_err();
        assert_eq!(errors.len(), 1, "{bad}");
        assert_eq!(errors[0].key, "plugins.incident_commander.tracking_issue.repository");
        assert_eq!(
            errors[0].message,
            format!("`{bad}` is not a repository: expected `org/repo`, e.g. \"acme/security-incidents\"")
        );
    }
    let text = format!("{PEOPLE}[plugins.incident_commander.tracking_issue]\nrepository = \"acme/sec.incidents_1\"\n");
    let config =
        sentinel_bot::config::load::from_table(sentinel_bot::config::load::parse_table(&text, "t").unwrap()).unwrap();
    let section = IncidentConfig::from_config(&config, IncidentCommander::NAME).unwrap();
    assert_eq!(section.tracking_issue.repository(), Some("acme/sec.incidents_1"));
}

// ---- Per-incident spaces ----

/// `PEOPLE` plus a `responders` group to invite.
fn people_with_responders() -> String {
    format!("{PEOPLE}[groups.responders]\nmembers = [\"bob\", \"carol\"]\n")
}

const SQL_SPACE: &str = "inc-1-sql-injection-in-the-login-form";

fn spaces_on(extra: &str) -> String {
    format!("[plugins.incident_commander.space]\nenabled = true\n{extra}")
}

/// What `printed` shows in `channel` (a space prints under its name), openings left out.
fn shown_in<'a>(printed: &'a [Printed], channel: &str) -> Vec<&'a Printed> {
    printed
        .iter()
        .filter(|p| p.channel == channel && !matches!(p.kind, PrintedKind::Opened { .. }))
        .collect()
}

/// The `── opened … ──` lines among `printed`.
fn openings(printed: &[Printed]) -> Vec<String> {
    printed
        .iter()
        .filter(|p| matches!(p.kind, PrintedKind::Opened { .. }))
        .map(|p| p.text.clone())
        .collect()
}

/// The private copy of an incident's message `show` answered with.
fn shown_privately(printed: &[Printed]) -> Message {
    let copies: Vec<&Printed> = printed
        .iter()
        .filter(|p| matches!(p.kind, PrintedKind::Ephemeral { .. }))
        .collect();
    assert_eq!(copies.len(), 1, "{printed:#?}");
    copies[0].message.clone()
}

#[tokio::test]
async fn without_spaces_enabled_nothing_opens_and_the_channel_is_as_before() {
    // A section that only renames the prefix leaves spaces off.
    let mut bot = start_with(
        &people_with_responders(),
        "[plugins.incident_commander.space]\nname_prefix = \"sec\"\ninvite = [\"responders\"]\n",
    )
    .await;
    let mut all = bot
        .command_as("alice", "/incident declare critical SQL injection in the login form")
        .await;
    assert_eq!(
        answer(&all),
        "Declared incident #1 (critical): SQL injection in the login form. It is in #security-incidents; \
         acknowledge it with /incident ack 1"
    );
    let message = incident_message(&all, 1).unwrap();
    assert!(message.fields.iter().all(|f| f.name != "Space"), "{message:#?}");
    all.extend(bot.command_as("bob", "/incident ack 1").await);
    all.extend(bot.command_as("alice", "/incident stage 1 containment").await);
    all.extend(bot.command_as("alice", "/incident resolve 1 Patched").await);
    assert_eq!(openings(&all), Vec::<String>::new());
    for p in &all {
        assert!(p.channel == CHANNEL || p.channel == "console", "{p:#?}");
    }
    let out = bot.command_as("alice", "/incident show 1").await;
    let copy = shown_privately(&out);
    assert!(copy.fields.iter().all(|f| f.name != "Space"), "{copy:#?}");
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM spaces").await, 0);
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM outbox WHERE op = 'space'").await, 0);
    assert_eq!(
        count(&bot, "SELECT COUNT(*) FROM incident_timeline WHERE kind = 'space'").await,
        0
    );
    bot.stop().await;
}

#[tokio::test]
async fn an_enabled_space_opens_with_the_incident_and_its_message_follows_every_change_in_place() {
    let mut bot = start_with(&people_with_responders(), &spaces_on("invite = [\"responders\"]\n")).await;

    let out = bot
        .command_as("alice", "/incident declare high SQL injection in the login form")
        .await;
    assert_eq!(
        openings(&out),
        [format!(
            "── opened #{SQL_SPACE} (space incident-1) ──\nwith @responders @alice"
        )]
    );
    let opened = out
        .iter()
        .find(|p| matches!(p.kind, PrintedKind::Opened { .. }))
        .unwrap();
    assert_eq!(
        opened.kind,
        PrintedKind::Opened {
            space: "incident-1".into()
        }
    );
    assert_eq!(opened.channel, SQL_SPACE);
    assert_eq!(
        answer(&out),
        format!(
            "Declared incident #1 (high): SQL injection in the login form. It is in #security-incidents and \
             #{SQL_SPACE}; acknowledge it with /incident ack 1"
        )
    );
    // The incident channel: one message, as before, now naming the space.
    let main = shown_in(&out, CHANNEL);
    assert_eq!(main.len(), 1, "{main:#?}");
    assert_eq!(field(&main[0].message, "Space"), format!("#{SQL_SPACE}"));
    // The space: the same message, keyed the same way.
    let space = shown_in(&out, SQL_SPACE);
    assert_eq!(space.len(), 1, "{space:#?}");
    assert_eq!(space[0].kind, PrintedKind::New);
    let first = space[0].message_id.clone();
    let message = &space[0].message;
    assert_eq!(message.key.as_ref().map(|k| k.as_str()), Some("incident:1"));
    assert_eq!(
        message.title.as_deref(),
        Some("Incident #1: SQL injection in the login form")
    );
    assert_eq!(field(message, "State"), "open since 2026-03-02 09:00 UTC");
    assert_eq!(field(message, "Space"), format!("#{SQL_SPACE}"));
    assert_eq!(
        &button_ids(message)[..3],
        ["incident.ack 1", "incident.resolve 1", "incident.escalate 1"]
    );

    // Acknowledged: the space's message is edited in place and the note is posted there too.
    bot.advance(Duration::minutes(5)).await;
    let out = bot.command_as("bob", "/incident ack 1").await;
    assert_eq!(openings(&out), Vec::<String>::new(), "opened once");
    let space = shown_in(&out, SQL_SPACE);
    assert_eq!(space.len(), 2, "{space:#?}");
    assert_eq!(space[0].kind, PrintedKind::Edit);
    assert_eq!(space[0].message_id, first, "the same message is edited");
    assert_eq!(
        field(&space[0].message, "State"),
        "acknowledged by bob at 2026-03-02 09:05 UTC"
    );
    assert_eq!(space[1].kind, PrintedKind::New);
    assert_eq!(space[1].message.text, "✅ bob acknowledged incident #1.");
    // The incident channel is as it is without a space: its message edited, the note in its thread.
    assert_eq!(notes(&out, 1), ["✅ bob acknowledged incident #1."]);
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "State"),
        "acknowledged by bob at 2026-03-02 09:05 UTC"
    );

    // Stage checklists and the people named later reach the space.
    let out = bot.command_as("alice", "/incident stage 1 containment").await;
    let space = shown_in(&out, SQL_SPACE);
    assert_eq!(space.len(), 2, "{space:#?}");
    assert_eq!(field(&space[0].message, "Stage"), "Containment & Mitigation (0/5 done)");
    assert_eq!(
        space[1].message.text,
        "🧭 alice moved incident #1 to Containment & Mitigation.\n\
         Containment & Mitigation checklist (0/5 done):\n\
         ☐ 1. Stop the affected service\n\
         ☐ 2. Rotate GitHub tokens\n\
         ☐ 3. Generate a new webhook secret\n\
         ☐ 4. Back up the logs for analysis\n\
         ☐ 5. Clear temporary files"
    );
    let out = bot.command_as("alice", "/incident commander 1 carol").await;
    let space = shown_in(&out, SQL_SPACE);
    assert_eq!(field(&space[0].message, "Commander"), "carol");
    assert_eq!(space[1].message.text, "🎖 alice named carol commander of incident #1.");
    assert_eq!(
        space[1].message.mentions,
        [sentinel_bot::Mention::Person("carol".into())],
        "mentioned in the space, which brings her into a Discord thread"
    );
    assert_eq!(openings(&out), Vec::<String>::new());

    // Resolved: edited in place again.
    bot.advance(Duration::minutes(30)).await;
    let out = bot.command_as("alice", "/incident resolve 1 Patched the query").await;
    let space = shown_in(&out, SQL_SPACE);
    assert_eq!(space.len(), 2, "{space:#?}");
    assert_eq!(space[0].kind, PrintedKind::Edit);
    assert_eq!(space[0].message_id, first);
    assert_eq!(
        field(&space[0].message, "State"),
        "resolved by alice at 2026-03-02 09:35 UTC"
    );
    assert_eq!(field(&space[0].message, "Summary"), "Patched the query");
    assert!(!button_ids(&space[0].message).contains(&"incident.resolve 1".to_owned()));
    assert_eq!(
        space[1].message.text,
        "🏁 alice resolved incident #1: Patched the query"
    );

    // `show` and the timeline name the space.
    let out = bot.command_as("dave", "/incident show 1").await;
    assert_eq!(field(&shown_privately(&out), "Space"), format!("#{SQL_SPACE}"));
    assert!(shown_in(&out, SQL_SPACE).is_empty(), "show posts nothing");
    let out = bot.command_as("dave", "/incident timeline 1").await;
    assert!(
        answer(&out).contains(&format!(
            "2026-03-02 09:00 UTC · sentinel · opened the space #{SQL_SPACE} with responders, alice"
        )),
        "{}",
        answer(&out)
    );

    // After a restart, a reopened incident keeps its space: nothing opens again.
    bot.restart().await.unwrap();
    let out = bot.command_as("alice", "/incident reopen 1").await;
    assert_eq!(openings(&out), Vec::<String>::new());
    let space = shown_in(&out, SQL_SPACE);
    assert_eq!(space.len(), 2, "{space:#?}");
    assert_eq!(space[0].kind, PrintedKind::Edit);
    assert_eq!(space[0].message_id, first);
    assert_eq!(
        field(&space[0].message, "State"),
        "acknowledged by bob at 2026-03-02 09:05 UTC"
    );
    assert_eq!(space[1].message.text, "🔁 alice reopened incident #1.");

    // The post-mortem goes to both.
    let out = bot.command_as("alice", "/incident postmortem 1").await;
    assert_eq!(
        answer(&out),
        format!("Posted the post-mortem of incident #1 to #security-incidents and #{SQL_SPACE}.")
    );
    let space = shown_in(&out, SQL_SPACE);
    assert_eq!(space.len(), 1, "{space:#?}");
    assert_eq!(
        space[0].message.title.as_deref(),
        Some("Post-mortem: incident #1 — SQL injection in the login form")
    );

    assert_eq!(count(&bot, "SELECT COUNT(*) FROM outbox WHERE op = 'space'").await, 1);
    assert_eq!(
        count(&bot, "SELECT COUNT(*) FROM incident_timeline WHERE kind = 'space'").await,
        1
    );
    bot.stop().await;
}

const SPACE_ROLES: &str = r#"[plugins.incident_commander.roles]
responder = ["responders"]
commander = ["team-lead"]
"#;

#[tokio::test]
async fn a_space_opens_only_at_or_above_min_severity_and_once_the_severity_is_raised_to_it() {
    let config = format!("{SPACE_ROLES}{}", spaces_on("min_severity = \"high\"\n"));
    let mut bot = start_with(&people_with_responders(), &config).await;

    let out = bot
        .command_as("alice", "/incident declare medium Suspicious pushes to main")
        .await;
    assert_eq!(openings(&out), Vec::<String>::new());
    assert_eq!(
        answer(&out),
        "Declared incident #1 (medium): Suspicious pushes to main. It is in #security-incidents; \
         acknowledge it with /incident ack 1"
    );
    let message = incident_message(&out, 1).unwrap();
    assert!(message.fields.iter().all(|f| f.name != "Space"), "{message:#?}");
    let out = bot.command_as("alice", "/incident commander 1 carol").await;
    assert_eq!(openings(&out), Vec::<String>::new());
    assert!(
        out.iter().all(|p| p.channel == CHANNEL || p.channel == "console"),
        "{out:#?}"
    );

    // Raised to the threshold: the space opens now, with the roles (the default invite), the
    // declarer and the commander already named.
    bot.advance(Duration::minutes(3)).await;
    let out = bot.command_as("alice", "/incident severity 1 high").await;
    assert_eq!(
        openings(&out),
        ["── opened #inc-1-suspicious-pushes-to-main (space incident-1) ──\n\
          with @responders @team-lead @alice @carol"]
    );
    let space = shown_in(&out, "inc-1-suspicious-pushes-to-main");
    assert_eq!(space.len(), 2, "{space:#?}");
    assert_eq!(space[0].kind, PrintedKind::New);
    assert_eq!(field(&space[0].message, "Severity"), "high");
    assert_eq!(field(&space[0].message, "Commander"), "carol");
    assert_eq!(
        space[1].message.text,
        "🟠 alice changed the severity of incident #1: medium → high."
    );
    assert_eq!(
        field(&incident_message(&out, 1).unwrap(), "Space"),
        "#inc-1-suspicious-pushes-to-main"
    );
    // Lowered again, it keeps its space.
    let out = bot.command_as("alice", "/incident severity 1 low").await;
    assert_eq!(openings(&out), Vec::<String>::new());
    assert_eq!(
        field(
            &shown_in(&out, "inc-1-suspicious-pushes-to-main")[0].message,
            "Severity"
        ),
        "low"
    );

    // An alert at the threshold opens an incident with its space at once; `sentinel` is no person.
    bot.push(domain_event(
        1,
        "alert.incident_requested",
        json!({ "alert": alert("dependabot:acme/app:3", 3, "critical", "GHSA-35jh-r3h4-6jhm") }),
    ))
    .await;
    let out = bot.pop();
    assert_eq!(
        openings(&out),
        [
            "── opened #inc-2-lodash-prototype-pollution-acme-app (space incident-2) ──\n\
          with @responders @team-lead"
        ]
    );
    let space = shown_in(&out, "inc-2-lodash-prototype-pollution-acme-app");
    assert_eq!(space.len(), 1, "{space:#?}");
    assert_eq!(
        field(&space[0].message, "Alerts"),
        "dependabot acme/app#3 (critical, open): lodash: prototype pollution"
    );
    // A low incident declared now still gets none.
    let out = bot.command_as("bob", "/incident declare low Odd login").await;
    assert_eq!(openings(&out), Vec::<String>::new());
    assert_eq!(count(&bot, "SELECT COUNT(*) FROM outbox WHERE op = 'space'").await, 2);
    bot.stop().await;
}

#[tokio::test]
async fn space_settings_are_checked_at_start_up() {
    let errors_of = |section: &str| {
        let text = format!(
            "{}[plugins.incident_commander.space]\n{section}",
            people_with_responders()
        );
        let config =
            sentinel_bot::config::load::from_table(sentinel_bot::config::load::parse_table(&text, "t").unwrap())
                .unwrap();
        IncidentConfig::from_config(&config, IncidentCommander::NAME)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| format!("{}: {}", e.key, e.message))
            .collect::<Vec<_>>()
    };
    let prefix_error = |prefix: &str| {
        format!(
            "plugins.incident_commander.space.name_prefix: `{prefix}` is not a name prefix: use 1 to 20 lowercase \
             letters, digits, `-` or `_`, e.g. \"inc\""
        )
    };
    assert_eq!(
        errors_of("enabled = true\nname_prefix = \"Inc 1\"\ninvite = [\"responders\", \"everyone\", \"alcie\"]\n"),
        [
            prefix_error("Inc 1"),
            "plugins.incident_commander.space.invite: `everyone` cannot be invited to a space: list [people] keys \
             or [groups] names"
                .to_owned(),
            "plugins.incident_commander.space.invite: `alcie` is neither a [people] key nor a [groups] name".to_owned(),
        ]
    );
    assert_eq!(errors_of("name_prefix = \"\"\n"), [prefix_error("")]);
    let long = "a".repeat(21);
    assert_eq!(errors_of(&format!("name_prefix = \"{long}\"\n")), [prefix_error(&long)]);
    let unknown = errors_of("enabled = true\nmin_severity = \"urgent\"\n");
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    assert!(
        unknown[0].contains("min_severity") || unknown[0].contains("urgent"),
        "{unknown:?}"
    );
    let typo = errors_of("enable = true\n");
    assert_eq!(typo.len(), 1, "{typo:?}");
    assert!(typo[0].contains("enable"), "{typo:?}");
    assert_eq!(
        errors_of(
            "enabled = true\nmin_severity = \"critical\"\nname_prefix = \"sec_inc-2\"\ninvite = [\"bob\", \"team-lead\"]\n"
        ),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_refused_operation_is_a_user_error_answered_privately_with_the_usage_line() {
    let mut bot = start("").await;
    bot.command_as("alice", "/incident declare high Token leak").await;
    bot.command_as("alice", "/incident ack 1").await;

    let out = bot.command_as("bob", "/incident ack 1").await;
    assert!(
        answer(&out).starts_with("Incident #1 is already acknowledged (by alice at "),
        "{out:#?}"
    );
    let out = bot.command_as("bob", "/incident severity 7 low").await;
    let text = answer(&out);
    assert!(
        text.starts_with("There is no incident #7. Open incidents: #1."),
        "{text}"
    );
    assert!(text.contains("\nUsage: /incident severity"), "{text}");
    // Nothing was written for them, and the dispatcher counted both as the user's mistake (like
    // /sla and /audit), not as handled.
    assert_eq!(
        count(&bot, "SELECT COUNT(*) FROM incident_timeline WHERE incident_id = 1").await,
        2
    );
    let metrics = bot.bot().shared().metrics.encode();
    assert!(
        metrics.contains("plugin=\"incident_commander\",result=\"user_error\"} 2"),
        "{metrics}"
    );
    bot.stop().await;
}
