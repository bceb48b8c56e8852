//! The notifier's side of incidents: the domain events it announces, and the acknowledge and
//! open-incident buttons.

use super::*;

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
