//! Routing: channels and mentions by severity, repository and source; configuration errors by key
//! through the registry.

use super::*;

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

#[test]
fn the_registry_builds_the_notifier_and_reports_its_configuration_errors_by_key() {
    let plugins = sentinel_plugins::build(&config("")).unwrap();
    assert!(plugins.iter().any(|p| p.name() == "alert_notifier"));
    assert!(sentinel_plugins::registry::KNOWN.contains(&"alert_notifier"));
    // Only the notifier's own errors: other plugins judge their own sections.
    let errors = |text: &str| -> Vec<String> {
        match sentinel_plugins::build(&config(text)) {
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
