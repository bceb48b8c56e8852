//! `[github.pull]`: the checks `check-config` (and `sentinel run`) make, and the sentence that says
//! what will be polled.

use super::load::ConfigError;
use super::model::{Config, MIN_PULL_INTERVAL};

/// The problems with the pull-mode settings.
pub fn check(config: &Config, problems: &mut Vec<ConfigError>) {
    let pull = &config.github.pull;
    if !pull.enabled() {
        return;
    }
    if config.github.token.as_ref().is_none_or(|t| t.is_empty()) {
        problems.push(ConfigError::new(
            "github.token",
            "github.pull lists organisations or repositories to poll, which needs an API token \
             (SENTINEL_GITHUB_TOKEN) that may read their security alerts",
        ));
    }
    if pull.interval < MIN_PULL_INTERVAL {
        problems.push(ConfigError::new(
            "github.pull.interval",
            format!("must be at least {MIN_PULL_INTERVAL} (each poll costs API calls)"),
        ));
    }
    for org in &pull.organizations {
        if !is_name(org) {
            problems.push(ConfigError::new(
                "github.pull.organizations",
                format!("`{org}` is not an organisation login such as `acme`"),
            ));
        }
    }
    for repo in &pull.repositories {
        let valid = repo
            .split_once('/')
            .is_some_and(|(owner, name)| is_name(owner) && is_name(name));
        if !valid {
            problems.push(ConfigError::new(
                "github.pull.repositories",
                format!("`{repo}` is not a repository such as `acme/app`"),
            ));
        }
    }
}

/// What pull mode will do, for `check-config`; `None` when it is off.
pub fn describe(config: &Config) -> Option<String> {
    let pull = &config.github.pull;
    pull.enabled().then(|| {
        format!(
            "GitHub pull mode: polling {} organisation(s) and {} repository(ies) every {}",
            pull.organizations.len(),
            pull.repositories.len(),
            pull.interval
        )
    })
}

/// A GitHub login or repository name: letters, digits, `-`, `_`, `.` (so it is safe in a URL path).
pub fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text != "."
        && text != ".."
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{from_table, parse_table};

    fn problems(text: &str) -> Vec<String> {
        let config = from_table(parse_table(text, "test").expect("toml")).expect("config");
        let mut problems = Vec::new();
        check(&config, &mut problems);
        problems.into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn pull_mode_needs_a_token_a_sane_interval_and_real_names() {
        assert!(
            problems("[github.pull]\ninterval = \"5s\"\n").is_empty(),
            "off: not checked"
        );
        assert_eq!(
            problems("[github.pull]\norganizations = [\"acme\"]\n"),
            ["github.token"]
        );
        assert_eq!(
            problems(
                "[github]\ntoken = \"ghp_x\"\n[github.pull]\norganizations = [\"acme/x\"]\n\
                 repositories = [\"acme\", \"acme/app\", \"acme/../x\"]\ninterval = \"10s\"\n"
            ),
            [
                "github.pull.interval",
                "github.pull.organizations",
                "github.pull.repositories",
                "github.pull.repositories"
            ]
        );
        assert!(problems("[github]\ntoken = \"ghp_x\"\n[github.pull]\nrepositories = [\"acme/app.js\"]\n").is_empty());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let table = parse_table("[github.pull]\norgs = [\"acme\"]\n", "test").expect("toml");
        assert!(from_table(table).is_err());
    }
}
