//! The plugin's own rules: later deliveries, grouping keys, subscriptions, the example config.

use super::*;

#[test]
fn a_later_delivery_keeps_what_it_leaves_out() {
    let located = fixture("secret_scanning_alert_location.created.json").alert;
    let mut p = load("secret_scanning_alert.reopened.json");
    p["action"] = json!("resolved");
    p["alert"]["resolution"] = json!("revoked");
    let resolved = change_of("secret_scanning_alert", &p).alert;
    assert_eq!(resolved.location, None);
    let merged = plugin::merge(&located, &resolved).unwrap();
    assert_eq!(merged.location.as_deref(), Some("/example/secrets.txt:1"));
    assert_eq!(merged.state, AlertState::Resolved);

    let mut leaked = located.clone();
    leaked.publicly_leaked = true;
    assert!(plugin::merge(&leaked, &resolved).unwrap().publicly_leaked);
    // A value that is present wins over the earlier one.
    let mut renamed = resolved.clone();
    renamed.location = Some("config/.env:3".into());
    assert_eq!(
        plugin::merge(&located, &renamed).unwrap().location.as_deref(),
        Some("config/.env:3")
    );
}

#[test]
fn grouping_keys_prefer_the_advisory_then_the_rule() {
    assert_eq!(
        grouping_key(&fixture("dependabot_alert.created.json").alert),
        "wolfy1339/pika-pack:GHSA-c2qf-rxjj-qqgw"
    );
    assert_eq!(
        grouping_key(&fixture("code_scanning_alert.created.json").alert),
        "Codertocat/Hello-World:java/sql-injection"
    );
    assert_eq!(
        grouping_key(&fixture("secret_scanning_alert.reopened.json").alert),
        "Codertocat/Hello-World:secret_scanning:Codertocat/Hello-World:191"
    );
    assert_eq!(
        grouping_key(&fixture("security_advisory.published.json").alert),
        "GHSA-rf4j-j272-fj86"
    );
}

#[test]
fn the_plugin_subscribes_to_exactly_the_events_normalize_reads() {
    use sentinel_bot::Plugin;
    let subscriptions = AlertNotifier::default().subscriptions();
    assert_eq!(subscriptions.github, SECURITY_EVENTS);
    assert_eq!(subscriptions.actions, ["alert"]);
    assert_eq!(EVENTS, SECURITY_EVENTS);
}

#[test]
fn the_example_configuration_documents_the_defaults() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/sentinel.example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let config = bot_config(&text);
    assert!(
        config.plugins.contains_key("alert_notifier"),
        "the example has no [plugins.alert_notifier]"
    );
    assert_eq!(notifier_config(&config).unwrap(), AlertNotifierConfig::default());
}
