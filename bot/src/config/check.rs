//! `sentinel check-config`: every problem in a configuration, each named by its key.

use std::str::FromStr;

use chrono_tz::Tz;

use super::load::{ConfigError, Loaded};
use super::model::Config;
use crate::plugin::Schedule;

/// Keys whose values are secrets; a file holding any of them must be private to its owner.
const SECRET_KEYS: &[&str] = &[
    "github.webhook_secret",
    "github.previous_webhook_secrets",
    "github.token",
    "slack.bot_token",
    "slack.signing_secret",
    "slack.app_token",
    "discord.bot_token",
    "chat.webhook.token",
    "chat.webhook.url",
];

/// The shortest webhook secret accepted: GitHub's own advice is a long random string.
pub const MIN_WEBHOOK_SECRET_LEN: usize = 32;

/// Every problem found in `loaded` and the plugins' `schedules`.
pub fn check(loaded: &Loaded, schedules: &[(String, Schedule)]) -> Vec<ConfigError> {
    let mut problems = Vec::new();
    let config = &loaded.config;
    check_secrets(config, &mut problems);
    check_file_mode(loaded, &mut problems);
    check_secret_file(config, &mut problems);
    check_limits(config, &mut problems);
    if Tz::from_str(&config.schedule.time_zone).is_err() {
        problems.push(ConfigError::new(
            "schedule.time_zone",
            format!(
                "unknown time zone `{}` (use an IANA name such as Europe/Berlin)",
                config.schedule.time_zone
            ),
        ));
    }
    for (key, schedule) in schedules {
        if let Err(err) = crate::store::timers::parse_cron(&schedule.cron) {
            problems.push(ConfigError::new(key.clone(), err));
        }
    }
    if config.http.listen.parse::<std::net::SocketAddr>().is_err() {
        problems.push(ConfigError::new(
            "http.listen",
            format!("`{}` is not an address such as 127.0.0.1:8080", config.http.listen),
        ));
    }
    if config.pipeline.max_attempts == 0 {
        problems.push(ConfigError::new("pipeline.max_attempts", "must be at least 1"));
    }
    if config.outbox.max_attempts == 0 {
        problems.push(ConfigError::new("outbox.max_attempts", "must be at least 1"));
    }
    for (group, settings) in &config.groups {
        for member in &settings.members {
            if !config.people.contains_key(member) {
                problems.push(ConfigError::new(
                    format!("groups.{group}.members"),
                    format!("`{member}` is not defined under [people]"),
                ));
            }
        }
    }
    problems
}

fn check_secrets(config: &Config, problems: &mut Vec<ConfigError>) {
    let github = &config.github;
    let webhook_secrets = github
        .webhook_secret
        .iter()
        .map(|s| ("github.webhook_secret", s))
        .chain(
            github
                .previous_webhook_secrets
                .iter()
                .map(|s| ("github.previous_webhook_secrets", s)),
        );
    for (key, secret) in webhook_secrets {
        if secret.expose().chars().count() < MIN_WEBHOOK_SECRET_LEN {
            problems.push(ConfigError::new(
                key,
                format!("webhook secret is shorter than {MIN_WEBHOOK_SECRET_LEN} characters"),
            ));
        }
    }
    super::slack_modes::check(config, problems);
    super::github_pull::check(config, problems);
    super::github_reconcile::check(config, problems);
    if config.discord_enabled() {
        if config.discord.application_id.as_deref().is_none_or(str::is_empty) {
            problems.push(ConfigError::new(
                "discord.application_id",
                "Discord is enabled (bot_token set) but the application id is missing (SENTINEL_DISCORD_APPLICATION_ID)",
            ));
        }
        super::discord_modes::check(config, problems);
    }
    if let Some(webhook) = &config.chat.webhook
        && reqwest::Url::parse(webhook.url.expose()).is_err()
    {
        // Not quoted: the URL is a secret.
        problems.push(ConfigError::new(
            "chat.webhook.url",
            "is not a URL such as https://chat.example.com/hooks/…",
        ));
    }
}

/// The generated webhook secret beside the database, when no secret is configured: it must be
/// private to its owner, as `sentinel run` insists.
fn check_secret_file(config: &Config, problems: &mut Vec<ConfigError>) {
    if config.github.webhook_secret.is_some() {
        return;
    }
    let path = crate::ingress::secret_file::path_for(&config.database.url);
    if let Err(err) = crate::ingress::secret_file::check_private(&path) {
        problems.push(ConfigError::new(path.display().to_string(), err.to_string()));
    }
}

