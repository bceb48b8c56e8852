//! Reading the configuration: the TOML file, then the environment on top.

use std::path::{Path, PathBuf};

use super::model::Config;

/// Environment variables with names of their own, and the key each sets.
pub const NAMED_ENV: &[(&str, &str)] = &[
    ("SENTINEL_DATABASE_URL", "database.url"),
    ("SENTINEL_INSTANCE", "cluster.instance"),
    ("SENTINEL_LISTEN", "http.listen"),
    ("SENTINEL_GITHUB_WEBHOOK_SECRET", "github.webhook_secret"),
    ("SENTINEL_GITHUB_TOKEN", "github.token"),
    ("SENTINEL_GITHUB_API_URL", "github.api_url"),
    ("SENTINEL_SLACK_BOT_TOKEN", "slack.bot_token"),
    ("SENTINEL_SLACK_SIGNING_SECRET", "slack.signing_secret"),
    ("SENTINEL_SLACK_APP_TOKEN", "slack.app_token"),
    ("SENTINEL_SLACK_API_URL", "slack.api_url"),
    ("SENTINEL_DISCORD_BOT_TOKEN", "discord.bot_token"),
    ("SENTINEL_DISCORD_APPLICATION_ID", "discord.application_id"),
    ("SENTINEL_DISCORD_PUBLIC_KEY", "discord.public_key"),
    ("SENTINEL_DISCORD_INTERACTIONS", "discord.interactions"),
    ("SENTINEL_DISCORD_API_URL", "discord.api_url"),
];

/// The config path variable.
pub const CONFIG_ENV: &str = "SENTINEL_CONFIG";

/// A configuration problem, named by its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    /// The dotted key (`pipeline.max_attempts`), or the file for whole-file problems.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// A problem with `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A loaded configuration and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// The file it was read from, when there was one.
    pub path: Option<PathBuf>,
    /// The raw file, for checks on what it contains (secrets) without re-reading it.
    pub file_table: toml::Table,
}

/// Loads the configuration: `path` (or `$SENTINEL_CONFIG`) when given — it must exist then — else
/// `./sentinel.toml` when present, else the defaults; then the environment overrides.
pub fn load(path: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Loaded, ConfigError> {
    let env: Vec<(String, String)> = env.into_iter().collect();
    let explicit = path
        .map(Path::to_path_buf)
        .or_else(|| env.iter().find(|(k, _)| k == CONFIG_ENV).map(|(_, v)| PathBuf::from(v)));
    let path = match explicit {
        Some(path) => Some(path),
        None => Some(PathBuf::from("sentinel.toml")).filter(|p| p.exists()),
    };
    let file_table = match &path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|err| ConfigError::new(path.display().to_string(), format!("cannot read: {err}")))?;
            parse_table(&text, &path.display().to_string())?
        }
        None => toml::Table::new(),
    };
    let mut table = file_table.clone();
    apply_env(&mut table, &env)?;
    let config = from_table(table)?;
    Ok(Loaded {
        config,
        path,
        file_table,
    })
}

/// Parses TOML text into a table, naming the source on error.
pub fn parse_table(text: &str, source: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|err| ConfigError::new(source, err.message().to_owned()))
}

/// Deserializes a table into a [`Config`], naming the offending key on error.
pub fn from_table(table: toml::Table) -> Result<Config, ConfigError> {
    deserialize_named(toml::Value::Table(table), "")
}

/// Deserializes a section into `T`, naming the offending key (prefixed with `prefix`) on error.
/// Plugins use it for their `[plugins.<name>]` sections.
pub fn deserialize_named<T: serde::de::DeserializeOwned>(value: toml::Value, prefix: &str) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let inner = err.path().to_string();
        let key = match (prefix.is_empty(), inner.as_str()) {
            (true, ".") => "config".to_owned(),
            (true, _) => inner.clone(),
            (false, ".") => prefix.to_owned(),
            (false, _) => format!("{prefix}.{inner}"),
        };
        ConfigError::new(key, err.into_inner().to_string())
    })
}

fn apply_env(table: &mut toml::Table, env: &[(String, String)]) -> Result<(), ConfigError> {
    for (name, value) in env {
        if let Some((_, key)) = NAMED_ENV.iter().find(|(var, _)| var == name) {
            // Named variables hold strings (tokens, ids, URLs) even when they look like numbers.
            set_path(table, key, toml::Value::String(value.clone()), name)?;
        } else if let Some(rest) = name.strip_prefix("SENTINEL_")
            && rest.contains("__")
        {
            let key = rest
                .split("__")
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
                .join(".");
            set_path(table, &key, env_value(value), name)?;
        }
    }
    Ok(())
}

/// An environment value as TOML: numbers, booleans, arrays and inline tables as such, anything
/// else (or anything quoted) as a string.
fn env_value(text: &str) -> toml::Value {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

fn set_path(table: &mut toml::Table, key: &str, value: toml::Value, var: &str) -> Result<(), ConfigError> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut node = table;
    for part in parts {
        let entry = node
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node = entry
            .as_table_mut()
            .ok_or_else(|| ConfigError::new(key, format!("{var} sets a key inside `{part}`, which is not a table")))?;
    }
    node.insert(last.to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn environment_overrides_the_file_and_named_variables_stay_strings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sentinel.toml");
        std::fs::write(
            &path,
            "[http]\nlisten = \"127.0.0.1:1\"\n[pipeline]\nmax_attempts = 9\n",
        )
        .expect("write");
        let loaded = load(
            Some(&path),
            env(&[
                ("SENTINEL_LISTEN", "127.0.0.1:2"),
                ("SENTINEL_PIPELINE__MAX_ATTEMPTS", "3"),
                ("SENTINEL_DISCORD_APPLICATION_ID", "1234567890"),
            ]),
        )
        .expect("loads");
        assert_eq!(loaded.config.http.listen, "127.0.0.1:2");
        assert_eq!(loaded.config.pipeline.max_attempts, 3);
        assert_eq!(loaded.config.discord.application_id.as_deref(), Some("1234567890"));
    }

    #[test]
    fn errors_name_the_key() {
        let table = parse_table("[pipeline]\nmax_attempts = \"many\"\n", "test").expect("toml");
        let err = from_table(table).expect_err("bad type");
        assert_eq!(err.key, "pipeline.max_attempts");

        let table = parse_table("[http]\nlisen = \"x\"\n", "test").expect("toml");
        let err = from_table(table).expect_err("unknown key");
        assert!(err.key.starts_with("http"), "{err}");
        assert!(err.message.contains("lisen"), "{err}");

        let table = parse_table("[outbox]\nretry_base = \"soon\"\n", "test").expect("toml");
        let err = from_table(table).expect_err("bad duration");
        assert_eq!(err.key, "outbox.retry_base");

        let err = load(None, env(&[("SENTINEL_PIPELINE__NOPE", "1")])).expect_err("unknown env key");
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
