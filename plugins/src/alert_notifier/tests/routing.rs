//! Routes: which channels and mentions an alert gets, and the section's defaults and errors.

use super::*;

const PEOPLE: &str = r#"
[people.alice]
github = "alice"
[people.bob]
github = "bob"
[groups.security-champions]
members = ["alice"]
[groups.payments-team]
members = ["bob"]
"#;

fn routed(routes: &str, alert: &Alert) -> Vec<route::Destination> {
    let config = bot_config(&format!("{PEOPLE}\n[plugins.alert_notifier]\n{routes}"));
    let notifier = notifier_config(&config).unwrap();
    let directory = sentinel_bot::chat::Directory::from_config(&config);
    route::destinations(&notifier, alert, &directory)
}

#[test]
fn no_route_means_the_default_channel_without_mentions() {
    let alert = fixture("dependabot_alert.created.json").alert;
    assert_eq!(routed("", &alert), [dest("security-incidents", &[])]);
    assert_eq!(routed("channel = \"alerts\"", &alert), [dest("alerts", &[])]);
    let unmatched = "[[plugins.alert_notifier.routes]]\nseverity = [\"critical\"]\nchannels = [\"pager\"]";
    assert_eq!(routed(unmatched, &alert), [dest("security-incidents", &[])]);
}

#[test]
fn the_first_matching_route_wins_and_continue_keeps_looking() {
    use sentinel_bot::Mention;
    // wolfy1339/pika-pack, dependabot, medium.
    let alert = fixture("dependabot_alert.created.json").alert;
    let routes = r#"
[[plugins.alert_notifier.routes]]
severity = ["critical"]
channels = ["pager"]
[[plugins.alert_notifier.routes]]
repository = "wolfy1339/*"
channels = ["team-wolfy", "security-incidents"]
mention = ["security-champions", "bob"]
continue = true
[[plugins.alert_notifier.routes]]
source = ["dependabot"]
channels = ["dependencies"]
mention = ["alice"]
[[plugins.alert_notifier.routes]]
channels = ["never-reached"]
"#;
    assert_eq!(
        routed(routes, &alert),
        [
            dest(
                "team-wolfy",
                &[
                    Mention::Group("security-champions".into()),
                    Mention::Person("bob".into())
                ]
            ),
            dest(
                "security-incidents",
                &[
                    Mention::Group("security-champions".into()),
                    Mention::Person("bob".into())
                ]
            ),
            dest("dependencies", &[Mention::Person("alice".into())]),
        ]
    );
}

#[test]
fn routes_merge_a_channel_named_twice_and_default_an_empty_channel_list() {
    use sentinel_bot::Mention;
    let alert = fixture("secret_scanning_alert.reopened.json").alert; // critical
    let routes = r#"
[[plugins.alert_notifier.routes]]
severity = ["critical", "high"]
mention = ["security-champions"]
continue = true
[[plugins.alert_notifier.routes]]
source = ["secret_scanning"]
mention = ["security-champions", "alice"]
"#;
    assert_eq!(
        routed(routes, &alert),
        [dest(
            "security-incidents",
            &[
                Mention::Group("security-champions".into()),
                Mention::Person("alice".into())
            ]
        )]
    );
}

#[test]
fn a_repository_route_never_matches_a_global_advisory() {
    let advisory = fixture("security_advisory.published.json").alert;
    assert_eq!(advisory.repository, None);
    let routes = "[[plugins.alert_notifier.routes]]\nrepository = \"*\"\nchannels = [\"repos\"]";
    assert_eq!(routed(routes, &advisory), [dest("security-incidents", &[])]);
    let routes = "[[plugins.alert_notifier.routes]]\nsource = [\"security_advisory\"]\nchannels = [\"advisories\"]";
    assert_eq!(routed(routes, &advisory), [dest("advisories", &[])]);
}

#[test]
fn config_defaults_and_errors_name_their_keys() {
    let defaults = notifier_config(&bot_config("")).unwrap();
    assert_eq!(defaults, AlertNotifierConfig::default());
    assert_eq!(defaults.channel, "security-incidents");
    assert_eq!(defaults.incident_severity, Severity::High);
    assert!(defaults.resolve_incidents);
    assert!(defaults.routes.is_empty());

    let error = |text: &str| notifier_config(&bot_config(&format!("{PEOPLE}\n{text}"))).unwrap_err();
    let e = error("[plugins.alert_notifier]\nchanel = \"x\"");
    assert!(e.contains("plugins.alert_notifier") && e.contains("chanel"), "{e}");
    let e = error("[plugins.alert_notifier]\nincident_severity = \"severe\"");
    assert!(e.contains("plugins.alert_notifier.incident_severity"), "{e}");
    let e = error("[[plugins.alert_notifier.routes]]\nsource = [\"dependabot\", \"nessus\"]");
    assert!(e.contains("plugins.alert_notifier.routes[0].source"), "{e}");
    assert!(e.contains("nessus"), "{e}");
    let e = error(
        "[[plugins.alert_notifier.routes]]\nchannels = [\"a\"]\n[[plugins.alert_notifier.routes]]\nmention = [\"carol\"]",
    );
    assert_eq!(
        e,
        "plugins.alert_notifier.routes[1].mention: `carol` is neither a [groups] nor a [people] key"
    );
    let e = error("[[plugins.alert_notifier.routes]]\nchannels = [\"\"]");
    assert!(e.contains("routes[0].channels"), "{e}");
    // A repository pattern is refused as the configuration is read, naming the key.
    let e = error("[[plugins.alert_notifier.routes]]\nrepository = \"\"");
    assert!(
        e.contains("routes[0].repository") && e.contains("is not a repository pattern"),
        "{e}"
    );
    let e = error("[[plugins.alert_notifier.routes]]\nrepository = \"acme\"");
    assert!(e.contains("routes[0].repository") && e.contains("one `/`"), "{e}");
}
