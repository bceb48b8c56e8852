//! Things that work but are probably not what was meant: said at start-up and by `check-config`,
//! which still passes.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::load::ConfigError;
use super::model::Config;

/// Every warning for `config`, given the logical channels each plugin posts to, as
/// `(plugin, channel)` pairs.
pub fn warnings(config: &Config, posts: &[(String, String)]) -> Vec<ConfigError> {
    let mut warnings = Vec::new();
    if let Ok(addr) = config.http.listen.parse::<SocketAddr>()
        && !addr.ip().is_loopback()
    {
        warnings.push(ConfigError::new(
            "http.listen",
            format!(
                "{addr} accepts connections from other hosts, and Sentinel speaks plain HTTP: put it behind a \
                 TLS-terminating proxy (listed in http.trusted_proxies) and keep the port closed to everyone else"
            ),
        ));
    }
    let mut posters: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (plugin, channel) in posts {
        let names = posters.entry(channel.as_str()).or_default();
        if !names.contains(&plugin.as_str()) {
            names.push(plugin.as_str());
        }
    }
    let platforms = [
        ("slack", "Slack", config.slack_enabled(), "C0123ABCDEF"),
        ("discord", "Discord", config.discord_enabled(), "123456789012345678"),
    ];
    for (channel, plugins) in posters {
        let mapped = config.channels.get(channel);
        for (key, name, enabled, example) in platforms {
            let id = mapped.and_then(|c| {
                if key == "slack" {
                    c.slack.as_ref()
                } else {
                    c.discord.as_ref()
                }
            });
            if enabled && id.is_none_or(|id| id.trim().is_empty()) {
                warnings.push(ConfigError::new(
                    format!("channels.{channel}.{key}"),
                    format!(
                        "{name} is configured but the channel `{channel}` that {} posts to has no {name} id, so \
                         those messages are not sent to {name}; set channels.{channel}.{key} = \"{example}\"",
                        plugins.join(" and ")
                    ),
                ));
            }
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{from_table, parse_table};

    fn config(text: &str) -> Config {
        from_table(parse_table(text, "test").expect("toml")).expect("config")
    }

    fn posts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(p, c)| (p.to_string(), c.to_string())).collect()
    }

    #[test]
    fn a_listener_open_to_other_hosts_is_named() {
        for open in ["0.0.0.0:8080", "[::]:8080", "192.0.2.10:8080"] {
            let keys: Vec<String> = warnings(&config(&format!("[http]\nlisten = \"{open}\"\n")), &[])
                .into_iter()
                .map(|w| w.key)
                .collect();
            assert_eq!(keys, ["http.listen"], "{open}");
        }
        assert!(warnings(&config("[http]\nlisten = \"127.0.0.1:8080\"\n"), &[]).is_empty());
        assert!(warnings(&config("[http]\nlisten = \"[::1]:8080\"\n"), &[]).is_empty());
    }

    #[test]
    fn unmapped_channels_are_named_per_configured_platform() {
        let posts = posts(&[
            ("alert_notifier", "security-incidents"),
            ("sla_escalator", "security-incidents"),
            ("audit_scheduler", "security-audits"),
        ]);
        let slack_only = config(
            "[slack]\nbot_token = \"xoxb-1\"\nsigning_secret = \"s\"\n\
             [channels.security-incidents]\nslack = \"C01\"\n",
        );
        let found = warnings(&slack_only, &posts);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "channels.security-audits.slack");
        assert!(found[0].message.contains("audit_scheduler"), "{}", found[0].message);

        let both = config(
            "[slack]\nbot_token = \"xoxb-1\"\n[discord]\nbot_token = \"d\"\n\
             [channels.security-incidents]\nslack = \"C01\"\n",
        );
        let keys: Vec<String> = warnings(&both, &posts).into_iter().map(|w| w.key).collect();
        assert_eq!(
            keys,
            [
                "channels.security-audits.slack",
                "channels.security-audits.discord",
                "channels.security-incidents.discord",
            ]
        );
        let message = &warnings(&both, &posts)[2].message;
        assert!(message.contains("alert_notifier and sla_escalator"), "{message}");
        // The console and the generic webhook take every channel by name: nothing to map.
        assert!(warnings(&config(""), &posts).is_empty());
    }
}
