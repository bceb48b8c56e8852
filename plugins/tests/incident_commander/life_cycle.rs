//! Stages with their checklists, the life cycle's transitions (and the ones it refuses), and bad or
//! refused input answered privately with what was wrong.

use super::*;

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
