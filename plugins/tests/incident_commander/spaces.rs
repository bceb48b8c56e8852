//! Per-incident spaces: off unless enabled, opened with the incident (at or above `min_severity`),
//! the incident's message following every change there too, settings checked at start-up.

use super::*;

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
        let config = support::config(&text);
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
