//! `[github.reconcile]`: the checks `check-config` (and `sentinel run`) make.

use super::github_pull::is_name;
use super::load::ConfigError;
use super::model::{Config, MAX_RECONCILE_LOOKBACK, MIN_RECONCILE_INTERVAL};
use crate::config::duration::HumanDuration;

/// The problems with the reconciliation settings.
pub fn check(config: &Config, problems: &mut Vec<ConfigError>) {
    let reconcile = &config.github.reconcile;
    if !reconcile.enabled() {
        return;
    }
    if config.github.token.as_ref().is_none_or(|t| t.is_empty()) {
        problems.push(ConfigError::new(
            "github.token",
            "github.reconcile lists webhooks whose deliveries to check, which needs an API token \
             (SENTINEL_GITHUB_TOKEN) with admin:repo_hook / admin:org_hook",
        ));
    }
    if reconcile.interval < MIN_RECONCILE_INTERVAL {
        problems.push(ConfigError::new(
            "github.reconcile.interval",
            format!("must be at least {MIN_RECONCILE_INTERVAL}"),
        ));
    }
    if reconcile.lookback > MAX_RECONCILE_LOOKBACK || reconcile.lookback == HumanDuration::secs(0) {
        problems.push(ConfigError::new(
            "github.reconcile.lookback",
            format!("must be more than 0s and at most {MAX_RECONCILE_LOOKBACK} (GitHub keeps deliveries 3 days)"),
        ));
    }
    for hook in &reconcile.hooks {
        let valid = match (&hook.repository, &hook.organization) {
            (Some(repo), None) => repo
                .split_once('/')
                .is_some_and(|(owner, name)| is_name(owner) && is_name(name)),
            (None, Some(org)) => is_name(org),
            _ => false,
        };
        if !valid {
            problems.push(ConfigError::new(
                "github.reconcile.hooks",
                format!(
                    "hook {} needs exactly one of `repository = \"owner/name\"` and `organization = \"login\"`",
                    hook.id
                ),
            ));
        }
    }
}

/// What reconciliation will do, for `check-config`; `None` when it is off.
pub fn describe(config: &Config) -> Option<String> {
    let reconcile = &config.github.reconcile;
    reconcile.enabled().then(|| {
        format!(
            "GitHub webhook reconciliation: checking {} hook(s) every {} for failed deliveries of the last {}",
            reconcile.hooks.len(),
            reconcile.interval,
            reconcile.lookback
        )
    })
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
    fn hooks_need_a_token_one_owner_a_sane_interval_and_lookback() {
        assert!(
            problems("[github.reconcile]\ninterval = \"1s\"\n").is_empty(),
            "off without hooks"
        );
        let good = "[github]\ntoken = \"t\"\n[github.reconcile]\nhooks = [{ repository = \"acme/app\", id = 1 }, \
                    { organization = \"acme\", id = 2 }]\n";
        assert!(problems(good).is_empty(), "{:?}", problems(good));
        assert_eq!(
            problems("[github.reconcile]\nhooks = [{ organization = \"acme\", id = 2 }]\n"),
            ["github.token"]
        );
        let bad = "[github]\ntoken = \"t\"\n[github.reconcile]\ninterval = \"10s\"\nlookback = \"4d\"\n\
                   hooks = [{ repository = \"acme/app\", organization = \"acme\", id = 1 }, { id = 2 }, \
                   { repository = \"acme/../x\", id = 3 }]\n";
        assert_eq!(
            problems(bad),
            [
                "github.reconcile.interval",
                "github.reconcile.lookback",
                "github.reconcile.hooks",
                "github.reconcile.hooks",
                "github.reconcile.hooks"
            ]
        );
    }
}
