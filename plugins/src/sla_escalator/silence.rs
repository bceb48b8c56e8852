//! Which incidents a silence covers: `all`, or a repository pattern ([`RepoPattern`]: `acme/*`,
//! `acme/api-?`). An incident without a repository is only covered by `all`.

use sentinel_bot::RepoPattern;

/// True when a silence with `pattern` (as stored: `all` or a [`RepoPattern`]) covers an incident
/// in `repository`. A stored pattern that no longer parses covers nothing.
pub fn matches(pattern: &str, repository: Option<&str>) -> bool {
    if pattern.eq_ignore_ascii_case("all") {
        return true;
    }
    let (Ok(pattern), Some(repository)) = (pattern.parse::<RepoPattern>(), repository) else {
        return false;
    };
    pattern.matches(repository)
}

/// Checks what a user typed as a pattern; the error says what is wrong.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.eq_ignore_ascii_case("all") {
        return Ok(());
    }
    pattern
        .parse::<RepoPattern>()
        .map(drop)
        .map_err(|e| format!("{e}; or `all`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_repositories() {
        assert!(matches("all", None));
        assert!(matches("acme/*", Some("acme/api")));
        assert!(matches("ACME/api", Some("acme/API")));
        assert!(matches("acme/api-?", Some("acme/api-2")));
        assert!(matches("*/api", Some("acme/api")));
        assert!(matches("a*e/*i", Some("acme/api")));
        assert!(!matches("acme/*", Some("other/api")));
        assert!(!matches("acme/api", Some("acme/api2")));
        assert!(!matches("acme/*", None));
        assert!(!matches("acme/a b", Some("acme/a b")));
        assert!(check_pattern("ALL").is_ok() && check_pattern("acme/api-?").is_ok());
        assert!(
            check_pattern("acme")
                .unwrap_err()
                .contains("`acme` is not a repository pattern")
        );
    }
}