/// Values that cannot work: zero timeouts, sizes and budgets, proxies that are not addresses.
fn check_limits(config: &Config, problems: &mut Vec<ConfigError>) {
    let durations = [
        ("database.busy_timeout", config.database.busy_timeout),
        ("outbox.request_timeout", config.outbox.request_timeout),
        ("github.request_timeout", config.github.request_timeout),
        ("pipeline.retain", config.pipeline.retain),
        ("http.header_read_timeout", config.http.header_read_timeout),
        ("http.body_read_timeout", config.http.body_read_timeout),
        ("http.idle_timeout", config.http.idle_timeout),
    ];
    for (key, value) in durations {
        if value.std().is_zero() {
            problems.push(ConfigError::new(key, "must be longer than 0s"));
        }
    }
    let http = &config.http;
    if http.max_body_bytes == 0 {
        problems.push(ConfigError::new("http.max_body_bytes", "must be at least 1"));
    }
    if http.max_connections == 0 {
        problems.push(ConfigError::new("http.max_connections", "must be at least 1"));
    }
    if http.failed_auth_burst > 0 && http.failed_auth_per_minute == 0 {
        problems.push(ConfigError::new(
            "http.failed_auth_per_minute",
            "must be at least 1 while http.failed_auth_burst is set (0 would refuse a client for ever)",
        ));
    }
    for entry in &http.trusted_proxies {
        if let Err(err) = crate::http::client::Network::parse(entry) {
            problems.push(ConfigError::new("http.trusted_proxies", err));
        }
    }
    if !http.trusted_proxies.is_empty()
        && axum::http::HeaderName::from_bytes(http.client_ip_header.trim().as_bytes()).is_err()
    {
        problems.push(ConfigError::new(
            "http.client_ip_header",
            format!("`{}` is not a header name", http.client_ip_header),
        ));
    }
}

fn check_file_mode(loaded: &Loaded, problems: &mut Vec<ConfigError>) {
    let Some(path) = &loaded.path else { return };
    let holds_secret = SECRET_KEYS.iter().any(|key| lookup(&loaded.file_table, key).is_some());
    if !holds_secret {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                problems.push(ConfigError::new(
                    path.display().to_string(),
                    format!(
                        "holds secrets but is readable by group or others (mode {mode:o}); run `chmod 600 {}` or move the secrets to the environment",
                        path.display()
                    ),
                ));
            }
        }
    }
}

fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    match value {
        toml::Value::String(s) if s.is_empty() => None,
        toml::Value::Array(a) if a.is_empty() => None,
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{from_table, parse_table};
    use crate::plugin::MissedRun;

    fn loaded(text: &str) -> Loaded {
        let file_table = parse_table(text, "test").expect("toml");
        Loaded {
            config: from_table(file_table.clone()).expect("config"),
            path: None,
            file_table,
        }
    }

    #[test]
    fn reports_every_problem_with_its_key() {
        let loaded = loaded(
            "[github]\nwebhook_secret = \"short\"\n[slack]\nbot_token = \"xoxb-1\"\n\
             [discord]\nbot_token = \"abc\"\npublic_key = \"zz\"\n[schedule]\ntime_zone = \"Mars/Olympus\"\n\
             [groups.leads]\nmembers = [\"nobody\"]\n",
        );
        let schedules = vec![(
            "plugins.audit.daily".to_owned(),
            Schedule {
                name: "daily".into(),
                cron: "0 9 * * *".into(),
                time_zone: Tz::UTC,
                missed: MissedRun::RunOnce,
            },
        )];
        let keys: Vec<String> = check(&loaded, &schedules).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "github.webhook_secret",
                "slack.signing_secret",
                "discord.application_id",
                "discord.public_key",
                "schedule.time_zone",
                "plugins.audit.daily",
                "groups.leads.members",
            ]
        );
    }

    #[test]
    fn a_world_readable_file_with_secrets_is_a_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sentinel.toml");
        std::fs::write(&path, "[github]\ntoken = \"ghp_x\"\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            let mut loaded = loaded("[github]\ntoken = \"ghp_x\"\n");
            loaded.path = Some(path.clone());
            let problems = check(&loaded, &[]);
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].message.contains("chmod 600"));
            assert!(!problems[0].to_string().contains("ghp_x"));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
            assert!(check(&loaded, &[]).is_empty());
        }
    }

    #[test]
    fn secrets_never_print() {
        let loaded = loaded("[slack]\nbot_token = \"xoxb-very-secret\"\nsigning_secret = \"sig-very-secret\"\n");
        let debug = format!("{:?}", loaded.config);
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(debug.contains("[REDACTED]"));
    }
}
