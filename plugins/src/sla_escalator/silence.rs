//! Which incidents a silence covers: `all`, or a repository glob (`acme/*`, `acme/api-?`),
//! matched case-insensitively like GitHub names. An incident without a repository is only covered
//! by `all`.

/// True when a silence with `pattern` covers an incident in `repository`.
pub fn matches(pattern: &str, repository: Option<&str>) -> bool {
    if pattern.eq_ignore_ascii_case("all") {
        return true;
    }
    let Some(repository) = repository else {
        return false;
    };
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let text: Vec<char> = repository.to_lowercase().chars().collect();
    glob(&pattern, &text)
}

/// `*` matches any run of characters, `?` one character; iterative with backtracking to the last star.
fn glob(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '?' || *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Checks what a user typed as a pattern; the error says what is wrong.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.eq_ignore_ascii_case("all") {
        return Ok(());
    }
    if pattern.is_empty() || pattern.chars().any(char::is_whitespace) {
        return Err(format!(
            "`{pattern}` is not a repository glob such as acme/* or acme/api, nor `all`"
        ));
    }
    Ok(())
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
    }
}
