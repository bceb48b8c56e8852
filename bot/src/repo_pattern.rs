//! [`RepoPattern`]: which GitHub repositories a setting or command applies to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A pattern over GitHub repository names (`owner/name`), the one meaning shared by
/// `github.allowed_repositories`, the alert notifier's `routes[].repository` and `/sla silence`.
///
/// - It has the form `owner/name`: exactly one `/`, neither side empty. `*` alone is short for
///   `*/*` (every repository).
/// - Each side is a glob on that side only: `*` matches any run of characters (none included)
///   and `?` exactly one, but neither ever matches the `/`. So `acme/*` is every repository of
///   `acme`, `acme/api-?` matches `acme/api-2`, `*/docs` every repository named `docs`.
/// - Every other character matches itself, ignoring ASCII case, as GitHub does for owner and
///   repository names. Only the characters GitHub allows in names (ASCII letters, digits, `-`,
///   `_`, `.`) are accepted, so a typo such as a space or a second `/` is refused when the
///   configuration is loaded (or the command typed) rather than silently matching nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct RepoPattern {
    /// As written (trimmed), for display and storage.
    text: String,
    /// Lowercased owner and name globs.
    owner: Vec<char>,
    name: Vec<char>,
}

impl RepoPattern {
    /// True when `repository` (`owner/name`) matches.
    pub fn matches(&self, repository: &str) -> bool {
        match repository.split_once('/') {
            Some((owner, name)) if !name.contains('/') => glob(&self.owner, owner) && glob(&self.name, name),
            _ => false,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// True when some pattern matches `repository`, or there are none (an empty list allows all).
pub fn allowed(patterns: &[RepoPattern], repository: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p.matches(repository))
}

/// Why text is not a [`RepoPattern`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a repository pattern such as `acme/*`, `acme/api-?` or `acme/api`: {problem}")]
pub struct RepoPatternError {
    text: String,
    problem: &'static str,
}

impl FromStr for RepoPattern {
    type Err = RepoPatternError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let bad = |problem| RepoPatternError {
            text: text.to_owned(),
            problem,
        };
        let full = if trimmed == "*" { "*/*" } else { trimmed };
        let Some((owner, name)) = full.split_once('/') else {
            return Err(bad("it needs one `/` between owner and name"));
        };
        if owner.is_empty() || name.is_empty() {
            return Err(bad("the owner and the name must not be empty"));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '*' | '?');
        if name.contains('/') {
            return Err(bad("it has more than one `/`"));
        }
        if !full.chars().all(|c| c == '/' || allowed(c)) {
            return Err(bad(
                "only letters, digits, `-`, `_`, `.` and the wildcards `*` and `?` are allowed",
            ));
        }
        let lower = |side: &str| side.chars().map(|c| c.to_ascii_lowercase()).collect();
        Ok(RepoPattern {
            text: trimmed.to_owned(),
            owner: lower(owner),
            name: lower(name),
        })
    }
}

/// `*` matches any run of characters, `?` one, anything else itself ignoring ASCII case. Greedy
/// with one backtrack point (the last `*`): linear for the patterns people write, never exponential.
fn glob(pattern: &[char], text: &str) -> bool {
    let text: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&want) if want == '?' || want == c => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    // Let the last `*` swallow one more character and retry from there.
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern.get(p..).is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

impl fmt::Display for RepoPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for RepoPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RepoPattern({:?})", self.text)
    }
}

impl<'de> Deserialize<'de> for RepoPattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for RepoPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pattern(text: &str) -> RepoPattern {
        text.parse().unwrap()
    }

    #[test]
    fn globs_match_each_side_ignoring_case() {
        assert!(pattern("acme/*").matches("acme/api"));
        assert!(pattern("acme/*").matches("ACME/Api"));
        assert!(pattern("ACME/api").matches("acme/API"));
        assert!(pattern("acme/api-?").matches("acme/api-2"));
        assert!(!pattern("acme/api-?").matches("acme/api-22"));
        assert!(pattern("*/api").matches("acme/api"));
        assert!(pattern("a*e/*i").matches("acme/api"));
        assert!(pattern("acme/app-*").matches("acme/app-"));
        assert!(pattern("*").matches("octo-org/hello.world"));
        assert!(pattern(" acme/api ").matches("acme/api"));
        assert!(!pattern("acme/*").matches("other/api"));
        assert!(!pattern("acme/api").matches("acme/api2"));
        assert!(!pattern("*/*").matches("no-slash"));
    }

    #[test]
    fn a_star_matches_any_run_within_its_side() {
        let glob = |p: &str, t: &str| pattern(p).matches(t);
        assert!(glob("org/app-*", "org/app-web"));
        assert!(glob("org/*-api", "org/billing-api"));
        assert!(glob("org/*-api", "org/a-b-api"));
        assert!(glob("*a*/*b*", "xxa/YYbzz"));
        assert!(glob("org/**", "org/app"));
        assert!(!glob("org/app-*", "org/app"));
        assert!(!glob("org/*-api", "org/billing-apis"));
    }

    #[test]
    fn stays_fast_on_patterns_that_make_naive_matching_explode() {
        let glob = pattern(&format!("x/{}b", "*a".repeat(30)));
        let text = format!("x/{}", "a".repeat(200));
        let started = std::time::Instant::now();
        assert!(!glob.matches(&text));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn a_star_never_crosses_the_slash() {
        assert!(
            !pattern("a*/x").matches("ab/c/x"),
            "a repository name has no second `/`"
        );
        assert!(!pattern("acme/*").matches("acme/a/b"));
        assert!(!pattern("*i/*").matches("acme/api"));
    }

    #[test]
    fn typos_are_refused_with_the_reason() {
        for bad in [
            "",
            "acme",
            "/api",
            "acme/",
            "acme/a/b",
            "acme/a b",
            "ac,me/*",
            "acme/api!",
        ] {
            let error = bad.parse::<RepoPattern>().unwrap_err().to_string();
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
        assert!(
            "acme"
                .parse::<RepoPattern>()
                .unwrap_err()
                .to_string()
                .ends_with("it needs one `/` between owner and name")
        );
    }

    #[test]
    fn reads_from_and_writes_to_config_text() {
        #[derive(Deserialize, Serialize)]
        struct Section {
            repos: Vec<RepoPattern>,
        }
        let section: Section = toml::from_str("repos = [\"acme/*\", \"Octo-Org/Hello-World\"]").unwrap();
        assert!(allowed(&section.repos, "octo-org/hello-world"));
        assert!(!allowed(&section.repos, "other/x"));
        assert!(allowed(&[], "other/x"));
        assert_eq!(
            toml::to_string(&section).unwrap(),
            "repos = [\"acme/*\", \"Octo-Org/Hello-World\"]\n"
        );
        let error = toml::from_str::<Section>("repos = [\"acme/a b\"]")
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("`acme/a b` is not a repository pattern"), "{error}");
    }

    proptest! {
        #[test]
        fn a_name_matches_itself_and_its_owner_star(owner in "[A-Za-z0-9][A-Za-z0-9-]{0,38}", name in "[A-Za-z0-9._-]{1,100}") {
            let repository = format!("{owner}/{name}");
            prop_assert!(pattern(&repository).matches(&repository.to_uppercase()));
            let owner_star = pattern(&format!("{owner}/*"));
            let any_owner = pattern(&format!("*/{}", "?".repeat(name.chars().count())));
            let other_owner = pattern(&format!("{owner}x/*"));
            prop_assert!(owner_star.matches(&repository));
            prop_assert!(any_owner.matches(&repository));
            prop_assert!(!other_owner.matches(&repository));
        }
    }
}
