//! The listings pull mode reads: which API paths, and which webhook event each one stands for.

use crate::config::Config;
use crate::config::github_pull::is_name;

/// What a listing holds, and so which webhook event its items become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Dependabot alerts: `dependabot_alert`.
    Dependabot,
    /// Code scanning alerts: `code_scanning_alert`.
    CodeScanning,
    /// Secret scanning alerts: `secret_scanning_alert`.
    SecretScanning,
    /// Repository security advisories: `repository_advisory`.
    RepositoryAdvisory,
    /// Failed workflow runs (`status=failure`): `workflow_run` (action `completed`).
    FailedRuns,
}

impl Source {
    /// The webhook event (`X-GitHub-Event`) GitHub sends for a change of such an item.
    pub fn event(self) -> &'static str {
        match self {
            Source::Dependabot => "dependabot_alert",
            Source::CodeScanning => "code_scanning_alert",
            Source::SecretScanning => "secret_scanning_alert",
            Source::RepositoryAdvisory => "repository_advisory",
            Source::FailedRuns => "workflow_run",
        }
    }

    /// The path below an organisation or repository.
    fn segment(self) -> &'static str {
        match self {
            Source::Dependabot => "dependabot/alerts",
            Source::CodeScanning => "code-scanning/alerts",
            Source::SecretScanning => "secret-scanning/alerts",
            Source::RepositoryAdvisory => "security-advisories",
            Source::FailedRuns => "actions/runs",
        }
    }

    /// The webhook payload field the item travels in.
    pub fn field(self) -> &'static str {
        match self {
            Source::RepositoryAdvisory => "repository_advisory",
            Source::FailedRuns => "workflow_run",
            _ => "alert",
        }
    }
}

/// One listing to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The API path, without query: `/repos/acme/app/dependabot/alerts`. Also its cursor's key.
    pub path: String,
    /// What it lists.
    pub source: Source,
    /// The repository (`owner/name`) of a repository listing; `None` for an organisation's, whose
    /// items name their repository.
    pub repository: Option<String>,
}

impl Endpoint {
    /// The first page: newest change first, as many items per page as GitHub allows. Workflow runs
    /// cannot be sorted: GitHub lists them newest created first; only failed ones are asked for.
    pub fn first_page(&self) -> String {
        match self.source {
            Source::FailedRuns => format!("{}?status=failure&per_page=100", self.path),
            _ => format!("{}?sort=updated&direction=desc&per_page=100", self.path),
        }
    }
}

/// Every listing `config` asks for whose event `wanted` (some plugin handles it), skipping
/// repositories outside `github.allowed_repositories` and names `check-config` refuses. Failed
/// workflow runs are polled for `repositories` only: GitHub has no organisation-wide runs listing.
pub fn endpoints(config: &Config, wanted: impl Fn(&str) -> bool) -> Vec<Endpoint> {
    let pull = &config.github.pull;
    let mut endpoints = Vec::new();
    for org in pull.organizations.iter().filter(|org| is_name(org)) {
        for source in [Source::Dependabot, Source::CodeScanning, Source::SecretScanning] {
            endpoints.push(Endpoint {
                path: format!("/orgs/{org}/{}", source.segment()),
                source,
                repository: None,
            });
        }
    }
    for repo in &pull.repositories {
        let Some((owner, name)) = repo.split_once('/').filter(|(o, n)| is_name(o) && is_name(n)) else {
            continue;
        };
        if !crate::repo_pattern::allowed(&config.github.allowed_repositories, repo) {
            tracing::warn!(repository = %repo, "github.pull: repository not in github.allowed_repositories; not polled");
            continue;
        }
        for source in [
            Source::Dependabot,
            Source::CodeScanning,
            Source::SecretScanning,
            Source::RepositoryAdvisory,
            Source::FailedRuns,
        ] {
            endpoints.push(Endpoint {
                path: format!("/repos/{owner}/{name}/{}", source.segment()),
                source,
                repository: Some(repo.clone()),
            });
        }
    }
    endpoints.retain(|endpoint| wanted(endpoint.source.event()));
    endpoints
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{from_table, parse_table};

    #[test]
    fn orgs_get_three_listings_repos_five_and_disallowed_or_unwanted_ones_none() {
        let config = from_table(
            parse_table(
                "[github]\nallowed_repositories = [\"acme/*\"]\n[github.pull]\norganizations = [\"acme\"]\n\
                 repositories = [\"acme/app\", \"other/app\"]\n",
                "test",
            )
            .expect("toml"),
        )
        .expect("config");
        let paths: Vec<String> = endpoints(&config, |event| event != "code_scanning_alert")
            .into_iter()
            .map(|e| e.first_page())
            .collect();
        assert_eq!(
            paths,
            [
                "/orgs/acme/dependabot/alerts?sort=updated&direction=desc&per_page=100",
                "/orgs/acme/secret-scanning/alerts?sort=updated&direction=desc&per_page=100",
                "/repos/acme/app/dependabot/alerts?sort=updated&direction=desc&per_page=100",
                "/repos/acme/app/secret-scanning/alerts?sort=updated&direction=desc&per_page=100",
                "/repos/acme/app/security-advisories?sort=updated&direction=desc&per_page=100",
                "/repos/acme/app/actions/runs?status=failure&per_page=100",
            ]
        );
    }
}
