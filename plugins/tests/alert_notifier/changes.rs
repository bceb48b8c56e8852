//! An alert's later changes: one message edited in place with notes in its thread, repeats
//! delivered again, a secret found in a new place.

use super::*;

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
