//! How Slack reaches Sentinel: over HTTP (signing secret), over Socket Mode (app-level token), or
//! both. `check-config` checks the combination and says in words which one is configured.

use super::load::ConfigError;
use super::model::Config;

/// The most Socket Mode connections Slack allows one app at once.
pub const MAX_SOCKET_CONNECTIONS: usize = 10;

/// The problems with the `[slack]` credentials and Socket Mode settings.
pub fn check(config: &Config, problems: &mut Vec<ConfigError>) {
    let slack = &config.slack;
    let has_secret = slack.signing_secret.as_ref().is_some_and(|s| !s.is_empty());
    let app_token = slack.app_token.as_ref().filter(|t| !t.is_empty());
    if config.slack_enabled() && !has_secret && app_token.is_none() {
        problems.push(ConfigError::new(
            "slack.signing_secret",
            "Slack is enabled (bot_token set) but neither the signing secret (SENTINEL_SLACK_SIGNING_SECRET, \
             for commands over HTTP) nor an app-level token (SENTINEL_SLACK_APP_TOKEN, for Socket Mode) is set",
        ));
    }
    if (slack.signing_secret.is_some() || slack.app_token.is_some()) && !config.slack_enabled() {
        problems.push(ConfigError::new(
            "slack.bot_token",
            "a Slack signing secret or app-level token is set but the bot token is missing (SENTINEL_SLACK_BOT_TOKEN)",
        ));
    }
    if let Some(token) = app_token
        && !token.expose().trim().starts_with("xapp-")
    {
        problems.push(ConfigError::new(
            "slack.app_token",
            "not an app-level token: those start with `xapp-` (Basic Information → App-Level Tokens, \
             scope connections:write); the bot token (xoxb-…) belongs in slack.bot_token",
        ));
    }
    if !(1..=MAX_SOCKET_CONNECTIONS).contains(&slack.socket_connections) {
        problems.push(ConfigError::new(
            "slack.socket_connections",
            format!("must be between 1 and {MAX_SOCKET_CONNECTIONS} (Slack's limit per app)"),
        ));
    }
}

/// One line saying how Slack commands and button clicks reach this configuration, or `None`
/// when Slack is off.
pub fn describe(config: &Config) -> Option<String> {
    if !config.slack_enabled() {
        return None;
    }
    let socket = format!(
        "over Socket Mode ({} outbound WebSocket connection(s), no inbound port)",
        config.slack.socket_connections
    );
    let http = "over HTTP (Slack calls POST /slack/commands and /slack/interactions, signed)";
    let how = match (config.slack_socket_enabled(), config.slack_http_enabled()) {
        (true, true) => format!("{socket} and {http}"),
        (true, false) => socket,
        (false, true) => http.to_owned(),
        (false, false) => return None,
    };
    Some(format!("slack: commands and buttons arrive {how}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{from_table, parse_table};

    fn problems(text: &str) -> Vec<ConfigError> {
        let config = from_table(parse_table(text, "test").expect("toml")).expect("config");
        let mut found = Vec::new();
        check(&config, &mut found);
        found
    }

    fn describe_text(text: &str) -> Option<String> {
        describe(&from_table(parse_table(text, "test").expect("toml")).expect("config"))
    }

    #[test]
    fn either_a_signing_secret_or_an_app_token_is_enough() {
        assert!(problems("[slack]\nbot_token = \"xoxb-1\"\nsigning_secret = \"s\"\n").is_empty());
        assert!(problems("[slack]\nbot_token = \"xoxb-1\"\napp_token = \"xapp-1-A1-2-x\"\n").is_empty());
        let both = "[slack]\nbot_token = \"xoxb-1\"\nsigning_secret = \"s\"\napp_token = \"xapp-1\"\n";
        assert!(problems(both).is_empty());
        let keys: Vec<String> = problems("[slack]\nbot_token = \"xoxb-1\"\n")
            .into_iter()
            .map(|p| p.key)
            .collect();
        assert_eq!(keys, ["slack.signing_secret"]);
    }

    #[test]
    fn a_wrong_app_token_or_connection_count_is_named() {
        let found = problems("[slack]\nbot_token = \"xoxb-1\"\napp_token = \"xoxb-oops\"\nsocket_connections = 11\n");
        let keys: Vec<&str> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["slack.app_token", "slack.socket_connections"]);
        assert!(!found[0].message.contains("oops"), "the token never prints");
        let orphan = problems("[slack]\napp_token = \"xapp-1\"\n");
        assert_eq!(orphan[0].key, "slack.bot_token");
    }

    #[test]
    fn the_modes_are_explained() {
        assert_eq!(describe_text(""), None);
        let socket = describe_text("[slack]\nbot_token = \"xoxb-1\"\napp_token = \"xapp-1\"\n").expect("on");
        assert!(
            socket.contains("Socket Mode (2 outbound") && !socket.contains("HTTP"),
            "{socket}"
        );
        let http = describe_text("[slack]\nbot_token = \"xoxb-1\"\nsigning_secret = \"s\"\n").expect("on");
        assert!(http.contains("over HTTP") && !http.contains("Socket"), "{http}");
        let both = "[slack]\nbot_token = \"xoxb-1\"\nsigning_secret = \"s\"\napp_token = \"xapp-1\"\n";
        let both = describe_text(both).expect("on");
        assert!(both.contains("Socket Mode") && both.contains("HTTP"), "{both}");
    }
}
