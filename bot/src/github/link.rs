//! The `Link` header (RFC 8288) as GitHub sends it for pagination:
//! `<https://api.github.com/…?page=2>; rel="next", <…?page=5>; rel="last"`.

/// The target of the `rel="next"` link among `values` (every `Link` header of a response), if any.
///
/// Tolerant of what a server may send: several headers, several links per header, commas inside a
/// URL, unquoted or upper-case parameters, and several relation types in one `rel`.
pub fn next_link<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    values.into_iter().find_map(next_in)
}

fn next_in(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let start = rest.find('<')?;
        let after = rest.get(start + 1..)?;
        let end = after.find('>')?;
        let target = after.get(..end)?.trim();
        let params_and_more = after.get(end + 1..)?;
        // The parameters run up to the next link's `<` (a `<` cannot appear in a parameter GitHub sends).
        let params_end = params_and_more.find('<').unwrap_or(params_and_more.len());
        let params = params_and_more.get(..params_end)?;
        if is_next(params) && !target.is_empty() {
            return Some(target.to_owned());
        }
        rest = params_and_more.get(params_end..)?;
    }
}

fn is_next(params: &str) -> bool {
    params.split([';', ',']).any(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return false;
        };
        name.trim().eq_ignore_ascii_case("rel")
            && value
                .trim()
                .trim_matches('"')
                .split_ascii_whitespace()
                .any(|rel| rel.eq_ignore_ascii_case("next"))
    })
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn finds_next_among_githubs_links() {
        let header = r#"<https://api.github.com/repositories/1/issues?page=2>; rel="prev", <https://api.github.com/repositories/1/issues?page=4>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last", <https://api.github.com/repositories/1/issues?page=1>; rel="first""#;
        assert_eq!(
            next_link([header]).as_deref(),
            Some("https://api.github.com/repositories/1/issues?page=4")
        );
    }

    #[test]
    fn no_next_on_the_last_page() {
        let header = r#"<https://api.github.com/x?page=1>; rel="first", <https://api.github.com/x?page=2>; rel="prev""#;
        assert_eq!(next_link([header]), None);
        assert_eq!(next_link([""]), None);
        assert_eq!(next_link(std::iter::empty()), None);
    }

    #[test]
    fn tolerates_commas_in_urls_unquoted_and_multiple_rels_and_several_headers() {
        assert_eq!(
            next_link([r#"<https://h/x?labels=a,b&page=2>; rel="next""#]).as_deref(),
            Some("https://h/x?labels=a,b&page=2")
        );
        assert_eq!(next_link(["</x?page=3>;REL=next"]).as_deref(), Some("/x?page=3"));
        assert_eq!(
            next_link([r#"<https://h/x?page=9>; rel="last next""#]).as_deref(),
            Some("https://h/x?page=9")
        );
        assert_eq!(
            next_link([
                r#"<https://h/x?page=1>; rel="first""#,
                r#"<https://h/x?page=2>; rel="next""#
            ])
            .as_deref(),
            Some("https://h/x?page=2")
        );
        // `nextish` is not `next`, and a parameter other than rel does not count.
        assert_eq!(
            next_link([r#"<https://h/a>; rel="nextish", <https://h/b>; title="next""#]),
            None
        );
    }

    #[test]
    fn malformed_headers_give_none_without_panicking() {
        for header in [
            "<",
            ">",
            "<>; rel=next",
            "<https://h/x; rel=\"next\"",
            "rel=\"next\"",
            ";;;,,,<<>>",
        ] {
            assert_eq!(next_link([header]), None, "{header}");
        }
    }
}
