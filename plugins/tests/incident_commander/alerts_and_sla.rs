//! What other plugins tell the commander: alerts open incidents (or join an open one of the same
//! advisory) and resolve them when all are closed; SLA deadlines and breaches show on the message.

use super::*;

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
