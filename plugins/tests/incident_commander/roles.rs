//! Who may do what: the responder, commander and admin roles, refusals logged as security events,
//! and role members nobody knows refused at start-up.

use super::*;

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
    let config = support::config(&text);
    let errors = IncidentConfig::from_config(&config, IncidentCommander::NAME).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "plugins.incident_commander.roles.commander");
    assert!(errors[0].message.contains("`alcie`"), "{}", errors[0].message);
}
