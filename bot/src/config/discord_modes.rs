//! How Discord interactions reach Sentinel: over HTTP (signed with the public key) or over the
//! Gateway (an outbound WebSocket). `check-config` checks what the chosen mode needs and says in
//! words which one is configured.

use super::load::ConfigError;
use super::model::{Config, DiscordInteractions};

/// The problems with the Discord interaction settings (Discord is enabled).
pub fn check(config: &Config, problems: &mut Vec<ConfigError>) {
    if config.discord.interactions == DiscordInteractions::Gateway {
        return; // no inbound requests to verify: the public key is not needed
    }
    match config.discord.public_key.as_deref() {
        None | Some("") => problems.push(ConfigError::new(
            "discord.public_key",
            "Discord is enabled (bot_token set) but the public key is missing (SENTINEL_DISCORD_PUBLIC_KEY); \
             it verifies interactions over HTTP — or set discord.interactions = \"gateway\" to receive them \
             over an outbound connection instead",
        )),
        Some(key) if hex::decode(key).map(|b| b.len()) != Ok(32) => problems.push(ConfigError::new(
            "discord.public_key",
            "not a 64-character hex Ed25519 public key",
        )),
        Some(_) => {}
    }
}

/// One line saying how Discord slash commands and button clicks reach this configuration, or
/// `None` when Discord is off.
pub fn describe(config: &Config) -> Option<String> {
    if !config.discord_enabled() {
        return None;
    }
    let how = match config.discord.interactions {
        DiscordInteractions::Http => "over HTTP (Discord calls POST /discord/interactions, signed)",
        DiscordInteractions::Gateway => "over the Discord Gateway (an outbound WebSocket, no inbound port)",
    };
    Some(format!("discord: commands and buttons arrive {how}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{from_table, parse_table};

    fn config(text: &str) -> Config {
        from_table(parse_table(text, "test").expect("toml")).expect("config")
    }

    fn problems(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        check(&config(text), &mut found);
        found.into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn the_gateway_needs_no_public_key_and_http_does() {
        assert_eq!(problems("[discord]\nbot_token = \"t\"\n"), ["discord.public_key"]);
        assert!(problems("[discord]\nbot_token = \"t\"\ninteractions = \"gateway\"\n").is_empty());
        let wrong = from_table(parse_table("[discord]\ninteractions = \"websocket\"\n", "test").expect("toml"));
        assert_eq!(wrong.expect_err("refused").key, "discord.interactions");
    }

    #[test]
    fn the_modes_are_explained() {
        assert_eq!(describe(&config("")), None);
        let http = describe(&config("[discord]\nbot_token = \"t\"\n")).expect("on");
        assert!(http.contains("over HTTP"), "{http}");
        let gateway = describe(&config("[discord]\nbot_token = \"t\"\ninteractions = \"gateway\"\n")).expect("on");
        assert!(gateway.contains("Gateway") && !gateway.contains("HTTP"), "{gateway}");
        assert!(config("[discord]\nbot_token = \"t\"\ninteractions = \"gateway\"\n").discord_gateway_enabled());
    }
}
