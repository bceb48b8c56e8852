//! Declaring an incident, changing who leads it and how severe it is, and reading incidents back:
//! one message edited in place, notes in its thread, private answers to the caller.

use super::*;

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
